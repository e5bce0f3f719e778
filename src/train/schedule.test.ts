import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ValidationError } from '../core/errors.js';
import { matrix } from '../core/matrix.js';
import { Rng } from '../core/rng.js';
import { JsBackend } from '../backends/js/index.js';
import { Autoencoder } from '../nn/autoencoder.js';
import { Adam } from '../optim/adam.js';
import { checkEarlyStopping, EarlyStopper, parseLrSchedule } from './schedule.js';
import { fit, type FitSummary } from './trainer.js';

const PY = '/usr/bin/python3';
const torchOk = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

/** The learning rates PyTorch's scheduler gives for `epochs` epochs (stepped once per epoch, with `losses` for plateau). */
function torchLrs(make: string, epochs: number, losses: number[] = []): number[] {
  const code = `
import json, math, torch
p = [torch.nn.Parameter(torch.zeros(1))]
o = torch.optim.SGD(p, lr=0.1)
s = ${make}
losses = ${JSON.stringify(losses).replace(/null/g, 'float("nan")')}
out = []
for e in range(${epochs}):
    out.append(o.param_groups[0]['lr'])
    o.step()
    s.step(losses[e]) if losses else s.step()
print(json.dumps(out))`;
  const r = spawnSync(PY, ['-c', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as number[];
}

function ours(spec: string, epochs: number, losses: number[] = []): number[] {
  const s = parseLrSchedule(spec, 0.1, epochs);
  const out: number[] = [];
  for (let e = 1; e <= epochs; e++) {
    out.push(s.lrFor(e));
    s.observe(losses[e - 1] ?? 0);
  }
  return out;
}

function close(a: number[], b: number[]): void {
  assert.equal(a.length, b.length);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) <= 1e-12 * Math.max(1, Math.abs(b[i]!)), `epoch ${i + 1}: ${v} against ${b[i]}`));
}

test('each schedule gives the learning rates written out by hand at chosen epochs', () => {
  const step = ours('step:3:0.5', 10);
  assert.deepEqual([step[0], step[2], step[3], step[6], step[9]], [0.1, 0.1, 0.05, 0.025, 0.0125]);
  const exp = ours('exponential:0.9', 4);
  close(exp, [0.1, 0.09, 0.081, 0.0729]);
  const cos = ours('cosine', 4);
  close(cos, [0.1, 0.1 * (1 + Math.cos(Math.PI / 4)) / 2, 0.05, 0.1 * (1 + Math.cos((3 * Math.PI) / 4)) / 2]);
  // Plateau: factor 0.5, patience 2; the loss stalls at 0.9 from epoch 2, so after epochs 3, 4, 5 (three bad) the lr halves.
  close(ours('plateau:0.5:2', 7, [1, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]), [0.1, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05]);
  assert.equal(parseLrSchedule('step:5', 1, 10).spec, 'step:5:0.1');
});

test('each schedule matches PyTorch torch.optim.lr_scheduler epoch for epoch', { skip: torchOk ? false : 'no /usr/bin/python3 with torch' }, () => {
  close(ours('step:3:0.5', 12), torchLrs('torch.optim.lr_scheduler.StepLR(o, 3, 0.5)', 12));
  close(ours('exponential:0.8', 12), torchLrs('torch.optim.lr_scheduler.ExponentialLR(o, 0.8)', 12));
  close(ours('cosine:0.001', 12), torchLrs('torch.optim.lr_scheduler.CosineAnnealingLR(o, 12, 0.001)', 12));
  // A plateau, a tiny relative change (below the 1e-4 threshold), a NaN and a recovery.
  const losses = [1, 0.9, 0.9, 0.89999, 0.9, 0.85, 0.85, 0.85, 0.85, NaN, 0.2, 0.2, 0.2, 0.2];
  close(ours('plateau:0.5:2', 14, losses), torchLrs('torch.optim.lr_scheduler.ReduceLROnPlateau(o, factor=0.5, patience=2)', 14, losses));
  close(ours('plateau', 14, losses), torchLrs('torch.optim.lr_scheduler.ReduceLROnPlateau(o)', 14, losses));
});

test('a bad schedule spec is one ValidationError naming what was expected', () => {
  for (const [spec, pattern] of [
    ['linear', /lr schedule: expected step:N\[:gamma\], exponential:gamma, cosine\[:eta_min\] or plateau/],
    ['step', /step size N: expected a positive integer of epochs, received "nothing"/],
    ['step:0', /step size N: expected a positive integer/],
    ['step:2:0', /gamma: expected a number > 0/],
    ['exponential', /gamma: expected a number > 0/],
    ['cosine:1', /eta_min: expected a number in \[0, 0\.1\]/],
    ['plateau:1', /factor: expected a number in \(0, 1\)/],
    ['plateau:0.5:1.5', /patience: expected an integer >= 0/],
    ['step:2:0.5:9', /at most 2 parameters for step/],
  ] as const) {
    assert.throws(() => parseLrSchedule(spec, 0.1, 10), (e: unknown) => e instanceof ValidationError && pattern.test(e.message), spec);
  }
});

test("early stopping follows Keras' EarlyStopping on a loss sequence built to plateau", () => {
  const run = (losses: number[], patience: number, minDelta = 0) => {
    const es = new EarlyStopper(checkEarlyStopping({ patience, minDelta }));
    for (let e = 1; e <= losses.length; e++) {
      es.improved(e, losses[e - 1]!);
      if (es.shouldStop) return { stopped: e, best: es.bestEpoch };
    }
    return { stopped: null, best: es.bestEpoch };
  };
  const plateau = [1, 0.6, 0.5, 0.5, 0.49, 0.52, 0.51, 0.5, 0.3];
  // patience 3: epochs 6, 7, 8 do not beat 0.49 → stop after epoch 8, best epoch 5.
  assert.deepEqual(run(plateau, 3), { stopped: 8, best: 5 });
  // min_delta 0.02: 0.49 is not 0.02 better than 0.5, so the best stays epoch 3 and the stop comes after epoch 6.
  assert.deepEqual(run(plateau, 3, 0.02), { stopped: 6, best: 3 });
  // patience 0 stops at the first epoch that does not improve (Keras: wait >= 0).
  assert.deepEqual(run(plateau, 0), { stopped: 4, best: 3 });
  // Enough patience: the run ends on its own, and the last epoch is the best.
  assert.deepEqual(run(plateau, 5), { stopped: null, best: 9 });
  // A NaN never counts as best, and counts as an epoch without improvement.
  assert.deepEqual(run([NaN, 1, NaN, NaN], 2), { stopped: 4, best: 2 });
  assert.throws(() => checkEarlyStopping({ patience: -1 }), ValidationError);
  assert.throws(() => checkEarlyStopping({ patience: 2, minDelta: -0.1 }), ValidationError);
});

test("early stopping in fit restores the best epoch's weights exactly, and a schedule sets each epoch's lr", () => {
  // Random rows and a wide code with a large step: the held-out loss falls, then rises as the model overfits.
  const backend = new JsBackend();
  const rng = new Rng(5);
  const train = matrix(48, 12);
  const heldOut = matrix(48, 12);
  rng.fillUniform(train.data, -1, 1);
  rng.fillUniform(heldOut.data, -1, 1);
  const model = new Autoencoder({ layers: [12, 10], activation: 'tanh', outputActivation: 'tanh', tied: false }, backend, new Rng(1));
  const optimizer = new Adam(model.params, { lr: 0.03 });
  const snapshots = new Map<number, Float32Array[]>();
  const summary: FitSummary = { stoppedEpoch: null, bestEpoch: null, restoredBest: false };
  const history = fit(model, train, {
    epochs: 200,
    batchSize: 16,
    loss: 'mse',
    optimizer,
    rng: new Rng(2),
    test: heldOut,
    lrSchedule: parseLrSchedule('exponential:0.99', 0.03, 200),
    earlyStopping: { patience: 5 },
    summary,
    callbacks: { onEpochEnd: (m) => snapshots.set(m.epoch, model.params.map((p) => p.value.slice())) },
  });
  assert.ok(summary.stoppedEpoch !== null && summary.stoppedEpoch < 200, `stopped at ${summary.stoppedEpoch}`);
  assert.equal(history.length, summary.stoppedEpoch);
  const losses = history.map((m) => m.testLoss!);
  const bestEpoch = losses.indexOf(Math.min(...losses)) + 1;
  assert.equal(summary.bestEpoch, bestEpoch);
  assert.equal(summary.stoppedEpoch, bestEpoch + 5);
  assert.equal(summary.restoredBest, true);
  model.params.forEach((p, i) => assert.deepEqual(p.value, snapshots.get(bestEpoch)![i], `param ${p.name}`));
  history.forEach((m) => assert.ok(Math.abs(m.lr - 0.03 * 0.99 ** (m.epoch - 1)) < 1e-15, `epoch ${m.epoch} lr ${m.lr}`));
  assert.ok(Math.abs(optimizer.lr - 0.03 * 0.99 ** (history.length - 1)) < 1e-15);
});
