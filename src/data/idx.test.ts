import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataFormatError, ValidationError } from '../core/errors.js';
import { encodeIdx, parseIdx, readIdxFile, type IdxArray } from './idx.js';

/** Asserts a DataFormatError whose single-line message matches every pattern. */
function throwsFormat(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DataFormatError, `expected DataFormatError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), 'message is one line');
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

const small: IdxArray = { type: 'u8', dims: [2, 3], data: Uint8Array.from([0, 1, 2, 253, 254, 255]) };

test('parses a hand-written u8 file', () => {
  const buf = bytes(0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 1, 2, 253, 254, 255);
  const arr = parseIdx(buf);
  assert.equal(arr.type, 'u8');
  assert.deepEqual(arr.dims, [2, 3]);
  assert.ok(arr.data instanceof Uint8Array);
  assert.deepEqual([...arr.data], [0, 1, 2, 253, 254, 255]);
});

test('reads multi-byte elements big-endian', () => {
  // i16 0x0102 = 258 and 0xFFFE = -2; a little-endian reader would give 513 and -257.
  const arr = parseIdx(bytes(0, 0, 0x0b, 1, 0, 0, 0, 2, 0x01, 0x02, 0xff, 0xfe));
  assert.ok(arr.data instanceof Int16Array);
  assert.deepEqual([...arr.data], [258, -2]);
  // f32 1.0 is 3F 80 00 00 big-endian.
  const f = parseIdx(bytes(0, 0, 0x0d, 1, 0, 0, 0, 1, 0x3f, 0x80, 0, 0));
  assert.ok(f.data instanceof Float32Array);
  assert.deepEqual([...f.data], [1]);
});

test('round-trips every type through encodeIdx', () => {
  const cases: IdxArray[] = [
    { type: 'u8', dims: [4], data: Uint8Array.from([0, 1, 128, 255]) },
    { type: 'i8', dims: [2, 2], data: Int8Array.from([-128, -1, 0, 127]) },
    { type: 'i16', dims: [3], data: Int16Array.from([-32768, 258, 32767]) },
    { type: 'i32', dims: [1, 3], data: Int32Array.from([-2147483648, 16909060, 2147483647]) },
    { type: 'f32', dims: [2, 1, 2], data: Float32Array.from([-1.5, 0, 3.25, 1e-30]) },
    { type: 'f64', dims: [3], data: Float64Array.from([Math.PI, -0.1, 1e300]) },
    { type: 'u8', dims: [0, 28, 28], data: new Uint8Array(0) },
  ];
  for (const c of cases) {
    const back = parseIdx(encodeIdx(c));
    assert.equal(back.type, c.type);
    assert.deepEqual(back.dims, c.dims);
    assert.equal(back.data.constructor, c.data.constructor, c.type);
    assert.deepEqual([...back.data], [...c.data], c.type);
  }
});

test('parses a view into a larger buffer at an odd offset', () => {
  const encoded = encodeIdx({ type: 'f64', dims: [2], data: Float64Array.from([1.5, -2]) });
  const padded = new Uint8Array(encoded.length + 3);
  padded.set(encoded, 1);
  const arr = parseIdx(padded.subarray(1, 1 + encoded.length));
  assert.deepEqual([...arr.data], [1.5, -2]);
});

test('rejects a file shorter than the header', () => {
  throwsFormat(() => parseIdx(bytes(0, 0, 8)), /^IDX data: /, /at least 4 bytes/, /received 3 bytes/);
  throwsFormat(() => parseIdx(new Uint8Array(0), 'empty.idx'), /^empty\.idx: /, /received 0 bytes/);
});

test('reads gzip-compressed input transparently, and refuses a corrupt stream', () => {
  const arr = { type: 'u8' as const, dims: [2, 3], data: Uint8Array.from([1, 2, 3, 250, 251, 252]) };
  const back = parseIdx(new Uint8Array(gzipSync(encodeIdx(arr))), 'train.gz');
  assert.deepEqual(back.dims, [2, 3]);
  assert.deepEqual([...back.data], [1, 2, 3, 250, 251, 252]);
  // A gzip stream cut short is named as such, not parsed as IDX.
  const gz = gzipSync(encodeIdx(arr));
  throwsFormat(() => parseIdx(new Uint8Array(gz.subarray(0, gz.length - 6)), 'cut.gz'), /^cut\.gz: /, /gzip/, /corrupt/);
  throwsFormat(() => parseIdx(bytes(0x1f, 0x8b)), /gzip/);
  // The inner IDX errors name the decompressed source.
  throwsFormat(() => parseIdx(new Uint8Array(gzipSync(Buffer.from([0, 0, 8, 1, 0, 0, 0, 9, 1]))), 'short.gz'), /short\.gz \(gunzipped\)/, /truncated/);
});

test('rejects bad magic bytes', () => {
  throwsFormat(() => parseIdx(bytes(0x50, 0x4b, 8, 1, 0, 0, 0, 0), 'a.zip'), /^a\.zip: /, /magic/, /0x50 0x4B/);
  throwsFormat(() => parseIdx(bytes(0, 1, 8, 1, 0, 0, 0, 0)), /magic/, /0x00 0x01/);
});

test('rejects an unknown type code and lists the allowed ones', () => {
  throwsFormat(
    () => parseIdx(bytes(0, 0, 0x0a, 1, 0, 0, 0, 0), 'x.idx'),
    /^x\.idx: /,
    /type code/,
    /0x08 \(u8\), 0x09 \(i8\), 0x0B \(i16\), 0x0C \(i32\), 0x0D \(f32\), 0x0E \(f64\)/,
    /received 0x0A$/,
  );
});

test('rejects zero dimensions', () => {
  throwsFormat(() => parseIdx(bytes(0, 0, 8, 0), 'z.idx'), /^z\.idx: /, /at least 1 dimension/, /received 0$/);
});

test('rejects a file shorter than its dimension list', () => {
  throwsFormat(
    () => parseIdx(bytes(0, 0, 8, 3, 0, 0, 0, 1, 0, 0), 'd.idx'),
    /^d\.idx: /,
    /16 header bytes for 3 dimensions/,
    /received 10 bytes/,
    /truncated/,
  );
});

test('rejects a truncated data section with expected vs received bytes', () => {
  const full = encodeIdx({ type: 'i16', dims: [2, 3], data: new Int16Array(6) });
  throwsFormat(
    () => parseIdx(full.subarray(0, full.length - 1), 't.idx'),
    /^t\.idx: /,
    /expected 12 data bytes for dims \[2,3\] of type i16/,
    /received 11 \(file truncated\)/,
  );
});

test('rejects trailing bytes after the data', () => {
  const full = encodeIdx(small);
  const longer = new Uint8Array(full.length + 2);
  longer.set(full);
  throwsFormat(() => parseIdx(longer, 'o.idx'), /^o\.idx: /, /expected 6 data bytes/, /received 8 \(oversized: 2 trailing bytes\)/);
});

test('dims whose product overflows are reported as truncation, without allocating', () => {
  // 255 dims of 2^32-1: the element count is far beyond any Number, let alone memory.
  const n = 255;
  const buf = new Uint8Array(4 + 4 * n + 16);
  buf[2] = 0x0e;
  buf[3] = n;
  buf.fill(0xff, 4, 4 + 4 * n);
  throwsFormat(() => parseIdx(buf), /expected ~\d\.\d\de\d+ data bytes for dims \[4294967295,/, /received 16 \(file truncated\)/);
  assert.throws(() => parseIdx(buf), (err: Error) => err.message.length < 200);
  // Big dims that multiply past 2^53 but contain a zero: exactly zero bytes are expected.
  const zero = encodeIdx({ type: 'u8', dims: [0xffffffff, 0xffffffff, 0], data: new Uint8Array(0) });
  assert.deepEqual(parseIdx(zero).dims, [0xffffffff, 0xffffffff, 0]);
});

test('every truncation of a valid file throws DataFormatError, never another error', () => {
  for (const arr of [small, { type: 'f64', dims: [2, 2], data: Float64Array.from([1, 2, 3, 4]) } satisfies IdxArray]) {
    const full = encodeIdx(arr);
    for (let len = 0; len < full.length; len++) {
      throwsFormat(() => parseIdx(full.slice(0, len), `cut-${len}`), new RegExp(`^cut-${len}: expected `));
    }
    assert.deepEqual([...parseIdx(full).data], [...arr.data]);
  }
});

test('parsed data does not alias the input buffer', () => {
  const buf = encodeIdx(small);
  const arr = parseIdx(buf);
  buf[buf.length - 1] = 7;
  assert.equal(arr.data[5], 255);
});

test('readIdxFile reads a file and names the path in errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idx-test-'));
  try {
    const good = join(dir, 'good.idx');
    writeFileSync(good, encodeIdx(small));
    assert.deepEqual([...readIdxFile(good).data], [...small.data]);

    const missing = join(dir, 'missing.idx');
    throwsFormat(() => readIdxFile(missing), new RegExp(`^${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `), /ENOENT/);
    throwsFormat(() => readIdxFile(dir), /EISDIR/);

    const bad = join(dir, 'bad.idx');
    writeFileSync(bad, bytes(0, 0, 8, 1, 0, 0, 0, 5, 1));
    throwsFormat(() => readIdxFile(bad), /bad\.idx: /, /truncated/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('encodeIdx validates its input', () => {
  assert.throws(() => encodeIdx({ type: 'u8', dims: [3], data: new Uint8Array(2) }), ValidationError);
  assert.throws(() => encodeIdx({ type: 'f32', dims: [2], data: new Float64Array(2) }), ValidationError);
  assert.throws(() => encodeIdx({ type: 'u8', dims: [], data: new Uint8Array(1) }), ValidationError);
  assert.throws(() => encodeIdx({ type: 'u8', dims: [-1], data: new Uint8Array(0) }), ValidationError);
});
