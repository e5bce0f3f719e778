import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../core/errors.js';
import { matrix, transpose, type Matrix } from '../core/matrix.js';
import { Rng } from '../core/rng.js';
import { lowRankData, randomOrthonormalColumns } from '../data/synthetic.js';
import {
  columnsOf,
  covariance,
  fitPca,
  pcaBasis,
  pcaDecode,
  pcaEncode,
  pcaReconstruct,
  principalAngles,
  subspaceOf,
} from './pca.js';

// ---- helpers ----

function fromRows(rows: number[][]): Matrix {
  const r = rows.length;
  const c = rows[0]!.length;
  return matrix(r, c, Float32Array.from(rows.flat()));
}

function randomMatrix(rng: Rng, rows: number, cols: number): Matrix {
  const m = matrix(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal();
  return m;
}

function matmul(a: Matrix, b: Matrix): Matrix {
  assert.equal(a.cols, b.rows);
  const out = matrix(a.rows, b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < b.cols; j++) {
      let s = 0;
      for (let k = 0; k < a.cols; k++) s += a.data[i * a.cols + k]! * b.data[k * b.cols + j]!;
      out.data[i * b.cols + j] = s;
    }
  }
  return out;
}

/** Two-pass float64 covariance, the textbook way. */
function naiveCovariance(x: Matrix): { mean: Float64Array; cov: Float64Array } {
  const { rows: m, cols: n, data } = x;
  const mean = new Float64Array(n);
  for (let r = 0; r < m; r++) for (let j = 0; j < n; j++) mean[j] = mean[j]! + data[r * n + j]!;
  for (let j = 0; j < n; j++) mean[j] = mean[j]! / m;
  const cov = new Float64Array(n * n);
  for (let r = 0; r < m; r++) {
    for (let i = 0; i < n; i++) {
      const a = data[r * n + i]! - mean[i]!;
      for (let j = 0; j < n; j++) cov[i * n + j] = cov[i * n + j]! + a * (data[r * n + j]! - mean[j]!);
    }
  }
  for (let k = 0; k < n * n; k++) cov[k] = cov[k]! / (m - 1);
  return { mean, cov };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

function maxAbs(a: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]!));
  return d;
}

function mse(a: Matrix, b: Matrix): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += (a.data[i]! - b.data[i]!) ** 2;
  return s / a.data.length;
}

/** Largest |C Cᵀ - I| over the rows of c. */
function orthonormalityError(c: Matrix): number {
  const { rows: d, cols: n, data } = c;
  let worst = 0;
  for (let a = 0; a < d; a++) {
    for (let b = 0; b < d; b++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += data[a * n + i]! * data[b * n + i]!;
      worst = Math.max(worst, Math.abs(s - (a === b ? 1 : 0)));
    }
  }
  return worst;
}

/** Data whose rows are mostly a background value, like MNIST scaled to [-1, 1]. */
function sparseLike(rng: Rng, rows: number, cols: number, ink: number): Matrix {
  const m = matrix(rows, cols);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      // Column 0 is constant, like MNIST's corners.
      m.data[r * cols + j] = j > 0 && rng.random() < ink ? rng.uniform(-1, 1) : -1;
    }
  }
  return m;
}

const deg = (t: number): number => (t * 180) / Math.PI;

// ---- covariance ----

test('covariance matches a two-pass float64 reference on dense, sparse and mixed rows', () => {
  const rng = new Rng(21);
  const dense = randomMatrix(rng, 300, 19); // 19 is not a multiple of the 4-wide tile, 300 not of the 128-row block
  for (let i = 0; i < dense.data.length; i++) dense.data[i] = dense.data[i]! * (1 + (i % 19)) + 5;
  const sparse = sparseLike(rng, 257, 23, 0.1);
  const mixed = sparseLike(rng, 401, 30, 0.1);
  for (let r = 0; r < mixed.rows; r += 3) for (let j = 0; j < 30; j++) mixed.data[r * 30 + j] = rng.normal();
  const tiny = fromRows([
    [1, 2],
    [3, 5],
  ]);
  for (const [name, x] of [
    ['dense', dense],
    ['sparse', sparse],
    ['mixed', mixed],
    ['2x2', tiny],
  ] as const) {
    const got = covariance(x);
    const want = naiveCovariance(x);
    const scale = Math.max(1, maxAbs(want.cov));
    assert.ok(maxAbsDiff(got.cov, want.cov) < 1e-10 * scale, `${name}: covariance off by ${maxAbsDiff(got.cov, want.cov)}`);
    assert.ok(maxAbsDiff(got.mean, want.mean) < 1e-10 * Math.max(1, maxAbs(want.mean)), `${name}: mean`);
  }
  // 2x2 by hand: deviations (-1,-1.5), (1,1.5); divisor 1.
  assert.deepEqual([...covariance(tiny).cov], [2, 3, 3, 4.5]);
});

// ---- fitPca ----

test('fitPca components are unit eigenvectors of the covariance, by decreasing eigenvalue, largest entry positive', () => {
  const rng = new Rng(5);
  const { x } = lowRankData(rng, { rows: 400, dim: 17, rank: 6, noise: 0.2 });
  const d = 8;
  const p = fitPca(x, d);
  const { cov, mean } = naiveCovariance(x);
  const n = 17;
  assert.ok(maxAbsDiff(p.mean, mean) < 1e-5);
  assert.equal(p.components.rows, d);
  assert.equal(p.components.cols, n);
  for (let k = 0; k < d; k++) {
    const v = p.components.data.subarray(k * n, (k + 1) * n);
    const lambda = p.explainedVariance[k]!;
    // |Cov v - lambda v| small: v really is an eigenvector with that eigenvalue.
    let worst = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += cov[i * n + j]! * v[j]!;
      worst = Math.max(worst, Math.abs(s - lambda * v[i]!));
    }
    assert.ok(worst < 1e-5 * Math.max(1, lambda), `component ${k}: residual ${worst}`);
    if (k > 0) assert.ok(lambda <= p.explainedVariance[k - 1]!, 'explained variance decreases');
    let big = 0;
    for (const e of v) if (Math.abs(e) > Math.abs(big)) big = e;
    assert.ok(big > 0, `component ${k}: largest entry ${big} should be positive`);
  }
  assert.ok(orthonormalityError(p.components) < 1e-6);
});

test('fitPca recovers the known basis of low-rank data (principal angles < 0.5 degrees) and its mean', () => {
  const rng = new Rng(1);
  const data = lowRankData(rng, { rows: 2000, dim: 50, rank: 5, noise: 0.01 });
  const p = fitPca(data.x, 5);
  const angles = principalAngles(pcaBasis(p), data.basis);
  assert.equal(angles.length, 5);
  assert.ok(Math.max(...angles) < 0.5, `angles ${[...angles]}`);
  // Each component lies nearest its own basis column: the order follows the variances. Single
  // directions are only loosely pinned down (the sample covariance of z has off-diagonal terms
  // ~sqrt(v_i v_j / m), which mix neighbours by several degrees at m = 2000), the span is not.
  for (let k = 0; k < 5; k++) {
    const comp = matrix(50, 1, Float32Array.from(p.components.data.subarray(k * 50, (k + 1) * 50)));
    const col = matrix(50, 1, Float32Array.from({ length: 50 }, (_, i) => data.basis.data[i * 5 + k]!));
    const [angle] = principalAngles(comp, col);
    assert.ok(angle! < 25, `component ${k} vs basis column ${k}: ${angle} degrees`);
  }
  // The mean of 2000 points is within a few sd/sqrt(m) ~ 0.05 of the offset.
  assert.ok(maxAbsDiff(p.mean, data.mean) < 0.25, `mean off by ${maxAbsDiff(p.mean, data.mean)}`);
});

test('explained variance: close to the latent variances, ratios decreasing in [0, 1] with sum <= 1', () => {
  const rng = new Rng(2);
  const data = lowRankData(rng, { rows: 3000, dim: 40, rank: 4, noise: 0.05, scale: 3 });
  const p = fitPca(data.x, 6);
  const r = p.explainedVarianceRatio;
  let sum = 0;
  for (let k = 0; k < r.length; k++) {
    assert.ok(r[k]! >= 0 && r[k]! <= 1, `ratio ${k} = ${r[k]}`);
    if (k > 0) assert.ok(r[k]! <= r[k - 1]!, `ratio ${k} increases`);
    sum += r[k]!;
  }
  assert.ok(sum <= 1, `ratios sum to ${sum}`);
  // Rank 4 with small noise: the first 4 carry nearly everything, the next 2 almost nothing.
  assert.ok(r[0]! + r[1]! + r[2]! + r[3]! > 0.98, `top-4 share ${r[0]! + r[1]! + r[2]! + r[3]!}`);
  assert.ok(r[4]! < 0.002);
  // Variances 12, 9, 6, 3 (+ noise^2), each estimated from 3000 points: within ~10%.
  for (let k = 0; k < 4; k++) {
    const want = data.variances[k]! + 0.05 ** 2;
    assert.ok(Math.abs(p.explainedVariance[k]! - want) / want < 0.1, `variance ${k}: ${p.explainedVariance[k]} vs ${want}`);
  }
  // With every component kept, the ratios sum to 1 (and never above it).
  const full = fitPca(data.x, 40);
  const total = full.explainedVarianceRatio.reduce((a, b) => a + b, 0);
  assert.ok(total <= 1 + 1e-12 && total > 1 - 1e-9, `full ratios sum to ${total}`);
});

test('PCA reconstruction error on rank-d data is about the noise off the subspace', () => {
  const rng = new Rng(3);
  const noise = 0.1;
  const dim = 50;
  const rank = 5;
  const data = lowRankData(rng, { rows: 2000, dim, rank, noise });
  const p = fitPca(data.x, rank);
  const err = mse(pcaReconstruct(p, data.x), data.x);
  // Noise variance in the dim - rank directions PCA drops, per entry.
  const want = (noise * noise * (dim - rank)) / dim;
  assert.ok(Math.abs(err - want) / want < 0.1, `reconstruction MSE ${err}, expected about ${want}`);
  // One component fewer loses the smallest latent direction (variance 1): far worse.
  const fewer = mse(pcaReconstruct(fitPca(data.x, rank - 1), data.x), data.x);
  assert.ok(fewer > 0.015, `with ${rank - 1} components MSE ${fewer}`);
});

test('pcaEncode / pcaDecode: shapes, centred codes with the explained variances, exact round trip at d = n', () => {
  const rng = new Rng(4);
  const { x } = lowRankData(rng, { rows: 500, dim: 12, rank: 3, noise: 0.3 });
  const p = fitPca(x, 3);
  const codes = pcaEncode(p, x);
  assert.equal(codes.rows, 500);
  assert.equal(codes.cols, 3);
  for (let k = 0; k < 3; k++) {
    let s = 0;
    let s2 = 0;
    for (let r = 0; r < 500; r++) {
      const z = codes.data[r * 3 + k]!;
      s += z;
      s2 += z * z;
    }
    assert.ok(Math.abs(s / 500) < 1e-4, `code ${k} mean ${s / 500}`);
    const variance = s2 / 499;
    assert.ok(Math.abs(variance - p.explainedVariance[k]!) < 1e-4 * p.explainedVariance[k]!, `code ${k} variance ${variance}`);
  }
  const decoded = pcaDecode(p, codes);
  assert.equal(decoded.rows, 500);
  assert.equal(decoded.cols, 12);
  const all = fitPca(x, 12);
  assert.ok(maxAbsDiff(pcaReconstruct(all, x).data, x.data) < 1e-4, 'keeping every component reconstructs x');
  assert.throws(() => pcaEncode(p, matrix(2, 11)), ValidationError);
  assert.throws(() => pcaDecode(p, matrix(2, 4)), ValidationError);
});

test('fitPca on a 2000 x 784 random-ish matrix gives orthonormal components', () => {
  const rng = new Rng(6);
  const { x } = lowRankData(rng, { rows: 2000, dim: 784, rank: 40, noise: 0.5 });
  // Mix in sparse, MNIST-like rows so both accumulation paths run.
  const sparse = sparseLike(rng, 700, 784, 0.15);
  x.data.set(sparse.data, 0);
  const t = performance.now();
  const p = fitPca(x, 50);
  const ms = performance.now() - t;
  assert.equal(p.components.rows, 50);
  assert.equal(p.components.cols, 784);
  const err = orthonormalityError(p.components);
  assert.ok(err < 1e-4, `|C Cᵀ - I| = ${err}`);
  for (let k = 1; k < 50; k++) assert.ok(p.explainedVariance[k]! <= p.explainedVariance[k - 1]!);
  assert.ok(ms < 30000, `fitPca took ${ms} ms`);
});

test('fitPca handles constant data and constant columns', () => {
  const x = matrix(5, 3, new Float32Array(15).fill(2));
  const p = fitPca(x, 2);
  assert.deepEqual([...p.mean], [2, 2, 2]);
  assert.deepEqual([...p.explainedVariance], [0, 0]);
  assert.deepEqual([...p.explainedVarianceRatio], [0, 0]);
  assert.ok(orthonormalityError(p.components) < 1e-6);
  // Column 0 never varies: no component with variance loads on it.
  const q = fitPca(sparseLike(new Rng(9), 300, 8, 0.3), 3);
  for (let k = 0; k < 3; k++) assert.ok(Math.abs(q.components.data[k * 8]!) < 1e-6);
});

test('fitPca rejects bad d, too few rows and non-finite data with ValidationError', () => {
  const x = randomMatrix(new Rng(1), 10, 4);
  for (const d of [0, 5, 1.5, Number.NaN, -1]) {
    assert.throws(() => fitPca(x, d), ValidationError, `d = ${d}`);
  }
  assert.throws(() => fitPca(x, 5), /fitPca d: expected an integer in \[1, 4\], received 5/);
  assert.throws(() => fitPca(matrix(1, 4), 1), ValidationError);
  const bad = randomMatrix(new Rng(1), 300, 4);
  bad.data[299 * 4 + 2] = Number.NaN;
  assert.throws(() => fitPca(bad, 2), /row 299, column 2/);
  fitPca(x, 1);
  fitPca(x, 4);
});

// ---- principal angles ----

test('principal angles of a subspace with itself, and with a change of its basis, are ~0', () => {
  const rng = new Rng(10);
  const a = randomMatrix(rng, 20, 4);
  for (const angle of principalAngles(a, a)) assert.ok(angle < 1e-4, `self angle ${angle}`);
  const mix = fromRows([
    [2, 1, 0, 0],
    [0, 1, 3, 0],
    [1, 0, 1, 1],
    [0, -1, 0, 2],
  ]);
  for (const angle of principalAngles(a, matmul(a, mix))) assert.ok(angle < 1e-3, `changed-basis angle ${angle}`);
});

test('principal angles of orthogonal subspaces are 90 degrees', () => {
  const e12 = fromRows([
    [1, 0],
    [0, 1],
    [0, 0],
    [0, 0],
    [0, 0],
  ]);
  const e345 = fromRows([
    [0, 0, 0],
    [0, 0, 0],
    [1, 0, 0],
    [0, 3, 1],
    [0, 0, 2],
  ]);
  const angles = principalAngles(e12, e345);
  assert.equal(angles.length, 2);
  for (const angle of angles) assert.ok(Math.abs(angle - 90) < 1e-9, `${angle}`);
  // And in the other order.
  for (const angle of principalAngles(e345, e12)) assert.ok(Math.abs(angle - 90) < 1e-9, `${angle}`);
});

test('span{e1, e2} vs span{e1, cos t e2 + sin t e3} has angles [0, t], for large and tiny t', () => {
  // The tiny angles need the sine-based formula: at t = 1e-7 degrees cos t rounds to 1 in float64.
  for (const t of [30, 60, 89.9, 1, 0.01, 1e-7]) {
    const r = (t * Math.PI) / 180;
    const a = fromRows([
      [1, 0],
      [0, 1],
      [0, 0],
      [0, 0],
    ]);
    const b = fromRows([
      [1, 0],
      [0, Math.cos(r)],
      [0, Math.sin(r)],
      [0, 0],
    ]);
    // The exact angle of the float32 vector (float32 rounds cos t and sin t separately).
    const exact = deg(Math.atan2(b.data[5]!, b.data[3]!));
    const angles = principalAngles(a, b);
    assert.equal(angles.length, 2);
    assert.ok(Math.abs(angles[0]!) < 1e-6, `t=${t}: first angle ${angles[0]}`);
    const tol = t < 1e-3 ? 1e-3 * exact : 1e-6;
    assert.ok(Math.abs(angles[1]! - exact) < tol, `t=${t}: second angle ${angles[1]} vs ${exact}`);
  }
});

test('principal angles are invariant to invertible changes of either basis, ascending, and min(p, q) many', () => {
  const rng = new Rng(12);
  const a = randomMatrix(rng, 15, 3);
  const b = randomMatrix(rng, 15, 5);
  const base = principalAngles(a, b);
  assert.equal(base.length, 3);
  for (let i = 1; i < base.length; i++) assert.ok(base[i]! >= base[i - 1]!, 'ascending');
  for (const angle of base) assert.ok(angle >= 0 && angle <= 90);
  // Random 15-dim subspaces of dim 3 and 5 are not aligned: angles well above 0.
  assert.ok(base[0]! > 1);
  const ma = randomMatrix(rng, 3, 3);
  const mb = randomMatrix(rng, 5, 5);
  const changed = principalAngles(matmul(a, ma), matmul(b, mb));
  assert.ok(maxAbsDiff(base, changed) < 1e-3, `${[...base]} vs ${[...changed]}`);
  const swapped = principalAngles(b, a);
  assert.ok(maxAbsDiff(base, swapped) < 1e-9, 'symmetric in a and b');
});

test('a 2-D subspace inside a 3-D one has angles 0', () => {
  const rng = new Rng(13);
  const big = randomMatrix(rng, 10, 3);
  const inside = matmul(big, randomMatrix(rng, 3, 2));
  const angles = principalAngles(big, inside);
  assert.equal(angles.length, 2);
  for (const angle of angles) assert.ok(angle < 1e-3, `${angle}`);
});

test('rank-deficient or mismatched bases throw ValidationError', () => {
  const dependent = fromRows([
    [1, 2, 3],
    [0, 1, 1],
    [1, 0, 1],
    [2, 2, 4],
  ]); // column 2 = column 0 + column 1
  const ok = randomMatrix(new Rng(1), 4, 2);
  assert.throws(() => principalAngles(dependent, ok), ValidationError);
  assert.throws(() => principalAngles(ok, dependent), /principalAngles b column 2: expected linearly independent/);
  assert.throws(() => principalAngles(matrix(4, 1), ok), /zero column/);
  assert.throws(() => principalAngles(randomMatrix(new Rng(2), 3, 4), randomMatrix(new Rng(3), 3, 1)), ValidationError);
  assert.throws(() => principalAngles(ok, randomMatrix(new Rng(2), 5, 2)), ValidationError);
  assert.throws(() => principalAngles(matrix(4, 0), ok), ValidationError);
  assert.throws(() => subspaceOf(transpose(dependent), 'rows'), ValidationError);
});

test('columnsOf and subspaceOf: rows of an encoder weight and columns of its transpose span the same subspace', () => {
  const rng = new Rng(14);
  const encoderWeight = randomMatrix(rng, 3, 10); // [out x in] = d x n: rows span
  const decoderWeight = transpose(encoderWeight); // n x d: columns span
  assert.equal(columnsOf(decoderWeight, 'cols'), decoderWeight);
  assert.deepEqual(columnsOf(encoderWeight, 'rows').data, decoderWeight.data);
  const q = subspaceOf(encoderWeight, 'rows');
  assert.equal(q.rows, 10);
  assert.equal(q.cols, 3);
  assert.ok(orthonormalityError(transpose(q)) < 1e-6);
  for (const angle of principalAngles(q, decoderWeight)) assert.ok(angle < 1e-3);
  for (const angle of principalAngles(columnsOf(encoderWeight, 'rows'), subspaceOf(decoderWeight, 'cols'))) assert.ok(angle < 1e-3);
  // A random orthonormal basis is its own subspace.
  const basis = randomOrthonormalColumns(rng, 10, 4);
  assert.ok(maxAbs(principalAngles(subspaceOf(basis, 'cols'), basis)) < 1e-4);
});
