import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { JsBackend } from '../backends/index.js';
import { DataFormatError, ValidationError } from '../core/errors.js';
import { matrix, type Matrix } from '../core/matrix.js';
import { Rng } from '../core/rng.js';
import { Autoencoder } from '../nn/autoencoder.js';
import {
  CODES_MAGIC,
  MAX_CODES_HEADER_BYTES,
  MAX_CODES_HEADER_ITEMS,
  MAX_DIMS,
  codesModelOf,
  decodeCodes,
  encodeCodes,
  float32ToHalfBits,
  halfBitsToNumber,
  modelFingerprint,
  quantizationOf,
  readCodesFile,
  writeCodesFile,
  type CodeDtype,
  type CodesMeta,
} from './codes.js';

const FP = 'sha256:' + 'ab'.repeat(32);
const META: CodesMeta = { model: { fingerprint: FP, description: 'test model 4-3' }, note: 'unit test rows' };

function randomCodes(rng: Rng, rows: number, cols: number, spread = 1): Matrix {
  const m = matrix(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = spread * (rng.random() * 2 - 1) * (1 + (i % cols));
  return m;
}

/** A raw file from its parts, for hand-built and edited headers. */
function build(header: unknown, data: Uint8Array, opts: { headerText?: string; padding?: number[] } = {}): Uint8Array {
  const json = new TextEncoder().encode(opts.headerText ?? JSON.stringify(header));
  const pad = opts.padding ?? new Array((8 - ((12 + json.length) % 8)) % 8).fill(0);
  const out = new Uint8Array(12 + json.length + pad.length + data.length);
  out.set(new TextEncoder().encode(CODES_MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  out.set(pad, 12 + json.length);
  out.set(data, 12 + json.length + pad.length);
  return out;
}

function rejects(buf: Uint8Array, pattern: RegExp) {
  assert.throws(
    () => decodeCodes(buf, 'x.aec'),
    (err: unknown) => {
      assert.ok(err instanceof DataFormatError, `DataFormatError expected, got ${String(err)}`);
      assert.ok(err.message.startsWith('x.aec: '), err.message);
      assert.ok(!/[\n\r]/.test(err.message));
      assert.match(err.message, pattern);
      return true;
    },
  );
}

test('the known bytes of a tiny f16 file', () => {
  const bytes = encodeCodes(matrix(1, 2, new Float32Array([1, -2])), 'f16', { model: null });
  const header = '{"version":1,"dtype":"f16","rows":1,"dims":2,"model":null}';
  const expectedHex =
    '4145434f44455331' + // "AECODES1"
    '3a000000' + // header length 58, u32 little-endian
    Buffer.from(header).toString('hex') +
    '0000' + // 12 + 58 = 70, padded to 72
    '003c' + // 1.0 as half, little-endian
    '00c0'; // -2.0
  assert.equal(Buffer.from(bytes).toString('hex'), expectedHex);
  assert.equal(bytes.length, 76);
  const back = decodeCodes(bytes);
  assert.deepEqual(Array.from(back.codes.data), [1, -2]);
  assert.equal(back.dtype, 'f16');
  assert.equal(back.overheadBytes, 72);
  assert.deepEqual(back.meta, { model: null });
});

test('a hand-built q8 file dequantises as offset + scale * q', () => {
  const buf = build({ version: 1, dtype: 'q8', rows: 3, dims: 1, model: null, quant: { scale: [0.5], offset: [-1] } }, new Uint8Array([0, 4, 255]));
  const d = decodeCodes(buf);
  assert.deepEqual(Array.from(d.codes.data), [-1, 1, 126.5]);
  assert.deepEqual(d.quant, { scale: [0.5], offset: [-1] });
});

test('f32 round trips exactly, with the meta', () => {
  const rng = new Rng(1);
  const codes = randomCodes(rng, 37, 5, 100);
  codes.data[3] = -0;
  codes.data[4] = 1e-40; // a float32 subnormal
  const bytes = encodeCodes(codes, 'f32', META);
  assert.equal(bytes.length % 4, 0);
  const back = decodeCodes(bytes);
  assert.deepEqual(back.codes, codes);
  assert.ok(Object.is(back.codes.data[3], -0));
  assert.deepEqual(back.meta, META);
  assert.equal(back.quant, null);
  assert.equal(bytes.length - back.overheadBytes, 37 * 5 * 4);
});

test('f16 round trips within half precision', () => {
  const rng = new Rng(2);
  const codes = randomCodes(rng, 50, 7, 3);
  const back = decodeCodes(encodeCodes(codes, 'f16', META)).codes;
  for (let i = 0; i < codes.data.length; i++) {
    const v = codes.data[i]!;
    // Relative error at most 2^-11 for normal halves, absolute 2^-25 for subnormal ones.
    assert.ok(Math.abs(back.data[i]! - v) <= Math.max(Math.abs(v) * 2 ** -11, 2 ** -25), `${v} -> ${back.data[i]}`);
  }
});

test('q8 round trips within scale/2 per dimension, and hits each dimension\'s min and max', () => {
  const rng = new Rng(3);
  const codes = randomCodes(rng, 200, 6, 2);
  for (let r = 0; r < 200; r++) codes.data[r * 6 + 5] = 0.25; // a constant dimension
  const d = decodeCodes(encodeCodes(codes, 'q8', META));
  const q = quantizationOf(codes);
  assert.deepEqual(d.quant, q);
  assert.equal(q.scale[5], 0);
  for (let i = 0; i < codes.data.length; i++) {
    const j = i % 6;
    const v = codes.data[i]!;
    const tol = q.scale[j]! / 2 + Math.abs(v) * 2 ** -23;
    assert.ok(Math.abs(d.codes.data[i]! - v) <= tol, `dim ${j}: ${v} -> ${d.codes.data[i]}`);
  }
  for (let j = 0; j < 6; j++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let r = 0; r < 200; r++) {
      lo = Math.min(lo, d.codes.data[r * 6 + j]!);
      hi = Math.max(hi, d.codes.data[r * 6 + j]!);
    }
    assert.equal(lo, Math.fround(q.offset[j]!));
    assert.ok(Math.abs(hi - (q.offset[j]! + 255 * q.scale[j]!)) <= 1e-6 * Math.max(1, Math.abs(hi)));
  }
  assert.equal(encodeCodes(codes, 'q8', META).length - d.overheadBytes, 200 * 6);
});

test('q8 rounds to nearest with ties up', () => {
  // offset 0, scale 1/255 * 255 = 1 over [0, 255]: values k + 0.5 are ties.
  const codes = matrix(4, 1, new Float32Array([0, 255, 2.5, 2.49]));
  const d = decodeCodes(encodeCodes(codes, 'q8', { model: null }));
  assert.deepEqual(Array.from(d.codes.data), [0, 255, 3, 2]);
});

test('half conversion: known values, ties to even, subnormals, overflow', () => {
  const cases: Array<[number, number]> = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [65519.996, 0x7bff],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // a tie between 0 and 2^-24: to even, 0
    [1.5 * 2 ** -25, 0x0001],
    [3 * 2 ** -25, 0x0002], // a tie between 1 and 2 units: to even, 2
    [Math.fround(0.1), 0x2e66],
    [1 + 2 ** -11, 0x3c00], // a tie: to even (down)
    [1 + 3 * 2 ** -11, 0x3c02], // a tie: to even (up)
    [2 ** -14 - 2 ** -25, 0x0400], // the largest subnormal's upper tie rounds up into the normals
  ];
  for (const [v, bits] of cases) assert.equal(float32ToHalfBits(v), bits, `${v}`);
  assert.equal(float32ToHalfBits(65520), 0x7c00);
  assert.equal(float32ToHalfBits(-1e6), 0xfc00);
  assert.equal(halfBitsToNumber(0x7c00), Infinity);
  assert.ok(Number.isNaN(halfBitsToNumber(0x7e01)));
  assert.throws(() => encodeCodes(matrix(1, 1, new Float32Array([70000])), 'f16', { model: null }), (e: unknown) => e instanceof ValidationError && /65520/.test(e.message));
});

test('half conversion: every finite half round trips, and midpoints round to even (exhaustive)', () => {
  const below = (x: number) => {
    const f = new Float32Array([x]);
    const u = new Uint32Array(f.buffer);
    u[0] = u[0]! - 1;
    return f[0]!;
  };
  for (let h = 0; h < 0x7c00; h++) {
    const v = halfBitsToNumber(h);
    assert.equal(Math.fround(v), v);
    assert.equal(float32ToHalfBits(v), h);
    assert.equal(float32ToHalfBits(-v), h | 0x8000);
    if (h + 1 < 0x7c00) {
      const next = halfBitsToNumber(h + 1);
      const mid = (v + next) / 2; // exact in float32: one more bit of significand
      assert.equal(Math.fround(mid), mid);
      assert.equal(float32ToHalfBits(mid), h % 2 === 0 ? h : h + 1, `midpoint above ${h.toString(16)}`);
      assert.equal(float32ToHalfBits(below(mid)), h);
      if (h > 0) assert.equal(float32ToHalfBits(below(v)), h, `just below ${h.toString(16)}`);
    }
  }
});

test('each malformed file is a one-line DataFormatError naming the source', () => {
  const good = { version: 1, dtype: 'f32', rows: 2, dims: 2, model: null };
  const data = new Uint8Array(16);
  decodeCodes(build(good, data)); // the base is valid
  rejects(new Uint8Array(5), /at least 12 bytes.*received 5 bytes/);
  rejects(new Uint8Array(0), /received 0 bytes/);
  const wrongMagic = build(good, data);
  wrongMagic[7] = 0x32;
  rejects(wrongMagic, /magic: expected "AECODES1".*"AECODES2"/);
  const longHeader = build(good, data);
  new DataView(longHeader.buffer).setUint32(8, 1e6, true);
  rejects(longHeader, /header length: expected 2 to \d+ bytes.*received 1000000/);
  const zeroHeader = build(good, data);
  new DataView(zeroHeader.buffer).setUint32(8, 0, true);
  rejects(zeroHeader, /header length/);
  rejects(build(null, data, { headerText: '{"version":1,' }), /header: expected a JSON object/);
  rejects(build(null, data, { headerText: '[1,2]' }), /header: expected a JSON object/);
  const badUtf8 = build(null, data, { headerText: '{"a":"xx"}' });
  badUtf8[18] = 0xff;
  rejects(badUtf8, /header: expected UTF-8 text/);
  // A million nested brackets parse, and must not overflow the stack while being described.
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  rejects(build(null, data, { headerText: deep(1e6) }), /header: expected a JSON object, received an array of 1 entry/);
  rejects(build(null, data, { headerText: `{"version":1,"dtype":"f32","rows":${deep(1e6)},"dims":2,"model":null}` }), /header "rows": expected a positive integer, received an array of 1 entry/);
  rejects(build(null, data, { headerText: `{"version":1,"dtype":"f32","rows":2,"dims":2,"model":null,"note":${'{"a":'.repeat(1e5)}1${'}'.repeat(1e5)}}` }), /header "note": expected a string .*received an object with keys "a"/);
  rejects(build({ ...good, version: 2 }, data), /header "version": expected 1, received 2/);
  rejects(build({ ...good, dtype: 'f64' }, data), /header "dtype": expected one of f32, f16, q8, received "f64"/);
  rejects(build({ ...good, rows: 0 }, data), /header "rows": expected a positive integer, received 0/);
  rejects(build({ ...good, rows: 1.5 }, data), /header "rows": expected a positive integer, received 1.5/);
  rejects(build({ ...good, rows: '2' }, data), /header "rows"/);
  rejects(build({ ...good, dims: -2 }, data), /header "dims": expected an integer in \[1, 1048576\], received -2/);
  rejects(build({ ...good, extra: 1 }, data), /header key: expected one of .*received "extra"/);
  rejects(build({ version: 1, dtype: 'f32', rows: 2, dims: 2 }, data), /header "model": expected null or an object/);
  rejects(build({ ...good, model: { fingerprint: 'md5:00', description: '' } }, data), /header "model.fingerprint"/);
  rejects(build({ ...good, model: { fingerprint: FP } }, data), /header "model.description"/);
  rejects(build({ ...good, note: 5 }, data), /header "note": expected a string/);
  rejects(build({ ...good, quant: { scale: [1, 1], offset: [0, 0] } }, data), /header "quant": expected absent unless dtype is q8/);
  rejects(build(good, data.subarray(0, 12)), /data: expected 2x2 f32 values = 16 bytes after the header, received 12 bytes \(truncated\)/);
  rejects(build(good, new Uint8Array(17)), /received 17 bytes \(trailing bytes\)/);
  rejects(build(good, new Uint8Array(0)).subarray(0, 70), /file that ends inside the padding|header length/);
  rejects(build(good, data, { padding: [0, 1] }), /padding byte at offset \d+: expected 0, received 1/);
  const nan = new Uint8Array(16);
  new DataView(nan.buffer).setFloat32(8, NaN, true);
  rejects(build(good, nan), /value at row 1, dim 0: expected a finite number, received NaN/);
  const inf16 = new Uint8Array(8);
  new DataView(inf16.buffer).setUint16(6, 0xfc00, true);
  rejects(build({ ...good, dtype: 'f16' }, inf16), /value at row 1, dim 1: expected a finite number, received -Infinity/);
  const q8 = { ...good, dtype: 'q8' };
  const q8data = new Uint8Array(4);
  decodeCodes(build({ ...q8, quant: { scale: [1, 2], offset: [0, -1] } }, q8data));
  rejects(build(q8, q8data), /header "quant": expected an object \{scale, offset\} for dtype q8/);
  rejects(build({ ...q8, quant: { scale: [1], offset: [0, 0] } }, q8data), /header "quant.scale": expected an array of 2 numbers \(dims\), received an array of 1 entry/);
  rejects(build({ ...q8, quant: { scale: [1, 1], offset: [0, 0, 0] } }, q8data), /header "quant.offset": expected an array of 2 numbers/);
  rejects(build({ ...q8, quant: { scale: [1, -1], offset: [0, 0] } }, q8data), /header "quant.scale\[1\]": expected a number >= 0, received -1/);
  rejects(build({ ...q8, quant: { scale: [1, 'x'], offset: [0, 0] } }, q8data), /header "quant.scale\[1\]": expected a finite number/);
  rejects(build(null, q8data, { headerText: '{"version":1,"dtype":"q8","rows":2,"dims":2,"model":null,"quant":{"scale":[1,1],"offset":[0,1e999]}}' }), /header "quant.offset\[1\]": expected a finite number, received Infinity/);
  rejects(build({ ...q8, quant: { scale: [1, 1e38], offset: [0, 0] } }, q8data), /header "quant" dimension 1: expected offset and offset \+ 255·scale within the float32 range/);
  rejects(build({ ...q8, quant: { scale: [1, 1], offset: [0, 0], zero: [] } }, q8data), /only the keys scale and offset/);
});

test('encoding refuses what a file cannot hold', () => {
  const bad = (f: () => unknown, pattern: RegExp) => assert.throws(f, (e: unknown) => e instanceof ValidationError && pattern.test(e.message));
  bad(() => encodeCodes(matrix(0, 3), 'f32', { model: null }), /codes rows: expected a positive integer, received 0/);
  bad(() => encodeCodes(matrix(2, 0), 'f32', { model: null }), /codes dims/);
  bad(() => encodeCodes(matrix(1, 2, new Float32Array([1, NaN])), 'q8', { model: null }), /code at row 0, dim 1: expected a finite number, received NaN/);
  bad(() => encodeCodes(matrix(1, 1), 'f64' as CodeDtype, { model: null }), /codes dtype/);
  bad(() => encodeCodes(matrix(1, 1), 'f32', { model: { fingerprint: 'nope', description: '' } }), /fingerprint/);
  bad(() => encodeCodes(matrix(1, 1), 'f32', { model: null, note: 'x'.repeat(501) }), /note/);
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
  const path = join(dir, 'c.aec');
  const codes = randomCodes(new Rng(4), 3, 4);
  const n = writeCodesFile(path, codes, 'f32', META);
  assert.equal(readFileSync(path).length, n);
  assert.deepEqual(readdirSync(dir), ['c.aec']);
  assert.deepEqual(readCodesFile(path).codes, codes);
  assert.throws(() => readCodesFile(join(dir, 'missing.aec')), (e: unknown) => e instanceof DataFormatError && /missing\.aec.*ENOENT/.test(e.message));
  writeFileSync(join(dir, 'bad.aec'), 'hello');
  assert.throws(() => readCodesFile(join(dir, 'bad.aec')), (e: unknown) => e instanceof DataFormatError && /bad\.aec: file: expected at least 12 bytes/.test(e.message));
});

test('fuzz: every mutant decodes to finite codes or throws DataFormatError', () => {
  const rng = new Rng(20240607);
  const bases: Uint8Array[] = (['f32', 'f16', 'q8'] as const).map((dt) => encodeCodes(randomCodes(rng, 4, 3), dt, META));
  bases.push(encodeCodes(randomCodes(rng, 2, 2), 'q8', { model: null }));
  const headerEdits: Array<(h: Record<string, unknown>) => void> = [
    (h) => (h.rows = (h.rows as number) + rng.int(3) - 1),
    (h) => (h.dims = [0, -1, 1.5, 1e300, '3', null, 2 ** 53, (h.dims as number) + 1][rng.int(8)]),
    (h) => (h.dtype = ['f32', 'f16', 'q8', 'u8', 1][rng.int(5)]),
    (h) => delete h[['version', 'dtype', 'rows', 'dims', 'model', 'quant', 'note'][rng.int(7)]!],
    (h) => (h.quant = [undefined, null, {}, { scale: [1, 2, 3], offset: [0, 0, 0] }, { scale: [-1, 1, 1], offset: [0, 0, 0] }, { scale: [1e308, 1, 1], offset: [1e308, 0, 0] }][rng.int(6)]),
    (h) => (h.model = [null, {}, { fingerprint: FP, description: 7 }, { fingerprint: FP.toUpperCase(), description: '' }][rng.int(4)]),
    (h) => (h.version = [0, 2, '1', 1.0][rng.int(4)]),
    (h) => (h[String.fromCharCode(97 + rng.int(26))] = rng.random()),
  ];
  const counts = { ok: 0, rejected: 0 };
  for (let t = 0; t < 4000; t++) {
    const base = bases[t % bases.length]!;
    let buf: Uint8Array = base.slice();
    const kind = rng.int(7);
    const len = new DataView(base.buffer).getUint32(8, true);
    const dataStart = 12 + len + ((8 - ((12 + len) % 8)) % 8);
    if (kind === 5) {
      // Inside the data: random bytes, so values of every kind (subnormal, huge, Inf, NaN) turn up.
      for (let k = 1 + rng.int(3); k > 0; k--) buf[dataStart + rng.int(buf.length - dataStart)] = [0xff, 0x7f, 0x7c, 0x80, rng.int(256)][rng.int(5)]!;
    } else if (kind === 6) {
      // One aligned 4-byte group of ones: a NaN for f32 and f16, 255s for q8.
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
      const h = JSON.parse(new TextDecoder().decode(base.subarray(12, 12 + len))) as Record<string, unknown>;
      headerEdits[rng.int(headerEdits.length)]!(h);
      buf = build(h, base.subarray(dataStart));
    }
    try {
      const d = decodeCodes(buf, 'fuzz.aec');
      assert.equal(d.codes.data.length, d.codes.rows * d.codes.cols);
      for (const v of d.codes.data) assert.ok(Number.isFinite(v));
      counts.ok++;
    } catch (err) {
      if (!(err instanceof DataFormatError)) throw new Error(`mutant ${t} (kind ${kind}) threw ${String(err)}`);
      assert.ok(err.message.startsWith('fuzz.aec: ') && !/[\n\r\u2028\u2029]/.test(err.message), err.message);
      counts.rejected++;
    }
  }
  // Both outcomes occur: byte flips in the data decode, most header damage does not.
  assert.ok(counts.ok > 200 && counts.rejected > 1000, JSON.stringify(counts));
});

// ---------------------------------------------------------------------------------------------
// Header limits, checked before the header is decoded

/** The 12-byte preamble with header length `h`. */
function preamble(h: number): Uint8Array {
  const out = new Uint8Array(12);
  out.set(new TextEncoder().encode(CODES_MAGIC), 0);
  new DataView(out.buffer).setUint32(8, h, true);
  return out;
}

test('a header over 64 MiB is refused from the preamble, naming the limit and the size, not as invalid UTF-8', () => {
  assert.equal(MAX_CODES_HEADER_BYTES, 64 * 1024 * 1024);
  rejects(preamble(600 * 1024 * 1024), /^x\.aec: header length: expected at most 64 MiB \(67108864 bytes\), received 600 MiB \(629145600 bytes\)$/);
  rejects(preamble(0xffffffff), /received 4\.0 GiB \(4294967295 bytes\)$/);
  rejects(preamble(MAX_CODES_HEADER_BYTES + 1), /expected at most 64 MiB .*received 64\.0 MiB \(67108865 bytes\)$/);
  // At the limit, the length is allowed, and then checked against what the file holds.
  rejects(preamble(MAX_CODES_HEADER_BYTES), /header length: expected 2 to 2 bytes \(what follows the preamble\), received 67108864$/);
});

test('readCodesFile refuses a 600 MB header without reading the file (a sparse 600 MB file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-codes-limit-'));
  try {
    const path = join(dir, 'big.aec');
    const fd = openSync(path, 'w');
    writeSync(fd, preamble(600 * 1024 * 1024));
    ftruncateSync(fd, 12 + 600 * 1024 * 1024); // a hole: no 600 MB written
    closeSync(fd);
    const t0 = performance.now();
    assert.throws(() => readCodesFile(path), (e: unknown) => e instanceof DataFormatError && e.message === `${path}: header length: expected at most 64 MiB (67108864 bytes), received 600 MiB (629145600 bytes)`);
    assert.ok(performance.now() - t0 < 2000, 'refused without reading 600 MB');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a header of more JSON items than a valid one can have is refused before parsing', () => {
  const data = new Uint8Array(16);
  const many = `{"version":1,"dtype":"f32","rows":2,"dims":2,"model":null,"note":[${'0,'.repeat(MAX_CODES_HEADER_ITEMS)}0]}`;
  rejects(build(null, data, { headerText: many }), /^x\.aec: header: expected at most 2097216 JSON items \(keys, array elements, objects, arrays\), received \d+$/);
});

test('the largest header version 1 allows (q8 at 2^20 dims, longest numbers) is written and read back', () => {
  // -1.2345678e-6 prints as 25 characters ("-0.0000012345678..."), the longest a float32 offset gets.
  const codes = matrix(2, MAX_DIMS);
  for (let j = 0; j < MAX_DIMS; j++) {
    codes.data[j] = -1.2345678e-6 * (1 + j / MAX_DIMS);
    codes.data[MAX_DIMS + j] = 9.8765432e-7 * (1 + j / MAX_DIMS);
  }
  const bytes = encodeCodes(codes, 'q8', { model: { fingerprint: FP, description: '\u2028'.repeat(500) }, note: '"'.repeat(500) });
  const headerLength = new DataView(bytes.buffer).getUint32(8, true);
  assert.ok(headerLength > 45e6 && headerLength <= MAX_CODES_HEADER_BYTES, `header of ${headerLength} bytes`);
  assert.equal(decodeCodes(bytes).codes.cols, MAX_DIMS);
});
