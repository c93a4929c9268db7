#!/usr/bin/python3
# make-seeds.py SOMSCOPE_CLI: regenerates the hand-made seed
# corpora of tests/fuzz/corpus (small, valid-or-nearly-valid files of every
# format; the fuzzer mutates them).  Needs /usr/bin/python3 with numpy and PIL.
import gzip
import io
import os
import struct
import subprocess
import sys
import tempfile
import zipfile

import numpy as np
from PIL import Image

cli = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
corpus = os.path.join(here, 'corpus')
rng = np.random.default_rng(0)


def out(kind, name, data):
    d = os.path.join(corpus, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def npy(a):
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def npz(compress=False, **arrays):
    b = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(b, **arrays)
    return b.getvalue()


# .npy: every dtype the reader knows, 0-d to 4-d, both header versions.
for i, (dt, shape) in enumerate([('<f4', (3, 4)), ('<f8', (2,)), ('<i4', (2, 2, 2)), ('<i8', ()),
                                 ('|u1', (5,)), ('|i1', (1, 3)), ('|b1', (4,)), ('<u2', (2,)),
                                 ('<i2', (3,)), ('<u4', (1,)), ('<u8', (2,)), ('<f2', (2, 1, 2, 1))]):
    a = (rng.standard_normal(shape) * 10).astype(dt)
    out('npy', 'seed-%02d-%s.npy' % (i, dt.strip('<|')), npy(a))
out('npy', 'fortran.npy', npy(np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3))))
out('npy', 'v2.npy', b'\x93NUMPY\x02\x00' + struct.pack('<I', 56) +
    b"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }".ljust(55) + b'\n' +
    np.arange(2, dtype='<f4').tobytes())

# .npz: plain, deflated, with meta.json and a non-array member; activations layout.
out('npz', 'plain.npz', npz(a=np.arange(6, dtype='<f4').reshape(2, 3), b=np.arange(3, dtype='<i8')))
out('npz', 'deflated.npz', npz(True, x=np.ones((4, 4), '<f4'), y=np.arange(4, dtype='<i4')))
layers = b'[{"member":"layer_001","index":1,"name":"relu","op":"Relu","shape":[null,2,2,2]},' \
         b'{"member":"layer_003","index":3,"name":"fc","op":"Gemm","shape":[null,3]}]'
b = io.BytesIO()
with zipfile.ZipFile(b, 'w') as z:
    z.writestr('layer_001.npy', npy(rng.standard_normal((4, 2, 2, 2)).astype('<f4')))
    z.writestr('layer_003.npy', npy(rng.standard_normal((4, 3)).astype('<f4')))
    z.writestr('labels.npy', npy(np.array([0, 1, 2, 1], '<i8')))
    z.writestr('adversarial/layer_003.npy', npy(rng.standard_normal((4, 3)).astype('<f4')))
    z.writestr('layers.json', layers)
out('npz', 'activations.npz', b.getvalue())
adv = npz(images=rng.random((3, 1, 4, 4)).astype('<f4'), labels=np.array([0, 1, 0], '<i8'),
          adversarial_labels=np.array([1, 1, 0], '<i8'))
out('npz', 'adv.npz', adv)

# IDX: images (raw and gzip), with and without a labels file after "\nLABELS\n".
def idx3(n, h, w):
    return struct.pack('>IIII', 0x803, n, h, w) + rng.integers(0, 256, n * h * w, dtype=np.uint8).tobytes()


def idx1(labels):
    return struct.pack('>II', 0x801, len(labels)) + bytes(labels)


out('idx', 'raw-with-labels', idx3(3, 4, 5) + b'\nLABELS\n' + idx1([0, 9, 3]))
out('idx', 'raw-no-labels', idx3(2, 3, 3))
out('idx', 'gz-with-labels', gzip.compress(idx3(4, 2, 2), mtime=0) + b'\nLABELS\n' + idx1([1, 2, 3, 4]))
out('idx', 'colour', struct.pack('>IIIII', 0x804, 2, 3, 2, 2) + bytes(range(24)))
with gzip.open(os.path.join(root, 'data/fashion-mnist-demo/t10k-images-idx3-ubyte.gz')) as f:
    head = f.read(16 + 28 * 28 * 3)
out('idx', 'fashion-3', struct.pack('>IIII', 0x803, 3, 28, 28) + head[16:] + b'\nLABELS\n' + idx1([9, 2, 1]))

# CIFAR-10: records of 1 + 3072 bytes, a batches.meta.txt after "\nMETA\n".
rec = lambda label: bytes([label]) + rng.integers(0, 256, 3072, dtype=np.uint8).tobytes()
out('cifar', 'two-records', rec(3) + rec(9))
out('cifar', 'with-meta', rec(0) + b'\nMETA\n' + b'\n'.join(b'class%d' % i for i in range(10)) + b'\n')

# Images: PNG in every colour type and depth, JPEG, and other formats the decoder
# sniffs (which must be refused or decoded safely).
for mode in ['L', 'LA', 'RGB', 'RGBA', 'P', '1', 'I']:
    img = Image.fromarray(rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)).convert(mode)
    b = io.BytesIO()
    img.save(b, 'PNG')
    out('image', 'png-%s.png' % mode.replace(';', ''), b.getvalue())
for fmt, name in [('JPEG', 'jpeg.jpg'), ('GIF', 'gif.gif'), ('BMP', 'bmp.bmp'), ('TIFF', 'tiff.tif'),
                  ('ICO', 'ico.ico'), ('PPM', 'ppm.ppm')]:
    img = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8))
    b = io.BytesIO()
    img.save(b, fmt)
    out('image', name, b.getvalue())
b = io.BytesIO()
Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).save(b, 'JPEG', progressive=True)
out('image', 'jpeg-progressive.jpg', b.getvalue())

# Maps: a trained SOM.npz (hex and rect), its .cod, and hand-written .cod files.
with tempfile.TemporaryDirectory() as t:
    x = rng.standard_normal((30, 3)).astype('<f4')
    np.save(os.path.join(t, 'x.npy'), x)
    np.save(os.path.join(t, 'y.npy'), (np.arange(30) % 3).astype('<i4'))
    for topo, tor in [('hex', []), ('rect', ['--toroidal'])]:
        som = os.path.join(t, 'som-%s.npz' % topo)
        subprocess.run([cli, 'train-som', os.path.join(t, 'x.npy'), '--rows=3', '--cols=3', '--epochs=2',
                        '--topology=' + topo, '--labels=' + os.path.join(t, 'y.npy'), '-q', '-o', som] + tor,
                       check=True)
        out('som-npz', 'som-%s.npz' % topo, open(som, 'rb').read())
        cod = os.path.join(t, 'som-%s.cod' % topo)
        subprocess.run([cli, 'convert', som, cod], check=True)
        out('som-cod', 'som-%s.cod' % topo, open(cod, 'rb').read())
out('som-cod', 'hand-rect.cod', b'2 rect 1 2 gaussian\n# comment\n1.0 2.0\n3.0 4.0\n')
out('som-cod', 'hand-hex-labels.cod', b'3 hexa 2 2 bubble\n0 0 0 a\n1 1 1\n2 2 2 b\n3 3 3\n')

# ONNX models and tensors: the small fixtures and a selection of ONNX's own
# backend node tests (one model per operator family, with its input tensors).
fixtures = os.path.join(root, 'tests/data/fixtures')
for f in ['channels-last.onnx', 'bnres.onnx', 'external/model.onnx', 'external/evil.onnx']:
    out('onnx-model', f.replace('/', '-'), open(os.path.join(fixtures, f), 'rb').read())
node = '/usr/share/libonnx-testdata/data/node'
for t in ['test_conv_with_strides_padding', 'test_gemm_default_no_bias', 'test_relu', 'test_maxpool_2d_pads',
          'test_batchnorm_example', 'test_reshape_negative_dim', 'test_flatten_axis1', 'test_add_bcast',
          'test_concat_2d_axis_0', 'test_softmax_axis_1', 'test_averagepool_2d_pads', 'test_globalaveragepool',
          'test_transpose_default', 'test_matmul_3d', 'test_slice', 'test_gather_0', 'test_squeeze',
          'test_unsqueeze_axis_0', 'test_constant_pad', 'test_clip', 'test_sigmoid', 'test_constant', 'test_shape',
          'test_resize_upsample_scales_linear', 'test_reduce_mean_keepdims_example', 'test_cast_FLOAT_to_DOUBLE',
          'test_convtranspose', 'test_split_equal_parts_1d', 'test_where_example', 'test_expand_dim_changed']:
    d = os.path.join(node, t)
    if not os.path.isdir(d):
        print('make-seeds: no %s' % d, file=sys.stderr)
        continue
    out('onnx-model', t[5:] + '.onnx', open(os.path.join(d, 'model.onnx'), 'rb').read())
    ds = os.path.join(d, 'test_data_set_0')
    for f in sorted(os.listdir(ds))[:2]:
        out('onnx-tensor', '%s-%s' % (t[5:], f), open(os.path.join(ds, f), 'rb').read())

# Sessions: written by the core itself (make-session-seed.c against build/).
build = os.path.join(root, 'build')
with tempfile.TemporaryDirectory() as t:
    flags = subprocess.run(['pkg-config', '--cflags', '--libs', 'glib-2.0', 'gio-2.0', 'json-glib-1.0',
                            'cairo', 'pangocairo', 'gdk-pixbuf-2.0', 'openblas', 'lapacke', 'libprotobuf-c',
                            'libzip', 'libpng'], capture_output=True, text=True, check=True).stdout.split()
    exe = os.path.join(t, 'make-session-seed')
    subprocess.run(['cc', '-o', exe, os.path.join(here, 'make-session-seed.c'),
                    '-I' + os.path.join(root, 'src/core'), '-I' + build, '-I' + os.path.join(build, 'src/core'),
                    os.path.join(build, 'src/core/libsomscope.a')] + flags + ['-lm', '-lpthread'], check=True)
    d = os.path.join(corpus, 'session')
    os.makedirs(d, exist_ok=True)
    subprocess.run([exe, d], check=True)
