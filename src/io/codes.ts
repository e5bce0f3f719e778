/**
 * Latent-code files (.aec): the codes an encoder gives for some rows, so the encoder can be
 * used as a compressor and the decoder as the decompressor.
 *
 * Byte layout (version 1; every integer and value little-endian):
 *
 *   offset       size            content
 *   0            8               magic: the ASCII bytes "AECODES1"
 *   8            4               H: u32, the byte length of the JSON header (2 <= H <= file size - 12,
 *                                and H <= MAX_CODES_HEADER_BYTES: 64 MiB)
 *   12           H               the header: UTF-8 JSON object (below)
 *   12 + H       P               P = (8 - (12 + H) % 8) % 8 zero bytes, so the data starts at a multiple of 8
 *   D = 12+H+P   rows*dims*size  the codes, row-major (row 0's dims values, then row 1's, ...)
 *
 * The file ends exactly after the data: a short or a long file is an error.
 *
 * The header has exactly these keys (a version-1 reader refuses any other, so a file that
 * needs a newer reader is never misread):
 *
 *   version  1
 *   dtype    "f32" | "f16" | "q8"
 *   rows     positive integer: how many code vectors
 *   dims     positive integer (at most 2^20): values per code vector
 *   model    null, or {fingerprint, description} of the model whose encoder wrote the codes:
 *              fingerprint  "sha256:" + 64 lowercase hex digits (see modelFingerprint)
 *              description  a string of at most 500 characters, for people
 *   note     optional string of at most 500 characters: where the rows came from
 *   quant    q8 only (and required there): {scale: number[dims], offset: number[dims]}
 *
 * Data, by dtype (size = bytes per value):
 *
 *   f32 (4)  IEEE 754 binary32. Values must be finite.
 *   f16 (2)  IEEE 754 binary16 (half). Written from the float32 codes by round-to-nearest,
 *            ties-to-even, with subnormals (so |v| < 2^-25 becomes ±0). A code whose magnitude
 *            rounds past the largest half (65504; from 65520 up) is refused when writing rather
 *            than clamped or turned into Inf: a code that cannot be stored is an error the
 *            caller should see (use f32 or q8). Inf and NaN halves are refused when reading.
 *   q8  (1)  uint8 q with a per-dimension scale and offset: value = offset[j] + scale[j]·q,
 *            computed in float64 and rounded once to float32. Writing takes offset[j] = the
 *            minimum of dimension j over the rows written, scale[j] = (max − min) / 255, and
 *            q = floor((v − offset[j]) / scale[j] + 0.5) clamped to [0, 255] (nearest, ties up);
 *            a constant dimension has scale 0 and q = 0. So every value comes back within
 *            scale[j]/2 (plus float32 rounding). scale[j] must be finite and >= 0, offset[j]
 *            finite, and offset[j] and offset[j] + 255·scale[j] within float32's range.
 *
 * Every problem with a file is a one-line DataFormatError naming the source; nothing a file
 * says is allocated before the file's own length has confirmed it.
 *
 * Limits, checked before the header is decoded or parsed: H is at most MAX_CODES_HEADER_BYTES
 * (64 MiB; the largest header version 1 allows, q8's scale and offset for 2^20 dims, is under
 * 53 MiB), read from the preamble alone (readCodesFile refuses without reading the rest of the
 * file), and the header holds at most MAX_CODES_HEADER_ITEMS JSON items (keys, array
 * elements, objects, arrays: 2·dims + 23 at most in a valid header), counted by one pass over
 * its bytes.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { DataFormatError, ValidationError, expected, show } from '../core/errors.js';
import { matrix, type Matrix } from '../core/matrix.js';
import type { Scaling } from '../data/scaling.js';
import { fileError } from '../data/idx.js';
import type { Autoencoder } from '../nn/autoencoder.js';
import { writeFileAtomic } from './atomic.js';
import { bytesText, scanJson } from './json-scan.js';

export const CODES_MAGIC = 'AECODES1';
export const CODES_VERSION = 1;
export const CODE_DTYPES = ['f32', 'f16', 'q8'] as const;
export type CodeDtype = (typeof CODE_DTYPES)[number];
/** Bytes per stored value. */
export const DTYPE_BYTES: Record<CodeDtype, number> = { f32: 4, f16: 2, q8: 1 };
/** The bytes before the JSON header: the magic and the header length. */
export const PREAMBLE_BYTES = 12;
export const MAX_DIMS = 1 << 20;
/**
 * The largest header accepted: 64 MiB. A valid header is at most 2 arrays of MAX_DIMS numbers
 * of at most 25 characters and a comma each (52 MiB) plus under 7 KB for the other keys, so
 * no file the encoder writes is refused.
 */
export const MAX_CODES_HEADER_BYTES = 64 * 1024 * 1024;
/** The most JSON items (keys, array elements, objects, arrays) a header may hold: a valid one has at most 2·dims + 23. */
export const MAX_CODES_HEADER_ITEMS = 2 * MAX_DIMS + 64;
const MAX_TEXT = 500;
const HEADER_KEYS = ['version', 'dtype', 'rows', 'dims', 'model', 'note', 'quant'];
const FLOAT32_MAX = 3.4028234663852886e38;
const FINGERPRINT = /^sha256:[0-9a-f]{64}$/;

/** Identifies the model whose encoder wrote the codes, so only its decoder reads them back. */
export interface CodesModel {
  fingerprint: string;
  description: string;
}

export interface CodesMeta {
  model: CodesModel | null;
  note?: string;
}

export interface Quantization {
  scale: number[];
  offset: number[];
}

export interface DecodedCodes {
  /** rows x dims, float32, dequantised. */
  codes: Matrix;
  dtype: CodeDtype;
  meta: CodesMeta;
  /** q8 only. */
  quant: Quantization | null;
  /** Bytes of the file that are not code values: preamble, header and padding. */
  overheadBytes: number;
}

// ---------------------------------------------------------------------------------------------
// Model fingerprints

/**
 * "sha256:<hex>" of what decoding depends on: the architecture, the input scaling and every
 * parameter's float32 values (little-endian, in state_dict order). It leaves out the file's
 * training record, so re-saving the same weights keeps the fingerprint, while any change to a
 * weight, a layer size, an activation or the scaling changes it.
 */
export function modelFingerprint(model: Autoencoder, scaling: Scaling): string {
  const h = createHash('sha256');
  const a = model.config;
  h.update(
    JSON.stringify({
      fingerprint: 'aekit-model/1',
      layers: a.layers,
      activation: a.activation,
      outputActivation: a.outputActivation,
      tied: a.tied,
      scaling: { kind: scaling.kind, min: scaling.min, max: scaling.max },
    }),
  );
  for (const p of model.params) {
    h.update(p.name);
    h.update(littleEndianBytes(p.value));
  }
  return `sha256:${h.digest('hex')}`;
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function littleEndianBytes(v: Float32Array): Uint8Array {
  if (HOST_IS_LITTLE_ENDIAN) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  const out = new Uint8Array(v.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) view.setFloat32(i * 4, v[i]!, true);
  return out;
}

/** The header's `model` entry for an autoencoder and its scaling. */
export function codesModelOf(model: Autoencoder, scaling: Scaling): CodesModel {
  const a = model.config;
  return {
    fingerprint: modelFingerprint(model, scaling),
    description: `autoencoder ${a.layers.join('-')}${a.tied ? ' tied' : ''}, ${a.activation}/${a.outputActivation}, ${scaling.kind} scaling of [${scaling.min}, ${scaling.max}]`,
  };
}

// ---------------------------------------------------------------------------------------------
// Half precision

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/**
 * The binary16 bits nearest to a float32 value (ties to even), subnormals included. A finite
 * value too large for half gives the Inf bits (0x7c00 with its sign); callers decide.
 */
export function float32ToHalfBits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | (mant === 0 ? 0x7c00 : 0x7e00);
  const e = exp - 112; // the half's biased exponent: exp - 127 + 15
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: units of 2^-24. Below 2^-25 (e < -10) everything rounds to zero.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const q = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    // q + 1 may reach 0x400, which is exactly the smallest normal's bits.
    return sign | (rem > half || (rem === half && (q & 1) === 1) ? q + 1 : q);
  }
  const r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa bumps the exponent, up to 0x7c00 (Inf) for the largest values.
  return sign | (rem > 0x1000 || (rem === 0x1000 && (r & 1) === 1) ? r + 1 : r);
}

/** The value of binary16 bits (exact in float32 and float64). */
export function halfBitsToNumber(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return s * mant * 2 ** -24;
  if (exp === 31) return mant === 0 ? s * Infinity : NaN;
  return s * (1024 + mant) * 2 ** (exp - 25);
}

// ---------------------------------------------------------------------------------------------
// 8-bit quantisation

/** Per-dimension offset (the minimum) and scale ((max − min) / 255) over the rows of `codes`. */
export function quantizationOf(codes: Matrix): Quantization {
  const { rows, cols, data } = codes;
  const min = new Float64Array(cols).fill(Infinity);
  const max = new Float64Array(cols).fill(-Infinity);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      const v = data[r * cols + j]!;
      if (v < min[j]!) min[j] = v;
      if (v > max[j]!) max[j] = v;
    }
  }
  return { offset: Array.from(min), scale: Array.from(min, (lo, j) => (max[j]! - lo) / 255) };
}

function quantize(v: number, offset: number, scale: number): number {
  if (scale === 0) return 0;
  const q = Math.floor((v - offset) / scale + 0.5);
  return q < 0 ? 0 : q > 255 ? 255 : q;
}

// ---------------------------------------------------------------------------------------------
// Encoding

function checkText(what: string, v: unknown): string {
  if (typeof v !== 'string' || v.length > MAX_TEXT) throw new ValidationError(expected(what, `a string of at most ${MAX_TEXT} characters`, v));
  return v;
}

function checkMeta(meta: CodesMeta): void {
  if (typeof meta !== 'object' || meta === null) throw new ValidationError(expected('codes meta', 'an object {model, note?}', meta));
  if (meta.model !== null) {
    if (typeof meta.model !== 'object' || meta.model === undefined) throw new ValidationError(expected('codes meta.model', 'null or {fingerprint, description}', meta.model));
    if (typeof meta.model.fingerprint !== 'string' || !FINGERPRINT.test(meta.model.fingerprint)) {
      throw new ValidationError(expected('codes meta.model.fingerprint', '"sha256:" and 64 lowercase hex digits', meta.model.fingerprint));
    }
    checkText('codes meta.model.description', meta.model.description);
  }
  if (meta.note !== undefined) checkText('codes meta.note', meta.note);
}

/** The codes as an .aec file's bytes. Throws ValidationError for codes the dtype cannot hold. */
export function encodeCodes(codes: Matrix, dtype: CodeDtype, meta: CodesMeta): Uint8Array {
  if (!(CODE_DTYPES as readonly string[]).includes(dtype)) throw new ValidationError(expected('codes dtype', `one of ${CODE_DTYPES.join(', ')}`, dtype));
  const { rows, cols, data } = codes;
  if (!Number.isSafeInteger(rows) || rows < 1) throw new ValidationError(expected('codes rows', 'a positive integer', rows));
  if (!Number.isSafeInteger(cols) || cols < 1 || cols > MAX_DIMS) throw new ValidationError(expected('codes dims', `an integer in [1, ${MAX_DIMS}]`, cols));
  if (!(data instanceof Float32Array) || data.length !== rows * cols) throw new ValidationError(expected(`codes data for ${rows}x${cols}`, `a Float32Array of ${rows * cols} values`, data?.length));
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw new ValidationError(expected(`code at row ${Math.floor(i / cols)}, dim ${i % cols}`, 'a finite number', data[i]));
  }
  checkMeta(meta);
  const quant = dtype === 'q8' ? quantizationOf(codes) : null;
  const header: Record<string, unknown> = { version: CODES_VERSION, dtype, rows, dims: cols, model: meta.model === null ? null : { fingerprint: meta.model.fingerprint, description: meta.model.description } };
  if (meta.note !== undefined) header.note = meta.note;
  if (quant) header.quant = quant;
  const json = new TextEncoder().encode(JSON.stringify(header));
  // Unreachable for codes that passed the checks above; kept so a writer never outgrows the reader.
  if (json.length > MAX_CODES_HEADER_BYTES) throw new ValidationError(`codes header: expected at most ${bytesText(MAX_CODES_HEADER_BYTES)}, received ${bytesText(json.length)}`);
  const start = align8(PREAMBLE_BYTES + json.length);
  const out = new Uint8Array(start + data.length * DTYPE_BYTES[dtype]);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = CODES_MAGIC.charCodeAt(i);
  view.setUint32(8, json.length, true);
  out.set(json, PREAMBLE_BYTES);
  switch (dtype) {
    case 'f32':
      for (let i = 0; i < data.length; i++) view.setFloat32(start + 4 * i, data[i]!, true);
      break;
    case 'f16':
      for (let i = 0; i < data.length; i++) {
        const bits = float32ToHalfBits(data[i]!);
        if ((bits & 0x7fff) === 0x7c00) {
          throw new ValidationError(expected(`code at row ${Math.floor(i / cols)}, dim ${i % cols} for f16`, 'a magnitude below 65520 (the half-precision range); use f32 or q8', data[i]));
        }
        view.setUint16(start + 2 * i, bits, true);
      }
      break;
    case 'q8':
      for (let i = 0; i < data.length; i++) {
        const j = i % cols;
        out[start + i] = quantize(data[i]!, quant!.offset[j]!, quant!.scale[j]!);
      }
      break;
  }
  return out;
}

function align8(n: number): number {
  return n + ((8 - (n % 8)) % 8);
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** Values from the file can hold line breaks that JSON.stringify keeps; messages stay one line. */
function oneLine(message: string): string {
  return message.replace(/[\r\n\u2028\u2029]/g, ' ');
}

/**
 * Renders a value from the file. show() recurses into arrays, so a header of a million nested
 * brackets would overflow the stack; containers are described by their size instead.
 */
function brief(v: unknown): string {
  if (Array.isArray(v)) return `an array of ${v.length} entr${v.length === 1 ? 'y' : 'ies'}`;
  if (typeof v === 'object' && v !== null) return `an object with keys ${show(Object.keys(v).slice(0, 8).join(','))}`;
  return show(v);
}

function fail(source: string, what: string, rule: string, received: unknown): never {
  throw new DataFormatError(oneLine(`${source}: ${what}: expected ${rule}, received ${brief(received)}`));
}

/** `received` already rendered (a byte count, a description). */
function failRaw(source: string, what: string, rule: string, received: string): never {
  throw new DataFormatError(oneLine(`${source}: ${what}: expected ${rule}, received ${received}`));
}

function bytesWord(n: number): string {
  return `${n} byte${n === 1 ? '' : 's'}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseText(source: string, what: string, v: unknown): string {
  if (typeof v !== 'string' || v.length > MAX_TEXT) fail(source, what, `a string of at most ${MAX_TEXT} characters`, v);
  return v;
}

function parseModel(source: string, v: unknown): CodesModel | null {
  if (v === null) return null;
  if (!isObject(v)) fail(source, 'header "model"', 'null or an object {fingerprint, description}', v);
  for (const k of Object.keys(v)) {
    if (k !== 'fingerprint' && k !== 'description') fail(source, 'header "model"', 'only the keys fingerprint and description', k);
  }
  if (typeof v.fingerprint !== 'string' || !FINGERPRINT.test(v.fingerprint)) fail(source, 'header "model.fingerprint"', '"sha256:" and 64 lowercase hex digits', v.fingerprint);
  return { fingerprint: v.fingerprint, description: parseText(source, 'header "model.description"', v.description) };
}

function parseQuant(source: string, v: unknown, dims: number): Quantization {
  if (!isObject(v)) fail(source, 'header "quant"', 'an object {scale, offset} for dtype q8', v);
  for (const k of Object.keys(v)) {
    if (k !== 'scale' && k !== 'offset') fail(source, 'header "quant"', 'only the keys scale and offset', k);
  }
  const arr = (name: 'scale' | 'offset'): number[] => {
    const a = v[name];
    if (!Array.isArray(a) || a.length !== dims) fail(source, `header "quant.${name}"`, `an array of ${dims} numbers (dims)`, a);
    a.forEach((x, j) => {
      if (typeof x !== 'number' || !Number.isFinite(x)) fail(source, `header "quant.${name}[${j}]"`, 'a finite number', x);
    });
    return a as number[];
  };
  const scale = arr('scale');
  const offset = arr('offset');
  for (let j = 0; j < dims; j++) {
    if (scale[j]! < 0) fail(source, `header "quant.scale[${j}]"`, 'a number >= 0', scale[j]);
    const top = offset[j]! + 255 * scale[j]!;
    if (Math.abs(offset[j]!) > FLOAT32_MAX || !(Math.abs(top) <= FLOAT32_MAX)) {
      fail(source, `header "quant" dimension ${j}`, 'offset and offset + 255·scale within the float32 range', `offset ${offset[j]}, scale ${scale[j]}`);
    }
  }
  return { scale, offset };
}

/**
 * Reads an .aec file's bytes. `source` (a path, say) names the file in error messages.
 * Any problem is a one-line DataFormatError.
 */
export function decodeCodes(buf: Uint8Array, source = 'codes file'): DecodedCodes {
  if (!(buf instanceof Uint8Array)) throw new ValidationError(expected('decodeCodes input', 'a Uint8Array', buf));
  if (buf.length < PREAMBLE_BYTES) failRaw(source, 'file', `at least ${PREAMBLE_BYTES} bytes (magic and header length)`, bytesWord(buf.length));
  for (let i = 0; i < 8; i++) {
    if (buf[i] !== CODES_MAGIC.charCodeAt(i)) {
      failRaw(source, 'magic', `"${CODES_MAGIC}" (an aekit codes file)`, JSON.stringify(String.fromCharCode(...buf.subarray(0, 8))));
    }
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLength = view.getUint32(8, true);
  // Before the file's own length: a header over the limit is refused from the preamble alone.
  if (headerLength > MAX_CODES_HEADER_BYTES) {
    failRaw(source, 'header length', `at most ${bytesText(MAX_CODES_HEADER_BYTES)}`, bytesText(headerLength));
  }
  if (headerLength < 2 || headerLength > buf.length - PREAMBLE_BYTES) {
    failRaw(source, 'header length', `2 to ${Math.max(2, buf.length - PREAMBLE_BYTES)} bytes (what follows the preamble)`, String(headerLength));
  }
  const { items } = scanJson(buf.subarray(PREAMBLE_BYTES, PREAMBLE_BYTES + headerLength));
  if (items > MAX_CODES_HEADER_ITEMS) {
    failRaw(source, 'header', `at most ${MAX_CODES_HEADER_ITEMS} JSON items (keys, array elements, objects, arrays)`, String(items));
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(PREAMBLE_BYTES, PREAMBLE_BYTES + headerLength));
  } catch {
    failRaw(source, 'header', 'UTF-8 text', 'invalid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch {
    fail(source, 'header', 'a JSON object', text);
  }
  if (!isObject(header)) fail(source, 'header', 'a JSON object', header);
  for (const k of Object.keys(header)) {
    if (!HEADER_KEYS.includes(k)) fail(source, 'header key', `one of ${HEADER_KEYS.join(', ')}`, k);
  }
  if (header.version !== CODES_VERSION) fail(source, 'header "version"', String(CODES_VERSION), header.version);
  const dtype = header.dtype;
  if (typeof dtype !== 'string' || !(CODE_DTYPES as readonly string[]).includes(dtype)) fail(source, 'header "dtype"', `one of ${CODE_DTYPES.join(', ')}`, dtype);
  const rows = header.rows;
  if (typeof rows !== 'number' || !Number.isSafeInteger(rows) || rows < 1) fail(source, 'header "rows"', 'a positive integer', rows);
  const dims = header.dims;
  if (typeof dims !== 'number' || !Number.isSafeInteger(dims) || dims < 1 || dims > MAX_DIMS) fail(source, 'header "dims"', `an integer in [1, ${MAX_DIMS}]`, dims);
  const model = parseModel(source, header.model);
  const meta: CodesMeta = { model };
  if (header.note !== undefined) meta.note = parseText(source, 'header "note"', header.note);
  const d = dtype as CodeDtype;
  let quant: Quantization | null = null;
  if (d === 'q8') quant = parseQuant(source, header.quant, dims);
  else if (header.quant !== undefined) fail(source, 'header "quant"', 'absent unless dtype is q8', header.quant);

  const start = align8(PREAMBLE_BYTES + headerLength);
  for (let i = PREAMBLE_BYTES + headerLength; i < Math.min(start, buf.length); i++) {
    if (buf[i] !== 0) failRaw(source, `padding byte at offset ${i}`, '0', String(buf[i]));
  }
  const size = DTYPE_BYTES[d];
  // rows·dims·size may not be exact beyond 2^53, but then it is far larger than any buffer.
  const want = rows * dims * size;
  const have = buf.length - start;
  if (have !== want) {
    failRaw(source, 'data', `${rows}x${dims} ${d} values = ${bytesWord(want)} after the header`, have < 0 ? 'a file that ends inside the padding' : `${bytesWord(have)}${have > want ? ' (trailing bytes)' : ' (truncated)'}`);
  }
  const codes = matrix(rows, dims);
  const out = codes.data;
  const where = (i: number) => `value at row ${Math.floor(i / dims)}, dim ${i % dims}`;
  switch (d) {
    case 'f32':
      for (let i = 0; i < out.length; i++) {
        const v = view.getFloat32(start + 4 * i, true);
        if (!Number.isFinite(v)) fail(source, where(i), 'a finite number', v);
        out[i] = v;
      }
      break;
    case 'f16':
      for (let i = 0; i < out.length; i++) {
        const v = halfBitsToNumber(view.getUint16(start + 2 * i, true));
        if (!Number.isFinite(v)) fail(source, where(i), 'a finite number', v);
        out[i] = v;
      }
      break;
    case 'q8': {
      const { scale, offset } = quant!;
      for (let i = 0; i < out.length; i++) {
        const j = i % dims;
        out[i] = offset[j]! + scale[j]! * buf[start + i]!;
      }
      break;
    }
  }
  return { codes, dtype: d, meta, quant, overheadBytes: start };
}

// ---------------------------------------------------------------------------------------------
// Files

/** Writes an .aec file atomically; returns its size in bytes. */
export function writeCodesFile(path: string, codes: Matrix, dtype: CodeDtype, meta: CodesMeta): number {
  const bytes = encodeCodes(codes, dtype, meta);
  writeFileAtomic(path, bytes);
  return bytes.length;
}

export function readCodesFile(path: string): DecodedCodes {
  let bytes: Buffer;
  try {
    // The preamble first: a header over the limit is refused without reading the file.
    const fd = openSync(path, 'r');
    try {
      const preamble = Buffer.alloc(PREAMBLE_BYTES);
      if (readSync(fd, preamble, 0, PREAMBLE_BYTES, 0) === PREAMBLE_BYTES && preamble.readUInt32LE(8) > MAX_CODES_HEADER_BYTES) {
        decodeCodes(new Uint8Array(preamble.buffer, preamble.byteOffset, PREAMBLE_BYTES), path);
      }
    } finally {
      closeSync(fd);
    }
    bytes = readFileSync(path);
  } catch (err) {
    if (err instanceof DataFormatError) throw err;
    throw fileError(path, 'a readable codes file', err);
  }
  return decodeCodes(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

/** One line saying what a codes file holds, for the CLI. */
export function describeCodes(c: Pick<DecodedCodes, 'dtype' | 'meta'> & { codes: Pick<Matrix, 'rows' | 'cols'> }): string {
  return `${c.codes.rows} codes of ${c.codes.cols} dims (${c.dtype})${c.meta.model ? ` from ${c.meta.model.description}` : ''}${c.meta.note ? `; ${show(c.meta.note)}` : ''}`;
}
