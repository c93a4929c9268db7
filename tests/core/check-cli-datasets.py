#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""somscope-cli eval and activations against PyTorch's references, read with numpy.

  check-cli-datasets.py SOMSCOPE-CLI

The demo model's accuracy on Debian's full Fashion-MNIST test set must be the
count of correct predictions that PyTorch found (tests/data/fixtures/reference.json,
written by tools/train-reference-model.py); activations must be a .npz that numpy
reads with the members of contracts.md. Prints TAP.
"""
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

CLI = sys.argv[1]
ROOT = os.environ.get("SOMSCOPE_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL = os.path.join(ROOT, "data", "models", "fashion-resnet.onnx")
FIXTURES = os.path.join(ROOT, "tests", "data", "fixtures")
FASHION = "/usr/share/datasets/fashion-mnist"
TEST_IMAGES = os.path.join(FASHION, "t10k-images-idx3-ubyte.gz")
TEST_LABELS = os.path.join(FASHION, "t10k-labels-idx1-ubyte.gz")

results = []


def check(name, ok, detail=""):
    results.append((name, bool(ok), detail))


def run(*args):
    p = subprocess.run([CLI, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def one_json(stdout):
    """--json: stdout is exactly one JSON object."""
    obj = json.loads(stdout)
    assert isinstance(obj, dict)
    return obj


def idx_labels(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    return np.frombuffer(data, dtype=np.uint8, offset=8).astype(np.int32)


def main():
    ref = json.load(open(os.path.join(FIXTURES, "reference.json")))
    ref_pred = np.load(os.path.join(FIXTURES, "demo-predictions.npy"))
    labels = idx_labels(TEST_LABELS)
    tmp = tempfile.mkdtemp(prefix="somscope-cli-datasets-")

    # 1. eval on the full test set equals PyTorch's count of correct predictions.
    rc, out, err = run("eval", MODEL, TEST_IMAGES, "--json", "--quiet")
    check("eval exits 0", rc == 0, err.strip())
    if rc == 0:
        r = one_json(out)
        check("eval --json has the contract keys",
              all(k in r for k in ("accuracy", "count", "seconds", "images_per_second")), str(r.keys()))
        check("eval counts 10000 images", r["count"] == 10000, str(r["count"]))
        check("eval accuracy is a fraction", 0 <= r["accuracy"] <= 1, str(r["accuracy"]))
        check("eval correct = PyTorch's (%d)" % ref["correct"], r["correct"] == ref["correct"],
              "somscope %d, PyTorch %d (near ties: %d)" % (r["correct"], ref["correct"], ref.get("near_ties", 0)))
        check("eval accuracy = correct / count", abs(r["accuracy"] - r["correct"] / r["count"]) < 1e-12)
        check("eval seconds and rate are positive", r["seconds"] > 0 and r["images_per_second"] > 0)

    # 2. activations: numpy reads it, members as in contracts.md.
    acts = os.path.join(tmp, "acts.npz")
    rc, out, err = run("activations", MODEL, TEST_IMAGES, "--limit", "300", "--layers", "default",
                       "--out", acts, "--json", "--quiet", "--batch-size", "64")
    check("activations exits 0", rc == 0, err.strip())
    if rc == 0:
        r = one_json(out)
        z = np.load(acts)
        layers = json.loads(z["layers.json"])
        meta = json.loads(z["meta.json"])
        check("layers.json lists every layer member",
              all(e["member"] in z.files or e["member"] + ".npy" in z.files for e in layers) and len(layers) > 0)
        check("layer members are layer_NNN",
              all(e["member"] == "layer_%03d" % e["index"] for e in layers), str([e["member"] for e in layers]))
        check("layers.json entries have member,index,name,op,shape",
              all(set(("member", "index", "name", "op", "shape")) <= set(e) for e in layers))
        ok = True
        for e in layers:
            a = z[e["member"]]
            ok = ok and a.dtype == np.float32 and a.shape[0] == 300 and list(a.shape) == e["shape"]
            ok = ok and np.isfinite(a).all()
        check("layers are float32, N first, finite", ok)
        check("labels are int32 and the dataset's", z["labels"].dtype == np.int32
              and np.array_equal(z["labels"], labels[:300]))
        check("predictions equal PyTorch's", np.array_equal(z["predictions"], ref_pred[:300]),
              "%d differ" % int((z["predictions"] != ref_pred[:300]).sum()))
        check("meta.json has provenance and the class names",
              "provenance" in meta and meta["class_names"][9] == "Ankle boot" and meta["count"] == 300)
        check("activations --json names the output", r.get("out") == acts and r.get("count") == 300)

        # 3. --codes mean = the spatial mean of raw, for the same layers.
        means = os.path.join(tmp, "means.npz")
        idx = ",".join(str(e["index"]) for e in layers)
        rc, out, err = run("activations", MODEL, TEST_IMAGES, "--limit", "300", "--layers", idx,
                           "--codes", "mean", "--out", means, "--quiet", "--threads", "1")
        check("activations --codes mean exits 0", rc == 0, err.strip())
        if rc == 0:
            m = np.load(means)
            ok = True
            for e in layers:
                raw = z[e["member"]].astype(np.float64)
                want = raw.reshape(raw.shape[0], raw.shape[1], -1).mean(axis=2) if raw.ndim > 2 else raw
                got = m[e["member"]]
                ok = ok and got.shape == want.shape and np.allclose(got, want, rtol=1e-5, atol=1e-6)
            check("--codes mean is the mean over H×W of raw (1 thread = 2 threads)", ok)

        # --layer by index and by name, repeated: the same members.
        first = layers[0]
        one = os.path.join(tmp, "one.npz")
        rc, out, err = run("activations", MODEL, TEST_IMAGES, "--limit", "10", "--layer", str(first["index"]),
                           "--layer", layers[-1]["name"], "--out", one, "--quiet")
        check("--layer INDEX --layer NAME exits 0", rc == 0, err.strip())
        if rc == 0:
            o = np.load(one)
            check("--layer INDEX --layer NAME give those layers",
                  [e["member"] for e in json.loads(o["layers.json"])] == [first["member"], layers[-1]["member"]]
                  and np.array_equal(o[first["member"]], z[first["member"]][:10]))

    # 4. The preprocessing flags end to end: bnres wants 3×32×32 normalized images; every
    #    node output on the first 4 test images must match PyTorch's (README of the fixtures).
    bnres = os.path.join(FIXTURES, "bnres.onnx")
    prep = ["--pad", "2", "--mean", "0.286", "--std", "0.353"]
    bn_acts = os.path.join(tmp, "bnres.npz")
    rc, out, err = run("activations", bnres, TEST_IMAGES, *prep, "--limit", "4", "--layers", "all",
                       "--out", bn_acts, "--quiet")
    check("bnres activations with --pad 2 --mean --std exit 0", rc == 0, err.strip())
    if rc == 0:
        got = np.load(bn_acts)
        want = np.load(os.path.join(FIXTURES, "bnres.npz"))
        by_name = {v["name"]: v["member"] for v in json.loads(want["values.json"]) if v["dtype"] == "float32"}
        worst, compared = 0.0, 0
        for e in json.loads(got["layers.json"]):
            if e["name"] not in by_name:
                continue
            a = got[e["member"]].astype(np.float64)
            b = want[by_name[e["name"]]].astype(np.float64)
            err_ = np.abs(a - b) / np.maximum(1.0, np.abs(b))
            worst = max(worst, float(err_.max()))
            compared += 1
        check("bnres: every float layer matches PyTorch within 1e-4 (%d layers, worst %.2g)"
              % (compared, worst), compared >= 10 and worst <= 1e-4)
    rc, out, err = run("eval", bnres, TEST_IMAGES, *prep, "--json", "--quiet")
    want_correct = int(round(ref["test_accuracy"]["bnres"] * 10000))
    check("bnres eval (pad, grey->3, mean/std) = PyTorch's %d correct" % want_correct,
          rc == 0 and one_json(out)["correct"] == want_correct, err.strip() or out[:200])

    # 5. A channels-last model (N×28×28×1) is fed NHWC.
    cl = os.path.join(FIXTURES, "channels-last.onnx")
    cl_acts = os.path.join(tmp, "cl.npz")
    rc, out, err = run("activations", cl, TEST_IMAGES, "--limit", "4", "--layer", "logits",
                       "--out", cl_acts, "--quiet")
    check("channels-last activations exit 0", rc == 0, err.strip())
    if rc == 0:
        got = np.load(cl_acts)
        member = json.loads(got["layers.json"])[0]["member"]
        want = np.load(os.path.join(FIXTURES, "channels-last.npz"))["logits"]
        check("channels-last logits match PyTorch within 1e-4",
              np.allclose(got[member], want, rtol=1e-4, atol=1e-4))

    # 6. Errors: one line on stderr naming the file, exit 1; bad flags exit 2.
    nolabels = os.path.join(tmp, "images-only")
    with open(nolabels, "wb") as f:
        f.write(gzip.open(TEST_IMAGES).read()[: 16 + 784 * 3])
        # A consistent header for 3 images
    with open(nolabels, "r+b") as f:
        f.seek(4)
        f.write((3).to_bytes(4, "big"))
    rc, out, err = run("eval", MODEL, nolabels, "--json")
    last = err.strip().splitlines()[-1] if err.strip() else ""
    check("eval without labels fails (exit 1) naming the file",
          rc == 1 and out == "" and last.startswith("somscope-cli: " + nolabels) and "labels" in last, err)
    rc, out, err = run("eval", MODEL, TEST_IMAGES, "--pad", "2", "--limit", "5")
    check("a preprocessing mismatch names the fix",
          rc == 1 and "model wants" in err and "images are" in err, err)
    rc, out, err = run("eval", MODEL, TEST_IMAGES, "--resize", "banana")
    check("a bad --resize is a usage error (exit 2)", rc == 2, err)
    rc, out, err = run("activations", MODEL, TEST_IMAGES, "--layer", "no-such-layer", "--out",
                       os.path.join(tmp, "x.npz"))
    check("an unknown layer fails and writes nothing",
          rc == 1 and not os.path.exists(os.path.join(tmp, "x.npz")), err)
    rc, out, err = run("activations", MODEL, TEST_IMAGES)
    check("activations without --out is a usage error", rc == 2, err)

    shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % len(results))
    for i, (name, ok, detail) in enumerate(results, 1):
        print("%s %d %s" % ("ok" if ok else "not ok", i, name))
        if not ok and detail:
            for line in str(detail).splitlines():
                print("# " + line)


if __name__ == "__main__":
    main()
