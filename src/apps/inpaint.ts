import type { Backend } from '../core/backend.js';
import { ValidationError, expected } from '../core/errors.js';
import { matrix, topRows, type Matrix } from '../core/matrix.js';
import { Rng } from '../core/rng.js';
import { rangeOf, type Scaling } from '../data/scaling.js';
import type { Autoencoder } from '../nn/autoencoder.js';
import { inpaint, loadOpenCv, type InpaintMethod } from '../baselines/opencv.js';
import { makeCorruption, parseNoiseSpec, type NoiseKind } from '../train/corruption.js';
import { encodePng } from '../viz/image.js';
import { labelledRowsFigure } from '../viz/figures.js';
import type { StudyOutputs } from './output.js';

/** The methods compared, in the order of the table and the figure. */
export const INPAINT_ROWS = ['ae', 'ae-kept', 'telea', 'ns'] as const;
export type InpaintRow = (typeof INPAINT_ROWS)[number];

export const INPAINT_LABELS: Record<InpaintRow, string> = {
  ae: 'AE reconstruction',
  'ae-kept': 'AE, known pixels kept',
  telea: 'OpenCV Telea (radius 3)',
  ns: 'OpenCV Navier-Stokes (radius 3)',
};

/** Row labels of the comparison figure: mask, corrupted, clean, then the methods. */
export const INPAINT_FIGURE_LABELS = ['mask', 'corrupted', 'clean', 'AE', 'AE, known kept', 'Telea', 'Navier-Stokes'];

export interface MethodScore {
  method: InpaintRow;
  label: string;
  /** Mean over the digits of the per-digit MSE against the clean image in [0, 1]. */
  mse: number;
  /** Mean over the digits of the per-digit PSNR, 10·log10(1 / MSE), in dB (peak 1). */
  psnr: number;
}

export interface InpaintComparison {
  noise: string;
  count: number;
  /** Mean fraction of pixels missing per digit. */
  missingFraction: number;
  scores: MethodScore[];
  /** Every picture in [0, 1], one row per digit: for the figure. */
  images: { mask: Matrix; corrupted: Matrix; clean: Matrix } & Record<InpaintRow, Matrix>;
}

/** Corruptions that remove pixels, so that "the missing pixels" is a mask OpenCV can fill. */
const REMOVING: readonly NoiseKind[] = ['dropout', 'mask', 'saltpepper', 'patch'];

/**
 * The lecture's comparison (Figs. 24–27): corrupt test digits, then restore them with the
 * autoencoder and with OpenCV's Telea and Navier–Stokes inpainting.
 *
 * OpenCV gets the notebook's 8-bit picture of the corrupted digit, (x̃/4 + 0.5)·255 for
 * dropout:0.5 in [-1, 1] scaling: known pixels at their clean grey level, missing pixels at
 * mid-grey, with the missing pixels as the mask. In general a known pixel is the clean digit
 * in [0, 1] and a missing one is 0.5; for dropout:0.5 this is the notebook's formula exactly.
 * Every method is scored on the clean image in [0, 1].
 */
export async function compareInpainting(
  model: Autoencoder,
  scaling: Scaling,
  clean: Matrix,
  opts: { noise: string; count: number; seed: number; image: { width: number; height: number }; backend: Backend },
): Promise<InpaintComparison> {
  const { kind, value } = parseNoiseSpec(opts.noise);
  if (!REMOVING.includes(kind)) {
    throw new ValidationError(expected('noise for inpainting', `a corruption that removes pixels (${REMOVING.join(', ')})`, opts.noise));
  }
  if (clean.cols !== model.inputSize) throw new ValidationError(expected('data width', `${model.inputSize} to match the model`, clean.cols));
  const { width, height } = opts.image;
  if (width * height !== clean.cols) throw new ValidationError(expected('image size', `${clean.cols} pixels`, `${width}x${height}`));
  const n = Math.min(opts.count, clean.rows);
  const x = topRows(clean, n);
  const [lo, hi] = rangeOf(scaling.kind);
  const corruption = makeCorruption(opts.noise, { range: [lo, hi], image: opts.image });
  const corrupted = matrix(n, clean.cols);
  corruption.apply(x, corrupted, new Rng(opts.seed), opts.backend);
  const keptScale = kind === 'dropout' ? 1 / (1 - value) : 1;
  const toUnit = (v: number) => (v - lo) / (hi - lo);
  const size = clean.cols;
  const images = {
    mask: matrix(n, size),
    corrupted: matrix(n, size),
    clean: matrix(n, size),
    ae: matrix(n, size),
    'ae-kept': matrix(n, size),
    telea: matrix(n, size),
    ns: matrix(n, size),
  };
  const recon = model.reconstruct(corrupted);
  const cv = await loadOpenCv();
  let missingTotal = 0;
  const img8 = new Uint8Array(size);
  const mask8 = new Uint8Array(size);
  for (let r = 0; r < n; r++) {
    const o = r * size;
    let missing = 0;
    for (let i = 0; i < size; i++) {
      const c = x.data[o + i]!;
      // A pixel is missing when the corruption changed it; where the replacement equals the
      // clean value nothing is lost either way.
      const gone = corrupted.data[o + i] !== Math.fround(c * keptScale);
      const u = toUnit(c);
      images.clean.data[o + i] = u;
      images.mask.data[o + i] = gone ? 1 : 0;
      const shown = gone ? 0.5 : u;
      images.corrupted.data[o + i] = shown;
      img8[i] = Math.round(255 * Math.min(1, Math.max(0, shown)));
      mask8[i] = gone ? 255 : 0;
      const a = Math.min(1, Math.max(0, toUnit(recon.data[o + i]!)));
      images.ae.data[o + i] = a;
      images['ae-kept'].data[o + i] = gone ? a : u;
      missing += gone ? 1 : 0;
    }
    missingTotal += missing / size;
    for (const method of ['telea', 'ns'] as InpaintMethod[]) {
      const out = inpaint(cv, img8, mask8, width, height, method, 3);
      for (let i = 0; i < size; i++) images[method].data[o + i] = out[i]! / 255;
    }
  }
  const scores = INPAINT_ROWS.map((method) => {
    let mseSum = 0;
    let psnrSum = 0;
    for (let r = 0; r < n; r++) {
      let se = 0;
      for (let i = 0; i < size; i++) se += (images[method].data[r * size + i]! - images.clean.data[r * size + i]!) ** 2;
      const mse = se / size;
      mseSum += mse;
      // A perfect digit would have infinite PSNR; cap it at 100 dB so the mean stays finite.
      psnrSum += mse > 0 ? Math.min(100, 10 * Math.log10(1 / mse)) : 100;
    }
    return { method, label: INPAINT_LABELS[method], mse: mseSum / n, psnr: psnrSum / n };
  });
  return { noise: corruption.spec, count: n, missingFraction: missingTotal / n, scores, images };
}

/** The comparison as a Markdown table, with the verdict on the lecture's claim stated plainly. */
export function inpaintingTable(c: InpaintComparison): string {
  const lines = [
    `Inpainting ${c.count} test digits corrupted with ${c.noise} (${(100 * c.missingFraction).toFixed(1)}% of pixels missing on average); scored on the clean image in [0, 1].`,
    '',
    '| method | mean MSE | mean PSNR (dB) |',
    '|---|---:|---:|',
    ...c.scores.map((s) => `| ${s.label} | ${s.mse.toFixed(5)} | ${s.psnr.toFixed(2)} |`),
  ];
  const ae = c.scores.find((s) => s.method === 'ae')!;
  const best = c.scores.filter((s) => s.method === 'telea' || s.method === 'ns').sort((a, b) => b.psnr - a.psnr)[0]!;
  const verdict =
    ae.psnr > best.psnr
      ? `The lecture's claim holds here: the autoencoder's PSNR is ${(ae.psnr - best.psnr).toFixed(2)} dB above the better OpenCV method (${best.label}).`
      : `The lecture's claim does not hold here: the autoencoder's PSNR is ${(best.psnr - ae.psnr).toFixed(2)} dB below the better OpenCV method (${best.label}).`;
  lines.push('', verdict);
  return lines.join('\n');
}

/** The files inpaintingOutputs writes, for --force checks before any work. */
export const INPAINT_FILES = ['inpainting.png', 'inpainting.md', 'inpainting.json'] as const;

/**
 * A comparison as files: inpainting.png (the first `show` digits, one labelled row per
 * method), inpainting.md (the table) and inpainting.json (the numbers).
 */
export function inpaintingOutputs(result: InpaintComparison, image: { width: number; height: number }, show: number): StudyOutputs<{ noise: string; count: number; missingFraction: number; scores: InpaintComparison['scores'] }> {
  const k = Math.min(show, result.count);
  const rows = [result.images.mask, result.images.corrupted, result.images.clean, ...INPAINT_ROWS.map((m) => result.images[m])].map((m) => topRows(m, k));
  const caption = 'Rows of inpainting.png, top to bottom: mask (white = missing), corrupted, clean, AE, AE with known pixels kept, Telea, Navier-Stokes.';
  const table = inpaintingTable(result);
  const summary = { noise: result.noise, count: result.count, missingFraction: result.missingFraction, scores: result.scores };
  const markdown = `${table}\n\n${caption}\n`;
  return {
    summary,
    markdown,
    text: `${table}\n\n${caption}`,
    figures: [{ name: 'inpainting.png', png: encodePng(labelledRowsFigure(rows, INPAINT_FIGURE_LABELS, { ...image, range: [0, 1] })), caption }],
    files: [
      { name: 'inpainting.md', data: markdown },
      { name: 'inpainting.json', data: JSON.stringify(summary, null, 2) + '\n' },
    ],
  };
}
