#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Train Somscope's bundled demo model and write the PyTorch reference fixtures.

Needs Debian's PyTorch stack (torch 1.13, torchvision 0.14, onnx 1.12, numpy), which
only the tools need:

    tools/install-deps --tools
    /usr/bin/python3 tools/train-reference-model.py              # train (~10 min, 2 threads) + everything
    /usr/bin/python3 tools/train-reference-model.py --skip-train # reuse tools/.cache/*.pt, rewrite outputs

It writes (paths relative to the source root):

    data/models/fashion-resnet.onnx             the demo model (opset 13, BN folded, dynamic batch)
    data/fashion-mnist-demo/t10k-*-ubyte.gz     the first 2,000 Fashion-MNIST test images and labels (IDX)
    tests/data/fixtures/{demo,mlp,mlp-softmax,bnres,channels-last}.npz
                                                every node output of each model as PyTorch computed it
    tests/data/fixtures/{mlp,mlp-softmax,bnres,channels-last}.onnx
    tests/data/fixtures/reference.json          accuracy and attack references
    tests/data/fixtures/demo-predictions.npy    the demo model's prediction on all 10,000 test images
    tests/data/fixtures/external/…, evil.bin    ONNX external-data loader fixtures

tests/data/fixtures/README.md documents every member.  The trained weights are cached in
tools/.cache/ (git-ignored) so that --skip-train regenerates the fixtures without training.

How every ONNX node output gets its PyTorch value: torch 1.13 names exported nodes after the
module that emitted them ("/layer1/layer1.0/conv1/Conv").  Forward hooks on every module record
what PyTorch computed; a node whose output leaves its module's scope is that module's output
(a Conv folded with the BatchNorm that follows it takes the BatchNorm's output); the int64 shape
arithmetic inside a module (Shape, Gather, Unsqueeze, Concat of `x.view(x.size(0), -1)`) and
Constant nodes are computed from the known shapes.  A node output that cannot be mapped is an
error, never a silent skip.  As an independent check, a small float64 numpy interpreter of the
exported ONNX graph must agree with every mapped value.
"""

import argparse
import gzip
import hashlib
import io
import json
import math
import os
import struct
import sys
import tempfile
import time
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
DATASET = Path("/usr/share/datasets/fashion-mnist")
CACHE = ROOT / "tools" / ".cache"
MODEL_OUT = ROOT / "data" / "models" / "fashion-resnet.onnx"
DEMO_DATA = ROOT / "data" / "fashion-mnist-demo"
FIXTURES = ROOT / "tests" / "data" / "fixtures"

OPSET = 13
FIXTURE_COUNT = 4          # images per per-node fixture
DEMO_SUBSET = 2000         # images in data/fashion-mnist-demo
ATTACK_COUNT = 1000        # images for the attack references
BNRES_PAD = 2
BNRES_MEAN = 0.286
BNRES_STD = 0.353
MIN_ACCURACY = 0.90


def log(*args):
    print("train-reference-model:", *args, file=sys.stderr, flush=True)


def fail(msg):
    print("train-reference-model: error: " + msg, file=sys.stderr)
    sys.exit(1)


# --------------------------------------------------------------------------- files

def atomic_write(path, data):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def read_idx(path):
    raw = Path(path).read_bytes()
    if str(path).endswith(".gz"):
        raw = gzip.decompress(raw)
    if len(raw) < 4:
        fail(f"{path}: truncated IDX header")
    magic = struct.unpack(">I", raw[:4])[0]
    if magic >> 16 != 0 or (magic >> 8) & 0xFF != 0x08:
        fail(f"{path}: not an unsigned-byte IDX file (magic 0x{magic:08x})")
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        fail(f"{path}: {data.size} bytes of data, header says {dims}")
    return data.reshape(dims)


def idx_gz_bytes(arr):
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    header = struct.pack(">I", 0x0800 | arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    buf = io.BytesIO()
    # mtime=0 and no file name: the bytes depend on the data only.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(header + arr.tobytes())
    return buf.getvalue()


def npy_bytes(arr):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def write_npz(path, members, values_json=None):
    """An uncompressed .npz (as np.savez) plus, optionally, a raw JSON member `values.json`."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, arr in members.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            z.writestr(info, npy_bytes(arr))
        if values_json is not None:
            info = zipfile.ZipInfo("values.json", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            z.writestr(info, json.dumps(values_json, indent=1).encode() + b"\n")
    atomic_write(path, buf.getvalue())


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def pixels(u8):
    """uint8 images [N,28,28] -> float32 [N,1,28,28] in [0,1], computed as x / 255 in float32."""
    return (u8.astype(np.float32) / np.float32(255.0))[:, None, :, :]


def bnres_pixels(u8):
    """Fashion-MNIST as bnres sees it before normalization: pad 2 (zero), grey -> 3 channels."""
    x = np.pad(pixels(u8), ((0, 0), (0, 0), (BNRES_PAD, BNRES_PAD), (BNRES_PAD, BNRES_PAD)))
    return np.ascontiguousarray(np.repeat(x, 3, axis=1))


def bnres_normalize(x):
    """(x - 0.286) / 0.353, float32; works on numpy arrays and torch tensors alike."""
    return (x - np.float32(BNRES_MEAN)) / np.float32(BNRES_STD)


# --------------------------------------------------------------------------- models

class Add(nn.Module):
    """The residual sum, a module so that a forward hook sees it."""

    def forward(self, a, b):
        return a + b


class View(nn.Module):
    """x.view(x.size(0), -1): exports as Shape, Gather, Unsqueeze, Concat, Reshape."""

    def forward(self, x):
        return x.view(x.size(0), -1)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(OrderedDict(
                conv=nn.Conv2d(cin, cout, 1, stride, bias=False),
                bn=nn.BatchNorm2d(cout)))
        else:
            self.shortcut = None
        self.add = Add()
        self.relu2 = nn.ReLU()

    def forward(self, x):
        y = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        s = x if self.shortcut is None else self.shortcut(x)
        return self.relu2(self.add(y, s))


class FashionResNet(nn.Module):
    """The demo model: stem, three residual stages, global average pool, dense head."""

    def __init__(self, widths=(16, 32, 64), hidden=64, classes=10):
        super().__init__()
        self.stem = nn.Sequential(OrderedDict(
            conv=nn.Conv2d(1, widths[0], 3, 1, 1, bias=False),
            bn=nn.BatchNorm2d(widths[0]),
            relu=nn.ReLU()))
        self.layer1 = nn.Sequential(BasicBlock(widths[0], widths[0], 1))
        self.layer2 = nn.Sequential(BasicBlock(widths[0], widths[1], 2))
        self.layer3 = nn.Sequential(BasicBlock(widths[1], widths[2], 2))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.head = nn.Sequential(OrderedDict(
            fc1=nn.Linear(widths[2], hidden),
            relu=nn.ReLU(),
            fc2=nn.Linear(hidden, classes)))

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.stem(x))))
        return self.head(self.flatten(self.pool(x)))


class MLP(nn.Module):
    """Flatten, Linear, Tanh, Linear, Sigmoid, Linear."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(OrderedDict(
            flatten=nn.Flatten(),
            fc1=nn.Linear(784, 64),
            tanh=nn.Tanh(),
            fc2=nn.Linear(64, 32),
            sigmoid=nn.Sigmoid(),
            fc3=nn.Linear(32, 10)))

    def forward(self, x):
        return self.net(x)


class MLPSoftmax(nn.Module):
    """The trained MLP with a Softmax at the end: the graph output is probabilities."""

    ends_in_softmax = True

    def __init__(self, mlp):
        super().__init__()
        self.net = mlp.net
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        return self.softmax(self.net(x))


class BNRes(nn.Module):
    """3x32x32 input: unfolded BatchNorm, depthwise Conv, MaxPool(ceil_mode), residual Add, view."""

    def __init__(self, c=8, classes=10):
        super().__init__()
        self.conv = nn.Conv2d(3, c, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(c)
        self.relu = nn.ReLU()
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)                   # 32 -> 16 (floor: 15)
        self.dwconv = nn.Conv2d(c, c, 3, 1, 1, groups=c, bias=False)       # depthwise
        self.dwbn = nn.BatchNorm2d(c)
        self.dwrelu = nn.ReLU()
        self.pwconv = nn.Conv2d(c, c, 1)
        self.pwbn = nn.BatchNorm2d(c)
        self.add = Add()
        self.addrelu = nn.ReLU()
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)                   # 16 -> 8 (floor: 7)
        self.view = View()
        self.fc = nn.Linear(c * 8 * 8, classes)

    def forward(self, x):
        x = self.pool1(self.relu(self.bn(self.conv(x))))
        y = self.pwbn(self.pwconv(self.dwrelu(self.dwbn(self.dwconv(x)))))
        x = self.pool2(self.addrelu(self.add(y, x)))
        return self.fc(self.view(x))


# --------------------------------------------------------------------------- training

def augment(xb, gen):
    """Random horizontal flip and a random shift of up to 2 pixels (zero fill), per image."""
    n = xb.shape[0]
    flip = torch.rand(n, generator=gen) < 0.5
    xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
    pad = F.pad(xb, (2, 2, 2, 2))
    dy = torch.randint(0, 5, (n,), generator=gen)
    dx = torch.randint(0, 5, (n,), generator=gen)
    n, c, h, w = xb.shape
    rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None].expand(n, c, h, w + 4)
    cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :].expand(n, c, h, w)
    tmp = torch.gather(pad, 2, rows)
    return torch.gather(tmp, 3, cols)


def train(model, x_train, y_train, epochs, lr, seed, prep=None, augment_images=True, batch=128):
    gen = torch.Generator().manual_seed(seed)
    params_bn = [p for n, p in model.named_parameters() if p.ndim <= 1]
    params_w = [p for n, p in model.named_parameters() if p.ndim > 1]
    opt = torch.optim.SGD([{"params": params_w, "weight_decay": 5e-4},
                           {"params": params_bn, "weight_decay": 0.0}],
                          lr=lr, momentum=0.9, nesterov=True)
    n = x_train.shape[0]
    steps_per_epoch = n // batch
    total = epochs * steps_per_epoch
    warm = max(1, steps_per_epoch // 2)
    step = 0
    for epoch in range(epochs):
        model.train()
        t0 = time.time()
        perm = torch.randperm(n, generator=gen)
        loss_sum = 0.0
        for i in range(steps_per_epoch):
            idx = perm[i * batch:(i + 1) * batch]
            xb = x_train[idx]
            if augment_images:
                xb = augment(xb, gen)
            if prep is not None:
                xb = prep(xb)
            cur = lr * (step + 1) / warm if step < warm else \
                lr * 0.5 * (1 + math.cos(math.pi * (step - warm) / (total - warm)))
            for g in opt.param_groups:
                g["lr"] = cur
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xb), y_train[idx])
            loss.backward()
            opt.step()
            loss_sum += loss.item()
            step += 1
        log(f"  epoch {epoch + 1}/{epochs}: loss {loss_sum / steps_per_epoch:.4f} ({time.time() - t0:.0f} s)")
    model.eval()
    return model


@torch.no_grad()
def predict(model, x, prep=None, batch=500):
    out = []
    for i in range(0, x.shape[0], batch):
        xb = x[i:i + batch]
        out.append(model(prep(xb) if prep is not None else xb))
    return torch.cat(out)


# --------------------------------------------------------------------------- ONNX export

def export(model, example, path=None, fold_bn=True, doc=None, output="logits"):
    model.eval()
    f = io.BytesIO()
    kwargs = {}
    if not fold_bn:
        kwargs = dict(training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    torch.onnx.export(model, example, f, opset_version=OPSET,
                      input_names=["input"], output_names=[output],
                      dynamic_axes={"input": {0: "N"}, output: {0: "N"}}, **kwargs)
    m = onnx.load_from_string(f.getvalue())
    if doc:
        m.doc_string = doc
    onnx.checker.check_model(m)
    data = m.SerializeToString()
    if path is not None:
        atomic_write(path, data)
    return m


# --------------------------------------------------------------------------- a float64 numpy ONNX interpreter
# Only for cross-checking the mapping of node outputs: independent of PyTorch.

def _attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _conv(x, w, b, a):
    k = list(a.get("kernel_shape", w.shape[2:]))
    s = list(a.get("strides", [1, 1]))
    d = list(a.get("dilations", [1, 1]))
    p = list(a.get("pads", [0, 0, 0, 0]))
    g = a.get("group", 1)
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise ValueError("auto_pad not supported by the checker")
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[2]), (p[1], p[3])))
    n, c, h, wd = xp.shape
    m = w.shape[0]
    oh = (h - d[0] * (k[0] - 1) - 1) // s[0] + 1
    ow = (wd - d[1] * (k[1] - 1) - 1) // s[1] + 1
    out = np.zeros((n, g, m // g, oh, ow))
    wg = w.reshape(g, m // g, c // g, k[0], k[1])
    for i in range(k[0]):
        for j in range(k[1]):
            patch = xp[:, :, i * d[0]: i * d[0] + s[0] * (oh - 1) + 1: s[0],
                       j * d[1]: j * d[1] + s[1] * (ow - 1) + 1: s[1]]
            patch = patch.reshape(n, g, c // g, oh, ow)
            out += np.einsum("ngchw,gmc->ngmhw", patch, wg[:, :, :, i, j])
    out = out.reshape(n, m, oh, ow)
    if b is not None:
        out += b[None, :, None, None]
    return out


def _maxpool(x, a):
    k = a["kernel_shape"]
    s = a.get("strides", [1, 1])
    p = a.get("pads", [0, 0, 0, 0])
    ceil = a.get("ceil_mode", 0)
    if list(a.get("dilations", [1, 1])) != [1, 1]:
        raise ValueError("dilated MaxPool not supported by the checker")
    h, w = x.shape[2:]
    outs = []
    for dim, (size, kk, ss, pb, pe) in enumerate([(h, k[0], s[0], p[0], p[2]), (w, k[1], s[1], p[1], p[3])]):
        span = size + pb + pe - kk
        o = (-(-span // ss) if ceil else span // ss) + 1
        if ceil and (o - 1) * ss >= size + pb:   # the last window must start inside the input
            o -= 1
        outs.append(o)
    oh, ow = outs
    need_h = (oh - 1) * s[0] + k[0]
    need_w = (ow - 1) * s[1] + k[1]
    xp = np.full(x.shape[:2] + (max(need_h, h + p[0]), max(need_w, w + p[1])), -np.inf)
    xp[:, :, p[0]:p[0] + h, p[1]:p[1] + w] = x
    out = np.full(x.shape[:2] + (oh, ow), -np.inf)
    for i in range(k[0]):
        for j in range(k[1]):
            out = np.maximum(out, xp[:, :, i: i + s[0] * (oh - 1) + 1: s[0], j: j + s[1] * (ow - 1) + 1: s[1]])
    return out


def run_node(node, ins):
    a = _attrs(node)
    op = node.op_type
    if op == "Conv":
        return _conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a)
    if op == "BatchNormalization":
        x, sc, b, mu, var = ins
        e = lambda v: v[None, :, None, None]
        return (x - e(mu)) / np.sqrt(e(var) + a.get("epsilon", 1e-5)) * e(sc) + e(b)
    if op == "Relu":
        return np.maximum(ins[0], 0)
    if op == "Softmax":
        z = ins[0] - ins[0].max(axis=a.get("axis", -1), keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=a.get("axis", -1), keepdims=True)
    if op == "Tanh":
        return np.tanh(ins[0])
    if op == "Sigmoid":
        return 1 / (1 + np.exp(-ins[0]))
    if op == "Add":
        return ins[0] + ins[1]
    if op == "MaxPool":
        return _maxpool(ins[0], a)
    if op == "GlobalAveragePool":
        return ins[0].mean(axis=tuple(range(2, ins[0].ndim)), keepdims=True)
    if op == "Flatten":
        ax = a.get("axis", 1)
        return ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
    if op == "Gemm":
        A = ins[0].T if a.get("transA", 0) else ins[0]
        B = ins[1].T if a.get("transB", 0) else ins[1]
        y = a.get("alpha", 1.0) * (A @ B)
        if len(ins) > 2:
            y = y + a.get("beta", 1.0) * ins[2]
        return y
    if op == "Transpose":
        return np.transpose(ins[0], a["perm"])
    if op == "Shape":
        return np.array(ins[0].shape, dtype=np.int64)
    if op == "Gather":
        return np.take(ins[0], ins[1], axis=a.get("axis", 0))
    if op == "Unsqueeze":
        axes = a["axes"] if "axes" in a else list(ins[1])
        y = ins[0]
        for ax in sorted(int(v) % (y.ndim + len(axes)) for v in axes):
            y = np.expand_dims(y, ax)
        return y
    if op == "Concat":
        return np.concatenate([np.atleast_1d(v) for v in ins], axis=a["axis"])
    if op == "Reshape":
        shape = [int(v) for v in ins[1]]
        shape = [ins[0].shape[i] if v == 0 else v for i, v in enumerate(shape)]
        return ins[0].reshape(shape)
    if op == "Constant":
        return numpy_helper.to_array(a["value"]) if isinstance(a["value"], TensorProto) \
            else numpy_helper.to_array(node.attribute[0].t)
    if op == "Identity":
        return ins[0]
    raise ValueError(f"op {op} not supported by the checker")


def initializers(model):
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def numpy_run(model, x):
    vals = {k: (v.astype(np.float64) if v.dtype == np.float32 else v) for k, v in initializers(model).items()}
    vals[model.graph.input[0].name] = x.astype(np.float64)
    for node in model.graph.node:
        ins = [vals[i] if i else None for i in node.input]
        y = run_node(node, ins)
        vals[node.output[0]] = y
    return vals


# --------------------------------------------------------------------------- PyTorch value of every node output

def scope_module(model, node_name):
    """'/layer1/layer1.0/conv1/Conv' -> 'layer1.0.conv1' ('' for unscoped nodes)."""
    parts = node_name.split("/")
    if len(parts) < 3 or parts[0] != "":
        return None
    comps = parts[1:-1]
    path, mod = "", model
    for c in comps:
        attr = c.split(".")[-1]
        children = dict(mod.named_children())
        if attr not in children:
            fail(f"node {node_name}: no submodule {attr!r} under {path or '<root>'}")
        full = f"{path}.{attr}" if path else attr
        if not full.endswith(c):
            fail(f"node {node_name}: scope {c!r} does not name module {full!r}")
        path, mod = full, children[attr]
    return path


def pytorch_values(model, onnx_model, x):
    """Every node output of onnx_model, as `model` (PyTorch, eval) computes it on input x.

    Returns (OrderedDict value name -> numpy array, logits tensor)."""
    model.eval()
    outs, ins_ids, out_ids, calls = {}, {}, {}, {}
    hooks = []
    keep = []   # keeps every hooked tensor alive, so that ids stay unique
    for path, mod in model.named_modules():
        if path == "":
            continue

        def hook(m, inputs, output, path=path):
            calls[path] = calls.get(path, 0) + 1
            outs[path] = output.detach().clone()
            ins_ids[path] = [id(t) for t in inputs if isinstance(t, torch.Tensor)]
            out_ids[path] = id(output)
            keep.append((inputs, output))
        hooks.append(mod.register_forward_hook(hook))
    try:
        with torch.no_grad():
            xt = torch.from_numpy(x)
            logits = model(xt)
    finally:
        for h in hooks:
            h.remove()
    for path, n in calls.items():
        if n != 1:
            fail(f"module {path} ran {n} times in one forward pass: cannot map its nodes")
    del keep

    g = onnx_model.graph
    producers = {}
    scopes = {}
    for node in g.node:
        scopes[node.name] = scope_module(model, node.name)
        for o in node.output:
            producers[o] = node
    consumers = {}
    for node in g.node:
        for i in node.input:
            consumers.setdefault(i, []).append(node)
    graph_outputs = {o.name for o in g.output}
    modules = dict(model.named_modules())
    scopes_with_nodes = {s for s in scopes.values() if s}

    # Conv + BatchNorm folded at export: the Conv's output is the BatchNorm's.
    alias = {}
    for path, mod in modules.items():
        if isinstance(mod, nn.BatchNorm2d) and path in calls and path not in scopes_with_nodes:
            src = [p for p, oid in out_ids.items() if oid in ins_ids[path] and isinstance(modules[p], nn.Conv2d)]
            if len(src) != 1:
                fail(f"BatchNorm {path} is not in the graph and does not follow exactly one Conv")
            alias[src[0]] = path

    vals = OrderedDict(initializers(onnx_model))
    vals[g.input[0].name] = x
    result = OrderedDict()
    for node in g.node:
        scope = scopes[node.name]
        for o in node.output:
            leaves = o in graph_outputs or any(scopes[c.name] != scope for c in consumers.get(o, []))
            if scope and leaves:
                if node.op_type in ("Constant", "Shape"):
                    fail(f"node {node.name}: {node.op_type} output {o} leaves its module {scope}")
                if any(isinstance(m, (nn.Sequential,)) or (len(list(m.children())) > 0)
                       for m in [modules[scope]]):
                    fail(f"node {node.name} ({node.op_type}) belongs to container module {scope}: "
                         "wrap the functional op in a module so a hook sees it")
                src = alias.get(scope, scope)
                if src not in outs:
                    fail(f"node {node.name}: module {src} did not run")
                v = outs[src].numpy()
                if v.dtype != np.float32:
                    fail(f"node {node.name}: module {src} produced {v.dtype}")
            elif node.op_type in ("Constant", "Identity", "Shape", "Gather", "Unsqueeze", "Concat", "Squeeze", "Cast"):
                # Constants (scoped or not) and int64 shape arithmetic: computed from the known shapes.
                v = run_node(node, [vals[i] for i in node.input])
                if node.op_type == "Identity":
                    if node.input[0] not in {t.name for t in g.initializer}:
                        fail(f"node {node.name}: Identity of a computed value is not mapped")
                elif v.dtype != np.int64:
                    fail(f"node {node.name}: {node.op_type} output {o} is {v.dtype}, not int64 shape arithmetic")
                v = np.asarray(v)
            else:
                fail(f"node {node.name} ({node.op_type}) output {o}: no PyTorch module produces it")
            vals[o] = v
            result[o] = v
    all_outputs = [o for n in g.node for o in n.output]
    missing = [o for o in all_outputs if o not in result]
    if missing:
        fail(f"unmapped node outputs: {missing}")
    return result, logits


def check_against_numpy(name, onnx_model, x, values):
    ref = numpy_run(onnx_model, x)
    worst = 0.0
    for k, v in values.items():
        r = ref[k]
        if tuple(np.shape(r)) != tuple(np.shape(v)):
            fail(f"{name}: {k}: PyTorch shape {np.shape(v)}, ONNX graph gives {np.shape(r)}")
        if v.dtype == np.int64:
            if not np.array_equal(r, v):
                fail(f"{name}: {k}: int64 values differ: {v} vs {r}")
            continue
        err = float(np.max(np.abs(r - v) / np.maximum(1.0, np.abs(r)))) if v.size else 0.0
        worst = max(worst, err)
        if not err <= 1e-4:
            fail(f"{name}: {k}: PyTorch and the ONNX graph differ by {err:.3g}: wrong mapping?")
    log(f"  {name}: {len(values)} node outputs, max deviation from a float64 numpy run of the ONNX graph {worst:.2g}")


def values_listing(values):
    listing, members = [], OrderedDict()
    width = max(3, len(str(len(values) - 1)))
    for i, (k, v) in enumerate(values.items()):
        member = f"v{i:0{width}d}"
        dt = "int64" if v.dtype == np.int64 else "float32"
        if dt == "float32" and v.dtype != np.float32:
            v = v.astype(np.float32)
        listing.append({"member": member, "name": k, "dtype": dt})
        members[member] = np.asarray(v)
    return listing, members


def input_grad(model, x, labels, prep=None):
    """d(sum over the batch of cross-entropy(logits, labels)) / d x.

    For a model that ends in Softmax, the loss is the NLL of the log of its output (the same value)."""
    xt = torch.from_numpy(x).clone().requires_grad_(True)
    z = model(prep(xt) if prep is not None else xt)
    y = torch.from_numpy(labels.astype(np.int64))
    if getattr(model, "ends_in_softmax", False):
        loss = F.nll_loss(torch.log(z), y, reduction="sum")
    else:
        loss = F.cross_entropy(z, y, reduction="sum")
    (g,) = torch.autograd.grad(loss, xt)
    return g


def fgsm(model, x, labels, eps, prep=None):
    """clip(x + eps * sign(grad), 0, 1), in float32."""
    g = input_grad(model, x, labels, prep)
    return torch.clamp(torch.from_numpy(x) + eps * torch.sign(g), 0.0, 1.0)


def pgd(model, x, labels, eps, steps, alpha, prep=None):
    """L-inf PGD, no random start: x' <- clip(proj_eps(x' + alpha * sign(grad)), 0, 1)."""
    x0 = torch.from_numpy(x)
    adv = x0.clone()
    for _ in range(steps):
        g = input_grad(model, adv.numpy(), labels, prep)
        adv = adv + alpha * torch.sign(g)
        adv = torch.min(torch.max(adv, x0 - eps), x0 + eps)
        adv = torch.clamp(adv, 0.0, 1.0)
    return adv


@torch.no_grad()
def accuracy(model, x, labels, prep=None):
    z = predict(model, torch.as_tensor(x), prep)
    return float((z.argmax(1).numpy() == labels).mean())


def batched(fn, x, labels, batch=250):
    return np.concatenate([fn(x[i:i + batch], labels[i:i + batch]).numpy() for i in range(0, len(x), batch)])


def write_fixture(name, model, onnx_model, x, labels, prep=None, pixel_x=None, fgsm_eps=None):
    values, logits = pytorch_values(model, onnx_model, x)
    check_against_numpy(name, onnx_model, x, values)
    graph_out = onnx_model.graph.output[0].name
    if not np.array_equal(values[graph_out], logits.numpy()):
        fail(f"{name}: the graph output is not the model's output")
    listing, members = values_listing(values)
    arrays = OrderedDict()
    arrays["input"] = x.astype(np.float32)
    arrays["labels"] = labels.astype(np.int32)
    if getattr(model, "ends_in_softmax", False):
        arrays["probabilities"] = logits.numpy().astype(np.float32)
        with torch.no_grad():
            arrays["logits"] = model.net(torch.from_numpy(x)).numpy().astype(np.float32)
    else:
        arrays["logits"] = logits.numpy().astype(np.float32)
    arrays["grad_input"] = input_grad(model, x, labels).numpy().astype(np.float32)
    if pixel_x is not None:
        arrays["pixels"] = pixel_x.astype(np.float32)
    if fgsm_eps is not None:
        base = pixel_x if pixel_x is not None else x
        arrays[f"fgsm_{fgsm_eps}"] = fgsm(model, base, labels, fgsm_eps, prep).numpy().astype(np.float32)
        arrays[f"pgd_{fgsm_eps}"] = pgd(model, base, labels, fgsm_eps, 10, 0.025, prep).numpy().astype(np.float32)
    arrays.update(members)
    path = FIXTURES / f"{name}.npz"
    write_npz(path, arrays, listing)
    return path


# --------------------------------------------------------------------------- hand-built fixtures (issue 10)

def channels_last_fixture(u8, labels):
    rng = np.random.default_rng(10)
    c = 6
    w = (rng.standard_normal((c, 1, 3, 3)) * 0.5).astype(np.float32)
    b = (rng.standard_normal(c) * 0.1).astype(np.float32)
    fw = (rng.standard_normal((10, c)) * 0.5).astype(np.float32)
    fb = (rng.standard_normal(10) * 0.1).astype(np.float32)
    nodes = [
        helper.make_node("Transpose", ["input"], ["nchw"], name="to_nchw", perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["nchw", "conv.weight", "conv.bias"], ["conv"], name="conv",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
        helper.make_node("GlobalAveragePool", ["relu"], ["pool"], name="pool"),
        helper.make_node("Flatten", ["pool"], ["flatten"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flatten", "fc.weight", "fc.bias"], ["logits"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "channels_last",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 28, 28, 1])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        [numpy_helper.from_array(w, "conv.weight"), numpy_helper.from_array(b, "conv.bias"),
         numpy_helper.from_array(fw, "fc.weight"), numpy_helper.from_array(fb, "fc.bias")])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                          producer_name="somscope train-reference-model.py",
                          doc_string="Channels-last (NHWC) input, transposed to NCHW inside, as TensorFlow exports do.")
    onnx.checker.check_model(m)
    atomic_write(FIXTURES / "channels-last.onnx", m.SerializeToString())

    x = pixels(u8).transpose(0, 2, 3, 1).copy()        # [N,28,28,1]
    xt = torch.from_numpy(x).requires_grad_(True)
    v = OrderedDict()
    v["nchw"] = xt.permute(0, 3, 1, 2)
    v["conv"] = F.conv2d(v["nchw"], torch.from_numpy(w), torch.from_numpy(b), padding=1)
    v["relu"] = F.relu(v["conv"])
    v["pool"] = v["relu"].mean(dim=(2, 3), keepdim=True)
    v["flatten"] = torch.flatten(v["pool"], 1)
    v["logits"] = F.linear(v["flatten"], torch.from_numpy(fw), torch.from_numpy(fb))
    loss = F.cross_entropy(v["logits"], torch.from_numpy(labels.astype(np.int64)), reduction="sum")
    (grad,) = torch.autograd.grad(loss, xt)
    values = OrderedDict((k, t.detach().contiguous().numpy()) for k, t in v.items())
    check_against_numpy("channels-last", m, x, values)
    listing, members = values_listing(values)
    arrays = OrderedDict(input=x, labels=labels.astype(np.int32), logits=values["logits"],
                         grad_input=grad.numpy())
    arrays.update(members)
    write_npz(FIXTURES / "channels-last.npz", arrays, listing)


def external_fixtures():
    """A tiny model whose weights live in a side file, and a copy whose location escapes the folder."""
    ext = FIXTURES / "external"
    ext.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(11)
    w = rng.standard_normal((4, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)

    def build():
        nodes = [helper.make_node("MatMul", ["input", "weight"], ["matmul"], name="matmul"),
                 helper.make_node("Add", ["matmul", "bias"], ["logits"], name="add")]
        graph = helper.make_graph(
            nodes, "external_data",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 4])],
            [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3])],
            [numpy_helper.from_array(w, "weight"), numpy_helper.from_array(b, "bias")])
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                 producer_name="somscope train-reference-model.py")

    with tempfile.TemporaryDirectory() as tmp:
        m = build()
        onnx.save_model(m, os.path.join(tmp, "model.onnx"), save_as_external_data=True,
                        all_tensors_to_one_file=True, location="model.onnx.data", size_threshold=0)
        model_bytes = Path(tmp, "model.onnx").read_bytes()
        data_bytes = Path(tmp, "model.onnx.data").read_bytes()
        check = onnx.load(os.path.join(tmp, "model.onnx"))
        if any(t.data_location != TensorProto.EXTERNAL for t in onnx.load(os.path.join(tmp, "model.onnx"),
                                                                           load_external_data=False).graph.initializer):
            fail("external fixture: an initializer was stored inline")
        onnx.checker.check_model(check)
    atomic_write(ext / "model.onnx", model_bytes)
    atomic_write(ext / "model.onnx.data", data_bytes)

    evil = onnx.load_from_string(model_bytes)
    for t in evil.graph.initializer:
        for kv in t.external_data:
            if kv.key == "location":
                kv.value = "../evil.bin"
    atomic_write(ext / "evil.onnx", evil.SerializeToString())
    # The escaped file exists and holds valid weights, so refusing it must be a policy, not an accident.
    atomic_write(FIXTURES / "evil.bin", data_bytes)

    x = rng.standard_normal((3, 4)).astype(np.float32)
    xt = torch.from_numpy(x)
    mm = xt @ torch.from_numpy(w)
    out = mm + torch.from_numpy(b)
    values = OrderedDict(matmul=mm.numpy(), logits=out.numpy())
    listing, members = values_listing(values)
    arrays = OrderedDict(input=x, logits=out.numpy())
    arrays.update(members)
    write_npz(ext / "model.npz", arrays, listing)


# --------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--skip-train", action="store_true",
                    help="load the weights cached in tools/.cache/ instead of training")
    ap.add_argument("--epochs", type=int, default=8, help="epochs for the demo model (default 8)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    np.random.seed(0)
    torch.use_deterministic_algorithms(True)

    log("reading Fashion-MNIST from", DATASET)
    xtr_u8 = read_idx(DATASET / "train-images-idx3-ubyte.gz")
    ytr = read_idx(DATASET / "train-labels-idx1-ubyte.gz").astype(np.int64)
    xte_u8 = read_idx(DATASET / "t10k-images-idx3-ubyte.gz")
    yte = read_idx(DATASET / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    if len(xte_u8) != 10000 or len(yte) != 10000 or len(xtr_u8) != 60000:
        fail("unexpected Fashion-MNIST sizes")

    # The demo subset of the test set.
    atomic_write(DEMO_DATA / "t10k-images-idx3-ubyte.gz", idx_gz_bytes(xte_u8[:DEMO_SUBSET]))
    atomic_write(DEMO_DATA / "t10k-labels-idx1-ubyte.gz", idx_gz_bytes(yte[:DEMO_SUBSET].astype(np.uint8)))
    if not np.array_equal(read_idx(DEMO_DATA / "t10k-images-idx3-ubyte.gz"), xte_u8[:DEMO_SUBSET]):
        fail("demo subset does not read back")

    xtr = torch.from_numpy(pixels(xtr_u8))
    ytr_t = torch.from_numpy(ytr)
    xte = pixels(xte_u8)
    CACHE.mkdir(parents=True, exist_ok=True)
    report = {}

    def prep_bnres(x):
        x = F.pad(x, (BNRES_PAD,) * 4)
        return bnres_normalize(x.expand(-1, 3, -1, -1))

    specs = [
        ("fashion-resnet", FashionResNet, dict(epochs=args.epochs, lr=0.1, seed=1)),
        ("mlp", MLP, dict(epochs=2, lr=0.05, seed=2, augment_images=False)),
        ("bnres", BNRes, dict(epochs=2, lr=0.05, seed=3, prep=prep_bnres)),
    ]
    models = {}
    for name, cls, kw in specs:
        torch.manual_seed(kw["seed"])
        model = cls()
        cache = CACHE / f"{name}.pt"
        if args.skip_train:
            if not cache.exists():
                fail(f"{cache}: no cached weights; run without --skip-train first")
            model.load_state_dict(torch.load(cache))
        else:
            log(f"training {name} ({sum(p.numel() for p in model.parameters())} parameters)")
            t0 = time.time()
            train(model, xtr, ytr_t, **kw)
            log(f"  {name}: trained in {time.time() - t0:.0f} s")
            torch.save(model.state_dict(), cache)
        model.eval()
        acc = accuracy(model, xte, yte, kw.get("prep"))
        log(f"  {name}: test accuracy {acc:.4f}")
        models[name] = model
        report[name] = acc

    demo = models["fashion-resnet"]
    if report["fashion-resnet"] < MIN_ACCURACY:
        fail(f"demo model reaches only {report['fashion-resnet']:.4f} test accuracy (< {MIN_ACCURACY})")
    nparams = sum(p.numel() for p in demo.parameters())

    # Exports.
    doc = ("Somscope demo model: a small residual CNN (stem, three residual stages, global average pool, "
           "dense head) trained on Fashion-MNIST by tools/train-reference-model.py. Input 'input' "
           "[N,1,28,28], pixels in [0,1] (no normalization); output 'logits' [N,10].")
    demo_onnx = export(demo, torch.zeros(1, 1, 28, 28), MODEL_OUT, fold_bn=True, doc=doc)
    mlp_onnx = export(models["mlp"], torch.zeros(1, 1, 28, 28), FIXTURES / "mlp.onnx", fold_bn=True,
                      doc="Somscope test fixture: Flatten, Linear, Tanh, Linear, Sigmoid, Linear.")
    bnres_onnx = export(models["bnres"], torch.zeros(1, 3, 32, 32), FIXTURES / "bnres.onnx", fold_bn=False,
                        doc="Somscope test fixture: BatchNormalization kept, depthwise Conv, MaxPool ceil_mode, "
                            "residual Add, view(). Input: Fashion-MNIST padded 2, grey replicated to 3 channels, "
                            "normalized with mean 0.286 std 0.353.")
    mlp_softmax = MLPSoftmax(models["mlp"]).eval()
    mlp_softmax_onnx = export(mlp_softmax, torch.zeros(1, 1, 28, 28), FIXTURES / "mlp-softmax.onnx",
                              fold_bn=True, output="probabilities",
                              doc="Somscope test fixture: mlp.onnx with a Softmax at the end (output: probabilities).")
    ops = lambda m: [n.op_type for n in m.graph.node]
    if "BatchNormalization" in ops(demo_onnx):
        fail("demo export kept BatchNormalization nodes (expected folding)")
    if ops(bnres_onnx).count("BatchNormalization") != 3:
        fail(f"bnres export lost its BatchNormalization nodes: {ops(bnres_onnx)}")
    for need in ("Shape", "Gather", "Unsqueeze", "Concat", "Reshape", "MaxPool", "Add"):
        if need not in ops(bnres_onnx):
            fail(f"bnres export has no {need} node")
    if not any(n.op_type == "Conv" and _attrs(n).get("group", 1) > 1 for n in bnres_onnx.graph.node):
        fail("bnres export has no depthwise Conv")

    # Per-node fixtures.
    log("writing per-node fixtures")
    FIXTURES.mkdir(parents=True, exist_ok=True)
    fx_u8, fx_labels = xte_u8[:FIXTURE_COUNT], yte[:FIXTURE_COUNT]
    write_fixture("demo", demo, demo_onnx, pixels(fx_u8), fx_labels, fgsm_eps=0.1)
    write_fixture("mlp", models["mlp"], mlp_onnx, pixels(fx_u8), fx_labels, fgsm_eps=0.1)
    write_fixture("mlp-softmax", mlp_softmax, mlp_softmax_onnx, pixels(fx_u8), fx_labels, fgsm_eps=0.1)
    bx = bnres_pixels(fx_u8)
    write_fixture("bnres", models["bnres"], bnres_onnx, bnres_normalize(bx), fx_labels,
                  prep=bnres_normalize, pixel_x=bx, fgsm_eps=0.1)
    channels_last_fixture(fx_u8, fx_labels)
    external_fixtures()

    # Accuracy on the full test set, and attack references.
    log("computing accuracy and attack references")
    z = predict(demo, torch.from_numpy(xte))
    pred = z.argmax(1).numpy().astype(np.int32)
    top2 = torch.topk(z, 2, dim=1).values
    margin = (top2[:, 0] - top2[:, 1]).numpy()
    atomic_write(FIXTURES / "demo-predictions.npy", npy_bytes(pred))
    acc = float((pred == yte).mean())

    xa, ya = xte[:ATTACK_COUNT], yte[:ATTACK_COUNT]
    clean = accuracy(demo, xa, ya)
    adv_fgsm = batched(lambda x, y: fgsm(demo, x, y, 0.1), xa, ya)
    adv_pgd = batched(lambda x, y: pgd(demo, x, y, 0.1, 10, 0.025), xa, ya)
    bxa = bnres_pixels(xte_u8[:ATTACK_COUNT])
    bn_clean = accuracy(models["bnres"], bxa, ya, bnres_normalize)
    adv_bn = batched(lambda x, y: fgsm(models["bnres"], x, y, 0.1, bnres_normalize), bxa, ya)
    # What a tool that forgets the normalization would get: the same eps on the normalized input.
    wrong_bn = batched(lambda x, y: torch.from_numpy(x) + 0.1 * torch.sign(input_grad(models["bnres"], x, y)),
                       bnres_normalize(bxa), ya)

    def attack(model, method, adv, clean_acc, prep=None, **extra):
        e = OrderedDict(model=model, method=method, norm="linf", eps=0.1)
        e.update(extra)
        e.update(labels="truth", random_start=False, count=ATTACK_COUNT, clean_accuracy=clean_acc,
                 adversarial_accuracy=accuracy(models[{"demo": "fashion-resnet"}.get(model, model)], adv, ya, prep))
        return e

    ref = OrderedDict()
    ref["generator"] = "tools/train-reference-model.py"
    ref["torch_version"] = torch.__version__
    ref["model"] = "data/models/fashion-resnet.onnx"
    ref["model_sha256"] = sha256(MODEL_OUT)
    ref["dataset"] = str(DATASET / "t10k-images-idx3-ubyte.gz")
    ref["accuracy"] = acc
    ref["count"] = int(len(yte))
    ref["correct"] = int((pred == yte).sum())
    ref["predictions"] = "demo-predictions.npy"
    ref["near_ties"] = int((margin < 1e-4).sum())
    ref["parameters"] = nparams
    ref["models"] = OrderedDict(
        (k, OrderedDict(file=f, sha256=sha256(ROOT / f))) for k, f in
        [("demo", "data/models/fashion-resnet.onnx"), ("mlp", "tests/data/fixtures/mlp.onnx"),
         ("mlp-softmax", "tests/data/fixtures/mlp-softmax.onnx"),
         ("bnres", "tests/data/fixtures/bnres.onnx"), ("channels-last", "tests/data/fixtures/channels-last.onnx")])
    ref["test_accuracy"] = OrderedDict(demo=report["fashion-resnet"], mlp=report["mlp"], bnres=report["bnres"])
    ref["attacks"] = OrderedDict()
    ref["attacks"]["demo_fgsm_linf_0.1"] = attack("demo", "fgsm", adv_fgsm, clean)
    ref["attacks"]["demo_pgd_linf_0.1"] = attack("demo", "pgd", adv_pgd, clean, steps=10, alpha=0.025)
    ref["attacks"]["bnres_fgsm_linf_0.1"] = attack(
        "bnres", "fgsm", adv_bn, bn_clean, prep=bnres_normalize, pad=BNRES_PAD, mean=BNRES_MEAN, std=BNRES_STD)
    ref["attacks"]["bnres_fgsm_linf_0.1"]["adversarial_accuracy_if_normalized_space"] = \
        accuracy(models["bnres"], wrong_bn, ya)
    atomic_write(FIXTURES / "reference.json", (json.dumps(ref, indent=2) + "\n").encode())
    log(json.dumps(ref, indent=2))
    total = sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file())
    log(f"fixtures: {total / 1e6:.2f} MB in {FIXTURES.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
