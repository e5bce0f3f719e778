import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelFormatError, ValidationError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import {
  MAX_HEADER_BYTES,
  MAX_HEADER_ITEMS,
  MAX_TENSORS,
  decodeSafetensors,
  encodeSafetensors,
  floatData,
  parseSafetensors,
  readSafetensorsFile,
  writeSafetensorsFile,
  type SafetensorsFile,
  type TensorInput,
} from './safetensors.js';
import { float32ToHalfBits, halfToFloat } from './half.js';

// ---------------------------------------------------------------------------------------------
// Helpers that build files byte by byte, independently of the encoder.

const utf8 = new TextEncoder();

/** Length field + header bytes + data bytes; `length` overrides the length field. */
function frame(header: string | object | Uint8Array, data: Uint8Array = new Uint8Array(0), length?: bigint): Uint8Array {
  const h = header instanceof Uint8Array ? header : utf8.encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function f32le(values: number[]): Uint8Array {
  const out = new Uint8Array(4 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return out;
}

function u16le(values: number[]): Uint8Array {
  const out = new Uint8Array(2 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint16(2 * i, v, true));
  return out;
}

function f64le(values: number[]): Uint8Array {
  const out = new Uint8Array(8 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat64(8 * i, v, true));
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

function entry(dtype: string, shape: unknown, offsets: unknown): Record<string, unknown> {
  return { dtype, shape, data_offsets: offsets };
}

/** Asserts a ModelFormatError whose one-line message names the source and matches `re`. */
function rejects(buf: Uint8Array, re: RegExp, source = 'test.safetensors'): void {
  assert.throws(
    () => decodeSafetensors(buf, source),
    (err: unknown) => {
      assert.ok(err instanceof ModelFormatError, `expected ModelFormatError, got ${String(err)}`);
      assert.match(err.message, re);
      assert.ok(err.message.startsWith(`${source}: `), err.message);
      assert.ok(!/[\r\n]/.test(err.message), 'message must be one line');
      return true;
    },
  );
}

function bits(a: Float32Array): number[] {
  return [...new Uint32Array(a.buffer, a.byteOffset, a.length)];
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

// ---------------------------------------------------------------------------------------------
// Encoding and round trips

test('round trip keeps names, order, shapes, bit-exact values and metadata', () => {
  const rng = new Rng(7);
  const special = new Float32Array([0, -0, 1, -2, Infinity, -Infinity, NaN, 1e-45, 3.4028234663852886e38, 0.1]);
  // A NaN with a payload must survive too, so the data is compared as bits.
  new Uint32Array(special.buffer)[6] = 0x7fc12345;
  const input: Array<[string, TensorInput]> = [
    ['encoder.0.weight', { shape: [3, 4], data: rng.fillUniform(new Float32Array(12), -1, 1) }],
    ['encoder.0.bias', { shape: [3], data: rng.fillUniform(new Float32Array(3), -1, 1) }],
    ['special', { shape: [2, 5], data: special }],
    ['scalar', { shape: [], data: new Float32Array([42]) }],
    ['empty', { shape: [0, 7], data: new Float32Array(0) }],
    ['10', { shape: [1], data: new Float32Array([10]) }],
    ['2', { shape: [1], data: new Float32Array([2]) }],
    ['a', { shape: [1, 1, 1], data: new Float32Array([-5]) }],
  ];
  const metadata = { format: 'pt', 'aekit.config': '{"layers":[784,32]}', __proto__x: 'y' };
  const file = decodeSafetensors(encodeSafetensors(input, metadata));
  assert.deepEqual(file.metadata, metadata);
  // Integer-like names ("10", "2") would jump ahead in a plain object; the order must hold.
  assert.deepEqual([...file.tensors.keys()], input.map(([name]) => name));
  for (const [name, t] of input) {
    const got = file.tensors.get(name);
    assert.ok(got, name);
    assert.equal(got.dtype, 'F32');
    assert.deepEqual(got.shape, t.shape);
    assert.deepEqual(bits(got.data), bits(t.data as Float32Array), name);
  }
});

test('encoder accepts a Map and a decoded file re-encodes to identical bytes', () => {
  const tensors = new Map<string, TensorInput>([
    ['w', { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }],
    ['b', { shape: [2], data: new Float32Array([5, 6]) }],
  ]);
  const bytes = encodeSafetensors(tensors, { k: 'v' });
  const file = decodeSafetensors(bytes);
  assert.deepEqual([...file.tensors.keys()], ['w', 'b']);
  assert.deepEqual(encodeSafetensors(file.tensors, file.metadata), bytes);
});

test('encoder pads the header with spaces to a multiple of 8 bytes', () => {
  for (let nameLength = 1; nameLength <= 16; nameLength++) {
    const bytes = encodeSafetensors([['n'.repeat(nameLength), { shape: [1], data: new Float32Array([1]) }]]);
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(headerLength % 8, 0, `name length ${nameLength}`);
    assert.equal(bytes.length, 8 + headerLength + 4);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
    assert.match(header, /^\{.*\} *$/);
    assert.ok(header.trimEnd().length > headerLength - 8, 'at most 7 bytes of padding');
  }
});

test('encoder output matches a hand-built byte-level fixture', () => {
  // 57 bytes of JSON padded with 7 spaces to 64; then float32 1 and -2, little-endian.
  const header = '{"ab":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}';
  assert.equal(header.length, 57);
  const expectedBytes = new Uint8Array([
    64, 0, 0, 0, 0, 0, 0, 0,
    ...utf8.encode(header), 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x00, 0x00, 0x80, 0x3f,
    0x00, 0x00, 0x00, 0xc0,
  ]);
  const encoded = encodeSafetensors([['ab', { shape: [1, 2], data: new Float32Array([1, -2]) }]]);
  assert.deepEqual(encoded, expectedBytes);

  const decoded = decodeSafetensors(expectedBytes);
  assert.deepEqual(decoded.metadata, {});
  assert.deepEqual([...decoded.tensors.keys()], ['ab']);
  assert.deepEqual(decoded.tensors.get('ab')?.shape, [1, 2]);
  assert.deepEqual([...(decoded.tensors.get('ab')?.data ?? [])], [1, -2]);
});

test('metadata is written first, under __metadata__, and omitted when empty', () => {
  const one = encodeSafetensors([['x', { shape: [1], data: new Float32Array([0]) }]], { format: 'pt' });
  const n = Number(new DataView(one.buffer).getBigUint64(0, true));
  const text = new TextDecoder().decode(one.subarray(8, 8 + n)).trimEnd();
  assert.equal(text, '{"__metadata__":{"format":"pt"},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}');
  const none = encodeSafetensors([], {});
  assert.equal(new TextDecoder().decode(none.subarray(8)).trimEnd(), '{}');
  const file = decodeSafetensors(none);
  assert.equal(file.tensors.size, 0);
  assert.deepEqual(file.metadata, {});
});

test('encoder validates its inputs', () => {
  const ok = { shape: [2], data: new Float32Array(2) };
  const cases: Array<[() => unknown, RegExp]> = [
    [() => encodeSafetensors([['x', { shape: [3], data: new Float32Array(2) }]]), /tensor "x" data length: expected 3/],
    [() => encodeSafetensors([['x', ok], ['x', ok]]), /unique/],
    [() => encodeSafetensors([['', ok]]), /tensor name: expected a non-empty string/],
    [() => encodeSafetensors([['__metadata__', ok]]), /reserved/],
    [() => encodeSafetensors([['x', { shape: [-1], data: new Float32Array(0) }]]), /shape: expected an array of non-negative integers/],
    [() => encodeSafetensors([['x', { shape: [1.5], data: new Float32Array(0) }]]), /shape/],
    [() => encodeSafetensors([['x', { shape: [2], data: [1, 2] as unknown as Float32Array }]]), /Float32Array/],
    [() => encodeSafetensors([['x', ok]], { a: 1 } as unknown as Record<string, string>), /metadata "a": expected a string value/],
    [() => encodeSafetensors([['x', ok]], [] as unknown as Record<string, string>), /metadata: expected an object/],
  ];
  for (const [fn, re] of cases) {
    assert.throws(fn, (err: unknown) => err instanceof ValidationError && re.test(err.message) && !err.message.includes('\n'));
  }
});

test('encoder writes F16 (nearest half) and U8 (bytes as given) tensors when asked', () => {
  const halves = new Float32Array([1, -2, 65504, 2 ** -24, 0.1, -0, Infinity, NaN]);
  const bytes = new Uint8Array([0, 7, 255]);
  const buf = encodeSafetensors([
    ['h', { shape: [2, 4], data: halves, dtype: 'F16' }],
    ['u', { shape: [3], data: bytes, dtype: 'U8' }],
    ['f', { shape: [1], data: new Float32Array([0.1]), dtype: 'F32' }],
  ]);
  const n = Number(new DataView(buf.buffer).getBigUint64(0, true));
  assert.equal(
    new TextDecoder().decode(buf.subarray(8, 8 + n)).trimEnd(),
    '{"h":{"dtype":"F16","shape":[2,4],"data_offsets":[0,16]},"u":{"dtype":"U8","shape":[3],"data_offsets":[16,19]},"f":{"dtype":"F32","shape":[1],"data_offsets":[19,23]}}',
  );
  assert.deepEqual(Buffer.from(buf.subarray(8 + n, 8 + n + 16)).toString('hex'), '003c00c0ff7b0100662e00800 07c007e'.replace(/ /g, ''));
  assert.deepEqual(buf.subarray(8 + n + 16, 8 + n + 19), bytes);
  const raw = parseSafetensors(buf, 'mixed', { dtypes: ['F32', 'F16', 'U8'] });
  assert.deepEqual([...raw.tensors].map(([name, t]) => `${name} ${t.dtype} [${t.shape}] ${t.bytes.length}`), ['h F16 [2,4] 16', 'u U8 [3] 3', 'f F32 [1] 4']);
  assert.deepEqual(raw.tensors.get('u')!.bytes, bytes);
  const h = floatData(raw.tensors.get('h')!);
  assert.deepEqual(Array.from(h.subarray(0, 4)), [1, -2, 65504, 2 ** -24]);
  assert.equal(h[4], halfToFloat(float32ToHalfBits(0.1)));
  assert.ok(Object.is(h[5], -0) && h[6] === Infinity && Number.isNaN(h[7]));
  assert.deepEqual(floatData(raw.tensors.get('f')!), new Float32Array([0.1]));
  assert.throws(() => floatData(raw.tensors.get('u')!), (e: unknown) => e instanceof ValidationError && /floatData tensor dtype: expected one of F32, F64, F16, BF16, received "U8"/.test(e.message));
  // decodeSafetensors, what models are read with, never takes U8.
  rejects(buf, /tensor "u": unsupported dtype: expected one of F32, F64, F16, BF16, received "U8"$/);
  assert.deepEqual(decodeSafetensors(encodeSafetensors([['h', { shape: [8], data: halves, dtype: 'F16' }]])).tensors.get('h')!.data, h);
});

test('encoder refuses data of the wrong kind for its dtype, and values beyond the half range', () => {
  const bad = (fn: () => unknown, re: RegExp) => assert.throws(fn, (err: unknown) => err instanceof ValidationError && re.test(err.message) && !err.message.includes('\n'));
  bad(() => encodeSafetensors([['x', { shape: [2], data: new Float32Array(2), dtype: 'U8' }]]), /tensor "x" data: expected a Uint8Array \(for U8\), received "Float32Array"/);
  bad(() => encodeSafetensors([['x', { shape: [2], data: new Uint8Array(2), dtype: 'F16' }]]), /tensor "x" data: expected a Float32Array \(for F16\), received "Uint8Array"/);
  bad(() => encodeSafetensors([['x', { shape: [2], data: new Uint8Array(2) }]]), /tensor "x" data: expected a Float32Array \(for F32\)/);
  bad(() => encodeSafetensors([['x', { shape: [2], data: new Float32Array(2), dtype: 'F64' as 'F32' }]]), /tensor "x" dtype: expected one of F32, F16, U8, received "F64"/);
  bad(() => encodeSafetensors([['x', { shape: [3], data: new Float32Array([1, 65520, 2]), dtype: 'F16' }]]), /tensor "x" value 1 for F16: expected a magnitude below 65520 \(the half-precision range\), received 65520/);
});

test('parseSafetensors accepts only the dtypes asked for, and names them', () => {
  const u8 = frame({ x: entry('U8', [2], [0, 2]) }, new Uint8Array([1, 2]));
  assert.deepEqual(parseSafetensors(u8, 's', { dtypes: ['U8'] }).tensors.get('x')!.bytes, new Uint8Array([1, 2]));
  assert.throws(() => parseSafetensors(u8, 's'), (e: unknown) => e instanceof ModelFormatError && /^s: tensor "x": unsupported dtype: expected one of F32, F64, F16, BF16, received "U8"$/.test(e.message));
  const f64 = frame({ x: entry('F64', [1], [0, 8]) }, f64le([1]));
  assert.throws(() => parseSafetensors(f64, 's', { dtypes: ['F32', 'F16', 'U8'] }), (e: unknown) => e instanceof ModelFormatError && /^s: tensor "x": unsupported dtype: expected one of F32, F16, U8, received "F64"$/.test(e.message));
  assert.throws(() => parseSafetensors(frame({ x: entry('u8', [2], [0, 2]) }, new Uint8Array(2)), 's', { dtypes: ['U8'] }), (e: unknown) => e instanceof ModelFormatError && /^s: tensor "x" dtype: expected one of U8, received "u8"$/.test(e.message));
});

// ---------------------------------------------------------------------------------------------
// Decoding details

test('F32 data at an unaligned offset decodes correctly and is an independent copy', () => {
  // One F16 element (2 bytes) first puts the F32 tensor at data offset 2, and the whole file
  // is placed at byte 1 of its buffer, so neither the file nor the tensor is 4-byte aligned.
  const header = { h: entry('F16', [1], [0, 2]), f: entry('F32', [3], [2, 14]) };
  const file = frame(header, concat(u16le([0x3c00]), f32le([1.5, -2.25, 1e30])));
  const backing = new Uint8Array(file.length + 1);
  backing.set(file, 1);
  const buf = backing.subarray(1);
  const decoded = decodeSafetensors(buf);
  const f = decoded.tensors.get('f');
  assert.ok(f);
  assert.deepEqual([...f.data], [1.5, -2.25, Math.fround(1e30)]);
  assert.deepEqual([...(decoded.tensors.get('h')?.data ?? [])], [1]);
  assert.notEqual(f.data.buffer, backing.buffer);
  backing.fill(0xff);
  assert.deepEqual([...f.data], [1.5, -2.25, Math.fround(1e30)], 'must not alias the input');
});

test('decoding a pooled Node Buffer copies only the tensor bytes', () => {
  const bytes = encodeSafetensors([['x', { shape: [2], data: new Float32Array([3, 4]) }]]);
  // Small Buffers share one large pooled ArrayBuffer, so buffer-level shortcuts would break.
  const pooled = Buffer.from(bytes);
  const x = decodeSafetensors(pooled).tensors.get('x');
  assert.ok(x);
  assert.equal(x.data.length, 2);
  assert.equal(x.data.buffer.byteLength, 8);
  pooled.fill(0);
  assert.deepEqual([...x.data], [3, 4]);
});

test('aligned F32 data is copied as well', () => {
  const bytes = encodeSafetensors([['x', { shape: [2], data: new Float32Array([3, 4]) }]]);
  const x = decodeSafetensors(bytes).tensors.get('x');
  assert.ok(x);
  assert.notEqual(x.data.buffer, bytes.buffer);
  bytes.fill(0);
  assert.deepEqual([...x.data], [3, 4]);
});

test('F16 decodes known values', () => {
  const halves = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x8000, 0x7c00, 0xfc00, 0x3555, 0x0000];
  const want = [1, -2, 65504, 2 ** -24, 2 ** -14, -0, Infinity, -Infinity, 0.333251953125, 0];
  const t = decodeSafetensors(frame({ h: entry('F16', [2, 5], [0, 20]) }, u16le(halves))).tensors.get('h');
  assert.ok(t);
  assert.deepEqual(t.shape, [2, 5]);
  assert.deepEqual([...t.data], want);
  assert.ok(Object.is(t.data[5], -0));
  const nan = decodeSafetensors(frame({ h: entry('F16', [2], [0, 4]) }, u16le([0x7e00, 0xfc01]))).tensors.get('h');
  assert.ok(nan && Number.isNaN(nan.data[0]) && Number.isNaN(nan.data[1]));
});

test('BF16 decodes known values', () => {
  const t = decodeSafetensors(
    frame({ b: entry('BF16', [6], [0, 12]) }, u16le([0x3f80, 0xc000, 0x7f80, 0x0000, 0x8000, 0x3e20])),
  ).tensors.get('b');
  assert.ok(t);
  assert.deepEqual([...t.data], [1, -2, Infinity, 0, -0, 0.15625]);
  assert.ok(Object.is(t.data[4], -0));
});

test('F64 decodes known values, rounding to float32', () => {
  const t = decodeSafetensors(frame({ d: entry('F64', [5], [0, 40]) }, f64le([1, -2, 0.1, 1e300, -1e-300]))).tensors.get('d');
  assert.ok(t);
  assert.deepEqual([...t.data], [1, -2, Math.fround(0.1), Infinity, -0]);
});

test('tensors come back in data order, and zero-length tensors are allowed anywhere', () => {
  const header = {
    late: entry('F32', [1], [4, 8]),
    none: entry('F32', [0], [4, 4]),
    early: entry('F32', [1], [0, 4]),
    tail: entry('F32', [3, 0], [8, 8]),
  };
  const file = decodeSafetensors(frame(header, f32le([1, 2])));
  assert.deepEqual([...file.tensors.keys()], ['early', 'none', 'late', 'tail']);
  assert.deepEqual([...(file.tensors.get('late')?.data ?? [])], [2]);
  assert.equal(file.tensors.get('tail')?.data.length, 0);
});

test('header padding and surrounding whitespace are accepted', () => {
  const file = decodeSafetensors(frame(' \n{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}\t  ', f32le([7])));
  assert.deepEqual([...(file.tensors.get('x')?.data ?? [])], [7]);
});

test('file round trip through writeSafetensorsFile and readSafetensorsFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-st-'));
  try {
    const path = join(dir, 'model.safetensors');
    const tensors: Array<[string, TensorInput]> = [['w', { shape: [2], data: new Float32Array([0.5, -0.5]) }]];
    writeSafetensorsFile(path, tensors, { epoch: '3' });
    writeSafetensorsFile(path, tensors, { epoch: '4' });
    assert.deepEqual(readdirSync(dir), ['model.safetensors']);
    assert.deepEqual(new Uint8Array(readFileSync(path)), encodeSafetensors(tensors, { epoch: '4' }));
    const file = readSafetensorsFile(path);
    assert.deepEqual(file.metadata, { epoch: '4' });
    assert.deepEqual([...(file.tensors.get('w')?.data ?? [])], [0.5, -0.5]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Every malformation is a ModelFormatError

const GOOD_DATA = f32le([1, 2]);

test('rejects a file shorter than 8 bytes', () => {
  rejects(new Uint8Array(0), /file size: expected at least 8 bytes.*received 0$/);
  rejects(new Uint8Array(7), /file size: expected at least 8 bytes.*received 7$/);
});

test('rejects a header length of 0', () => {
  rejects(frame('', new Uint8Array(16)), /header length: expected a positive number of bytes, received 0$/);
});

test('rejects a header length larger than the file', () => {
  rejects(frame('{}', new Uint8Array(0), 3n), /header length: expected at most 2 bytes.*received 3$/);
  rejects(new Uint8Array([16, 0, 0, 0, 0, 0, 0, 0]), /header length: expected at most 0 bytes/);
});

test('rejects an absurd header length', () => {
  rejects(frame('{}', new Uint8Array(0), 100_000_001n), /header length: expected at most 16 MiB \(16777216 bytes\), received 95\.4 MiB \(100000001 bytes\)$/);
  rejects(frame('{}', new Uint8Array(0), 2n ** 64n - 1n), /received 16\.0 EiB \(18446744073709551615 bytes\)$/);
  rejects(frame('{}', new Uint8Array(0), 2n ** 53n + 1n), /received 8\.0 PiB \(9007199254740993 bytes\)$/);
});

test('rejects a header that is not valid UTF-8', () => {
  rejects(frame(new Uint8Array([0x7b, 0xff, 0x7d])), /header: expected valid UTF-8/);
  // An overlong encoding of '{' and a lone surrogate are invalid UTF-8 too.
  rejects(frame(new Uint8Array([0xc1, 0xbb, 0x7d])), /valid UTF-8/);
  rejects(frame(new Uint8Array([0x7b, 0xed, 0xa0, 0x80, 0x7d])), /valid UTF-8/);
});

test('rejects a header that is not valid JSON', () => {
  rejects(frame('{"x":'), /header: expected valid JSON, received /);
  rejects(frame('{"x":1}\n\n{'), /header: expected valid JSON/);
  rejects(frame('\ufeff{}'), /header: expected valid JSON/);
  rejects(frame('{}\u0000'), /header: expected valid JSON/);
});

test('rejects a header that is not a JSON object', () => {
  rejects(frame('[]'), /header: expected a JSON object, received \[\]$/);
  rejects(frame('null'), /header: expected a JSON object, received null$/);
  rejects(frame('42'), /header: expected a JSON object, received 42$/);
  rejects(frame('"{}"'), /header: expected a JSON object/);
});

test('rejects __metadata__ that is not an object of strings', () => {
  rejects(frame({ __metadata__: 'pt' }), /__metadata__: expected an object of strings, received "pt"$/);
  rejects(frame({ __metadata__: ['a'] }), /__metadata__: expected an object of strings/);
  rejects(frame({ __metadata__: null }), /__metadata__: expected an object of strings, received null$/);
  rejects(frame({ __metadata__: { epoch: 3 } }), /__metadata__ "epoch": expected a string value, received 3$/);
  rejects(frame({ __metadata__: { nested: { a: 'b' } } }), /__metadata__ "nested": expected a string value/);
});

test('rejects an entry that is not an object', () => {
  rejects(frame({ x: [1, 2] }), /tensor "x": expected an object with dtype, shape and data_offsets, received \[1,2\]$/);
  rejects(frame({ x: 'F32' }), /tensor "x": expected an object/);
  rejects(frame({ x: null }), /tensor "x": expected an object.*received null$/);
});

test('rejects an entry with missing or extra keys', () => {
  rejects(frame({ x: { dtype: 'F32', shape: [2] } }, GOOD_DATA), /tensor "x": expected a "data_offsets" key/);
  rejects(frame({ x: { shape: [2], data_offsets: [0, 8] } }, GOOD_DATA), /tensor "x": expected a "dtype" key/);
  rejects(
    frame({ x: { ...entry('F32', [2], [0, 8]), offset: 0 } }, GOOD_DATA),
    /tensor "x": expected only the keys dtype, shape and data_offsets, received \["dtype","shape","data_offsets","offset"\]$/,
  );
});

test('rejects an unknown dtype, listing the supported ones', () => {
  for (const dtype of ['F33', 'f32', '', 'float32']) {
    rejects(frame({ x: entry(dtype, [2], [0, 8]) }, GOOD_DATA), /tensor "x" dtype: expected one of F32, F64, F16, BF16, received /);
  }
  rejects(frame({ x: { dtype: 32, shape: [2], data_offsets: [0, 8] } }, GOOD_DATA), /dtype: expected one of F32, F64, F16, BF16, received 32$/);
  // Must not be fooled by inherited property names.
  rejects(frame({ x: entry('toString', [2], [0, 8]) }, GOOD_DATA), /dtype: expected one of/);
});

test('rejects valid but unsupported safetensors dtypes', () => {
  for (const [dtype, size] of [['I64', 8], ['I32', 4], ['I16', 2], ['I8', 1], ['U8', 1], ['BOOL', 1], ['U64', 8], ['F8_E4M3', 1]] as const) {
    rejects(
      frame({ x: entry(dtype, [2], [0, 2 * size]) }, new Uint8Array(2 * size)),
      new RegExp(`tensor "x": unsupported dtype: expected one of F32, F64, F16, BF16, received "${dtype}"$`),
    );
  }
});

test('rejects a shape that is not an array of non-negative safe integers', () => {
  const bad: unknown[] = [2, '2', null, [-1], [1.5], [2 ** 53], ['2'], [[2]], [null], [1e400]];
  for (const shape of bad) {
    // 1e400 cannot be expressed through JSON.stringify, so write that header by hand.
    const header = shape instanceof Array && shape[0] === Infinity
      ? '{"x":{"dtype":"F32","shape":[1e400],"data_offsets":[0,8]}}'
      : { x: entry('F32', shape, [0, 8]) };
    rejects(frame(header, GOOD_DATA), /tensor "x" shape: expected an array of non-negative integers/);
  }
  // Each dimension is safe but the element count is not.
  rejects(frame({ x: entry('F32', [2 ** 30, 2 ** 30, 2 ** 30], [0, 8]) }, GOOD_DATA), /shape: expected an element count below 2\^53/);
});

test('rejects data_offsets that are not [begin, end] of safe integers with begin <= end', () => {
  const bad: unknown[] = [[0], [0, 8, 8], '0,8', { 0: 0, 1: 8 }, [0, '8'], [-8, 0], [0.5, 8.5], [0, 2 ** 53], null];
  for (const offsets of bad) {
    rejects(frame({ x: entry('F32', [2], offsets) }, GOOD_DATA), /tensor "x" data_offsets: expected \[begin, end\] of non-negative integers/);
  }
  rejects(frame({ x: entry('F32', [0], [8, 0]) }, GOOD_DATA), /tensor "x" data_offsets: expected begin <= end, received \[8,0\]$/);
});

test('rejects data_offsets whose span does not match shape and dtype', () => {
  rejects(frame({ x: entry('F32', [3], [0, 8]) }, GOOD_DATA), /data_offsets: expected a span of 12 bytes \(3 x F32\), received \[0,8\]$/);
  rejects(frame({ x: entry('F16', [2], [0, 8]) }, GOOD_DATA), /expected a span of 4 bytes \(2 x F16\)/);
  rejects(frame({ x: entry('F32', [2 ** 26, 2 ** 26], [0, 8]) }, GOOD_DATA), /expected a span of/);
});

test('rejects offsets beyond the data section', () => {
  rejects(frame({ x: entry('F32', [2], [4, 12]) }, GOOD_DATA), /tensor "x" data_offsets: expected to end within the 8-byte data section, received \[4,12\]$/);
  rejects(frame({ x: entry('F32', [2], [0, 8]) }, new Uint8Array(4)), /end within the 4-byte data section/);
});

test('rejects overlapping tensors', () => {
  const header = { a: entry('F32', [2], [0, 8]), b: entry('F32', [1], [4, 8]) };
  rejects(frame(header, GOOD_DATA), /tensor "b" data_offsets: expected not to overlap tensor "a", which ends at 8, received \[4,8\]$/);
  // Two names for the same bytes are an overlap as well.
  rejects(frame({ a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [0, 8]) }, GOOD_DATA), /overlap/);
  // A zero-length tensor strictly inside another one.
  rejects(frame({ a: entry('F32', [2], [0, 8]), z: entry('F32', [0], [4, 4]) }, GOOD_DATA), /tensor "z".*overlap/);
});

test('rejects gaps between tensors', () => {
  const header = { a: entry('F32', [1], [0, 4]), b: entry('F32', [1], [8, 12]) };
  rejects(frame(header, f32le([1, 2, 3])), /tensor "b" data_offsets: expected to begin at 4 \(no gap in the data section\), received \[8,12\]$/);
  rejects(frame({ b: entry('F32', [1], [4, 8]) }, GOOD_DATA), /tensor "b" data_offsets: expected to begin at 0/);
});

test('rejects data not covered by the tensors', () => {
  rejects(frame({ x: entry('F32', [1], [0, 4]) }, GOOD_DATA), /data section: expected exactly 4 bytes \(the total size of the tensors\), received 8$/);
  rejects(frame({}, new Uint8Array(1)), /data section: expected exactly 0 bytes.*received 1$/);
  rejects(frame({ __metadata__: {} }, new Uint8Array(3)), /data section/);
});

test('names the source and escapes hostile tensor names in one line', () => {
  rejects(frame({ 'evil\nname\u2028x': null }), /tensor "evil\\nname x": expected an object/, 'my/model.safetensors');
  assert.throws(
    () => decodeSafetensors(new Uint8Array(3)),
    (err: unknown) => err instanceof ModelFormatError && err.message.startsWith('safetensors file: file size: expected'),
  );
});

test('"__proto__" as a tensor name or metadata key is plain data', () => {
  const header = '{"__metadata__":{"__proto__":"p"},"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
  const file = decodeSafetensors(frame(header, f32le([9])));
  assert.equal(Object.getPrototypeOf(file.metadata), Object.prototype);
  assert.deepEqual(Object.entries(file.metadata), [['__proto__', 'p']]);
  assert.deepEqual([...(file.tensors.get('__proto__')?.data ?? [])], [9]);
});

test('readSafetensorsFile reports a missing file or a directory as ModelFormatError naming the path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-st-'));
  try {
    const missing = join(dir, 'nope.safetensors');
    assert.throws(
      () => readSafetensorsFile(missing),
      (err: unknown) => err instanceof ModelFormatError && err.message === `${missing}: expected an existing safetensors file, received no such file`,
    );
    assert.throws(
      () => readSafetensorsFile(dir),
      (err: unknown) => err instanceof ModelFormatError && err.message.startsWith(`${dir}: expected a readable safetensors file`),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Seeded fuzzing: every mutant decodes to consistent tensors or throws ModelFormatError.

const PRINTABLE = ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~';
const NUMBER_POOL = ['-1', '0', '1', '2', '3', '4', '7', '8', '12', '16', '48', '1.5', '1e2', '-0', '9007199254740993', '1e400', '"4"', 'null', '[]'];
const DTYPE_POOL = ['F16', 'BF16', 'F64', 'I64', 'U8', 'BOOL', 'f32', 'F3', '', 'F32 ', 'C64', 'toString', '__proto__'];
const VALUE_POOL: unknown[] = [null, true, -1, 0, 1.5, 'x', 'F32', [], {}, [1, 2], [0, -1], [12], [2, 6], [4, 3], [1, 12, 1], [0, 48], 2 ** 53, [[1]], { a: 'b' }];

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

function headerLengthOf(buf: Uint8Array): number {
  return Number(new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getBigUint64(0, true));
}

/** Replaces the header (bytes 8..8+N) of a well-formed `buf`, keeping or fixing the length field. */
function withHeader(buf: Uint8Array, text: string, rng: Rng): Uint8Array {
  const n = headerLengthOf(buf);
  const data = buf.subarray(8 + n);
  const h = utf8.encode(text);
  // Mostly keep the framing consistent so the deeper checks get exercised.
  return frame(h, data, rng.int(10) === 0 ? BigInt(n) : undefined);
}

/** Edits the parsed header as a tree: the validator's per-field checks are the target. */
function structuralEdit(buf: Uint8Array, rng: Rng): Uint8Array {
  const n = headerLengthOf(buf);
  const header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + n))) as Record<string, unknown>;
  const keys = Object.keys(header);
  const key = pick(rng, keys);
  const target = header[key] as Record<string, unknown>;
  switch (rng.int(7)) {
    case 0: target[pick(rng, [...Object.keys(target), 'extra'])] = pick(rng, VALUE_POOL); break;
    case 1: delete target[pick(rng, Object.keys(target))]; break;
    case 2: header[key] = pick(rng, VALUE_POOL); break;
    case 3: {
      // Swap the offsets of two tensors: sometimes valid (equal sizes), mostly not.
      const other = header[pick(rng, keys)] as Record<string, unknown>;
      const t = target['data_offsets'];
      target['data_offsets'] = other['data_offsets'];
      other['data_offsets'] = t;
      break;
    }
    case 4: target['shape'] = pick(rng, VALUE_POOL); break;
    case 5: header[pick(rng, ['__metadata__', 'x', '', key])] = pick(rng, VALUE_POOL); break;
    default: delete header[key]; break;
  }
  return withHeader(buf, JSON.stringify(header), rng);
}

/** Text-level edits that keep most of the JSON intact: numbers and dtype strings. */
function textEdit(buf: Uint8Array, rng: Rng): Uint8Array {
  const n = headerLengthOf(buf);
  const text = new TextDecoder().decode(buf.subarray(8, 8 + n));
  const re = rng.int(2) === 0 ? /-?\d+(\.\d+)?([eE][+-]?\d+)?/g : /"F32"/g;
  const matches = [...text.matchAll(re)];
  if (matches.length === 0) return buf;
  const m = pick(rng, matches);
  const start = m.index ?? 0;
  let replacement: string;
  if (m[0] === '"F32"') {
    replacement = JSON.stringify(pick(rng, DTYPE_POOL));
  } else {
    const value = Number(m[0]);
    replacement = pick(rng, [...NUMBER_POOL, String(value + 1), String(value - 1), String(value * 2)]);
  }
  return withHeader(buf, text.slice(0, start) + replacement + text.slice(start + m[0].length), rng);
}

function byteEdit(buf: Uint8Array, rng: Rng): Uint8Array {
  const out = buf.slice();
  switch (rng.int(6)) {
    case 0: {
      for (let k = 1 + rng.int(4); k > 0 && out.length > 0; k--) out[rng.int(out.length)]! ^= 1 + rng.int(255);
      return out;
    }
    case 1: {
      if (out.length < 8) return out;
      const n = Math.min(headerLengthOf(out), out.length - 8);
      if (n <= 0) return out;
      for (let k = 1 + rng.int(8); k > 0; k--) out[8 + rng.int(n)] = PRINTABLE.charCodeAt(rng.int(PRINTABLE.length));
      return out;
    }
    case 2:
      return out.slice(0, rng.int(out.length + 1));
    case 3: {
      const extra = new Uint8Array(1 + rng.int(16)).map(() => rng.int(256));
      return concat(out, extra);
    }
    case 4: {
      if (out.length < 8) return out;
      const view = new DataView(out.buffer);
      const choice = rng.int(5);
      if (choice === 0) for (let i = 0; i < 8; i++) out[i] = rng.int(256);
      else if (choice === 1) view.setBigUint64(0, BigInt(Math.max(0, Math.min(2 ** 40, headerLengthOf(out)) + rng.int(33) - 16)), true);
      else if (choice === 2) view.setBigUint64(0, BigInt(rng.int(out.length + 1)), true);
      else if (choice === 3) view.setBigUint64(0, 2n ** 64n - 1n - BigInt(rng.int(3)), true);
      else view.setBigUint64(0, BigInt(100_000_000 + rng.int(3) - 1), true);
      return out;
    }
    default: {
      // Pure garbage, sometimes dressed as a JSON object.
      const len = rng.int(64);
      const garbage = new Uint8Array(len).map(() => rng.int(256));
      return rng.int(2) === 0 ? garbage : frame(`{${[...garbage].map((b) => PRINTABLE[b % PRINTABLE.length]).join('')}}`);
    }
  }
}

test('seeded fuzz: 5000 mutants either decode consistently or throw ModelFormatError', (t) => {
  const rng = new Rng(20240601);
  const base = encodeSafetensors(
    [
      ['encoder.0.weight', { shape: [3, 4], data: rng.fillUniform(new Float32Array(12), -1, 1) }],
      ['encoder.0.bias', { shape: [3], data: rng.fillUniform(new Float32Array(3), -1, 1) }],
      ['decoder.0.weight', { shape: [4, 3], data: rng.fillUniform(new Float32Array(12), -1, 1) }],
      ['decoder.0.bias', { shape: [4], data: rng.fillUniform(new Float32Array(4), -1, 1) }],
    ],
    { format: 'pt', 'aekit.config': '{"sizes":[4,3],"activation":"tanh"}' },
  );
  // The unmutated file must decode, or the fuzz would only exercise the first check.
  assert.equal(decodeSafetensors(base).tensors.size, 4);

  const started = performance.now();
  let decoded = 0;
  let rejected = 0;
  const rules = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    let mutant = base;
    const kind = rng.int(3);
    if (kind === 0) mutant = structuralEdit(mutant, rng);
    else if (kind === 1) mutant = textEdit(mutant, rng);
    for (let k = kind === 2 ? 1 + rng.int(3) : rng.int(2); k > 0; k--) mutant = byteEdit(mutant, rng);

    let file: SafetensorsFile;
    try {
      file = decodeSafetensors(mutant, 'fuzz.safetensors');
    } catch (err) {
      if (!(err instanceof ModelFormatError)) {
        assert.fail(`mutant ${i} threw ${String(err)}; bytes: ${Buffer.from(mutant).toString('base64')}`);
      }
      assert.ok(err.message.startsWith('fuzz.safetensors: '), err.message);
      assert.ok(!/[\r\n\u2028\u2029]/.test(err.message), `mutant ${i}: multi-line message`);
      // Reduce the message to the check that fired: drop names, received values and numbers.
      const rule = err.message
        .replace(/^fuzz\.safetensors: (tensor ".*?"|__metadata__ ".*?")?/, '')
        .replace(/, received .*$/, '')
        .replace(/\d+/g, 'N');
      rules.add(rule);
      rejected++;
      continue;
    }
    decoded++;
    let total = 0;
    for (const [name, tensor] of file.tensors) {
      assert.ok(name.length > 0 && name !== '__metadata__', `mutant ${i}: bad name ${name}`);
      assert.equal(tensor.dtype, 'F32');
      assert.ok(tensor.data instanceof Float32Array);
      assert.ok(tensor.shape.every((d) => Number.isSafeInteger(d) && d >= 0), `mutant ${i}: shape ${String(tensor.shape)}`);
      assert.equal(tensor.data.length, product(tensor.shape), `mutant ${i}: ${name}`);
      assert.notEqual(tensor.data.buffer, mutant.buffer);
      total += tensor.data.length;
    }
    assert.ok(total * 2 <= mutant.length, `mutant ${i}: more elements than the file can hold`);
    for (const value of Object.values(file.metadata)) assert.equal(typeof value, 'string');
  }
  const ms = performance.now() - started;
  t.diagnostic(`fuzz: ${decoded} decoded, ${rejected} rejected, ${rules.size} distinct rules, ${ms.toFixed(0)} ms`);
  // Both outcomes and many different checks must be reached, or the mutations are too timid.
  assert.ok(decoded >= 100, `only ${decoded} mutants decoded`);
  assert.ok(rejected >= 2500, `only ${rejected} mutants rejected`);
  assert.ok(rules.size >= 15, `only ${rules.size} distinct rules: ${[...rules].join(' | ')}`);
});

test('a header nested thousands deep (an array or an object) is refused in one short line, not a stack overflow', () => {
  const file = (header: string) => {
    const h = new TextEncoder().encode(header);
    const buf = new Uint8Array(8 + h.length);
    new DataView(buf.buffer).setBigUint64(0, BigInt(h.length), true);
    buf.set(h, 8);
    return buf;
  };
  for (const [what, header] of [
    ['array', '['.repeat(5000) + ']'.repeat(5000)],
    ['object', '{"a":'.repeat(5000) + '1' + '}'.repeat(5000)],
    ['array in a tensor entry', '{"w":{"dtype":"F32","shape":' + '['.repeat(3000) + ']'.repeat(3000) + ',"data_offsets":[0,0]}}'],
  ] as const) {
    assert.throws(
      () => decodeSafetensors(file(header), 'deep.safetensors'),
      (e: unknown) => e instanceof ModelFormatError && e.message.startsWith('deep.safetensors') && !e.message.includes('\n') && e.message.length < 300,
      what,
    );
  }
});

// ---------------------------------------------------------------------------------------------
// Limits: header size, tensor count, JSON items, checked before the header is parsed.

/** `n` zero-size tensors (they need no data section), with or without a metadata entry. */
function zeroTensors(n: number, metadata = false): string {
  const parts: string[] = metadata ? ['"__metadata__":{"format":"pt"}'] : [];
  for (let i = 0; i < n; i++) parts.push(`"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
  return `{${parts.join(',')}}`;
}

test('the limits are documented constants: 16 MiB, 4096 tensors, 65536 JSON items', () => {
  assert.equal(MAX_HEADER_BYTES, 16 * 1024 * 1024);
  assert.equal(MAX_TENSORS, 4096);
  assert.equal(MAX_HEADER_ITEMS, 65536);
});

test('a header length over 16 MiB is refused from the length field alone, naming both sizes', () => {
  // Only the 8-byte prefix says 100 MB: the refusal must not depend on the bytes being there.
  rejects(frame('{}', new Uint8Array(0), 100_000_000n), /^test\.safetensors: header length: expected at most 16 MiB \(16777216 bytes\), received 95\.4 MiB \(100000000 bytes\)$/);
  rejects(frame('{}', new Uint8Array(0), BigInt(MAX_HEADER_BYTES) + 1n), /expected at most 16 MiB .*received 16\.0 MiB \(16777217 bytes\)$/);
  // At the limit, the length is allowed (and this file is then too short for it).
  rejects(frame('{}', new Uint8Array(0), BigInt(MAX_HEADER_BYTES)), /header length: expected at most 2 bytes \(what the file holds/);
});

test('readSafetensorsFile refuses an oversized header without reading the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-st-limit-'));
  try {
    const path = join(dir, 'model.safetensors');
    // The length field claims 100 MB; the file holds 8 more bytes. The message is the limit,
    // not "larger than the file".
    writeFileSync(path, frame('{}      ', new Uint8Array(0), 100_000_000n));
    assert.throws(() => readSafetensorsFile(path), (e: unknown) => e instanceof ModelFormatError && e.message === `${path}: header length: expected at most 16 MiB (16777216 bytes), received 95.4 MiB (100000000 bytes)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('more than MAX_TENSORS tensors are refused before any is parsed; exactly MAX_TENSORS decode', () => {
  assert.equal(decodeSafetensors(frame(zeroTensors(MAX_TENSORS))).tensors.size, MAX_TENSORS);
  assert.equal(decodeSafetensors(frame(zeroTensors(MAX_TENSORS, true))).tensors.size, MAX_TENSORS);
  rejects(frame(zeroTensors(MAX_TENSORS + 1)), /^test\.safetensors: header: expected at most 4096 tensors, received 4097$/);
  // With the metadata entry, the scan of the bytes sees one entry more than the limit allows.
  rejects(frame(zeroTensors(MAX_TENSORS + 1, true)), /^test\.safetensors: header: expected at most 4096 tensors, received 4098 entries$/);
  rejects(frame(zeroTensors(100_000)), /header: expected at most 4096 tensors, received 100000 entries$/);
});

test('a header of more than MAX_HEADER_ITEMS keys, elements or containers is refused before parsing', () => {
  const keys = (n: number) => `{"__metadata__":{${Array.from({ length: n }, (_, i) => `"k${i}":""`).join(',')}}}`;
  // 2 containers, 1 + n colons, n - 1 commas: 2n + 2 items.
  assert.equal(Object.keys(decodeSafetensors(frame(keys(MAX_HEADER_ITEMS / 2 - 1))).metadata).length, MAX_HEADER_ITEMS / 2 - 1);
  rejects(frame(keys(MAX_HEADER_ITEMS / 2)), /^test\.safetensors: header: expected at most 65536 JSON items \(keys, array elements, objects, arrays\), received 65538$/);
  rejects(frame(`{"t":{"dtype":"F32","shape":[${'1,'.repeat(MAX_HEADER_ITEMS)}1],"data_offsets":[0,4]}}`), /expected at most 65536 JSON items/);
  rejects(frame('['.repeat(MAX_HEADER_ITEMS + 1) + ']'.repeat(MAX_HEADER_ITEMS + 1)), /expected at most 65536 JSON items/);
  // Brackets, colons and commas inside strings (escaped quotes included) are text, not items.
  const text = '[{:,\\"'.repeat(MAX_HEADER_ITEMS);
  assert.equal(decodeSafetensors(frame(`{"__metadata__":{"x":"${text}"}}`)).metadata.x, '[{:,"'.repeat(MAX_HEADER_ITEMS));
});

test('the encoder keeps to the limits, so what it writes can be read back', () => {
  const zero = { shape: [0], data: new Float32Array(0) };
  const many = Array.from({ length: MAX_TENSORS + 1 }, (_, i) => [`t${i}`, zero] as const);
  assert.throws(() => encodeSafetensors(many), (e: unknown) => e instanceof ValidationError && /tensor count: expected at most 4096, received 4097/.test(e.message));
  assert.equal(decodeSafetensors(encodeSafetensors(many.slice(0, MAX_TENSORS))).tensors.size, MAX_TENSORS);
  assert.throws(() => encodeSafetensors([], { x: 'a'.repeat(MAX_HEADER_BYTES) }), (e: unknown) => e instanceof ValidationError && /header size: expected at most 16 MiB/.test(e.message));
});

/**
 * The largest headers the limits let through, and the cheapest hostile ones just past them,
 * decoded in a child with a 256 MB heap. Before the limits a 100 MB header took 16 s and 2 GB
 * and 16 MiB of one-character keys ran out of memory.
 */
test('the largest accepted headers decode in bounded time and memory (child with --max-old-space-size=256)', (t) => {
  const script = `
    const { decodeSafetensors } = await import(${JSON.stringify(new URL('./safetensors.js', import.meta.url).href)});
    const L = ${MAX_HEADER_BYTES}, T = ${MAX_TENSORS}, I = ${MAX_HEADER_ITEMS};
    const frame = (h) => { const b = Buffer.alloc(8 + Buffer.byteLength(h)); b.writeBigUInt64LE(BigInt(b.length - 8)); b.write(h, 8); return b; };
    const fill = (h) => h.replace('"x":""', '"x":"' + 'a'.repeat(L - h.length) + '"');
    const tensors = []; for (let i = 0; i < T; i++) tensors.push('"t' + i + '":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}');
    const keyCount = I / 2 - 2, keyLen = Math.floor((L - 64) / keyCount / 2) - 4, keys = [];
    for (let i = 0; i < keyCount; i++) keys.push('"' + String(i).padStart(keyLen, 'k') + '":"' + 'v'.repeat(keyLen) + '"');
    const cases = {
      // accepted: every tensor allowed, metadata text up to the byte limit
      tensors: fill('{"__metadata__":{"x":""},' + tensors.join(',') + '}'),
      // accepted: as many metadata keys as the item limit allows, long enough to fill the bytes
      keys: '{"__metadata__":{' + keys.join(',') + '}}',
      // accepted: one zero-size tensor whose shape takes all the items
      shape: fill('{"__metadata__":{"x":""},"t":{"dtype":"F32","shape":[' + '0,'.repeat(I - 16) + '0],"data_offsets":[0,0]}}'),
      // accepted by the scan, refused after parsing: arrays nested as deep as the items allow
      deep: fill('{"__metadata__":{"x":""},"d":' + '['.repeat(I - 8) + ']'.repeat(I - 8) + '}'),
      // refused: 16 MiB of short keys (a million-key object), and the reported 100 MB header
      shortKeys: '{"__metadata__":{' + Array.from({ length: Math.floor(L / 12) }, (_, i) => '"' + i.toString(36).padStart(5, '0') + '":""').join(',') + '}}',
    };
    const out = {};
    for (const [name, h] of Object.entries(cases)) {
      const buf = frame(h);
      if (buf.length - 8 > L) throw new Error(name + ' is over the byte limit: ' + (buf.length - 8));
      const t0 = performance.now();
      let result;
      try { result = 'ok ' + decodeSafetensors(buf, name).tensors.size; } catch (e) { result = e.name + ': ' + e.message.slice(0, 120); }
      out[name] = { ms: Math.round(performance.now() - t0), bytes: buf.length - 8, result };
    }
    const big = Buffer.alloc(16); big.writeBigUInt64LE(100000000n);
    let t0 = performance.now();
    try { decodeSafetensors(big, 'big'); } catch (e) { out.big = { ms: Math.round(performance.now() - t0), result: e.message }; }
    out.rssMB = Math.round(process.memoryUsage().rss / 1e6);
    console.log(JSON.stringify(out));
  `;
  const r = spawnSync(process.execPath, ['--max-old-space-size=256', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `child failed (signal ${r.signal}): ${r.stderr.slice(-2000)}`);
  const out = JSON.parse(r.stdout) as Record<string, { ms: number; bytes: number; result: string }> & { rssMB: number };
  t.diagnostic(JSON.stringify(out));
  assert.match(out.tensors!.result, /^ok 4096$/);
  assert.match(out.keys!.result, /^ok 0$/);
  assert.match(out.shape!.result, /^ok 1$/);
  assert.match(out.deep!.result, /ModelFormatError/);
  assert.match(out.shortKeys!.result, /ModelFormatError: shortKeys: header: expected at most 65536 JSON items/);
  assert.match(out.big!.result, /expected at most 16 MiB/);
  // Measured at 0.2 to 0.6 s each (1.2 s with other tests running); the bound leaves over 10
  // times that for slow machines and is still far under the 16 s a 100 MB header took before.
  for (const name of ['tensors', 'keys', 'shape', 'deep', 'shortKeys', 'big']) {
    assert.ok(out[name]!.ms < 8000, `${name} took ${out[name]!.ms} ms`);
  }
  assert.ok(out.rssMB < 1024, `rss ${out.rssMB} MB`);
});
