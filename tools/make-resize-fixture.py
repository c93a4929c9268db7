#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes tests/data/resize-fixture.npz: inputs and torchvision's
resize(antialias=False) outputs (bilinear, half-pixel centres), the reference
for tests/core/test-preprocess.c's som_image_resize_bilinear() check.

Needs Debian's python3-torch and python3-torchvision (tools/install-deps --tools);
the test itself reads only the .npz.

  /usr/bin/python3 tools/make-resize-fixture.py [OUT.npz]
"""
import os
import sys

import numpy as np
import torch
import torchvision.transforms.functional as TF
from torchvision.transforms import InterpolationMode

CASES = [
    # (N, C, H, W) → (H2, W2)
    ((2, 1, 28, 28), (32, 32)),    # Fashion-MNIST up to CIFAR size
    ((1, 3, 32, 32), (28, 28)),    # down
    ((1, 1, 5, 7), (3, 11)),       # odd ratios, both ways at once
    ((1, 3, 28, 28), (96, 80)),    # large upscale, unequal ratios
    ((1, 1, 1, 1), (3, 3)),        # a single pixel
    ((1, 2, 9, 4), (9, 13)),       # one axis unchanged
    ((1, 1, 30, 30), (7, 7)),      # strong downscale (no antialias: aliasing kept)
]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "tests", "data", "resize-fixture.npz")
    gen = torch.Generator().manual_seed(0)
    arrays = {}
    for i, (shape, size) in enumerate(CASES):
        x = torch.rand(shape, generator=gen, dtype=torch.float32)
        y = TF.resize(x, list(size), interpolation=InterpolationMode.BILINEAR, antialias=False)
        # torchvision's resize is interpolate(bilinear, align_corners=False) here.
        z = torch.nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False)
        assert torch.equal(y, z)
        arrays["input_%d" % i] = x.numpy()
        arrays["output_%d" % i] = y.numpy()
    np.savez(out, **arrays)
    print("wrote %s (%d cases, torch %s, torchvision %s)" % (
        out, len(CASES), torch.__version__, __import__("torchvision").__version__))


if __name__ == "__main__":
    main()
