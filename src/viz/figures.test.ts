import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matrix } from '../core/matrix.js';
import { kernelsFigure, reconstructionFigure } from './figures.js';

const grey = (r: { width: number; data: Uint8Array }, x: number, y: number) => r.data[(y * r.width + x) * 4]!;

test('kernels figure: size, grid layout, and per-kernel scaling', () => {
  const d = 28;
  const w = matrix(d, 28 * 28);
  // Kernel k is a ramp scaled by k + 1 with its brightest pixel at (row k % 28, column 3).
  for (let k = 0; k < d; k++) {
    for (let i = 0; i < 784; i++) w.data[k * 784 + i] = ((i % 7) - 3) * (k + 1) * 0.01;
    w.data[k * 784 + (k % 28) * 28 + 3] = 10 * (k + 1);
  }
  const fig = kernelsFigure(w, { width: 28, height: 28, zoom: 2 });
  // ceil(sqrt(28)) = 6 columns, 5 rows; each cell 56 px plus 2 px of padding.
  assert.equal(fig.width, 2 + 6 * 58);
  assert.equal(fig.height, 2 + 5 * 58);
  for (const k of [0, 7, 27]) {
    const x0 = 2 + (k % 6) * 58;
    const y0 = 2 + Math.floor(k / 6) * 58;
    // Every kernel's own maximum is white, whatever its scale, at its own place in its cell.
    assert.equal(grey(fig, x0 + 3 * 2, y0 + (k % 28) * 2), 255, `kernel ${k} maximum`);
    assert.ok(grey(fig, x0 + 10, y0 + 40) < 255);
  }
  // The unused 29th and 30th cells stay background grey.
  assert.equal(grey(fig, 2 + 5 * 58 + 20, 2 + 4 * 58 + 20), 128);
});

test('reconstruction figure: originals above their reconstructions', () => {
  const x = matrix(3, 4, Float32Array.from([1, 1, 1, 1, -1, -1, -1, -1, 1, -1, 1, -1]));
  const y = matrix(3, 4, Float32Array.from([-1, -1, -1, -1, 1, 1, 1, 1, -1, 1, -1, 1]));
  const fig = reconstructionFigure(x, y, { width: 2, height: 2, range: [-1, 1], cols: 3, zoom: 1 });
  // Top row: image 0 is white; bottom row under it: black.
  assert.equal(grey(fig, 2, 2), 255);
  assert.equal(grey(fig, 2, 2 + 4), 0);
  assert.throws(() => reconstructionFigure(x, matrix(2, 4), { width: 2, height: 2, range: [-1, 1] }), /reconstructions: expected 3x4/);
});
