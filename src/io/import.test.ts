import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsBackend } from '../backends/js/index.js';
import { ModelFormatError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { scalingFor } from '../data/scaling.js';
import { ae, usage } from '../cli/testing.js';
import { importStateDict, type ImportOptions } from './import.js';
import { decodeSafetensors, encodeSafetensors, type TensorInput } from './safetensors.js';
import { loadModel } from './model-file.js';

const backend = new JsBackend();
const CASES = fileURLToPath(new URL('../../test/fixtures/cases/torch-state-dict/', import.meta.url));
const PY = '/usr/bin/python3';
const HELPER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'python', 'aekit_torch.py');
const torchOk = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const NOTEBOOK: ImportOptions = { activation: 'tanh', outputActivation: 'tanh', scaling: scalingFor('symmetric', 0, 255), loss: 'mse' };

function rand(shape: number[], rng: Rng): TensorInput {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  rng.fillUniform(data, -0.1, 0.1);
  return { shape, data };
}

/** A state_dict's bytes from [name, shape] pairs, with random values. */
function stateDict(entries: Array<[string, number[]]>, seed = 1, dtype?: 'F16'): Uint8Array {
  const rng = new Rng(seed);
  return encodeSafetensors(entries.map(([n, s]) => [n, { ...rand(s, rng), ...(dtype ? { dtype } : {}) }] as [string, TensorInput]), {});
}

const imp = (bytes: Uint8Array, o: Partial<ImportOptions> = {}) => importStateDict(decodeSafetensors(bytes, 'sd'), backend, { ...NOTEBOOK, ...o }, 'sd');

const NOTEBOOK_NAMES: Array<[string, number[]]> = [['encoder.0.weight', [30, 784]], ['encoder.0.bias', [30]], ['decoder.0.weight', [784, 30]], ['decoder.0.bias', [784]]];

test('import: the notebook\'s names, a flat nn.Sequential\'s, and wrapper prefixes give the same model', () => {
  const a = imp(stateDict(NOTEBOOK_NAMES));
  const flat = imp(stateDict(NOTEBOOK_NAMES.map(([n, s]) => [n.replace('encoder.0', '0').replace('decoder.0', '2'), s])));
  const ddp = imp(stateDict(NOTEBOOK_NAMES.map(([n, s]) => [`module._orig_mod.${n}`, s])));
  for (const m of [a, flat, ddp]) {
    assert.deepEqual(m.config.architecture, { layers: [784, 30], activation: 'tanh', outputActivation: 'tanh', tied: false });
    assert.deepEqual(m.model.encoder[0]!.weight.value, a.model.encoder[0]!.weight.value);
    assert.deepEqual(m.model.decoder[0]!.bias.value, a.model.decoder[0]!.bias.value);
  }
});

test('import: a deeper flat Sequential splits in half; sizes must mirror', () => {
  const m = imp(stateDict([['0.weight', [64, 100]], ['0.bias', [64]], ['2.weight', [8, 64]], ['2.bias', [8]], ['4.weight', [64, 8]], ['4.bias', [64]], ['6.weight', [100, 64]], ['6.bias', [100]]]));
  assert.deepEqual(m.config.architecture.layers, [100, 64, 8]);
  assert.throws(() => imp(stateDict([['0.weight', [64, 100]], ['0.bias', [64]], ['2.weight', [8, 64]], ['2.bias', [8]], ['4.weight', [50, 8]], ['4.bias', [50]], ['6.weight', [100, 50]], ['6.bias', [100]]])), /sd: shape of 4\.weight: expected \[64, 8\] \(the decoder mirrors the encoder's 100→64→8\), received "?\[50, 8\]"?/);
});

test('import: a decoder without weights is tied to the encoder; --tied checks weights that are present', () => {
  const t = imp(stateDict([['encoder.0.weight', [30, 784]], ['encoder.0.bias', [30]], ['decoder.0.bias', [784]]]));
  assert.equal(t.config.architecture.tied, true);
  assert.ok(t.model.decoder[0]!.transposed);
  assert.throws(() => imp(stateDict(NOTEBOOK_NAMES), { tied: true }), /decoder\.0\.weight of a tied model: expected the transpose of encoder\.0\.weight/);
});

test('import: other layers, missing and extra tensors are refused in one line naming the tensor', () => {
  const bad: Array<[Array<[string, number[]]>, RegExp]> = [
    [[['encoder.0.weight', [30, 1, 28, 28]], ['encoder.0.bias', [30]], ['decoder.0.weight', [784, 30]], ['decoder.0.bias', [784]]], /shape of encoder\.0\.weight: .*received "?\[30, 1, 28, 28\] \(a 2-D convolution's weight\)"?/],
    [[...NOTEBOOK_NAMES, ['encoder.1.running_mean', [30]]], /tensor "encoder\.1\.running_mean": .*received "?a batch-norm buffer/],
    [[...NOTEBOOK_NAMES, ['encoder.0.scale', [30]]], /tensor "encoder\.0\.scale": expected a name like/],
    [NOTEBOOK_NAMES.filter(([n]) => n !== 'encoder.0.bias'), /tensor "encoder\.0\.bias": expected present beside encoder\.0\.weight/],
    [NOTEBOOK_NAMES.filter(([n]) => n !== 'encoder.0.weight'), /tensor "encoder\.0\.weight": expected present/],
    [[...NOTEBOOK_NAMES, ['decoder.2.weight', [784, 784]], ['decoder.2.bias', [784]]], /decoder layers: expected 1 \(mirroring the encoder's\), received 2/],
    [[['0.weight', [30, 784]], ['0.bias', [30]], ['2.weight', [784, 30]], ['2.bias', [784]], ['4.weight', [784, 784]], ['4.bias', [784]]], /Linear layers: expected an even number/],
    [[['encoder.0.weight', [30, 784]], ['encoder.0.bias', [31]], ['decoder.0.weight', [784, 30]], ['decoder.0.bias', [784]]], /shape of encoder\.0\.bias: expected \[30\]/],
    [[['encoder.0.weight', [30, 784]], ['encoder.0.bias', [30]], ['2.weight', [784, 30]], ['2.bias', [784]]], /tensor names: expected one style/],
  ];
  for (const [entries, pattern] of bad) {
    assert.throws(() => imp(stateDict(entries)), (e: unknown) => e instanceof ModelFormatError && !e.message.includes('\n') && pattern.test(e.message), `${entries.map(([n]) => n).join(',')} should match ${pattern}`);
  }
  const nan = stateDict(NOTEBOOK_NAMES);
  const file = decodeSafetensors(nan, 'sd');
  file.tensors.get('decoder.0.bias')!.data[3] = NaN;
  assert.throws(() => importStateDict(file, backend, NOTEBOOK, 'sd'), /values of decoder\.0\.bias: expected finite numbers/);
});

/** A BF16 safetensors file written by hand (aekit writes none): each value's upper 16 bits. */
function bf16StateDict(entries: Array<[string, number[]]>, seed: number): { bytes: Uint8Array; values: Map<string, Float32Array> } {
  const rng = new Rng(seed);
  const header: Record<string, unknown> = {};
  const blobs: Uint8Array[] = [];
  const values = new Map<string, Float32Array>();
  let offset = 0;
  for (const [name, shape] of entries) {
    const f = rand(shape, rng).data;
    const u16 = new Uint16Array(f.length);
    const bits = new Uint32Array(f.buffer);
    for (let i = 0; i < f.length; i++) u16[i] = bits[i]! >>> 16;
    const widened = new Float32Array(new Uint32Array(Array.from(u16, (h) => h << 16)).buffer);
    values.set(name, widened);
    header[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + u16.byteLength] };
    blobs.push(new Uint8Array(u16.buffer));
    offset += u16.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return { bytes: Buffer.concat([len, json, ...blobs]), values };
}

test('import: F16 and BF16 weights are read as float32', () => {
  const f16 = stateDict(NOTEBOOK_NAMES, 2, 'F16');
  assert.match(Buffer.from(f16).toString('latin1', 8, 200), /"F16"/);
  const a = imp(f16);
  assert.equal(a.model.encoder[0]!.weight.value.length, 30 * 784);
  const { bytes, values } = bf16StateDict(NOTEBOOK_NAMES, 3);
  const b = imp(bytes);
  assert.deepEqual(b.model.encoder[0]!.weight.value, values.get('encoder.0.weight'));
  assert.deepEqual(b.model.decoder[0]!.bias.value, values.get('decoder.0.bias'));
});

test('ae import: both case files import with the notebook\'s defaults, and ae eval gives PyTorch\'s test MSE within 1e-5', { skip: torchOk ? false : 'no /usr/bin/python3 with torch' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-import-'));
  try {
    for (const name of ['notebook-nometa', 'sequential-nometa']) {
      const input = join(CASES, `${name}.safetensors`);
      // Before the import: ae names the route, and the Python helper says the same in one line.
      usage(['eval', '--model', input], /expected aekit metadata .*received a plain state_dict; import it with: ae import --in /);
      const py = spawnSync(PY, [HELPER, 'eval', '--model', input], { encoding: 'utf8' });
      assert.equal(py.status, 2, py.stderr);
      assert.equal(py.stderr.trimEnd().split('\n').length, 1, py.stderr);
      const out = join(dir, `${name}.safetensors`);
      const r = ae('import', '--in', input, '--out', out);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /784→30→784, tanh then tanh, symmetric scaling of 0\.\.255, mse, trained on mnist/);
      const ours = ae('eval', '--model', out, '--json');
      assert.equal(ours.code, 0, ours.stderr);
      const theirs = spawnSync(PY, [HELPER, 'eval', '--model', input, '--layers', '784,30'], { encoding: 'utf8' });
      assert.equal(theirs.status, 0, theirs.stderr);
      const a = JSON.parse(ours.stdout).mse as number;
      const b = JSON.parse(theirs.stdout).mse as number;
      assert.ok(Math.abs(a - b) <= 1e-5, `ae ${a} vs PyTorch ${b}`);
      // And the imported file loads back into PyTorch as any aekit model does.
      const back = spawnSync(PY, [HELPER, 'eval', '--model', out], { encoding: 'utf8' });
      assert.equal(back.status, 0, back.stderr);
      assert.ok(Math.abs((JSON.parse(back.stdout).mse as number) - b) <= 1e-7);
      assert.equal(loadModel(out, backend).config.training.imported !== undefined, true);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ae import refuses pickles unread, bad flags and an existing --out, exit 2 in one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-import-bad-'));
  try {
    const zip = join(dir, 'model.pt');
    writeFileSync(zip, Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0]));
    usage(['import', '--in', zip, '--out', join(dir, 'm.safetensors')], /--in: expected a state_dict saved as safetensors, received a PyTorch pickle .*save_file\(model\.state_dict\(\)/);
    const legacy = join(dir, 'weights');
    writeFileSync(legacy, Buffer.from([0x80, 0x02, 0x8a, 0x0a]));
    usage(['import', '--in', legacy, '--out', join(dir, 'm.safetensors')], /PyTorch pickle/);
    const input = join(CASES, 'notebook-nometa.safetensors');
    usage(['import', '--in', input, '--out', join(dir, 'm.safetensors'), '--activation', 'gelu'], /--activation: expected one of/);
    usage(['import', '--in', input, '--out', join(dir, 'm.safetensors'), '--range', '255,0'], /--range: expected two numbers min,max with min < max, received "255,0"/);
    usage(['import', '--in', input, '--out', join(dir, 'm.safetensors'), '--tied', '--untied'], /expected at most one/);
    const keep = join(dir, 'keep.safetensors');
    writeFileSync(keep, 'mine');
    usage(['import', '--in', input, '--out', keep], /--out: expected a path that does not exist yet/);
    assert.equal(readFileSync(keep, 'utf8'), 'mine');
    usage(['import', '--in', join(dir, 'm.safetensors'), '--out', join(dir, 'n.safetensors')], /m\.safetensors/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
