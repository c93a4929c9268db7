#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The PyTorch side of tools/bench-datasets: the same three pipelines on
Fashion-MNIST's training images, batches of 64, one process, threads as given.

  /usr/bin/python3 tools/bench-datasets-torch.py [IMAGES.gz] [--threads N]
"""
import gzip
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF
from torchvision.transforms import InterpolationMode

args = [a for a in sys.argv[1:] if not a.startswith("--")]
path = args[0] if args else "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 2
torch.set_num_threads(threads)

t = time.perf_counter()
with gzip.open(path, "rb") as f:
    raw = f.read()
n, rows, cols = (int.from_bytes(raw[i:i + 4], "big") for i in (4, 8, 12))
u8 = torch.from_numpy(np.frombuffer(raw, np.uint8, offset=16).reshape(n, 1, rows, cols).copy())
s = time.perf_counter() - t
print("open %s: %d images in %.3f s (%.0f images/s)" % (path, n, s, n / s))


def bench(name, fn):
    t = time.perf_counter()
    check = 0.0
    for i in range(0, n, 64):
        b = fn(u8[i:i + 64].float().div(255))
        check += float(b.reshape(-1)[b.numel() // 2])
    s = time.perf_counter() - t
    print("%-38s %8.0f images/s" % (name + ":", n / s))


bench("pixels 1x28x28 ([0,1])", lambda x: x)
bench("grey->3, pad 2, mean/std -> 3x32x32", lambda x: (F.pad(x.expand(-1, 3, -1, -1), (2, 2, 2, 2)) - 0.286) / 0.353)
bench("grey->3, bilinear resize -> 3x32x32",
      lambda x: TF.resize(x.expand(-1, 3, -1, -1), [32, 32], InterpolationMode.BILINEAR, antialias=False))
