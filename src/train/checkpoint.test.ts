import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../core/backend.js';
import { ModelFormatError } from '../core/errors.js';
import { loadMnistDataset } from '../data/dataset.js';
import { JsBackend } from '../backends/js/index.js';
import { prepareTraining, type TrainSettings } from './recipe.js';
import { readCheckpoint, restoreCheckpoint, writeCheckpoint } from './checkpoint.js';

let native: Backend | null = null;
try {
  native = new (await import('../backends/native/index.js')).NativeBackend();
} catch {
  native = null;
}

const EPOCHS = 6;
const data = loadMnistDataset({ limit: 300 });

class Interrupted extends Error {}

/** Weights after an uninterrupted run, and after one stopped after `k` epochs and resumed from its checkpoint. */
function runs(backend: Backend, settings: Partial<TrainSettings>, k: number, dir: string): { whole: Float32Array[]; resumed: Float32Array[]; lrs: number[] } {
  const s = { epochs: EPOCHS, batchSize: 64, seed: 3, ...settings };
  const whole = prepareTraining(s, data, backend);
  const lrs = whole.fit().map((m) => m.lr);
  const ck = join(dir, `ck-${k}.safetensors`);
  const first = prepareTraining(s, data, backend);
  assert.throws(
    () =>
      first.fit({
        onEpochEnd: (m) => {
          writeCheckpoint(ck, first, m.epoch);
          if (m.epoch === k) throw new Interrupted(); // the process is killed here
        },
      }),
    Interrupted,
  );
  const second = prepareTraining(s, data, backend);
  const start = restoreCheckpoint(second, readCheckpoint(ck), ck);
  assert.equal(start, k + 1);
  second.fit(undefined, start);
  return { whole: whole.model.params.map((p) => p.value), resumed: second.model.params.map((p) => p.value), lrs };
}

const CASES: Array<[string, Partial<TrainSettings>]> = [
  ['standard 784-16-784, Adam', { hidden: 16 }],
  // lr 0.1: the held-out loss stalls after epoch 5, so the plateau's state (a halved lr) must survive the resume.
  ['denoising 784-32-784, dropout:0.5, with a plateau schedule', { hidden: 32, noise: 'dropout:0.5', lr: 0.1, lrSchedule: 'plateau:0.5:0' }],
  ['SGD with momentum and a cosine schedule', { hidden: 16, optimizer: 'sgd', lr: 0.05, lrSchedule: 'cosine' }],
];

for (const [name, backend] of [['js', new JsBackend()], ['native', native]] as const) {
  for (const [what, settings] of CASES) {
    test(`resume after epochs 1, 3 and 5 gives byte-identical weights: ${what}, ${name}`, { skip: backend ? false : 'native backend did not load' }, () => {
      const dir = mkdtempSync(join(tmpdir(), 'aekit-ckpt-'));
      try {
        for (const k of [1, 3, 5]) {
          const { whole, resumed, lrs } = runs(backend!, settings, k, dir);
          if (settings.lrSchedule) assert.ok(new Set(lrs).size > 1, `the schedule changed the lr during the run: ${lrs.join(', ')}`);
          whole.forEach((w, i) => assert.ok(Buffer.from(w.buffer, w.byteOffset, w.byteLength).equals(Buffer.from(resumed[i]!.buffer, resumed[i]!.byteOffset, resumed[i]!.byteLength)), `k=${k}: tensor ${i} differs`));
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}

// min_delta 0.05: after the first epoch (held-out MSE about 0.3) no epoch improves by that much
// (it levels off near 0.27), so the best epoch is 1 on any backend and rounding.
const KEEP_BEST = { patience: 10, minDelta: 0.05, monitor: 'val_loss' as const, restoreBestWeights: true };
const STOPS = { ...KEEP_BEST, patience: 3 };

for (const [name, backend] of [['js', new JsBackend()], ['native', native]] as const) {
  test(`resume with early stopping is byte-identical: its wait, best loss and best weights survive, ${name}`, { skip: backend ? false : 'native backend did not load' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'aekit-ckpt-'));
    try {
      const settings = { hidden: 16, noise: 'dropout:0.5', lr: 0.03 };
      for (const k of [1, 3, 5]) {
        const { whole, resumed } = runs(backend!, { ...settings, earlyStopping: KEEP_BEST }, k, dir);
        whole.forEach((w, i) => assert.deepEqual(resumed[i], w, `keep-best k=${k}: tensor ${i} differs`));
      }
      // The uninterrupted run restores epoch 1's weights: the resumed runs matched them, not the last epoch's.
      const check = prepareTraining({ epochs: EPOCHS, batchSize: 64, seed: 3, ...settings, earlyStopping: KEEP_BEST }, data, backend!);
      check.fit();
      assert.deepEqual(check.summary, { stoppedEpoch: null, bestEpoch: 1, restoredBest: true });
      // patience 3 stops after epoch 4: runs interrupted before then resume and stop at the same place.
      for (const k of [1, 3]) {
        const { whole, resumed } = runs(backend!, { ...settings, earlyStopping: STOPS }, k, dir);
        whole.forEach((w, i) => assert.deepEqual(resumed[i], w, `stopping k=${k}: tensor ${i} differs`));
      }
      const stopped = prepareTraining({ epochs: EPOCHS, batchSize: 64, seed: 3, ...settings, earlyStopping: STOPS }, data, backend!);
      const ck = join(dir, 'stopped.safetensors');
      stopped.fit({ onEpochEnd: (m) => writeCheckpoint(ck, stopped, m.epoch) });
      assert.equal(stopped.summary.stoppedEpoch, 4);
      const again = prepareTraining({ epochs: EPOCHS, batchSize: 64, seed: 3, ...settings, earlyStopping: STOPS }, data, backend!);
      assert.throws(() => restoreCheckpoint(again, readCheckpoint(ck), ck), (e: unknown) => e instanceof ModelFormatError && /early stopping stopped after epoch 4/.test(e.message));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a checkpoint that does not fit the run, or is not one, is a ModelFormatError naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-ckpt-'));
  try {
    const backend = new JsBackend();
    const a = prepareTraining({ hidden: 8, epochs: 1 }, data, backend);
    const path = join(dir, 'a.safetensors');
    writeCheckpoint(path, a, 1);
    const b = prepareTraining({ hidden: 9, epochs: 1 }, data, backend);
    assert.throws(() => restoreCheckpoint(b, readCheckpoint(path), path), (e: unknown) => e instanceof ModelFormatError && /a\.safetensors: expected 4 tensors of this model's shapes/.test(e.message));
    const sgd = prepareTraining({ hidden: 8, epochs: 1, optimizer: 'sgd' }, data, backend);
    assert.throws(() => restoreCheckpoint(sgd, readCheckpoint(path), path), (e: unknown) => e instanceof ModelFormatError && /SGD state/.test(e.message));
    writeFileSync(join(dir, 'junk.safetensors'), 'not a checkpoint');
    assert.throws(() => readCheckpoint(join(dir, 'junk.safetensors')), ModelFormatError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the deepest architecture allowed (MAX_LAYER_SIZES) writes a checkpoint within the reader\'s MAX_TENSORS', async () => {
  const { MAX_LAYER_SIZES } = await import('../nn/autoencoder.js');
  const { MAX_TENSORS, readSafetensorsFile } = await import('../io/safetensors.js');
  const dir = mkdtempSync(join(tmpdir(), 'aekit-ckpt-deep-'));
  try {
    const layers = [784, ...Array<number>(MAX_LAYER_SIZES - 1).fill(1)];
    // Adam (two moments per weight) and early stopping that keeps the best weights: the most tensors a checkpoint has.
    const run = prepareTraining({ layers, epochs: 1, batchSize: 64, earlyStopping: { patience: 1 } }, data, new JsBackend());
    const ck = join(dir, 'checkpoint.safetensors');
    writeCheckpoint(ck, run, 0);
    const count = readSafetensorsFile(ck).tensors.size;
    assert.equal(count, 4 * 4 * (MAX_LAYER_SIZES - 1));
    assert.ok(count <= MAX_TENSORS, `${count} tensors`);
    assert.throws(() => prepareTraining({ layers: [...layers, 1], epochs: 1 }, data, new JsBackend()), /layers: expected at most 256 sizes, received 257/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a checkpoint state of more than 4096 objects, arrays and keys is refused before it is parsed', async () => {
  const { writeSafetensorsFile } = await import('../io/safetensors.js');
  const dir = mkdtempSync(join(tmpdir(), 'aekit-ckpt-keys-'));
  try {
    const path = join(dir, 'checkpoint.safetensors');
    const state = JSON.stringify({ format: 'aekit-checkpoint/1', epoch: 1, pad: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, 0])) });
    writeSafetensorsFile(path, [], { checkpoint: state });
    assert.throws(() => readCheckpoint(path), (e: unknown) => e instanceof ModelFormatError && e.message === `${path}: checkpoint state: expected JSON of at most 4096 objects, arrays and keys, received 5005`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
