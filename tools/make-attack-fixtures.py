#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes tests/data/attacks/*.onnx: small models whose output has no
differentiable path from the input (the attack tests' bad input), and one
that chains many differentiable ops and ends in Softmax (gradient check).

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


def main():
    os.makedirs(OUT, exist_ok=True)
    # ArgMax → Cast: the output is piecewise constant in the input.
    argmax = linear_graph([
        helper.make_node("ArgMax", ["scores"], ["idx"], axis=1, keepdims=1),
        helper.make_node("Cast", ["idx"], ["output"], to=TensorProto.FLOAT),
    ], "output", ["N", 1])
    onnx.save(argmax, os.path.join(OUT, "argmax-output.onnx"))
    # Hardmax: runs, but Somscope has no gradient for it.
    hardmax = linear_graph([
        helper.make_node("Hardmax", ["scores"], ["output"], axis=1),
    ], "output", ["N", 10])
    onnx.save(hardmax, os.path.join(OUT, "hardmax-output.onnx"))
    onnx.save(ops_model(), os.path.join(OUT, "ops-softmax.onnx"))


if __name__ == "__main__":
    main()
