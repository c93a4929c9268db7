#!/usr/bin/python3
# numpy reads a .somscope session as written by test-session.c's
# make_session(): plain np.load, no Somscope code.  Exit 0 when all is well.
import json, sys
import numpy as np

path = sys.argv[1]
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

print("numpy read the session: %d members" % len(names))
