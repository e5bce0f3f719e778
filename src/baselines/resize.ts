import { ValidationError, expected } from '../core/errors.js';

/**
 * Image resizing for super-resolution, written to match OpenCV's cv.resize:
 * INTER_AREA for integer down-scaling (the mean of each factor×factor block) and INTER_CUBIC
 * for up-scaling (Keys' cubic convolution with a = −0.75, pixel centres aligned,
 * src = (dst + 0.5) / factor − 0.5, borders replicated). Written here rather than called in
 * OpenCV so a whole training set resizes in a second without crossing into WebAssembly
 * per image; the tests check it against OpenCV itself.
 */

function checkFactor(w: number, h: number, factor: number, len: number, what: string): void {
  if (!Number.isInteger(factor) || factor < 1) throw new ValidationError(expected(`${what} factor`, 'a positive integer', factor));
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1) throw new ValidationError(expected(`${what} size`, 'positive integers', `${w}x${h}`));
  if (len !== w * h) throw new ValidationError(expected(`${what} image`, `${w * h} values for ${w}x${h}`, len));
}

/** INTER_AREA by an integer factor: each output pixel is the mean of a factor×factor block. */
export function downsampleArea(src: ArrayLike<number>, w: number, h: number, factor: number, out?: Float32Array): Float32Array {
  checkFactor(w, h, factor, src.length, 'downsample');
  if (w % factor !== 0 || h % factor !== 0) throw new ValidationError(expected('downsample size', `a multiple of ${factor}`, `${w}x${h}`));
  const dw = w / factor;
  const dh = h / factor;
  const dst = out ?? new Float32Array(dw * dh);
  const inv = 1 / (factor * factor);
  for (let y = 0; y < dh; y++) {
    for (let x = 0; x < dw; x++) {
      let s = 0;
      for (let j = 0; j < factor; j++) for (let i = 0; i < factor; i++) s += src[(y * factor + j) * w + x * factor + i]!;
      dst[y * dw + x] = s * inv;
    }
  }
  return dst;
}

const A = -0.75;

/** Keys' cubic convolution weights for the four taps around a fractional offset t in [0, 1). */
function cubicWeights(t: number): [number, number, number, number] {
  const w0 = ((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A;
  const w1 = ((A + 2) * t - (A + 3)) * t * t + 1;
  const w2 = ((A + 2) * (1 - t) - (A + 3)) * (1 - t) * (1 - t) + 1;
  return [w0, w1, w2, 1 - w0 - w1 - w2];
}

/** Taps and weights along one axis for up-scaling n source pixels by `factor`. */
function axisTaps(n: number, factor: number): { index: Int32Array; weight: Float64Array } {
  const m = n * factor;
  const index = new Int32Array(m * 4);
  const weight = new Float64Array(m * 4);
  for (let d = 0; d < m; d++) {
    const s = (d + 0.5) / factor - 0.5;
    const base = Math.floor(s);
    const ws = cubicWeights(s - base);
    for (let k = 0; k < 4; k++) {
      index[d * 4 + k] = Math.min(n - 1, Math.max(0, base - 1 + k));
      weight[d * 4 + k] = ws[k]!;
    }
  }
  return { index, weight };
}

/** INTER_CUBIC up-scaling by an integer factor (separable: rows, then columns). */
export function upsampleBicubic(src: ArrayLike<number>, w: number, h: number, factor: number, out?: Float32Array): Float32Array {
  checkFactor(w, h, factor, src.length, 'upsample');
  const uw = w * factor;
  const uh = h * factor;
  const tx = axisTaps(w, factor);
  const ty = axisTaps(h, factor);
  const rows = new Float64Array(h * uw);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < uw; x++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += tx.weight[x * 4 + k]! * src[y * w + tx.index[x * 4 + k]!]!;
      rows[y * uw + x] = s;
    }
  }
  const dst = out ?? new Float32Array(uw * uh);
  for (let y = 0; y < uh; y++) {
    for (let x = 0; x < uw; x++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += ty.weight[y * 4 + k]! * rows[ty.index[y * 4 + k]! * uw + x]!;
      dst[y * uw + x] = s;
    }
  }
  return dst;
}
