import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { scaleInto } from './scaling.js';
import { distancesToManifold, gridPoints, manifoldDataset, manifoldOf, nearestOnManifold, sampleManifold } from './manifolds.js';

const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);

test('two-branch: two arcs, points split evenly, inside [-1, 1]², deterministic in the seed', () => {
  const s = sampleManifold('two-branch', new Rng(1), { count: 1000, noise: 0.01 });
  assert.equal(s.x.rows, 1000);
  assert.equal(s.x.cols, 2);
  assert.equal(s.manifold.polylines.length, 2);
  assert.equal(s.branch.filter((b) => b === 0).length, 500);
  for (const v of s.x.data) assert.ok(v > -1 && v < 1, `coordinate ${v}`);
  for (const t of s.t) assert.ok(t >= 0 && t <= 1);
  // The upper branch lies above the lower one at every x.
  for (let r = 0; r < s.x.rows; r++) {
    const y = s.x.data[2 * r + 1]!;
    const x = s.x.data[2 * r]!;
    const upper = 0.55 - 0.6 * x * x;
    close(y, s.branch[r] === 0 ? upper : upper - 0.6, 0.06, `row ${r}`);
  }
  assert.deepEqual(sampleManifold('two-branch', new Rng(1), { count: 1000, noise: 0.01 }).x.data, s.x.data);
  assert.notDeepEqual(sampleManifold('two-branch', new Rng(2), { count: 1000, noise: 0.01 }).x.data, s.x.data);
});

test('points are spread evenly by arc length, not by parameter', () => {
  // The upper arc is steeper at its ends, so even arc length puts more than half the points at |x| > 0.425.
  const s = sampleManifold('two-branch', new Rng(3), { count: 20000, noise: 0 });
  const m = s.manifold;
  let outer = 0;
  for (let r = 0; r < s.x.rows; r++) if (Math.abs(s.x.data[2 * r]!) > 0.425) outer++;
  // Arc length of y = 0.55 − 0.6x² on |x| in [0.425, 0.85] over the whole arc: about 0.60.
  const len = (a: number, b: number) => {
    let L = 0;
    for (let k = 0; k < 10000; k++) {
      const x = a + ((b - a) * (k + 0.5)) / 10000;
      L += Math.hypot(1, 1.2 * x) * ((b - a) / 10000);
    }
    return L;
  };
  const want = len(0.425, 0.85) / len(0, 0.85);
  close(outer / s.x.rows, want, 0.02, 'outer share');
  close(m.lengths[0]!, 2 * len(0, 0.85), 1e-4, 'arc length');
});

test('noiseless samples lie on the manifold; noise σ puts them σ·√(dim−1) away on average (rms)', () => {
  for (const name of ['two-branch', 'curve3d'] as const) {
    const clean = sampleManifold(name, new Rng(4), { count: 300, noise: 0 });
    const d0 = distancesToManifold(clean.manifold, clean.x);
    assert.ok(Math.max(...d0) < 1e-5, `${name}: largest distance of a noiseless point ${Math.max(...d0)}`);
    const sigma = 0.01;
    const noisy = sampleManifold(name, new Rng(5), { count: 2000, noise: sigma });
    const d = distancesToManifold(noisy.manifold, noisy.x);
    const rms = Math.sqrt(d.reduce((a, v) => a + v * v, 0) / d.length);
    // Only the directions normal to a curve count: one in 2-D, two in 3-D.
    close(rms, sigma * Math.sqrt(clean.manifold.dim - 1), 0.1 * sigma * Math.sqrt(clean.manifold.dim - 1), `${name} rms distance`);
  }
});

test('distances to the two arcs, checked by hand', () => {
  const m = manifoldOf('two-branch');
  // Midway between the vertices (0, 0.55) and (0, −0.05) both arcs are 0.3 away; above the top one 0.45.
  close(nearestOnManifold(m, [0, 0.25]).distance, 0.3, 1e-6);
  close(nearestOnManifold(m, [0, 1]).distance, 0.45, 1e-6);
  const below = nearestOnManifold(m, [0, -0.5]);
  close(below.distance, 0.45, 1e-6);
  assert.equal(below.branch, 1);
  close(below.t, 0.5, 2e-4); // within a polyline segment (1/4096) of the vertex
  // Beyond the end of the upper arc, the nearest point is its end point (0.85, 0.1165).
  const end = nearestOnManifold(m, [1, 0.1165]);
  close(end.distance, 0.15, 1e-6);
  close(end.t, 1, 1e-9);
  close(end.point[0]!, 0.85, 1e-9);
});

test('distances to the helix, checked by hand', () => {
  const m = manifoldOf('curve3d');
  // Every helix point is 0.7 from the axis, and the one at the same height is the nearest.
  const axis = nearestOnManifold(m, [0, 0, 0]);
  close(axis.distance, 0.7, 1e-6);
  close(axis.t, 0.5, 1e-3);
  // Radially outside the point at t = 0.25 (angle 0.75π, z = −0.4), 0.25 further out.
  const a = 0.75 * Math.PI;
  const out = nearestOnManifold(m, [0.95 * Math.cos(a), 0.95 * Math.sin(a), -0.4]);
  close(out.distance, 0.25, 1e-6);
  close(out.t, 0.25, 1e-4);
  assert.throws(() => nearestOnManifold(m, [0, 0]), /query point: expected 3 coordinates, received 2/);
});

test('gridPoints covers the box with the first axis fastest', () => {
  const g = gridPoints(2, 3, [-1, 1]);
  assert.deepEqual([...g.data], [-1, -1, 0, -1, 1, -1, -1, 0, 0, 0, 1, 0, -1, 1, 0, 1, 1, 1]);
  const g3 = gridPoints(3, 4, [-1, 1]);
  assert.equal(g3.rows, 64);
  assert.deepEqual([...g3.data.subarray(63 * 3)], [1, 1, 1]);
  close(g3.data[3]!, -1 / 3, 1e-7);
  assert.throws(() => gridPoints(2, 1, [-1, 1]), ValidationError);
  assert.throws(() => gridPoints(4, 3, [-1, 1]), ValidationError);
});

test('as a Dataset the coordinates are scaled by the identity', () => {
  const s = sampleManifold('curve3d', new Rng(6), { count: 100 });
  const d = manifoldDataset(s);
  assert.equal(d.image, null);
  assert.equal(d.test, null);
  const scaled = scaleInto(d.train.data, { kind: 'symmetric', ...d.rawRange });
  for (let i = 0; i < scaled.length; i++) close(scaled[i]!, s.x.data[i]!, 1e-7);
});

test('bad options are refused with one-line ValidationErrors', () => {
  assert.throws(() => sampleManifold('spiral' as 'curve3d', new Rng(1)), /manifold data set: expected one of two-branch, curve3d, received "spiral"/);
  assert.throws(() => sampleManifold('curve3d', new Rng(1), { count: 0 }), /count: expected a positive integer, received 0/);
  assert.throws(() => sampleManifold('curve3d', new Rng(1), { noise: -0.1 }), /noise: expected a finite number >= 0, received -0.1/);
  assert.throws(() => distancesToManifold(manifoldOf('curve3d'), gridPoints(2, 2, [-1, 1])), /points width: expected 3 columns for curve3d, received 2/);
});
