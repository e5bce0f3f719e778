import type { Backend } from '../core/backend.js';
import { ValidationError, expected } from '../core/errors.js';
import { matrix, type Matrix } from '../core/matrix.js';
import { Rng } from '../core/rng.js';
import { rangeOf, type Scaling } from '../data/scaling.js';
import type { Autoencoder } from '../nn/autoencoder.js';
import { Param } from '../nn/dense.js';
import { Adam } from '../optim/adam.js';
import { inpaint, loadOpenCv } from '../baselines/opencv.js';
import type { VegaLiteSpec } from '../viz/vega.js';

export interface EnergyOptions {
  /** Gradient steps on the codes. */
  steps: number;
  /** Adam's learning rate on the codes. */
  lr: number;
  /** μ of the prior μ·mean(z²) that keeps codes where the decoder has been trained. */
  penalty: number;
}

export const ENERGY_DEFAULTS: EnergyOptions = { steps: 300, lr: 0.05, penalty: 1e-3 };

export interface EnergyResult {
  /** decoder(z*) for each row. */
  reconstruction: Matrix;
  codes: Matrix;
  /** Mean energy over the rows after each step (index 0: at the start, z = enc(x̃)). */
  energies: number[];
}

/**
 * Inpainting by energy minimisation (the lecture's Figs. 10–11): the code z that makes the
 * decoder agree with the known pixels,
 *
 *   E(z) = Σ_i M_i (dec(z)_i − x_i)² / Σ_i M_i  +  μ · mean_j z_j²,
 *
 * found by gradient descent through the decoder (Adam on z), starting from enc(x̃) where x̃ is
 * the corrupted input. M is 1 on known pixels and 0 on missing ones, so the missing pixels come
 * from the point of the learned manifold nearest to what is known, not from the corruption.
 */
export function energyInpaint(model: Autoencoder, corrupted: Matrix, known: Matrix, opts: EnergyOptions = ENERGY_DEFAULTS): EnergyResult {
  if (known.rows !== corrupted.rows || known.cols !== corrupted.cols) {
    throw new ValidationError(expected('mask shape', `${corrupted.rows}x${corrupted.cols}`, `${known.rows}x${known.cols}`));
  }
  if (!Number.isInteger(opts.steps) || opts.steps < 0) throw new ValidationError(expected('steps', 'a non-negative integer', opts.steps));
  const rows = corrupted.rows;
  const n = corrupted.cols;
  const z0 = model.encode(corrupted);
  const d = z0.cols;
  const z = new Param('z', rows, d);
  z.value.set(z0.data);
  const adam = new Adam([z], { lr: opts.lr });
  const knownCount = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let c = 0;
    for (let i = 0; i < n; i++) c += known.data[r * n + i]!;
    knownCount[r] = Math.max(1, c);
  }
  const energy = (xhat: Matrix, grad: Matrix | null) => {
    let total = 0;
    for (let r = 0; r < rows; r++) {
      let e = 0;
      const w = 1 / knownCount[r]!;
      for (let i = 0; i < n; i++) {
        const k = r * n + i;
        const diff = (xhat.data[k]! - corrupted.data[k]!) * known.data[k]!;
        e += diff * diff;
        if (grad) grad.data[k] = 2 * w * diff;
      }
      total += e * w;
    }
    return total;
  };
  const zMatrix = z.valueMatrix;
  const prior = () => {
    let s = 0;
    for (const v of z.value) s += v * v;
    return (opts.penalty * s) / d;
  };
  const energies: number[] = [(energy(model.decode(zMatrix), null) + prior()) / rows];
  for (let step = 0; step < opts.steps; step++) {
    let e = model.decoderBackward(zMatrix, (xhat, grad) => energy(xhat, grad), z.gradMatrix);
    // The prior's gradient, 2μ z / d, joins the decoder's.
    for (let k = 0; k < z.value.length; k++) z.grad[k] = z.grad[k]! + (2 * opts.penalty * z.value[k]!) / d;
    e += prior();
    adam.step(model.backend);
    energies.push(e / rows);
  }
  return { reconstruction: model.decode(zMatrix), codes: matrix(rows, d, Float32Array.from(z.value)), energies };
}

export const PATCH_METHODS = ['ae', 'telea', 'energy', 'energy-kept'] as const;
export type PatchMethod = (typeof PATCH_METHODS)[number];
export const PATCH_LABELS: Record<PatchMethod, string> = {
  ae: 'AE reconstruction of the patched digit',
  telea: 'OpenCV Telea (radius 3)',
  energy: 'energy minimisation, decoder(z*)',
  'energy-kept': 'energy minimisation, known pixels kept',
};

export interface PatchComparison {
  patch: number;
  count: number;
  /** Per method: mean PSNR (dB, peak 1) over the whole digit and inside the patch. */
  scores: Array<{ method: PatchMethod; label: string; mse: number; psnr: number; patchMse: number; patchPsnr: number }>;
  energies: number[];
  /** Pictures in [0, 1], one row per digit. */
  images: { patched: Matrix; clean: Matrix } & Record<PatchMethod, Matrix>;
}

/**
 * Grey-patch inpainting (Fig. 10): a k×k mid-grey square at a random place on each test digit,
 * restored by the plain reconstruction, by OpenCV's Telea, and by energy minimisation.
 */
export async function comparePatchInpainting(
  model: Autoencoder,
  scaling: Scaling,
  clean: Matrix,
  opts: { patch: number; count: number; seed: number; image: { width: number; height: number }; backend: Backend } & EnergyOptions,
): Promise<PatchComparison> {
  const { width, height } = opts.image;
  const k = opts.patch;
  if (!Number.isInteger(k) || k < 1 || k > Math.min(width, height)) throw new ValidationError(expected('patch', `a side in [1, ${Math.min(width, height)}]`, k));
  const count = Math.min(opts.count, clean.rows);
  const n = clean.cols;
  const [lo, hi] = rangeOf(scaling.kind);
  const grey = (lo + hi) / 2;
  const rng = new Rng(opts.seed);
  const patched = matrix(count, n);
  const known = matrix(count, n);
  patched.data.set(clean.data.subarray(0, count * n));
  known.data.fill(1);
  for (let r = 0; r < count; r++) {
    const top = rng.int(height - k + 1);
    const left = rng.int(width - k + 1);
    for (let y = top; y < top + k; y++) {
      for (let x = left; x < left + k; x++) {
        patched.data[r * n + y * width + x] = grey;
        known.data[r * n + y * width + x] = 0;
      }
    }
  }
  const toUnit = (v: number) => Math.min(1, Math.max(0, (v - lo) / (hi - lo)));
  const unit = (m: Matrix) => matrix(m.rows, m.cols, m.data.map(toUnit));
  const plain = model.reconstruct(patched);
  const e = energyInpaint(model, patched, known, opts);
  const images = {
    patched: unit(patched),
    clean: unit({ rows: count, cols: n, data: clean.data.subarray(0, count * n) }),
    ae: unit(plain),
    telea: matrix(count, n),
    energy: unit(e.reconstruction),
    'energy-kept': unit(e.reconstruction),
  };
  const cv = await loadOpenCv();
  const img8 = new Uint8Array(n);
  const mask8 = new Uint8Array(n);
  for (let r = 0; r < count; r++) {
    for (let i = 0; i < n; i++) {
      const o = r * n + i;
      img8[i] = Math.round(255 * images.patched.data[o]!);
      mask8[i] = known.data[o] ? 0 : 255;
      if (known.data[o]) images['energy-kept'].data[o] = images.clean.data[o]!;
    }
    const out = inpaint(cv, img8, mask8, width, height, 'telea', 3);
    for (let i = 0; i < n; i++) images.telea.data[r * n + i] = out[i]! / 255;
  }
  const psnr = (mse: number) => (mse > 0 ? Math.min(100, 10 * Math.log10(1 / mse)) : 100);
  const scores = PATCH_METHODS.map((method) => {
    let mse = 0;
    let ps = 0;
    let pmse = 0;
    let pps = 0;
    for (let r = 0; r < count; r++) {
      let se = 0;
      let pse = 0;
      let pn = 0;
      for (let i = 0; i < n; i++) {
        const o = r * n + i;
        const d2 = (images[method].data[o]! - images.clean.data[o]!) ** 2;
        se += d2;
        if (!known.data[o]) {
          pse += d2;
          pn++;
        }
      }
      mse += se / n;
      ps += psnr(se / n);
      pmse += pse / pn;
      pps += psnr(pse / pn);
    }
    return { method, label: PATCH_LABELS[method], mse: mse / count, psnr: ps / count, patchMse: pmse / count, patchPsnr: pps / count };
  });
  return { patch: k, count, scores, energies: e.energies, images };
}

export function patchTable(c: PatchComparison): string {
  const lines = [
    `Grey ${c.patch}×${c.patch} patches on ${c.count} test digits; PSNR in dB (peak 1) on the clean digit in [0, 1], mean over digits, over the whole digit and inside the patch.`,
    '',
    '| method | MSE | PSNR | MSE in patch | PSNR in patch |',
    '|---|---:|---:|---:|---:|',
    ...c.scores.map((s) => `| ${s.label} | ${s.mse.toFixed(5)} | ${s.psnr.toFixed(2)} | ${s.patchMse.toFixed(5)} | ${s.patchPsnr.toFixed(2)} |`),
  ];
  const ae = c.scores.find((s) => s.method === 'ae')!;
  const en = c.scores.find((s) => s.method === 'energy')!;
  lines.push(
    '',
    en.psnr > ae.psnr
      ? `Energy minimisation beats the plain reconstruction by ${(en.psnr - ae.psnr).toFixed(2)} dB over the digit (${(en.patchPsnr - ae.patchPsnr).toFixed(2)} dB inside the patch).`
      : `Energy minimisation does not beat the plain reconstruction here: ${(ae.psnr - en.psnr).toFixed(2)} dB below it over the digit (${(en.patchPsnr - ae.patchPsnr).toFixed(2)} dB inside the patch).`,
  );
  return lines.join('\n');
}

/**
 * The energy curve as a Vega-Lite spec: the mean energy E(z) of the codes against the Adam step,
 * the start and end values marked and labelled.
 */
export function energyCurveSpec(energies: ArrayLike<number>, opts: { title?: string } = {}): VegaLiteSpec {
  const values = Array.from(energies, (e, step) => ({ step, energy: Number(e.toPrecision(6)) }));
  const ends = values.length > 0 ? [values[0]!, values[values.length - 1]!].map((v, k) => ({ ...v, label: `${k === 0 ? 'start' : 'end'} ${v.energy.toPrecision(4)}` })) : [];
  const x = { field: 'step', type: 'quantitative', title: 'Adam step on z', axis: { format: 'd' } };
  const y = { field: 'energy', type: 'quantitative', title: 'E(z): masked MSE + prior', scale: { zero: false } };
  return {
    title: { text: opts.title ?? 'Energy minimisation in code space', subtitle: `mean energy E(z) of the codes over ${Math.max(0, values.length - 1)} steps` },
    width: 520,
    height: 300,
    layer: [
      { data: { values }, mark: { type: 'line', color: '#1f77b4', strokeWidth: 2.5 }, encoding: { x, y } },
      { data: { values: ends }, mark: { type: 'point', filled: true, size: 60, color: '#1f77b4', opacity: 1 }, encoding: { x, y } },
      // The start label to the right of its point (clear of the y axis), the end label to its left.
      { data: { values: ends.slice(0, 1) }, mark: { type: 'text', align: 'left', dx: 8, dy: -4, fontSize: 11, color: 'black' }, encoding: { x, y, text: { field: 'label' } } },
      { data: { values: ends.slice(1) }, mark: { type: 'text', align: 'right', dx: -4, dy: -12, fontSize: 11, color: 'black' }, encoding: { x, y, text: { field: 'label' } } },
    ],
  } as unknown as VegaLiteSpec;
}
