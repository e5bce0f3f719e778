/**
 * A saved model's data, read again: the source its config records (kind, path, SHA-256 of
 * every file, how it was read, the test source or validation split), checked unchanged, or
 * another source matched to the model (a CSV's columns by name, read as the training file was).
 * Errors are ValidationErrors with one line naming what was expected and what was received.
 */
import type { Matrix } from '../core/matrix.js';
import { ValidationError } from '../core/errors.js';
import type { LoadedModel } from '../io/model-file.js';
import { imageShape, loadDataset, loadMnistDataset, splitValidation, take, takeLabels, type Dataset } from './dataset.js';
import { detectKind, recordProblem, type DataRecord, type ReadOptions } from './source.js';

/** Which rows of which source an evaluation used, for --json and messages. */
export interface EvalSource {
  kind: string;
  path: string;
  /** test: the source's test part or the recorded test source; validation: the recorded held-out rows; all: every row. */
  part: 'test' | 'validation' | 'all';
  /** How the source was chosen: given with --data, or recorded in the model. */
  from: 'flag' | 'model';
}

/** The model's record of its training data, if it has one (models from before it have only a source name). */
export function trainingRecord(loaded: LoadedModel): { record: DataRecord | null; testRecord: DataRecord | null; validation: { fraction: number; seed: number } | null; source: string | null } {
  const d = (loaded.config.training.data ?? {}) as Record<string, unknown>;
  const rec = (v: unknown): DataRecord | null =>
    typeof v === 'object' && v !== null && typeof (v as DataRecord).path === 'string' && typeof (v as DataRecord).kind === 'string' ? (v as DataRecord) : null;
  const val = d['validation'] as { fraction?: unknown; seed?: unknown } | undefined;
  const validation = val && typeof val.fraction === 'number' && typeof val.seed === 'number' ? { fraction: val.fraction, seed: val.seed } : null;
  return { record: rec(d['record']), testRecord: rec(d['testRecord']), validation, source: typeof d['source'] === 'string' ? d['source'] : null };
}

/**
 * How another source is read for a model: the flags given, else how the model's own source
 * was read, when that is of the same kind (a CSV's label column and delimiter, an image
 * folder's size and colour), so a new file is read as the training file was.
 */
export function readOptionsFor(loaded: LoadedModel, dataFlag: string, given: ReadOptions): ReadOptions {
  const recorded = trainingRecord(loaded).record;
  if (!recorded?.read || dataFlag === 'mnist') return given;
  let kind: string;
  try {
    kind = detectKind(dataFlag);
  } catch {
    return given; // loadDataset names the problem
  }
  if (kind !== recorded.kind) return given;
  return {
    ...given,
    ...(kind === 'csv' && !given.csv && recorded.read.csv ? { csv: recorded.read.csv } : {}),
    ...(kind === 'images' && !given.images && recorded.read.images ? { images: recorded.read.images } : {}),
  };
}

/**
 * A table with a header, given to a model that recorded its column names, is matched by name:
 * its columns are put in the model's order, and a missing name is refused in one line. Tables
 * without a header, or models without names, are taken by position.
 */
export function matchColumns(loaded: LoadedModel, data: Dataset & { columns?: string[] | null }, flag: string): Dataset {
  const want = (loaded.config.training.data as { columns?: unknown } | undefined)?.columns;
  const have = data.columns;
  if (!Array.isArray(want) || !have || want.length !== loaded.model.inputSize) return data;
  const names = want as string[];
  if (names.length === have.length && names.every((n, j) => n === have[j])) return data;
  const index = names.map((n) => have.indexOf(n));
  const missing = names.filter((_, j) => index[j]! < 0);
  if (missing.length > 0) {
    throw new ValidationError(`${flag} columns: expected the model's columns ${names.join(', ')}, received ${have.join(', ')} (no ${missing.join(', ')})`);
  }
  const pick = (m: Matrix | null): Matrix | null => {
    if (m === null) return null;
    const out = new Float32Array(m.rows * names.length);
    for (let r = 0; r < m.rows; r++) for (let j = 0; j < names.length; j++) out[r * names.length + j] = m.data[r * m.cols + index[j]!]!;
    return { rows: m.rows, cols: names.length, data: out };
  };
  return { ...data, train: pick(data.train)!, test: pick(data.test), columns: [...names] };
}

/** Refuses a recorded source that moved or changed, in one line. */
export function checkRecord(rec: DataRecord, flag: string): void {
  const problem = recordProblem(rec);
  if (problem !== null) {
    throw new ValidationError(`${flag}: expected the ${rec.kind} data the model was trained on, unchanged; received ${problem}${flag === '--resume' ? '' : `. Pass ${flag} to choose data`}`);
  }
}

/**
 * The data a saved model is evaluated on, with its evaluation rows in `test`:
 * - with --data: that source's test part (MNIST's, an IDX folder's t10k files), else all its rows;
 * - without: the source recorded in the model, if it is still there and unchanged (its
 *   recorded test source, its held-out validation rows, its test part, or all its rows, in
 *   that order), else a one-line refusal. Nothing is ever substituted silently.
 */
export async function evalDataset(
  loaded: LoadedModel,
  dataSource: string | undefined,
  limit: number | undefined,
  read: ReadOptions = {},
  flag = '--data',
): Promise<Dataset & { evalSource: EvalSource }> {
  const dataFlag = dataSource;
  const width = loaded.model.inputSize;
  const checkWidth = (d: Dataset): void => {
    if (d.train.cols !== width) throw new ValidationError(`${flag} width: expected ${width} values per row to match the model, received ${d.train.cols}`);
  };
  const opts = (r: ReadOptions | undefined) => ({ ...(limit === undefined ? {} : { limit }), ...(r ? { read: r } : {}) });
  if (dataFlag !== undefined) {
    const wanted = readOptionsFor(loaded, dataFlag, read);
    let data: Dataset;
    try {
      data = await loadDataset(dataFlag, opts(wanted));
    } catch (err) {
      // The training file's label column, carried over by readOptionsFor, may be absent from a
      // file of new rows: then the rows are read without labels (scores only), as given.
      const carried = wanted.csv?.labelColumn !== undefined && read.csv?.labelColumn === undefined;
      if (!carried || !(err instanceof ValidationError) || !/label column: expected/.test(err.message)) throw err;
      const { labelColumn: _dropped, ...csv } = wanted.csv!;
      data = await loadDataset(dataFlag, opts({ ...wanted, csv }));
    }
    data = matchColumns(loaded, data, flag);
    checkWidth(data);
    const part = data.test ? 'test' : 'all';
    return { ...data, test: data.test ?? data.train, testLabels: data.test ? data.testLabels ?? null : data.labels ?? null, evalSource: { kind: data.kind ?? 'unknown', path: data.record?.path ?? dataFlag, part, from: 'flag' } };
  }
  const { record, testRecord, validation, source } = trainingRecord(loaded);
  if (record === null) {
    // A model from before data records: only MNIST can be named from its source field alone.
    if (source !== 'mnist') throw new ValidationError(`${flag}: expected a data source (the model was trained on ${source ?? 'unknown data'} and does not record it), received nothing`);
    const data = loadMnistDataset(limit === undefined ? {} : { limit });
    checkWidth(data);
    return { ...data, evalSource: { kind: 'mnist', path: 'mnist', part: 'test', from: 'model' } };
  }
  checkRecord(record, flag);
  if (testRecord !== null) {
    checkRecord(testRecord, flag);
    const data = await loadDataset(testRecord.path, opts(testRecord.read));
    checkWidth(data);
    return { ...data, test: data.train, testLabels: data.labels ?? null, evalSource: { kind: testRecord.kind, path: testRecord.path, part: 'test', from: 'model' } };
  }
  // The split is drawn over all the source's rows, so it is drawn before any --limit.
  const full = record.kind === 'mnist' ? loadMnistDataset(limit === undefined ? {} : { limit }) : await loadDataset(record.path, record.read ? { read: record.read } : {});
  checkWidth(full);
  const limited = (d: Dataset, test: Matrix, testLabels: Int32Array | null | undefined) => ({
    ...d,
    train: take(d.train, limit),
    labels: takeLabels(d.labels, limit),
    test: take(test, limit),
    testLabels: takeLabels(testLabels, limit),
  });
  const from = 'model' as const;
  if (validation !== null && full.test === null) {
    const split = splitValidation(full, validation.fraction, validation.seed);
    return { ...limited(split, split.test!, split.testLabels), evalSource: { kind: record.kind, path: record.path, part: 'validation', from } };
  }
  const part = full.test ? 'test' : 'all';
  return { ...limited(full, full.test ?? full.train, full.test ? full.testLabels : full.labels), evalSource: { kind: record.kind, path: record.path, part, from } };
}

/**
 * The rows a model was trained on, read again from its record (for --resume): the same
 * source, read the same way, the same test source or validation split, the same --limit.
 * Refuses in one line when the source moved or changed.
 */
export async function trainingDataset(loaded: LoadedModel): Promise<{ data: Dataset; limit: number | undefined }> {
  const { record, testRecord, validation } = trainingRecord(loaded);
  const lim = (loaded.config.training.data as { limit?: unknown } | undefined)?.limit;
  const limit = typeof lim === 'number' && Number.isSafeInteger(lim) && lim > 0 ? lim : undefined;
  if (record === null) throw new ValidationError('--resume: expected a model that records its training data, received one that does not');
  checkRecord(record, '--resume');
  if (testRecord) checkRecord(testRecord, '--resume');
  let data =
    record.kind === 'mnist'
      ? loadMnistDataset(limit === undefined ? {} : { limit })
      : await loadDataset(record.path, { ...(limit === undefined ? {} : { limit }), ...(record.read ? { read: record.read } : {}), ...(testRecord ? { testData: testRecord.path } : {}) });
  if (validation && data.test === null) data = splitValidation(data, validation.fraction, validation.seed);
  return { data, limit };
}

/** The picture shape of a model's rows: the one its training data recorded, else a square when the input size is one. */
export function modelImage(loaded: LoadedModel): { width: number; height: number } | null {
  const rec = (loaded.config.training.data as { image?: { width?: unknown; height?: unknown } | null } | undefined)?.image;
  const n = loaded.model.inputSize;
  if (rec && typeof rec.width === 'number' && typeof rec.height === 'number' && rec.width * rec.height === n) return { width: rec.width, height: rec.height };
  return imageShape(n);
}

