import type { Backend } from '../core/backend.js';
import { ValidationError, expected } from '../core/errors.js';
import { matrix, rowSlice, type Matrix } from '../core/matrix.js';
import type { Autoencoder } from '../nn/autoencoder.js';

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
