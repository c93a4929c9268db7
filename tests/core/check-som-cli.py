#!/usr/bin/python3
# train-som and convert through the CLI, checked with numpy as the independent
# reference: members and meta.json of SOM.npz, BMUs/QE/TE/U-matrix recomputed
# from the saved codebook, .cod round trip, exit codes and messages.
# Usage: check-som-cli.py SOMSCOPE-CLI.  Prints TAP.
import json, math, os, subprocess, sys, tempfile
import numpy as np

cli = sys.argv[1]
tmp = tempfile.mkdtemp(prefix='somscope-som-cli-')
results = []


def ok(cond, name):
    results.append((bool(cond), name))


def run(*args):
    return subprocess.run([cli] + [str(a) for a in args], capture_output=True, text=True)


def positions(rows, cols, topology):
    r, c = np.divmod(np.arange(rows * cols), cols)
    if topology == 'hex':
        return np.stack([c + 0.5 * (r % 2), r * math.sqrt(3) / 2], 1)
    return np.stack([c, r], 1).astype(float)


def neighbours(rows, cols, topology):
    p = positions(rows, cols, topology)
    d = np.sqrt(((p[:, None, :] - p[None, :, :]) ** 2).sum(-1))
    return (d <= 1 + 1e-9) & (d > 0)


rng = np.random.default_rng(1)
x = rng.random((400, 3), dtype=np.float32)
y = (x[:, 0] * 4).astype(np.int32)
np.save(os.path.join(tmp, 'x.npy'), x)
np.save(os.path.join(tmp, 'y.npy'), y)
som = os.path.join(tmp, 'som.npz')

r = run('train-som', os.path.join(tmp, 'x.npy'), '--labels', os.path.join(tmp, 'y.npy'), '--rows', 6,
        '--cols', 7, '--epochs', 6, '--out', som, '--json', '--threads', 1, '--seed', 5)
ok(r.returncode == 0 and 'CRITICAL' not in r.stderr and 'WARNING' not in r.stderr,
   'train-som exits 0, no warnings: ' + r.stderr.strip()[-200:])
try:
    j = json.loads(r.stdout)
except ValueError:
    j = {}
keys = {'seconds_per_epoch', 'quantization_error', 'topographic_error', 'qe_per_epoch', 'te_per_epoch',
        'epochs', 'rows', 'cols', 'count', 'dim', 'threads'}
ok(set(j) == keys, '--json has exactly the contract keys: %s' % sorted(j))
ok(j.get('rows') == 6 and j.get('cols') == 7 and j.get('count') == 400 and j.get('dim') == 3
   and j.get('epochs') == 6 and j.get('threads') == 1, '--json sizes')
ok(len(j.get('qe_per_epoch', [])) == 6 and 0 <= j.get('topographic_error', -1) <= 1, '--json per-epoch lists')

z = np.load(som)
meta = json.loads(z['meta.json'])
ok({'codebook', 'bmus', 'bmus2', 'hits', 'umatrix', 'labels', 'class_hits', 'meta.json'} <= set(z.files),
   'SOM.npz members: %s' % z.files)
w = z['codebook']
ok(w.shape == (6, 7, 3) and w.dtype == np.float32, 'codebook is R×C×D float32')
ok(z['bmus'].dtype == np.int32 and z['bmus'].shape == (400,) and z['bmus2'].shape == (400,), 'bmus int32 N')
ok(z['hits'].shape == (6, 7) and z['hits'].sum() == 400, 'hits R×C sum to N')
ok(z['class_hits'].shape == (4, 6, 7) and (z['class_hits'].sum(0) == z['hits']).all(), 'class_hits K×R×C')
meta_keys = {'format', 'version', 'rows', 'cols', 'topology', 'toroidal', 'dim', 'epochs', 'mode', 'init',
             'neighborhood', 'radius0', 'radius1', 'cooling', 'alpha0', 'distance', 'standardize', 'seed',
             'threads', 'quantization_error', 'topographic_error', 'class_names', 'provenance'}
ok(meta_keys <= set(meta), 'meta.json keys (missing %s)' % (meta_keys - set(meta)))
ok(meta['format'] == 'somscope-som' and meta['version'] == 1 and meta['topology'] == 'hex'
   and meta['radius0'] == 3.5 and meta['seed'] == 5 and meta['class_names'] == ['0', '1', '2', '3'],
   'meta.json values')
ok('train-som' in meta['provenance'].get('command_line', '') and '--seed' in meta['provenance']['command_line'],
   'provenance has the command line')

# Independent recomputation from the saved codebook.
flat = w.reshape(-1, 3).astype(np.float64)
d = np.sqrt(((x[:, None, :].astype(np.float64) - flat[None]) ** 2).sum(-1))
order = np.argsort(d, 1)
best = d[np.arange(400), z['bmus']]
ok(np.allclose(best, d.min(1), atol=1e-6), 'numpy agrees on every BMU')
ok(np.allclose(d[np.arange(400), z['bmus2']], np.sort(d, 1)[:, 1], atol=1e-6), 'numpy agrees on second BMUs')
ok(abs(d.min(1).mean() - meta['quantization_error']) < 1e-5, 'QE = mean Euclidean distance to the BMU')
nb = neighbours(6, 7, 'hex')
te = 1 - nb[z['bmus'], z['bmus2']].mean()
ok(abs(te - meta['topographic_error']) < 1e-9, 'TE recomputed with hex neighbours (%g vs %g)' % (te, meta['topographic_error']))
u = np.array([np.linalg.norm(flat[nb[k]] - flat[k], axis=1).mean() for k in range(42)]).reshape(6, 7)
ok(np.allclose(u, z['umatrix'], atol=1e-5), 'U-matrix recomputed')

# .cod round trip through convert.
cod = os.path.join(tmp, 'som.cod')
back = os.path.join(tmp, 'back.npz')
r1 = run('convert', som, cod)
r2 = run('convert', cod, back)
ok(r1.returncode == 0 and r2.returncode == 0, 'convert npz → cod → npz')
with open(cod) as f:
    lines = f.read().splitlines()
ok(lines[0] == '3 hexa 7 6 gaussian', '.cod header: %r' % lines[0])
data = [l for l in lines[1:] if not l.startswith('#')]
ok(len(data) == 42 and np.array_equal(np.array([[float(v) for v in l.split()] for l in data], np.float32),
                                      flat.astype(np.float32)), '.cod values, c fastest, exact')
zb = np.load(back)
ok(np.array_equal(zb['codebook'], w), 'codebook survives the round trip bit for bit')
mb = json.loads(zb['meta.json'])
ok(all(mb[k] == meta[k] for k in ('rows', 'cols', 'topology', 'toroidal', 'epochs', 'radius0', 'seed',
                                   'class_names', 'quantization_error')), 'settings survive the round trip')

# Options: toroidal rect, online, random init, standardize, 4-D input, projections.
act = rng.standard_normal((300, 5, 2, 2)).astype(np.float32)
np.savez(os.path.join(tmp, 'act.npz'), layer_003=act, labels=np.arange(300, dtype=np.int32) % 3)
r = run('train-som', os.path.join(tmp, 'act.npz') + ':layer_003', '--rows', 4, '--cols', 4, '--topology', 'rect',
        '--toroidal', '--mode', 'online', '--init', 'random', '--neighborhood', 'epanechnikov', '--cooling',
        'inverse', '--standardize', '--epochs', 3, '--out', os.path.join(tmp, 'b.npz'), '--json')
ok(r.returncode == 0 and json.loads(r.stdout)['dim'] == 5, '4-D input reduced to channel means: ' + r.stderr[-200:])
zb = np.load(os.path.join(tmp, 'b.npz'))
mb = json.loads(zb['meta.json'])
ok(mb['toroidal'] is True and mb['mode'] == 'online' and mb['standardize'] is True
   and zb['feature_mean'].shape == (5,) and 'labels' in zb.files, 'flags recorded; labels taken from the npz')
r = run('train-som', os.path.join(tmp, 'act.npz') + ':layer_003', '--rows', 3, '--cols', 3, '--codes', 'flatten',
        '--project', 'pca:4', '--out', os.path.join(tmp, 'c.npz'), '--json')
ok(r.returncode == 0 and json.loads(r.stdout)['dim'] == 4, '--codes flatten --project pca:4')
r = run('train-som', os.path.join(tmp, 'act.npz') + ':layer_003', '--rows', 3, '--cols', 3, '--codes', 'flatten',
        '--standardize', '--project', 'random:6', '--out', os.path.join(tmp, 'd.npz'))
r2 = run('convert', os.path.join(tmp, 'd.npz'), os.path.join(tmp, 'd.cod'))
r3 = run('convert', os.path.join(tmp, 'd.cod'), os.path.join(tmp, 'd2.npz'))
zd, zd2 = np.load(os.path.join(tmp, 'd.npz')), np.load(os.path.join(tmp, 'd2.npz'))
ok(r.returncode == 0 and r2.returncode == 0 and r3.returncode == 0 and zd['feature_mean'].shape == (20,)
   and zd['projection'].shape == (20, 6) and np.array_equal(zd['projection'], zd2['projection'])
   and np.array_equal(zd['feature_std'], zd2['feature_std']),
   '--standardize --project random:6 keeps z-scores and projection through .cod: ' + r.stderr[-200:] + r2.stderr + r3.stderr)

# Bad input: exit codes and messages that name the file and the problem.
bad = x.copy()
bad[37, 1] = np.nan
np.save(os.path.join(tmp, 'bad.npy'), bad)
r = run('train-som', os.path.join(tmp, 'bad.npy'), '--rows', 3, '--cols', 3, '--out', os.path.join(tmp, 'o.npz'))
ok(r.returncode == 1 and 'row 37' in r.stderr and 'bad.npy' in r.stderr, 'NaN row refused naming it: ' + r.stderr.strip())
r = run('train-som', os.path.join(tmp, 'bad.npy'), '--rows', 3, '--cols', 3, '--nonfinite', 'skip', '--json',
        '--out', os.path.join(tmp, 'o.npz'))
ok(r.returncode == 0 and json.loads(r.stdout)['count'] == 399 and np.load(os.path.join(tmp, 'o.npz'))['bmus'][37] == -1,
   '--nonfinite skip')
for args, name in (((), 'missing --rows'), (('--rows', 1, '--cols', 1), 'a 1×1 map'),
                   (('--rows', 5000, '--cols', 2), 'a 5000-row map'),
                   (('--rows', 3, '--cols', 3, '--toroidal'), 'a 3-row hex toroid'),
                   (('--rows', 3, '--cols', 3, '--mode', 'fast'), 'an unknown mode')):
    r = run('train-som', os.path.join(tmp, 'x.npy'), *args, '--out', os.path.join(tmp, 'o.npz'))
    ok(r.returncode == 2, 'usage error for %s: %s' % (name, r.stderr.strip()[:100]))
np.save(os.path.join(tmp, 'empty.npy'), np.zeros((0, 3), np.float32))
r = run('train-som', os.path.join(tmp, 'empty.npy'), '--rows', 3, '--cols', 3, '--out', os.path.join(tmp, 'o.npz'))
ok(r.returncode == 1 and 'empty.npy' in r.stderr, 'empty data: ' + r.stderr.strip())
with open(os.path.join(tmp, 'junk.npz'), 'wb') as f:
    f.write(b'PK\x03\x04 not really a zip')
r = run('convert', os.path.join(tmp, 'junk.npz'), os.path.join(tmp, 'o.cod'))
ok(r.returncode == 1 and 'junk.npz' in r.stderr, 'malformed npz: ' + r.stderr.strip())
with open(os.path.join(tmp, 'junk.npy'), 'wb') as f:
    f.write(b'\x93NUMPY\x01\x00\x10\x00{"descr": "<f4", ')
r = run('train-som', os.path.join(tmp, 'junk.npy'), '--rows', 3, '--cols', 3, '--out', os.path.join(tmp, 'o.npz'))
ok(r.returncode == 1 and 'junk.npy' in r.stderr, 'malformed npy: ' + r.stderr.strip())
r = run('train-som', os.path.join(tmp, 'act.npz') + ':nope', '--rows', 3, '--cols', 3, '--out', os.path.join(tmp, 'o.npz'))
ok(r.returncode == 1 and 'nope' in r.stderr, 'missing npz member: ' + r.stderr.strip())
np.save(os.path.join(tmp, 'y9.npy'), np.zeros(9, np.int32))
r = run('train-som', os.path.join(tmp, 'x.npy'), '--labels', os.path.join(tmp, 'y9.npy'), '--rows', 3, '--cols', 3,
        '--out', os.path.join(tmp, 'o.npz'))
ok(r.returncode == 1 and 'y9.npy' in r.stderr and '400' in r.stderr, 'labels of the wrong length: ' + r.stderr.strip())
r = run('train-som', os.path.join(tmp, 'x.npy'), '--rows', 3, '--cols', 3, '--out', os.path.join(tmp, 'o.png'))
ok(r.returncode == 2, 'unknown output extension is a usage error')
with open(os.path.join(tmp, 'junk.cod'), 'w') as f:
    f.write('3 hexa 2 2 gaussian\n1 2 3\n')
r = run('convert', os.path.join(tmp, 'junk.cod'), os.path.join(tmp, 'o.npz'))
ok(r.returncode == 1 and 'junk.cod' in r.stderr, 'truncated .cod: ' + r.stderr.strip())

print('1..%d' % len(results))
for i, (good, name) in enumerate(results, 1):
    print('%s %d %s' % ('ok' if good else 'not ok', i, name.replace('\n', ' ')))
