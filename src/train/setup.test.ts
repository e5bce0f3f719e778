import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JsBackend } from '../backends/js/index.js';
import { ValidationError } from '../core/errors.js';
import { matrix } from '../core/matrix.js';
import { Rng } from '../core/rng.js';
import { loadMnistDataset, scaled, splitValidation } from '../data/dataset.js';
import { degrade } from '../apps/superres.js';
import { prepareTraining, setupTraining } from './recipe.js';

const backend = new JsBackend();
const weightsOf = (run: { model: { params: Array<{ value: Float32Array }> } }) => run.model.params.map((p) => Array.from(p.value));

function randomRows(rows: number, cols: number, seed: number) {
  const rng = new Rng(seed);
  const m = matrix(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.uniform(-1, 1);
  return m;
}

test('setupTraining on rows prepareTraining scaled gives the same weights: one set-up under both', () => {
  const data = loadMnistDataset({ limit: 500 });
  const viaDataset = prepareTraining({ epochs: 2, batchSize: 64, seed: 4, hidden: 8 }, data, backend);
  viaDataset.fit();
  const s = viaDataset.config.scaling;
  const viaRows = setupTraining({ epochs: 2, batchSize: 64, seed: 4, hidden: 8 }, { x: scaled(data.train, s), validation: { x: scaled(data.test!, s) } }, backend);
  viaRows.fit();
  assert.deepEqual(weightsOf(viaRows), weightsOf(viaDataset));
});

test('validationSplit holds out the rows splitValidation holds out, drawn with the settings seed', () => {
  const data = loadMnistDataset({ limit: 300 });
  const x = scaled(data.train, { kind: 'symmetric', min: 0, max: 255 });
  const run = setupTraining({ epochs: 1, seed: 7, hidden: 4 }, { x, validationSplit: 0.25 }, backend);
  const split = splitValidation({ ...data, train: x, test: null, testLabels: null }, 0.25, 7);
  assert.equal(run.test!.rows, 75);
  assert.equal(run.train.rows, 225);
  assert.deepEqual(Array.from(run.test!.data), Array.from(split.test!.data));
  assert.deepEqual(Array.from(run.train.data), Array.from(split.train.data));
  const history = run.fit();
  assert.equal(typeof history[0]!.testLoss, 'number');
});

test('targets: the model is fitted to map inputs to targets, and the validation loss is against the validation targets', () => {
  const data = loadMnistDataset({ limit: 400 });
  const s = { kind: 'symmetric' as const, min: 0, max: 255 };
  const clean = scaled(data.train, s);
  const cleanTest = scaled(data.test!, s);
  const x = degrade(clean, 28, 2).bicubic;
  const xt = degrade(cleanTest, 28, 2).bicubic;
  const run = setupTraining({ epochs: 3, batchSize: 32, hidden: 30 }, { x, y: clean, validation: { x: xt, y: cleanTest } }, backend);
  const history = run.fit();
  // Scored against the clean digits; the same model scored against its own (blurred) inputs differs.
  const recon = run.model.reconstruct(xt);
  let vsClean = 0;
  let vsInput = 0;
  for (let i = 0; i < recon.data.length; i++) {
    vsClean += (recon.data[i]! - cleanTest.data[i]!) ** 2;
    vsInput += (recon.data[i]! - xt.data[i]!) ** 2;
  }
  vsClean /= recon.data.length;
  vsInput /= recon.data.length;
  assert.ok(Math.abs(history.at(-1)!.testLoss! - vsClean) < 1e-5, `${history.at(-1)!.testLoss} vs ${vsClean}`);
  assert.ok(Math.abs(vsClean - vsInput) > 1e-4);
});

test('setupTraining refuses mismatched targets, validation without targets, and val_loss without validation rows', () => {
  const x = randomRows(20, 6, 1);
  assert.throws(() => setupTraining({ hidden: 2 }, { x, y: randomRows(19, 6, 2) }, backend), (e: unknown) => e instanceof ValidationError && /targets.*20x6.*19x6/.test(e.message));
  assert.throws(() => setupTraining({ hidden: 2 }, { x, y: randomRows(20, 6, 2), validation: { x: randomRows(5, 6, 3) } }, backend), /validation targets/);
  assert.throws(
    () => setupTraining({ hidden: 2, earlyStopping: { patience: 2, minDelta: 0, monitor: 'val_loss', restoreBestWeights: true } }, { x }, backend),
    /val_loss.*no test rows/,
  );
  assert.throws(() => setupTraining({ hidden: 2 }, { x, validation: { x: randomRows(5, 5, 3) } }, backend), /validation rows.*6 columns/);
  assert.throws(() => setupTraining({ hidden: 2, loss: 'bce', scale: 'unit' }, { x }, backend), /bce.*\[0, 1\]/);
});
