#!/usr/bin/python3
# somscope-cli inspect and run, checked with numpy (contracts.md, "Commands (issue 2)").
# Prints TAP.  SPDX-License-Identifier: GPL-3.0-or-later
import json, os, subprocess, sys, tempfile

import numpy as np

cli = sys.argv[1]
src = os.environ.get("SOMSCOPE_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
fixtures = os.path.join(src, "tests", "data", "fixtures")
demo = os.path.join(src, "data", "models", "fashion-resnet.onnx")
results = []


def check(name, cond, detail=""):
    results.append((bool(cond), name, detail))


def run(*args):
    return subprocess.run([cli, *args], capture_output=True, text=True)


# inspect --json: one object with the contract's keys
r = run("inspect", demo, "--json")
check("inspect exits 0", r.returncode == 0, r.stderr)
j = json.loads(r.stdout) if r.returncode == 0 else {}
check("inspect keys", all(k in j for k in ("inputs", "outputs", "opset", "layers", "flops_per_image")), list(j))
check("inspect batch is null", j and j["inputs"][0]["shape"] == [None, 1, 28, 28], j.get("inputs"))
check("inspect opset", j and j["opset"].get("") == 13, j.get("opset"))
layers = j.get("layers", [])
check("inspect layers", len(layers) == 24 and all(
    set(("index", "name", "op", "shape", "params", "flops", "default_tap")) <= set(l) for l in layers))
check("inspect default taps", [l["op"] for l in layers if l["default_tap"]] ==
      ["Relu"] * 7 + ["GlobalAveragePool", "Relu", "Gemm"], [l["op"] for l in layers if l["default_tap"]])
check("inspect flops", j and j["flops_per_image"] == sum(l["flops"] for l in layers) and j["flops_per_image"] > 1e7)
tree = j.get("tree", {})


def leaves(t):
    return [t["index"]] if "index" in t else [i for c in t["children"] for i in leaves(c)]


check("inspect tree", tree.get("path") == "" and tree.get("layers") == 24 and tree.get("default_taps") == 10
      and sorted(leaves(tree)) == list(range(24)), tree)
check("inspect tree groups", [c["name"] for c in tree.get("children", [])][:2] == ["stem", "layer1"]
      and tree["children"][1]["children"][0]["path"] == "/layer1/layer1.0", tree)
r = run("inspect", demo)
check("inspect text", r.returncode == 0 and "GlobalAveragePool" in r.stdout)
r = run("inspect", demo, "--tree", "--search", "layer2.0/relu")
check("inspect --tree --search", r.returncode == 0 and "layer2.0/" in r.stdout and "relu1" in r.stdout
      and "conv1" not in r.stdout and "layer1.0" not in r.stdout, r.stdout)

with tempfile.TemporaryDirectory() as tmp:
    z = np.load(os.path.join(fixtures, "mlp.npz"))
    x = z["input"]
    np.save(os.path.join(tmp, "x.npy"), x)
    out = os.path.join(tmp, "out.npz")
    r = run("run", os.path.join(fixtures, "mlp.onnx"), "--input", os.path.join(tmp, "x.npy"), "--out", out,
            "--layer", "1", "--layer", "logits", "--json")
    check("run exits 0", r.returncode == 0, r.stderr)
    j = json.loads(r.stdout) if r.returncode == 0 else {}
    check("run json", [o["member"] for o in j.get("outputs", [])] == ["output_0", "layer_001", "layer_005"], j)
    if r.returncode == 0:
        o = np.load(out)
        check("run logits match PyTorch", np.allclose(o["output_0"], z["logits"], rtol=1e-4, atol=1e-4))
        check("run layer tap", np.array_equal(o["layer_005"], o["output_0"]))
        meta = json.loads(bytes(o["outputs.json"]))
        check("run outputs.json", meta[0]["name"] == "logits" and meta[0]["shape"] == [4, 10], meta)
    # named input, from an npz member
    r = run("run", os.path.join(fixtures, "mlp.onnx"), "--input",
            "input=" + os.path.join(fixtures, "mlp.npz") + ":input", "--out", out)
    check("run named npz input", r.returncode == 0, r.stderr)
    # an ONNX TensorProto .pb input, as in ONNX's test data
    node = "/usr/share/libonnx-testdata/data/node/test_relu"
    r = run("run", node + "/model.onnx", "--input", node + "/test_data_set_0/input_0.pb", "--out", out)
    check("run .pb input", r.returncode == 0, r.stderr)
    # errors: exit 1 with one line naming the file; usage errors exit 2
    r = run("run", os.path.join(fixtures, "mlp.onnx"), "--input", os.path.join(tmp, "x.npy"), "--out", out,
            "--layer", "no_such_layer")
    check("unknown layer exits 1", r.returncode == 1 and "no_such_layer" in r.stderr and "closest" in r.stderr,
          r.stderr)
    bad = os.path.join(tmp, "bad.onnx")
    with open(demo, "rb") as f:
        open(bad, "wb").write(f.read()[:5000])
    r = run("inspect", bad)
    check("truncated model exits 1", r.returncode == 1 and "bad.onnx" in r.stderr
          and len(r.stderr.strip().splitlines()) == 1, r.stderr)
    np.save(os.path.join(tmp, "wrong.npy"), np.zeros((2, 3), np.float32))
    r = run("run", os.path.join(fixtures, "mlp.onnx"), "--input", os.path.join(tmp, "wrong.npy"), "--out", out)
    check("wrong input shape exits 1", r.returncode == 1 and "input" in r.stderr, r.stderr)
    r = run("run", os.path.join(fixtures, "mlp.onnx"), "--out", out)
    check("missing --input exits 2", r.returncode == 2, r.stderr)

print(f"1..{len(results)}")
for i, (ok, name, detail) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} {name}")
    if not ok and detail:
        print("# " + str(detail).replace("\n", "\n# "))
