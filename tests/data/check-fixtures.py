#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# The committed PyTorch fixtures are whole and belong to the committed models: every member
# that values.json lists is there with its dtype, FGSM images follow from the stored gradients,
# the fixtures were made for exactly the ONNX files beside them (sha256), the demo predictions
# give the reference accuracy, and the demo subset is the start of the Fashion-MNIST test set.
# numpy only (no PyTorch).  Prints TAP.
import gzip
import hashlib
import json
import os
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np

root = Path(os.environ.get("SOMSCOPE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
fx = root / "tests" / "data" / "fixtures"
results = []


def check(ok, what):
    results.append((bool(ok), what))


def idx(path):
    raw = gzip.decompress(path.read_bytes())
    magic = struct.unpack(">I", raw[:4])[0]
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return magic, np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


ref = json.loads((fx / "reference.json").read_text())

for name in ["demo", "mlp", "mlp-softmax", "bnres", "channels-last", "external/model"]:
    path = fx / f"{name}.npz"
    with zipfile.ZipFile(path) as z:
        check(all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist()), f"{name}: members stored uncompressed")
        listing = json.loads(z.read("values.json"))
    npz = np.load(path)
    ok = len(listing) > 0
    for e in listing:
        a = npz[e["member"]]
        ok = ok and a.dtype == np.dtype(e["dtype"]) and e["dtype"] in ("float32", "int64")
        ok = ok and (e["dtype"] == "int64" or bool(np.isfinite(a).all()))
    check(ok, f"{name}: {len(listing)} node outputs listed, present, finite, declared dtypes")
    check(len({e["name"] for e in listing}) == len(listing), f"{name}: node output names unique")
    out = "probabilities" if "probabilities" in npz.files else "logits"
    outs = [e for e in listing if e["name"] == out]
    check(len(outs) == 1 and np.array_equal(npz[outs[0]["member"]], npz[out]),
          f"{name}: the graph output equals `{out}`")
    if out == "probabilities":
        z = npz["logits"].astype(np.float64)
        p = np.exp(z - z.max(1, keepdims=True))
        check(np.allclose(p / p.sum(1, keepdims=True), npz["probabilities"], rtol=0, atol=1e-6)
              and np.array_equal(npz[listing[-2]["member"]], npz["logits"]),
              f"{name}: probabilities = softmax(logits), logits = the value before the Softmax")
    if "labels" in npz.files:
        check(npz["labels"].dtype == np.int32 and npz["input"].dtype == np.float32
              and npz["input"].shape[0] == npz["labels"].shape[0] == npz["logits"].shape[0],
              f"{name}: input float32, labels int32, same count as logits")
    if "grad_input" in npz.files:
        check(npz["grad_input"].shape == npz["input"].shape and npz["grad_input"].dtype == np.float32,
              f"{name}: grad_input has the input's shape")
    if "fgsm_0.1" in npz.files:
        x = npz["pixels"] if "pixels" in npz.files else npz["input"]
        adv = npz["pgd_0.1"]
        check(adv.shape == x.shape and np.abs(adv - x).max() <= np.float32(0.1) + 1e-6
              and adv.min() >= 0 and adv.max() <= 1, f"{name}: pgd_0.1 within eps 0.1 of x and in [0,1]")
        g = npz["grad_input"]
        adv = npz["fgsm_0.1"]
        want = np.clip(x + np.float32(0.1) * np.sign(g).astype(np.float32), 0, 1)
        nz = g != 0
        check(np.array_equal(adv[nz], want[nz]) and np.array_equal(adv[~nz], x[~nz])
              and np.abs(adv - x).max() <= np.float32(0.1) + 1e-7,
              f"{name}: fgsm_0.1 = clip(x + 0.1 sign(grad), 0, 1)")

for key, entry in ref["models"].items():
    path = root / entry["file"]
    check(path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"],
          f"{entry['file']} is the model the fixtures were made for")
check(ref["model_sha256"] == ref["models"]["demo"]["sha256"], "reference.json names the demo model")

bn = np.load(fx / "bnres.npz")
check(np.allclose(bn["input"], (bn["pixels"] - np.float32(0.286)) / np.float32(0.353), atol=0, rtol=0)
      and bn["pixels"].shape[1:] == (3, 32, 32), "bnres: input = (pixels - 0.286) / 0.353, pixels padded to 3x32x32")

pred = np.load(fx / "demo-predictions.npy")
check(pred.dtype == np.int32 and pred.shape == (10000,), "demo-predictions: int32, 10,000")
check(0.90 <= ref["accuracy"] <= 1.0 and ref["count"] == 10000, "demo accuracy >= 0.90 on 10,000 images")

mi, images = idx(root / "data/fashion-mnist-demo/t10k-images-idx3-ubyte.gz")
ml, labels = idx(root / "data/fashion-mnist-demo/t10k-labels-idx1-ubyte.gz")
check(mi == 0x803 and ml == 0x801 and images.shape == (2000, 28, 28) and labels.shape == (2000,),
      "demo subset: IDX magic and sizes")
check(np.array_equal(np.load(fx / "demo.npz")["labels"], labels[:4].astype(np.int32)),
      "demo fixture labels are the first test labels")
full = Path("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz")
if full.exists():
    _, all_labels = idx(full)
    _, all_images = idx(Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"))
    check(np.array_equal(all_labels[:2000], labels) and np.array_equal(all_images[:2000], images),
          "demo subset = first 2,000 of Debian's Fashion-MNIST test set")
    check(int((pred == all_labels).sum()) == ref["correct"]
          and abs(ref["correct"] / 10000 - ref["accuracy"]) < 1e-12,
          "demo predictions give the reference accuracy")
    x = (images[:4].astype(np.float32) / np.float32(255))[:, None]
    check(np.array_equal(np.load(fx / "demo.npz")["input"], x), "demo fixture input = first 4 test images / 255")

print(f"1..{len(results)}")
for i, (ok, what) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} {what}")
sys.exit(0 if all(ok for ok, _ in results) else 1)
