import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { DataFormatError, show } from '../core/errors.js';
import { fileError } from './idx.js';

/**
 * A reader for NumPy `.npy` files, following the format spec at
 * https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html :
 *
 *   bytes 0-5   magic `\x93NUMPY`
 *   byte  6     major version (1, 2 or 3); byte 7 minor version (0)
 *   bytes 8-9   header length, uint16 little-endian (version 1.0), or
 *   bytes 8-11  header length, uint32 little-endian (versions 2.0 and 3.0)
 *   header      a Python dict literal, ASCII (3.0: UTF-8), e.g.
 *               `{'descr': '<f4', 'fortran_order': False, 'shape': (60000, 784), }`,
 *               padded with spaces and ending in `\n` (NumPy pads so the data starts
 *               at a multiple of 64 bytes; this reader does not require that)
 *   the rest    the elements, C (row-major) order, in the byte order the descr names
 *
 * Only the three element types an autoencoder's inputs need are read: uint8, float32 and
 * float64, little-endian, C order. Everything else is refused with a hint how to convert it.
 */

/** The element types read: uint8, float32 and float64 (NumPy dtype kinds u1, f4, f8). */
export type NpyDtype = 'u1' | 'f4' | 'f8';

/** An array read from an .npy file: `data` holds the elements flat, in C (row-major) order. */
export interface NpyArray {
  dtype: NpyDtype;
  /** One entry per axis, each a non-negative integer; at least one axis. */
  shape: number[];
  /** Uint8Array for u1, Float32Array for f4, Float64Array for f8; length = product of shape. */
  data: Uint8Array | Float32Array | Float64Array;
}

/**
 * The longest header read: 10000 bytes, NumPy's own default limit (np.load's max_header_size,
 * which refuses longer headers as unsafe). A plain array's header is under 200 bytes even
 * with NumPy's 64 axes. Checked from the length field, before the header is decoded.
 */
export const MAX_NPY_HEADER_BYTES = 10000;

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59] as const; // \x93 N U M P Y
const MAGIC_TEXT = '\\x93NUMPY';

/**
 * The accepted descr strings. `=` means "native byte order"; NumPy itself always writes an
 * explicit `<` or `>` (or `|` for single bytes), so `=` only appears in hand-written headers,
 * and this reader treats it as little-endian, the byte order of every platform NumPy commonly
 * runs on. A single byte has no byte order, so every prefix is fine for u1.
 */
const DESCRS: ReadonlyMap<string, NpyDtype> = new Map([
  ['|u1', 'u1'], ['u1', 'u1'], ['<u1', 'u1'], ['=u1', 'u1'], ['>u1', 'u1'],
  ['<f4', 'f4'], ['=f4', 'f4'],
  ['<f8', 'f8'], ['=f8', 'f8'],
]);

const ITEM_BYTES: Readonly<Record<NpyDtype, number>> = { u1: 1, f4: 4, f8: 8 };

const ACCEPTED_RULE = 'uint8, float32 or float64 (descr |u1, <f4 or <f8)';

/** Largest dimension kept: beyond 2^53-1 a Number could not hold it exactly. */
const MAX_DIM = BigInt(Number.MAX_SAFE_INTEGER);

const LITTLE_ENDIAN_PLATFORM = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** `what: expected rule, received text` with a received part that is already phrased. */
function formatError(what: string, rule: string, received: string): DataFormatError {
  return new DataFormatError(`${what}: expected ${rule}, received ${received}`);
}

function plural(n: number | bigint, word: string): string {
  return `${n} ${word}${n === 1 || n === 1n ? '' : 's'}`;
}

/** An exact count, or roughly when it has too many digits to be useful in a one-line message. */
function countText(n: bigint): string {
  const s = n.toString();
  return s.length <= 16 ? s : `~${s[0]}.${s.slice(1, 3)}e${s.length - 1}`;
}

function hexBytes(bytes: Uint8Array, max: number): string {
  const shown = Array.from(bytes.subarray(0, max), (b) => '0x' + b.toString(16).padStart(2, '0').toUpperCase());
  return shown.join(' ') + (bytes.length > max ? ' ...' : '');
}

/** A shape the way Python prints a tuple: `(2, 3)`, `(5,)`, `()`; shortened when long. */
function shapeText(shape: readonly (number | bigint)[]): string {
  const parts = shape.map((d) => countText(BigInt(d)));
  let text = parts.length === 1 ? `(${parts[0]},)` : `(${parts.join(', ')})`;
  if (text.length > 80) text = text.slice(0, 72) + ', ...)';
  return text;
}

// ---------------------------------------------------------------------------------------
// Header dict parser: a strict, non-recursive reader of the one literal form NumPy writes.

type HeaderValue =
  | { kind: 'string'; value: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'tuple'; items: bigint[] }
  /** A list literal, kept as raw text: a structured dtype's descr, refused later by name. */
  | { kind: 'list'; raw: string };

const WHITESPACE = new Set([' ', '\t', '\r', '\n', '\f', '\v']);

class HeaderParser {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly what: string,
  ) {}

  private fail(rule: string): never {
    const near = this.pos >= this.text.length ? 'the end of the header' : show(this.text.slice(this.pos, this.pos + 24));
    throw formatError(this.what, `${rule} at character ${this.pos}`, near);
  }

  private peek(): string | undefined {
    return this.text[this.pos];
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && WHITESPACE.has(this.text[this.pos]!)) this.pos++;
  }

  private expectChar(ch: string, rule: string): void {
    this.skipSpace();
    if (this.peek() !== ch) this.fail(rule);
    this.pos++;
  }

  /** The whole header: one dict literal, then only whitespace. */
  parse(): Map<string, HeaderValue> {
    const entries = new Map<string, HeaderValue>();
    this.expectChar('{', "a dict literal starting with '{'");
    for (;;) {
      this.skipSpace();
      if (this.peek() === '}') {
        this.pos++;
        break;
      }
      const keyAt = this.pos;
      const key = this.parseString('a quoted key or the closing brace');
      if (entries.has(key)) {
        this.pos = keyAt;
        this.fail(`each key once (${show(key)} repeats)`);
      }
      this.expectChar(':', "':' after the key");
      entries.set(key, this.parseValue());
      this.skipSpace();
      const next = this.peek();
      if (next === ',') {
        this.pos++;
      } else if (next === '}') {
        this.pos++;
        break;
      } else {
        this.fail("',' or '}' after a value");
      }
    }
    this.skipSpace();
    if (this.pos !== this.text.length) this.fail('only spaces after the closing brace');
    return entries;
  }

  /** A single- or double-quoted string without escapes (no valid header needs one). */
  private parseString(rule: string): string {
    this.skipSpace();
    const quote = this.peek();
    if (quote !== "'" && quote !== '"') this.fail(rule);
    const start = this.pos + 1;
    let i = start;
    for (; i < this.text.length; i++) {
      const c = this.text[i]!;
      if (c === quote) break;
      if (c === '\\' || c === '\n' || c === '\r') {
        this.pos = i;
        this.fail('a plain quoted string (no escapes or line breaks)');
      }
    }
    if (i >= this.text.length) this.fail('a closing quote');
    this.pos = i + 1;
    return this.text.slice(start, i);
  }

  private parseValue(): HeaderValue {
    this.skipSpace();
    const c = this.peek();
    if (c === "'" || c === '"') return { kind: 'string', value: this.parseString('a quoted string') };
    if (c === '(') return { kind: 'tuple', items: this.parseTuple() };
    if (c === '[') return { kind: 'list', raw: this.skipList() };
    for (const [word, value] of [['True', true], ['False', false]] as const) {
      if (this.text.startsWith(word, this.pos) && !/[A-Za-z0-9_]/.test(this.text[this.pos + word.length] ?? '')) {
        this.pos += word.length;
        return { kind: 'bool', value };
      }
    }
    return this.fail('a value (a quoted string, True, False or a tuple of integers)');
  }

  /** `()`, `(5,)`, `(2, 3)`, `(2, 3,)`; integers may carry Python 2's `L` suffix. */
  private parseTuple(): bigint[] {
    this.expectChar('(', "'('");
    const items: bigint[] = [];
    let trailingComma = false;
    for (;;) {
      this.skipSpace();
      if (this.peek() === ')') {
        this.pos++;
        break;
      }
      items.push(this.parseInt());
      this.skipSpace();
      const next = this.peek();
      if (next === ',') {
        this.pos++;
        trailingComma = true;
      } else if (next === ')') {
        this.pos++;
        trailingComma = false;
        break;
      } else {
        this.fail("',' or ')' in a tuple");
      }
    }
    if (items.length === 1 && !trailingComma) {
      this.pos--;
      this.fail("a tuple (a 1-element tuple needs a trailing comma, e.g. (5,))");
    }
    return items;
  }

  private parseInt(): bigint {
    const start = this.pos;
    if (this.peek() === '-' || this.peek() === '+') {
      this.fail('a non-negative integer');
    }
    while (this.pos < this.text.length && this.text[this.pos]! >= '0' && this.text[this.pos]! <= '9') this.pos++;
    if (this.pos === start) this.fail('an integer');
    const digits = this.text.slice(start, this.pos);
    if (this.peek() === 'L' || this.peek() === 'l') this.pos++; // Python 2 long suffix
    if (/[A-Za-z0-9_.]/.test(this.peek() ?? '')) this.fail('an integer');
    return BigInt(digits);
  }

  /** Skips a list literal (a structured dtype), tracking depth and quotes without recursion. */
  private skipList(): string {
    const start = this.pos;
    let depth = 0;
    let quote: string | null = null;
    for (; this.pos < this.text.length; this.pos++) {
      const c = this.text[this.pos]!;
      if (quote !== null) {
        if (c === quote) quote = null;
        continue;
      }
      if (c === "'" || c === '"') quote = c;
      else if (c === '[' || c === '(' || c === '{') depth++;
      else if (c === ']' || c === ')' || c === '}') {
        depth--;
        if (depth === 0) {
          this.pos++;
          return this.text.slice(start, this.pos);
        }
      }
    }
    this.pos = start;
    return this.fail("a closed list ']'");
  }
}

// ---------------------------------------------------------------------------------------

/** Names a NumPy descr for a refusal message: `"<i8" (int64)`, `">f4" (float32, big-endian)`. */
function describeDescr(descr: string): { text: string; hint: string } {
  const m = /^([<>|=]?)([a-zA-Z])(\d*)$/.exec(descr);
  const defaultHint = 'convert with a.astype(np.float32)';
  if (m === null) return { text: show(descr), hint: defaultHint };
  const order = m[1]!;
  const kind = m[2]!;
  const size = m[3] === '' ? NaN : Number(m[3]);
  const bits = size * 8;
  const names: Record<string, string | undefined> = {
    b: size === 1 ? 'bool' : undefined,
    i: Number.isFinite(bits) ? `int${bits}` : 'signed integer',
    u: Number.isFinite(bits) ? `uint${bits}` : 'unsigned integer',
    f: Number.isFinite(bits) ? `float${bits}` : 'floating point',
    c: Number.isFinite(bits) ? `complex${bits}` : 'complex',
    O: 'Python objects',
    S: 'byte strings',
    a: 'byte strings',
    U: 'unicode strings',
    V: 'raw void records',
    M: 'datetime64',
    m: 'timedelta64',
  };
  const name = names[kind];
  const bigEndian = order === '>';
  const parts = [name, bigEndian && size > 1 ? 'big-endian' : undefined].filter((p) => p !== undefined);
  const text = parts.length > 0 ? `${show(descr)} (${parts.join(', ')})` : show(descr);
  if (bigEndian && kind === 'f' && (size === 4 || size === 8)) {
    return { text, hint: `convert with a.astype('<f${size}')` };
  }
  if (kind === 'O') return { text, hint: 'object arrays cannot be read; convert with np.asarray(a, dtype=np.float32)' };
  return { text, hint: defaultHint };
}

function readHeader(bytes: Uint8Array, source: string): { dtype: NpyDtype; shape: bigint[]; dataStart: number } {
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) {
      let received: string;
      if (bytes.length === 0) received = '0 bytes (empty file)';
      else {
        received = hexBytes(bytes, 8);
        if (bytes[0] === 0x50 && bytes[1] === 0x4b) received += ' (a ZIP archive, perhaps an .npz; load it with np.load and np.save each array)';
        else if (bytes[0] === 0x1f && bytes[1] === 0x8b) received += ' (gzip-compressed; decompress it first)';
        else if (bytes.length < MAGIC.length) received += ` (only ${plural(bytes.length, 'byte')})`;
      }
      throw formatError(source, `an .npy file (magic ${MAGIC_TEXT})`, received);
    }
  }
  if (bytes.length < 8) {
    throw formatError(source, 'version bytes 6-7 after the magic', `${plural(bytes.length, 'byte')} (file truncated)`);
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if ((major !== 1 && major !== 2 && major !== 3) || minor !== 0) {
    throw formatError(`${source} version`, '1.0, 2.0 or 3.0', `${major}.${minor}`);
  }
  const lengthBytes = major === 1 ? 2 : 4;
  const headerStart = 8 + lengthBytes;
  if (bytes.length < headerStart) {
    throw formatError(
      source,
      `${headerStart} bytes for the version ${major}.0 prefix`,
      `${plural(bytes.length, 'byte')} (file truncated)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  // Before the file's own length: a header over the limit is refused from the prefix alone.
  if (headerLength > MAX_NPY_HEADER_BYTES) {
    throw formatError(`${source} header`, `at most ${MAX_NPY_HEADER_BYTES} bytes (NumPy's own limit, np.load's max_header_size)`, plural(headerLength, 'byte'));
  }
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) {
    throw formatError(
      `${source} header`,
      `${plural(headerLength, 'byte')} (the length at byte 8)`,
      `${plural(bytes.length - headerStart, 'byte')} after the ${headerStart}-byte prefix (file truncated)`,
    );
  }

  const raw = bytes.subarray(headerStart, dataStart);
  let text: string;
  if (major === 3) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      throw formatError(`${source} header`, 'UTF-8 text (version 3.0)', 'invalid UTF-8 bytes');
    }
  } else {
    // Versions 1.0 and 2.0 hold ASCII (NumPy reads them as latin-1); any other byte fails the parse.
    text = latin1(raw);
  }
  if (!text.endsWith('\n')) {
    const tail = text.length === 0 ? 'an empty header' : `a header ending in ${show(text.slice(-12))}`;
    throw formatError(`${source} header`, 'a dict literal terminated by a newline (\\n)', tail);
  }

  const entries = new HeaderParser(text.slice(0, -1), `${source} header`).parse();
  const keys = ['descr', 'fortran_order', 'shape'];
  const keysRule = "keys 'descr', 'fortran_order' and 'shape'";
  for (const key of keys) {
    if (!entries.has(key)) throw formatError(`${source} header`, keysRule, `no '${key}' key`);
  }
  for (const key of entries.keys()) {
    if (!keys.includes(key)) throw formatError(`${source} header`, `only ${keysRule}`, `an extra key ${show(key)}`);
  }

  const descr = entries.get('descr')!;
  let dtype: NpyDtype | undefined;
  if (descr.kind === 'string') {
    dtype = DESCRS.get(descr.value);
    if (dtype === undefined) {
      const { text: received, hint } = describeDescr(descr.value);
      throw formatError(`${source} dtype`, ACCEPTED_RULE, `${received}; ${hint}`);
    }
  } else if (descr.kind === 'list') {
    throw formatError(
      `${source} dtype`,
      ACCEPTED_RULE,
      `a structured dtype ${show(descr.raw)}; save one plain field, e.g. np.save(f, a['x'].astype(np.float32))`,
    );
  } else {
    throw formatError(`${source} header`, "'descr' as a quoted string", descr.kind === 'bool' ? String(descr.value) : 'a tuple');
  }

  const order = entries.get('fortran_order')!;
  if (order.kind !== 'bool') {
    throw formatError(`${source} header`, "'fortran_order' True or False", `a ${order.kind}`);
  }
  if (order.value) {
    throw formatError(`${source} layout`, 'C order', 'Fortran order (fortran_order: True); fix with np.ascontiguousarray(a)');
  }

  const shapeValue = entries.get('shape')!;
  if (shapeValue.kind !== 'tuple') {
    throw formatError(`${source} shape`, 'a tuple of non-negative integers', `a ${shapeValue.kind}`);
  }
  const shape = shapeValue.items;
  if (shape.length === 0) {
    throw formatError(`${source} shape`, 'at least 1 axis', '() (a 0-d scalar)');
  }
  if (shape.some((d) => d > MAX_DIM)) {
    throw formatError(`${source} shape`, 'dimensions up to 2^53-1', shapeText(shape));
  }
  return { dtype, shape, dataStart };
}

function latin1(raw: Uint8Array): string {
  let s = '';
  for (let i = 0; i < raw.length; i += 4096) s += String.fromCharCode(...raw.subarray(i, i + 4096));
  return s;
}

/**
 * Parses an .npy file held in memory (format spec:
 * https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html ).
 *
 * Accepts versions 1.0, 2.0 and 3.0, C order, any shape with at least one axis, and the
 * element types uint8 (`|u1`), float32 (`<f4`) and float64 (`<f8`); `=` (native) is read as
 * little-endian. The returned data is a fresh copy (never a view of `bytes`), so `bytes` may
 * start at any byte offset; its length is the product of the shape.
 *
 * @param bytes the whole file
 * @param source names the data in error messages (a path, say); default `NPY data`
 * @throws DataFormatError (one line, `<source>...: expected ..., received ...`) for bad magic,
 *   an unknown version, a header longer than the file, a malformed or unterminated header,
 *   missing or extra keys, another dtype (big-endian, int, bool, complex, structured, object),
 *   Fortran order, a 0-d shape, or a data section that is not exactly
 *   `product(shape) * itemsize` bytes (checked exactly with BigInt before allocating).
 */
export function parseNpy(bytes: Uint8Array, source = 'NPY data'): NpyArray {
  const { dtype, shape, dataStart } = readHeader(bytes, source);
  const item = ITEM_BYTES[dtype];
  const expectedBytes = shape.reduce((acc, d) => acc * d, BigInt(item));
  const dataBytes = bytes.length - dataStart;
  if (BigInt(dataBytes) !== expectedBytes) {
    const rule = `${countText(expectedBytes)} data byte${expectedBytes === 1n ? '' : 's'} for shape ${shapeText(shape)} of ${dtype}`;
    const received =
      BigInt(dataBytes) < expectedBytes
        ? `${dataBytes} (file truncated)`
        : `${dataBytes} (oversized: ${plural(BigInt(dataBytes) - expectedBytes, 'trailing byte')})`;
    throw formatError(source, rule, received);
  }
  // The byte count matched a real buffer, so every dimension and the count fit a Number.
  const count = dataBytes / item;
  return { dtype, shape: shape.map(Number), data: decode(dtype, bytes, dataStart, count) };
}

/** Copies the elements out into a fresh, aligned, native-endian typed array. */
function decode(dtype: NpyDtype, bytes: Uint8Array, start: number, count: number): NpyArray['data'] {
  const item = ITEM_BYTES[dtype];
  // An explicit copy into a new ArrayBuffer at offset 0, aligned whatever bytes.byteOffset was.
  // (Not bytes.slice(): on a Node Buffer, slice() returns a view into the shared pool.)
  const copy = new Uint8Array(count * item);
  copy.set(bytes.subarray(start, start + count * item));
  if (dtype === 'u1') return copy;
  if (LITTLE_ENDIAN_PLATFORM) {
    return dtype === 'f4' ? new Float32Array(copy.buffer, 0, count) : new Float64Array(copy.buffer, 0, count);
  }
  const view = new DataView(copy.buffer);
  if (dtype === 'f4') {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
  return out;
}

/**
 * Reads and parses an .npy file (see parseNpy; format spec:
 * https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html ).
 * @throws DataFormatError naming `path`, for a missing or unreadable file as for a malformed one.
 */
export function readNpyFile(path: string): NpyArray {
  let buf: Buffer;
  try {
    // The prefix first: a header over the limit is refused without reading the file.
    const fd = openSync(path, 'r');
    try {
      const prefix = Buffer.alloc(12);
      const n = readSync(fd, prefix, 0, 12, 0);
      const length = prefix[6] === 1 ? prefix.readUInt16LE(8) : n === 12 ? prefix.readUInt32LE(8) : 0;
      if (n >= 10 && length > MAX_NPY_HEADER_BYTES) parseNpy(new Uint8Array(prefix.buffer, prefix.byteOffset, n), path);
    } finally {
      closeSync(fd);
    }
    buf = readFileSync(path);
  } catch (err) {
    if (err instanceof DataFormatError) throw err;
    throw fileError(path, 'a readable .npy file', err);
  }
  return parseNpy(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path);
}

/** A data set's rows as float32: `rows` x `cols`, row-major, and the image size when 3-D. */
export interface NpyRows {
  rows: number;
  cols: number;
  image: { width: number; height: number } | null;
  data: Float32Array;
}

/**
 * Interprets an array as training rows: 2-D `[n, features]` gives n rows of `features`
 * columns (image null); 3-D `[n, height, width]` gives n rows of height*width pixels, row by
 * row, with image {width, height}. Values are converted to float32 without scaling (uint8
 * 0..255 stays 0..255; float64 is narrowed). A float32 input's data array is returned as is,
 * not copied.
 *
 * @throws DataFormatError for another rank, n = 0 or 0 features, a data length that does not
 *   match the shape, and, for float32/float64, a NaN or infinite value (or a float64 beyond
 *   float32's range), naming the first one's row and column.
 */
export function npyRows(a: NpyArray, source = 'NPY data'): NpyRows {
  const shape = a.shape;
  const rank = shape.length;
  if (rank !== 2 && rank !== 3) {
    throw formatError(
      source,
      '2-D rows [n, features] or 3-D images [n, height, width]',
      `shape ${shapeText(shape)} (${rank}-D)${rank === 1 ? '; reshape with a.reshape(-1, 1) or a.reshape(1, -1)' : ''}`,
    );
  }
  const rows = shape[0]!;
  const image = rank === 3 ? { height: shape[1]!, width: shape[2]! } : null;
  const cols = rank === 3 ? shape[1]! * shape[2]! : shape[1]!;
  if (rows === 0) throw formatError(source, 'at least 1 row', `shape ${shapeText(shape)} (no rows)`);
  if (cols === 0) {
    throw formatError(source, `at least 1 ${image === null ? 'feature' : 'pixel'} per row`, `shape ${shapeText(shape)}`);
  }
  const expectedLength = rows * cols;
  if (a.data.length !== expectedLength) {
    throw formatError(source, `${expectedLength} elements for shape ${shapeText(shape)}`, `${a.data.length}`);
  }
  const where = (i: number): string => {
    const r = Math.floor(i / cols);
    const c = i % cols;
    return image === null ? `row ${r}, column ${c}` : `row ${r}, column ${c} (pixel y ${Math.floor(c / image.width)}, x ${c % image.width})`;
  };

  const data = a.data;
  let out: Float32Array;
  if (data instanceof Uint8Array) {
    out = Float32Array.from(data);
  } else {
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (!Number.isFinite(v)) throw formatError(source, 'finite values', `${v} at ${where(i)}`);
    }
    if (data instanceof Float32Array) {
      out = data;
    } else {
      out = Float32Array.from(data);
      for (let i = 0; i < out.length; i++) {
        if (!Number.isFinite(out[i]!)) {
          throw formatError(source, 'values within float32 range (|x| <= 3.4028235e38)', `${data[i]} at ${where(i)}`);
        }
      }
    }
  }
  return { rows, cols, image, data: out };
}
