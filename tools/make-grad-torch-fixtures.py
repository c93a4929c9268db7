#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes tests/data/attacks/torch-late.{onnx,npz}: the operators added late
whose gradient PyTorch 1.13 also computes (LRN, MeanVarianceNormalization
as its formula, ReduceProd, ReduceL1, ReduceL2, Det, Einsum with '...',
NegativeLogLikelihoodLoss on a LogSoftmax, SoftmaxCrossEntropyLoss,
ScatterElements with reduction 'add'), and PyTorch autograd's input gradient
of the summed cross-entropy.  torch.onnx.export turns LRN into a subgraph
with If, so the ONNX graph is written here node by node with the torch
module's weights; the npz also keeps PyTorch's logits, which test-grad
checks first (the tests never import torch).

    /usr/bin/python3 tools/make-grad-torch-fixtures.py
"""
import os

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "attacks")
N = 4
FEAT = 4 * 64 + 4 * 64 + 32 + 8 + 8 + 4 + 24 + 8 + 8 + 64


def main():
    torch.manual_seed(3)
    torch.set_num_threads(1)
    conv_w = torch.randn(4, 1, 3, 3) * 0.5
    conv_b = torch.randn(4) * 0.1
    ein_w = torch.randn(8, 3) * 0.5
    target = torch.randint(0, 8, (N, 8))
    index = torch.randint(0, 8, (N, 1, 2, 8))
    head_w = torch.randn(10, FEAT) * 0.1
    head_b = torch.randn(10) * 0.1

    def forward(x):
        n = x.shape[0]
        c = F.conv2d(x, conv_w, conv_b, padding=1)
        mean = c.mean(dim=(2, 3), keepdim=True)
        var = (c * c).mean(dim=(2, 3), keepdim=True) - mean * mean
        r = x.reshape(n, 8, 8)
        feats = [
            F.local_response_norm(c, 3, alpha=0.5, beta=0.75, k=1.5),
            (c - mean) / (torch.sqrt(var) + 1e-9),
            x.reshape(n, 32, 2).prod(dim=2),
            x.abs().sum(dim=3),
            torch.sqrt((x * x).sum(dim=2)),
            torch.det(x.reshape(n, 4, 4, 4)),
            torch.einsum("...ij,jk->...ik", x, ein_w),
            F.nll_loss(F.log_softmax(r, dim=1), target, reduction="none"),
            F.cross_entropy(r, target, reduction="none"),
            x.scatter_add(2, index, x[:, :, 2:4, :] * 3),
        ]
        z = torch.cat([f.reshape(n, -1) for f in feats], dim=1)
        return z @ head_w.T + head_b

    x = ((torch.rand(N, 1, 8, 8) * 2 - 1) * 0.9).float()
    labels = torch.tensor([1, 8, 3, 5])
    xg = x.clone().requires_grad_(True)
    logits = forward(xg)
    loss = F.cross_entropy(logits, labels, reduction="sum")
    loss.backward()

    def t(name, a, dtype=np.float32):
        return numpy_helper.from_array(np.asarray(a, dtype), name)

    i64 = lambda *v: np.array(v, np.int64)
    nodes = [
        helper.make_node("Conv", ["input", "conv_w", "conv_b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("LRN", ["c"], ["lrn"], size=3, alpha=0.5, beta=0.75, bias=1.5),
        helper.make_node("MeanVarianceNormalization", ["c"], ["mvn"], axes=[2, 3]),
        helper.make_node("Reshape", ["input", "pairs"], ["pr"]),
        helper.make_node("ReduceProd", ["pr"], ["rp"], axes=[2], keepdims=0),
        helper.make_node("ReduceL1", ["input"], ["l1"], axes=[3], keepdims=0),
        helper.make_node("ReduceL2", ["input"], ["l2"], axes=[2], keepdims=0),
        helper.make_node("Reshape", ["input", "shape44"], ["m4"]),
        helper.make_node("Det", ["m4"], ["det"]),
        helper.make_node("Einsum", ["input", "ein_w"], ["ein"], equation="...ij,jk->...ik"),
        helper.make_node("Reshape", ["input", "shape3"], ["r"]),
        helper.make_node("LogSoftmax", ["r"], ["lsm"], axis=1),
        helper.make_node("NegativeLogLikelihoodLoss", ["lsm", "target"], ["nll"], reduction="none"),
        helper.make_node("SoftmaxCrossEntropyLoss", ["r", "target"], ["sce"], reduction="none"),
        helper.make_node("Slice", ["input", "s0", "s1", "s2"], ["upd"]),
        helper.make_node("Mul", ["upd", "three"], ["upd3"]),
        helper.make_node("ScatterElements", ["input", "index", "upd3"], ["sca"], axis=2, reduction="add"),
    ]
    feats = ["lrn", "mvn", "rp", "l1", "l2", "det", "ein", "nll", "sce", "sca"]
    nodes += [helper.make_node("Flatten", [v], ["f_" + v], axis=1) for v in feats]
    nodes += [helper.make_node("Concat", ["f_" + v for v in feats], ["z"], axis=1),
              helper.make_node("Gemm", ["z", "head_w", "head_b"], ["logits"], transB=1)]
    inits = [t("conv_w", conv_w), t("conv_b", conv_b), t("ein_w", ein_w), t("target", target, np.int64),
             t("index", index, np.int64), t("head_w", head_w), t("head_b", head_b),
             t("pairs", i64(0, 32, 2), np.int64), t("shape44", i64(0, 4, 4, 4), np.int64),
             t("shape3", i64(0, 8, 8), np.int64), t("s0", i64(2), np.int64), t("s1", i64(4), np.int64),
             t("s2", i64(2), np.int64), t("three", 3.0)]
    graph = helper.make_graph(nodes, "torch-late",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [N, 1, 8, 8])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [N, 10])], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    os.makedirs(OUT, exist_ok=True)
    onnx.save(m, os.path.join(OUT, "torch-late.onnx"))
    np.savez(os.path.join(OUT, "torch-late.npz"), input=x.numpy(), labels=labels.numpy().astype(np.int32),
             grad_input=xg.grad.numpy(), logits=logits.detach().numpy())


if __name__ == "__main__":
    main()
