/**
 * Reader and writer for the safetensors format:
 *
 *   [8 bytes: N, little-endian u64][N bytes: UTF-8 JSON header][data section]
 *
 * The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} with
 * offsets relative to the start of the data section, plus an optional "__metadata__" object of
 * string -> string. Model files come from users and from other tools, so the decoder treats
 * every byte as untrusted: any malformation becomes a one-line ModelFormatError, never a crash,
 * a hang or a huge allocation.
 *
 * Dtypes. decodeSafetensors, which models are read with, accepts F32, F64, F16 and BF16 and
 * converts them to float32 (F16 through src/io/half.ts); parseSafetensors makes the same checks
 * and returns the stored bytes, for callers that accept other dtypes (codes files, src/io/codes.ts,
 * also take U8). The encoder writes F32, F16 and U8.
 *
 * Limits. A header is refused, before it is decoded or parsed, when
 *   - its length field says more than MAX_HEADER_BYTES (16 MiB; read from the first 8 bytes,
 *     so readSafetensorsFile refuses it without reading the rest of the file);
 *   - it holds more than MAX_TENSORS (4096) tensors;
 *   - it holds more than MAX_HEADER_ITEMS (65536) JSON items: keys, array elements, objects
 *     and arrays, counted by one pass over the bytes (a tensor entry takes 10 plus its rank).
 * Within them, parsing takes well under a second and a few tens of MB at worst, whatever the
 * header holds (tested under --max-old-space-size=256). What aekit writes stays far inside:
 * a model or checkpoint header is about 1 KB, an anomaly detector's adds about 19 bytes per
 * training row (1.2 MB for MNIST's 60000; the limit holds about 850,000 rows' scores), a
 * table's per-column scaling about 40 bytes per column, a codes file's under 3 KB; a model has 4 tensors per encoder layer and its checkpoint at most 4 times as many
 * (weights, Adam's two moments, the best epoch's copy), and an architecture has at most 256
 * layer sizes (MAX_LAYER_SIZES), so at most 4080 tensors. The encoder enforces the same
 * limits, so a file it writes can always be read back.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { ModelFormatError, ValidationError, expected, show } from '../core/errors.js';
import { writeFileAtomic } from './atomic.js';
import { float32ToHalfBits, halfToFloat, isHalfInfinity } from './half.js';
import { bytesText, scanJson } from './json-scan.js';

/** A decoded tensor. Every supported dtype is converted to float32 on load. */
export interface Tensor {
  dtype: 'F32';
  shape: number[];
  data: Float32Array;
}

/** The dtypes the encoder writes. */
export type WriteDtype = 'F32' | 'F16' | 'U8';

/**
 * What the encoder needs of a tensor; a decoded Tensor also fits. `dtype` (default F32) is how
 * it is stored: F32 and F16 from a Float32Array (F16 rounded to nearest, ties to even; a finite
 * value beyond the half range, 65520 and up, is refused), U8 from a Uint8Array, bytes as they are.
 */
export interface TensorInput {
  shape: readonly number[];
  data: Float32Array | Uint8Array;
  dtype?: WriteDtype;
}

/** A decoded file. The map is ordered as the tensors are laid out in the data section. */
export interface SafetensorsFile {
  metadata: Record<string, string>;
  tensors: Map<string, Tensor>;
}

/** Dtypes this reader knows, with their size in bytes: the float ones convert to float32. */
const DTYPE_SIZES = { F32: 4, F64: 8, F16: 2, BF16: 2, U8: 1 } as const;
/** A dtype parseSafetensors can be asked to accept. */
export type StoredDtype = keyof typeof DTYPE_SIZES;
type FloatDtype = Exclude<StoredDtype, 'U8'>;

/**
 * What decodeSafetensors accepts, so what a model file may hold: float dtypes only. U8 is read
 * only where a caller asks for it (codes files: parseSafetensors with dtypes), never as weights.
 */
export const FLOAT_DTYPES: readonly FloatDtype[] = ['F32', 'F64', 'F16', 'BF16'];

/**
 * Dtypes that the format defines but a reader was not asked to accept. They get their own
 * message so a user learns the file is valid, just not loadable here.
 */
const OTHER_FORMAT_DTYPES = new Set([
  'BOOL', 'U8', 'I8', 'I16', 'U16', 'I32', 'U32', 'I64', 'U64', 'C64',
  'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2',
]);

/**
 * The largest header accepted: 16 MiB, over 10 times the largest header aekit writes in
 * practice (an anomaly detector trained on MNIST's 60000 rows: 1.2 MB). The reference
 * implementation allows 100 MB, which took 16 s and 2 GB to parse and refuse.
 */
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;

/** The most tensors a file may hold: a checkpoint of the deepest architecture aekit builds has 4080. */
export const MAX_TENSORS = 4096;

/**
 * The most JSON items (keys, array elements, objects and arrays) a header may hold: 16 per
 * tensor at MAX_TENSORS. Bounds what JSON.parse builds, which the byte limit alone does not
 * (16 MiB of one-character keys is a million-key object).
 */
export const MAX_HEADER_ITEMS = 65536;

const METADATA_KEY = '__metadata__';
const ENTRY_KEYS = ['dtype', 'shape', 'data_offsets'] as const;

/** Typed arrays use host byte order; the file is little-endian, so fast paths need to know. */
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * Serializes tensors (F32 unless a tensor's dtype says F16 or U8), in the given order, with
 * optional string metadata.
 * Throws ValidationError on bad input, so a file this writes can always be read back.
 */
export function encodeSafetensors(
  tensors: ReadonlyArray<readonly [string, TensorInput]> | ReadonlyMap<string, TensorInput>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const parts = safetensorsParts(tensors, metadata);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.byteLength;
  }
  return out;
}

/**
 * encodeSafetensors' bytes as consecutive parts, without one buffer of the whole file: the
 * header, then each tensor's bytes (on a little-endian host, views of the tensors' own memory,
 * so writing a model or checkpoint takes no copy of it and no file is too big for one Buffer).
 * The tensors must not change until the parts are written.
 */
export function safetensorsParts(
  tensors: ReadonlyArray<readonly [string, TensorInput]> | ReadonlyMap<string, TensorInput>,
  metadata: Record<string, string> = {},
): Uint8Array[] {
  // Arrays of pairs and Maps both iterate as [name, tensor] pairs.
  const entries: Array<readonly [string, TensorInput]> = [...(tensors as Iterable<readonly [string, TensorInput]>)];
  const seen = new Set<string>();
  const planned: Array<{ name: string; dtype: WriteDtype; data: Float32Array | Uint8Array }> = [];
  // The header is assembled by hand rather than with JSON.stringify on one object, because
  // JS objects move integer-like keys ("0", "12") to the front and would scramble the order.
  const headerParts: string[] = [];

  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new ValidationError(expected('safetensors metadata', 'an object of strings', metadata));
  }
  const metaEntries = Object.entries(metadata);
  for (const [key, value] of metaEntries) {
    if (typeof value !== 'string') {
      throw new ValidationError(expected(`safetensors metadata ${show(key)}`, 'a string value', value));
    }
  }
  // Like the reference writer, omit an empty metadata block entirely.
  if (metaEntries.length > 0) {
    headerParts.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(Object.fromEntries(metaEntries))}`);
  }

  let offset = 0;
  for (const [name, tensor] of entries) {
    if (typeof name !== 'string' || name.length === 0) {
      throw new ValidationError(expected('tensor name', 'a non-empty string', name));
    }
    if (name === METADATA_KEY) {
      throw new ValidationError(expected('tensor name', `a name other than the reserved ${show(METADATA_KEY)}`, name));
    }
    if (seen.has(name)) throw new ValidationError(expected(`tensor name ${show(name)}`, 'a unique name', name));
    seen.add(name);
    if (tensor === null || typeof tensor !== 'object') throw new ValidationError(expected(`tensor ${show(name)}`, 'an object {shape, data, dtype?}', tensor));
    const dtype = tensor.dtype ?? 'F32';
    if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'U8') throw new ValidationError(expected(`tensor ${show(name)} dtype`, 'one of F32, F16, U8', dtype));
    const array = dtype === 'U8' ? 'a Uint8Array' : 'a Float32Array';
    if (dtype === 'U8' ? !(tensor.data instanceof Uint8Array) : !(tensor.data instanceof Float32Array)) {
      throw new ValidationError(expected(`tensor ${show(name)} data`, `${array} (for ${dtype})`, tensor.data?.constructor?.name ?? tensor.data));
    }
    const count = checkedElementCount(tensor.shape, (rule) => {
      throw new ValidationError(expected(`tensor ${show(name)} shape`, rule, tensor.shape));
    });
    if (count !== tensor.data.length) {
      throw new ValidationError(
        expected(`tensor ${show(name)} data length`, `${count} (the product of shape ${show(tensor.shape)})`, tensor.data.length),
      );
    }
    const end = offset + count * DTYPE_SIZES[dtype];
    headerParts.push(
      `${JSON.stringify(name)}:${JSON.stringify({ dtype, shape: [...tensor.shape], data_offsets: [offset, end] })}`,
    );
    offset = end;
    planned.push({ name, dtype, data: tensor.data });
  }

  const headerText = `{${headerParts.join(',')}}`;
  const headerRaw = new TextEncoder().encode(headerText);
  // Padding with spaces (still valid JSON) to a multiple of 8 makes the data section start
  // 8-byte aligned in the file, as the reference implementation does.
  const headerLength = Math.ceil(headerRaw.length / 8) * 8;
  if (headerLength > MAX_HEADER_BYTES) {
    throw new ValidationError(`safetensors header size: expected at most ${bytesText(MAX_HEADER_BYTES)}, received ${bytesText(headerLength)}`);
  }
  if (entries.length > MAX_TENSORS) {
    throw new ValidationError(expected('safetensors tensor count', `at most ${MAX_TENSORS}`, entries.length));
  }
  const { items } = scanJson(headerRaw);
  if (items > MAX_HEADER_ITEMS) {
    throw new ValidationError(expected('safetensors header', `at most ${MAX_HEADER_ITEMS} JSON items (keys, array elements, objects, arrays)`, items));
  }

  const head = new Uint8Array(8 + headerLength);
  new DataView(head.buffer).setBigUint64(0, BigInt(headerLength), true);
  head.set(headerRaw, 8);
  head.fill(0x20, 8 + headerRaw.length, 8 + headerLength);
  const parts: Uint8Array[] = [head];
  for (const { name, dtype, data } of planned) {
    if (data.length === 0) continue;
    if (dtype === 'U8') {
      parts.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } else if (dtype === 'F16') {
      parts.push(halfBytes(name, data as Float32Array));
    } else if (HOST_IS_LITTLE_ENDIAN) {
      // The raw bytes keep NaN payloads and -0 bit-exact.
      parts.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } else {
      const bytes = new Uint8Array(data.byteLength);
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i]!, true);
      parts.push(bytes);
    }
  }
  return parts;
}

/** F16 bytes of float32 values (float32ToHalfBits); a finite value beyond the half range is a ValidationError. */
function halfBytes(name: string, data: Float32Array): Uint8Array {
  const bytes = new Uint8Array(2 * data.length);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) {
    const bits = float32ToHalfBits(data[i]!);
    if (isHalfInfinity(bits) && Number.isFinite(data[i]!)) {
      throw new ValidationError(expected(`tensor ${show(name)} value ${i} for F16`, 'a magnitude below 65520 (the half-precision range)', data[i]));
    }
    view.setUint16(2 * i, bits, true);
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Decoding

interface RawEntry {
  name: string;
  /** Position in the header, used only to order zero-length tensors that share an offset. */
  index: number;
  dtype: StoredDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** A tensor as stored: its dtype, shape and bytes (a view into the parsed buffer, little-endian). */
export interface RawTensor {
  dtype: StoredDtype;
  shape: number[];
  bytes: Uint8Array;
}

/** A parsed file before conversion. The map is ordered as the tensors are laid out in the data section. */
export interface RawSafetensorsFile {
  metadata: Record<string, string>;
  tensors: Map<string, RawTensor>;
}

/**
 * Parses a safetensors file held in memory. Returns float32 copies that do not share memory
 * with `buf`. `source` (usually the path) starts every error message. Accepts the float dtypes
 * only (FLOAT_DTYPES): model files never hold U8.
 */
export function decodeSafetensors(buf: Uint8Array, source = 'safetensors file'): SafetensorsFile {
  const raw = parseSafetensors(buf, source);
  const tensors = new Map<string, Tensor>();
  for (const [name, t] of raw.tensors) tensors.set(name, { dtype: 'F32', shape: t.shape, data: floatData(t) });
  return { metadata: raw.metadata, tensors };
}

/**
 * Validates a safetensors file held in memory (every check decodeSafetensors makes) and returns
 * its tensors unconverted, as views of `buf`. `dtypes` is what the caller accepts (default
 * FLOAT_DTYPES); any other dtype is a ModelFormatError, so U8 is read only where asked for.
 */
export function parseSafetensors(buf: Uint8Array, source = 'safetensors file', opts: { dtypes?: readonly StoredDtype[] } = {}): RawSafetensorsFile {
  const accepted: readonly StoredDtype[] = opts.dtypes ?? FLOAT_DTYPES;
  // Tensor names and values come from the file; JSON.stringify in show() escapes most control
  // characters but not every line break, so flatten what is left to keep messages one line.
  const oneLine = (message: string): string => message.replace(/[\r\n\u2028\u2029]/g, ' ');
  const fail = (what: string, rule: string, received: unknown): ModelFormatError =>
    new ModelFormatError(oneLine(expected(`${source}: ${what}`, rule, received)));
  // Same message shape, for a received value that is a description rather than a datum.
  const failText = (what: string, rule: string, received: string): ModelFormatError =>
    new ModelFormatError(oneLine(`${source}: ${what}: expected ${rule}, received ${received}`));

  if (!(buf instanceof Uint8Array)) throw fail('contents', 'a Uint8Array', buf);
  if (buf.length < 8) throw fail('file size', 'at least 8 bytes (the header length field)', buf.length);

  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLength = checkHeaderLength(view.getBigUint64(0, true), source);
  if (headerLength === 0) throw fail('header length', 'a positive number of bytes', 0);
  if (headerLength > buf.length - 8) {
    throw fail('header length', `at most ${buf.length - 8} bytes (what the file holds after the length field)`, headerLength);
  }

  // Counted on the raw bytes, before any string or object is built from them.
  const shape = scanJson(buf.subarray(8, 8 + headerLength));
  // A top-level key is a tensor or the one __metadata__ entry; the exact count follows the parse.
  if (shape.topKeys > MAX_TENSORS + 1) {
    throw failText('header', `at most ${MAX_TENSORS} tensors`, `${shape.topKeys} entries`);
  }
  if (shape.items > MAX_HEADER_ITEMS) {
    throw failText('header', `at most ${MAX_HEADER_ITEMS} JSON items (keys, array elements, objects, arrays)`, `${shape.items}`);
  }

  let headerText: string;
  try {
    // fatal: reject invalid UTF-8 instead of replacing it; ignoreBOM: keep a BOM so JSON.parse
    // rejects it, as the reference implementation does.
    headerText = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(buf.subarray(8, 8 + headerLength));
  } catch {
    throw failText('header', 'valid UTF-8', 'an invalid byte sequence');
  }

  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (err) {
    // V8's message quotes the offending text, which may hold line breaks or control
    // characters from the file; flatten and shorten it so the error stays one line.
    const reason = err instanceof Error ? err.message.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').slice(0, 100) : 'unparseable text';
    throw failText('header', 'valid JSON', reason);
  }
  if (!isPlainObject(header)) throw fail('header', 'a JSON object', header);
  const names = Object.keys(header);
  const tensorCount = names.length - (Object.prototype.hasOwnProperty.call(header, METADATA_KEY) ? 1 : 0);
  if (tensorCount > MAX_TENSORS) throw fail('header', `at most ${MAX_TENSORS} tensors`, tensorCount);

  const metadata: Record<string, string> = {};
  const entries: RawEntry[] = [];
  let index = 0;
  for (const [name, value] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      if (!isPlainObject(value)) throw fail(METADATA_KEY, 'an object of strings', value);
      for (const [key, item] of Object.entries(value)) {
        if (typeof item !== 'string') throw fail(`${METADATA_KEY} ${show(key)}`, 'a string value', item);
        // defineProperty, not assignment: a key named "__proto__" must stay plain data.
        Object.defineProperty(metadata, key, { value: item, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    entries.push(parseEntry(name, value, index++, accepted, fail));
  }

  const dataStart = 8 + headerLength;
  const dataLength = buf.length - dataStart;
  for (const e of entries) {
    if (e.end > dataLength) {
      throw fail(`tensor ${show(e.name)} data_offsets`, `to end within the ${dataLength}-byte data section`, [e.begin, e.end]);
    }
  }

  // Sorted by position, the tensors must tile the data section exactly: no overlap (two
  // tensors aliasing the same bytes) and no gap or trailing bytes (hidden, unexplained data).
  // The reference implementation enforces the same rule.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end || a.index - b.index);
  let cursor = 0;
  let previous: RawEntry | undefined;
  for (const e of entries) {
    if (e.begin < cursor) {
      throw fail(
        `tensor ${show(e.name)} data_offsets`,
        `not to overlap tensor ${show(previous?.name)}, which ends at ${cursor}`,
        [e.begin, e.end],
      );
    }
    if (e.begin > cursor) {
      throw fail(`tensor ${show(e.name)} data_offsets`, `to begin at ${cursor} (no gap in the data section)`, [e.begin, e.end]);
    }
    cursor = e.end;
    previous = e;
  }
  if (cursor !== dataLength) {
    throw fail('data section', `exactly ${cursor} bytes (the total size of the tensors)`, dataLength);
  }

  const tensors = new Map<string, RawTensor>();
  for (const e of entries) {
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, bytes: buf.subarray(dataStart + e.begin, dataStart + e.end) });
  }
  return { metadata, tensors };
}

/**
 * The header length field as a number, or a ModelFormatError when it exceeds MAX_HEADER_BYTES.
 * Compared as a bigint first: a u64 can exceed 2^53 and would silently round as a number.
 */
function checkHeaderLength(length: bigint, source: string): number {
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw new ModelFormatError(`${source}: header length: expected at most ${bytesText(MAX_HEADER_BYTES)}, received ${bytesText(length)}`);
  }
  return Number(length);
}

/** Validates one header entry without touching the data section. */
function parseEntry(
  name: string,
  value: unknown,
  index: number,
  accepted: readonly StoredDtype[],
  fail: (what: string, rule: string, received: unknown) => ModelFormatError,
): RawEntry {
  const what = `tensor ${show(name)}`;
  if (!isPlainObject(value)) throw fail(what, 'an object with dtype, shape and data_offsets', value);
  for (const key of ENTRY_KEYS) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) throw fail(what, `a ${show(key)} key`, Object.keys(value));
  }
  for (const key of Object.keys(value)) {
    if (!(ENTRY_KEYS as readonly string[]).includes(key)) {
      throw fail(what, 'only the keys dtype, shape and data_offsets', Object.keys(value));
    }
  }

  const dtype = value['dtype'];
  if (typeof dtype !== 'string' || !(accepted as readonly string[]).includes(dtype)) {
    if (typeof dtype === 'string' && (OTHER_FORMAT_DTYPES.has(dtype) || Object.prototype.hasOwnProperty.call(DTYPE_SIZES, dtype))) {
      throw fail(`${what}: unsupported dtype`, `one of ${accepted.join(', ')}`, dtype);
    }
    throw fail(`${what} dtype`, `one of ${accepted.join(', ')}`, dtype);
  }
  const size = DTYPE_SIZES[dtype as StoredDtype];

  const rawShape = value['shape'];
  const count = checkedElementCount(rawShape, (rule) => {
    throw fail(`${what} shape`, rule, rawShape);
  });
  const shape = [...(rawShape as number[])];

  const offsets = value['data_offsets'];
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)
  ) {
    throw fail(`${what} data_offsets`, '[begin, end] of non-negative integers', offsets);
  }
  const begin = offsets[0] as number;
  const end = offsets[1] as number;
  if (begin > end) throw fail(`${what} data_offsets`, 'begin <= end', offsets);
  // count * size cannot lose precision here: count is a safe integer and if the product were
  // huge it could not equal end - begin, which is a safe integer too.
  if (end - begin !== count * size) {
    throw fail(`${what} data_offsets`, `a span of ${count * size} bytes (${count} x ${dtype})`, offsets);
  }
  return { name, index, dtype: dtype as StoredDtype, shape, begin, end };
}

/**
 * Number of elements of a shape, or calls `reject` with the broken rule. A dimension of 0
 * makes the count 0 even if other dimensions are large, which is what the format means.
 */
function checkedElementCount(shape: unknown, reject: (rule: string) => never): number {
  if (!Array.isArray(shape)) reject('an array of non-negative integers');
  let count = 1;
  let zero = false;
  for (const dim of shape as unknown[]) {
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) reject('an array of non-negative integers');
    if (dim === 0) zero = true;
    else count *= dim as number;
  }
  if (zero) return 0;
  if (!Number.isSafeInteger(count)) reject('an element count below 2^53');
  return count;
}

/**
 * A float tensor's values as a new Float32Array (not sharing memory with the file's bytes):
 * F32 as stored, F64 rounded to float32, F16 and BF16 widened exactly. U8 is a ValidationError:
 * its bytes are the values.
 */
export function floatData(t: RawTensor): Float32Array {
  if (t.dtype === 'U8') throw new ValidationError(expected('floatData tensor dtype', `one of ${FLOAT_DTYPES.join(', ')}`, t.dtype));
  return convert(t.bytes, 0, t.bytes.length / DTYPE_SIZES[t.dtype], t.dtype);
}

/** Reads `count` elements of `dtype` starting at byte `start` of `buf` into a new Float32Array. */
function convert(buf: Uint8Array, start: number, count: number, dtype: FloatDtype): Float32Array {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  switch (dtype) {
    case 'F32': {
      if (HOST_IS_LITTLE_ENDIAN) {
        // Copying into a fresh buffer handles any alignment and guarantees the result does not
        // alias the caller's bytes. (Not buf.slice(): on a Node Buffer that returns a view.)
        const bytes = new Uint8Array(4 * count);
        bytes.set(buf.subarray(start, start + 4 * count));
        return new Float32Array(bytes.buffer);
      }
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(start + 4 * i, true);
      return out;
    }
    case 'F64': {
      // Rounds to the nearest float32; magnitudes beyond float32's range become +-Infinity.
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(start + 8 * i, true);
      return out;
    }
    case 'F16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(start + 2 * i, true));
      return out;
    }
    case 'BF16': {
      // bfloat16 is the upper half of a float32, so widening is a shift; writing the bits
      // through a Uint32Array view keeps NaN payloads exact.
      const out = new Float32Array(count);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(start + 2 * i, true) << 16;
      return out;
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Files

/** Reads and decodes a safetensors file; any failure, including a missing file, is a ModelFormatError. */
export function readSafetensorsFile(path: string): SafetensorsFile {
  let buf: Uint8Array;
  try {
    // The length field first: a header over the limit is refused without reading the file.
    const fd = openSync(path, 'r');
    try {
      const prefix = Buffer.alloc(8);
      if (readSync(fd, prefix, 0, 8, 0) === 8) checkHeaderLength(prefix.readBigUInt64LE(0), path);
    } finally {
      closeSync(fd);
    }
    buf = readFileSync(path);
  } catch (err) {
    if (err instanceof ModelFormatError) throw err;
    const code = (err as NodeJS.ErrnoException | null)?.code ?? 'an error';
    const message = code === 'ENOENT'
      ? `${path}: expected an existing safetensors file, received no such file`
      : `${path}: expected a readable safetensors file, received ${code}`;
    throw new ModelFormatError(message);
  }
  return decodeSafetensors(buf, path);
}

/** Encodes and writes atomically, so a crash mid-save never leaves a truncated model behind. */
export function writeSafetensorsFile(
  path: string,
  tensors: ReadonlyArray<readonly [string, TensorInput]> | ReadonlyMap<string, TensorInput>,
  metadata: Record<string, string> = {},
): void {
  writeFileAtomic(path, safetensorsParts(tensors, metadata));
}
