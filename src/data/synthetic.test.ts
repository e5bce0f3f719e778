import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { Matrix } from '../core/matrix.js';
import { lowRankData, randomOrthonormalColumns } from './synthetic.js';

function gram(m: Matrix): number[][] {
  const { rows: n, cols: k, data } = m;
  const g: number[][] = [];
  for (let a = 0; a < k; a++) {
    g.push([]);
    for (let b = 0; b < k; b++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += data[i * k + a]! * data[i * k + b]!;
      g[a]!.push(s);
    }
  }
  return g;
}

function assertOrthonormalColumns(m: Matrix, tol: number): void {
  const g = gram(m);
  for (let a = 0; a < g.length; a++) {
    for (let b = 0; b < g.length; b++) {
      const want = a === b ? 1 : 0;
      assert.ok(Math.abs(g[a]![b]! - want) < tol, `gram[${a}][${b}] = ${g[a]![b]}`);
    }
  }
}

test('randomOrthonormalColumns gives orthonormal columns of the asked shape', () => {
  const q = randomOrthonormalColumns(new Rng(3), 40, 7);
  assert.equal(q.rows, 40);
  assert.equal(q.cols, 7);
  assertOrthonormalColumns(q, 1e-6);
  // k = dim is allowed (a random orthogonal matrix).
  assertOrthonormalColumns(randomOrthonormalColumns(new Rng(4), 5, 5), 1e-6);
  assert.throws(() => randomOrthonormalColumns(new Rng(1), 3, 4), ValidationError);
  assert.throws(() => randomOrthonormalColumns(new Rng(1), 3, 0), ValidationError);
});

test('lowRankData has the asked shapes, an orthonormal basis and a non-zero mean', () => {
  const { x, basis, mean, variances } = lowRankData(new Rng(1), { rows: 500, dim: 30, rank: 4, noise: 0.05 });
  assert.equal(x.rows, 500);
  assert.equal(x.cols, 30);
  assert.equal(basis.rows, 30);
  assert.equal(basis.cols, 4);
  assert.equal(mean.length, 30);
  assert.deepEqual([...variances], [4, 3, 2, 1]);
  assertOrthonormalColumns(basis, 1e-6);
  let meanNorm = 0;
  for (const v of mean) meanNorm += v * v;
  assert.ok(Math.sqrt(meanNorm) > 1, `mean norm ${Math.sqrt(meanNorm)}`);
  // The column means of the data sit near the offset (sd of a column mean <= sqrt(4.01/500) ~ 0.09).
  for (let j = 0; j < 30; j++) {
    let s = 0;
    for (let r = 0; r < 500; r++) s += x.data[r * 30 + j]!;
    assert.ok(Math.abs(s / 500 - mean[j]!) < 0.4, `column ${j}: mean ${s / 500} vs offset ${mean[j]}`);
  }
});

test('lowRankData is deterministic in the seed', () => {
  const opts = { rows: 50, dim: 10, rank: 3, noise: 0.1, scale: 2 };
  const a = lowRankData(new Rng(7), opts);
  const b = lowRankData(new Rng(7), opts);
  const c = lowRankData(new Rng(8), opts);
  assert.deepEqual(a.x.data, b.x.data);
  assert.deepEqual(a.basis.data, b.basis.data);
  assert.notDeepEqual(a.x.data, c.x.data);
});

test('without noise the points lie exactly in the affine subspace, with the stated variances along the basis', () => {
  const rows = 4000;
  const dim = 12;
  const rank = 3;
  const { x, basis, mean } = lowRankData(new Rng(11), { rows, dim, rank, noise: 0, scale: 2 });
  const coord = new Float64Array(rows * rank);
  let residual = 0;
  for (let r = 0; r < rows; r++) {
    const y = new Float64Array(dim);
    for (let i = 0; i < dim; i++) y[i] = x.data[r * dim + i]! - mean[i]!;
    const proj = new Float64Array(dim);
    for (let k = 0; k < rank; k++) {
      let z = 0;
      for (let i = 0; i < dim; i++) z += basis.data[i * rank + k]! * y[i]!;
      coord[r * rank + k] = z;
      for (let i = 0; i < dim; i++) proj[i] = proj[i]! + z * basis.data[i * rank + k]!;
    }
    for (let i = 0; i < dim; i++) residual = Math.max(residual, Math.abs(y[i]! - proj[i]!));
  }
  assert.ok(residual < 1e-5, `largest residual off the subspace ${residual}`);
  // Variance of coordinate k is scale * (rank - k) = 6, 4, 2; a sample of 4000 is within ~7%.
  for (let k = 0; k < rank; k++) {
    let s = 0;
    let s2 = 0;
    for (let r = 0; r < rows; r++) {
      const z = coord[r * rank + k]!;
      s += z;
      s2 += z * z;
    }
    const variance = (s2 - (s * s) / rows) / (rows - 1);
    const want = 2 * (rank - k);
    assert.ok(Math.abs(variance - want) / want < 0.1, `coordinate ${k}: variance ${variance}, wanted ${want}`);
  }
});

test('lowRankData noise adds variance noise^2 off the subspace', () => {
  const rows = 3000;
  const dim = 20;
  const rank = 2;
  const noise = 0.3;
  const { x, basis, mean } = lowRankData(new Rng(5), { rows, dim, rank, noise });
  let ss = 0;
  for (let r = 0; r < rows; r++) {
    const y = new Float64Array(dim);
    for (let i = 0; i < dim; i++) y[i] = x.data[r * dim + i]! - mean[i]!;
    for (let k = 0; k < rank; k++) {
      let z = 0;
      for (let i = 0; i < dim; i++) z += basis.data[i * rank + k]! * y[i]!;
      for (let i = 0; i < dim; i++) y[i] = y[i]! - z * basis.data[i * rank + k]!;
    }
    for (let i = 0; i < dim; i++) ss += y[i]! * y[i]!;
  }
  const perDirection = ss / rows / (dim - rank);
  assert.ok(Math.abs(perDirection - noise * noise) / (noise * noise) < 0.05, `off-subspace variance ${perDirection}`);
});

test('lowRankData offset 0 gives zero-mean data', () => {
  const { mean } = lowRankData(new Rng(2), { rows: 3, dim: 4, rank: 1, noise: 0, offset: 0 });
  assert.deepEqual([...mean], [0, 0, 0, 0]);
});

test('lowRankData rejects bad options with ValidationError', () => {
  const ok = { rows: 10, dim: 5, rank: 2, noise: 0.1 };
  const rng = new Rng(1);
  assert.throws(() => lowRankData(rng, { ...ok, rank: 6 }), ValidationError);
  assert.throws(() => lowRankData(rng, { ...ok, rank: 0 }), ValidationError);
  assert.throws(() => lowRankData(rng, { ...ok, rows: 0 }), ValidationError);
  assert.throws(() => lowRankData(rng, { ...ok, dim: 2.5 }), ValidationError);
  assert.throws(() => lowRankData(rng, { ...ok, noise: -1 }), ValidationError);
  assert.throws(() => lowRankData(rng, { ...ok, noise: Number.NaN }), ValidationError);
  assert.throws(() => lowRankData(rng, { ...ok, scale: 0 }), ValidationError);
  assert.throws(() => lowRankData(rng, { ...ok, offset: -1 }), /offset: expected a finite number >= 0, received -1/);
});
