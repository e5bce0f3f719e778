/**
 * Principal component analysis and principal angles between subspaces: the linear
 * baseline an autoencoder is compared with. A linear autoencoder trained to a minimum of
 * the squared error spans the same subspace as the top-d principal directions; the
 * principal angles between its decoder's column space and `pcaBasis(fitPca(x, d))` measure
 * how close it got.
 *
 * The covariance is accumulated in float64 over the data in blocks (sparse rows, such as
 * MNIST's background pixels, take a sparse rank-1 path), then ml-matrix's symmetric
 * eigendecomposition gives the directions, so a 60000 x 784 fit never forms an SVD of the
 * data matrix.
 */
import { EigenvalueDecomposition, Matrix as MlMatrix, SingularValueDecomposition } from 'ml-matrix';
import { ValidationError, expected } from '../core/errors.js';
import { matrix, transpose, type Matrix } from '../core/matrix.js';

export interface Pca {
  /** Column means of the training data (length n). */
  mean: Float32Array;
  /** d x n; the rows are orthonormal principal directions by decreasing variance. Each row's largest-magnitude entry is positive. */
  components: Matrix;
  /** The variance along each component (the covariance's eigenvalues, divisor m - 1), decreasing, >= 0. */
  explainedVariance: Float64Array;
  /** explainedVariance divided by the total variance (the sum of all non-negative eigenvalues); sums to <= 1. */
  explainedVarianceRatio: Float64Array;
}

/** How many rows are gathered before the dense kernel runs over them. */
const BLOCK_ROWS = 128;
/** A row whose share of entries that differ from the column shift is below this takes the sparse path. */
const SPARSE_SHARE = 0.3;
/** How many leading rows are looked at to choose each column's shift. */
const SHIFT_SAMPLE = 256;

function checkFinite(what: string, v: number, row: number, col: number): void {
  if (!Number.isFinite(v)) throw new ValidationError(expected(`${what} at row ${row}, column ${col}`, 'a finite number', v));
}

/**
 * A per-column shift c. The covariance does not change when a constant is subtracted from a
 * column, so the accumulation runs over x - c: the most frequent value among the leading rows
 * when one repeats (e.g. MNIST's background, which leaves most entries exactly zero for the
 * sparse path), else the leading rows' mean (which keeps sums of squares small and accurate).
 */
function columnShifts(x: Matrix): Float64Array {
  const { rows, cols, data } = x;
  const k = Math.min(rows, SHIFT_SAMPLE);
  const shifts = new Float64Array(cols);
  const sample = new Float64Array(k);
  for (let j = 0; j < cols; j++) {
    let sum = 0;
    for (let r = 0; r < k; r++) {
      const v = data[r * cols + j]!;
      checkFinite('fitPca x', v, r, j);
      sample[r] = v;
      sum += v;
    }
    sample.sort();
    let best = sample[0]!;
    let bestRun = 1;
    let run = 1;
    for (let r = 1; r < k; r++) {
      run = sample[r] === sample[r - 1] ? run + 1 : 1;
      if (run > bestRun) {
        bestRun = run;
        best = sample[r]!;
      }
    }
    shifts[j] = bestRun >= 2 ? best : sum / k;
  }
  return shifts;
}

/**
 * Adds T Tᵀ to the upper triangle (including the diagonal) of s (np x np, row-major), where
 * t is np x b (row i holds column i of a block of b data rows) and np is a multiple of 4.
 * A 4 x 4 register tile keeps 16 sums in locals and reads each of its 8 vectors once.
 */
function syrkUpper(t: Float64Array, b: number, np: number, s: Float64Array): void {
  for (let i = 0; i < np; i += 4) {
    const a0 = i * b;
    const a1 = a0 + b;
    const a2 = a1 + b;
    const a3 = a2 + b;
    for (let j = i; j < np; j += 4) {
      const b0 = j * b;
      const b1 = b0 + b;
      const b2 = b1 + b;
      const b3 = b2 + b;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let r = 0; r < b; r++) {
        const x0 = t[a0 + r]!;
        const x1 = t[a1 + r]!;
        const x2 = t[a2 + r]!;
        const x3 = t[a3 + r]!;
        const y0 = t[b0 + r]!;
        const y1 = t[b1 + r]!;
        const y2 = t[b2 + r]!;
        const y3 = t[b3 + r]!;
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
      }
      const s0 = i * np + j;
      const s1 = s0 + np;
      const s2 = s1 + np;
      const s3 = s2 + np;
      s[s0] = s[s0]! + c00; s[s0 + 1] = s[s0 + 1]! + c01; s[s0 + 2] = s[s0 + 2]! + c02; s[s0 + 3] = s[s0 + 3]! + c03;
      s[s1] = s[s1]! + c10; s[s1 + 1] = s[s1 + 1]! + c11; s[s1 + 2] = s[s1 + 2]! + c12; s[s1 + 3] = s[s1 + 3]! + c13;
      s[s2] = s[s2]! + c20; s[s2 + 1] = s[s2 + 1]! + c21; s[s2 + 2] = s[s2 + 2]! + c22; s[s2 + 3] = s[s2 + 3]! + c23;
      s[s3] = s[s3]! + c30; s[s3 + 1] = s[s3 + 1]! + c31; s[s3 + 2] = s[s3 + 2]! + c32; s[s3 + 3] = s[s3 + 3]! + c33;
    }
  }
}

/**
 * The n x n sample covariance of the rows of x (divisor m - 1) and the column means, in
 * float64. Rows are shifted per column (see columnShifts); a row with few non-zero shifted
 * entries is added as a sparse rank-1 update, the others are gathered into blocks for a
 * tiled dense kernel.
 */
export function covariance(x: Matrix): { mean: Float64Array; cov: Float64Array } {
  const { rows: m, cols: n, data } = x;
  if (m < 2) throw new ValidationError(expected('covariance rows', 'at least 2 rows', m));
  if (n < 1) throw new ValidationError(expected('covariance cols', 'at least 1 column', n));
  const shifts = columnShifts(x);
  const np = Math.ceil(n / 4) * 4;
  const s = new Float64Array(np * np);
  const sums = new Float64Array(n);
  const block = new Float64Array(np * BLOCK_ROWS); // column-major block: block[i * BLOCK_ROWS + r]
  let filled = 0;
  const idx = new Int32Array(n);
  const val = new Float64Array(n);
  const sparseMax = Math.floor(SPARSE_SHARE * n);

  for (let r = 0; r < m; r++) {
    const base = r * n;
    let nz = 0;
    for (let j = 0; j < n; j++) {
      const v = data[base + j]! - shifts[j]!;
      if (v !== 0) {
        if (!Number.isFinite(v)) checkFinite('fitPca x', data[base + j]!, r, j);
        idx[nz] = j;
        val[nz] = v;
        nz++;
        sums[j] = sums[j]! + v;
      }
    }
    if (nz <= sparseMax) {
      for (let a = 0; a < nz; a++) {
        const va = val[a]!;
        const row = idx[a]! * np;
        for (let c = a; c < nz; c++) {
          const k = row + idx[c]!;
          s[k] = s[k]! + va * val[c]!;
        }
      }
    } else {
      // The block holds zeros except where a previous row wrote; clear this column of it first.
      for (let j = 0; j < n; j++) block[j * BLOCK_ROWS + filled] = 0;
      for (let a = 0; a < nz; a++) block[idx[a]! * BLOCK_ROWS + filled] = val[a]!;
      filled++;
      if (filled === BLOCK_ROWS) {
        syrkUpper(block, BLOCK_ROWS, np, s);
        filled = 0;
      }
    }
  }
  if (filled > 0) {
    // Zero the unused tail so the kernel can run over whole blocks.
    for (let j = 0; j < n; j++) block.fill(0, j * BLOCK_ROWS + filled, (j + 1) * BLOCK_ROWS);
    syrkUpper(block, BLOCK_ROWS, np, s);
  }

  const mean = new Float64Array(n);
  for (let j = 0; j < n; j++) mean[j] = shifts[j]! + sums[j]! / m;
  const cov = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ti = sums[i]! / m;
    for (let j = i; j < n; j++) {
      const v = (s[i * np + j]! - ti * sums[j]!) / (m - 1);
      cov[i * n + j] = v;
      cov[j * n + i] = v;
    }
  }
  return { mean, cov };
}

/**
 * Fits PCA with d components: centres x (m x n, one point per row) by its column means and
 * takes the top-d eigenvectors of the n x n covariance. Requires m >= 2 and d in [1, n].
 */
export function fitPca(x: Matrix, d: number): Pca {
  const n = x.cols;
  if (x.rows < 2) throw new ValidationError(expected('fitPca x rows', 'at least 2 rows', x.rows));
  if (n < 1) throw new ValidationError(expected('fitPca x cols', 'at least 1 column', n));
  if (typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > n) {
    throw new ValidationError(expected('fitPca d', `an integer in [1, ${n}]`, d));
  }
  const { mean, cov } = covariance(x);
  const rowsOfCov: Float64Array[] = [];
  for (let i = 0; i < n; i++) rowsOfCov.push(cov.subarray(i * n, (i + 1) * n));
  const evd = new EigenvalueDecomposition(new MlMatrix(rowsOfCov), { assumeSymmetric: true });
  const values = evd.realEigenvalues;
  const vectors = evd.eigenvectorMatrix;
  const order = values.map((_, i) => i).sort((a, b) => values[b]! - values[a]! || a - b);

  let total = 0;
  for (const v of values) if (v > 0) total += v;
  const components = matrix(d, n);
  const explainedVariance = new Float64Array(d);
  const explainedVarianceRatio = new Float64Array(d);
  const col = new Float64Array(n);
  for (let k = 0; k < d; k++) {
    const c = order[k]!;
    let big = 0;
    for (let i = 0; i < n; i++) {
      const v = vectors.get(i, c);
      col[i] = v;
      if (Math.abs(v) > Math.abs(big)) big = v;
    }
    const sign = big < 0 ? -1 : 1;
    for (let i = 0; i < n; i++) components.data[k * n + i] = sign * col[i]!;
    const ev = Math.max(values[c]!, 0);
    explainedVariance[k] = ev;
    explainedVarianceRatio[k] = total > 0 ? ev / total : 0;
  }
  return { mean: Float32Array.from(mean), components, explainedVariance, explainedVarianceRatio };
}

function checkPca(p: Pca): void {
  const { components, mean } = p;
  if (components.cols !== mean.length) {
    throw new ValidationError(expected('Pca components', `${mean.length} columns (the mean's length)`, components.cols));
  }
}

/** The codes of the rows of x: (x - mean) componentsᵀ, m x d. */
export function pcaEncode(p: Pca, x: Matrix): Matrix {
  checkPca(p);
  const { rows: d, cols: n, data: c } = p.components;
  if (x.cols !== n) throw new ValidationError(expected('pcaEncode x cols', `${n} (the PCA's dimension)`, x.cols));
  const out = matrix(x.rows, d);
  const centred = new Float64Array(n);
  for (let r = 0; r < x.rows; r++) {
    const base = r * n;
    for (let i = 0; i < n; i++) centred[i] = x.data[base + i]! - p.mean[i]!;
    let k = 0;
    // Four components per sweep share each load of the centred row.
    for (; k + 4 <= d; k += 4) {
      const c0 = k * n;
      const c1 = c0 + n;
      const c2 = c1 + n;
      const c3 = c2 + n;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let i = 0; i < n; i++) {
        const v = centred[i]!;
        s0 += v * c[c0 + i]!;
        s1 += v * c[c1 + i]!;
        s2 += v * c[c2 + i]!;
        s3 += v * c[c3 + i]!;
      }
      const o = r * d + k;
      out.data[o] = s0;
      out.data[o + 1] = s1;
      out.data[o + 2] = s2;
      out.data[o + 3] = s3;
    }
    for (; k < d; k++) {
      const ck = k * n;
      let dot = 0;
      for (let i = 0; i < n; i++) dot += centred[i]! * c[ck + i]!;
      out.data[r * d + k] = dot;
    }
  }
  return out;
}

/** Points from codes: mean + codes components, m x n. */
export function pcaDecode(p: Pca, codes: Matrix): Matrix {
  checkPca(p);
  const { rows: d, cols: n, data: c } = p.components;
  if (codes.cols !== d) throw new ValidationError(expected('pcaDecode codes cols', `${d} (the number of components)`, codes.cols));
  const out = matrix(codes.rows, n);
  const acc = new Float64Array(n);
  for (let r = 0; r < codes.rows; r++) {
    for (let i = 0; i < n; i++) acc[i] = p.mean[i]!;
    const zr = r * d;
    let k = 0;
    for (; k + 4 <= d; k += 4) {
      const z0 = codes.data[zr + k]!;
      const z1 = codes.data[zr + k + 1]!;
      const z2 = codes.data[zr + k + 2]!;
      const z3 = codes.data[zr + k + 3]!;
      const c0 = k * n;
      const c1 = c0 + n;
      const c2 = c1 + n;
      const c3 = c2 + n;
      for (let i = 0; i < n; i++) acc[i] = acc[i]! + z0 * c[c0 + i]! + z1 * c[c1 + i]! + z2 * c[c2 + i]! + z3 * c[c3 + i]!;
    }
    for (; k < d; k++) {
      const z = codes.data[zr + k]!;
      const ck = k * n;
      for (let i = 0; i < n; i++) acc[i] = acc[i]! + z * c[ck + i]!;
    }
    out.data.set(acc, r * n);
  }
  return out;
}

/** The projection of the rows of x onto the PCA's affine subspace: pcaDecode(p, pcaEncode(p, x)). */
export function pcaReconstruct(p: Pca, x: Matrix): Matrix {
  return pcaDecode(p, pcaEncode(p, x));
}

/** The principal directions as the columns of an n x d matrix, ready for principalAngles. */
export function pcaBasis(p: Pca): Matrix {
  return transpose(p.components);
}

/**
 * The vectors of m as the columns of a matrix: m itself for by = 'cols', its transpose for
 * by = 'rows'. A Dense layer's weight is [out x in], so an encoder weight (d x n) spans its
 * subspace by 'rows' and a decoder weight (n x d) by 'cols'.
 */
export function columnsOf(m: Matrix, by: 'rows' | 'cols' = 'cols'): Matrix {
  if (by === 'cols') return m;
  if (by === 'rows') return transpose(m);
  throw new ValidationError(expected('columnsOf by', "'rows' or 'cols'", by));
}

export interface AngleOptions {
  /**
   * A column counts as dependent on the earlier ones (and the call throws) when, after
   * projecting them out, less than this fraction of its norm is left. Default 1e-5, a little
   * above float32 rounding.
   */
  rankTol?: number;
}

/**
 * Orthonormal float64 columns spanning the columns of m: modified Gram-Schmidt, each column
 * orthogonalised twice. Throws ValidationError if the columns are not linearly independent.
 */
function orthonormalColumns(m: Matrix, what: string, rankTol: number): Float64Array[] {
  const { rows: n, cols: p, data } = m;
  if (p < 1 || n < 1) throw new ValidationError(expected(`${what} shape`, 'at least one row and one column', `${n}x${p}`));
  if (p > n) {
    throw new ValidationError(expected(`${what} columns`, `at most ${n} linearly independent columns in dimension ${n} (full column rank)`, p));
  }
  const q: Float64Array[] = [];
  for (let j = 0; j < p; j++) {
    const v = new Float64Array(n);
    let norm0 = 0;
    for (let i = 0; i < n; i++) {
      const e = data[i * p + j]!;
      if (!Number.isFinite(e)) throw new ValidationError(expected(`${what} at row ${i}, column ${j}`, 'a finite number', e));
      v[i] = e;
      norm0 += e * e;
    }
    norm0 = Math.sqrt(norm0);
    for (let pass = 0; pass < 2; pass++) {
      for (const u of q) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += u[i]! * v[i]!;
        for (let i = 0; i < n; i++) v[i] = v[i]! - dot * u[i]!;
      }
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += v[i]! * v[i]!;
    norm = Math.sqrt(norm);
    if (norm0 === 0 || !(norm > rankTol * norm0)) {
      const left = norm0 === 0 ? 'a zero column' : `${(norm / norm0).toExponential(2)} of its norm left after projecting out the earlier columns`;
      throw new ValidationError(expected(`${what} column ${j}`, `linearly independent of columns 0..${j - 1} (full column rank)`, left));
    }
    for (let i = 0; i < n; i++) v[i] = v[i]! / norm;
    q.push(v);
  }
  return q;
}

function toColumns(q: Float64Array[], n: number): Matrix {
  const k = q.length;
  const out = matrix(n, k);
  for (let j = 0; j < k; j++) {
    const c = q[j]!;
    for (let i = 0; i < n; i++) out.data[i * k + j] = c[i]!;
  }
  return out;
}

/** An n x k matrix with orthonormal columns spanning the rows or the columns of m (which must be independent). */
export function subspaceOf(m: Matrix, by: 'rows' | 'cols', opts: AngleOptions = {}): Matrix {
  const cols = columnsOf(m, by);
  return toColumns(orthonormalColumns(cols, `subspaceOf (${by})`, rankTolOf(opts)), cols.rows);
}

function rankTolOf(opts: AngleOptions): number {
  const tol = opts.rankTol ?? 1e-5;
  if (typeof tol !== 'number' || !(tol >= 0 && tol < 1)) throw new ValidationError(expected('principalAngles rankTol', 'a number in [0, 1)', tol));
  return tol;
}

function singularValues(rows: Float64Array[]): number[] {
  const svd = new SingularValueDecomposition(new MlMatrix(rows), {
    computeLeftSingularVectors: false,
    computeRightSingularVectors: false,
    autoTranspose: true,
  });
  return svd.diagonal;
}

/**
 * The principal angles, in degrees and ascending, between the subspace spanned by the columns
 * of a (n x p) and that spanned by the columns of b (n x q); there are min(p, q) of them.
 * Both bases are orthonormalised (their columns must be linearly independent, else
 * ValidationError). With Qa the larger basis, the cosines are the singular values of QaᵀQb
 * and the sines those of Qb - Qa QaᵀQb; an angle below 45 degrees is taken from its sine,
 * which stays accurate for tiny angles where the cosine is ~1.
 */
export function principalAngles(a: Matrix, b: Matrix, opts: AngleOptions = {}): Float64Array {
  if (a.rows !== b.rows) {
    throw new ValidationError(expected('principalAngles b rows', `${a.rows} (a's rows: both bases live in the same space)`, b.rows));
  }
  const tol = rankTolOf(opts);
  const n = a.rows;
  let qa = orthonormalColumns(a, 'principalAngles a', tol);
  let qb = orthonormalColumns(b, 'principalAngles b', tol);
  if (qa.length < qb.length) [qa, qb] = [qb, qa];
  const p = qa.length;
  const q = qb.length;

  // c = Qaᵀ Qb (p x q); r = Qb - Qa c (n x q).
  const c: Float64Array[] = [];
  for (let i = 0; i < p; i++) {
    const row = new Float64Array(q);
    const u = qa[i]!;
    for (let j = 0; j < q; j++) {
      const v = qb[j]!;
      let dot = 0;
      for (let k = 0; k < n; k++) dot += u[k]! * v[k]!;
      row[j] = dot;
    }
    c.push(row);
  }
  const r: Float64Array[] = [];
  for (let k = 0; k < n; k++) r.push(new Float64Array(q));
  for (let j = 0; j < q; j++) {
    const v = qb[j]!;
    for (let k = 0; k < n; k++) {
      let s = v[k]!;
      for (let i = 0; i < p; i++) s -= qa[i]![k]! * c[i]![j]!;
      r[k]![j] = s;
    }
  }
  const cosines = singularValues(c).sort((x, y) => y - x);
  const sines = singularValues(r).sort((x, y) => x - y);
  const clamp = (v: number): number => Math.min(1, Math.max(-1, v));
  const angles = new Float64Array(q);
  for (let i = 0; i < q; i++) {
    const s = clamp(sines[i] ?? 0);
    const rad = s * s < 0.5 ? Math.asin(s) : Math.acos(clamp(cosines[i] ?? 0));
    angles[i] = (rad * 180) / Math.PI;
  }
  return angles.sort();
}
