/**
 * Anomaly detection with an autoencoder, the lecture's first application: train on (mostly)
 * normal data, so the model learns to reconstruct what normal looks like; a sample it
 * reconstructs badly is unlike the training data.
 *
 * - score(x): each sample's reconstruction error, the mean over its features of (x − x̂)²
 *   in the model's scaled space (the per-sample term of nn.MSELoss). Higher = more anomalous.
 * - scoreSamples(raw): the same for raw rows, scaled first by the detector's stored scaler
 *   (PyOD's decision_function; higher = more anomalous, unlike scikit-learn's score_samples).
 * - featureErrors(x): the per-feature squared errors behind that mean, to show which pixels
 *   or columns made a sample anomalous.
 * - predict(raw): true for an anomaly, i.e. score > threshold (strictly above), as PyOD's
 *   predict is decision_function(X) > threshold_.
 *
 * The threshold comes from the training scores (PyOD's decision_scores_), by one of two rules:
 * - contamination c ∈ (0, 0.5]: the (1 − c) quantile of the training scores, linearly
 *   interpolated (numpy's percentile, as PyOD's `contamination`), so about a fraction c of
 *   the training set is flagged. It says how contaminated you believe the training data is;
 *   on clean training data it is the false-positive rate you accept.
 * - sigma k ≥ 0: mean + k·σ of the training scores (σ the population standard deviation).
 *   Reconstruction errors are skewed to the right, so this flags more than the Gaussian
 *   tail fraction would suggest.
 * A fixed number can also be set.
 *
 * Training on contaminated data (normal rows with some anomalies mixed in, unlabelled) is
 * the realistic case and works as long as anomalies are a minority: the model spends its
 * capacity on the common structure. fit takes rows already scaled the way the model is to
 * see them (e.g. [-1, 1] for the notebook's MNIST model); the Scaling they were scaled with
 * is kept so that scoreSamples, predict and a saved file take raw rows.
 */
import type { Backend } from '../../core/backend.js';
import { AeError, ModelFormatError, ValidationError, expected } from '../../core/errors.js';
import { matrix, rowSlice, type Matrix } from '../../core/matrix.js';
import { scaled } from '../../data/dataset.js';
import type { Scaling } from '../../data/scaling.js';
import { decodeModel, encodeModel, loadModel, MODEL_FORMAT, type ModelConfig } from '../../io/model-file.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { MAX_HEADER_BYTES } from '../../io/safetensors.js';
import type { Autoencoder } from '../../nn/autoencoder.js';
import { setupTraining, trainingRecordOf, type TrainSettings } from '../../train/recipe.js';
import type { Callbacks, EpochMetrics } from '../../train/trainer.js';

/** How the threshold is set from the training scores. */
export type ThresholdRule =
  /** The (1 − value) quantile of the training scores; value in (0, 0.5]. */
  | { kind: 'contamination'; value: number }
  /** mean + value·σ of the training scores; value >= 0. */
  | { kind: 'sigma'; value: number }
  /** The threshold itself. */
  | { kind: 'fixed'; value: number };

/** PyOD's default: assume 10% of the training data is anomalous. */
export const DEFAULT_THRESHOLD_RULE: ThresholdRule = { kind: 'contamination', value: 0.1 };

/** Checks a rule; throws ValidationError naming the bad kind or value. */
export function checkThresholdRule(rule: ThresholdRule): ThresholdRule {
  if (typeof rule !== 'object' || rule === null) throw new ValidationError(expected('threshold rule', 'an object {kind, value}', rule));
  const v = rule.value;
  switch (rule.kind) {
    case 'contamination':
      if (typeof v !== 'number' || !(v > 0 && v <= 0.5)) throw new ValidationError(expected('contamination', 'a fraction in (0, 0.5]', v));
      break;
    case 'sigma':
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ValidationError(expected('sigma', 'a finite number >= 0', v));
      break;
    case 'fixed':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new ValidationError(expected('threshold', 'a finite number', v));
      break;
    default:
      throw new ValidationError(expected('threshold rule kind', 'one of contamination, sigma, fixed', (rule as { kind: unknown }).kind));
  }
  return { kind: rule.kind, value: v };
}

/** The q-quantile (q in [0, 1]) with linear interpolation between order statistics: numpy.percentile's default. */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) throw new ValidationError(expected('quantile values', 'at least one value', 0));
  if (!(q >= 0 && q <= 1)) throw new ValidationError(expected('quantile', 'a number in [0, 1]', q));
  const sorted = Float64Array.from(values).sort();
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}

export interface ScoreStats {
  count: number;
  mean: number;
  /** Population standard deviation (divides by count). */
  std: number;
  min: number;
  median: number;
  max: number;
}

/** Count, mean, population σ, min, median and max of scores; throws ValidationError when there are none. */
export function scoreStats(scores: ArrayLike<number>): ScoreStats {
  if (scores.length === 0) throw new ValidationError(expected('scores', 'at least one value', 0));
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    sum += s;
    if (s < min) min = s;
    if (s > max) max = s;
  }
  const mean = sum / scores.length;
  let ss = 0;
  for (let i = 0; i < scores.length; i++) ss += (scores[i]! - mean) ** 2;
  return { count: scores.length, mean, std: Math.sqrt(ss / scores.length), min, median: quantile(scores, 0.5), max };
}

/** The threshold a rule gives for these training scores. */
export function thresholdFor(trainScores: ArrayLike<number>, rule: ThresholdRule): number {
  const r = checkThresholdRule(rule);
  switch (r.kind) {
    case 'contamination':
      return quantile(trainScores, 1 - r.value);
    case 'sigma': {
      const { mean, std } = scoreStats(trainScores);
      return mean + r.value * std;
    }
    case 'fixed':
      return r.value;
  }
}

/** How a threshold was chosen, in words, e.g. "the 0.9 quantile of the training scores (contamination 0.1)". */
export function describeThresholdRule(rule: ThresholdRule): string {
  switch (rule.kind) {
    case 'contamination':
      return `the ${+(1 - rule.value).toFixed(6)} quantile of the training scores (contamination ${rule.value})`;
    case 'sigma':
      return `mean + ${rule.value}·σ of the training scores (sigma ${rule.value})`;
    case 'fixed':
      return `fixed at ${rule.value}`;
  }
}

/** A rule in a few words, for a figure's legend: "contamination 0.1", "mean + 3 sd", "fixed". */
export function shortThresholdRule(rule: ThresholdRule): string {
  return rule.kind === 'contamination' ? `contamination ${rule.value}` : rule.kind === 'sigma' ? `mean + ${rule.value} sd` : 'fixed';
}

export interface DetectorFitOptions {
  /** Default DEFAULT_THRESHOLD_RULE (contamination 0.1). */
  threshold?: ThresholdRule;
  callbacks?: Callbacks;
  /** The picture shape of the rows, for the denoising variant's patch corruption. */
  image?: { width: number; height: number } | null;
  /** The Scaling the rows were scaled with from raw values; kept for scoreSamples, predict and save. Default none. */
  scaling?: Scaling | null;
  /** What the saved file records of the training data (config.training.data, as prepareTraining's). */
  data?: Record<string, unknown>;
  /** Labelled scored rows: the label value of the anomalies for a hold-out detector; null (default) for 0/1 labels. */
  holdout?: number | null;
}

/** The parts a detector is made of (fitted here, wrapped, or loaded from a file). */
interface Parts {
  model: Autoencoder;
  trainScores: Float64Array;
  rule: ThresholdRule;
  settings: TrainSettings | null;
  history: EpochMetrics[];
  scaling: Scaling | null;
  training: Record<string, unknown>;
  loss: ModelConfig['loss'];
  holdout: number | null;
}

/**
 * An autoencoder used as an anomaly detector: scores are per-sample reconstruction errors,
 * and a threshold on them, set from the training scores, separates normal from anomalous.
 */
export class AnomalyDetector {
  readonly model: Autoencoder;
  /** The training rows' scores, in row order (PyOD's decision_scores_); or those of fromModel's reference rows. */
  readonly trainScores: Float64Array;
  /** The resolved training settings when fitted here; null for a wrapped or loaded model (see `training`). */
  readonly settings: TrainSettings | null;
  /** Per-epoch training metrics when fitted here; empty otherwise. */
  readonly history: EpochMetrics[];
  /** The raw → model-space scaling (a loaded file's config.scaling); null: rows are taken as the model's inputs. */
  readonly scaling: Scaling | null;
  /** How the model was trained, as its file's config.training records it. */
  readonly training: Record<string, unknown>;
  /** For labelled scored rows: the label value that marks an anomaly (a held-out class), or null for 0/1 labels. */
  readonly holdout: number | null;
  /** The loss the model was trained with (its scores are always the mean squared error). */
  readonly loss: ModelConfig['loss'];
  private rule: ThresholdRule;
  private value: number;

  private constructor(p: Parts) {
    this.model = p.model;
    this.trainScores = p.trainScores;
    this.settings = p.settings;
    this.history = p.history;
    this.scaling = p.scaling;
    this.training = p.training;
    this.loss = p.loss;
    this.holdout = p.holdout;
    this.rule = checkThresholdRule(p.rule);
    this.value = thresholdFor(p.trainScores, this.rule);
  }

  /**
   * Trains an autoencoder on `train` ([rows, features], already scaled as `settings.scale`
   * says, symmetric [-1, 1] by default; the rows may include some anomalies) through
   * setupTraining with the recipe's settings — the notebook's defaults unless overridden —
   * then scores the training rows to set the threshold (PyOD's fit). Throws ValidationError
   * for settings or a rule that do not fit.
   */
  static fit(train: Matrix, settings: Partial<TrainSettings>, backend: Backend, opts: DetectorFitOptions = {}): AnomalyDetector {
    const rule = checkThresholdRule(opts.threshold ?? DEFAULT_THRESHOLD_RULE);
    const run = setupTraining(settings, { x: train, image: opts.image ?? null }, backend);
    const history = run.fit(opts.callbacks);
    const training = { ...trainingRecordOf(run, backend), epochsCompleted: history.length, ...(opts.data ? { data: opts.data } : {}) };
    return new AnomalyDetector({
      model: run.model, trainScores: scoreRows(run.model, train), rule, settings: run.settings, history,
      scaling: opts.scaling ?? null, training, loss: run.settings.loss, holdout: opts.holdout ?? null,
    });
  }

  /**
   * Wraps an already-trained model. `reference` is either the training scores or rows
   * (scaled like the model's inputs) to score, from which the threshold is set. Throws
   * ValidationError for no reference, a non-finite score, or rows of another width.
   */
  static fromModel(model: Autoencoder, reference: Float64Array | Matrix, rule: ThresholdRule = DEFAULT_THRESHOLD_RULE, opts: { scaling?: Scaling | null; holdout?: number | null } = {}): AnomalyDetector {
    const scores = reference instanceof Float64Array ? Float64Array.from(reference) : scoreRows(model, reference);
    checkScores(scores);
    return new AnomalyDetector({ model, trainScores: scores, rule, settings: null, history: [], scaling: opts.scaling ?? null, training: {}, loss: 'mse', holdout: opts.holdout ?? null });
  }

  /**
   * A detector from a model file's bytes (a detector file: a model file whose config carries
   * config.detector). Throws ModelFormatError, naming `source`, for a plain model file or a
   * detector state that is malformed or inconsistent (a threshold its rule does not give).
   */
  static fromBytes(bytes: Uint8Array, backend: Backend, source = 'detector file'): AnomalyDetector {
    return AnomalyDetector.fromLoaded(decodeModel(bytes, backend, source), source);
  }

  /** Reads a detector file written by save (or `ae anomaly`); errors as fromBytes. */
  static load(path: string, backend: Backend): AnomalyDetector {
    return AnomalyDetector.fromLoaded(loadModel(path, backend), path);
  }

  private static fromLoaded(loaded: { model: Autoencoder; config: ModelConfig }, source: string): AnomalyDetector {
    const s = parseDetectorState(loaded.config.detector, source);
    return new AnomalyDetector({ model: loaded.model, ...s, settings: null, history: [], scaling: loaded.config.scaling, training: loaded.config.training, loss: loaded.config.loss });
  }

  /** Samples with a score above this are anomalies (PyOD's threshold_). */
  get threshold(): number {
    return this.value;
  }

  get thresholdRule(): ThresholdRule {
    return { ...this.rule };
  }

  /** Sets the threshold by a rule over the training scores, or to a number. */
  setThreshold(rule: ThresholdRule | number): this {
    this.rule = checkThresholdRule(typeof rule === 'number' ? { kind: 'fixed', value: rule } : rule);
    this.value = thresholdFor(this.trainScores, this.rule);
    return this;
  }

  /** Per-sample mean squared reconstruction error of rows in the model's space [rows, features], in float64. */
  score(x: Matrix): Float64Array {
    return scoreRows(this.model, x);
  }

  /** Raw rows [rows, features] in the model's space: a scaled copy (the rows themselves without a scaling). */
  scale(raw: Matrix): Matrix {
    checkWidth(this.model, raw);
    return this.scaling ? scaled(raw, this.scaling) : raw;
  }

  /**
   * Scores of raw rows [rows, features]: scaled by the stored scaler, then score (PyOD's
   * decision_function: higher = more anomalous). Throws ValidationError for another width.
   */
  scoreSamples(raw: Matrix): Float64Array {
    return this.score(this.scale(raw));
  }

  /** true = anomaly: scoreSamples(raw) > threshold (PyOD's predict, as booleans). */
  predict(raw: Matrix): boolean[] {
    return this.flag(this.scoreSamples(raw));
  }

  /** true where a score is above the threshold. */
  flag(scores: ArrayLike<number>): boolean[] {
    return Array.from(scores, (s) => s > this.value);
  }

  reconstruct(x: Matrix): Matrix {
    return this.model.reconstruct(x);
  }

  /** (x − x̂)² for every sample and feature of rows in the model's space; each row's mean is its score. */
  featureErrors(x: Matrix): Matrix {
    const recon = this.model.reconstruct(x);
    const out = matrix(x.rows, x.cols);
    for (let i = 0; i < out.data.length; i++) out.data[i] = (x.data[i]! - recon.data[i]!) ** 2;
    return out;
  }

  /**
   * Which labelled rows are anomalies: label === holdout for a hold-out detector, else label
   * === 1, 0/1 labels being required. Throws ValidationError naming `what` and the first other value.
   */
  anomalous(labels: ArrayLike<number>, what = 'labels'): boolean[] {
    const k = this.holdout;
    return k === null ? binaryLabels(labels, what) : Array.from(labels, (l) => l === k);
  }

  /** The state a file keeps in config.detector (see parseDetectorState). */
  state(): DetectorState {
    const stats = scoreStats(this.trainScores);
    return {
      format: DETECTOR_FORMAT,
      score: 'mean over the features of (x - reconstruction)^2, in the scaled space',
      flagged: 'score > threshold',
      rule: this.thresholdRule,
      threshold: this.value,
      holdout: this.holdout,
      trainScoreStats: { ...stats, q90: quantile(this.trainScores, 0.9), q95: quantile(this.trainScores, 0.95), q99: quantile(this.trainScores, 0.99) },
      trainScores: Array.from(this.trainScores),
    };
  }

  /** The model file's config: a plain model's (architecture, scaling, loss, training) plus config.detector. Throws ValidationError without a scaling. */
  modelConfig(): ModelConfig {
    if (this.scaling === null) throw new ValidationError(expected('detector scaling', 'the Scaling its training rows were scaled with (DetectorFitOptions.scaling) to write a file', 'none'));
    return { format: MODEL_FORMAT, architecture: this.model.config, scaling: this.scaling, loss: this.loss, training: this.training, detector: { ...this.state() } };
  }

  /** The detector file's bytes: safetensors with the model's state_dict only, the detector's state in the metadata. */
  toBytes(): Uint8Array {
    const { scaling, loss, training, detector } = this.modelConfig();
    try {
      return encodeModel(this.model, { scaling, loss, training, ...(detector ? { detector } : {}) });
    } catch (err) {
      // Every training score is kept (about 20 bytes each), so the header limit caps the rows.
      if (err instanceof ValidationError && /header size/.test(err.message)) {
        throw new ValidationError(`detector file: expected the scores of at most about ${Math.floor(MAX_HEADER_BYTES / 20 / 1000) * 1000} training rows (they are kept whole in its ${MAX_HEADER_BYTES / 1024 / 1024} MiB header), received ${this.trainScores.length} (train on fewer rows, e.g. with --limit)`);
      }
      throw err;
    }
  }

  /** Writes toBytes() atomically. */
  save(path: string): void {
    writeFileAtomic(path, this.toBytes());
  }
}

export const DETECTOR_FORMAT = 'aekit-anomaly-detector/1';

/**
 * config.detector of a detector file. The training scores are kept whole, in row order, so a
 * loaded detector can take another rule (setThreshold) and get exactly the threshold a refit
 * on the same rows would: a quantile needs every score, not a summary. They cost about 20
 * bytes a row in the JSON (about 1 MB for MNIST's 54000 training digits).
 */
export interface DetectorState {
  format: typeof DETECTOR_FORMAT;
  /** In words, for a reader of the file. */
  score: string;
  flagged: string;
  rule: ThresholdRule;
  threshold: number;
  holdout: number | null;
  /** For a reader of the file; recomputed from trainScores, never read back. */
  trainScoreStats: ScoreStats & { q90: number; q95: number; q99: number };
  trainScores: number[];
}

/**
 * Validates a file's config.detector: the format, a rule, finite training scores, a holdout
 * label, and a threshold equal to what the rule gives on the scores (so rule and number never
 * disagree). Throws ModelFormatError naming `source`.
 */
export function parseDetectorState(raw: unknown, source: string): { rule: ThresholdRule; trainScores: Float64Array; holdout: number | null } {
  const fail = (what: string, rule: string, received: unknown): never => {
    throw new ModelFormatError(`${source}: ${expected(what, rule, received)}`.replace(/[\r\n\u2028\u2029]/g, ' '));
  };
  if (raw === undefined) fail('config.detector', "an anomaly detector's state (a file written by ae anomaly or AnomalyDetector.save)", 'none: a plain model file');
  const o = raw as Record<string, unknown>;
  if (o.format !== DETECTOR_FORMAT) fail('config.detector.format', JSON.stringify(DETECTOR_FORMAT), o.format);
  const list = o.trainScores;
  if (!Array.isArray(list) || list.length === 0) fail('config.detector.trainScores', 'a non-empty array of scores', Array.isArray(list) ? 'an empty array' : list);
  const scores = Float64Array.from(list as unknown[], (v, i) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fail(`config.detector.trainScores[${i}]`, 'a finite number >= 0', v)));
  let rule: ThresholdRule;
  try {
    rule = checkThresholdRule(o.rule as ThresholdRule);
  } catch (err) {
    if (err instanceof AeError) fail('config.detector.rule', 'a valid threshold rule', `${JSON.stringify(o.rule)} (${err.message})`);
    throw err;
  }
  const want = thresholdFor(scores, rule);
  if (o.threshold !== want) fail('config.detector.threshold', `${want}, what its rule gives on its training scores`, o.threshold);
  const h = o.holdout ?? null;
  if (h !== null && !Number.isSafeInteger(h)) fail('config.detector.holdout', 'an integer label or null', h);
  return { rule, trainScores: scores, holdout: h as number | null };
}

/** 0/1 labels as booleans (1 = anomaly); throws ValidationError naming `what` and the first row holding another value. */
export function binaryLabels(labels: ArrayLike<number>, what = 'labels'): boolean[] {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new ValidationError(expected(`${what} row ${i + 1}`, '0 (normal) or 1 (anomaly)', labels[i]));
  }
  return Array.from(labels, (l) => l === 1);
}

function checkScores(scores: Float64Array): void {
  if (scores.length === 0) throw new ValidationError(expected('reference scores', 'at least one', 0));
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) throw new ValidationError(expected(`reference scores[${i}]`, 'a finite number', scores[i]));
  }
}

function checkWidth(model: Autoencoder, x: Matrix): void {
  if (x.cols !== model.inputSize) throw new ValidationError(expected('rows to score', `${model.inputSize} columns to match the model`, x.cols));
}

/** Mean squared reconstruction error of each row [rows, features], reconstructing in chunks so memory stays flat. */
export function scoreRows(model: Autoencoder, x: Matrix, chunk = 1000): Float64Array {
  checkWidth(model, x);
  const scores = new Float64Array(x.rows);
  const n = x.cols;
  for (let start = 0; start < x.rows; start += chunk) {
    const end = Math.min(x.rows, start + chunk);
    const rows = rowSlice(x, start, end);
    const recon = model.reconstruct(rows);
    for (let r = 0; r < rows.rows; r++) {
      let ss = 0;
      for (let j = r * n; j < (r + 1) * n; j++) ss += (rows.data[j]! - recon.data[j]!) ** 2;
      scores[start + r] = ss / n;
    }
  }
  return scores;
}

/** Indices of the k highest scores, highest first (ties by index). */
export function topIndices(scores: ArrayLike<number>, k: number): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  return order.slice(0, Math.max(0, k));
}

/** The rows of `x` at `indices`, copied into a new matrix. */
export function pickRows(x: Matrix, indices: readonly number[]): Matrix {
  const out = matrix(indices.length, x.cols);
  indices.forEach((i, r) => out.data.set(x.data.subarray(i * x.cols, (i + 1) * x.cols), r * x.cols));
  return out;
}
