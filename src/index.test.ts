import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Adam, Autoencoder, evaluate, fit, loadMnistDataset, loadModel, prepareTraining, resolveBackend, Rng, saveModel, scaled } from './index.js';

test("the README's library example works through the public index", () => {
  const data = loadMnistDataset({ limit: 1000 });
  const { backend } = resolveBackend('auto');
  const run = prepareTraining({ hidden: 30, epochs: 2 }, data, backend);
  const epochs: number[] = [];
  run.fit({ onEpochEnd: (m) => epochs.push(m.epoch) });
  assert.deepEqual(epochs, [1, 2]);
  const mse = evaluate(run.model, run.test!).loss;
  const path = join(mkdtempSync(join(tmpdir(), 'ae-index-')), 'model.safetensors');
  saveModel(path, run.model, run.config);
  assert.equal(evaluate(loadModel(path, backend).model, run.test!).loss, mse);
  const codes = run.model.encode(run.test!);
  assert.deepEqual([codes.rows, codes.cols], [1000, 30]);
});

test("the README's manual pieces compose: Autoencoder, Adam, fit", () => {
  const data = loadMnistDataset({ limit: 512 });
  const x = scaled(data.train, { kind: 'symmetric', ...data.rawRange });
  const { backend } = resolveBackend('js');
  const rng = new Rng(1);
  const model = new Autoencoder({ layers: [784, 16], activation: 'tanh', outputActivation: 'tanh', tied: true }, backend, rng);
  const history = fit(model, x, { epochs: 3, batchSize: 64, loss: 'mse', optimizer: new Adam(model.params), rng });
  assert.ok(history[2]!.trainLoss < history[0]!.trainLoss);
});
