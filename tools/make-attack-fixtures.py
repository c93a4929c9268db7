#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes tests/data/attacks/*.onnx: small models whose output has no
differentiable path from the input (the attack tests' bad input).

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


if __name__ == "__main__":
    main()
