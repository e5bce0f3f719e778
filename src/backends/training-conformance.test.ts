import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Backend } from '../core/backend.js';
import { loadMnistDataset } from '../data/dataset.js';
import { prepareTraining, type TrainSettings } from '../train/recipe.js';
import { JsBackend } from './js/index.js';

/**
 * Twenty training steps from the same seed give the same loss sequence on every backend,
 * to within 1e-4 relative: the backends differ only in float rounding.
 */
let native: Backend | null = null;
let why = '';
try {
  native = new (await import('./native/index.js')).NativeBackend();
} catch (err) {
  why = `native backend did not load: ${(err as Error).message}`;
}

const CASES: Array<[string, Partial<TrainSettings>]> = [
  ["the notebook's 784-30-784 tanh, MSE, Adam", {}],
  ['a deep relu stack 784-64-16, SGD with momentum', { layers: [784, 64, 16], activation: 'relu', optimizer: 'sgd', lr: 0.05 }],
  ['tied weights, unit scaling, sigmoid output, BCE', { hidden: 24, tied: true, loss: 'bce', scale: 'unit' }],
  ['denoising 784-100-784 with dropout:0.5', { hidden: 100, noise: 'dropout:0.5' }],
];

function losses(backend: Backend, settings: Partial<TrainSettings>): number[] {
  const data = loadMnistDataset({ limit: 20 * 64 });
  const run = prepareTraining({ ...settings, epochs: 1, batchSize: 64, seed: 11 }, data, backend, { inPlace: true });
  const out: number[] = [];
  run.fit({ onBatchEnd: (b) => out.push(b.loss) });
  return out;
}

for (const [name, settings] of CASES) {
  test(`20 steps agree on js and native: ${name}`, { skip: native === null ? why : false }, () => {
    const a = losses(new JsBackend(), settings);
    const b = losses(native!, settings);
    assert.equal(a.length, 20);
    assert.equal(b.length, 20);
    a.forEach((v, i) => {
      const rel = Math.abs(v - b[i]!) / Math.abs(v);
      assert.ok(rel < 1e-4, `step ${i + 1}: js ${v}, native ${b[i]}, relative difference ${rel}`);
    });
    // The sequence really trains: the last loss is below the first.
    assert.ok(a[19]! < a[0]!);
  });
}
