import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { JsBackend } from '../backends/js/index.js';
import { DivergenceError, ValidationError } from '../core/errors.js';
import { loadMnistDataset } from '../data/dataset.js';
import { loadModel, saveModel } from '../io/model-file.js';
import { evaluate } from './evaluate.js';
import { prepareTraining, resolveSettings } from './recipe.js';

const backend = new JsBackend();

test('a short run on an MNIST subset learns: the test loss falls below 0.3 from about 0.9', () => {
  const data = loadMnistDataset({ limit: 5000 });
  const run = prepareTraining({ epochs: 4 }, data, backend);
  const before = evaluate(run.model, run.test!).loss;
  const history = run.fit();
  const after = history[history.length - 1]!.testLoss!;
  assert.ok(before > 0.6, `untrained loss ${before}`);
  assert.ok(after < 0.3, `trained loss ${after}`);
  assert.ok(history[0]!.trainLoss > history[3]!.trainLoss);
  for (const m of history) assert.ok(m.seconds > 0 && m.samplesPerSecond > 0);
});

test('the same seed gives identical weights; another seed does not', () => {
  const data = loadMnistDataset({ limit: 600 });
  const weights = (seed: number) => {
    const run = prepareTraining({ epochs: 2, batchSize: 64, seed }, data, backend);
    run.fit();
    return run.model.params.map((p) => Buffer.from(p.value.buffer, p.value.byteOffset, p.value.byteLength));
  };
  const a = weights(3);
  const b = weights(3);
  const c = weights(4);
  a.forEach((w, i) => assert.ok(w.equals(b[i]!), `param ${i} differs between two runs with seed 3`));
  assert.ok(!a[0]!.equals(c[0]!));
});

test('divergence stops training at once, naming the epoch and batch, and leaves the last saved model intact', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ae-diverge-'));
  const path = join(dir, 'model.safetensors');
  const data = loadMnistDataset({ limit: 512 });
  const run = prepareTraining({ epochs: 3, batchSize: 128 }, data, backend);
  let saved: Buffer | null = null;
  assert.throws(
    () =>
      run.fit({
        onEpochEnd: (m) => {
          saveModel(path, run.model, { scaling: run.config.scaling, loss: 'mse', training: { epoch: m.epoch } });
          saved = readFileSync(path);
          // Poison a weight after the save, as an overflow would: the next batch's loss is NaN.
          run.model.params[0]!.value[0] = NaN;
        },
      }),
    (e: unknown) => e instanceof DivergenceError && e.epoch === 2 && e.batch === 1 && /epoch 2, batch 1/.test(e.message),
  );
  assert.ok(saved !== null && readFileSync(path).equals(saved));
  const loaded = loadModel(path, backend);
  assert.ok(Number.isFinite(loaded.model.params[0]!.value[0]!));
});

test('a learning rate that blows up is caught as divergence, not trained on', () => {
  const data = loadMnistDataset({ limit: 256 });
  const run = prepareTraining({ epochs: 2, batchSize: 64, optimizer: 'sgd', lr: 1e30, activation: 'linear', outputActivation: 'linear' }, data, backend);
  assert.throws(() => run.fit(), DivergenceError);
});

test('settings are validated from one table, with one-line messages', () => {
  assert.throws(() => resolveSettings({ epochs: 0 }), /epochs: expected a positive integer, received 0/);
  assert.throws(() => resolveSettings({ hidden: 0 }), /hidden: expected/);
  assert.throws(() => resolveSettings({ loss: 'bce' }), /scale for loss bce: expected unit/);
  assert.throws(() => resolveSettings({ loss: 'bce', scale: 'unit', outputActivation: 'tanh' }), /output activation for loss bce: expected sigmoid/);
  assert.throws(() => resolveSettings({ optimizer: 'rmsprop' as never }), ValidationError);
  const data = loadMnistDataset({ limit: 10 });
  assert.throws(() => prepareTraining({ layers: [100, 30] }, data, backend), /layers\[0\]: expected 784 to match the data width, received 100/);
});
