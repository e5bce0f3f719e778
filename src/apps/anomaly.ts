/**
 * Anomaly detection with an autoencoder, the lecture's first application: train on (mostly)
 * normal data, so the model learns to reconstruct what normal looks like; a sample it
 * reconstructs badly is unlike the training data.
 *
 * - score(x): each sample's reconstruction error, the mean over its features of (x − x̂)²
 *   in the model's scaled space (the per-sample term of nn.MSELoss). Higher = more anomalous.
 * - featureErrors(x): the per-feature squared errors behind that mean, to show which pixels
 *   or columns made a sample anomalous.
 * - predict(x): true for an anomaly, i.e. score > threshold (strictly above).
 *
 * The threshold comes from the training scores, by one of two rules:
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
 * capacity on the common structure. Inputs are always already scaled the way the model was
 * trained (e.g. [-1, 1] for the notebook's MNIST model); this module never rescales.
 */
import type { Backend } from '../core/backend.js';
import { ValidationError, expected } from '../core/errors.js';
import { matrix, rowSlice, type Matrix } from '../core/matrix.js';
import { Autoencoder } from '../nn/autoencoder.js';
import { setupTraining, type TrainSettings } from '../train/recipe.js';
import type { Callbacks, EpochMetrics } from '../train/trainer.js';
import { detectionMetrics, type DetectionMetrics } from './metrics.js';
import { imageGrid, raster, stack, type Raster } from '../viz/image.js';
import { colormap, formatNumber, histogramPlot, linePlot, PALETTE, type Color } from '../viz/plot.js';
import { drawText, paste, textWidth, TEXT_HEIGHT, withLeftLabels, withTitle } from '../viz/text.js';

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

export interface DetectorFitOptions {
  /** Default DEFAULT_THRESHOLD_RULE (contamination 0.1). */
  threshold?: ThresholdRule;
  callbacks?: Callbacks;
  /** The picture shape of the rows, for the denoising variant's patch corruption. */
  image?: { width: number; height: number } | null;
}

/**
 * An autoencoder used as an anomaly detector: scores are per-sample reconstruction errors,
 * and a threshold on them, set from the training scores, separates normal from anomalous.
 */
export class AnomalyDetector {
  private rule: ThresholdRule;
  private value: number;

  private constructor(
    readonly model: Autoencoder,
    /** The scores of the training rows (or of the reference rows given to fromModel). */
    readonly trainScores: Float64Array,
    rule: ThresholdRule,
    /** The resolved training settings when fitted here; null for a wrapped model. */
    readonly settings: TrainSettings | null,
    /** Per-epoch training metrics when fitted here; empty for a wrapped model. */
    readonly history: EpochMetrics[],
  ) {
    this.rule = checkThresholdRule(rule);
    this.value = thresholdFor(trainScores, this.rule);
  }

  /**
   * Trains an autoencoder on `train` (already scaled as `settings.scale` says, symmetric
   * [-1, 1] by default; the rows may include some anomalies) with the recipe's settings —
   * the notebook's defaults unless overridden — then scores the training rows to set the threshold.
   */
  static fit(train: Matrix, settings: Partial<TrainSettings>, backend: Backend, opts: DetectorFitOptions = {}): AnomalyDetector {
    const rule = checkThresholdRule(opts.threshold ?? DEFAULT_THRESHOLD_RULE);
    const run = setupTraining(settings, { x: train, image: opts.image ?? null }, backend);
    const history = run.fit(opts.callbacks);
    const { model, settings: s } = run;
    return new AnomalyDetector(model, scoreRows(model, train), rule, s, history);
  }

  /**
   * Wraps an already-trained model. `reference` is either the training scores or rows
   * (scaled like the model's inputs) to score, from which the threshold is set.
   */
  static fromModel(model: Autoencoder, reference: Float64Array | Matrix, rule: ThresholdRule = DEFAULT_THRESHOLD_RULE): AnomalyDetector {
    const scores = reference instanceof Float64Array ? Float64Array.from(reference) : scoreRows(model, reference);
    if (scores.length === 0) throw new ValidationError(expected('reference scores', 'at least one', 0));
    for (let i = 0; i < scores.length; i++) {
      if (!Number.isFinite(scores[i])) throw new ValidationError(expected(`reference scores[${i}]`, 'a finite number', scores[i]));
    }
    return new AnomalyDetector(model, scores, rule, null, []);
  }

  /** Samples with a score above this are anomalies. */
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

  /** Per-sample mean squared reconstruction error, in float64. */
  score(x: Matrix): Float64Array {
    return scoreRows(this.model, x);
  }

  reconstruct(x: Matrix): Matrix {
    return this.model.reconstruct(x);
  }

  /** (x − x̂)² for every sample and feature; each row's mean is its score. */
  featureErrors(x: Matrix): Matrix {
    const recon = this.model.reconstruct(x);
    const out = matrix(x.rows, x.cols);
    for (let i = 0; i < out.data.length; i++) out.data[i] = (x.data[i]! - recon.data[i]!) ** 2;
    return out;
  }

  /** true = anomaly: score > threshold. */
  predict(x: Matrix): boolean[] {
    return this.flag(this.score(x));
  }

  /** true where a score is above the threshold. */
  flag(scores: ArrayLike<number>): boolean[] {
    return Array.from(scores, (s) => s > this.value);
  }
}

/** Mean squared reconstruction error of each row, reconstructing in chunks so memory stays flat. */
export function scoreRows(model: Autoencoder, x: Matrix, chunk = 1000): Float64Array {
  if (x.cols !== model.inputSize) throw new ValidationError(expected('rows to score', `${model.inputSize} columns to match the model`, x.cols));
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
 * The usual one-class benchmark on a labelled set: train on every class but `holdout`, score
 * the whole test set, and call the rows of class `holdout` the anomalies.
 */
export function holdoutRun(train: LabelledRows, test: LabelledRows, holdout: number, settings: Partial<TrainSettings>, backend: Backend, opts: DetectorFitOptions = {}): HoldoutResult {
  if (train.labels.length !== train.x.rows) throw new ValidationError(expected('training labels', `one per row (${train.x.rows})`, train.labels.length));
  if (test.labels.length !== test.x.rows) throw new ValidationError(expected('test labels', `one per row (${test.x.rows})`, test.labels.length));
  const keepRows: number[] = [];
  for (let i = 0; i < train.x.rows; i++) if (train.labels[i] !== holdout) keepRows.push(i);
  if (keepRows.length === 0) throw new ValidationError(expected(`training rows of classes other than ${holdout}`, 'at least one', 0));
  const t0 = performance.now();
  const detector = AnomalyDetector.fit(pickRows(train.x, keepRows), settings, backend, opts);
  const t1 = performance.now();
  const scores = detector.score(test.x);
  const anomalous = Array.from(test.labels, (l) => l === holdout);
  const t2 = performance.now();
  const metrics = detectionMetrics(scores, anomalous, detector.threshold);
  return { holdout, detector, trainCount: keepRows.length, scores, anomalous, metrics, seconds: { train: (t1 - t0) / 1000, score: (t2 - t1) / 1000 } };
}

// ---------------------------------------------------------------------------------------------
// Figures

const GREY: Color = [120, 120, 120];

export interface HistogramFigureOptions {
  title?: string;
  /** Legend labels of the two classes (default "normal", "anomalous"); with no labels, of all samples. */
  normalLabel?: string;
  anomalyLabel?: string;
  /** Legend label of unlabelled samples (default "all samples"). */
  allLabel?: string;
  thresholdLabel?: string;
  /** Draw log10 of the scores (default true): reconstruction errors are skewed, spanning decades. */
  log?: boolean;
  width?: number;
  height?: number;
}

/**
 * Histograms of the scores of normal and anomalous samples (each normalised to unit area, so
 * a small anomalous class stays visible), with the threshold as a dashed marker. Without
 * labels, one histogram of all scores.
 */
export function scoreHistogramFigure(scores: ArrayLike<number>, labels: ArrayLike<boolean> | null, threshold: number, opts: HistogramFigureOptions = {}): Raster {
  const log = opts.log ?? true;
  // A zero error (a perfect reconstruction) has no logarithm; it is drawn at the smallest positive score.
  let floor = Infinity;
  for (let i = 0; i < scores.length; i++) if (scores[i]! > 0 && scores[i]! < floor) floor = scores[i]!;
  if (!Number.isFinite(floor)) floor = 1e-12;
  const f = (v: number) => (log ? Math.log10(Math.max(v, floor)) : v);
  const normal: number[] = [];
  const anomalous: number[] = [];
  for (let i = 0; i < scores.length; i++) (labels && labels[i] ? anomalous : normal).push(f(scores[i]!));
  const series = labels
    ? [
        { label: `${opts.normalLabel ?? 'normal'} (${normal.length})`, values: normal, color: PALETTE[0]! },
        { label: `${opts.anomalyLabel ?? 'anomalous'} (${anomalous.length})`, values: anomalous, color: PALETTE[3]! },
      ]
    : [{ label: `${opts.allLabel ?? 'all samples'} (${normal.length})`, values: normal, color: PALETTE[0]! }];
  return histogramPlot(series, {
    width: opts.width ?? 640,
    height: opts.height ?? 420,
    title: opts.title ?? 'Reconstruction error',
    xLabel: log ? 'log10 of the reconstruction error (per-feature MSE)' : 'reconstruction error (per-feature MSE)',
    yLabel: 'density',
    density: true,
    bins: 50,
    markers: [{ x: f(threshold), label: opts.thresholdLabel ?? `threshold ${formatNumber(threshold)}` }],
  });
}

export interface RocSeries {
  label: string;
  fpr: ArrayLike<number>;
  tpr: ArrayLike<number>;
  color?: Color;
}

/** ROC curves over the chance diagonal, on the unit square. */
export function rocFigure(curves: RocSeries[], opts: { title?: string; width?: number; height?: number } = {}): Raster {
  return linePlot(
    [
      ...curves.map((c, i) => ({ label: c.label, xs: c.fpr, ys: c.tpr, color: c.color ?? PALETTE[i % PALETTE.length]!, width: 2 })),
      { label: 'chance (AUC 0.5)', xs: [0, 1], ys: [0, 1], color: GREY, dashed: true, width: 1 },
    ],
    {
      width: opts.width ?? 560,
      height: opts.height ?? 560,
      title: opts.title ?? 'ROC curve',
      xLabel: 'false-positive rate',
      yLabel: 'true-positive rate',
      xRange: [0, 1],
      yRange: [0, 1],
      equalAspect: true,
    },
  );
}

/** Like imageGrid, but each value v is drawn in colormap(v / max), on a white background. */
function heatGrid(values: Matrix, width: number, height: number, cols: number, zoom: number, pad: number, max: number, zoomY = zoom): Raster {
  const rows = Math.max(1, Math.ceil(values.rows / cols));
  const out = raster(pad + cols * (width * zoom + pad), pad + rows * (height * zoomY + pad), 255);
  const scale = max > 0 ? 1 / max : 0;
  for (let k = 0; k < values.rows; k++) {
    const x0 = pad + (k % cols) * (width * zoom + pad);
    const y0 = pad + Math.floor(k / cols) * (height * zoomY + pad);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const [r, g, b] = colormap(values.data[k * width * height + y * width + x]! * scale);
        for (let dy = 0; dy < zoomY; dy++) {
          for (let dx = 0; dx < zoom; dx++) {
            const o = ((y0 + y * zoomY + dy) * out.width + x0 + x * zoom + dx) * 4;
            out.data[o] = r;
            out.data[o + 1] = g;
            out.data[o + 2] = b;
          }
        }
      }
    }
  }
  return out;
}

/** A horizontal colour scale from 0 to max, `length` pixels long, with its ends labelled. */
function colorScale(length: number, max: number, label: string): Raster {
  const barH = 10;
  const out = raster(length + 2, barH + TEXT_HEIGHT + 8, 255);
  for (let x = 0; x < length; x++) {
    const [r, g, b] = colormap(x / Math.max(1, length - 1));
    for (let y = 0; y < barH; y++) {
      const o = (y * out.width + x + 1) * 4;
      out.data[o] = r;
      out.data[o + 1] = g;
      out.data[o + 2] = b;
    }
  }
  const hi = formatNumber(max);
  drawText(out, 1, barH + 4, '0');
  drawText(out, length + 1 - textWidth(hi), barH + 4, hi);
  drawText(out, Math.round((length - textWidth(label)) / 2), barH + 4, label);
  return out;
}

/** A band of text lines centred under each column of a grid of `cols` cells `cell` pixels apart. */
function captionBand(captions: string[][], cols: number, cell: number, pad: number): Raster {
  const lines = Math.max(1, ...captions.map((c) => c.length));
  const out = raster(pad + cols * cell, lines * (TEXT_HEIGHT + 3) + 2, 255);
  captions.forEach((c, k) => {
    const cx = pad + k * cell + (cell - pad) / 2;
    c.forEach((line, i) => drawText(out, Math.round(cx - textWidth(line) / 2), 1 + i * (TEXT_HEIGHT + 3), line));
  });
  return out;
}

export interface ExplainFigureOptions {
  image: { width: number; height: number };
  /** The range of the model's input space, e.g. [-1, 1]. */
  range: readonly [number, number];
  /** Text lines under each column (e.g. the sample's index, label and score). */
  captions?: string[][];
  title?: string;
  zoom?: number;
}

/**
 * Why samples were flagged: for each (a column), the input, its reconstruction and the map
 * of per-pixel squared errors (a colour scale shared by all columns, so maps compare), the
 * rows labelled at the left. Bright pixels are where the model could not reproduce the input.
 */
export function explainFigure(inputs: Matrix, recons: Matrix, errors: Matrix, opts: ExplainFigureOptions): Raster {
  const { width, height } = opts.image;
  if (inputs.rows !== recons.rows || inputs.rows !== errors.rows || inputs.cols !== errors.cols || recons.cols !== inputs.cols) {
    throw new ValidationError(expected('explain figure rows', `inputs, reconstructions and errors of one shape (${inputs.rows}x${inputs.cols})`, `${recons.rows}x${recons.cols} and ${errors.rows}x${errors.cols}`));
  }
  const cols = Math.max(1, inputs.rows);
  const zoom = opts.zoom ?? 3;
  const pad = 2;
  let max = 0;
  for (const v of errors.data) if (v > max) max = v;
  const grid = (m: Matrix) => imageGrid(m, { width, height, cols, range: opts.range, zoom, pad });
  const parts = [grid(inputs), grid(recons), heatGrid(errors, width, height, cols, zoom, pad, max)];
  const labels = ['input', 'reconstruction', 'squared error'];
  if (opts.captions) {
    parts.push(captionBand(opts.captions, cols, width * zoom + pad, pad));
    labels.push('');
  }
  parts.push(colorScale(Math.min(parts[0]!.width - 4, 300), max, 'squared error'));
  labels.push('');
  const gap = 4;
  const bands: Array<{ label: string; y: number; height: number }> = [];
  let y = 0;
  parts.forEach((p, i) => {
    bands.push({ label: labels[i]!, y, height: p.height });
    y += p.height + gap;
  });
  const body = withLeftLabels(stack(parts, gap, 255), bands, { scale: 2, background: 255 });
  return opts.title ? withTitle(body, opts.title, { scale: 1 }) : body;
}

/**
 * The tabular counterpart of explainFigure: one strip per sample (labelled at the left), one
 * cell per feature coloured by its squared error on a shared scale, feature indices below.
 */
export function featureErrorFigure(errors: Matrix, rowLabels: string[], opts: { title?: string; featureNames?: string[] } = {}): Raster {
  if (rowLabels.length !== errors.rows) throw new ValidationError(expected('feature error row labels', `one per row (${errors.rows})`, rowLabels.length));
  const names = opts.featureNames;
  if (names !== undefined && names.length !== errors.cols) throw new ValidationError(expected('feature names', `one per column (${errors.cols})`, names.length));
  const n = errors.cols;
  const cell = Math.max(4, Math.min(24, Math.floor(720 / n)));
  const pad = 2;
  let max = 0;
  for (const v of errors.data) if (v > max) max = v;
  const stripH = Math.max(cell, TEXT_HEIGHT + 5);
  const grid = heatGrid(errors, n, 1, 1, cell, pad, max, stripH);
  // Feature indices under the strips, as many as fit without overlapping.
  const axis = raster(grid.width, TEXT_HEIGHT + 6, 255);
  const widest = textWidth(String(n - 1)) + 6;
  const every = Math.max(1, Math.ceil(widest / cell));
  for (let j = 0; j < n; j += every) {
    const s = String(j);
    drawText(axis, Math.round(pad + j * cell + cell / 2 - textWidth(s) / 2), 3, s);
  }
  const bands = rowLabels.map((label, i) => ({ label, y: pad + i * (stripH + pad), height: stripH }));
  const axisName = names ? 'feature (column index; names below)' : 'feature (column index, label column removed)';
  // With names, a key "0 name  1 name  …" wrapped to the figure's width: names rarely fit under a cell.
  const keyLines: string[] = [];
  if (names) {
    const maxW = Math.max(grid.width, 420);
    let line = '';
    names.forEach((nm, j) => {
      const item = `${j} ${nm.length > 24 ? nm.slice(0, 23) + '…' : nm}`;
      const next = line === '' ? item : `${line}   ${item}`;
      if (line !== '' && textWidth(next) > maxW - 4) {
        keyLines.push(line);
        line = item;
      } else line = next;
    });
    if (line !== '') keyLines.push(line);
  }
  const nameW = Math.max(grid.width, textWidth(axisName) + 4, ...keyLines.map((l) => textWidth(l) + 4));
  const name = raster(nameW, (TEXT_HEIGHT + 4) * (1 + keyLines.length), 255);
  drawText(name, Math.round((name.width - textWidth(axisName)) / 2), 2, axisName);
  keyLines.forEach((l, k) => drawText(name, 2, 2 + (TEXT_HEIGHT + 4) * (k + 1), l));
  const scale = colorScale(Math.min(grid.width - 4, 300), max, 'squared error');
  // stack centres narrower parts; the grid is the widest unless the axis name is, so pad the grid's band to keep labels aligned.
  const gridBand = raster(Math.max(grid.width, name.width), grid.height, 255);
  paste(gridBand, grid, 0, 0);
  const axisBand = raster(gridBand.width, axis.height, 255);
  paste(axisBand, axis, 0, 0);
  const nameBand = raster(gridBand.width, name.height, 255);
  paste(nameBand, name, Math.max(0, Math.round((grid.width - name.width) / 2)), 0);
  const body = withLeftLabels(stack([gridBand, axisBand, nameBand, scale], 4, 255), bands, { background: 255 });
  return withTitle(body, opts.title ?? 'Per-feature squared error of the top-scoring rows', { scale: 1 });
}

/** Pictures in a grid, `cols` per row, each centred in a cell the size of the largest. */
export function panelGrid(panels: Raster[], cols: number, gap = 8): Raster {
  const w = Math.max(...panels.map((p) => p.width));
  const h = Math.max(...panels.map((p) => p.height));
  const rows = Math.ceil(panels.length / cols);
  const out = raster(cols * w + (cols - 1) * gap, rows * h + (rows - 1) * gap, 255);
  panels.forEach((p, i) => paste(out, p, (i % cols) * (w + gap) + Math.floor((w - p.width) / 2), Math.floor(i / cols) * (h + gap) + Math.floor((h - p.height) / 2)));
  return out;
}
