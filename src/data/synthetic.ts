/**
 * Synthetic data sets with a known structure, for checking what a model or a baseline
 * recovers. Every generator takes an Rng, so the same seed gives the same data; each
 * returns the data as an m x dim Matrix (one point per row) plus what it was built from.
 *
 * Present: lowRankData (points near an affine subspace with well-separated directions).
 */
import { ValidationError, expected } from '../core/errors.js';
import { matrix, type Matrix } from '../core/matrix.js';
import type { Rng } from '../core/rng.js';

export interface LowRankOptions {
  /** Number of points (rows). */
  rows: number;
  /** Dimension of each point (columns). */
  dim: number;
  /** Dimension of the subspace the points lie near; 1 <= rank <= dim. */
  rank: number;
  /** Standard deviation of the isotropic Gaussian noise added in all dim directions; >= 0. */
  noise: number;
  /**
   * Variance unit of the latent coordinates: coordinate i (0-based) has variance
   * scale * (rank - i), so the directions are ordered and separated by gaps of `scale`. Default 1.
   */
  scale?: number;
  /** Each entry of the mean offset is drawn from U(-offset, offset). Default 1; 0 gives zero-mean data. */
  offset?: number;
}

export interface LowRankData {
  /** rows x dim: mean + basis * z + noise * N(0, I), one point per row. */
  x: Matrix;
  /** dim x rank with orthonormal columns; column i is the direction of variance scale * (rank - i). */
  basis: Matrix;
  /** The offset added to every point (length dim). */
  mean: Float32Array;
  /** The variances of the latent coordinates, decreasing: scale * (rank - i). */
  variances: Float64Array;
}

function checkInt(what: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    const rule = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
    throw new ValidationError(expected(what, rule, value));
  }
}

function checkNonNegative(what: string, value: number, positive = false): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (positive && value === 0)) {
    throw new ValidationError(expected(what, positive ? 'a finite number > 0' : 'a finite number >= 0', value));
  }
}

/**
 * A dim x k matrix with orthonormal columns, uniformly random (Gram-Schmidt of a Gaussian
 * matrix, in float64, orthogonalising twice). Requires 1 <= k <= dim.
 */
export function randomOrthonormalColumns(rng: Rng, dim: number, k: number): Matrix {
  checkInt('randomOrthonormalColumns dim', dim, 1);
  checkInt('randomOrthonormalColumns k', k, 1, dim);
  const cols: Float64Array[] = [];
  while (cols.length < k) {
    const v = new Float64Array(dim);
    for (let i = 0; i < dim; i++) v[i] = rng.normal();
    for (let pass = 0; pass < 2; pass++) {
      for (const u of cols) {
        let dot = 0;
        for (let i = 0; i < dim; i++) dot += u[i]! * v[i]!;
        for (let i = 0; i < dim; i++) v[i] = v[i]! - dot * u[i]!;
      }
    }
    let norm = 0;
    for (let i = 0; i < dim; i++) norm += v[i]! * v[i]!;
    norm = Math.sqrt(norm);
    // A Gaussian vector is independent of the earlier ones almost surely; draw again otherwise.
    if (!(norm > 1e-6)) continue;
    for (let i = 0; i < dim; i++) v[i] = v[i]! / norm;
    cols.push(v);
  }
  const out = matrix(dim, k);
  for (let j = 0; j < k; j++) {
    const c = cols[j]!;
    for (let i = 0; i < dim; i++) out.data[i * k + j] = c[i]!;
  }
  return out;
}

/**
 * Points near a rank-`rank` affine subspace: x = mean + basis * z + noise * e, with
 * z_i ~ N(0, scale * (rank - i)) independent and e ~ N(0, I_dim). The top `rank` principal
 * directions of x are then the columns of `basis`, in order, with eigen-gaps of `scale`
 * (as long as noise^2 is small beside `scale`), and the mean is non-zero so that a model's
 * biases have something to absorb.
 */
export function lowRankData(rng: Rng, opts: LowRankOptions): LowRankData {
  const { rows, dim, rank, noise } = opts;
  const scale = opts.scale ?? 1;
  const offset = opts.offset ?? 1;
  checkInt('lowRankData rows', rows, 1);
  checkInt('lowRankData dim', dim, 1);
  checkInt('lowRankData rank', rank, 1, dim);
  checkNonNegative('lowRankData noise', noise);
  checkNonNegative('lowRankData scale', scale, true);
  checkNonNegative('lowRankData offset', offset);

  const basis = randomOrthonormalColumns(rng, dim, rank);
  const mean = new Float32Array(dim);
  for (let i = 0; i < dim; i++) mean[i] = rng.uniform(-offset, offset);
  const variances = new Float64Array(rank);
  const sd = new Float64Array(rank);
  for (let i = 0; i < rank; i++) {
    variances[i] = scale * (rank - i);
    sd[i] = Math.sqrt(variances[i]!);
  }

  const x = matrix(rows, dim);
  const z = new Float64Array(rank);
  const b = basis.data;
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < rank; i++) z[i] = sd[i]! * rng.normal();
    const base = r * dim;
    for (let i = 0; i < dim; i++) {
      let v = mean[i]!;
      const bi = i * rank;
      for (let k = 0; k < rank; k++) v += b[bi + k]! * z[k]!;
      x.data[base + i] = noise === 0 ? v : v + noise * rng.normal();
    }
  }
  return { x, basis, mean, variances };
}
