#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes tests/data/attacks/*.onnx: small models whose output has no
differentiable path from the input (the attack tests' bad input), one
that chains many differentiable ops and ends in Softmax (gradient check),
and grad-*.onnx, one per group of the other differentiable operators.

    /usr/bin/python3 tools/make-attack-fixtures.py
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "attacks")


def linear_graph(tail_nodes, tail_output, out_shape):
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((784, 10)).astype(np.float32) * 0.01, "w")
    b = numpy_helper.from_array(np.zeros(10, np.float32), "b")
    nodes = [
        helper.make_node("Flatten", ["input"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "w", "b"], ["scores"]),
    ] + tail_nodes
    graph = helper.make_graph(
        nodes, "no-grad",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info(tail_output, TensorProto.FLOAT, out_shape)],
        [w, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    return model


def ops_model():
    """Many differentiable ops on one path, ending in Softmax; the gradient
    test compares against central differences of the engine's own forward."""
    rng = np.random.default_rng(1)
    def init(name, a):
        return numpy_helper.from_array(np.asarray(a, np.float32) if a.dtype != np.int64 else a, name)
    inits = [
        init("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)),
        init("w1", rng.standard_normal((4, 1, 3, 3)) * 0.5),
        init("bn_s", rng.uniform(0.5, 1.5, 4)), init("bn_b", rng.standard_normal(4) * 0.1),
        init("bn_m", rng.standard_normal(4) * 0.1), init("bn_v", rng.uniform(0.5, 1.5, 4)),
        init("scale", rng.uniform(0.5, 1.5, (1, 4, 1, 1))),
        init("starts", np.array([0], np.int64)), init("ends", np.array([6], np.int64)),
        init("axes", np.array([1], np.int64)),
        init("w2", rng.standard_normal((24, 10)) * 0.5), init("b2", rng.standard_normal(10) * 0.1),
        init("shift", rng.standard_normal((1, 10)) * 0.1),
    ]
    nodes = [
        helper.make_node("Pad", ["input", "pads"], ["p"], mode="reflect"),
        helper.make_node("Conv", ["p", "w1"], ["c"], kernel_shape=[3, 3]),
        helper.make_node("BatchNormalization", ["c", "bn_s", "bn_b", "bn_m", "bn_v"], ["bn"], epsilon=1e-5),
        helper.make_node("Mul", ["bn", "scale"], ["m"]),
        helper.make_node("Elu", ["m"], ["lr"], alpha=1.0),  # smooth: no kink for the differences
        helper.make_node("AveragePool", ["lr"], ["ap"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Transpose", ["ap"], ["tr"], perm=[0, 1, 3, 2]),
        helper.make_node("Sigmoid", ["tr"], ["sg"]),
        helper.make_node("Tanh", ["ap"], ["th"]),
        helper.make_node("Concat", ["sg", "th"], ["cat"], axis=1),
        helper.make_node("Slice", ["cat", "starts", "ends", "axes"], ["sl"]),
        helper.make_node("ReduceMean", ["sl"], ["rm"], axes=[3], keepdims=0),
        helper.make_node("Flatten", ["rm"], ["fl"], axis=1),
        helper.make_node("MatMul", ["fl", "w2"], ["mm"]),
        helper.make_node("Add", ["mm", "b2"], ["ad"]),
        helper.make_node("Sub", ["ad", "shift"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes, "ops",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 10])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    return model


def grad_models():
    """One small model per group of operators whose gradient issue 4 and
    issue 10 ask for: input (N, 1, 8, 8) → the operators → Flatten → Gemm →
    Softmax.  test-grad compares each model's input gradient with central
    differences of the engine's own forward pass."""
    rng = np.random.default_rng(2)
    models = {}

    def f32(a):
        return np.asarray(a, np.float32)

    def model(name, nodes, inits, feat, opset=17):
        inits = [numpy_helper.from_array(v, k) for k, v in inits.items()]
        inits += [numpy_helper.from_array(f32(rng.standard_normal((feat, 10)) * 0.3), "head_w"),
                  numpy_helper.from_array(f32(rng.standard_normal(10) * 0.1), "head_b")]
        nodes = nodes + [
            helper.make_node("Flatten", ["z"], ["flat"], axis=1),
            helper.make_node("Gemm", ["flat", "head_w", "head_b"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
        ]
        graph = helper.make_graph(
            nodes, name,
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 8, 8])],
            [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 10])],
            inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        onnx.checker.check_model(m)
        models[name] = m

    i64 = lambda *v: np.array(v, np.int64)
    # MatMul: broadcast batch dims (N,1,8,8)·(2,8,3), then a 1-D right operand,
    # and a 1-D left operand
    model("grad-matmul", [
        helper.make_node("MatMul", ["input", "wb"], ["m1"]),
        helper.make_node("MatMul", ["m1", "v"], ["m2"]),
        helper.make_node("MatMul", ["u", "input"], ["m3"]),
        helper.make_node("Flatten", ["m2"], ["f2"], axis=1),
        helper.make_node("Flatten", ["m3"], ["f3"], axis=1),
        helper.make_node("Concat", ["f2", "f3"], ["z"], axis=1),
    ], {"wb": f32(rng.standard_normal((2, 8, 3))), "v": f32(rng.standard_normal(3)),
        "u": f32(rng.standard_normal(8))}, 16 + 8)
    # LayerNormalization over the last axis, Erf; InstanceNormalization after a Conv
    model("grad-norms", [
        helper.make_node("Reshape", ["input", "shape3"], ["r"]),
        helper.make_node("LayerNormalization", ["r", "ln_s", "ln_b"], ["ln"], axis=-1, epsilon=1e-5),
        helper.make_node("Erf", ["ln"], ["er"]),
        helper.make_node("Conv", ["input", "cw"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("InstanceNormalization", ["c", "in_s", "in_b"], ["inn"], epsilon=1e-5),
        helper.make_node("Flatten", ["er"], ["f1"], axis=1),
        helper.make_node("Flatten", ["inn"], ["f2"], axis=1),
        helper.make_node("Concat", ["f1", "f2"], ["z"], axis=1),
    ], {"shape3": i64(0, 8, 8), "ln_s": f32(rng.uniform(0.5, 1.5, 8)), "ln_b": f32(rng.standard_normal(8) * 0.1),
        "cw": f32(rng.standard_normal((3, 1, 3, 3)) * 0.5), "in_s": f32(rng.uniform(0.5, 1.5, 3)),
        "in_b": f32(rng.standard_normal(3) * 0.1)}, 64 + 192)
    # Einsum: a contraction, and an index only the operand has (h: summed)
    model("grad-einsum", [
        helper.make_node("Einsum", ["input", "ew"], ["e1"], equation="nchw,wk->nchk"),
        helper.make_node("Einsum", ["e1", "input"], ["z"], equation="nchk,nchw->nck"),
    ], {"ew": f32(rng.standard_normal((8, 4)) * 0.5)}, 4)
    # Index maps: Tile, Gather, Where, Resize (nearest), SpaceToDepth, Split, Slice with steps
    model("grad-index", [
        helper.make_node("Tile", ["input", "reps"], ["t"]),
        helper.make_node("Gather", ["t", "gi"], ["ga"], axis=2),
        helper.make_node("Sinh", ["ga"], ["sh"]),
        helper.make_node("Where", ["cond", "ga", "sh"], ["wh"]),
        helper.make_node("Resize", ["input", "", "scales"], ["rs"], mode="nearest"),
        helper.make_node("SpaceToDepth", ["rs"], ["sd"], blocksize=2),
        helper.make_node("Split", ["sd", "split"], ["s1", "s2"], axis=1),
        helper.make_node("Slice", ["s2", "st", "en", "ax", "sp"], ["sl"]),
        helper.make_node("Flatten", ["wh"], ["f1"], axis=1),
        helper.make_node("Flatten", ["s1"], ["f2"], axis=1),
        helper.make_node("Flatten", ["sl"], ["f3"], axis=1),
        helper.make_node("Concat", ["f1", "f2", "f3"], ["z"], axis=1),
    ], {"reps": i64(1, 2, 1, 1), "gi": i64(0, 2, 5, 2), "cond": rng.random((1, 1, 4, 8)) > 0.5,
        "scales": f32([1, 1, 2, 2]), "split": i64(1, 3), "st": i64(0, 1), "en": i64(3, 8), "ax": i64(1, 2),
        "sp": i64(1, 2)}, 2 * 4 * 8 + 64 + 3 * 4 * 8)
    # ConvTranspose (stride 2, output_padding), CumSum, Atan, Pow, ReduceLogSumExp
    model("grad-tconv", [
        helper.make_node("ConvTranspose", ["input", "tw"], ["ct"], strides=[2, 2], pads=[1, 1, 1, 1],
                         output_padding=[1, 1]),
        helper.make_node("CumSum", ["ct", "axis3"], ["cs"], reverse=1),
        helper.make_node("Atan", ["cs"], ["at"]),
        helper.make_node("Pow", ["at", "two"], ["pw"]),
        helper.make_node("ReduceLogSumExp", ["pw"], ["z"], axes=[3], keepdims=0),
    ], {"tw": f32(rng.standard_normal((1, 2, 3, 3)) * 0.5), "axis3": i64(3), "two": f32(2.0)}, 2 * 16)
    # Extrema and selections: ReduceMax, TopK, Softmax on a middle axis, Shrink, trigonometry
    model("grad-select", [
        helper.make_node("ReduceMax", ["input"], ["rm"], axes=[3], keepdims=0),
        helper.make_node("Flatten", ["input"], ["fl"], axis=1),
        helper.make_node("TopK", ["fl", "k"], ["tv", "ti"], axis=1),
        helper.make_node("Reshape", ["input", "shape3"], ["r"]),
        helper.make_node("Softmax", ["r"], ["sm"], axis=1),
        helper.make_node("Shrink", ["input"], ["shr"], lambd=0.5, bias=0.1),
        helper.make_node("Mul", ["input", "half"], ["hf"]),
        helper.make_node("Atanh", ["hf"], ["a1"]),
        helper.make_node("Acos", ["hf"], ["a2"]),
        helper.make_node("Tan", ["hf"], ["a3"]),
        helper.make_node("Cosh", ["input"], ["a4"]),
        helper.make_node("Asinh", ["input"], ["a5"]),
        helper.make_node("Asin", ["hf"], ["a6"]),
        helper.make_node("Sum", ["shr", "a1", "a2", "a3", "a4", "a5", "a6"], ["tr"]),
        helper.make_node("Flatten", ["rm"], ["f1"], axis=1),
        helper.make_node("Flatten", ["sm"], ["f3"], axis=1),
        helper.make_node("Flatten", ["tr"], ["f4"], axis=1),
        helper.make_node("Concat", ["f1", "tv", "f3", "f4"], ["z"], axis=1),
    ], {"k": i64(5), "shape3": i64(0, 8, 8), "half": f32(0.5)}, 8 + 5 + 64 + 64)
    # Resize in linear (half_pixel, scales) and cubic (align_corners, sizes) modes, and on a 3-D tensor
    model("grad-resize", [
        helper.make_node("Resize", ["input", "", "scales"], ["r1"], mode="linear"),
        helper.make_node("Resize", ["input", "", "", "sizes"], ["r2"], mode="cubic",
                         coordinate_transformation_mode="align_corners"),
        helper.make_node("Reshape", ["input", "shape3"], ["r"]),
        helper.make_node("Resize", ["r", "", "scales3"], ["r3"], mode="linear",
                         coordinate_transformation_mode="asymmetric"),
        helper.make_node("Flatten", ["r1"], ["f1"], axis=1),
        helper.make_node("Flatten", ["r2"], ["f2"], axis=1),
        helper.make_node("Flatten", ["r3"], ["f3"], axis=1),
        helper.make_node("Concat", ["f1", "f2", "f3"], ["z"], axis=1),
    ], {"scales": f32([1, 1, 2, 2]), "sizes": i64(3, 1, 11, 6), "shape3": i64(0, 8, 8),
        "scales3": f32([1, 1, 1.5])}, 256 + 66 + 96)
    # Conv input gradients by every route: 3-D (stride 1, as a forward Conv; strided, and depthwise
    # strided), 1-D with stride 2 and groups (sgemm + col2im), dilation with SAME_UPPER and SAME_LOWER
    # padding, depthwise with stride 2
    model("grad-convs", [
        helper.make_node("Reshape", ["input", "shape5"], ["v"]),
        helper.make_node("Conv", ["v", "w3"], ["c3"], kernel_shape=[3, 3, 3], pads=[1, 1, 1, 1, 1, 1]),
        helper.make_node("Reshape", ["input", "shape1d"], ["l"]),
        helper.make_node("Conv", ["l", "w1"], ["c1"], kernel_shape=[3], strides=[2], pads=[1, 0]),
        helper.make_node("Conv", ["c1", "wg"], ["cg"], kernel_shape=[3], strides=[2], pads=[1, 1], group=2),
        helper.make_node("Conv", ["input", "w2"], ["c2"], kernel_shape=[3, 3], dilations=[2, 2],
                         auto_pad="SAME_UPPER"),
        helper.make_node("Conv", ["c2", "we"], ["ce"], kernel_shape=[2, 3], dilations=[1, 2],
                         auto_pad="SAME_LOWER"),
        helper.make_node("Conv", ["ce", "wd"], ["cd"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                         group=3),
        helper.make_node("Conv", ["v", "w3s"], ["c3s"], kernel_shape=[3, 3, 3], strides=[2, 2, 1],
                         pads=[1, 1, 1, 1, 1, 1]),
        helper.make_node("Conv", ["c3", "w3d"], ["c3d"], kernel_shape=[2, 2, 2], strides=[2, 2, 2], group=2),
        helper.make_node("Flatten", ["c3"], ["f1"], axis=1),
        helper.make_node("Flatten", ["cg"], ["f2"], axis=1),
        helper.make_node("Flatten", ["cd"], ["f3"], axis=1),
        helper.make_node("Flatten", ["c3s"], ["f4"], axis=1),
        helper.make_node("Flatten", ["c3d"], ["f5"], axis=1),
        helper.make_node("Concat", ["f1", "f2", "f3", "f4", "f5"], ["z"], axis=1),
    ], {"shape5": i64(0, 1, 4, 4, 4), "w3": f32(rng.standard_normal((2, 1, 3, 3, 3)) * 0.3),
        "shape1d": i64(0, 1, 64), "w1": f32(rng.standard_normal((2, 1, 3)) * 0.5),
        "wg": f32(rng.standard_normal((4, 1, 3)) * 0.5), "w2": f32(rng.standard_normal((3, 1, 3, 3)) * 0.5),
        "wd": f32(rng.standard_normal((3, 1, 3, 3)) * 0.5), "we": f32(rng.standard_normal((3, 3, 2, 3)) * 0.3),
        "w3s": f32(rng.standard_normal((2, 1, 3, 3, 3)) * 0.3),
        "w3d": f32(rng.standard_normal((2, 1, 2, 2, 2)) * 0.5)},
          128 + 4 * 16 + 3 * 16 + 32 + 16)
    # Pools in 1, 2 and 3 spatial dimensions: dilation, ceil_mode, count_include_pad
    model("grad-pools", [
        helper.make_node("Reshape", ["input", "shape5"], ["v"]),
        helper.make_node("MaxPool", ["v"], ["m3"], kernel_shape=[2, 2, 2], strides=[2, 1, 2], pads=[0, 1, 0, 0, 0, 1]),
        helper.make_node("AveragePool", ["v"], ["a3"], kernel_shape=[3, 2, 3], strides=[1, 2, 2],
                         pads=[1, 0, 1, 1, 1, 1], count_include_pad=1),
        helper.make_node("Reshape", ["input", "shape1d"], ["l"]),
        helper.make_node("MaxPool", ["l"], ["m1"], kernel_shape=[3], strides=[3], dilations=[2]),
        helper.make_node("AveragePool", ["input"], ["a2"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 0, 0],
                         ceil_mode=1),
        helper.make_node("Flatten", ["m3"], ["f1"], axis=1),
        helper.make_node("Flatten", ["a3"], ["f2"], axis=1),
        helper.make_node("Flatten", ["m1"], ["f3"], axis=1),
        helper.make_node("Flatten", ["a2"], ["f4"], axis=1),
        helper.make_node("Concat", ["f1", "f2", "f3", "f4"], ["z"], axis=1),
    ], {"shape5": i64(0, 1, 4, 4, 4), "shape1d": i64(0, 1, 64)}, 16 + 16 + 20 + 16)
    # The operators added late: LRN, MeanVarianceNormalization (default axes and the last two),
    # ReverseSequence, Det (4×4 and 2×2), ReduceProd, ReduceL1, ReduceL2, MaxUnpool (the executor's
    # MaxPool has no Indices output: fixed indices on the first image), ScatterElements and ScatterND with reduction 'add' (repeated indices; data and updates
    # both from the input), Mod (fmod, the divisor from the input too; kinks off the test's grid)
    model("grad-extra", [
        helper.make_node("Conv", ["input", "cw"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("LRN", ["c"], ["lrn"], size=3, alpha=0.5, beta=0.75, bias=1.5),
        helper.make_node("MeanVarianceNormalization", ["c"], ["mvn1"]),
        helper.make_node("MeanVarianceNormalization", ["input"], ["mvn2"], axes=[2, 3]),
        helper.make_node("Reshape", ["input", "shape3"], ["r"]),
        helper.make_node("Transpose", ["r"], ["rt"], perm=[1, 2, 0]),
        helper.make_node("ReverseSequence", ["rt", "lens"], ["rs"], batch_axis=1, time_axis=0),
        helper.make_node("Transpose", ["rs"], ["rs2"], perm=[2, 0, 1]),
        helper.make_node("Reshape", ["input", "shape44"], ["m4"]),
        helper.make_node("Det", ["m4"], ["d4"]),
        helper.make_node("Reshape", ["input", "shape22"], ["m2"]),
        helper.make_node("Det", ["m2"], ["d2"]),
        helper.make_node("Reshape", ["input", "pairs"], ["pr"]),
        helper.make_node("ReduceProd", ["pr"], ["rp"], axes=[2], keepdims=0),
        helper.make_node("ReduceL1", ["input"], ["l1"], axes=[3], keepdims=0),
        helper.make_node("ReduceL2", ["input"], ["l2"], axes=[2], keepdims=0),
        helper.make_node("Slice", ["input", "n0", "n1", "ax0"], ["first"]),
        helper.make_node("AveragePool", ["first"], ["ap"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Sin", ["ap"], ["aps"]),
        helper.make_node("MaxUnpool", ["aps", "upi"], ["mu1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Add", ["input", "mu1"], ["mu"]),
        helper.make_node("Slice", ["input", "s0", "s1", "s2"], ["upd"]),
        helper.make_node("Mul", ["upd", "three"], ["upd3"]),
        helper.make_node("ScatterElements", ["input", "sidx", "upd3"], ["se"], axis=2, reduction="add"),
        helper.make_node("Slice", ["input", "n0", "n3", "ax0"], ["updn"]),
        helper.make_node("ScatterND", ["input", "ndidx", "updn"], ["snd"], reduction="add"),
        helper.make_node("Mul", ["snd", "snd"], ["snd2"]),
        helper.make_node("Mod", ["input", "quarter"], ["md1"], fmod=1),
        helper.make_node("Add", ["input", "three"], ["x3"]),
        helper.make_node("Mod", ["six", "x3"], ["md2"], fmod=1),
    ] + [helper.make_node("Flatten", [v], ["f_" + v], axis=1)
         for v in ("lrn", "mvn1", "mvn2", "rs2", "d4", "d2", "rp", "l1", "l2", "mu", "se", "snd2", "md1",
                   "md2")] + [
        helper.make_node("Concat", ["f_" + v for v in ("lrn", "mvn1", "mvn2", "rs2", "d4", "d2", "rp", "l1", "l2",
                                                        "mu", "se", "snd2", "md1", "md2")], ["z"], axis=1),
    ], {"cw": f32(rng.standard_normal((4, 1, 3, 3)) * 0.5), "shape3": i64(0, 8, 8),
        "lens": i64(8, 3, 1, 5, 8, 2, 7, 4), "shape44": i64(0, 4, 4, 4), "shape22": i64(0, 16, 2, 2),
        "pairs": i64(0, 32, 2), "three": f32(3.0), "quarter": f32(0.25), "six": f32(6.0),
        "s0": i64(0, 0, 2, 0), "s1": i64(1, 1, 4, 8), "s2": i64(0, 1, 2, 3),
        "sidx": i64(*[1, 3, 3, 0, 7, 7, 2, 1, 5, 5, 5, 0, 6, 2, 4, 4]).reshape(1, 1, 2, 8),
        "n0": i64(0), "n1": i64(1), "n3": i64(3), "ax0": i64(0), "ndidx": i64(0, 0, 2).reshape(3, 1),
        "upi": np.array([[(2 * (k // 4) + (k % 2)) * 8 + 2 * (k % 4) + (k // 8) % 2 for k in range(16)]],
                        np.int64).reshape(1, 1, 4, 4)},
          256 + 256 + 64 + 64 + 4 + 16 + 32 + 8 + 8 + 64 + 64 + 64 + 64 + 64)
    # The losses (NLL on a LogSoftmax with per-class weights and ignore_index; SoftmaxCrossEntropyLoss
    # with both outputs used; a mean-reduced loss scaling features), Resize with
    # tf_crop_and_resize (linear and nearest, extrapolated positions, extrapolation_value ≠ 0), and
    # Einsum with '...' (explicit, broadcast against a size-1 dimension, and implicit output), and a
    # trilinear Resize of a 5-D tensor (up along two axes, down along the third); Einsum with a
    # repeated index (a diagonal, a product of traces, a diagonal under '...')
    model("grad-losses", [
        helper.make_node("Reshape", ["input", "shape3"], ["r"]),
        helper.make_node("Shape", ["input"], ["sh"]),
        helper.make_node("Slice", ["sh", "z0", "z1"], ["n"]),
        helper.make_node("Concat", ["n", "eight"], ["tshape"], axis=0),
        helper.make_node("Expand", ["tgt", "tshape"], ["t"]),
        helper.make_node("LogSoftmax", ["r"], ["lsm"], axis=1),
        helper.make_node("NegativeLogLikelihoodLoss", ["lsm", "t", "wts"], ["nll"], reduction="none",
                         ignore_index=2),
        helper.make_node("SoftmaxCrossEntropyLoss", ["r", "t"], ["sce", "logp"], reduction="none"),
        helper.make_node("SoftmaxCrossEntropyLoss", ["r", "t", "wts"], ["scem"], reduction="mean"),
        helper.make_node("Mul", ["logp", "scem"], ["lps"]),
        helper.make_node("Resize", ["input", "roi", "scales"], ["rz1"], mode="linear",
                         coordinate_transformation_mode="tf_crop_and_resize", extrapolation_value=5.0),
        helper.make_node("Resize", ["input", "roi", "scales"], ["rz2"], mode="nearest",
                         coordinate_transformation_mode="tf_crop_and_resize", extrapolation_value=2.0),
        helper.make_node("Einsum", ["input", "ew"], ["e1"], equation="...ij,jk->...ik"),
        helper.make_node("Einsum", ["input", "eb"], ["e2"], equation="...ij,...jk->...ik"),
        helper.make_node("Einsum", ["input", "input"], ["e3"], equation="...ij,...kj"),
        helper.make_node("Reshape", ["input", "shape5"], ["v"]),
        helper.make_node("Resize", ["v", "", "scales5"], ["rz3"], mode="linear"),
        helper.make_node("Einsum", ["input"], ["e4"], equation="nchh->nch"),
        helper.make_node("Einsum", ["input", "input"], ["e5"], equation="nchh,ncww->nc"),
        helper.make_node("Einsum", ["input", "ew"], ["e6"], equation="...ii,ik->...k"),
    ] + [helper.make_node("Flatten", [v], ["f_" + v], axis=1)
         for v in ("nll", "sce", "lps", "rz1", "rz2", "e1", "e2", "e3", "rz3", "e4", "e5", "e6")] + [
        helper.make_node("Concat", ["f_" + v for v in ("nll", "sce", "lps", "rz1", "rz2", "e1", "e2", "e3",
                                                        "rz3", "e4", "e5", "e6")], ["z"], axis=1),
    ], {"shape3": i64(0, 8, 8), "z0": i64(0), "z1": i64(1), "eight": i64(8),
        "tgt": i64(3, 2, 0, 7, 2, 5, 1, 6).reshape(1, 8), "wts": f32(rng.uniform(0.5, 1.5, 8)),
        "roi": f32([0, 0, 0.1, -0.2, 1, 1, 0.8, 1.15]), "scales": f32([1, 1, 1.5, 1.25]),
        "ew": f32(rng.standard_normal((8, 3)) * 0.5), "eb": f32(rng.standard_normal((2, 8, 3)) * 0.5),
        "shape5": i64(0, 1, 4, 4, 4), "scales5": f32([1, 1, 1.5, 2, 0.75])},
          8 + 8 + 64 + 120 + 120 + 24 + 48 + 64 + 144 + 8 + 1 + 3)
    # ScatterElements with reduction mul, max (updates above the data, and below it) and min, ScatterND
    # with mul (repeated indices; the max/min updates 1.75 or more away from the data and 1/128 apart, so
    # no step swaps a maximum; the mul updates in [0.25, 0.75], so the others' product matters); alone in
    # their model, so the updates' share of the gradient is large
    model("grad-scatter", [
        helper.make_node("Slice", ["input", "s0", "s1", "s2"], ["upd"]),
        helper.make_node("Mul", ["upd", "quarter"], ["uq"]),
        helper.make_node("Add", ["uq", "half"], ["u_mul"]),
        helper.make_node("Add", ["uq", "two"], ["u_hi"]),
        helper.make_node("Sub", ["uq", "two"], ["u_lo"]),
        helper.make_node("ScatterElements", ["input", "sidx", "u_mul"], ["sc_mul"], axis=2, reduction="mul"),
        helper.make_node("ScatterElements", ["input", "sidx", "u_hi"], ["sc_max"], axis=2, reduction="max"),
        helper.make_node("ScatterElements", ["input", "sidx", "u_lo"], ["sc_max2"], axis=2, reduction="max"),
        helper.make_node("ScatterElements", ["input", "sidx", "u_lo"], ["sc_min"], axis=2, reduction="min"),
        helper.make_node("Slice", ["input", "n0", "n3", "ax0"], ["updn"]),
        helper.make_node("Mul", ["updn", "quarter"], ["unq"]),
        helper.make_node("Add", ["unq", "half"], ["un_mul"]),
        helper.make_node("ScatterND", ["input", "ndidx", "un_mul"], ["snd_mul"], reduction="mul"),
    ] + [helper.make_node("Flatten", [v], ["f_" + v], axis=1)
         for v in ("sc_mul", "sc_max", "sc_max2", "sc_min", "snd_mul")] + [
        helper.make_node("Concat", ["f_" + v for v in ("sc_mul", "sc_max", "sc_max2", "sc_min", "snd_mul")],
                         ["z"], axis=1),
    ], {"s0": i64(0, 0, 2, 0), "s1": i64(1, 1, 4, 8), "s2": i64(0, 1, 2, 3), "quarter": f32(0.25),
        "half": f32(0.5), "two": f32(2.0),
        "sidx": i64(*[1, 3, 3, 0, 7, 7, 2, 1, 5, 5, 5, 0, 6, 2, 4, 4]).reshape(1, 1, 2, 8),
        "n0": i64(0), "n3": i64(3), "ax0": i64(0), "ndidx": i64(0, 0, 2).reshape(3, 1)}, 5 * 64)
    # Slice-1 (opset 9: starts, ends and axes as attributes), its gradient as an index map
    model("grad-slice9", [
        helper.make_node("Slice", ["input"], ["s1"], starts=[1, 2], ends=[7, 100], axes=[2, 3]),
        helper.make_node("Slice", ["input"], ["s2"], starts=[-3], ends=[-1], axes=[3]),
        helper.make_node("Tanh", ["s2"], ["t2"]),
        helper.make_node("Flatten", ["s1"], ["f1"], axis=1),
        helper.make_node("Flatten", ["t2"], ["f2"], axis=1),
        helper.make_node("Concat", ["f1", "f2"], ["z"], axis=1),
    ], {}, 36 + 16, opset=9)
    return models


def main():
    os.makedirs(OUT, exist_ok=True)
    # ArgMax → Cast: the output is piecewise constant in the input.
    argmax = linear_graph([
        helper.make_node("ArgMax", ["scores"], ["idx"], axis=1, keepdims=1),
        helper.make_node("Cast", ["idx"], ["output"], to=TensorProto.FLOAT),
    ], "output", ["N", 1])
    onnx.save(argmax, os.path.join(OUT, "argmax-output.onnx"))
    # Hardmax: piecewise constant in the input, like ArgMax: no differentiable path.
    hardmax = linear_graph([
        helper.make_node("Hardmax", ["scores"], ["output"], axis=1),
    ], "output", ["N", 10])
    onnx.save(hardmax, os.path.join(OUT, "hardmax-output.onnx"))
    onnx.save(ops_model(), os.path.join(OUT, "ops-softmax.onnx"))
    for name, m in grad_models().items():
        onnx.save(m, os.path.join(OUT, name + ".onnx"))


if __name__ == "__main__":
    main()
