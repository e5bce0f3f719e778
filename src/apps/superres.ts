import type { Backend } from '../core/backend.js';
import { ValidationError, expected } from '../core/errors.js';
import { matrix, topRows, type Matrix } from '../core/matrix.js';
import { encodeModel } from '../io/model-file.js';
import { encodePng, stack } from '../viz/image.js';
import { labelledRowsFigure, titled } from '../viz/figures.js';
import type { OutputFile, StudyOutputs } from './output.js';
import type { Dataset } from '../data/dataset.js';
import { rangeOf, type Scaling } from '../data/scaling.js';
import { downsampleArea, upsampleBicubic } from '../baselines/resize.js';
import { Autoencoder } from '../nn/autoencoder.js';
import type { Callbacks, EpochMetrics } from '../train/trainer.js';
import { prepareTraining } from '../train/recipe.js';

export interface Degraded {
  /** The small images, (side/factor)² values per row. */
  low: Matrix;
  /** Their bicubic up-scaling back to side², the baseline and the model's input. */
  bicubic: Matrix;
}

/** Down-scales each side×side row by `factor` (area) and up-scales it back (bicubic), as OpenCV would. */
export function degrade(x: Matrix, side: number, factor: number): Degraded {
  if (x.cols !== side * side) throw new ValidationError(expected('images', `${side * side} values per row`, x.cols));
  if (side % factor !== 0) throw new ValidationError(expected('factor', `a divisor of ${side}`, factor));
  const s = side / factor;
  const low = matrix(x.rows, s * s);
  const bicubic = matrix(x.rows, side * side);
  for (let r = 0; r < x.rows; r++) {
    const l = low.data.subarray(r * s * s, (r + 1) * s * s);
    downsampleArea(x.data.subarray(r * x.cols, (r + 1) * x.cols), side, side, factor, l);
    upsampleBicubic(l, s, s, factor, bicubic.data.subarray(r * x.cols, (r + 1) * x.cols));
  }
  return { low, bicubic };
}

export interface SuperResolutionOptions {
  factor: number;
  hidden: number;
  epochs: number;
  seed: number;
  backend: Backend;
  callbacks?: Callbacks;
}

export interface SuperResolution {
  model: Autoencoder;
  scaling: Scaling;
  history: EpochMetrics[];
  test: Matrix;
  testInput: Degraded;
}

/**
 * Super-resolution at MNIST scale (the lecture's Fig. 9): a 784→d→784 network (tanh, MSE,
 * Adam 1e-3, batch 256, the notebook's settings) learns to map the bicubic up-scaling of a
 * 14×14 (factor 2) or 7×7 (factor 4) digit back to the 28×28 original.
 */
export function trainSuperResolution(data: Dataset, opts: SuperResolutionOptions): SuperResolution {
  if (!data.image || data.image.width !== data.image.height) throw new ValidationError(expected('data', 'square images', data.image ? `${data.image.width}x${data.image.height}` : 'rows that are not images'));
  if (!data.test) throw new ValidationError(expected('data', 'a test set', 'none'));
  const side = data.image.width;
  // The notebook's settings (tanh, MSE, Adam 1e-3, batch 256) through the one training set-up;
  // the model learns to map each scaled digit's degraded copy back to the digit.
  let testInput: Degraded | null = null;
  const run = prepareTraining({ hidden: opts.hidden, epochs: opts.epochs, seed: opts.seed, scale: 'symmetric' }, data, opts.backend, {
    inputsFrom: (clean, part) => {
      const d = degrade(clean, side, opts.factor);
      if (part === 'test') testInput = d;
      return d.bicubic;
    },
  });
  const history = run.fit(opts.callbacks);
  return { model: run.model, scaling: run.config.scaling, history, test: run.testTargets!, testInput: testInput! };
}

export interface SuperResolutionScores {
  factor: number;
  count: number;
  rows: Array<{ method: string; mse: number; psnr: number }>;
  /** Pictures in [0, 1] for the figure: the small input shown by pixel replication, bicubic, network, original. */
  images: { low: Matrix; bicubic: Matrix; network: Matrix; original: Matrix };
}

/** Bicubic against the network on the test set: MSE and mean per-digit PSNR on [0, 1] images. */
export function scoreSuperResolution(sr: SuperResolution, factor: number, side: number): SuperResolutionScores {
  const [lo, hi] = rangeOf(sr.scaling.kind);
  const unit = (m: Matrix) => matrix(m.rows, m.cols, m.data.map((v) => Math.min(1, Math.max(0, (v - lo) / (hi - lo)))));
  const original = unit(sr.test);
  const bicubic = unit(sr.testInput.bicubic);
  const network = unit(sr.model.reconstruct(sr.testInput.bicubic));
  const s = side / factor;
  const low = matrix(sr.test.rows, side * side);
  const small = unit(sr.testInput.low);
  for (let r = 0; r < low.rows; r++) {
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) low.data[r * side * side + y * side + x] = small.data[r * s * s + Math.floor(y / factor) * s + Math.floor(x / factor)]!;
    }
  }
  const score = (m: Matrix) => {
    let mse = 0;
    let psnr = 0;
    for (let r = 0; r < m.rows; r++) {
      let se = 0;
      for (let i = 0; i < m.cols; i++) se += (m.data[r * m.cols + i]! - original.data[r * m.cols + i]!) ** 2;
      se /= m.cols;
      mse += se;
      psnr += se > 0 ? Math.min(100, 10 * Math.log10(1 / se)) : 100;
    }
    return { mse: mse / m.rows, psnr: psnr / m.rows };
  };
  return {
    factor,
    count: original.rows,
    rows: [
      { method: `bicubic up-scaling of the ${s}×${s} digit`, ...score(bicubic) },
      { method: `autoencoder (${sr.model.config.layers.join('→')}→${side * side}) on the bicubic image`, ...score(network) },
    ],
    images: { low, bicubic, network, original },
  };
}

export function superResolutionTable(results: SuperResolutionScores[]): string {
  const lines = ['| factor | input | method | test MSE | mean PSNR (dB) |', '|---:|---|---|---:|---:|'];
  for (const r of results) {
    for (const row of r.rows) lines.push(`| ${r.factor} | ${28 / r.factor}×${28 / r.factor} | ${row.method} | ${row.mse.toFixed(5)} | ${row.psnr.toFixed(2)} |`);
  }
  return lines.join('\n');
}

export interface SuperResolutionStudyOptions {
  /** Down-scaling factors, each 2 (14×14) or 4 (7×7) for 28×28 digits. */
  factors: number[];
  hidden: number;
  epochs: number;
  seed: number;
  backend: Backend;
  /** Digits drawn in the figure. */
  show: number;
  /** A fresh copy of the data for each factor (training scales its own). */
  data: () => Dataset;
  callbacks?: (factor: number) => Callbacks;
  log?: (line: string) => void;
}

export type SuperResolutionSummary = Array<{ factor: number; count: number; rows: SuperResolutionScores['rows'] }>;

/** The fixed files superResolutionOutputs writes (plus model-x{factor}.safetensors per factor). */
export const SUPERRES_FILES = ['superres.png', 'superres.md', 'superres.json'] as const;

/**
 * Trains one network per factor and scores it against bicubic up-scaling. Returns
 * superres.png (per factor: input, bicubic, autoencoder, original rows), superres.md,
 * superres.json and each factor's model file (config task "super-resolution").
 * Throws ValidationError for a factor other than 2 or 4, or data that are not square images.
 */
export function superResolutionOutputs(o: SuperResolutionStudyOptions): StudyOutputs<SuperResolutionSummary> {
  for (const k of o.factors) if (k !== 2 && k !== 4) throw new ValidationError(expected('--factor', '2 or 4 (28 = 2·14 = 4·7)', k));
  const results: SuperResolutionScores[] = [];
  const panels = [];
  const files: OutputFile[] = [];
  for (const factor of o.factors) {
    const data = o.data();
    const side = data.image?.width ?? 0;
    o.log?.(`training ${side * side}→${o.hidden}→${side * side} to restore ${side / factor}×${side / factor} digits (factor ${factor})`);
    const sr = trainSuperResolution(data, { factor, hidden: o.hidden, epochs: o.epochs, seed: o.seed, backend: o.backend, ...(o.callbacks ? { callbacks: o.callbacks(factor) } : {}) });
    files.push({
      name: `model-x${factor}.safetensors`,
      data: encodeModel(sr.model, {
        scaling: sr.scaling,
        loss: 'mse',
        training: { task: 'super-resolution', factor, input: `bicubic up-scaling of the ${side / factor}x${side / factor} area-down-scaled digit`, epochs: o.epochs, seed: o.seed, backend: o.backend.name },
      }),
    });
    const r = scoreSuperResolution(sr, factor, side);
    results.push(r);
    const k = Math.min(o.show, r.count);
    const rows = [r.images.low, r.images.bicubic, r.images.network, r.images.original].map((m) => topRows(m, k));
    panels.push(titled(labelledRowsFigure(rows, [`${side / factor}x${side / factor} input`, 'bicubic', 'autoencoder', 'original'], { width: side, height: side, range: [0, 1] }), `factor ${factor}`));
  }
  const table = superResolutionTable(results);
  const summary = results.map((r) => ({ factor: r.factor, count: r.count, rows: r.rows }));
  const markdown = `Test digits, scored on the original in [0, 1].\n\n${table}\n`;
  return {
    summary,
    markdown,
    text: table,
    figures: [{ name: 'superres.png', png: encodePng(stack(panels, 10, 255)), caption: 'Per factor, rows top to bottom: the small input (pixels repeated), bicubic up-scaling, the autoencoder, the original.' }],
    files: [{ name: 'superres.md', data: markdown }, { name: 'superres.json', data: JSON.stringify(summary, null, 2) + '\n' }, ...files],
  };
}
