import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveBackend } from '../backends/index.js';
import { ValidationError } from '../core/errors.js';
import { loadMnistDataset } from '../data/dataset.js';
import { prepareTraining } from '../train/recipe.js';
import { compareInpainting, inpaintingTable } from './inpaint.js';
import { contractiveStudy, syntheticPcaStudy } from './lab.js';

const { backend } = resolveBackend('auto');

test('a tied linear autoencoder spans the top-d PCA subspace of synthetic data: principal angles below 5°', () => {
  const s = syntheticPcaStudy({ epochs: 20, backend });
  assert.equal(s.angles.length, 3);
  assert.ok(Math.max(...s.angles) < 5, `angles ${s.angles}`);
  // And it reconstructs about as well as PCA itself.
  assert.ok(s.aeMse < 1.5 * s.pcaMse, `AE ${s.aeMse} vs PCA ${s.pcaMse}`);
});

test('the contractive penalty contracts: mean ‖∂h/∂x‖_F falls as λ grows', () => {
  const data = loadMnistDataset({ limit: 3000 });
  const rows = contractiveStudy(data, { epochs: 3, backend }, [0, 1e-3, 1e-2]);
  assert.ok(rows[0]!.jacobianNorm > rows[1]!.jacobianNorm && rows[1]!.jacobianNorm > rows[2]!.jacobianNorm, JSON.stringify(rows));
});

test('inpainting comparison: masks, kept pixels, OpenCV outputs and an honest verdict', async () => {
  const data = loadMnistDataset({ limit: 2000 });
  const run = prepareTraining({ hidden: 100, epochs: 2, variant: 'denoising' }, data, backend, { inPlace: true });
  run.fit();
  const c = await compareInpainting(run.model, run.config.scaling, run.test!, { noise: 'dropout:0.5', count: 40, seed: 3, image: data.image!, backend });
  assert.equal(c.count, 40);
  assert.ok(Math.abs(c.missingFraction - 0.5) < 0.03, `missing ${c.missingFraction}`);
  assert.deepEqual(c.scores.map((s) => s.method), ['ae', 'ae-kept', 'telea', 'ns']);
  const { mask, clean, telea, ns } = c.images;
  for (let i = 0; i < mask.data.length; i++) {
    if (mask.data[i] === 0) {
      // Known pixels: kept exactly by "AE, known kept", and by OpenCV up to 8-bit rounding.
      assert.equal(c.images['ae-kept'].data[i], clean.data[i]);
      assert.ok(Math.abs(telea.data[i]! - clean.data[i]!) <= 0.5 / 255 + 1e-6);
      assert.ok(Math.abs(ns.data[i]! - clean.data[i]!) <= 0.5 / 255 + 1e-6);
    }
  }
  for (const s of c.scores) assert.ok(s.mse > 0 && Number.isFinite(s.psnr));
  // Keeping the known pixels can only help the AE.
  assert.ok(c.scores[1]!.mse <= c.scores[0]!.mse);
  assert.match(inpaintingTable(c), /The lecture's claim (holds|does not hold) here/);
  await assert.rejects(
    compareInpainting(run.model, run.config.scaling, run.test!, { noise: 'gaussian:0.1', count: 4, seed: 0, image: data.image!, backend }),
    (e: unknown) => e instanceof ValidationError && /a corruption that removes pixels/.test((e as Error).message),
  );
});
