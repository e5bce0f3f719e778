/**
 * The anomaly studies: which rows train a detector, which are scored, and how they are scaled.
 *
 * - Hold-out (the usual one-class benchmark on a labelled set): train on every class but k,
 *   score the test rows, call the rows of class k the anomalies; for each class in turn.
 * - Table: train on rows of any source (normal, or contaminated with a few unlabelled
 *   anomalies), score the same rows or another file's, with 0/1 labels when a column holds them.
 * - Score: a saved detector scores new raw rows with its stored scaler and threshold.
 *
 * The loaders read sources through the data layer (loadDataset); the studies take Datasets,
 * so a browser can build those itself and make the same calls.
 */
import type { Backend } from '../../core/backend.js';
import { ValidationError, expected } from '../../core/errors.js';
import type { Matrix } from '../../core/matrix.js';
import type { ColumnRef } from '../../data/csv.js';
import { imageShape, loadDataset, loadMnistDataset, scaled, splitValidation, type Dataset } from '../../data/dataset.js';
import { countOutOfRange, fitFeatureScaling, fitSharedScaling, scaleInto, type Scaling } from '../../data/scaling.js';
import type { ReadOptions } from '../../data/source.js';
import { dataRecordOf, layersOf, resolveSettings, type TrainSettings } from '../../train/recipe.js';
import type { Callbacks } from '../../train/trainer.js';
import { detectionMetrics, type DetectionMetrics } from '../metrics.js';
import { AnomalyDetector, binaryLabels, pickRows, type DetectorFitOptions, type ThresholdRule } from './detector.js';

/** Rows with integer class labels, e.g. MNIST digits. */
export interface LabelledRows {
  x: Matrix;
  labels: ArrayLike<number>;
}

export interface HoldoutResult {
  /** The class left out of training and called anomalous. */
  holdout: number;
  detector: AnomalyDetector;
  /** Training rows used: those whose class is not `holdout`. */
  trainCount: number;
  /** One score per test row. */
  scores: Float64Array;
  /** true where the test row's class is `holdout`. */
  anomalous: boolean[];
  metrics: DetectionMetrics;
  seconds: { train: number; score: number };
}

/**
 * One hold-out run on rows already scaled: train on every class but `holdout`, score the
 * whole test set, and call the rows of class `holdout` the anomalies. Throws ValidationError
 * for labels that do not match the rows, or no training rows of another class.
 */
export function holdoutRun(train: LabelledRows, test: LabelledRows, holdout: number, settings: Partial<TrainSettings>, backend: Backend, opts: DetectorFitOptions = {}): HoldoutResult {
  if (train.labels.length !== train.x.rows) throw new ValidationError(expected('training labels', `one per row (${train.x.rows})`, train.labels.length));
  if (test.labels.length !== test.x.rows) throw new ValidationError(expected('test labels', `one per row (${test.x.rows})`, test.labels.length));
  const keepRows: number[] = [];
  for (let i = 0; i < train.x.rows; i++) if (train.labels[i] !== holdout) keepRows.push(i);
  if (keepRows.length === 0) throw new ValidationError(expected(`training rows of classes other than ${holdout}`, 'at least one', 0));
  const t0 = performance.now();
  const detector = AnomalyDetector.fit(pickRows(train.x, keepRows), settings, backend, { ...opts, holdout });
  const t1 = performance.now();
  const scores = detector.score(test.x);
  const anomalous = Array.from(test.labels, (l) => l === holdout);
  const t2 = performance.now();
  const metrics = detectionMetrics(scores, anomalous, detector.threshold);
  return { holdout, detector, trainCount: keepRows.length, scores, anomalous, metrics, seconds: { train: (t1 - t0) / 1000, score: (t2 - t1) / 1000 } };
}

/** How a study trains: the settings (fields not given take the recipe's defaults), the rule, and progress hooks. */
export interface StudyOptions {
  settings: Partial<TrainSettings>;
  /** Default: contamination 0.1 (PyOD's). */
  rule?: ThresholdRule;
  /** Progress callbacks for one training run (the held-out class, or null for a table). */
  callbacks?: (holdout: number | null) => Callbacks | undefined;
  /** Progress lines, one at a time, without a newline. */
  log?: (line: string) => void;
  /** Scale the Dataset's rows where they are (MNIST's 188 MB is not held twice); they are no longer raw afterwards. */
  inPlace?: boolean;
  /** The rows were cut to a limit: errors about too few rows say to raise it. */
  limited?: boolean;
}

/** The chain of layer sizes of a run, e.g. "784→30→784". */
export function chainOf(layers: readonly number[]): string {
  return [...layers, ...layers.slice(0, -1).reverse()].join('→');
}

/**
 * The raw → model-space Scaling of a study's training rows [rows, features]: per column
 * (scikit-learn's MinMaxScaler, or StandardScaler for 'standard') when the features have
 * their own units, else one range for all values: `range` (0..255 for uint8 pictures), or
 * by default the training values' own min..max, so a pixel always blank in training cannot
 * blow up. Values outside the fitted range land outside it, which itself reads as anomalous.
 */
export function studyScaling(train: Matrix, kind: Scaling['kind'], perFeature: boolean, range?: { min: number; max: number }): Scaling {
  if (perFeature) return fitFeatureScaling(kind, train.data, train.cols);
  let min = Infinity;
  let max = -Infinity;
  for (const v of train.data) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return fitSharedScaling(kind, train.data, range ?? { min, max: max > min ? max : min + 1 });
}

function countOf(labels: ArrayLike<number>, k: number): number {
  let n = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === k) n++;
  return n;
}

function scaleRows(m: Matrix, s: Scaling, inPlace: boolean): Matrix {
  return inPlace ? (scaleInto(m.data, s, m.data), m) : scaled(m, s);
}

/**
 * A labelled source for hold-out runs: MNIST (`data` 'mnist') or any source with labels (an
 * IDX folder with labels files, an image folder of classes), with its own test part, the
 * test rows of `testData`, or else a seeded 0.2 split. Throws ValidationError for a source
 * without labels; the data layer's errors for unreadable data.
 */
export async function loadHoldoutData(o: { data: string; testData?: string; limit?: number; seed?: number; read?: ReadOptions }): Promise<Dataset> {
  const lim = o.limit === undefined ? {} : { limit: o.limit };
  const read = o.read && Object.keys(o.read).length ? { read: o.read } : {};
  let data = o.data === 'mnist' ? loadMnistDataset(lim) : await loadDataset(o.data, { ...lim, ...read, ...(o.testData === undefined ? {} : { testData: o.testData }) });
  if (!data.labels || data.labels.length !== data.train.rows) {
    throw new ValidationError(`holdout: expected a source with labels (MNIST, an IDX folder with labels files, an image folder with one subfolder per class), received ${data.kind} data ${o.data} without labels`);
  }
  if (!data.test) data = splitValidation(data, 0.2, o.seed ?? 0);
  if (!data.testLabels) throw new ValidationError(expected('holdout test rows', 'labels for the test rows too', `none for ${o.testData ?? o.data}`));
  return data;
}

export interface HoldoutStudy {
  kind: 'holdout';
  /** The Dataset, its rows now scaled (in place or copies). */
  data: Dataset;
  /** Every label present was held out in turn. */
  all: boolean;
  scaling: Scaling;
  test: LabelledRows;
  /** Pictures are drawn as themselves; other rows as a strip of their values. */
  image: { width: number; height: number };
  runs: HoldoutResult[];
}

/**
 * Hold-out runs on a labelled Dataset (raw rows; loadHoldoutData), for each class of
 * `holdouts` or, with 'all', each label present in the test rows. The scaling is fitted once
 * on all training rows (symmetric [-1, 1] by default; per column for a table, else the
 * source's shared range, [0, 255] → [-1, 1] for uint8 pictures, the notebook's). Throws
 * ValidationError for a class absent from the test rows, or making up all of them or of the training rows.
 */
export function holdoutStudy(data: Dataset, holdouts: number[] | 'all', opts: StudyOptions, backend: Backend): HoldoutStudy {
  if (!data.test || !data.labels || !data.testLabels) throw new ValidationError(expected('hold-out data', 'labelled training and test rows', 'a Dataset without them'));
  const train: LabelledRows = { x: data.train, labels: data.labels };
  const testLabels = data.testLabels;
  const ks = holdouts === 'all' ? [...new Set(testLabels)].sort((a, b) => a - b) : holdouts;
  const mnist = data.kind === 'mnist';
  const nouns = mnist ? 'digits' : 'rows';
  const hint = opts.limited ? ' (raise the limit)' : '';
  for (const k of ks) {
    const inTest = countOf(testLabels, k);
    if (inTest === 0 || inTest === testLabels.length) {
      throw new ValidationError(`holdout ${k}: expected test ${nouns} both of class ${k} and of other classes among the ${testLabels.length} test rows${hint}, received ${inTest} of class ${k}`);
    }
    if (data.labels.every((l) => l === k)) throw new ValidationError(`holdout ${k}: expected training ${nouns} other than ${k}${hint}, received none`);
  }
  const settings = resolveSettings(opts.settings);
  const features = data.train.cols;
  const layers = layersOf(settings, features);
  const scaling = studyScaling(data.train, settings.scale, data.perFeature === true, data.rawRange);
  const x = scaleRows(data.train, scaling, opts.inPlace === true);
  const test = { x: scaleRows(data.test, scaling, opts.inPlace === true), labels: testLabels };
  const all = holdouts === 'all';
  const runs: HoldoutResult[] = [];
  for (const k of ks) {
    if (!all) opts.log?.(`training ${chainOf(layers)} on the training ${nouns} that are not ${k}, backend ${backend.name}`);
    const callbacks = opts.callbacks?.(k);
    const run = holdoutRun({ x, labels: train.labels }, test, k, opts.settings, backend, {
      ...(opts.rule ? { threshold: opts.rule } : {}),
      ...(callbacks ? { callbacks } : {}),
      image: data.image,
      scaling,
      data: dataRecordOf(data, train.labels.length - countOf(train.labels, k), test.x.rows),
    });
    if (all) opts.log?.(`holdout ${k}: trained on ${run.trainCount} ${nouns} in ${run.seconds.train.toFixed(1)} s, ROC-AUC ${run.metrics.rocAuc.toFixed(4)}, PR-AUC ${run.metrics.prAuc.toFixed(4)}`);
    runs.push(run);
  }
  return { kind: 'holdout', data: { ...data, train: x, test: test.x }, all, scaling, test, image: data.image ?? { width: features, height: 1 }, runs };
}

/** A table run's sources: the training rows, and the rows to score (null: the training rows themselves). */
export interface TableInputs {
  /** Training rows, raw; with labels (0/1) when the file carries the label column (contaminated training, rows kept). */
  train: Dataset;
  scored: Dataset | null;
  /** The label column as it names it in reports (an index where known, else the name); null without one. */
  labelColumn: ColumnRef | null;
}

/**
 * Reads a table run's sources: `data` (training rows of any kind) and `testData` (rows to
 * score; default the training rows), the scored file's 0/1 label column `labelColumn` (a
 * name, 0-based index or 'last') set apart from its features. The training file carries the
 * same label column when it is one column wider than the scored rows' features. Throws
 * ValidationError for widths that do not match; the data layer's errors for bad files.
 */
export async function loadTableData(o: { data: string; testData?: string; labelColumn?: ColumnRef | 'last'; limit?: number; read?: ReadOptions }): Promise<TableInputs> {
  const base = o.read ?? {};
  const withLabels: ReadOptions = o.labelColumn === undefined ? base : { ...base, csv: { ...base.csv, labelColumn: o.labelColumn } };
  const opts = (read: ReadOptions) => ({ ...(o.limit === undefined ? {} : { limit: o.limit }), ...(Object.keys(read).length ? { read } : {}) });
  const scoredPath = o.testData ?? o.data;
  const scored = await loadDataset(scoredPath, opts(withLabels));
  const labelColumn = o.labelColumn === undefined ? null : o.labelColumn === 'last' && !base.csv?.columns ? scored.train.cols : o.labelColumn;
  if (o.testData === undefined) return { train: scored, scored: null, labelColumn };
  let train = await loadDataset(o.data, opts(base));
  if (o.labelColumn !== undefined && train.kind === 'csv' && train.train.cols === scored.train.cols + 1) train = await loadDataset(o.data, opts(withLabels));
  const width = scored.train.cols;
  if (train.train.cols !== width) {
    const rule = o.labelColumn === undefined ? `${width} columns as in ${scoredPath}` : `${width} or ${width + 1} columns (${scoredPath} without or with its label column)`;
    throw new ValidationError(expected(`${o.data} width`, rule, train.train.cols));
  }
  return { train, scored, labelColumn };
}

export interface TableStudy {
  kind: 'table';
  inputs: TableInputs;
  detector: AnomalyDetector;
  scaling: Scaling;
  /** Per-column scaling (a table), or one range (pictures). */
  perFeature: boolean;
  image: { width: number; height: number } | null;
  /** The scored rows, scaled; their scores and flags. */
  x: Matrix;
  scores: Float64Array;
  flagged: boolean[];
  labels: boolean[] | null;
  trainLabels: boolean[] | null;
  metrics: DetectionMetrics | null;
  /** Feature names (the scored file's, else the training file's), or null. */
  columns: string[] | null;
  /** Raw scored values beyond the training range (0 when the training rows are scored; null for standard scaling). */
  outOfRange: number | null;
  seconds: { train: number; score: number };
}

/**
 * A table run (loadTableData's inputs, raw): fits the scaling on the training rows (per column
 * unless the rows are pictures: studyScaling), trains a detector, scores the scored rows.
 * Throws ValidationError for labels other than 0/1 or of one class only.
 */
export function tableStudy(inputs: TableInputs, opts: StudyOptions, backend: Backend): TableStudy {
  const source = inputs.scored ?? inputs.train;
  const scoredPath = source.source;
  const what = (d: Dataset) => `${d.source} label${inputs.labelColumn === null ? '' : ` (column ${inputs.labelColumn})`}`;
  const labels = source.labels ? binaryLabels(source.labels, what(source)) : null;
  const trainLabels = inputs.scored === null ? labels : inputs.train.labels ? binaryLabels(inputs.train.labels, what(inputs.train)) : null;
  if (labels && (labels.every(Boolean) || !labels.some(Boolean))) {
    throw new ValidationError(expected(`labels of ${scoredPath}`, 'both normal (0) and anomalous (1) rows', `${labels.filter(Boolean).length} anomalies among ${labels.length} rows`));
  }
  const settings = resolveSettings(opts.settings);
  const raw = inputs.train.train;
  const features = raw.cols;
  const image = inputs.train.image ?? imageShape(features);
  const scaling = studyScaling(raw, settings.scale, image === null);
  const same = inputs.scored === null;
  const outOfRange = same ? 0 : countOutOfRange(source.train.data, scaling);
  const train = scaleRows(raw, scaling, opts.inPlace === true);
  const x = same ? train : scaleRows(source.train, scaling, opts.inPlace === true);
  opts.log?.(`training ${chainOf(layersOf(settings, features))} on ${train.rows} rows of ${inputs.train.source}, backend ${backend.name}`);
  const t0 = performance.now();
  const callbacks = opts.callbacks?.(null);
  const detector = AnomalyDetector.fit(train, opts.settings, backend, {
    ...(opts.rule ? { threshold: opts.rule } : {}),
    ...(callbacks ? { callbacks } : {}),
    image,
    scaling,
    data: dataRecordOf(inputs.train, train.rows, 0),
  });
  const t1 = performance.now();
  const scores = detector.score(x);
  const t2 = performance.now();
  const names = source.columns ?? inputs.train.columns ?? null;
  return {
    kind: 'table', inputs, detector, scaling, perFeature: image === null, image, x, scores, flagged: detector.flag(scores), labels, trainLabels,
    metrics: labels ? detectionMetrics(scores, labels, detector.threshold) : null,
    columns: names && names.length === features ? names : null,
    outOfRange,
    seconds: { train: (t1 - t0) / 1000, score: (t2 - t1) / 1000 },
  };
}

/** Rows for a saved detector to score: raw values [rows, features] in the model's column order, and labels if any. */
export interface ScoreInputs {
  /** Names the rows in reports (a path, 'mnist'). */
  source: string;
  x: Matrix;
  labels: ArrayLike<number> | null;
}

export interface ScoreStudy {
  kind: 'score';
  inputs: ScoreInputs;
  detector: AnomalyDetector;
  scores: Float64Array;
  flagged: boolean[];
  /** Which rows are anomalies by their labels (AnomalyDetector.anomalous), or null. */
  anomalous: boolean[] | null;
  /** Null without labels, or when they are all of one class (no ROC curve then). */
  metrics: DetectionMetrics | null;
  outOfRange: number | null;
  seconds: number;
}

/**
 * Scores raw rows with a saved detector, its stored scaler and threshold, without training
 * (PyOD's decision_function and predict). Throws ValidationError for rows of another width or
 * labels the detector cannot read (not 0/1 for a table detector).
 */
export function scoreStudy(detector: AnomalyDetector, inputs: ScoreInputs): ScoreStudy {
  const t0 = performance.now();
  const scores = detector.scoreSamples(inputs.x);
  const anomalous = inputs.labels ? detector.anomalous(inputs.labels, `labels of ${inputs.source}`) : null;
  const both = anomalous !== null && anomalous.some(Boolean) && !anomalous.every(Boolean);
  return {
    kind: 'score', inputs, detector, scores, flagged: detector.flag(scores), anomalous,
    metrics: both ? detectionMetrics(scores, anomalous!, detector.threshold) : null,
    outOfRange: detector.scaling ? countOutOfRange(inputs.x.data, detector.scaling) : null,
    seconds: (performance.now() - t0) / 1000,
  };
}
