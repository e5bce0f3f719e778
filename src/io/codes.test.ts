import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { JsBackend } from '../backends/index.js';
import { DataFormatError, ModelFormatError, ValidationError } from '../core/errors.js';
import { matrix, type Matrix } from '../core/matrix.js';
import { Rng } from '../core/rng.js';
import { Autoencoder } from '../nn/autoencoder.js';
import {
  CODES_FORMAT,
  MAX_DIMS,
  codesModelOf,
  decodeCodes,
  encodeCodes,
  modelFingerprint,
  quantizationOf,
  readCodesFile,
  storedQuantization,
  writeCodesFile,
  type CodeDtype,
  type CodesMeta,
} from './codes.js';
import { float32ToHalfBits, halfToFloat } from './half.js';
import { decodeModel } from './model-file.js';
import { MAX_HEADER_BYTES, decodeSafetensors, parseSafetensors } from './safetensors.js';

const FP = 'sha256:' + 'ab'.repeat(32);
const META: CodesMeta = { model: { fingerprint: FP, description: 'test model 4-3' }, note: 'unit test rows' };

function randomCodes(rng: Rng, rows: number, cols: number, spread = 1): Matrix {
  const m = matrix(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = spread * (rng.random() * 2 - 1) * (1 + (i % cols));
  return m;
}

interface Part {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/**
 * A safetensors file built by hand (independently of the encoder), for files the encoder
 * never writes. `headerText` replaces the JSON; `trailing` is appended after the data.
 */
function build(metadata: Record<string, unknown> | null, tensors: Array<[string, Part]>, opts: { headerText?: string; trailing?: Uint8Array } = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata !== null) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  const json = new TextEncoder().encode(opts.headerText ?? JSON.stringify(header));
  const trailing = opts.trailing ?? new Uint8Array(0);
  const out = new Uint8Array(8 + json.length + offset + trailing.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const [, t] of tensors) {
    out.set(t.bytes, at);
    at += t.bytes.length;
  }
  out.set(trailing, at);
  return out;
}

function f32(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

function f16(bits: number[]): Uint8Array {
  return new Uint8Array(new Uint16Array(bits).buffer);
}

const CODES_META = { format: CODES_FORMAT, dtype: 'f32', model_fingerprint: FP, model_description: 'test model 4-3' };

function rejects(buf: Uint8Array, pattern: RegExp) {
  assert.throws(
    () => decodeCodes(buf, 'x.safetensors'),
    (err: unknown) => {
      assert.ok(err instanceof DataFormatError, `DataFormatError expected, got ${String(err)}`);
      assert.ok(err.message.startsWith('x.safetensors: '), err.message);
      assert.ok(!/[\n\r\u2028\u2029]/.test(err.message), err.message);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

test('the known bytes of a tiny f16 file: a safetensors file with one F16 tensor', () => {
  const bytes = encodeCodes(matrix(1, 2, new Float32Array([1, -2])), 'f16', { model: null });
  const header = '{"__metadata__":{"format":"aekit-codes/1","dtype":"f16"},"codes":{"dtype":"F16","shape":[1,2],"data_offsets":[0,4]}}';
  assert.equal(header.length, 116); // padded with spaces to 120, a multiple of 8
  const expectedHex =
    '7800000000000000' + // header length 120, u64 little-endian
    Buffer.from(header + '    ').toString('hex') +
    '003c' + // 1.0 as half, little-endian
    '00c0'; // -2.0
  assert.equal(Buffer.from(bytes).toString('hex'), expectedHex);
  const back = decodeCodes(bytes);
  assert.deepEqual(Array.from(back.codes.data), [1, -2]);
  assert.equal(back.dtype, 'f16');
  assert.equal(back.overheadBytes, 128);
  assert.deepEqual(back.meta, { model: null });
});

test('the file is plain safetensors: the generic reader sees the tensors and the metadata', () => {
  const codes = randomCodes(new Rng(9), 5, 3);
  const q8 = parseSafetensors(encodeCodes(codes, 'q8', META), 'q8', { dtypes: ['F32', 'U8'] });
  assert.deepEqual(q8.metadata, { format: 'aekit-codes/1', dtype: 'q8', model_fingerprint: FP, model_description: 'test model 4-3', note: 'unit test rows' });
  assert.deepEqual([...q8.tensors].map(([n, t]) => `${n} ${t.dtype} [${t.shape}]`), ['codes U8 [5,3]', 'scale F32 [3]', 'offset F32 [3]']);
  const f32file = decodeSafetensors(encodeCodes(codes, 'f32', { model: null }));
  assert.deepEqual(f32file.tensors.get('codes')!.data, codes.data);
});

test('model files still refuse U8, and a codes file is not a model', () => {
  const codes = randomCodes(new Rng(10), 2, 3);
  assert.throws(() => decodeSafetensors(encodeCodes(codes, 'q8', META), 'c.safetensors'), (e: unknown) => e instanceof ModelFormatError && /tensor "codes": unsupported dtype: expected one of F32, F64, F16, BF16, received "U8"$/.test(e.message));
  assert.throws(() => decodeModel(encodeCodes(codes, 'q8', META), new JsBackend(), 'c.safetensors'), (e: unknown) => e instanceof ModelFormatError && /unsupported dtype/.test(e.message));
  assert.throws(() => decodeModel(encodeCodes(codes, 'f32', META), new JsBackend(), 'c.safetensors'), (e: unknown) => e instanceof ModelFormatError && /^c\.safetensors: /.test(e.message) && !/\n/.test(e.message));
});

test('a hand-built q8 file dequantises as offset + scale * q', () => {
  const buf = build({ ...CODES_META, dtype: 'q8' }, [
    ['codes', { dtype: 'U8', shape: [3, 1], bytes: new Uint8Array([0, 4, 255]) }],
    ['scale', { dtype: 'F32', shape: [1], bytes: f32([0.5]) }],
    ['offset', { dtype: 'F32', shape: [1], bytes: f32([-1]) }],
  ]);
  const d = decodeCodes(buf);
  assert.deepEqual(Array.from(d.codes.data), [-1, 1, 126.5]);
  assert.deepEqual(d.quant, { scale: [0.5], offset: [-1] });
  assert.deepEqual(d.meta, { model: { fingerprint: FP, description: 'test model 4-3' } });
  // The tensors may come in any order in the data section.
  const reordered = build({ ...CODES_META, dtype: 'q8' }, [
    ['offset', { dtype: 'F32', shape: [1], bytes: f32([-1]) }],
    ['scale', { dtype: 'F32', shape: [1], bytes: f32([0.5]) }],
    ['codes', { dtype: 'U8', shape: [3, 1], bytes: new Uint8Array([0, 4, 255]) }],
  ]);
  assert.deepEqual(decodeCodes(reordered).codes, d.codes);
});

test('f32 round trips exactly, with the meta', () => {
  const rng = new Rng(1);
  const codes = randomCodes(rng, 37, 5, 100);
  codes.data[3] = -0;
  codes.data[4] = 1e-40; // a float32 subnormal
  const bytes = encodeCodes(codes, 'f32', META);
  const back = decodeCodes(bytes);
  assert.deepEqual(back.codes, codes);
  assert.ok(Object.is(back.codes.data[3], -0));
  assert.deepEqual(back.meta, META);
  assert.equal(back.quant, null);
  assert.equal(bytes.length - back.overheadBytes, 37 * 5 * 4);
  assert.equal(back.overheadBytes % 8, 0);
});

test('f16 round trips to the nearest half of each code', () => {
  const rng = new Rng(2);
  const codes = randomCodes(rng, 50, 7, 3);
  codes.data[0] = 1e-9; // rounds to +0
  codes.data[1] = 3e-6; // a subnormal half
  codes.data[2] = -65504;
  const back = decodeCodes(encodeCodes(codes, 'f16', META));
  for (let i = 0; i < codes.data.length; i++) {
    const v = codes.data[i]!;
    assert.equal(back.codes.data[i], halfToFloat(float32ToHalfBits(v)));
    // Relative error at most 2^-11 for normal halves, absolute 2^-25 for subnormal ones.
    assert.ok(Math.abs(back.codes.data[i]! - v) <= Math.max(Math.abs(v) * 2 ** -11, 2 ** -25), `${v} -> ${back.codes.data[i]}`);
  }
  assert.deepEqual(back.meta, META);
});

test("q8 round trips within scale/2 per dimension, and hits each dimension's min and max", () => {
  const rng = new Rng(3);
  const codes = randomCodes(rng, 200, 6, 2);
  for (let r = 0; r < 200; r++) codes.data[r * 6 + 5] = 0.25; // a constant dimension
  const bytes = encodeCodes(codes, 'q8', META);
  const d = decodeCodes(bytes);
  const q = quantizationOf(codes);
  const stored = storedQuantization(q);
  assert.deepEqual(d.quant, stored);
  assert.deepEqual(stored.offset, q.offset); // minima of float32 values: exact
  for (let j = 0; j < 6; j++) {
    assert.equal(Math.fround(stored.scale[j]!), stored.scale[j]);
    assert.ok(stored.scale[j]! <= q.scale[j]! && q.scale[j]! - stored.scale[j]! <= q.scale[j]! * 2 ** -23, 'the scale rounded toward zero');
  }
  assert.equal(q.scale[5], 0);
  for (let i = 0; i < codes.data.length; i++) {
    const j = i % 6;
    const v = codes.data[i]!;
    const tol = q.scale[j]! / 2 + Math.abs(v) * 2 ** -23 + 255 * (q.scale[j]! - stored.scale[j]!);
    assert.ok(Math.abs(d.codes.data[i]! - v) <= tol, `dim ${j}: ${v} -> ${d.codes.data[i]}`);
  }
  for (let j = 0; j < 6; j++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let r = 0; r < 200; r++) {
      lo = Math.min(lo, d.codes.data[r * 6 + j]!);
      hi = Math.max(hi, d.codes.data[r * 6 + j]!);
    }
    assert.equal(lo, q.offset[j]);
    assert.ok(Math.abs(hi - (q.offset[j]! + 255 * q.scale[j]!)) <= 1e-6 * Math.max(1, Math.abs(hi)));
  }
  assert.equal(bytes.length - d.overheadBytes, 200 * 6);
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(d.overheadBytes, 8 + headerLength + 2 * 6 * 4, 'the length field, the header, the scale and the offset');
});

test('q8 rounds to nearest with ties up, and spans the whole float32 range', () => {
  // offset 0, scale 1/255 * 255 = 1 over [0, 255]: values k + 0.5 are ties.
  const codes = matrix(4, 1, new Float32Array([0, 255, 2.5, 2.49]));
  const d = decodeCodes(encodeCodes(codes, 'q8', { model: null }));
  assert.deepEqual(Array.from(d.codes.data), [0, 255, 3, 2]);
  // A float32 scale rounded up would put the top level past float32's largest value.
  const max = 3.4028234663852886e38;
  const wide = decodeCodes(encodeCodes(matrix(2, 1, new Float32Array([-max, max])), 'q8', { model: null }));
  assert.ok(Number.isFinite(wide.codes.data[1]!) && wide.codes.data[1]! > 0.99 * max, String(wide.codes.data[1]));
});

test('each malformed, other or damaged file is a one-line DataFormatError naming the source', () => {
  const codes2x2: Part = { dtype: 'F32', shape: [2, 2], bytes: f32([1, 2, 3, 4]) };
  const good = (): Array<[string, Part]> => [['codes', codes2x2]];
  decodeCodes(build(CODES_META, good())); // the base is valid
  // The safetensors layer's checks, now DataFormatErrors.
  rejects(new Uint8Array(5), /file size: expected at least 8 bytes/);
  rejects(new Uint8Array(0), /received 0$/);
  rejects(build(CODES_META, good()).subarray(0, 100), /header length: expected at most \d+ bytes/);
  const truncated = build(CODES_META, good());
  rejects(truncated.subarray(0, truncated.length - 3), /tensor "codes" data_offsets: expected to end within the 13-byte data section/);
  rejects(build(CODES_META, good(), { trailing: new Uint8Array(4) }), /data section: expected exactly 16 bytes .*received 20/);
  rejects(build(null, [], { headerText: '{"__metadata__":' }), /header: expected valid JSON/);
  rejects(build(CODES_META, [['codes', { dtype: 'F64', shape: [1, 1], bytes: new Uint8Array(8) }]]), /tensor "codes": unsupported dtype: expected one of F32, F16, U8, received "F64"/);
  rejects(build({ ...CODES_META, note: 5 }, good()), /__metadata__ "note": expected a string value, received 5/);
  // An .aec file: the format is gone.
  const aec = new Uint8Array(80);
  aec.set(new TextEncoder().encode('AECODES1'), 0);
  rejects(aec, /^x\.safetensors: expected a codes file in safetensors \(aekit-codes\/1\), received an \.aec file \("AECODES1"\), a format aekit no longer reads; encode the rows again with ae encode --out <file>\.safetensors$/);
  // Metadata.
  rejects(build(null, good()), /metadata "format": expected "aekit-codes\/1" \(a codes file written by ae encode\), received undefined/);
  rejects(build({ format: 'aekit-autoencoder/1', config: '{}' }, [['encoder.0.weight', codes2x2]]), /metadata "format": expected "aekit-codes\/1".*received "aekit-autoencoder\/1"/);
  rejects(build({ ...CODES_META, format: 'aekit-codes/2' }, good()), /metadata "format".*received "aekit-codes\/2"/);
  rejects(build({ ...CODES_META, extra: '1' }, good()), /metadata key: expected one of format, dtype, model_fingerprint, model_description, note, received "extra"/);
  rejects(build({ ...CODES_META, dtype: 'f64' }, good()), /metadata "dtype": expected one of f32, f16, q8, received "f64"/);
  const { dtype: _d, ...noDtype } = CODES_META;
  rejects(build(noDtype, good()), /metadata "dtype": expected one of f32, f16, q8, received undefined/);
  rejects(build({ ...CODES_META, model_fingerprint: 'md5:00' }, good()), /metadata "model_fingerprint": expected "sha256:" and 64 lowercase hex digits, received "md5:00"/);
  rejects(build({ ...CODES_META, model_fingerprint: FP.toUpperCase() }, good()), /metadata "model_fingerprint"/);
  const { model_description: _m, ...noDescription } = CODES_META;
  rejects(build(noDescription, good()), /metadata "model_description" \(with model_fingerprint\): expected a string of at most 500 characters, received undefined/);
  const { model_fingerprint: _f, ...noFingerprint } = CODES_META;
  rejects(build(noFingerprint, good()), /metadata "model_fingerprint": expected "sha256:" and 64 lowercase hex digits \(with model_description\), received undefined/);
  rejects(build({ ...CODES_META, model_description: 'x'.repeat(501) }, good()), /metadata "model_description": expected a string of at most 500 characters/);
  rejects(build({ ...CODES_META, note: '\u2028'.repeat(501) }, good()), /metadata "note": expected a string of at most 500 characters/);
  // Exactly these tensors.
  rejects(build(CODES_META, []), /tensor "codes": expected a tensor of dtype F32 \(dtype f32 needs codes\), received a file without it/);
  rejects(build(CODES_META, [['weights', codes2x2]]), /tensor: expected only codes for dtype f32, received "weights"/);
  rejects(build(CODES_META, [...good(), ['scale', { dtype: 'F32', shape: [2], bytes: f32([1, 1]) }]]), /tensor: expected only codes for dtype f32, received "scale"/);
  rejects(build({ ...CODES_META, dtype: 'f16' }, good()), /tensor "codes" dtype: expected F16 for dtype f16, received "F32"/);
  rejects(build(CODES_META, [['codes', { dtype: 'U8', shape: [2, 2], bytes: new Uint8Array(4) }]]), /tensor "codes" dtype: expected F32 for dtype f32, received "U8"/);
  // Shapes.
  rejects(build(CODES_META, [['codes', { dtype: 'F32', shape: [4], bytes: f32([1, 2, 3, 4]) }]]), /tensor "codes" shape: expected \[rows, dims\] with rows >= 1 and dims in \[1, 1048576\], received \[4\]$/);
  rejects(build(CODES_META, [['codes', { dtype: 'F32', shape: [1, 2, 2], bytes: f32([1, 2, 3, 4]) }]]), /tensor "codes" shape: .*received \[1, 2, 2\]$/);
  rejects(build(CODES_META, [['codes', { dtype: 'F32', shape: [0, 2], bytes: new Uint8Array(0) }]]), /tensor "codes" shape: .*received \[0, 2\]$/);
  rejects(build(CODES_META, [['codes', { dtype: 'F32', shape: [2, 0], bytes: new Uint8Array(0) }]]), /tensor "codes" shape: .*received \[2, 0\]$/);
  rejects(build({ ...CODES_META, dtype: 'q8' }, [['codes', { dtype: 'U8', shape: [1, MAX_DIMS + 1], bytes: new Uint8Array(MAX_DIMS + 1) }]]), /tensor "codes" shape: .*received \[1, 1048577\]$/);
  // Values.
  rejects(build(CODES_META, [['codes', { dtype: 'F32', shape: [2, 2], bytes: f32([1, 2, NaN, 4]) }]]), /value at row 1, dim 0: expected a finite number, received NaN/);
  rejects(build({ ...CODES_META, dtype: 'f16' }, [['codes', { dtype: 'F16', shape: [2, 2], bytes: f16([0, 0, 0, 0xfc00]) }]]), /value at row 1, dim 1: expected a finite number, received -Infinity/);
  // q8: scale and offset of the right dtype and length, with usable values.
  const q8 = (scale: Part | null, offset: Part | null, more: Array<[string, Part]> = []) =>
    build({ ...CODES_META, dtype: 'q8' }, [
      ['codes', { dtype: 'U8', shape: [2, 2], bytes: new Uint8Array([0, 1, 2, 3]) }],
      ...(scale ? [['scale', scale] as [string, Part]] : []),
      ...(offset ? [['offset', offset] as [string, Part]] : []),
      ...more,
    ]);
  const vec = (values: number[]): Part => ({ dtype: 'F32', shape: [values.length], bytes: f32(values) });
  assert.deepEqual(Array.from(decodeCodes(q8(vec([1, 2]), vec([0, -1]))).codes.data), [0, 1, 2, 5]);
  rejects(q8(null, vec([0, 0])), /tensor "scale": expected a tensor of dtype F32 \(dtype q8 needs codes, scale and offset\), received a file without it/);
  rejects(q8(vec([1, 1]), null), /tensor "offset": expected a tensor of dtype F32/);
  rejects(q8(vec([1, 1]), vec([0, 0]), [['zero', vec([0, 0])]]), /tensor: expected only codes, scale, offset for dtype q8, received "zero"/);
  rejects(q8(vec([1]), vec([0, 0])), /tensor "scale" shape: expected \[2\] \(dims\), received \[1\]$/);
  rejects(q8(vec([1, 1]), vec([0, 0, 0])), /tensor "offset" shape: expected \[2\] \(dims\), received \[3\]$/);
  rejects(q8(vec([1, 1]), { dtype: 'F32', shape: [1, 2], bytes: f32([0, 0]) }), /tensor "offset" shape: expected \[2\] \(dims\), received \[1, 2\]$/);
  rejects(q8({ dtype: 'F16', shape: [2], bytes: f16([0x3c00, 0x3c00]) }, vec([0, 0])), /tensor "scale" dtype: expected F32 for dtype q8, received "F16"/);
  rejects(q8(vec([1, -1]), vec([0, 0])), /scale\[1\]: expected a number >= 0, received -1/);
  rejects(q8(vec([1, NaN]), vec([0, 0])), /scale\[1\]: expected a finite number, received NaN/);
  rejects(q8(vec([1, 1]), vec([0, Infinity])), /offset\[1\]: expected a finite number, received Infinity/);
  rejects(q8(vec([1, 1e37]), vec([0, 0])), /dimension 1: expected offset \+ 255·scale within the float32 range, received offset 0, scale 9\.99/);
});

test('encoding refuses what a file cannot hold', () => {
  const bad = (f: () => unknown, pattern: RegExp) => assert.throws(f, (e: unknown) => e instanceof ValidationError && pattern.test(e.message));
  bad(() => encodeCodes(matrix(0, 3), 'f32', { model: null }), /codes rows: expected a positive integer, received 0/);
  bad(() => encodeCodes(matrix(2, 0), 'f32', { model: null }), /codes dims/);
  bad(() => encodeCodes(matrix(1, MAX_DIMS + 1), 'f32', { model: null }), /codes dims: expected an integer in \[1, 1048576\]/);
  bad(() => encodeCodes(matrix(1, 2, new Float32Array([1, NaN])), 'q8', { model: null }), /code at row 0, dim 1: expected a finite number, received NaN/);
  bad(() => encodeCodes(matrix(1, 1), 'f64' as CodeDtype, { model: null }), /codes dtype/);
  bad(() => encodeCodes(matrix(1, 1), 'f32', { model: { fingerprint: 'nope', description: '' } }), /fingerprint/);
  bad(() => encodeCodes(matrix(1, 1), 'f32', { model: null, note: 'x'.repeat(501) }), /note/);
  bad(() => encodeCodes(matrix(1, 2, new Float32Array([1, 70000])), 'f16', { model: null }), /code at row 0, dim 1 for f16: expected a magnitude below 65520 \(the half-precision range\); use f32 or q8, received 70000/);
  bad(() => encodeCodes(matrix(1, 1, new Float32Array([-65520])), 'f16', { model: null }), /65520/);
  assert.equal(decodeCodes(encodeCodes(matrix(1, 1, new Float32Array([65519.996])), 'f16', { model: null })).codes.data[0], 65504);
});

test('model fingerprints follow the weights, architecture and scaling, not the object', () => {
  const backend = new JsBackend();
  const a = new Autoencoder({ layers: [6, 3], activation: 'tanh', outputActivation: 'tanh', tied: false }, backend, new Rng(1));
  const b = new Autoencoder({ layers: [6, 3], activation: 'tanh', outputActivation: 'tanh', tied: false }, backend, new Rng(1));
  const s = { kind: 'symmetric' as const, min: 0, max: 255 };
  const fa = modelFingerprint(a, s);
  assert.match(fa, /^sha256:[0-9a-f]{64}$/);
  assert.equal(modelFingerprint(b, s), fa);
  assert.notEqual(modelFingerprint(a, { ...s, max: 1 }), fa);
  b.params[3]!.value[0]! += 1e-6;
  assert.notEqual(modelFingerprint(b, s), fa);
  const c = new Autoencoder({ layers: [6, 3], activation: 'relu', outputActivation: 'tanh', tied: false }, backend, new Rng(1));
  assert.notEqual(modelFingerprint(c, s), fa);
  assert.equal(codesModelOf(a, s).description, 'autoencoder 6-3, tanh/tanh, symmetric scaling of [0, 255]');
});

test('files are written atomically and read back; read errors name the path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ae-codes-'));
  try {
    const path = join(dir, 'c.safetensors');
    const codes = randomCodes(new Rng(4), 3, 4);
    for (const dtype of ['f32', 'f16', 'q8'] as const) {
      const n = writeCodesFile(path, codes, dtype, META);
      assert.equal(readFileSync(path).length, n);
      assert.deepEqual(readFileSync(path), Buffer.from(encodeCodes(codes, dtype, META)));
      assert.deepEqual(readdirSync(dir), ['c.safetensors']);
      assert.deepEqual(readCodesFile(path), decodeCodes(encodeCodes(codes, dtype, META), path));
    }
    writeCodesFile(path, codes, 'f32', META);
    assert.deepEqual(readCodesFile(path).codes, codes);
    assert.throws(() => readCodesFile(join(dir, 'missing.safetensors')), (e: unknown) => e instanceof DataFormatError && /missing\.safetensors.*ENOENT/.test(e.message));
    writeFileSync(join(dir, 'bad.safetensors'), 'hello');
    assert.throws(() => readCodesFile(join(dir, 'bad.safetensors')), (e: unknown) => e instanceof DataFormatError && /bad\.safetensors: file size: expected at least 8 bytes/.test(e.message));
    // An old .aec file, however long its header says it is.
    const aec = Buffer.alloc(12);
    aec.write('AECODES1', 0, 'latin1');
    aec.writeUInt32LE(600 * 1024 * 1024, 8);
    writeFileSync(join(dir, 'old.aec'), aec);
    assert.throws(() => readCodesFile(join(dir, 'old.aec')), (e: unknown) => e instanceof DataFormatError && /old\.aec: expected a codes file in safetensors .*received an \.aec file .*encode the rows again/.test(e.message) && !/\n/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fuzz: every mutant decodes to finite codes or throws DataFormatError', () => {
  const rng = new Rng(20240607);
  const bases: Uint8Array[] = (['f32', 'f16', 'q8'] as const).map((dt) => encodeCodes(randomCodes(rng, 4, 3), dt, META));
  bases.push(encodeCodes(randomCodes(rng, 2, 2), 'q8', { model: null }));
  type Header = Record<string, Record<string, unknown>>;
  const pick = <T>(xs: T[]): T => xs[rng.int(xs.length)]!;
  const headerEdits: Array<(h: Header) => void> = [
    (h) => (h.__metadata__!.dtype = pick(['f32', 'f16', 'q8', 'u8', ''])),
    (h) => delete h.__metadata__![pick(['format', 'dtype', 'model_fingerprint', 'model_description', 'note'])],
    (h) => (h.__metadata__![pick(['format', 'note', 'model_fingerprint', 'x'])] = pick(['aekit-codes/1', 'aekit-codes/2', FP, '', 'x'.repeat(600)])),
    (h) => delete h[pick(['codes', 'scale', 'offset', '__metadata__'])],
    (h) => {
      const t = h[pick(['codes', 'scale', 'offset'])];
      if (t) t.dtype = pick(['F32', 'F16', 'U8', 'BF16', 'F64', 'I8']);
    },
    (h) => {
      const t = h[pick(['codes', 'scale', 'offset'])];
      if (t) t.shape = pick([[], [0], [1, 12], [12], [3], [4, 3], [3, 4], [2, 2, 3], [-1, 3], [1e300, 3]]);
    },
    (h) => {
      const t = h[pick(['codes', 'scale', 'offset'])];
      if (t) t.data_offsets = [rng.int(40), rng.int(60)];
    },
    (h) => (h[pick(['extra', 'codes2', 'scale'])] = { dtype: 'F32', shape: [0], data_offsets: [0, 0] }),
  ];
  const counts = { ok: 0, rejected: 0 };
  for (let t = 0; t < 4000; t++) {
    const base = bases[t % bases.length]!;
    let buf: Uint8Array = base.slice();
    const kind = rng.int(7);
    const len = Number(new DataView(base.buffer).getBigUint64(0, true));
    const dataStart = 8 + len;
    if (kind === 5) {
      // Inside the data: random bytes, so values of every kind (subnormal, huge, Inf, NaN) turn up.
      for (let k = 1 + rng.int(3); k > 0; k--) buf[dataStart + rng.int(buf.length - dataStart)] = pick([0xff, 0x7f, 0x7c, 0x80, rng.int(256)]);
    } else if (kind === 6) {
      // One aligned 4-byte group of ones: a NaN for F32 and F16, 255s for U8.
      const at = dataStart + 4 * rng.int((buf.length - dataStart) / 4);
      buf.fill(0xff, at, at + 4);
    } else if (kind === 0) {
      for (let k = 1 + rng.int(4); k > 0; k--) buf[rng.int(buf.length)] = rng.int(256);
    } else if (kind === 1) {
      const i = rng.int(buf.length);
      buf[i] = buf[i]! ^ (1 << rng.int(8));
    } else if (kind === 2) {
      buf = buf.slice(0, rng.int(buf.length));
    } else if (kind === 3) {
      const extra = new Uint8Array(1 + rng.int(9));
      for (let i = 0; i < extra.length; i++) extra[i] = rng.int(256);
      buf = Uint8Array.from([...buf, ...extra]);
    } else {
      const h = JSON.parse(new TextDecoder().decode(base.subarray(8, dataStart))) as Header;
      pick(headerEdits)(h);
      const json = new TextEncoder().encode(JSON.stringify(h));
      const data = base.subarray(dataStart);
      buf = new Uint8Array(8 + json.length + data.length);
      new DataView(buf.buffer).setBigUint64(0, BigInt(json.length), true);
      buf.set(json, 8);
      buf.set(data, 8 + json.length);
    }
    try {
      const d = decodeCodes(buf, 'fuzz.safetensors');
      assert.equal(d.codes.data.length, d.codes.rows * d.codes.cols);
      for (const v of d.codes.data) assert.ok(Number.isFinite(v));
      counts.ok++;
    } catch (err) {
      if (!(err instanceof DataFormatError)) throw new Error(`mutant ${t} (kind ${kind}) threw ${String(err)}`);
      assert.ok(err.message.startsWith('fuzz.safetensors: ') && !/[\n\r\u2028\u2029]/.test(err.message), err.message);
      counts.rejected++;
    }
  }
  // Both outcomes occur: byte flips in the data decode, most header damage does not.
  assert.ok(counts.ok > 200 && counts.rejected > 1000, JSON.stringify(counts));
});

// ---------------------------------------------------------------------------------------------
// Header limits, checked before the header is decoded

/** The 8-byte length field of a header of `h` bytes. */
function lengthField(h: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(h), true);
  return out;
}

test("a header over safetensors' 16 MiB is refused from the length field, naming the limit and the size", () => {
  assert.equal(MAX_HEADER_BYTES, 16 * 1024 * 1024);
  rejects(lengthField(600 * 1024 * 1024), /^x\.safetensors: header length: expected at most 16 MiB \(16777216 bytes\), received 600 MiB \(629145600 bytes\)$/);
  rejects(lengthField(MAX_HEADER_BYTES + 1), /expected at most 16 MiB .*received 16\.0 MiB \(16777217 bytes\)$/);
});

test('readCodesFile refuses a 600 MB header without reading the file (a sparse 600 MB file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-codes-limit-'));
  try {
    const path = join(dir, 'big.safetensors');
    const fd = openSync(path, 'w');
    writeSync(fd, lengthField(600 * 1024 * 1024));
    ftruncateSync(fd, 8 + 600 * 1024 * 1024); // a hole: no 600 MB written
    closeSync(fd);
    const t0 = performance.now();
    assert.throws(() => readCodesFile(path), (e: unknown) => e instanceof DataFormatError && e.message === `${path}: header length: expected at most 16 MiB (16777216 bytes), received 600 MiB (629145600 bytes)`);
    assert.ok(performance.now() - t0 < 2000, 'refused without reading 600 MB');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the largest codes file there is (q8 at 2^20 dims, the longest texts) has a header under 3 KB and reads back', () => {
  const codes = matrix(2, MAX_DIMS);
  for (let j = 0; j < MAX_DIMS; j++) {
    codes.data[j] = -1.2345678e-6 * (1 + j / MAX_DIMS);
    codes.data[MAX_DIMS + j] = 9.8765432e-7 * (1 + j / MAX_DIMS);
  }
  const meta = { model: { fingerprint: FP, description: '\u2028'.repeat(500) }, note: '"'.repeat(500) };
  const bytes = encodeCodes(codes, 'q8', meta);
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.ok(headerLength < 3000, `header of ${headerLength} bytes`);
  assert.equal(bytes.length, 8 + headerLength + 2 * MAX_DIMS + 8 * MAX_DIMS);
  const back = decodeCodes(bytes);
  assert.equal(back.codes.cols, MAX_DIMS);
  assert.deepEqual(back.meta, meta);
  for (const dtype of ['f32', 'f16'] as const) assert.equal(decodeCodes(encodeCodes(codes, dtype, meta)).codes.cols, MAX_DIMS);
});
