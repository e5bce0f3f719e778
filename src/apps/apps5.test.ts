import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveBackend } from '../backends/index.js';
import { matrix } from '../core/matrix.js';
import { Rng } from '../core/rng.js';
import { loadMnistDataset } from '../data/dataset.js';
import { downsampleArea, upsampleBicubic } from '../baselines/resize.js';
import { loadOpenCv } from '../baselines/opencv.js';
import { Autoencoder } from '../nn/autoencoder.js';
import { prepareTraining } from '../train/recipe.js';
import { energyInpaint, comparePatchInpainting } from './energy.js';
import { interpolate, nearestDistances } from './interpolate.js';
import { degrade } from './superres.js';

const { backend } = resolveBackend('auto');

test('nearestDistances agrees with a brute-force search', () => {
  const rng = new Rng(4);
  const data = matrix(300, 17);
  const q = matrix(7, 17);
  rng.fillUniform(data.data, -1, 1);
  rng.fillUniform(q.data, -1, 1);
  q.data.set(data.data.subarray(42 * 17, 43 * 17), 3 * 17); // query 3 is data row 42
  const { rms, index } = nearestDistances(q, data, backend, 64);
  for (let i = 0; i < 7; i++) {
    let best = Infinity;
    let at = -1;
    for (let r = 0; r < 300; r++) {
      let s = 0;
      for (let k = 0; k < 17; k++) s += (q.data[i * 17 + k]! - data.data[r * 17 + k]!) ** 2;
      if (s < best) [best, at] = [s, r];
    }
    assert.equal(index[i], at);
    // The ‖q‖² + ‖x‖² − 2q·x expansion in float32 costs a little precision near zero distance.
    assert.ok(Math.abs(rms[i]! - Math.sqrt(best / 17)) < 1e-3);
  }
  assert.equal(index[3], 42);
  assert.ok(rms[3]! < 1e-3);
});

test('interpolation: pixel rows blend the end points; code rows decode the blended codes', () => {
  const model = new Autoencoder({ layers: [6, 3], activation: 'tanh', outputActivation: 'tanh', tied: false }, backend, new Rng(2));
  const a = Float32Array.of(0.1, -0.2, 0.3, 0.4, -0.5, 0.6);
  const b = Float32Array.of(-0.6, 0.5, -0.4, 0.3, 0.2, -0.1);
  const r = interpolate(model, a, b, 5);
  assert.deepEqual(r.ts, [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(Array.from(r.pixel.data.subarray(0, 6)), Array.from(a));
  assert.deepEqual(Array.from(r.pixel.data.subarray(24, 30)), Array.from(b));
  const ends = model.reconstruct(matrix(2, 6, Float32Array.from([...a, ...b])));
  for (let i = 0; i < 6; i++) {
    assert.ok(Math.abs(r.latent.data[i]! - ends.data[i]!) < 1e-6);
    assert.ok(Math.abs(r.latent.data[24 + i]! - ends.data[6 + i]!) < 1e-6);
  }
  assert.throws(() => interpolate(model, a, b, 1), /steps: expected an integer >= 2/);
});

test('resizing matches OpenCV: INTER_AREA down, INTER_CUBIC up', async () => {
  const cv = (await loadOpenCv()) as unknown as Record<string, any>;
  const rng = new Rng(8);
  const img = rng.fillUniform(new Float32Array(28 * 28), 0, 1);
  for (const f of [2, 4]) {
    const src = cv.matFromArray(28, 28, cv.CV_32FC1, Array.from(img));
    const small = new cv.Mat();
    const up = new cv.Mat();
    try {
      cv.resize(src, small, new cv.Size(28 / f, 28 / f), 0, 0, cv.INTER_AREA);
      cv.resize(small, up, new cv.Size(28, 28), 0, 0, cv.INTER_CUBIC);
      const mine = downsampleArea(img, 28, 28, f);
      const mineUp = upsampleBicubic(mine, 28 / f, 28 / f, f);
      mine.forEach((v, i) => assert.ok(Math.abs(v - small.data32F[i]) < 1e-6, `area x${f} [${i}]`));
      mineUp.forEach((v, i) => assert.ok(Math.abs(v - up.data32F[i]) < 1e-5, `cubic x${f} [${i}]`));
    } finally {
      src.delete();
      small.delete();
      up.delete();
    }
  }
  // A constant image stays constant: the cubic weights sum to one.
  const flat = upsampleBicubic(new Float32Array(49).fill(0.3), 7, 7, 4);
  flat.forEach((v) => assert.ok(Math.abs(v - 0.3) < 1e-6));
  const d = degrade(matrix(2, 784, new Float32Array(1568).fill(-0.5)), 28, 2);
  assert.deepEqual([d.low.cols, d.bicubic.cols], [196, 784]);
});

test('energy minimisation lowers the energy and, on grey patches, beats the plain reconstruction', async () => {
  const data = loadMnistDataset({ limit: 4000 });
  const run = prepareTraining({ hidden: 200, epochs: 3, variant: 'denoising' }, data, backend, { inPlace: true });
  run.fit();
  const c = await comparePatchInpainting(run.model, run.config.scaling, run.test!, { patch: 10, count: 100, seed: 1, image: data.image!, backend, steps: 150, lr: 0.05, penalty: 1e-3 });
  assert.ok(c.energies[c.energies.length - 1]! < 0.5 * c.energies[0]!, `energy ${c.energies[0]} → ${c.energies.at(-1)}`);
  const ae = c.scores.find((s) => s.method === 'ae')!;
  const en = c.scores.find((s) => s.method === 'energy')!;
  assert.ok(en.psnr > ae.psnr, `energy ${en.psnr} dB vs plain ${ae.psnr} dB`);
  // Zero steps leaves the codes at enc(x̃): the decoding is the plain reconstruction.
  const x = matrix(3, 784, run.test!.data.slice(0, 3 * 784));
  const known = matrix(3, 784, new Float32Array(3 * 784).fill(1));
  const r0 = energyInpaint(run.model, x, known, { steps: 0, lr: 0.05, penalty: 0 });
  assert.deepEqual(Array.from(r0.reconstruction.data), Array.from(run.model.reconstruct(x).data));
});
