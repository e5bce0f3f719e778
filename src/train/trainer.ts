import type { LossName } from '../core/backend.js';
import { DivergenceError, InterruptedError, ValidationError, expected } from '../core/errors.js';
import { matrix, topRows, type Matrix } from '../core/matrix.js';
import type { Rng } from '../core/rng.js';
import { check } from '../core/validate.js';
import type { Autoencoder } from '../nn/autoencoder.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Corruption } from './corruption.js';
import { NO_REGULARIZATION, type Regularization } from '../nn/regularizers.js';
import { evaluate } from './evaluate.js';
import { checkEarlyStopping, EarlyStopper, type EarlyStoppingOptions, type LrScheduler } from './schedule.js';

export interface EpochMetrics {
  epoch: number;
  /** Mean of the batch objectives (reconstruction plus any penalties) over the epoch, weighted by batch size. */
  trainLoss: number;
  /** Reconstruction loss on the test set after the epoch, or null without a test set. */
  testLoss: number | null;
  /** Denoising: the loss of the reconstructions of corrupted test rows against the clean ones. */
  testLossCorrupted?: number;
  /** Wall-clock seconds of the epoch's training steps (test evaluation excluded). */
  seconds: number;
  samplesPerSecond: number;
  /** The learning rate the epoch's steps used. */
  lr: number;
}

/** What a fit did beyond its epochs: where early stopping stopped and which epoch's weights the model holds. */
export interface FitSummary {
  /** The epoch after which early stopping stopped the run, or null if it ran every epoch. */
  stoppedEpoch: number | null;
  /** The best epoch by the monitored loss, when early stopping watched one. */
  bestEpoch: number | null;
  /** Whether the best epoch's weights were put back at the end. */
  restoredBest: boolean;
}

export interface BatchInfo {
  epoch: number;
  batch: number;
  batches: number;
  loss: number;
}

/** Hooks a fit calls; a hand-written loop can call the same ones. */
export interface Callbacks {
  onEpochStart?(epoch: number): void;
  onBatchEnd?(info: BatchInfo): void;
  onEpochEnd?(metrics: EpochMetrics): void;
}

export interface FitOptions {
  epochs: number;
  batchSize: number;
  loss: LossName;
  optimizer: Optimizer;
  /** Shuffles the training set each epoch (and drives corruption, when there is one). */
  rng: Rng;
  test?: Matrix;
  callbacks?: Callbacks;
  /** Denoising: train to reconstruct each clean batch from its corrupted copy. */
  corruption?: Corruption;
  /** Corrupted copies of the test rows (fixed once), reported as testLossCorrupted. */
  testCorrupted?: Matrix;
  /** Penalties added to the reconstruction loss (contractive, sparse). */
  regularization?: Regularization;
  /**
   * Fixed input/target pairs (super-resolution): row i of `train` is the input and row i of
   * `targets` what the model should output. Without it the target is the (clean) input itself.
   */
  targets?: Matrix;
  /** The test set's targets, when `targets` is used. */
  testTargets?: Matrix;
  /** Sets the optimiser's learning rate before each epoch (parseLrSchedule). */
  lrSchedule?: LrScheduler;
  /** Stops when the monitored loss stops improving (Keras' EarlyStopping; see schedule.ts). */
  earlyStopping?: EarlyStoppingOptions;
  /** Filled in when the fit ends: where it stopped and which weights it kept. */
  summary?: FitSummary;
  /** The first epoch to run (a resumed run: the epoch after its checkpoint). Default 1. */
  startEpoch?: number;
  /**
   * The early stopper and best-weights copies to use instead of fresh ones, so their state
   * outlives the call (a checkpoint saves it, a resumed run puts it back). Used with `earlyStopping`.
   */
  earlyStopper?: EarlyStopper;
  bestWeights?: Float32Array[];
}

/**
 * One optimisation step on a batch: forward, loss, backward, update. Throws
 * DivergenceError naming the epoch and batch when the loss or a weight stops being finite.
 */
export function trainStep(
  model: Autoencoder,
  optimizer: Optimizer,
  input: Matrix,
  target: Matrix,
  loss: LossName,
  epoch: number,
  batch: number,
  reg: Regularization = NO_REGULARIZATION,
): number {
  const value = model.forwardBackward(input, target, loss, reg);
  if (!Number.isFinite(value)) {
    throw new DivergenceError(`training diverged: the loss became ${value} at epoch ${epoch}, batch ${batch}`, epoch, batch);
  }
  if (!optimizer.step(model.backend)) {
    throw new DivergenceError(`training diverged: a weight became NaN or Inf at epoch ${epoch}, batch ${batch}`, epoch, batch);
  }
  return value;
}

/**
 * Mini-batch training: each epoch shuffles the rows with the seeded generator, steps
 * through batches (the last may be smaller, as PyTorch's DataLoader does by default),
 * then evaluates the test set. Buffers are allocated once per fit.
 */
export function fit(model: Autoencoder, train: Matrix, opts: FitOptions): EpochMetrics[] {
  const steps = fitSteps(model, train, opts);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** How often fitAsync lets the event loop run (signal handlers, timers), in milliseconds of training. */
export const YIELD_EVERY_MS = 50;

/**
 * fit, letting the event loop run about every YIELD_EVERY_MS between batches, so a signal
 * handler can stop training: when `signal` is aborted, the fit stops at the next batch boundary
 * and rejects with an InterruptedError naming the last completed epoch. Weights and the history
 * are exactly those of fit (the same steps in the same order); only the pauses differ.
 */
export async function fitAsync(model: Autoencoder, train: Matrix, opts: FitOptions & { signal?: AbortSignal }): Promise<EpochMetrics[]> {
  let last = performance.now();
  let completed = (opts.startEpoch ?? 1) - 1;
  const onEnd = opts.callbacks?.onEpochEnd;
  // The last epoch whose callbacks ran (its files are saved): what an interrupted run keeps.
  const tracked: FitOptions = { ...opts, callbacks: { ...opts.callbacks, onEpochEnd: (m) => (onEnd?.(m), (completed = m.epoch)) } };
  const run = fitSteps(model, train, tracked);
  for (;;) {
    const r = run.next();
    if (r.done) return r.value;
    if (performance.now() - last >= YIELD_EVERY_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      last = performance.now();
    }
    if (opts.signal?.aborted) throw new InterruptedError(String(opts.signal.reason ?? 'interrupted'), completed);
  }
}

/** fit as a generator that pauses after every batch: fit drains it, fitAsync lets the event loop in between. */
function* fitSteps(model: Autoencoder, train: Matrix, opts: FitOptions): Generator<undefined, EpochMetrics[], undefined> {
  check('epochs', opts.epochs, { kind: 'int', min: 1 });
  check('batchSize', opts.batchSize, { kind: 'int', min: 1 });
  if (train.rows === 0) throw new ValidationError(expected('training set', 'at least one row', 0));
  if (train.cols !== model.inputSize) {
    throw new ValidationError(expected('training data width', `${model.inputSize} columns to match the model`, train.cols));
  }
  if (opts.targets && (opts.targets.rows !== train.rows || opts.targets.cols !== model.inputSize)) {
    throw new ValidationError(expected('targets', `${train.rows}x${model.inputSize} to match the training rows`, `${opts.targets.rows}x${opts.targets.cols}`));
  }
  if (opts.test && opts.test.cols !== model.inputSize) {
    throw new ValidationError(expected('test data width', `${model.inputSize} columns to match the model`, opts.test.cols));
  }
  const n = train.rows;
  const batchSize = Math.min(opts.batchSize, n);
  const batches = Math.ceil(n / batchSize);
  const order = new Uint32Array(n);
  const batchBuf = matrix(batchSize, train.cols);
  const noisyBuf = opts.corruption ? matrix(batchSize, train.cols) : null;
  const targetBuf = opts.targets ? matrix(batchSize, train.cols) : null;
  const history: EpochMetrics[] = [];
  const cb = opts.callbacks ?? {};
  const es = opts.earlyStopping ? (opts.earlyStopper ?? new EarlyStopper(checkEarlyStopping(opts.earlyStopping))) : null;
  if (es && es.opts.monitor === 'val_loss' && !opts.test) {
    throw new ValidationError(expected('early stopping monitor val_loss', 'test (or held-out) rows to monitor', 'no test set; monitor loss instead'));
  }
  // The best epoch's weights, copied when it ends (only when they will be put back).
  const best = es && es.opts.restoreBestWeights ? (opts.bestWeights ?? model.params.map((p) => new Float32Array(p.value.length))) : null;
  let stoppedEpoch: number | null = null;
  const first = opts.startEpoch ?? 1;
  check('startEpoch', first, { kind: 'int', min: 1, max: opts.epochs });
  for (let epoch = first; epoch <= opts.epochs; epoch++) {
    if (opts.lrSchedule) opts.optimizer.lr = opts.lrSchedule.lrFor(epoch);
    const lr = opts.optimizer.lr;
    cb.onEpochStart?.(epoch);
    const t0 = performance.now();
    opts.rng.permutation(n, order);
    let lossSum = 0;
    for (let b = 0; b < batches; b++) {
      const start = b * batchSize;
      const count = Math.min(batchSize, n - start);
      const x = topRows(batchBuf, count);
      model.backend.gatherRows(train, order, start, count, x);
      let input = x;
      let target = x;
      if (opts.corruption && noisyBuf) {
        input = topRows(noisyBuf, count);
        opts.corruption.apply(x, input, opts.rng, model.backend);
      }
      if (opts.targets && targetBuf) {
        target = topRows(targetBuf, count);
        model.backend.gatherRows(opts.targets, order, start, count, target);
      }
      const loss = trainStep(model, opts.optimizer, input, target, opts.loss, epoch, b + 1, opts.regularization);
      lossSum += loss * count;
      cb.onBatchEnd?.({ epoch, batch: b + 1, batches, loss });
      yield;
    }
    const seconds = (performance.now() - t0) / 1000;
    const testLoss = opts.test ? evaluate(model, opts.test, opts.loss, opts.testTargets ?? opts.test).loss : null;
    if (testLoss !== null && !Number.isFinite(testLoss)) {
      throw new DivergenceError(`training diverged: the test loss became ${testLoss} after epoch ${epoch}, batch ${batches}`, epoch, batches);
    }
    const metrics: EpochMetrics = { epoch, trainLoss: lossSum / n, testLoss, seconds, samplesPerSecond: n / seconds, lr };
    if (opts.test && opts.testCorrupted) metrics.testLossCorrupted = evaluate(model, opts.testCorrupted, opts.loss, opts.test).loss;
    history.push(metrics);
    const monitored = testLoss ?? metrics.trainLoss;
    opts.lrSchedule?.observe(monitored);
    let stop = false;
    if (es) {
      const value = es.opts.monitor === 'loss' ? metrics.trainLoss : monitored;
      if (es.improved(epoch, value) && best) model.params.forEach((p, i) => best[i]!.set(p.value));
      stop = es.shouldStop;
    }
    cb.onEpochEnd?.(metrics);
    if (stop) {
      stoppedEpoch = epoch;
      break;
    }
  }
  const last = history[history.length - 1]!.epoch;
  const restoredBest = !!(es && best && es.bestEpoch > 0 && es.bestEpoch !== last);
  if (restoredBest) model.params.forEach((p, i) => p.value.set(best![i]!));
  if (opts.summary) Object.assign(opts.summary, { stoppedEpoch, bestEpoch: es ? es.bestEpoch || null : null, restoredBest });
  return history;
}
