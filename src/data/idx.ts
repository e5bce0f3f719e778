import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DataFormatError, ValidationError, expected, show } from '../core/errors.js';

/**
 * The IDX format (the layout of MNIST's original files):
 *
 *   bytes 0-1  zero (the "magic" that tells IDX apart from other files)
 *   byte  2    element type code
 *   byte  3    number of dimensions, n >= 1
 *   4n bytes   each dimension as a big-endian uint32
 *   the rest   the elements, row-major, big-endian for multi-byte types
 */

export type IdxType = 'u8' | 'i8' | 'i16' | 'i32' | 'f32' | 'f64';

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  type: IdxType;
  dims: number[];
  data: IdxData;
}

interface TypeInfo {
  type: IdxType;
  code: number;
  size: number;
  make: (n: number) => IdxData;
  is: (data: IdxData) => boolean;
}

const TYPES: readonly TypeInfo[] = [
  { type: 'u8', code: 0x08, size: 1, make: (n) => new Uint8Array(n), is: (d) => d instanceof Uint8Array },
  { type: 'i8', code: 0x09, size: 1, make: (n) => new Int8Array(n), is: (d) => d instanceof Int8Array },
  { type: 'i16', code: 0x0b, size: 2, make: (n) => new Int16Array(n), is: (d) => d instanceof Int16Array },
  { type: 'i32', code: 0x0c, size: 4, make: (n) => new Int32Array(n), is: (d) => d instanceof Int32Array },
  { type: 'f32', code: 0x0d, size: 4, make: (n) => new Float32Array(n), is: (d) => d instanceof Float32Array },
  { type: 'f64', code: 0x0e, size: 8, make: (n) => new Float64Array(n), is: (d) => d instanceof Float64Array },
];

const HEADER_BYTES = 4;
const MAX_DIMS = 255; // the dimension count is a single byte

function hex(byte: number): string {
  return '0x' + byte.toString(16).padStart(2, '0').toUpperCase();
}

const ALLOWED_CODES = TYPES.map((t) => `${hex(t.code)} (${t.type})`).join(', ');

/**
 * The library's message form with a received part that is already phrased
 * (byte counts, hex bytes), which `show` would otherwise quote as a string.
 */
function formatError(source: string, rule: string, received: string): DataFormatError {
  return new DataFormatError(`${source}: expected ${rule}, received ${received}`);
}

function plural(n: number | bigint, word: string): string {
  return `${n} ${word}${n === 1 || n === 1n ? '' : 's'}`;
}

/** An exact count, or roughly when it has too many digits to be useful in a one-line message. */
function countText(n: bigint): string {
  const s = n.toString();
  return s.length <= 16 ? s : `~${s[0]}.${s.slice(1, 3)}e${s.length - 1}`;
}

/**
 * The most a gzip-compressed IDX file may expand to (2 GiB, above MNIST's 47 MB and
 * EMNIST's 700 MB): a guard against a decompression bomb, not a format limit.
 */
export const MAX_GUNZIPPED_BYTES = 2 ** 31;

/**
 * Parses an IDX file held in memory. `source` names the data in error messages (a path, say).
 * Gzip-compressed bytes (magic 0x1F 0x8B, as yann.lecun.com and most mirrors ship MNIST) are
 * decompressed first with Node's zlib. Throws DataFormatError for a corrupt gzip stream, one
 * that expands beyond MAX_GUNZIPPED_BYTES, or any malformed IDX layout.
 */
export function parseIdx(buf: Uint8Array, source = 'IDX data'): IdxArray {
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    let inflated: Buffer;
    try {
      inflated = gunzipSync(buf, { maxOutputLength: MAX_GUNZIPPED_BYTES });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const why = code === 'ERR_BUFFER_TOO_LARGE' ? `more than ${MAX_GUNZIPPED_BYTES} bytes once decompressed` : `a corrupt gzip stream (${(err as Error).message.split('\n')[0]})`;
      throw formatError(source, 'a gzip-compressed IDX file that decompresses cleanly', why);
    }
    return parseUncompressed(new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.byteLength), `${source} (gunzipped)`);
  }
  return parseUncompressed(buf, source);
}

function parseUncompressed(buf: Uint8Array, source: string): IdxArray {
  if (buf.length < HEADER_BYTES) {
    throw formatError(source, `at least ${HEADER_BYTES} bytes (the IDX header)`, `${plural(buf.length, 'byte')} (file too short)`);
  }
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  const code = buf[2]!;
  const ndims = buf[3]!;
  if (b0 !== 0 || b1 !== 0) {
    throw formatError(source, 'IDX magic bytes 0x00 0x00 at offset 0', `${hex(b0)} ${hex(b1)} (not an IDX file)`);
  }
  const info = TYPES.find((t) => t.code === code);
  if (info === undefined) {
    throw formatError(source, `an IDX type code at byte 2, one of ${ALLOWED_CODES}`, hex(code));
  }
  if (ndims === 0) {
    throw formatError(source, 'at least 1 dimension (byte 3)', '0');
  }
  const dataStart = HEADER_BYTES + 4 * ndims;
  if (buf.length < dataStart) {
    throw formatError(
      source,
      `${dataStart} header bytes for ${plural(ndims, 'dimension')}`,
      `${plural(buf.length, 'byte')} (file truncated)`,
    );
  }

  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(HEADER_BYTES + 4 * i, false));

  // Up to 255 factors of up to 2^32 each overflow a double's exact range, so the byte
  // count is computed exactly as a bigint; only once it is known to match the (bounded)
  // buffer length is it safe to use as a Number and allocate.
  const expectedBytes = dims.reduce((acc, d) => acc * BigInt(d), BigInt(info.size));
  const dataBytes = buf.length - dataStart;
  const dimsText = show(dims);
  const rule = `${countText(expectedBytes)} data byte${expectedBytes === 1n ? '' : 's'} for dims ${dimsText} of type ${info.type}`;
  if (BigInt(dataBytes) < expectedBytes) {
    throw formatError(
      source,
      rule,
      `${dataBytes} (file truncated)`,
    );
  }
  if (BigInt(dataBytes) > expectedBytes) {
    const extra = BigInt(dataBytes) - expectedBytes;
    throw formatError(
      source,
      rule,
      `${dataBytes} (oversized: ${plural(extra, 'trailing byte')})`,
    );
  }

  const count = dataBytes / info.size;
  return { type: info.type, dims, data: decode(info, view, dataStart, count, buf) };
}

/** Copies the elements out of the file into a native-endian typed array the caller owns. */
function decode(info: TypeInfo, view: DataView, start: number, count: number, buf: Uint8Array): IdxData {
  switch (info.type) {
    case 'u8':
      return buf.slice(start, start + count);
    case 'i8':
      return new Int8Array(buf.slice(start, start + count).buffer);
    case 'i16': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(start + 2 * i, false);
      return out;
    }
    case 'i32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(start + 4 * i, false);
      return out;
    }
    case 'f32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(start + 4 * i, false);
      return out;
    }
    case 'f64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(start + 8 * i, false);
      return out;
    }
  }
}

/** Reads and parses an IDX file, gzip-compressed or not. Every failure is a DataFormatError naming the path. */
export function readIdxFile(path: string): IdxArray {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw fileError(path, 'a readable IDX file', err);
  }
  return parseIdx(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

/** Turns a file-system error into a one-line DataFormatError instead of a raw stack. */
export function fileError(path: string, what: string, err: unknown): DataFormatError {
  const code = (err as { code?: unknown } | null)?.code;
  const reason =
    code === 'ENOENT' ? 'ENOENT (no such file)'
    : code === 'EISDIR' ? 'EISDIR (a directory)'
    : code === 'EACCES' ? 'EACCES (permission denied)'
    : typeof code === 'string' ? code
    : err instanceof Error ? err.message.split('\n')[0]!
    : String(err);
  return formatError(path, what, reason);
}

/** Serialises an array to IDX bytes; the inverse of parseIdx. */
export function encodeIdx(arr: IdxArray): Uint8Array {
  const info = TYPES.find((t) => t.type === arr.type);
  if (info === undefined) {
    throw new ValidationError(expected('encodeIdx type', `one of ${TYPES.map((t) => t.type).join(', ')}`, arr.type));
  }
  if (!info.is(arr.data)) {
    throw new ValidationError(expected(`encodeIdx data for type ${arr.type}`, `a ${info.make(0).constructor.name}`, arr.data.constructor.name));
  }
  const dims = arr.dims;
  if (dims.length < 1 || dims.length > MAX_DIMS) {
    throw new ValidationError(expected('encodeIdx dims', `1 to ${MAX_DIMS} dimensions`, dims.length));
  }
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) {
      throw new ValidationError(expected('encodeIdx dims', 'integers in [0, 2^32-1]', dims));
    }
  }
  const count = dims.reduce((a, d) => a * d, 1);
  if (count !== arr.data.length) {
    throw new ValidationError(expected(`encodeIdx data for dims ${show(dims)}`, `${count} elements`, arr.data.length));
  }

  const dataStart = HEADER_BYTES + 4 * dims.length;
  const out = new Uint8Array(dataStart + count * info.size);
  const view = new DataView(out.buffer);
  out[2] = info.code;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(HEADER_BYTES + 4 * i, d, false));
  const data = arr.data;
  // Single bytes have no byte order, so they copy straight across.
  if (data instanceof Uint8Array || data instanceof Int8Array) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), dataStart);
    return out;
  }
  for (let i = 0; i < count; i++) {
    const at = dataStart + i * info.size;
    const v = data[i]!;
    switch (info.type) {
      case 'u8': view.setUint8(at, v); break;
      case 'i8': view.setInt8(at, v); break;
      case 'i16': view.setInt16(at, v, false); break;
      case 'i32': view.setInt32(at, v, false); break;
      case 'f32': view.setFloat32(at, v, false); break;
      case 'f64': view.setFloat64(at, v, false); break;
    }
  }
  return out;
}
