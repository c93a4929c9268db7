#!/usr/bin/python3
# attack and analyze through the CLI, checked with numpy: JSON keys and their
# meaning (accuracies recomputed from ADV.npz, perturbation norms from the
# images), ADV.npz members, the analyze folder (metrics.json without NaN,
# metrics.csv, report.md, session), "bring your own" activations, exit codes.
# Usage: check-attack-cli.py SOMSCOPE-CLI.  Prints TAP.
# SPDX-License-Identifier: GPL-3.0-or-later
import gzip, json, math, os, subprocess, sys, tempfile
import numpy as np

cli = sys.argv[1]
root = os.environ.get('SOMSCOPE_SOURCE_DIR', '.')
model = os.path.join(root, 'data', 'models', 'fashion-resnet.onnx')
data = '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz'
tmp = tempfile.mkdtemp(prefix='somscope-attack-cli-')
results = []


def ok(cond, name):
    results.append((bool(cond), name))


def run(*args):
    return subprocess.run([cli] + [str(a) for a in args], capture_output=True, text=True)


def load_json(text):
    try:
        return json.loads(text)
    except ValueError:
        return {}


with gzip.open(data) as f:
    pixels = np.frombuffer(f.read(), np.uint8)[16:16 + 96 * 784].reshape(96, 1, 28, 28).astype(np.float32) / 255
with gzip.open(data.replace('images-idx3', 'labels-idx1')) as f:
    labels = np.frombuffer(f.read(), np.uint8)[8:8 + 96].astype(np.int32)

# attack: FGSM with a sweep, ADV.npz
adv = os.path.join(tmp, 'adv.npz')
r = run('attack', model, data, '--method', 'fgsm', '--eps-sweep', '0.05,0.1', '--limit', 96, '--out', adv,
        '--json', '--quiet')
j = load_json(r.stdout)
ok(r.returncode == 0 and j, 'attack exits 0 with one JSON object: ' + r.stderr.strip()[-200:])
need = {'clean_accuracy', 'adversarial_accuracy', 'count', 'attack_success_rate', 'mean_linf', 'mean_l2',
        'seconds', 'sweep'}
ok(need <= set(j), 'attack --json keys: missing %s' % sorted(need - set(j)))
z = np.load(adv)
members = {'images', 'labels', 'clean_predictions', 'adversarial_predictions', 'meta.json'}
ok(members <= set(z.files), 'ADV.npz members: %s' % sorted(z.files))
img = z['images']
ok(img.shape == (96, 1, 28, 28) and img.dtype == np.float32 and img.min() >= 0 and img.max() <= 1,
   'images are N×C×H×W float32 in [0,1]')
d = (img - pixels).reshape(96, -1)
ok(abs(np.abs(d).max(1).mean() - j.get('mean_linf', -1)) < 1e-5, 'mean_linf is the mean per-input L∞ norm')
ok(abs(np.sqrt((d.astype(np.float64) ** 2).sum(1)).mean() - j.get('mean_l2', -1)) < 1e-4,
   'mean_l2 is the mean per-input L2 norm')
ok(np.abs(d).max() <= 0.1 + 1e-6, 'the largest ε of the sweep bounds the perturbation')
cp, ap = z['clean_predictions'], z['adversarial_predictions']
ok(np.array_equal(z['labels'], labels), 'labels are the ground truth')
ok(abs((cp == labels).mean() - j.get('clean_accuracy', -1)) < 1e-12, 'clean_accuracy from the predictions')
ok(abs((ap == labels).mean() - j.get('adversarial_accuracy', -1)) < 1e-12,
   'adversarial_accuracy from the predictions')
right = cp == labels
ok(abs((ap[right] != labels[right]).mean() - j.get('attack_success_rate', -1)) < 1e-12,
   'attack_success_rate: of the inputs right when clean, the fraction made wrong')
sw = j.get('sweep', [])
ok(len(sw) == 2 and sw[0]['eps'] == 0.05 and sw[1]['adversarial_accuracy'] == j.get('adversarial_accuracy'),
   'sweep: one entry per ε, ascending, the last is the top level')
meta = json.loads(z['meta.json'])
ok(meta.get('attack', {}).get('method') == 'fgsm' and 'provenance' in meta, 'meta.json records the attack')
r = run('eval', model, adv, '--json')
ok(r.returncode == 0 and abs(load_json(r.stdout).get('accuracy', -1) - j.get('adversarial_accuracy', -2)) < 1e-12,
   'eval on ADV.npz gives the adversarial accuracy')

# bad attack input
for args, code, name in ((('--method', 'fgsm', '--eps', '-0.1'), 2, 'ε < 0'),
                         (('--method', 'pgd', '--eps', '0.1', '--steps', '0'), 2, 'steps 0'),
                         (('--method', 'fgsm', '--eps', '0.1', '--targeted', '10'), 1, 'target class out of range'),
                         (('--method', 'bim', '--eps', '0.1'), 2, 'unknown method'),
                         (('--eps', '0.1',), 2, 'no method')):
    r = run('attack', model, data, *args, '--limit', 4, '--quiet')
    ok(r.returncode == code and r.stderr.strip(), 'attack with %s exits %d: %s' % (name, code, r.stderr.strip()[:160]))
nograd = os.path.join(root, 'tests', 'data', 'attacks', 'argmax-output.onnx')
r = run('attack', nograd, data, '--method', 'fgsm', '--eps', '0.1', '--limit', 4, '--quiet')
ok(r.returncode == 1 and 'differentiable' in r.stderr, 'no differentiable path: ' + r.stderr.strip())

# PGD targeted: the target class wins on most inputs
r = run('attack', model, data, '--method', 'pgd', '--eps', '0.3', '--steps', 10, '--targeted', 3,
        '--limit', 16, '--json', '--quiet', '--random-start', '--seed', 2)
j = load_json(r.stdout)
ok(r.returncode == 0 and j.get('attack_success_rate', 0) > 0.5, 'targeted PGD reaches the target: %s' %
   j.get('attack_success_rate'))


def no_nan(text):
    return 'NaN' not in text and 'Infinity' not in text


# analyze on a small slice
out = os.path.join(tmp, 'an')
r = run('analyze', model, data, '--out', out, '--limit', 300, '--rows', 6, '--cols', 6, '--epochs', 3,
        '--seeds', 2, '--json', '--quiet', '--no-figures')
j = load_json(r.stdout)
ok(r.returncode == 0 and j.get('layers', 0) > 2, 'analyze exits 0: ' + r.stderr.strip()[-300:])
mtext = open(os.path.join(out, 'metrics.json')).read() if os.path.exists(os.path.join(out, 'metrics.json')) else ''
ok(no_nan(mtext), 'metrics.json has no NaN')
m = load_json(mtext)
ok(m.get('format') == 'somscope-metrics' and m.get('version') == 1, 'metrics.json format and version')
layers = m.get('layers', [])
ok(layers and all({'index', 'name', 'op', 'shape', 'dim', 'depth', 'clean', 'adversarial', 'trajectory'}
                  <= set(l) for l in layers), 'every layer has its keys')
clean_keys = {'occupied_units', 'occupied_fraction', 'occupied_units_per_class', 'hit_entropy',
              'hit_entropy_normalized', 'class_spread', 'mutual_information', 'unit_purity',
              'majority_unit_accuracy_train', 'majority_unit_accuracy_test', 'codebook_cosine_distance_mean',
              'codebook_cosine_distance_median', 'pca_components_90', 'pca_components_95',
              'participation_ratio', 'quantization_error', 'topographic_error', 'qe_per_epoch', 'te_per_epoch'}
ok(layers and clean_keys <= set(layers[0]['clean']), 'clean metrics: missing %s' %
   sorted(clean_keys - set(layers[0]['clean']) if layers else clean_keys))
ok(layers and 'hit_entropy_std' in layers[0]['clean'], '_std twins with 2 seeds')
ok(all(0 <= l['clean']['hit_entropy_normalized'] <= 1 for l in layers), 'normalized entropy in [0,1]')
ok(all(l['clean']['occupied_units'] <= 36 for l in layers), 'occupied units ≤ R·C')
ok(all(l['depth'] == i for i, l in enumerate(layers)), 'depth is the position')
t = m.get('trends', {})
ok('clean_hit_entropy_normalized' in t and {'spearman_rho', 'rho_per_seed', 'spread'} <= set(
    t['clean_hit_entropy_normalized']) and len(t['clean_hit_entropy_normalized']['rho_per_seed']) == 2,
   'trends per metric with ρ per seed')
h = m.get('divergence_layer', {}).get('histogram', [])
ok(len(h) == len(layers) + 1 and abs(sum(h) - m.get('held_out_count', -1)) < 1e-9,
   'divergence histogram: one count per layer plus none, summing to the held-out inputs')
pc = m.get('class_homogeneity_vs_attack_success', {}).get('per_class', [])
ok(len(pc) == 10, 'class homogeneity vs attack success per class')
csv = open(os.path.join(out, 'metrics.csv')).read().splitlines() if os.path.exists(os.path.join(out, 'metrics.csv')) else []
ok(len(csv) == len(layers) + 1 and csv[0].startswith('index,name,op,depth,dim,clean_'), 'metrics.csv: header + a row per layer')
rep = open(os.path.join(out, 'report.md')).read() if os.path.exists(os.path.join(out, 'report.md')) else ''
ok('Spearman ρ' in rep, 'report.md states the trends')
s = np.load(os.path.join(out, 'session.somscope'))
man = json.loads(s['manifest.json'])
l0 = 'layer_%03d' % layers[0]['index'] if layers else 'x'
ok(s['labels'].shape == (300,) and s[l0 + '/bmus'].shape == (300,) and s[l0 + '/bmus_adversarial'].shape == (300,),
   'session: labels and BMUs of every input')
sp = s['split']
ok(sp.sum() == m.get('held_out_count'), 'session split matches the held-out count (seed 0)')
ok(len(man.get('layers', [])) == len(layers), 'session has every layer')

r = run('analyze', model, data, '--out', os.path.join(tmp, 'bad'), '--layers', 'no_such_layer', '--limit', 50)
ok(r.returncode == 1 and 'no_such_layer' in r.stderr, 'nonexistent layer: ' + r.stderr.strip()[:200])
r = run('analyze', model, data, '--limit', 50)
ok(r.returncode == 2, 'analyze without --out is a usage error')

# --train: the maps train on another set, all of DATASET is held out
out3 = os.path.join(tmp, 'train-split')
r = run('analyze', model, data, '--train', data.replace('t10k', 'train'), '--limit', 120, '--out', out3, '--rows', 4,
        '--cols', 4, '--epochs', 2, '--seeds', 1, '--attack', 'none', '--quiet', '--no-figures')
m3 = load_json(open(os.path.join(out3, 'metrics.json')).read()) if r.returncode == 0 else {}
ok(m3.get('held_out_count') == 120 and m3.get('settings', {}).get('split') == 'train dataset'
   and 'adversarial' not in m3.get('layers', [{}])[0], '--train holds out all of DATASET; --attack none: ' +
   r.stderr.strip()[-200:])

# bring your own activations (numpy-written), with adversarial layers
rng = np.random.default_rng(0)
yb = np.repeat(np.arange(3), 40).astype(np.int32)
a1 = (rng.normal(size=(120, 5)) + yb[:, None]).astype(np.float32)
a2 = (rng.normal(size=(120, 4, 3, 3)) + 2 * yb[:, None, None, None]).astype(np.float32)
byo = os.path.join(tmp, 'byo.npz')
np.savez(byo, labels=yb, a1=a1, a2=a2, **{'adversarial/a1': a1 + 0.5, 'adversarial/a2': a2 + 0.5})
out2 = os.path.join(tmp, 'byo-out')
r = run('analyze', '--activations', byo, '--out', out2, '--rows', 4, '--cols', 4, '--epochs', 2, '--seeds', 1,
        '--json', '--quiet', '--no-figures')
m2 = load_json(open(os.path.join(out2, 'metrics.json')).read()) if r.returncode == 0 else {}
ok(r.returncode == 0 and len(m2.get('layers', [])) == 2 and 'trajectory' in m2['layers'][0],
   'analyze --activations with adversarial layers: ' + r.stderr.strip()[-200:])
ok(m2.get('layers') and m2['layers'][1]['dim'] == 4, 'N×C×H×W activations become channel means')

print('1..%d' % len(results))
for i, (good, name) in enumerate(results, 1):
    print('%s %d %s' % ('ok' if good else 'not ok', i, name.replace('\n', ' ')))
