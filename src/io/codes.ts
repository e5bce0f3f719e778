/**
 * Latent-code files: the codes an encoder gives for some rows, so the encoder can be used as a
 * compressor and the decoder as the decompressor. A codes file is a safetensors file
 * (src/io/safetensors.ts), so PyTorch, NumPy or any safetensors reader can read it:
 *
 *   tensors (exactly these; a missing or an extra one is an error)
 *     codes    [rows, dims]   the codes, row-major: F32 for dtype f32, F16 for f16, U8 for q8
 *     scale    [dims]         F32, q8 only (and required there)
 *     offset   [dims]         F32, q8 only (and required there)
 *   __metadata__ (string values; exactly these keys, so a file that needs a newer reader is
 *   never misread)
 *     format             "aekit-codes/1"
 *     dtype              "f32" | "f16" | "q8"
 *     model_fingerprint  "sha256:" + 64 lowercase hex digits (see modelFingerprint), and
 *     model_description  at most 500 characters, for people: the model whose encoder wrote the
 *                        codes; both or neither (codes of no model)
 *     note               optional, at most 500 characters: where the rows came from
 *
 * rows >= 1 and 1 <= dims <= MAX_DIMS (2^20). Values, by dtype (bytes per value):
 *
 *   f32 (4)  IEEE 754 binary32. Values must be finite.
 *   f16 (2)  IEEE 754 binary16 (half), written from the float32 codes by round-to-nearest,
 *            ties-to-even, with subnormals (so |v| < 2^-25 becomes ±0; src/io/half.ts). A code
 *            whose magnitude rounds past the largest half (65504; from 65520 up) is refused when
 *            writing rather than clamped or turned into Inf: a code that cannot be stored is an
 *            error the caller should see (use f32 or q8). Inf and NaN halves are refused when
 *            reading.
 *   q8  (1)  uint8 q with a per-dimension scale and offset: value = offset[j] + scale[j]·q,
 *            computed in float64 and rounded once to float32. Writing takes (quantizationOf)
 *            offset[j] = the minimum of dimension j over the rows written and scale[j] =
 *            (max − min) / 255, stored as float32 (the offset exactly, the scale rounded toward
 *            zero so the top level never passes the maximum), and q = floor((v − offset[j]) /
 *            scale[j] + 0.5) clamped to [0, 255] (nearest, ties up) with the stored values; a
 *            constant dimension has scale 0 and q = 0. So every value comes back within about
 *            scale[j]/2 (plus float32 rounding). When reading, scale[j] must be finite and >= 0,
 *            offset[j] finite, and offset[j] + 255·scale[j] must round to a finite float32.
 *
 * Every problem with a file is a one-line DataFormatError naming the source; the safetensors
 * reader's limits apply (a header of at most MAX_HEADER_BYTES, 16 MiB, checked from the
 * length field before the rest of the file is read). A codes header is under 3 KB whatever
 * the dims: q8's scale and offset are tensors, not header text. An .aec file (this format's
 * predecessor, magic "AECODES1") is refused with a line saying to encode the rows again.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { DataFormatError, ModelFormatError, ValidationError, expected, show } from '../core/errors.js';
import { matrix, type Matrix } from '../core/matrix.js';
import type { Scaling } from '../data/scaling.js';
import { fileError } from '../data/idx.js';
import type { Autoencoder } from '../nn/autoencoder.js';
import { writeFileAtomic } from './atomic.js';
import { float32ToHalfBits, isHalfInfinity } from './half.js';
import { bytesText } from './json-scan.js';
import { MAX_HEADER_BYTES, encodeSafetensors, floatData, parseSafetensors, safetensorsParts, type RawTensor, type StoredDtype, type TensorInput } from './safetensors.js';

/** The `format` metadata value of a codes file. */
export const CODES_FORMAT = 'aekit-codes/1';
export const CODE_DTYPES = ['f32', 'f16', 'q8'] as const;
export type CodeDtype = (typeof CODE_DTYPES)[number];
/** Bytes per stored value. */
export const DTYPE_BYTES: Record<CodeDtype, number> = { f32: 4, f16: 2, q8: 1 };
/** The safetensors dtype of the codes tensor, by code dtype. */
export const TENSOR_DTYPES: Record<CodeDtype, StoredDtype> = { f32: 'F32', f16: 'F16', q8: 'U8' };
export const MAX_DIMS = 1 << 20;
const MAX_TEXT = 500;
const METADATA_KEYS = ['format', 'dtype', 'model_fingerprint', 'model_description', 'note'];
const FLOAT32_MAX = 3.4028234663852886e38;
const FINGERPRINT = /^sha256:[0-9a-f]{64}$/;
/** The first 8 bytes of an .aec file, the container codes files used before safetensors. */
const AEC_MAGIC = 'AECODES1';

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
  /** q8 only: the stored (float32) scale and offset. */
  quant: Quantization | null;
  /** Bytes of the file that are not code values: the length field, the header and, for q8, the scale and offset. */
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

/**
 * The scale and offset a q8 file stores for quantizationOf's: float32, the offset exactly (a
 * minimum of float32 values), the scale rounded toward zero, so offset + 255·scale never
 * passes the dimension's maximum (nor float32's range).
 */
export function storedQuantization(q: Quantization): Quantization {
  return { offset: q.offset.map((o) => Math.fround(o)), scale: q.scale.map(float32AtMost) };
}

/** The largest float32 <= v, for v >= 0. */
function float32AtMost(v: number): number {
  const f = Math.fround(v);
  if (f <= v) return f;
  const bits = new Uint32Array(new Float32Array([f]).buffer);
  bits[0] = bits[0]! - 1;
  return new Float32Array(bits.buffer)[0]!;
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

/** The safetensors tensors and metadata of a codes file. Throws ValidationError for codes the dtype cannot hold. */
function codesTensors(codes: Matrix, dtype: CodeDtype, meta: CodesMeta): { tensors: Array<[string, TensorInput]>; metadata: Record<string, string> } {
  if (!(CODE_DTYPES as readonly string[]).includes(dtype)) throw new ValidationError(expected('codes dtype', `one of ${CODE_DTYPES.join(', ')}`, dtype));
  const { rows, cols, data } = codes;
  if (!Number.isSafeInteger(rows) || rows < 1) throw new ValidationError(expected('codes rows', 'a positive integer', rows));
  if (!Number.isSafeInteger(cols) || cols < 1 || cols > MAX_DIMS) throw new ValidationError(expected('codes dims', `an integer in [1, ${MAX_DIMS}]`, cols));
  if (!(data instanceof Float32Array) || data.length !== rows * cols) throw new ValidationError(expected(`codes data for ${rows}x${cols}`, `a Float32Array of ${rows * cols} values`, data?.length));
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw new ValidationError(expected(`code at row ${Math.floor(i / cols)}, dim ${i % cols}`, 'a finite number', data[i]));
  }
  checkMeta(meta);
  const metadata: Record<string, string> = { format: CODES_FORMAT, dtype };
  if (meta.model !== null) {
    metadata.model_fingerprint = meta.model.fingerprint;
    metadata.model_description = meta.model.description;
  }
  if (meta.note !== undefined) metadata.note = meta.note;
  const shape = [rows, cols];
  switch (dtype) {
    case 'f32':
      return { tensors: [['codes', { shape, data, dtype: 'F32' }]], metadata };
    case 'f16':
      for (let i = 0; i < data.length; i++) {
        if (isHalfInfinity(float32ToHalfBits(data[i]!))) {
          throw new ValidationError(expected(`code at row ${Math.floor(i / cols)}, dim ${i % cols} for f16`, 'a magnitude below 65520 (the half-precision range); use f32 or q8', data[i]));
        }
      }
      return { tensors: [['codes', { shape, data, dtype: 'F16' }]], metadata };
    case 'q8': {
      const { scale, offset } = storedQuantization(quantizationOf(codes));
      const q = new Uint8Array(data.length);
      for (let i = 0; i < data.length; i++) {
        const j = i % cols;
        q[i] = quantize(data[i]!, offset[j]!, scale[j]!);
      }
      return {
        tensors: [
          ['codes', { shape, data: q, dtype: 'U8' }],
          ['scale', { shape: [cols], data: Float32Array.from(scale), dtype: 'F32' }],
          ['offset', { shape: [cols], data: Float32Array.from(offset), dtype: 'F32' }],
        ],
        metadata,
      };
    }
  }
}

/** The codes as a codes file's bytes (safetensors). Throws ValidationError for codes the dtype cannot hold. */
export function encodeCodes(codes: Matrix, dtype: CodeDtype, meta: CodesMeta): Uint8Array {
  const { tensors, metadata } = codesTensors(codes, dtype, meta);
  return encodeSafetensors(tensors, metadata);
}

function codesParts(codes: Matrix, dtype: CodeDtype, meta: CodesMeta): Uint8Array[] {
  const { tensors, metadata } = codesTensors(codes, dtype, meta);
  return safetensorsParts(tensors, metadata);
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** Values from the file can hold line breaks that JSON.stringify keeps; messages stay one line. */
function oneLine(message: string): string {
  return message.replace(/[\r\n\u2028\u2029]/g, ' ');
}

function fail(source: string, what: string, rule: string, received: unknown): never {
  throw new DataFormatError(oneLine(`${source}: ${what}: expected ${rule}, received ${show(received)}`));
}

/** `received` already rendered (a byte count, a description). */
function failRaw(source: string, what: string, rule: string, received: string): never {
  throw new DataFormatError(oneLine(`${source}: ${what}: expected ${rule}, received ${received}`));
}

function parseText(source: string, what: string, v: unknown): string {
  if (typeof v !== 'string' || v.length > MAX_TEXT) fail(source, what, `a string of at most ${MAX_TEXT} characters`, v);
  return v;
}

function startsWithAec(buf: Uint8Array): boolean {
  if (buf.length < AEC_MAGIC.length) return false;
  for (let i = 0; i < AEC_MAGIC.length; i++) if (buf[i] !== AEC_MAGIC.charCodeAt(i)) return false;
  return true;
}

function refuseAec(source: string): never {
  throw new DataFormatError(
    `${source}: expected a codes file in safetensors (${CODES_FORMAT}), received an .aec file ("${AEC_MAGIC}"), a format aekit no longer reads; encode the rows again with ae encode --out <file>.safetensors`,
  );
}

function parseMeta(source: string, metadata: Record<string, string>): { dtype: CodeDtype; meta: CodesMeta } {
  if (metadata.format !== CODES_FORMAT) {
    fail(source, 'metadata "format"', `${show(CODES_FORMAT)} (a codes file written by ae encode)`, metadata.format);
  }
  for (const k of Object.keys(metadata)) {
    if (!METADATA_KEYS.includes(k)) fail(source, 'metadata key', `one of ${METADATA_KEYS.join(', ')}`, k);
  }
  const dtype = metadata.dtype;
  if (!(CODE_DTYPES as readonly string[]).includes(dtype as string)) fail(source, 'metadata "dtype"', `one of ${CODE_DTYPES.join(', ')}`, dtype);
  const fingerprint = metadata.model_fingerprint;
  const description = metadata.model_description;
  let model: CodesModel | null = null;
  if (fingerprint !== undefined || description !== undefined) {
    if (fingerprint === undefined || !FINGERPRINT.test(fingerprint)) {
      fail(source, 'metadata "model_fingerprint"', `"sha256:" and 64 lowercase hex digits${fingerprint === undefined ? ' (with model_description)' : ''}`, fingerprint);
    }
    model = { fingerprint, description: parseText(source, `metadata "model_description"${description === undefined ? ' (with model_fingerprint)' : ''}`, description) };
  }
  const meta: CodesMeta = { model };
  if (metadata.note !== undefined) meta.note = parseText(source, 'metadata "note"', metadata.note);
  return { dtype: dtype as CodeDtype, meta };
}

function shapeText(shape: number[]): string {
  return `[${shape.join(', ')}]`;
}

/** The tensor `name` of `dtype`; a missing one or another dtype is an error. */
function tensorOf(source: string, tensors: Map<string, RawTensor>, name: string, dtype: StoredDtype, codeDtype: CodeDtype): RawTensor {
  const t = tensors.get(name);
  if (t === undefined) failRaw(source, `tensor "${name}"`, `a tensor of dtype ${dtype} (dtype ${codeDtype} needs ${codeDtype === 'q8' ? 'codes, scale and offset' : 'codes'})`, 'a file without it');
  if (t.dtype !== dtype) fail(source, `tensor "${name}" dtype`, `${dtype} for dtype ${codeDtype}`, t.dtype);
  return t;
}

/**
 * Reads a codes file's bytes. `source` (a path, say) names the file in error messages.
 * Any problem is a one-line DataFormatError.
 */
export function decodeCodes(buf: Uint8Array, source = 'codes file'): DecodedCodes {
  if (!(buf instanceof Uint8Array)) throw new ValidationError(expected('decodeCodes input', 'a Uint8Array', buf));
  if (startsWithAec(buf)) refuseAec(source);
  let file;
  try {
    file = parseSafetensors(buf, source, { dtypes: ['F32', 'F16', 'U8'] });
  } catch (err) {
    // The safetensors reader speaks of model files; for codes the same line is a data error.
    if (err instanceof ModelFormatError) throw new DataFormatError(err.message);
    throw err;
  }
  const { dtype, meta } = parseMeta(source, file.metadata);
  const wanted = dtype === 'q8' ? ['codes', 'scale', 'offset'] : ['codes'];
  for (const name of file.tensors.keys()) {
    if (!wanted.includes(name)) fail(source, 'tensor', `only ${wanted.join(', ')} for dtype ${dtype}`, name);
  }
  const c = tensorOf(source, file.tensors, 'codes', TENSOR_DTYPES[dtype], dtype);
  const [rows, dims] = c.shape;
  if (c.shape.length !== 2 || rows! < 1 || dims! < 1 || dims! > MAX_DIMS) {
    failRaw(source, 'tensor "codes" shape', `[rows, dims] with rows >= 1 and dims in [1, ${MAX_DIMS}]`, shapeText(c.shape));
  }
  const codes = matrix(rows!, dims!);
  const out = codes.data;
  const where = (i: number) => `value at row ${Math.floor(i / dims!)}, dim ${i % dims!}`;
  let quant: Quantization | null = null;
  if (dtype === 'q8') {
    const vector = (name: 'scale' | 'offset'): number[] => {
      const t = tensorOf(source, file.tensors, name, 'F32', dtype);
      if (t.shape.length !== 1 || t.shape[0] !== dims) failRaw(source, `tensor "${name}" shape`, `[${dims}] (dims)`, shapeText(t.shape));
      const values = Array.from(floatData(t));
      values.forEach((x, j) => {
        if (!Number.isFinite(x)) fail(source, `${name}[${j}]`, 'a finite number', x);
      });
      return values;
    };
    const scale = vector('scale');
    const offset = vector('offset');
    for (let j = 0; j < dims!; j++) {
      if (scale[j]! < 0) fail(source, `scale[${j}]`, 'a number >= 0', scale[j]);
      if (Math.abs(Math.fround(offset[j]! + 255 * scale[j]!)) > FLOAT32_MAX) {
        failRaw(source, `dimension ${j}`, 'offset + 255·scale within the float32 range', `offset ${offset[j]}, scale ${scale[j]}`);
      }
    }
    quant = { scale, offset };
    const q = c.bytes;
    for (let i = 0; i < out.length; i++) {
      const j = i % dims!;
      out[i] = offset[j]! + scale[j]! * q[i]!;
    }
  } else {
    out.set(floatData(c));
    for (let i = 0; i < out.length; i++) {
      if (!Number.isFinite(out[i]!)) fail(source, where(i), 'a finite number', out[i]);
    }
  }
  return { codes, dtype, meta, quant, overheadBytes: buf.length - rows! * dims! * DTYPE_BYTES[dtype] };
}

// ---------------------------------------------------------------------------------------------
// Files

/** Writes a codes file (safetensors) atomically; returns its size in bytes. */
export function writeCodesFile(path: string, codes: Matrix, dtype: CodeDtype, meta: CodesMeta): number {
  const parts = codesParts(codes, dtype, meta);
  writeFileAtomic(path, parts);
  return parts.reduce((n, p) => n + p.byteLength, 0);
}

export function readCodesFile(path: string): DecodedCodes {
  let bytes: Buffer;
  try {
    // The first 8 bytes first: an .aec file, or a header over the limit, is refused without reading the file.
    const fd = openSync(path, 'r');
    try {
      const prefix = Buffer.alloc(8);
      if (readSync(fd, prefix, 0, 8, 0) === 8) {
        if (startsWithAec(prefix)) refuseAec(path);
        const length = prefix.readBigUInt64LE(0);
        if (length > BigInt(MAX_HEADER_BYTES)) failRaw(path, 'header length', `at most ${bytesText(MAX_HEADER_BYTES)}`, bytesText(length));
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
