import type { Backend } from '../core/backend.js';
import { ValidationError, expected } from '../core/errors.js';
import { matrix, rowSlice, type Matrix } from '../core/matrix.js';
import type { Autoencoder } from '../nn/autoencoder.js';
import { scaled } from '../data/dataset.js';
import { rangeOf, type Scaling } from '../data/scaling.js';
import { encodePng, stack } from '../viz/image.js';
import { labelledRowsFigure } from '../viz/figures.js';
import { linePlot, PALETTE } from '../viz/plot.js';
import type { StudyOutputs } from './output.js';

export interface Interpolation {
  /** The blend weights t, from 0 (the first digit) to 1 (the second). */
  ts: number[];
  /** (1 − t)·x_a + t·x_b, one row per step, in the model's scaled space. */
  pixel: Matrix;
  /** decoder((1 − t)·h_a + t·h_b), one row per step. */
  latent: Matrix;
}

/**
 * The lecture's Figs. 2–4: a straight line between two inputs in pixel space fades one into
 * the other; the same line between their codes, decoded, moves along the data.
 */
export function interpolate(model: Autoencoder, a: Float32Array, b: Float32Array, steps: number): Interpolation {
  const n = model.inputSize;
  if (a.length !== n || b.length !== n) throw new ValidationError(expected('interpolation end points', `${n} values each`, `${a.length} and ${b.length}`));
  if (!Number.isInteger(steps) || steps < 2) throw new ValidationError(expected('steps', 'an integer >= 2', steps));
  const ts = Array.from({ length: steps }, (_, k) => k / (steps - 1));
  const pixel = matrix(steps, n);
  const ends = matrix(2, n);
  ends.data.set(a, 0);
  ends.data.set(b, n);
  const codes = model.encode(ends);
  const d = codes.cols;
  const blended = matrix(steps, d);
  ts.forEach((t, k) => {
    for (let i = 0; i < n; i++) pixel.data[k * n + i] = (1 - t) * a[i]! + t * b[i]!;
    for (let j = 0; j < d; j++) blended.data[k * d + j] = (1 - t) * codes.data[j]! + t * codes.data[d + j]!;
  });
  return { ts, pixel, latent: model.decode(blended) };
}

/**
 * For each row of `queries`, the root-mean-square distance to its nearest row of `data`:
 * how far a picture is from anything in the data set. ‖q − x‖² = ‖q‖² + ‖x‖² − 2 q·x, with the
 * products done by the backend in chunks of the data set.
 */
export function nearestDistances(queries: Matrix, data: Matrix, backend: Backend, chunk = 4096): { rms: Float64Array; index: Int32Array } {
  if (queries.cols !== data.cols) throw new ValidationError(expected('queries width', `${data.cols} to match the data`, queries.cols));
  const q = queries.rows;
  const n = data.cols;
  const qNorm = new Float64Array(q);
  for (let i = 0; i < q; i++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += queries.data[i * n + k]! ** 2;
    qNorm[i] = s;
  }
  const best = new Float64Array(q).fill(Infinity);
  const index = new Int32Array(q).fill(-1);
  const dots = matrix(chunk, q);
  for (let start = 0; start < data.rows; start += chunk) {
    const end = Math.min(data.rows, start + chunk);
    const block = rowSlice(data, start, end);
    const out = { rows: end - start, cols: q, data: dots.data.subarray(0, (end - start) * q) };
    backend.matmul(block, false, queries, true, out, 0);
    for (let r = 0; r < end - start; r++) {
      let xNorm = 0;
      const o = (start + r) * n;
      for (let k = 0; k < n; k++) xNorm += data.data[o + k]! ** 2;
      for (let i = 0; i < q; i++) {
        const d2 = qNorm[i]! + xNorm - 2 * out.data[r * q + i]!;
        if (d2 < best[i]!) {
          best[i] = d2;
          index[i] = start + r;
        }
      }
    }
  }
  return { rms: best.map((v) => Math.sqrt(Math.max(0, v) / n)), index };
}

/** Per row, the model's own reconstruction error (mean squared): small on the data manifold. */
export function reconstructionErrors(model: Autoencoder, rows: Matrix): Float64Array {
  const r = model.reconstruct(rows);
  const n = rows.cols;
  const out = new Float64Array(rows.rows);
  for (let i = 0; i < rows.rows; i++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += (r.data[i * n + k]! - rows.data[i * n + k]!) ** 2;
    out[i] = s / n;
  }
  return out;
}

export interface InterpolationSummary {
  from: number;
  to: number;
  steps: number;
  ts: number[];
  pixel: BlendReport;
  latent: BlendReport;
  meanNearestRms: { pixel: number; latent: number };
  meanReconstructionMse: { pixel: number; latent: number };
}

/** Per step of a blend: RMS distance to the nearest training row, its index, and the AE's reconstruction MSE, in [0, 1] pixel units. */
export interface BlendReport {
  nearestRms: number[];
  nearestIndex: number[];
  reconstructionMse: number[];
}

/**
 * The lecture's Figs. 2–4 as numbers and one picture: test rows `from` and `to` (of `test`,
 * raw) blended in pixel space and in code space in `steps` steps, each step's distance to
 * the nearest of the raw `train` rows and its reconstruction error, all in [0, 1] pixel
 * units whatever the model's scaling. The figure (one labelled row per space, over a plot
 * of the distances) is named "interpolation.png".
 * Throws ValidationError for an index outside the test rows or rows that are not images.
 */
export function interpolationOutputs(
  model: Autoencoder,
  scaling: Scaling,
  rawTrain: Matrix,
  rawTest: Matrix,
  image: { width: number; height: number },
  o: { from: number; to: number; steps: number },
): StudyOutputs<InterpolationSummary> {
  const { from, to, steps } = o;
  const count = rawTest.rows;
  if (from >= count) throw new ValidationError(expected('--from', `a test digit index below ${count}`, from));
  if (to >= count) throw new ValidationError(expected('--to', `a test digit index below ${count}`, to));
  const test = scaled(rawTest, scaling);
  const train = scaled(rawTrain, scaling);
  const result = interpolate(model, rowSlice(test, from, from + 1).data, rowSlice(test, to, to + 1).data, steps);
  // Distances are reported in [0, 1] pixel units whatever the model's scaling.
  const [lo, hi] = rangeOf(scaling.kind);
  const span = hi - lo;
  const backend = model.backend;
  const rows = { pixel: result.pixel, latent: result.latent };
  const report = Object.fromEntries(
    Object.entries(rows).map(([name, m]) => {
      const near = nearestDistances(m, train, backend);
      const rec = reconstructionErrors(model, m);
      return [name, { nearestRms: Array.from(near.rms, (v) => v / span), nearestIndex: Array.from(near.index), reconstructionMse: Array.from(rec, (v) => v / (span * span)) }];
    }),
  ) as Record<'pixel' | 'latent', BlendReport>;
  const pictures = labelledRowsFigure([result.pixel, result.latent], ['pixel space', 'code space'], { ...image, range: [lo, hi] });
  const plot = linePlot(
    [
      { label: 'pixel-space blend', xs: result.ts, ys: report.pixel.nearestRms, color: PALETTE[1]! },
      { label: 'code-space blend', xs: result.ts, ys: report.latent.nearestRms, color: PALETTE[0]! },
    ],
    { width: Math.max(360, pictures.width), height: 240, title: 'distance to the nearest training digit', xLabel: 'blend weight t', yLabel: 'RMS distance (pixels in [0,1])' },
  );
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const summary: InterpolationSummary = {
    from,
    to,
    steps,
    ts: result.ts,
    ...report,
    meanNearestRms: { pixel: mean(report.pixel.nearestRms), latent: mean(report.latent.nearestRms) },
    meanReconstructionMse: { pixel: mean(report.pixel.reconstructionMse), latent: mean(report.latent.reconstructionMse) },
  };
  const fmt = (a: number[]) => a.map((v) => v.toFixed(3)).join(' ');
  const text = [
    `interpolating test digit ${from} → ${to} in ${steps} steps; distances in [0, 1] pixel units`,
    `t:                         ${summary.ts.map((t) => t.toFixed(3)).join(' ')}`,
    `pixel blend, nearest RMS:  ${fmt(report.pixel.nearestRms)}  (mean ${summary.meanNearestRms.pixel.toFixed(4)})`,
    `code blend, nearest RMS:   ${fmt(report.latent.nearestRms)}  (mean ${summary.meanNearestRms.latent.toFixed(4)})`,
    `pixel blend, AE error:     ${fmt(report.pixel.reconstructionMse)}  (mean ${summary.meanReconstructionMse.pixel.toFixed(4)})`,
    `code blend, AE error:      ${fmt(report.latent.reconstructionMse)}  (mean ${summary.meanReconstructionMse.latent.toFixed(4)})`,
  ].join('\n');
  return {
    summary,
    markdown: text,
    text,
    figures: [{ name: 'interpolation.png', png: encodePng(stack([pictures, plot], 8, 255)), caption: 'Top: the blend in pixel space and in code space; bottom: each step\'s RMS distance to the nearest training digit.' }],
    files: [],
  };
}
