import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsBackend } from '../backends/js/index.js';
import { ModelFormatError, ValidationError } from '../core/errors.js';
import { matrix, type Matrix } from '../core/matrix.js';
import { Rng } from '../core/rng.js';
import { Autoencoder, type ArchitectureConfig } from '../nn/autoencoder.js';
import { MODEL_FORMAT, decodeModel, encodeModel, loadModel, saveModel, type ModelConfig } from './model-file.js';
import { decodeSafetensors, encodeSafetensors, type TensorInput } from './safetensors.js';
import { MAX_JSON_STRUCTURES, structuresIn } from './json-scan.js';
import { spawnSync } from 'node:child_process';

const backend = new JsBackend();
type Meta = Omit<ModelConfig, 'format' | 'architecture'>;

const META: Meta = {
  scaling: { kind: 'symmetric', min: 0, max: 255 },
  loss: 'mse',
  training: { epochs: 3, optimizer: { name: 'adam', lr: 0.001 }, seed: 7, data: 'mnist', noise: null, tags: ['a', 'b'] },
};

const UNTIED_784: ArchitectureConfig = { layers: [784, 30], activation: 'tanh', outputActivation: 'tanh', tied: false };
const DEEP: ArchitectureConfig = { layers: [20, 8, 3], activation: 'relu', outputActivation: 'sigmoid', tied: false };
const TIED: ArchitectureConfig = { layers: [12, 5, 3], activation: 'tanh', outputActivation: 'linear', tied: true };
const SMALL: ArchitectureConfig = { layers: [6, 4, 3], activation: 'tanh', outputActivation: 'tanh', tied: false };

function makeModel(arch: ArchitectureConfig, seed: number): Autoencoder {
  return new Autoencoder(arch, backend, new Rng(seed));
}

function input(rows: number, cols: number, seed: number): Matrix {
  const m = matrix(rows, cols);
  new Rng(seed).fillUniform(m.data, -1, 1);
  return m;
}

/** Bitwise equality of two float32 arrays (distinguishes -0 from 0, compares NaN payloads). */
function assertBitIdentical(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) assert.fail(`${what}[${i}]: bits ${ua[i]!.toString(16)} != ${ub[i]!.toString(16)} (${a[i]} vs ${b[i]})`);
  }
}

function transposed(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j]!;
  return out;
}

/** The state_dict names and shapes of the notebook's nn.Sequential encoder/decoder for `layers`. */
function expectedStateDict(layers: number[]): Array<[string, number[]]> {
  const depth = layers.length - 1;
  const out: Array<[string, number[]]> = [];
  for (let i = 0; i < depth; i++) {
    out.push([`encoder.${2 * i}.weight`, [layers[i + 1]!, layers[i]!]]);
    out.push([`encoder.${2 * i}.bias`, [layers[i + 1]!]]);
  }
  for (let i = 0; i < depth; i++) {
    out.push([`decoder.${2 * i}.weight`, [layers[depth - i - 1]!, layers[depth - i]!]]);
    out.push([`decoder.${2 * i}.bias`, [layers[depth - i - 1]!]]);
  }
  return out;
}

const LINE_BREAK = /[\r\n\u2028\u2029]/;

/** Asserts `fn` throws a one-line ModelFormatError that starts with `source` and matches every pattern. */
function assertModelFormatError(fn: () => unknown, source: string, ...patterns: RegExp[]): ModelFormatError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  if (caught === undefined) assert.fail(`expected a ModelFormatError naming ${source}, but nothing was thrown`);
  if (!(caught instanceof ModelFormatError)) {
    assert.fail(`expected a ModelFormatError, got ${(caught as Error)?.constructor?.name}: ${(caught as Error)?.message}`);
  }
  const msg = caught.message;
  assert.ok(msg.startsWith(`${source}: `), `message should start with the source: ${JSON.stringify(msg)}`);
  assert.doesNotMatch(msg, LINE_BREAK, `message should be one line: ${JSON.stringify(msg)}`);
  for (const p of patterns) assert.match(msg, p);
  return caught;
}

// ---------------------------------------------------------------------------------------------
// 1. Round trips

for (const [label, arch, seed] of [
  ['untied [784,30] tanh/tanh', UNTIED_784, 1],
  ['deep [20,8,3] relu/sigmoid', DEEP, 2],
  ['tied [12,5,3] tanh/linear', TIED, 3],
] as const) {
  test(`round trip: ${label} keeps params bit-identical, reconstruct() identical and the config`, () => {
    const model = makeModel(arch, seed);
    // Values a lossy path would change: -0, a subnormal, float32's extremes.
    const first = model.params[0]!.value;
    first[0] = -0;
    first[1] = 1.4e-45;
    first[2] = 3.4028234663852886e38 / 1e30; // large but keeps outputs finite
    first[3] = -1.1754943508222875e-38;
    const meta: Meta = arch === DEEP ? { ...META, loss: 'bce', scaling: { kind: 'unit', min: -3.5, max: 12.25 } } : META;

    const bytes = encodeModel(model, meta);
    const { model: loaded, config } = decodeModel(bytes, backend, 'roundtrip.safetensors');

    assert.deepEqual(config, { format: MODEL_FORMAT, architecture: arch, ...meta });
    assert.deepEqual(loaded.config, arch);
    assert.equal(loaded.params.length, model.params.length);
    model.params.forEach((p, i) => {
      assert.equal(loaded.params[i]!.name, p.name);
      assertBitIdentical(loaded.params[i]!.value, p.value, p.name);
    });
    assert.ok(Object.is(loaded.params[0]!.value[0], -0), '-0 survives');

    const x = input(7, arch.layers[0]!, 100 + seed);
    const a = model.reconstruct(x);
    const b = loaded.reconstruct(x);
    assert.equal(b.rows, 7);
    assert.equal(b.cols, arch.layers[0]);
    assertBitIdentical(b.data, a.data, 'reconstruct');
    assert.ok(a.data.every(Number.isFinite));
    // Guards against a round trip that "passes" because every model computes the same thing.
    const other = makeModel(arch, seed + 1000).reconstruct(x);
    assert.notDeepEqual(Array.from(other.data), Array.from(a.data));

    // Encoding the loaded model gives the same bytes: nothing is lost or reordered.
    assert.deepEqual(encodeModel(loaded, meta), bytes);
  });
}

test('round trip: a loaded tied model keeps its weights shared (training one updates the other)', () => {
  const { model } = decodeModel(encodeModel(makeModel(TIED, 4), META), backend);
  assert.equal(model.decoder[1]!.weight, model.encoder[0]!.weight);
  assert.equal(model.decoder[0]!.weight, model.encoder[1]!.weight);
  assert.equal(model.decoder[0]!.transposed, true);
});

// ---------------------------------------------------------------------------------------------
// 2. Tensor names, shapes and order

test('tensors are named and shaped as the PyTorch module state_dict, in its order ([20,8,3])', () => {
  const model = makeModel(DEEP, 5);
  const bytes = encodeModel(model, META);
  const file = decodeSafetensors(bytes);
  const want = expectedStateDict([20, 8, 3]);
  assert.deepEqual(
    want.map(([n]) => n),
    ['encoder.0.weight', 'encoder.0.bias', 'encoder.2.weight', 'encoder.2.bias', 'decoder.0.weight', 'decoder.0.bias', 'decoder.2.weight', 'decoder.2.bias'],
  );
  assert.deepEqual([...file.tensors.keys()], want.map(([n]) => n), 'data section order');
  for (const [name, shape] of want) assert.deepEqual(file.tensors.get(name)!.shape, shape, name);
  assert.deepEqual(file.tensors.get('encoder.0.weight')!.shape, [8, 20]);
  assert.deepEqual(file.tensors.get('decoder.2.weight')!.shape, [20, 8]);

  // Header order as written (what Python's json / safetensors sees), not only the data layout.
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
  const positions = want.map(([n]) => header.indexOf(`"${n}"`));
  assert.ok(positions.every((p) => p > 0));
  assert.deepEqual(positions, [...positions].sort((a, b) => a - b), 'header order');

  // The values are the model's: weight [out, in] as nn.Linear stores them.
  for (const p of model.params) assertBitIdentical(file.tensors.get(p.name)!.data, p.value, p.name);
  const dense = model.encoder[0]!;
  assert.equal(dense.outSize, 8);
  assert.equal(dense.weight.rows, 8);

  assert.equal(file.metadata.format, MODEL_FORMAT);
  assert.deepEqual(JSON.parse(file.metadata.config!), { format: MODEL_FORMAT, architecture: DEEP, ...META });
});

test('a [784,30] model has exactly encoder.0 and decoder.0', () => {
  const file = decodeSafetensors(encodeModel(makeModel(UNTIED_784, 6), META));
  assert.deepEqual(
    [...file.tensors].map(([n, t]) => [n, t.shape]),
    [
      ['encoder.0.weight', [30, 784]],
      ['encoder.0.bias', [30]],
      ['decoder.0.weight', [784, 30]],
      ['decoder.0.bias', [784]],
    ],
  );
});

test('a tied model also stores decoder weights, equal to the transposed encoder weights', () => {
  const model = makeModel(TIED, 7);
  const file = decodeSafetensors(encodeModel(model, META));
  const want = expectedStateDict([12, 5, 3]);
  assert.deepEqual([...file.tensors].map(([n, t]) => [n, t.shape]), want);
  const enc0 = file.tensors.get('encoder.0.weight')!; // [5, 12]
  const enc2 = file.tensors.get('encoder.2.weight')!; // [3, 5]
  assertBitIdentical(file.tensors.get('decoder.2.weight')!.data, transposed(enc0.data, 5, 12), 'decoder.2.weight');
  assertBitIdentical(file.tensors.get('decoder.0.weight')!.data, transposed(enc2.data, 3, 5), 'decoder.0.weight');
  assertBitIdentical(enc0.data, model.encoder[0]!.weight.value, 'encoder.0.weight');

  // What the plain, untied PyTorch module does with it: the same tensors as an untied config
  // load and compute exactly what the tied model computes.
  const config = JSON.parse(file.metadata.config!) as ModelConfig;
  config.architecture.tied = false;
  const untiedBytes = encodeSafetensors(file.tensors, { format: MODEL_FORMAT, config: JSON.stringify(config) });
  const { model: untied } = decodeModel(untiedBytes, backend);
  assert.equal(untied.config.tied, false);
  assertBitIdentical(untied.decoder[1]!.weight.value, transposed(model.encoder[0]!.weight.value, 5, 12), 'untied decoder.2.weight');
  // Same arithmetic up to summation order (the backend walks W and Wᵀ differently).
  const x = input(4, 12, 8);
  const a = untied.reconstruct(x).data;
  const b = model.reconstruct(x).data;
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-6, `reconstruct[${i}]: ${a[i]} vs ${b[i]}`);
});

// ---------------------------------------------------------------------------------------------
// 3. Validation errors

const SOURCE = 'models/bad.safetensors';

/** The decoded tensors and parsed config of a valid file, for building broken ones. */
function parts(arch: ArchitectureConfig = SMALL, seed = 9) {
  const file = decodeSafetensors(encodeModel(makeModel(arch, seed), META));
  const config = JSON.parse(file.metadata.config!) as Record<string, any>;
  const tensors = new Map<string, TensorInput>(file.tensors);
  return { tensors, config, metadata: { ...file.metadata } };
}

function build(tensors: Map<string, TensorInput>, metadata: Record<string, string>): Uint8Array {
  return encodeSafetensors(tensors, metadata);
}

function withConfig(edit: (c: Record<string, any>) => void, arch: ArchitectureConfig = SMALL): Uint8Array {
  const p = parts(arch);
  edit(p.config);
  return build(p.tensors, { format: MODEL_FORMAT, config: JSON.stringify(p.config) });
}

function rejects(bytes: Uint8Array, ...patterns: RegExp[]): ModelFormatError {
  return assertModelFormatError(() => decodeModel(bytes, backend, SOURCE), SOURCE, ...patterns);
}

test('the unmodified building blocks load (so each rejection below is due to its one change)', () => {
  const p = parts();
  assert.doesNotThrow(() => decodeModel(build(p.tensors, p.metadata), backend, SOURCE));
  assert.doesNotThrow(() => decodeModel(withConfig(() => {}), backend, SOURCE));
  assert.doesNotThrow(() => decodeModel(withConfig(() => {}, TIED), backend, SOURCE));
});

test('metadata "format": missing, wrong, or no metadata at all', () => {
  const p = parts();
  rejects(build(p.tensors, { config: p.metadata.config! }), /format/, /aekit-autoencoder\/1/, /undefined/);
  rejects(build(p.tensors, { format: 'aekit-autoencoder/2', config: p.metadata.config! }), /format/, /aekit-autoencoder\/2/);
  rejects(build(p.tensors, { format: '', config: p.metadata.config! }), /format/);
  rejects(build(p.tensors, {}), /format/, /plain state_dict/, /ae import --in/);
  rejects(build(p.tensors, { format: 'aekit-codes/1' }), /expected a model file, received a codes file/, /ae decode/);
});

test('metadata "config": missing, not JSON, not an object', () => {
  const p = parts();
  rejects(build(p.tensors, { format: MODEL_FORMAT }), /config/);
  rejects(build(p.tensors, { format: MODEL_FORMAT, config: '' }), /config/, /JSON object/);
  rejects(build(p.tensors, { format: MODEL_FORMAT, config: '{"architecture": ' }), /config/, /JSON object/);
  rejects(build(p.tensors, { format: MODEL_FORMAT, config: "{'loss': 'mse'}" }), /config/);
  rejects(build(p.tensors, { format: MODEL_FORMAT, config: 'line one\nline two\u2028three' }), /config/);
  for (const text of ['[1,2,3]', '"a string"', 'null', '42', 'true', '[]']) {
    rejects(build(p.tensors, { format: MODEL_FORMAT, config: text }), /config/, /JSON object/);
  }
});

test('metadata "config" of more than 4096 objects, arrays and keys is refused before it is parsed', () => {
  const p = parts();
  // A valid config with one more key per extra structure; the long number arrays a real config has count once.
  const config = JSON.parse(p.metadata.config!) as Record<string, unknown>;
  const count = structuresOf(JSON.stringify(config));
  const pad = (n: number) => JSON.stringify({ ...config, training: { ...(config.training as object), pad: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 0])), numbers: Array(100_000).fill(0.5) } });
  // +2: the key "pad" and its object; +1: the key "numbers" and its array (one array, however long).
  const fits = MAX_JSON_STRUCTURES - count - 4;
  assert.doesNotThrow(() => decodeModel(build(p.tensors, { format: MODEL_FORMAT, config: pad(fits) }), backend, SOURCE));
  rejects(build(p.tensors, { format: MODEL_FORMAT, config: pad(fits + 1) }), /^models\/bad\.safetensors: metadata "config": expected JSON of at most 4096 objects, arrays and keys, received 4097$/);
  rejects(build(p.tensors, { format: MODEL_FORMAT, config: '['.repeat(5000) + ']'.repeat(5000) }), /metadata "config": expected JSON of at most 4096 objects, arrays and keys, received 5000$/);
});

/** Objects, arrays and keys of well-formed JSON text, counted by parsing it (the reference for structuresIn). */
function structuresOf(text: string): number {
  const walk = (v: unknown): number => (Array.isArray(v) ? 1 + v.reduce((n: number, x) => n + walk(x), 0) : v !== null && typeof v === 'object' ? 1 + Object.values(v).reduce((n: number, x) => n + 1 + walk(x), 0) : 0);
  return walk(JSON.parse(text));
}

test('structuresIn counts what parsing counts, skipping strings', () => {
  for (const text of ['{}', '[]', '{"a":[1,2,{"b":null}],"c":"x:{[\\"]}"}', '[[],[[]],{"":{}}]', JSON.stringify({ s: 'a"b\\c{:', t: ['\u2028', { u: 1 }] })]) {
    assert.equal(structuresIn(text), structuresOf(text), text);
  }
});

test('the largest configs the limits let through load or are refused within a 256 MB heap', (t) => {
  const script = `
    const { decodeModel } = await import(${JSON.stringify(new URL('./model-file.js', import.meta.url).href)});
    const { JsBackend } = await import(${JSON.stringify(new URL('../backends/js/index.js', import.meta.url).href)});
    const L = 16 * 1024 * 1024 - 200;
    const list = (item) => { const a = []; let len = 0; for (let i = 0; len < L - 40; i++) { const s = item(i); a.push(s); len += s.length + 1; } return a.join(','); };
    const configs = {
      numbers: '{\\\\"x\\\\":[' + '0,'.repeat(Math.floor(L / 2) - 10) + '0]}',
      strings: '{\\\\"x\\\\":[' + list((i) => '\\\\"' + i.toString(36) + '\\\\"') + ']}',
      keys: '{' + list((i) => '\\\\"' + i.toString(36) + '\\\\":0') + '}',
    };
    const out = {};
    for (const [name, config] of Object.entries(configs)) {
      const h = '{"__metadata__":{"format":"aekit-autoencoder/1","config":"' + config + '"}}';
      const buf = Buffer.alloc(8 + Buffer.byteLength(h)); buf.writeBigUInt64LE(BigInt(buf.length - 8)); buf.write(h, 8);
      if (buf.length - 8 > 16 * 1024 * 1024) throw new Error(name + ': ' + (buf.length - 8) + ' bytes');
      const t0 = performance.now();
      let result = 'ok';
      try { decodeModel(buf, new JsBackend(), name); } catch (e) { result = e.name + ': ' + e.message.slice(0, 120); }
      out[name] = { ms: Math.round(performance.now() - t0), result };
    }
    console.log(JSON.stringify(out));
  `;
  const r = spawnSync(process.execPath, ['--max-old-space-size=256', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `child failed (signal ${r.signal}): ${r.stderr.slice(-1500)}`);
  const out = JSON.parse(r.stdout) as Record<string, { ms: number; result: string }>;
  t.diagnostic(JSON.stringify(out));
  // Parsed (8M numbers, 2.8M strings), then refused for what they lack; a million keys refused unparsed.
  assert.match(out.numbers!.result, /^ModelFormatError: numbers: config: architecture: expected an object/);
  assert.match(out.strings!.result, /^ModelFormatError: strings: config: architecture: expected an object/);
  assert.match(out.keys!.result, /^ModelFormatError: keys: metadata "config": expected JSON of at most 4096 objects, arrays and keys/);
  // Measured 0.4 to 1.9 s; a generous bound that a slow machine still meets.
  for (const [name, o] of Object.entries(out)) assert.ok(o.ms < 20_000, `${name} took ${o.ms} ms`);
});

test('bad architecture', () => {
  rejects(withConfig((c) => (c.architecture.layers = [784])), /config/, /layers/, /at least two/);
  rejects(withConfig((c) => (c.architecture.layers = [])), /layers/);
  rejects(withConfig((c) => (c.architecture.layers = '6,4,3')), /layers/);
  rejects(withConfig((c) => (c.architecture.layers = [6, 0, 3])), /layers\[1\]/);
  rejects(withConfig((c) => (c.architecture.layers = [6, 2.5, 3])), /layers\[1\]/);
  rejects(withConfig((c) => (c.architecture.layers = [6, -4, 3])), /layers\[1\]/);
  rejects(withConfig((c) => (c.architecture.layers = [6, '4', 3])), /layers\[1\]/);
  rejects(withConfig((c) => (c.architecture.layers = [6, 4, 2 ** 21])), /layers\[2\]/);
  rejects(withConfig((c) => (c.architecture.activation = 'swish')), /activation/, /swish/);
  rejects(withConfig((c) => (c.architecture.outputActivation = 'gelu')), /outputActivation/, /gelu/);
  rejects(withConfig((c) => delete c.architecture.activation), /activation/);
  rejects(withConfig((c) => (c.architecture.activation = 'tanh\n\u2028\u2029\r')), /activation/);
  rejects(withConfig((c) => (c.architecture.tied = 'yes')), /tied/);
  rejects(withConfig((c) => delete c.architecture.tied), /tied/);
  rejects(withConfig((c) => delete c.architecture), /architecture/);
  rejects(withConfig((c) => (c.architecture = null)), /architecture/);
  rejects(withConfig((c) => (c.architecture = 'autoencoder')), /architecture/);
});

test('bad architecture sizes that would need huge buffers are rejected without allocating them', () => {
  // Valid-looking sizes, but far from the file's tensors; building the model first would try to
  // allocate 2^40 floats.
  rejects(withConfig((c) => (c.architecture.layers = [2 ** 20, 2 ** 20, 3])), /shape|tensor/);
  rejects(withConfig((c) => (c.architecture.layers = [6, 2 ** 20, 2 ** 20])), /shape|tensor/);
});

test('bad scaling', () => {
  rejects(withConfig((c) => delete c.scaling), /scaling/);
  rejects(withConfig((c) => (c.scaling = 'symmetric')), /scaling/);
  rejects(withConfig((c) => (c.scaling.kind = 'minmax')), /scaling\.kind/, /minmax/);
  rejects(withConfig((c) => (c.scaling.min = '0')), /scaling\.min/);
  rejects(withConfig((c) => (c.scaling.max = null)), /scaling\.max/);
  rejects(withConfig((c) => (c.scaling.min = 255)), /scaling\.max/);
  rejects(withConfig((c) => (c.scaling = { kind: 'unit', min: -1e308, max: 1e308 })), /scaling/);
  // JSON has no Infinity literal, but 1e309 parses to it.
  const p = parts();
  const text = JSON.stringify(p.config).replace('"max":255', '"max":1e309');
  assert.notEqual(text, JSON.stringify(p.config));
  rejects(build(p.tensors, { format: MODEL_FORMAT, config: text }), /scaling\.max/, /finite/);
});

test('bad loss', () => {
  rejects(withConfig((c) => (c.loss = 'l1')), /loss/, /mse/, /"l1"/);
  rejects(withConfig((c) => delete c.loss), /loss/);
  rejects(withConfig((c) => (c.loss = 5)), /loss/);
  rejects(withConfig((c) => (c.loss = 'MSE')), /loss/);
});

test('a missing tensor', () => {
  for (const name of ['encoder.0.weight', 'encoder.2.bias', 'decoder.0.weight', 'decoder.2.bias']) {
    const p = parts();
    p.tensors.delete(name);
    rejects(build(p.tensors, p.metadata), new RegExp(name.replace(/\./g, '\\.')), /missing/);
  }
  // A tied model still needs its decoder weights in the file.
  const p = parts(TIED);
  p.tensors.delete('decoder.2.weight');
  rejects(build(p.tensors, p.metadata), /decoder\.2\.weight/, /missing/);
});

test('an extra tensor', () => {
  for (const name of ['encoder.4.weight', 'decoder.1.weight', 'extra', 'line\u2028break\nname']) {
    const p = parts();
    p.tensors.set(name, { shape: [2], data: new Float32Array([1, 2]) });
    rejects(build(p.tensors, p.metadata), /extra/);
  }
  // A file with one layer more than its config says.
  const deep = parts({ ...SMALL, layers: [6, 5, 4, 3] });
  const p = parts();
  rejects(build(deep.tensors, p.metadata), /shape|extra/);
});

test('a wrong shape', () => {
  const cases: Array<[string, number[]]> = [
    ['encoder.0.weight', [6, 4]], // [in, out] instead of [out, in]
    ['encoder.0.weight', [24]],
    ['encoder.0.weight', [4, 6, 1]],
    ['encoder.2.bias', [3, 1]],
    ['decoder.0.weight', [3, 4]],
    ['decoder.2.bias', [1, 6]],
  ];
  for (const [name, shape] of cases) {
    const p = parts();
    const t = p.tensors.get(name)!;
    p.tensors.set(name, { shape, data: t.data });
    rejects(build(p.tensors, p.metadata), /shape/, new RegExp(name.replace(/\./g, '\\.')));
  }
  // Same count, different size.
  const p = parts();
  p.tensors.set('encoder.2.bias', { shape: [4], data: new Float32Array(4) });
  rejects(build(p.tensors, p.metadata), /shape of encoder\.2\.bias/, /\[3\]/, /\[4\]/);
});

test('a NaN or infinite value', () => {
  for (const name of ['encoder.0.weight', 'encoder.0.bias', 'decoder.2.weight', 'decoder.2.bias']) {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const p = parts();
      const data = Float32Array.from(p.tensors.get(name)!.data);
      data[data.length - 1] = bad;
      p.tensors.set(name, { shape: p.tensors.get(name)!.shape, data });
      rejects(build(p.tensors, p.metadata), new RegExp(name.replace(/\./g, '\\.')), /finite/);
    }
  }
  // A NaN with a payload and a negative NaN are still NaN.
  for (const bits of [0x7fc00001, 0xffc00000, 0x7f800001]) {
    const p = parts();
    const data = Float32Array.from(p.tensors.get('encoder.2.weight')!.data);
    new Uint32Array(data.buffer)[3] = bits;
    p.tensors.set('encoder.2.weight', { shape: [3, 4], data });
    rejects(build(p.tensors, p.metadata), /encoder\.2\.weight/, /finite/);
  }
  // A tied model's decoder weights are checked too.
  const p = parts(TIED);
  const data = Float32Array.from(p.tensors.get('decoder.0.weight')!.data);
  data[0] = NaN;
  p.tensors.set('decoder.0.weight', { shape: [5, 3], data });
  rejects(build(p.tensors, p.metadata), /decoder\.0\.weight/, /finite/);
});

test('a tied model whose decoder weight is not the transpose', () => {
  for (const name of ['decoder.0.weight', 'decoder.2.weight']) {
    for (const index of [0, 7, 14]) {
      const p = parts(TIED);
      const t = p.tensors.get(name)!;
      const data = Float32Array.from(t.data);
      data[index] = data[index]! + 1e-3;
      p.tensors.set(name, { shape: t.shape, data });
      rejects(build(p.tensors, p.metadata), new RegExp(name.replace(/\./g, '\\.')), /tied|transpose/);
    }
  }
  // Untransposed weights of a square layer have the right shape but the wrong values.
  const square: ArchitectureConfig = { layers: [4, 4], activation: 'tanh', outputActivation: 'tanh', tied: true };
  const p = parts(square);
  const enc = p.tensors.get('encoder.0.weight')!;
  p.tensors.set('decoder.0.weight', { shape: [4, 4], data: Float32Array.from(enc.data) });
  rejects(build(p.tensors, p.metadata), /decoder\.0\.weight/, /transpose/);
  // An untied file with independent decoder weights, relabelled tied.
  const untied = parts({ ...TIED, tied: false });
  rejects(build(untied.tensors, parts(TIED).metadata), /decoder\.\d\.weight/, /transpose/);
});

test('broken safetensors framing is a ModelFormatError naming the source too', () => {
  const bytes = encodeModel(makeModel(SMALL, 10), META);
  rejects(bytes.subarray(0, bytes.length - 1));
  rejects(bytes.subarray(0, 5));
  rejects(new Uint8Array(0));
});

// ---------------------------------------------------------------------------------------------
// 4. Seeded fuzz

type Mutation = (buf: Uint8Array, rng: Rng) => Uint8Array;

const enc = new TextEncoder();
const dec = new TextDecoder();

function splitFile(buf: Uint8Array): { header: string; data: Uint8Array } {
  const n = Number(new DataView(buf.buffer, buf.byteOffset).getBigUint64(0, true));
  return { header: dec.decode(buf.subarray(8, 8 + n)), data: buf.subarray(8 + n) };
}

/** A file with the given header text and data section and a correct length field. */
function frame(header: string, data: Uint8Array): Uint8Array {
  const h = enc.encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

const NAMES = ['tanh', 'sigmoid', 'relu', 'linear', 'Tanh', 'tan', 'softmax', '', 'tanh\n', 'relu\u2028', 'mse', 'bce', 'unit', 'symmetric', 'x'];

/** A random edit of one value somewhere in a parsed config. */
function editConfig(c: Record<string, any>, rng: Rng): void {
  const a = c.architecture as Record<string, any>;
  switch (rng.int(12)) {
    case 0: {
      // Layer sizes: mostly small, sometimes huge (up to the validator's 2^20 cap).
      const depth = 1 + rng.int(4);
      a.layers = Array.from({ length: depth + 1 }, () => (rng.int(3) === 0 ? 1 + rng.int(1 << 20) : 1 + rng.int(8)));
      break;
    }
    case 1:
      a.layers[rng.int(a.layers.length)] = pick(rng, [0, 1, 2, 3, 4, 5, 6, 7, -4, 4.5, 1 << 20, (1 << 20) + 1, 1e300, '4', null]);
      break;
    case 2:
      a.layers = pick(rng, [[6, 3], [6, 4], [6, 4, 3, 2], [3, 4, 6], [6], [], [4, 6, 3], [6, 4, 3, 3]]);
      break;
    case 3:
      a.activation = pick(rng, NAMES);
      break;
    case 4:
      a.outputActivation = pick(rng, NAMES);
      break;
    case 5:
      a.tied = pick(rng, [true, false, 'true', 1, null]);
      break;
    case 6:
      c.scaling = pick(rng, [
        { kind: 'unit', min: 0, max: 1 },
        { kind: 'symmetric', min: 5, max: 5 },
        { kind: 'other', min: 0, max: 1 },
        { kind: 'unit', min: -1e308, max: 1e308 },
        { kind: 'unit', min: 0 },
        [0, 255],
        null,
      ]);
      break;
    case 7:
      c.loss = pick(rng, NAMES);
      break;
    case 8:
      c.training = pick(rng, [null, 5, 'x', [], { epochs: 1e309 }, { __proto__: 1 }]);
      break;
    case 9:
      delete c[pick(rng, ['architecture', 'scaling', 'loss', 'training', 'format'])];
      break;
    case 10:
      delete a[pick(rng, ['layers', 'activation', 'outputActivation', 'tied'])];
      break;
    default:
      c.architecture = pick(rng, [null, [], 'x', 3, { ...a, layers: [...a.layers].reverse() }]);
  }
}

const MUTATIONS: Record<string, Mutation> = {
  'byte flip anywhere': (buf, rng) => {
    const out = Uint8Array.from(buf);
    const flips = 1 + rng.int(3);
    for (let k = 0; k < flips; k++) {
      const i = rng.int(out.length);
      out[i] = out[i]! ^ (1 << rng.int(8));
    }
    return out;
  },
  'byte flip in header': (buf, rng) => {
    const out = Uint8Array.from(buf);
    const n = Number(new DataView(buf.buffer, buf.byteOffset).getBigUint64(0, true));
    const i = 8 + rng.int(n);
    out[i] = out[i]! ^ (rng.int(2) === 0 ? 1 << rng.int(8) : 1 + rng.int(255));
    return out;
  },
  'length field': (buf, rng) => {
    const out = Uint8Array.from(buf);
    const view = new DataView(out.buffer);
    const n = view.getBigUint64(0, true);
    view.setBigUint64(0, pick(rng, [0n, n - 1n, n + 1n, n + 8n, n - 8n, BigInt(rng.nextUint32()), 2n ** 64n - 1n, 2n ** 53n + 1n]), true);
    return out;
  },
  truncation: (buf, rng) => buf.slice(0, rng.int(buf.length)),
  'appended bytes': (buf, rng) => {
    const extra = new Uint8Array(1 + rng.int(16));
    for (let i = 0; i < extra.length; i++) extra[i] = rng.int(256);
    const out = new Uint8Array(buf.length + extra.length);
    out.set(buf);
    out.set(extra, buf.length);
    return out;
  },
  'digit edit in header': (buf, rng) => {
    const { header, data } = splitFile(buf);
    const digits: number[] = [];
    for (let i = 0; i < header.length; i++) if (header[i]! >= '0' && header[i]! <= '9') digits.push(i);
    const i = pick(rng, digits);
    const d = String(rng.int(10));
    const edited = pick(rng, ['replace', 'insert', 'delete', 'minus']);
    const text =
      edited === 'replace' ? header.slice(0, i) + d + header.slice(i + 1)
      : edited === 'insert' ? header.slice(0, i) + d + header.slice(i)
      : edited === 'delete' ? header.slice(0, i) + header.slice(i + 1)
      : header.slice(0, i) + '-' + header.slice(i);
    // Half the time the length field is kept, half the time it is fixed up so the edit reaches
    // the checks behind the framing.
    if (rng.int(2) === 0 && text.length === header.length) {
      const out = Uint8Array.from(buf);
      out.set(enc.encode(text), 8);
      return out;
    }
    return frame(text, data);
  },
  'config edit': (buf, rng) => {
    const { header, data } = splitFile(buf);
    const h = JSON.parse(header) as Record<string, any>;
    const c = JSON.parse(h.__metadata__.config) as Record<string, any>;
    editConfig(c, rng);
    h.__metadata__.config = JSON.stringify(c);
    return frame(JSON.stringify(h), data);
  },
  'config text edit': (buf, rng) => {
    const { header, data } = splitFile(buf);
    const h = JSON.parse(header) as Record<string, any>;
    let text = h.__metadata__.config as string;
    const choice = rng.int(4);
    if (choice === 0) {
      // Replace a word-ish token with another.
      const words = [...text.matchAll(/[A-Za-z]+/g)];
      const w = pick(rng, words);
      text = text.slice(0, w.index) + pick(rng, NAMES) + text.slice(w.index! + w[0].length);
    } else if (choice === 1) {
      const i = rng.int(text.length);
      text = text.slice(0, i) + String.fromCharCode(rng.int(128)) + text.slice(i + 1);
    } else if (choice === 2) {
      text = text.slice(0, rng.int(text.length));
    } else {
      const digits = [...text.matchAll(/\d/g)];
      const m = pick(rng, digits);
      text = text.slice(0, m.index) + String(rng.int(100)) + text.slice(m.index! + 1);
    }
    h.__metadata__.config = text;
    return frame(JSON.stringify(h), data);
  },
  'metadata edit': (buf, rng) => {
    const { header, data } = splitFile(buf);
    const h = JSON.parse(header) as Record<string, any>;
    const k = rng.int(4);
    if (k === 0) h.__metadata__.format = pick(rng, ['aekit-autoencoder/2', '', 'aekit-autoencoder/1 ']);
    else if (k === 1) delete h.__metadata__[pick(rng, ['format', 'config'])];
    else if (k === 2) h.__metadata__.extra = 'ignored';
    else delete h.__metadata__;
    return frame(JSON.stringify(h), data);
  },
  'non-finite value in data': (buf, rng) => {
    const out = Uint8Array.from(buf);
    const { data } = splitFile(buf);
    const start = out.length - data.length;
    const index = rng.int(data.length / 4);
    const bits = pick(rng, [0x7fc00000, 0xffc00000, 0x7f800000, 0xff800000, 0x7f800001, 0x7fffffff, 0xffffffff]);
    new DataView(out.buffer).setUint32(start + 4 * index, bits, true);
    return out;
  },
  'finite value in data': (buf, rng) => {
    const out = Uint8Array.from(buf);
    const { data } = splitFile(buf);
    const start = out.length - data.length;
    const index = rng.int(data.length / 4);
    // Any finite float32, from subnormal to near FLT_MAX.
    let bits: number;
    do bits = rng.nextUint32();
    while (((bits >>> 23) & 0xff) === 0xff);
    new DataView(out.buffer).setUint32(start + 4 * index, bits, true);
    return out;
  },
};

/** Mutations that can never produce a loadable file. */
const ALWAYS_REJECTED = new Set(['truncation', 'appended bytes', 'non-finite value in data']);

test('seeded fuzz: every mutant of a model file loads and reconstructs, or is a ModelFormatError', (t) => {
  const started = performance.now();
  const original = makeModel(SMALL, 11);
  const base = encodeModel(original, META);
  const x = input(3, 6, 12);
  const rng = new Rng(20240601);
  const kinds = Object.keys(MUTATIONS);
  const stats = new Map<string, { loaded: number; rejected: number }>(kinds.map((k) => [k, { loaded: 0, rejected: 0 }]));
  const source = 'fuzz/model.safetensors';
  const N = 3000;
  for (let iter = 0; iter < N; iter++) {
    const kind = kinds[iter % kinds.length]!;
    const mutant = MUTATIONS[kind]!(base, rng);
    const s = stats.get(kind)!;
    let loaded: ReturnType<typeof decodeModel>;
    try {
      loaded = decodeModel(mutant, backend, source);
    } catch (err) {
      if (!(err instanceof ModelFormatError)) {
        assert.fail(`mutant ${iter} (${kind}) threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
      }
      assert.ok(err.message.startsWith(`${source}: `), `mutant ${iter} (${kind}): ${err.message}`);
      assert.doesNotMatch(err.message, LINE_BREAK, `mutant ${iter} (${kind}): message is one line`);
      s.rejected++;
      continue;
    }
    s.loaded++;
    assert.ok(!ALWAYS_REJECTED.has(kind), `mutant ${iter} (${kind}) should have been rejected`);
    const { model, config } = loaded;
    assert.equal(model.inputSize, 6, `mutant ${iter} (${kind})`);
    for (const p of model.params) assert.ok(p.value.every(Number.isFinite), `mutant ${iter} (${kind}): ${p.name} finite`);
    const y = model.reconstruct(x);
    assert.equal(y.rows, 3);
    assert.equal(y.cols, 6);
    assert.equal(y.data.length, 18);
    assert.ok(y.data.every(Number.isFinite), `mutant ${iter} (${kind}): reconstruction finite`);
    assert.ok(['mse', 'bce'].includes(config.loss));
  }
  const total = [...stats.values()].reduce((a, s) => ({ loaded: a.loaded + s.loaded, rejected: a.rejected + s.rejected }), { loaded: 0, rejected: 0 });
  assert.equal(total.loaded + total.rejected, N);
  // The fuzz must exercise both outcomes, and reach past the framing into the model checks.
  assert.ok(total.loaded >= 100, `only ${total.loaded} mutants loaded`);
  assert.ok(total.rejected >= 1000, `only ${total.rejected} mutants rejected`);
  for (const kind of ['config edit', 'config text edit', 'digit edit in header', 'finite value in data']) {
    assert.ok(stats.get(kind)!.loaded > 0, `no "${kind}" mutant loaded`);
    assert.ok(kind === 'finite value in data' || stats.get(kind)!.rejected > 0, `no "${kind}" mutant rejected`);
  }
  const ms = performance.now() - started;
  t.diagnostic(`fuzz: ${N} mutants, ${total.loaded} loaded, ${total.rejected} rejected, ${ms.toFixed(0)} ms`);
  for (const [kind, s] of stats) t.diagnostic(`  ${kind}: ${s.loaded} loaded, ${s.rejected} rejected`);
});

// ---------------------------------------------------------------------------------------------
// 5. Files

function withTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-model-file-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('saveModel then loadModel through a temp directory', () => {
  withTempDir((dir) => {
    const path = join(dir, 'model.safetensors');
    const model = makeModel(DEEP, 13);
    saveModel(path, model, META);
    assert.deepEqual(new Uint8Array(readFileSync(path)), encodeModel(model, META));
    const { model: loaded, config } = loadModel(path, backend);
    assert.deepEqual(config, { format: MODEL_FORMAT, architecture: DEEP, ...META });
    model.params.forEach((p, i) => assertBitIdentical(loaded.params[i]!.value, p.value, p.name));
    const x = input(2, 20, 14);
    assertBitIdentical(loaded.reconstruct(x).data, model.reconstruct(x).data, 'reconstruct');

    // A second save replaces the file.
    const other = makeModel(DEEP, 15);
    saveModel(path, other, { ...META, loss: 'bce' });
    const again = loadModel(path, backend);
    assert.equal(again.config.loss, 'bce');
    assertBitIdentical(again.model.params[0]!.value, other.params[0]!.value, 'replaced');
    assert.deepEqual(readdirSync(dir), ['model.safetensors'], 'no temp files left behind');
  });
});

test('a failing save leaves the previously saved file byte-identical', () => {
  withTempDir((dir) => {
    const path = join(dir, 'model.safetensors');
    saveModel(path, makeModel(SMALL, 16), META);
    const before = readFileSync(path);

    // Into a missing directory.
    assert.throws(() => saveModel(join(dir, 'missing', 'model.safetensors'), makeModel(SMALL, 17), META), (err: unknown) => err instanceof ValidationError && /received ENOENT for the folder/.test(err.message));
    // Over the same path, with a config that cannot be serialized: fails before touching the file.
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    assert.throws(() => saveModel(path, makeModel(SMALL, 18), { ...META, training: circular }), TypeError);
    assert.throws(() => saveModel(path, makeModel(SMALL, 19), { ...META, training: { big: 1n } }), TypeError);
    // Over a path that is a directory: the rename fails after the temp file was written.
    const asDir = 'is-a-directory';
    mkdirSync(join(dir, asDir));
    assert.throws(() => saveModel(join(dir, asDir), makeModel(SMALL, 21), META), (err: NodeJS.ErrnoException) => typeof err.code === 'string');

    assert.deepEqual(readFileSync(path), before);
    assert.deepEqual(readdirSync(dir).sort(), [asDir, 'model.safetensors'].sort(), 'no temp files left behind');
    assert.ok(!existsSync(join(dir, 'missing')));
    const { model } = loadModel(path, backend);
    assertBitIdentical(model.params[0]!.value, makeModel(SMALL, 16).params[0]!.value, 'still the first model');
  });
});

test('loadModel errors are ModelFormatErrors naming the path', () => {
  withTempDir((dir) => {
    const missing = join(dir, 'nope.safetensors');
    assertModelFormatError(() => loadModel(missing, backend), missing, /no such file/);
    const corrupt = join(dir, 'corrupt.safetensors');
    const bytes = encodeModel(makeModel(SMALL, 22), META);
    writeFileSync(corrupt, bytes.subarray(0, bytes.length - 3));
    assertModelFormatError(() => loadModel(corrupt, backend), corrupt);
    const wrongConfig = join(dir, 'wrong-config.safetensors');
    writeFileSync(wrongConfig, withConfig((c) => (c.loss = 'l1')));
    assertModelFormatError(() => loadModel(wrongConfig, backend), wrongConfig, /loss/);
    assertModelFormatError(() => loadModel(dir, backend), dir);
  });
});
