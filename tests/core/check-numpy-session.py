#!/usr/bin/python3
# numpy reads a .somscope session as written by test-session.c's
# make_session(): plain np.load, no Somscope code.  Exit 0 when all is well.
import csv, json, os, subprocess, sys, tempfile
import numpy as np

path = sys.argv[1]
cli = sys.argv[2] if len(sys.argv) > 2 else None
z = np.load(path)
names = set(z.files)
want = {"labels", "predictions", "adversarial_predictions", "split"}
for a in ["codebook", "bmus", "bmus_adversarial", "hits", "umatrix", "qe_per_epoch", "te_per_epoch",
          "codes", "codes_adversarial"]:
    want.add("layer_003/" + a)
want.add("layer_012/codes")
assert want <= names, ("missing", want - names)

m = json.loads(z["manifest.json"])
assert m["format"] == "somscope-session" and m["version"] == 1, m
assert m["model"]["path"] == "model.onnx", m["model"]
assert len(m["model"]["sha256"]) == 64
assert m["dataset"]["path"].startswith("/usr/share/datasets/"), m["dataset"]
assert m["dataset"]["count"] == 12 and m["dataset"]["preprocessing"]["pad"] == 2
assert [l["index"] for l in m["layers"]] == [3, 12]
assert m["layers"][0]["som"]["rows"] == 2 and m["layers"][1]["som"] is None
assert m["selection"] == {"layer": 3, "input": 5, "unit": 2}, m["selection"]
assert m["attack"]["method"] == "fgsm" and m["seed"] == 0
assert m["created"].endswith("Z")

cb = z["layer_003/codebook"]
assert cb.dtype == np.float32 and cb.shape == (2, 3, 4)
assert np.array_equal(cb.ravel(), np.arange(24, dtype=np.float32) * 0.25)
bmus = z["layer_003/bmus"]
assert bmus.dtype == np.int32 and np.array_equal(bmus, np.arange(12) % 6)
assert np.array_equal(z["layer_003/hits"], np.bincount(bmus, minlength=6).reshape(2, 3))
assert z["split"].dtype == np.uint8 and np.array_equal(z["split"], (np.arange(12) % 5 == 0).astype(np.uint8))
assert np.allclose(z["layer_003/qe_per_epoch"], [3, 2, 1])
assert z["layer_012/codes"].shape == (12, 10)

metrics = json.loads(z["metrics.json"])
assert metrics["format"] == "somscope-metrics" and metrics["layers"][0]["clean"]["hit_entropy"] == 1.5

# somscope-cli export: every file numpy (or the csv module) reads back equal
if cli:
    out = tempfile.mkdtemp(prefix="somscope-export-")
    def export(what, fmt):
        r = subprocess.run([cli, "export", path, "--what", what, "--format", fmt, "--out", out, "--json"],
                           capture_output=True, text=True)
        assert r.returncode == 0, (what, fmt, r.stderr)
        return json.loads(r.stdout)["files"]
    files = export("codebooks", "npy")
    assert [os.path.basename(f) for f in files] == ["layer_003_codebook.npy"], files
    assert np.array_equal(np.load(files[0]), cb)
    rows = list(csv.reader(open(export("codebooks", "csv")[0])))
    assert rows[0] == ["unit", "row", "col", "w0", "w1", "w2", "w3"], rows[0]
    assert np.array_equal(np.array(rows[1:], dtype=np.float64)[:, 3:], cb.reshape(6, 4))
    assert [r[1:3] for r in rows[1:]][4] == ["1", "1"]
    files = export("bmus", "npy")
    assert np.array_equal(np.load(os.path.join(out, "layer_003_bmus.npy")), bmus)
    rows = list(csv.DictReader(open(export("bmus", "csv")[0])))
    assert len(rows) == 12 and [int(r["layer_003"]) for r in rows] == list(bmus)
    assert [int(r["layer_003_adversarial"]) for r in rows] == list(z["layer_003/bmus_adversarial"])
    assert [int(r["label"]) for r in rows] == list(z["labels"])
    export("activations", "npy")
    assert np.array_equal(np.load(os.path.join(out, "layer_012_codes.npy")), z["layer_012/codes"])
    export("activations", "csv")
    codes = np.loadtxt(os.path.join(out, "layer_003_codes.csv"), delimiter=",", skiprows=1, dtype=np.float32)
    assert np.array_equal(codes, z["layer_003/codes"])
    rows = list(csv.DictReader(open(export("metrics", "csv")[0])))
    assert len(rows) == 1 and rows[0]["name"] == "relu/1" and float(rows[0]["clean_hit_entropy"]) == 1.5
    assert float(rows[0]["trajectory_bmu_agreement"]) == 0.5 and rows[0]["index"] == "3"
    export("metrics", "npy")
    m = np.load(os.path.join(out, "metrics.npy"))
    cols = open(os.path.join(out, "metrics-columns.txt")).read().split()
    assert m.shape == (1, len(cols)) and m[0, cols.index("adversarial_hit_entropy")] == 1.25
    cod = export("codebooks", "cod")
    assert [os.path.basename(f) for f in cod] == ["layer_003.cod"], cod
    lines = [l for l in open(cod[0]).read().splitlines() if not l.startswith("#")]
    assert lines[0] == "4 hexa 3 2 gaussian", lines[0]
    assert np.array_equal(np.array([l.split() for l in lines[1:]], dtype=np.float32), cb.reshape(6, 4))
    # usage errors exit 2
    r = subprocess.run([cli, "export", path, "--what", "bmus", "--format", "cod", "--out", out],
                       capture_output=True, text=True)
    assert r.returncode == 2, r
    r = subprocess.run([cli, "export", path + ".missing", "--what", "bmus", "--out", out],
                       capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.startswith("somscope-cli: "), r
    for f in os.listdir(out):
        os.unlink(os.path.join(out, f))
    os.rmdir(out)
    print("numpy read the exports")

print("numpy read the session: %d members" % len(names))
