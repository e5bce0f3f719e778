import { test } from 'node:test';
import { Rng } from '../core/rng.js';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataFormatError } from '../core/errors.js';
import { MAX_NPY_HEADER_BYTES, npyRows, parseNpy, readNpyFile, type NpyArray } from './npy.js';

/** Asserts a DataFormatError whose single-line message matches every pattern. */
function throwsFormat(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DataFormatError, `expected DataFormatError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), `message is one line: ${JSON.stringify(err.message)}`);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

function escapeRe(s: string): RegExp {
  return new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
}

/** Python's repr of a tuple of ints: `(5,)`, `(2, 3)`, `()`. */
function pyTuple(shape: readonly (number | string)[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

interface NpyParts {
  descr?: string;
  fortran?: boolean;
  shape?: readonly (number | string)[];
  /** Replaces the whole dict literal. */
  dict?: string;
  version?: 1 | 2 | 3;
  /** Leave off the final newline. */
  unterminated?: boolean;
  data?: Uint8Array;
}

/** Builds .npy bytes the way np.save does: dict, spaces up to a 64-byte boundary, newline. */
function npyBytes(parts: NpyParts): Uint8Array {
  const version = parts.version ?? 1;
  const dict =
    parts.dict ??
    `{'descr': '${parts.descr ?? '<f4'}', 'fortran_order': ${parts.fortran === true ? 'True' : 'False'}, 'shape': ${pyTuple(parts.shape ?? [0])}, }`;
  const prefix = version === 1 ? 10 : 12;
  const dictBytes = version === 3 ? new TextEncoder().encode(dict) : Uint8Array.from(dict, (c) => c.charCodeAt(0));
  const unpadded = prefix + dictBytes.length + 1;
  const pad = (64 - (unpadded % 64)) % 64;
  const headerLength = dictBytes.length + pad + (parts.unterminated === true ? 0 : 1);
  const data = parts.data ?? new Uint8Array(0);
  const out = new Uint8Array(prefix + headerLength + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, headerLength, true);
  else view.setUint32(8, headerLength, true);
  out.set(dictBytes, prefix);
  out.fill(0x20, prefix + dictBytes.length, prefix + dictBytes.length + pad);
  if (parts.unterminated !== true) out[prefix + headerLength - 1] = 0x0a;
  out.set(data, prefix + headerLength);
  return out;
}

function f32le(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return out;
}

function f64le(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat64(8 * i, v, true));
  return out;
}

function range(n: number, f: (i: number) => number): number[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, d) => a * d, 1);
}

test('round-trips u1, f4 and f8 in 2-D and 3-D, version 1.0 and 2.0 headers', () => {
  const cases: { descr: string; shape: number[]; values: number[]; encode: (v: number[]) => Uint8Array; ctor: Function }[] = [];
  for (const shape of [[3, 4], [2, 3, 4]]) {
    const n = product(shape);
    cases.push({ descr: '|u1', shape, values: range(n, (i) => (i * 37) % 256), encode: (v) => Uint8Array.from(v), ctor: Uint8Array });
    cases.push({ descr: '<f4', shape, values: range(n, (i) => i * 0.5 - 3.25), encode: f32le, ctor: Float32Array });
    cases.push({ descr: '<f8', shape, values: range(n, (i) => i / 7 - 1e-300), encode: f64le, ctor: Float64Array });
  }
  for (const version of [1, 2] as const) {
    for (const c of cases) {
      const bytes = npyBytes({ version, descr: c.descr, shape: c.shape, data: c.encode(c.values) });
      const header = bytes.length - c.encode(c.values).length;
      assert.equal(header % 64, 0, 'helper pads like NumPy');
      const arr = parseNpy(bytes);
      const label = `${c.descr} ${c.shape.join('x')} v${version}`;
      assert.equal(arr.dtype, c.descr.slice(1), label);
      assert.deepEqual(arr.shape, c.shape, label);
      assert.equal(arr.data.constructor, c.ctor, label);
      assert.deepEqual([...arr.data], c.descr === '<f4' ? [...Float32Array.from(c.values)] : c.values, label);
      // The result is a copy, not a view of the input.
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
      assert.equal(arr.data[arr.data.length - 1], c.descr === '<f4' ? Math.fround(c.values.at(-1)!) : c.values.at(-1));
    }
  }
});

test('parses 1-D shapes and the header variants Python allows', () => {
  const one = parseNpy(npyBytes({ descr: '<f8', shape: [5], data: f64le([1, 2, 3, 4, 5]) }));
  assert.deepEqual(one.shape, [5]);
  assert.deepEqual([...one.data], [1, 2, 3, 4, 5]);

  const data = Uint8Array.from([1, 2, 3, 4, 5, 6]);
  const dicts = [
    `{"descr": "|u1", "fortran_order": False, "shape": (2, 3)}`,
    `{'shape': (2,3,), 'fortran_order':False,'descr':'u1'}`,
    `{ 'descr' : '<u1' ,\t'fortran_order' : False , 'shape' : ( 2 , 3 ) , }`,
    `{'descr': '=u1', 'fortran_order': False, 'shape': (2L, 3L), }`, // Python 2 NumPy wrote longs
  ];
  for (const dict of dicts) {
    const arr = parseNpy(npyBytes({ dict, data }));
    assert.equal(arr.dtype, 'u1', dict);
    assert.deepEqual(arr.shape, [2, 3], dict);
    assert.deepEqual([...arr.data], [...data], dict);
  }
  // '=' (native) is read as little-endian.
  assert.deepEqual([...parseNpy(npyBytes({ descr: '=f4', shape: [2], data: f32le([1.5, -2]) })).data], [1.5, -2]);
  assert.deepEqual([...parseNpy(npyBytes({ descr: '=f8', shape: [1], data: f64le([Math.PI]) })).data], [Math.PI]);
  // Empty arrays are valid .npy files; npyRows is the one that refuses them.
  assert.deepEqual(parseNpy(npyBytes({ descr: '<f4', shape: [0, 784] })).shape, [0, 784]);
  // A dimension far beyond memory is fine when another is zero.
  assert.deepEqual(parseNpy(npyBytes({ descr: '<f8', shape: [0, 4503599627370496] })).shape, [0, 4503599627370496]);
});

test('reads a version 3.0 (UTF-8) header', () => {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }`;
  const arr = parseNpy(npyBytes({ version: 3, dict, data: f32le([0.25, 8]) }));
  assert.deepEqual([...arr.data], [0.25, 8]);
  // A non-ASCII key is still refused by name, after a correct UTF-8 decode.
  throwsFormat(
    () => parseNpy(npyBytes({ version: 3, dict: `{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'ünï': True}`, data: f32le([1]) })),
    /extra key "ünï"/,
  );
  const bad = npyBytes({ version: 3, dict: `{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'xx': True}`, data: f32le([1]) });
  bad[12 + 54] = 0xff; // inside the 'xx' key
  throwsFormat(() => parseNpy(bad, 'u.npy'), /^u\.npy header: expected UTF-8 text/);
});

test('npyRows accepts 2-D rows and 3-D images and converts to float32', () => {
  const f8 = parseNpy(npyBytes({ descr: '<f8', shape: [2, 3], data: f64le([0.1, 1, 2, 3, 4, 1e-50]) }));
  const r = npyRows(f8, 'x.npy');
  assert.equal(r.rows, 2);
  assert.equal(r.cols, 3);
  assert.equal(r.image, null);
  assert.ok(r.data instanceof Float32Array);
  assert.deepEqual([...r.data], [Math.fround(0.1), 1, 2, 3, 4, 0]);

  const u1 = parseNpy(npyBytes({ descr: '|u1', shape: [2, 2, 3], data: Uint8Array.from(range(12, (i) => 250 + (i % 6))) }));
  const img = npyRows(u1);
  assert.equal(img.rows, 2);
  assert.equal(img.cols, 6);
  assert.deepEqual(img.image, { width: 3, height: 2 });
  assert.ok(img.data instanceof Float32Array);
  assert.deepEqual([...img.data], range(12, (i) => 250 + (i % 6)));

  const f4 = parseNpy(npyBytes({ descr: '<f4', shape: [1, 28, 28], data: f32le(range(784, (i) => i / 784)) }));
  const mnist = npyRows(f4);
  assert.deepEqual([mnist.rows, mnist.cols, mnist.image?.width, mnist.image?.height], [1, 784, 28, 28]);
  assert.equal(mnist.data, f4.data, 'float32 data is passed through without a copy');
});

test('npyRows refuses other ranks, empty rows and mismatched data', () => {
  const rule = /expected 2-D rows \[n, features\] or 3-D images \[n, height, width\]/;
  const one = parseNpy(npyBytes({ descr: '<f4', shape: [5], data: f32le([1, 2, 3, 4, 5]) }));
  throwsFormat(() => npyRows(one, 'v.npy'), /^v\.npy: /, rule, /received shape \(5,\) \(1-D\)/, /reshape/);
  const four = parseNpy(npyBytes({ descr: '|u1', shape: [1, 1, 2, 2], data: new Uint8Array(4) }));
  throwsFormat(() => npyRows(four, 'f.npy'), rule, /received shape \(1, 1, 2, 2\) \(4-D\)$/);
  throwsFormat(() => npyRows(parseNpy(npyBytes({ descr: '<f4', shape: [0, 784] })), 'e.npy'), /^e\.npy: expected at least 1 row, received shape \(0, 784\)/);
  throwsFormat(() => npyRows(parseNpy(npyBytes({ descr: '<f4', shape: [10, 0] }))), /expected at least 1 feature per row, received shape \(10, 0\)/);
  throwsFormat(() => npyRows(parseNpy(npyBytes({ descr: '<f4', shape: [10, 28, 0] }))), /at least 1 pixel per row/);
  const lying: NpyArray = { dtype: 'f4', shape: [2, 3], data: new Float32Array(5) };
  throwsFormat(() => npyRows(lying), /expected 6 elements for shape \(2, 3\), received 5/);
});

test('npyRows refuses NaN and Inf with the first offending row and column', () => {
  const values = range(5 * 20, () => 0.5);
  values[3 * 20 + 17] = NaN;
  values[4 * 20 + 1] = Infinity;
  const f4 = parseNpy(npyBytes({ descr: '<f4', shape: [5, 20], data: f32le(values) }));
  throwsFormat(() => npyRows(f4, 'x.npy'), /^x\.npy: expected finite values, received NaN at row 3, column 17$/);
  const f8 = parseNpy(npyBytes({ descr: '<f8', shape: [5, 20], data: f64le(values.map((v) => (Number.isNaN(v) ? 0 : v))) }));
  throwsFormat(() => npyRows(f8, 'y.npy'), /^y\.npy: expected finite values, received Infinity at row 4, column 1$/);
  const img = parseNpy(npyBytes({ descr: '<f8', shape: [2, 3, 4], data: f64le(range(24, (i) => (i === 19 ? -Infinity : i))) }));
  throwsFormat(() => npyRows(img), /received -Infinity at row 1, column 7 \(pixel y 1, x 3\)/);
  // Finite in float64 but not in float32.
  const big = parseNpy(npyBytes({ descr: '<f8', shape: [1, 2], data: f64le([1, 1e300]) }));
  throwsFormat(() => npyRows(big), /expected values within float32 range/, /received 1e\+300 at row 0, column 1/);
});

test('refuses Fortran order', () => {
  throwsFormat(
    () => parseNpy(npyBytes({ descr: '<f4', fortran: true, shape: [2, 3], data: f32le([1, 2, 3, 4, 5, 6]) }), 'x.npy'),
    /^x\.npy layout: expected C order, received Fortran order/,
    /np\.ascontiguousarray\(a\)/,
  );
});

test('refuses every dtype but uint8, float32 and float64 little-endian, naming it', () => {
  const accepted = /expected uint8, float32 or float64 \(descr \|u1, <f4 or <f8\)/;
  const cases: [string, RegExp][] = [
    ['>f4', /received ">f4" \(float32, big-endian\); convert with a\.astype\('<f4'\)$/],
    ['>f8', /received ">f8" \(float64, big-endian\); convert with a\.astype\('<f8'\)$/],
    ['<i8', /received "<i8" \(int64\); convert with a\.astype\(np\.float32\)$/],
    ['<f2', /received "<f2" \(float16\)/],
    ['|b1', /received "\|b1" \(bool\)/],
    ['<c8', /received "<c8" \(complex64\)/],
    ['|O', /received "\|O" \(Python objects\); object arrays cannot be read/],
    ['<U5', /received "<U5" \(unicode strings\)/],
    ['<M8[ns]', /received "<M8\[ns\]"/],
    ['f4', /received "f4"/], // NumPy never writes a float without a byte order
  ];
  for (const [descr, pattern] of cases) {
    throwsFormat(() => parseNpy(npyBytes({ descr, shape: [1] }), 'x.npy'), /^x\.npy dtype: /, accepted, pattern);
  }
  const structured = `{'descr': [('x', '<f4'), ('y', '<i4')], 'fortran_order': False, 'shape': (3,), }`;
  throwsFormat(() => parseNpy(npyBytes({ dict: structured }), 's.npy'), /^s\.npy dtype: /, accepted, /a structured dtype "\[\('x', '<f4'\), \('y', '<i4'\)\]"/);
});

test('refuses bad magic, showing the first bytes in hex', () => {
  const magic = /expected an \.npy file \(magic \\x93NUMPY\)/;
  throwsFormat(() => parseNpy(Uint8Array.from([0x50, 0x4b, 3, 4, 0, 0, 0, 0, 0, 0, 0]), 'a.npz'), /^a\.npz: /, magic, /received 0x50 0x4B 0x03 0x04 0x00 0x00 0x00 0x00 \.\.\. \(a ZIP archive/);
  throwsFormat(() => parseNpy(new TextEncoder().encode('1,2,3\n4,5,6\n')), magic, /received 0x31 0x2C 0x32 0x2C/);
  throwsFormat(() => parseNpy(new Uint8Array(0), 'e.npy'), /^e\.npy: /, magic, /received 0 bytes \(empty file\)/);
  throwsFormat(() => parseNpy(Uint8Array.from([0x93, 0x4e, 0x55])), magic, /received 0x93 0x4E 0x55 \(only 3 bytes\)/);
  throwsFormat(() => parseNpy(Uint8Array.from([0x1f, 0x8b, 8, 0])), magic, /gzip/);
});

test('refuses unknown versions and a header longer than the file', () => {
  const good = npyBytes({ descr: '<f4', shape: [1], data: f32le([1]) });
  const v9 = good.slice();
  v9[6] = 9;
  throwsFormat(() => parseNpy(v9, 'x.npy'), /^x\.npy version: expected 1\.0, 2\.0 or 3\.0, received 9\.0$/);
  const v11 = good.slice();
  v11[7] = 1;
  throwsFormat(() => parseNpy(v11), /received 1\.1$/);
  throwsFormat(() => parseNpy(good.subarray(0, 7)), /version bytes/, /received 7 bytes/);
  throwsFormat(() => parseNpy(good.subarray(0, 9)), /10 bytes for the version 1\.0 prefix/, /received 9 bytes/);
  const long = good.slice();
  new DataView(long.buffer).setUint16(8, 9000, true);
  throwsFormat(() => parseNpy(long, 'h.npy'), /^h\.npy header: expected 9000 bytes/, new RegExp(`received ${long.length - 10} bytes after the 10-byte prefix \\(file truncated\\)$`));
  const v2 = npyBytes({ version: 2, descr: '<f4', shape: [1], data: f32le([1]) });
  new DataView(v2.buffer).setUint32(8, 9500, true);
  throwsFormat(() => parseNpy(v2), /expected 9500 bytes/, /after the 12-byte prefix/);
});

test('a header over 10000 bytes (NumPy\'s own max_header_size) is refused from the length field, before decoding', () => {
  assert.equal(MAX_NPY_HEADER_BYTES, 10000);
  const v1 = npyBytes({ descr: '<f4', shape: [1], data: f32le([1]) });
  new DataView(v1.buffer).setUint16(8, 60000, true);
  throwsFormat(() => parseNpy(v1, 'h.npy'), /^h\.npy header: expected at most 10000 bytes \(NumPy's own limit, np\.load's max_header_size\), received 60000 bytes$/);
  const v3 = npyBytes({ version: 3, descr: '<f4', shape: [1], data: f32le([1]) });
  new DataView(v3.buffer).setUint32(8, 600 * 1024 * 1024, true);
  // Not "invalid UTF-8": the size is the cause.
  throwsFormat(() => parseNpy(v3, 'big.npy'), /^big\.npy header: expected at most 10000 bytes .*received 629145600 bytes$/);
  // A real header just under the limit still reads.
  const padded = npyBytes({ version: 2, descr: '<f4', shape: [1], data: f32le([1]), dict: `{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }${' '.repeat(9900)}` });
  assert.deepEqual(Array.from(parseNpy(padded).data), [1]);
  // From a file: refused from the prefix, without reading a 600 MB hole.
  const dir = mkdtempSync(join(tmpdir(), 'aekit-npy-limit-'));
  try {
    const path = join(dir, 'big.npy');
    const fd = openSync(path, 'w');
    writeSync(fd, v3.subarray(0, 12));
    ftruncateSync(fd, 12 + 600 * 1024 * 1024);
    closeSync(fd);
    throwsFormat(() => readNpyFile(path), new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} header: expected at most 10000 bytes .*received 629145600 bytes$`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('refuses truncated data and trailing bytes with expected vs received counts', () => {
  const full = npyBytes({ descr: '<f4', shape: [2, 3], data: f32le([1, 2, 3, 4, 5, 6]) });
  throwsFormat(() => parseNpy(full.subarray(0, full.length - 1), 't.npy'), /^t\.npy: expected 24 data bytes for shape \(2, 3\) of f4, received 23 \(file truncated\)$/);
  throwsFormat(() => parseNpy(full.subarray(0, full.length - 24)), /expected 24 data bytes/, /received 0 \(file truncated\)/);
  const longer = new Uint8Array(full.length + 2);
  longer.set(full);
  throwsFormat(() => parseNpy(longer, 'o.npy'), /^o\.npy: expected 24 data bytes/, /received 26 \(oversized: 2 trailing bytes\)$/);
});

test('a shape of 10^30 elements is refused without allocating', () => {
  const huge = npyBytes({ descr: '<f8', shape: [1e15, 1e15], data: f64le([1, 2]) });
  const started = Date.now();
  throwsFormat(() => parseNpy(huge, 'big.npy'), /expected ~8\.00e30 data bytes for shape \(1000000000000000, 1000000000000000\) of f8, received 16 \(file truncated\)/);
  assert.ok(Date.now() - started < 1000);
  // A single dimension past 2^53 cannot be held exactly by a Number.
  throwsFormat(
    () => parseNpy(npyBytes({ descr: '|u1', shape: ['1000000000000000000000000000000', 0] })),
    /shape: expected dimensions up to 2\^53-1, received \(~1\.00e30, 0\)/,
  );
  // Many axes: the message stays short.
  const many = npyBytes({ descr: '|u1', shape: range(300, () => 4294967295) });
  assert.throws(() => parseNpy(many), (err: Error) => err instanceof DataFormatError && err.message.length < 300);
});

test('refuses unterminated, malformed and incomplete headers', () => {
  const data = f32le([1, 2]);
  throwsFormat(
    () => parseNpy(npyBytes({ descr: '<f4', shape: [2], data, unterminated: true }), 'u.npy'),
    /^u\.npy header: expected a dict literal terminated by a newline \(\\n\), received a header ending in/,
  );
  throwsFormat(
    () => parseNpy(npyBytes({ dict: `{'descr': '<f4', 'fortran_order': False}`, data }), 'm.npy'),
    /^m\.npy header: expected keys 'descr', 'fortran_order' and 'shape', received no 'shape' key$/,
  );
  throwsFormat(
    () => parseNpy(npyBytes({ dict: `{'descr': '<f4', 'shape': (2,)}`, data })),
    /received no 'fortran_order' key/,
  );
  const garbage: [string, RegExp][] = [
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': True}`, /only keys .*received an extra key "extra"/],
    [`{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}`, /each key once/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (2)}`, /1-element tuple needs a trailing comma/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}`, /a non-negative integer/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (2.0,)}`, /an integer/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (2,,)}`, /an integer/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': [2]}`, /shape: expected a tuple of non-negative integers, received a list/],
    [`{'descr': '<f4', 'fortran_order': false, 'shape': (2,)}`, /expected a value/],
    [`{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2,)}`, /expected a value/],
    [`{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}`, /expected a value/],
    [`{'descr': '<f4', 'fortran_order': 'False', 'shape': (2,)}`, /'fortran_order' True or False, received a string/],
    [`{'descr': True, 'fortran_order': False, 'shape': (2,)}`, /'descr' as a quoted string, received true/],
    [`{'descr': __import__('os').system('rm'), 'fortran_order': False, 'shape': (2,)}`, /expected a value/],
    [`{'descr': '<f4\\x00', 'fortran_order': False, 'shape': (2,)}`, /no escapes/],
    [`{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}`, /expected ',' or '\}' after a value at character 17/],
    [`{'descr' '<f4', 'fortran_order': False, 'shape': (2,)}`, /expected ':' after the key/],
    [`{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}`, /expected ',' or '}' after a value/],
    [`{descr: '<f4', 'fortran_order': False, 'shape': (2,)}`, /a quoted key/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x`, /only spaces after the closing brace/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (2,)`, /received the end of the header/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }}`, /only spaces/],
    [`'descr': '<f4'`, /a dict literal starting with '\{'/],
    [``, /a dict literal/],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': ()}`, /shape: expected at least 1 axis, received \(\) \(a 0-d scalar\)/],
  ];
  for (const [dict, pattern] of garbage) {
    throwsFormat(() => parseNpy(npyBytes({ dict, data }), 'g.npy'), /^g\.npy (header|shape): expected /, pattern);
  }
  // An empty header (length 0) is unterminated.
  throwsFormat(() => parseNpy(Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0])), /received an empty header/);
});

test('parses input that starts at an odd byte offset', () => {
  const values = [1.5, -2.25, 1e-7, 3];
  for (const [descr, encoded] of [['<f4', f32le(values)], ['<f8', f64le(values)]] as const) {
    const file = npyBytes({ descr, shape: [2, 2], data: encoded });
    const big = new Uint8Array(file.length + 8);
    big.set(file, 1);
    const view = big.subarray(1, 1 + file.length);
    assert.equal(view.byteOffset, 1);
    const arr = parseNpy(view);
    assert.deepEqual([...arr.data], descr === '<f4' ? [...Float32Array.from(values)] : values);
    assert.equal(arr.data.byteOffset, 0);
  }
});

test('parses a Node Buffer, including a small one inside the shared pool', () => {
  const values = [0.5, Number.NaN, -3];
  for (const [descr, encoded] of [['<f4', f32le(values)], ['<f8', f64le(values)], ['|u1', Uint8Array.from([7, 8, 9])]] as const) {
    const file = npyBytes({ descr, shape: [1, 3], data: encoded });
    // Buffer.from copies small arrays into the pool at a non-zero offset; its slice() is a view.
    const pooled = Buffer.concat([Buffer.from([1, 2, 3]), Buffer.from(file)]).subarray(3);
    assert.ok(Buffer.isBuffer(pooled));
    const arr = parseNpy(pooled, 'pooled.npy');
    assert.equal(arr.data.length, 3);
    assert.equal(arr.data.byteOffset, 0);
    assert.ok(!Buffer.isBuffer(arr.data), 'data is a plain typed array, not a Buffer view');
    if (descr === '|u1') {
      assert.deepEqual([...arr.data], [7, 8, 9]);
      pooled[pooled.length - 1] = 0;
      assert.equal(arr.data[2], 9, 'u1 data does not alias the Buffer');
    } else {
      assert.equal(arr.data[0], 0.5);
      assert.ok(Number.isNaN(arr.data[1]));
      throwsFormat(() => npyRows(arr, 'pooled.npy'), /received NaN at row 0, column 1$/);
    }
  }
});

test('readNpyFile reads a file and names the path in errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'npy-test-'));
  try {
    const good = join(dir, 'good.npy');
    writeFileSync(good, npyBytes({ descr: '|u1', shape: [2, 2], data: Uint8Array.from([1, 2, 3, 4]) }));
    assert.deepEqual([...readNpyFile(good).data], [1, 2, 3, 4]);
    const missing = join(dir, 'missing.npy');
    throwsFormat(() => readNpyFile(missing), new RegExp('^' + escapeRe(missing).source + ': '), /ENOENT/);
    throwsFormat(() => readNpyFile(dir), /EISDIR/);
    const bad = join(dir, 'bad.npy');
    writeFileSync(bad, npyBytes({ descr: '<i8', shape: [1], data: new Uint8Array(8) }));
    throwsFormat(() => readNpyFile(bad), new RegExp('^' + escapeRe(bad).source + ' dtype: '), /int64/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const PYTHON = '/usr/bin/python3';
const hasNumpy = spawnSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

test('agrees with files written by numpy.save', (t) => {
  if (!hasNumpy) {
    t.skip(`numpy not importable by ${PYTHON}`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'npy-numpy-'));
  try {
    const script = [
      'import sys, numpy as np',
      'd = sys.argv[1]',
      "np.save(d + '/u8.npy', (np.arange(12) * 37 % 256).astype(np.uint8).reshape(3, 4))",
      "np.save(d + '/f32.npy', (np.arange(24, dtype=np.float32) * 0.5 - 3.25).reshape(2, 3, 4))",
      "np.save(d + '/f64.npy', (np.arange(15, dtype=np.float64) / 7).reshape(3, 5))",
      "np.save(d + '/fortran.npy', np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))",
      "np.save(d + '/int64.npy', np.arange(6, dtype=np.int64).reshape(2, 3))",
      "np.save(d + '/big_endian.npy', np.arange(4, dtype='>f4').reshape(2, 2))",
      "np.save(d + '/one_d.npy', np.arange(5, dtype=np.float64))",
    ].join('\n');
    const run = spawnSync(PYTHON, ['-c', script, dir], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);

    const u8 = readNpyFile(join(dir, 'u8.npy'));
    assert.equal(u8.dtype, 'u1');
    assert.deepEqual(u8.shape, [3, 4]);
    assert.deepEqual([...u8.data], range(12, (i) => (i * 37) % 256));
    const u8rows = npyRows(u8);
    assert.deepEqual([u8rows.rows, u8rows.cols, u8rows.image], [3, 4, null]);

    const f32 = readNpyFile(join(dir, 'f32.npy'));
    assert.equal(f32.dtype, 'f4');
    assert.deepEqual(f32.shape, [2, 3, 4]);
    assert.deepEqual([...f32.data], range(24, (i) => i * 0.5 - 3.25));
    const f32rows = npyRows(f32);
    assert.deepEqual([f32rows.rows, f32rows.cols, f32rows.image], [2, 12, { width: 4, height: 3 }]);

    const f64 = readNpyFile(join(dir, 'f64.npy'));
    assert.equal(f64.dtype, 'f8');
    assert.deepEqual(f64.shape, [3, 5]);
    assert.deepEqual([...f64.data], range(15, (i) => i / 7));

    assert.deepEqual(readNpyFile(join(dir, 'one_d.npy')).shape, [5]);
    throwsFormat(() => readNpyFile(join(dir, 'fortran.npy')), /layout: expected C order, received Fortran order/);
    throwsFormat(() => readNpyFile(join(dir, 'int64.npy')), /dtype: expected uint8, float32 or float64/, /"<i8" \(int64\)/);
    throwsFormat(() => readNpyFile(join(dir, 'big_endian.npy')), /">f4" \(float32, big-endian\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('seeded mutants either parse consistently or throw DataFormatError', { timeout: 30000 }, () => {
  const seeds: [string, Uint8Array][] = [
    ['v1 f4 2-D', npyBytes({ version: 1, descr: '<f4', shape: [3, 4], data: f32le(range(12, (i) => i - 5.5)) })],
    ['v2 u1 3-D', npyBytes({ version: 2, descr: '|u1', shape: [2, 3, 4], data: Uint8Array.from(range(24, (i) => i * 10)) })],
  ];
  const headerChars = "{}()[]'\",: 0123456789TrueFalse<>|=fui148\n\\L-x";
  let parsed = 0;
  let refused = 0;
  for (const [name, original] of seeds) {
    assert.equal(npyRows(parseNpy(original)).data.length, product(parseNpy(original).shape));
    const gen = new Rng(name.length * 7919 + original.length);
    const rand = (): number => gen.random();
    const int = (n: number): number => Math.floor(rand() * n);
    const headerEnd = original.length - (name.startsWith('v1') ? 48 : 24);
    for (let k = 0; k < 300; k++) {
      let m: Uint8Array;
      const kind = k % 4;
      if (kind === 0) {
        m = original.slice();
        const at = int(m.length);
        m[at] = m[at]! ^ (1 << int(8));
      } else if (kind === 1) {
        m = original.slice(0, int(original.length));
      } else if (kind === 2) {
        const at = int(original.length + 1);
        m = new Uint8Array(original.length + 1);
        m.set(original.subarray(0, at));
        m[at] = int(256);
        m.set(original.subarray(at), at + 1);
      } else {
        m = original.slice();
        const count = 1 + int(4);
        for (let j = 0; j < count; j++) m[int(headerEnd)] = headerChars.charCodeAt(int(headerChars.length));
      }
      const label = `${name} mutant ${k} (kind ${kind})`;
      try {
        const arr = parseNpy(m, label);
        assert.equal(arr.data.length, product(arr.shape), label);
        assert.ok(arr.shape.length >= 1, label);
        const r = npyRows(arr, label);
        assert.equal(r.data.length, r.rows * r.cols, label);
        assert.equal(r.rows, arr.shape[0], label);
        parsed++;
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        assert.ok(err instanceof DataFormatError, `${label}: ${String(err)}`);
        assert.ok(!err.message.includes('\n'), `${label}: one-line message`);
        assert.ok(err.message.startsWith(label), `${label}: names the source: ${err.message}`);
        refused++;
      }
    }
  }
  // Both outcomes occur, so the fuzz exercises the parser and not only the magic check.
  assert.ok(parsed > 20, `parsed ${parsed}`);
  assert.ok(refused > 100, `refused ${refused}`);
});
