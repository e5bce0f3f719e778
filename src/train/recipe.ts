import { ACTIVATIONS, LOSSES, type ActivationName, type Backend, type LossName } from '../core/backend.js';
import { ValidationError, expected } from '../core/errors.js';
import type { Matrix } from '../core/matrix.js';
import { Rng } from '../core/rng.js';
import { check } from '../core/validate.js';
import { checkLayerLengths, checkMemory, estimateTraining, memoryLimit, type TrainingPlan } from '../core/memory.js';
import { scaled, validationMask, type Dataset } from '../data/dataset.js';
import { checkScalable, countOutOfRange, fitFeatureScaling, fitSharedScaling, rangeOf, SCALINGS, scaleInto, type ScaleKind, type Scaling } from '../data/scaling.js';
import { MODEL_FORMAT, type ModelConfig } from '../io/model-file.js';
import { Autoencoder, MAX_LAYER_SIZES } from '../nn/autoencoder.js';
import { checkContractiveDepth, type Regularization } from '../nn/regularizers.js';
import { Adam } from '../optim/adam.js';
import type { Optimizer } from '../optim/optimizer.js';
import { Sgd } from '../optim/sgd.js';
import { corruptAll, makeCorruption, parseNoiseSpec, type Corruption } from './corruption.js';
import { fit, fitAsync, type Callbacks, type EpochMetrics, type FitOptions, type FitSummary } from './trainer.js';
import { checkEarlyStopping, EarlyStopper, parseLrSchedule, type EarlyStoppingOptions, type LrScheduler } from './schedule.js';

export const OPTIMIZERS = ['adam', 'sgd'] as const;
export const VARIANTS = ['standard', 'denoising', 'contractive'] as const;
export type Variant = (typeof VARIANTS)[number];
/** The notebook's corruption, used by the denoising variant when no noise is named. */
export const DEFAULT_NOISE = 'dropout:0.5';
export type OptimizerName = (typeof OPTIMIZERS)[number];

/** Everything that defines a training run. Defaults are the notebook's. */
export interface TrainSettings {
  /** Encoder sizes from input to code; the input size must match the data. Overrides `hidden`. */
  layers?: number[];
  /** Code size d for a one-layer encoder, input → d → input. */
  hidden: number;
  activation: ActivationName;
  /** Defaults to tanh for symmetric scaling, sigmoid for unit scaling and linear for standard scaling. */
  outputActivation?: ActivationName;
  loss: LossName;
  scale: ScaleKind;
  tied: boolean;
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer: OptimizerName;
  /** SGD's momentum. */
  momentum: number;
  seed: number;
  /**
   * standard; denoising (reconstruct the clean input from a corrupted one); contractive
   * (reconstruction + λ‖∂h/∂x‖²_F). Defaults to denoising when `noise` is given, else standard.
   */
  variant?: Variant;
  /** Denoising corruption, e.g. "dropout:0.5" (the notebook's, and the default for denoising). */
  noise?: string;
  /** The contractive variant's λ. */
  contractive?: number;
  /** λ of an L1 penalty on the code, for any variant. */
  sparse: number;
  /** The optimiser's weight decay (λ·w added to the gradient), for any variant. */
  weightDecay: number;
  /** A learning-rate schedule, e.g. "cosine" or "step:10:0.5" (parseLrSchedule); none by default. */
  lrSchedule?: string;
  /** Stop when the monitored loss stops improving, keeping the best weights (Keras' EarlyStopping). */
  earlyStopping?: EarlyStoppingOptions;
}

export const NOTEBOOK_SETTINGS: TrainSettings = {
  hidden: 30,
  activation: 'tanh',
  loss: 'mse',
  scale: 'symmetric',
  tied: false,
  epochs: 20,
  batchSize: 256,
  lr: 1e-3,
  optimizer: 'adam',
  momentum: 0.9,
  seed: 0,
  sparse: 0,
  weightDecay: 0,
};

/** Fills defaults and checks every setting against one table of constraints. */
export function resolveSettings(partial: Partial<TrainSettings> = {}): TrainSettings {
  const s: TrainSettings = { ...NOTEBOOK_SETTINGS, ...partial };
  check('hidden', s.hidden, { kind: 'int', min: 1, max: 1 << 20 });
  if (s.layers !== undefined) {
    if (!Array.isArray(s.layers) || s.layers.length < 2) throw new ValidationError(expected('layers', 'at least two sizes, input first and code last (e.g. 784,128,30)', s.layers));
    if (s.layers.length > MAX_LAYER_SIZES) throw new ValidationError(`layers: expected at most ${MAX_LAYER_SIZES} sizes, received ${s.layers.length}`);
    s.layers.forEach((n, i) => check(`layers[${i}]`, n, { kind: 'int', min: 1, max: 1 << 20 }));
  }
  check('activation', s.activation, { kind: 'oneOf', choices: ACTIVATIONS });
  if (s.outputActivation !== undefined) check('output activation', s.outputActivation, { kind: 'oneOf', choices: ACTIVATIONS });
  check('loss', s.loss, { kind: 'oneOf', choices: LOSSES });
  check('scale', s.scale, { kind: 'oneOf', choices: SCALINGS });
  check('tied', s.tied, { kind: 'boolean' });
  check('epochs', s.epochs, { kind: 'int', min: 1 });
  check('batch', s.batchSize, { kind: 'int', min: 1 });
  check('lr', s.lr, { kind: 'number', min: 0, minExclusive: true });
  check('optimizer', s.optimizer, { kind: 'oneOf', choices: OPTIMIZERS });
  check('momentum', s.momentum, { kind: 'number', min: 0, max: 1, maxExclusive: true });
  check('seed', s.seed, { kind: 'int', min: 0 });
  check('sparse', s.sparse, { kind: 'number', min: 0 });
  check('weight decay', s.weightDecay, { kind: 'number', min: 0 });
  s.variant ??= s.noise !== undefined ? 'denoising' : 'standard';
  check('variant', s.variant, { kind: 'oneOf', choices: VARIANTS });
  if (s.variant === 'denoising') {
    s.noise ??= DEFAULT_NOISE;
    parseNoiseSpec(s.noise);
  } else if (s.noise !== undefined) throw new ValidationError(expected('noise', 'only with the denoising variant', `${s.noise} with variant ${s.variant}`));
  if (s.variant === 'contractive') {
    if (s.contractive === undefined) throw new ValidationError(expected('contractive', 'a penalty weight λ >= 0 for the contractive variant', 'nothing'));
    check('contractive', s.contractive, { kind: 'number', min: 0 });
    if (s.layers !== undefined && s.layers.length > 2) checkContractiveDepth(s.layers.length - 1, s.layers);
  } else if (s.contractive !== undefined) {
    throw new ValidationError(expected('contractive', 'only with the contractive variant', `${s.contractive} with variant ${s.variant}`));
  }
  if (s.lrSchedule !== undefined) parseLrSchedule(s.lrSchedule, s.lr, s.epochs);
  if (s.earlyStopping !== undefined) s.earlyStopping = checkEarlyStopping(s.earlyStopping);
  const out = outputActivationOf(s);
  if (s.loss === 'bce') {
    // BCE needs targets in [0,1] and outputs in (0,1).
    if (s.scale !== 'unit') throw new ValidationError(expected('scale for loss bce', 'unit (targets in [0,1])', s.scale));
    if (out !== 'sigmoid') throw new ValidationError(expected('output activation for loss bce', 'sigmoid (outputs in (0,1))', out));
  }
  return s;
}

export function outputActivationOf(s: TrainSettings): ActivationName {
  return s.outputActivation ?? (s.scale === 'unit' ? 'sigmoid' : s.scale === 'standard' ? 'linear' : 'tanh');
}

export function layersOf(s: TrainSettings, inputSize: number): number[] {
  if (s.layers === undefined) return [inputSize, s.hidden];
  if (s.layers[0] !== inputSize) throw new ValidationError(expected('layers[0]', `${inputSize} to match the data width`, s.layers[0]));
  return [...s.layers];
}

/** What a training plan's memory check needs beyond the settings: the data's width and row counts, and what else the run copies. */
export interface TrainingShape {
  /** Values per row. */
  width: number;
  /** Training rows; 0 when not yet known (then only the model and its optimiser are counted). */
  rows: number;
  testRows?: number;
  targets?: boolean;
  /** Data still to be read or copied before training, in bytes. */
  dataBytes?: number;
}

/**
 * Refuses, in one line and before anything is allocated, a training plan that cannot be held:
 * weight matrices longer than a typed array may be, or an estimate (core/memory's
 * estimateTraining) above the memory available to the process (memoryLimit: the cgroup's
 * headroom or MemAvailable, or AEKIT_MEMORY_LIMIT). The message names the setting (hidden,
 * layers, or batch when the batches dominate), the estimate, its parts and the limit; for a
 * one-layer code, the largest code size that fits.
 */
export function checkTrainingMemory(s: TrainSettings, shape: TrainingShape): void {
  const what = s.layers !== undefined ? 'layers' : 'hidden';
  const layers = layersOf(s, shape.width);
  checkLayerLengths(what, layers);
  const plan = (l: readonly number[]): TrainingPlan => ({
    layers: l,
    tied: s.tied,
    optimizer: s.optimizer,
    batchSize: s.batchSize,
    rows: shape.rows,
    testRows: shape.testRows ?? 0,
    corruption: s.noise !== undefined,
    targets: shape.targets === true,
    bestWeights: s.earlyStopping !== undefined && checkEarlyStopping(s.earlyStopping).restoreBestWeights,
    dataBytes: shape.dataBytes ?? 0,
  });
  const need = estimateTraining(plan(layers));
  const model = need.parts.filter(([label]) => label !== 'activations' && label !== 'batches' && label !== 'data').reduce((t, p) => t + p[1], 0);
  const perBatch = need.parts.filter(([label]) => label === 'activations' || label === 'batches').reduce((t, p) => t + p[1], 0);
  const limit = memoryLimit();
  if (need.bytes <= limit.bytes) return;
  let hint: string | undefined;
  if (s.layers === undefined) {
    // The estimate grows with the code size: the largest that fits, by bisection.
    let lo = 0;
    let hi = s.hidden;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (estimateTraining(plan([shape.width, mid])).bytes <= limit.bytes) lo = mid;
      else hi = mid;
    }
    hint = lo >= 1 ? `at most about ${lo} hidden units fit` : 'not even 1 hidden unit fits';
  }
  checkMemory(perBatch > model ? 'batch' : what, need, 'a training plan', { limit, ...(hint ? { hint } : {}) });
}

export function makeOptimizer(s: TrainSettings, model: Autoencoder): Optimizer {
  return s.optimizer === 'adam'
    ? new Adam(model.params, { lr: s.lr, weightDecay: s.weightDecay })
    : new Sgd(model.params, { lr: s.lr, momentum: s.momentum, weightDecay: s.weightDecay });
}

export function regularizationOf(s: TrainSettings): Regularization {
  return { contractive: s.variant === 'contractive' ? (s.contractive ?? 0) : 0, sparse: s.sparse };
}

/**
 * BCE is −[x log x̂ + (1−x) log(1−x̂)]: a target outside [0, 1] gives a loss that is not a
 * cross-entropy (it can go negative), so such data is refused before training.
 */
function checkBceDomain(what: string, m: Matrix): void {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of m.data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo < 0 || hi > 1 || Number.isNaN(lo + hi)) {
    throw new ValidationError(expected(`${what} for loss bce`, 'values in [0, 1] after scaling', `values in [${lo.toPrecision(4)}, ${hi.toPrecision(4)}]`));
  }
}

function inUnitInterval(m: Matrix): boolean {
  for (let i = 0; i < m.data.length; i++) if (!(m.data[i]! >= 0 && m.data[i]! <= 1)) return false;
  return true;
}

/**
 * Rows already in the model's space, as Keras' `fit(x, y, validation_data, validation_split)`
 * takes them. Every training in the project goes through setupTraining with these.
 */
export interface TrainingInputs {
  /** Training inputs, rows × features, scaled the way the model sees them. */
  x: Matrix;
  /** Targets, row for row (super-resolution: the high-resolution originals). Default: the clean inputs. */
  y?: Matrix;
  /** Validation rows (and their targets), scored after every epoch. */
  validation?: { x: Matrix; y?: Matrix } | null;
  /**
   * Without `validation`: hold out this fraction of the rows (drawn with the settings' seed,
   * as splitValidation draws them) as validation rows. Keras' validation_split takes the last
   * rows instead; a seeded draw does not depend on the file's order.
   */
  validationSplit?: number;
  /** The rows' picture shape, for the patch corruption; null for a table. */
  image?: { width: number; height: number } | null;
}

/** A run set up and ready to fit: the model initialised, its optimiser, corruption and schedule. */
export interface TrainingRun {
  settings: TrainSettings;
  model: Autoencoder;
  /** The training inputs. */
  train: Matrix;
  /** Their targets, when they are not the inputs themselves. */
  targets: Matrix | null;
  /** Validation (or test) rows, and their targets when given. */
  test: Matrix | null;
  testTargets: Matrix | null;
  /** Denoising: the corruption, and the test rows corrupted once with a fixed seed. */
  corruption: Corruption | null;
  testCorrupted: Matrix | null;
  regularization: Regularization;
  optimizer: Optimizer;
  rng: Rng;
  /** After fit: where early stopping stopped, and whether the best epoch's weights were put back. */
  summary: FitSummary;
  /** The learning-rate schedule, when the settings name one. */
  lrSchedule: LrScheduler | null;
  /** Early stopping's state and the best epoch's weights (when restored at the end), kept across fit calls and checkpoints. */
  earlyStopper: EarlyStopper | null;
  bestWeights: Float32Array[] | null;
  /** Runs epochs `startEpoch`..settings.epochs (startEpoch 1 unless resuming a checkpoint). */
  fit(callbacks?: Callbacks, startEpoch?: number): EpochMetrics[];
  /** fit, pausing for the event loop between batches; rejects with InterruptedError once `signal` aborts (trainer.ts fitAsync). */
  fitAsync(callbacks?: Callbacks, startEpoch?: number, signal?: AbortSignal): Promise<EpochMetrics[]>;
}

/** A prepared run of a Dataset: a TrainingRun plus the scaling and the config its model file carries. */
export interface Training extends TrainingRun {
  /** The config a model file of this run carries. */
  config: ModelConfig;
  /** How many raw test values lie outside the training range (null: no test rows, or standard scaling). */
  testOutOfRange: number | null;
}

/** Rows of `m` where `mask` is `want`, in order. */
function rowsWhere(m: Matrix, mask: Uint8Array, want: number): Matrix {
  let count = 0;
  for (const v of mask) if (v === want) count++;
  const out = new Float32Array(count * m.cols);
  let k = 0;
  for (let r = 0; r < m.rows; r++) if (mask[r] === want) out.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), k++ * m.cols);
  return { rows: count, cols: m.cols, data: out };
}

/**
 * The one training set-up (Keras' `fit` over `train_step`): checks the settings against the
 * inputs, seeds one Rng from `settings.seed` that draws the initial weights and then every
 * shuffle and corruption, and builds the model, optimiser, corruption, regulariser and
 * schedule. Returns the run; `run.fit(callbacks)` trains it, and a hand-written loop can use
 * its parts (trainStep with run.model and run.optimizer) instead.
 * Throws ValidationError for settings or inputs that do not fit (widths, BCE's [0, 1] domain,
 * early stopping on val_loss without validation rows).
 */
export function setupTraining(partial: Partial<TrainSettings>, inputs: TrainingInputs, backend: Backend): TrainingRun {
  const settings = resolveSettings(partial);
  let train = inputs.x;
  let targets = inputs.y ?? null;
  let test = inputs.validation?.x ?? null;
  let testTargets = inputs.validation?.y ?? null;
  if (targets && (targets.rows !== train.rows || targets.cols !== train.cols)) {
    throw new ValidationError(expected('targets', `${train.rows}x${train.cols} to match the inputs`, `${targets.rows}x${targets.cols}`));
  }
  if (test && test.cols !== train.cols) throw new ValidationError(expected('validation rows', `${train.cols} columns to match the training rows`, test.cols));
  if (testTargets && test && (testTargets.rows !== test.rows || testTargets.cols !== test.cols)) {
    throw new ValidationError(expected('validation targets', `${test.rows}x${test.cols} to match the validation rows`, `${testTargets.rows}x${testTargets.cols}`));
  }
  if (inputs.validationSplit !== undefined && inputs.validationSplit > 0) {
    if (test) throw new ValidationError(expected('validation split', 'only without validation rows', `${inputs.validationSplit} with ${test.rows} validation rows`));
    const mask = validationMask(train.rows, inputs.validationSplit, settings.seed);
    test = rowsWhere(train, mask, 1);
    if (targets) testTargets = rowsWhere(targets, mask, 1);
    train = rowsWhere(train, mask, 0);
    if (targets) targets = rowsWhere(targets, mask, 0);
  }
  if (test && targets && !testTargets) throw new ValidationError(expected('validation targets', 'targets for the validation rows, as the training rows have', 'none'));
  const layers = layersOf(settings, train.cols);
  if (settings.loss === 'bce') {
    checkBceDomain('training targets', targets ?? train);
    if (test) checkBceDomain('validation targets', testTargets ?? test);
  }
  if (settings.earlyStopping?.monitor === 'val_loss' && !test) {
    throw new ValidationError(expected('early stopping monitor val_loss', 'test or held-out rows to monitor', 'no test rows (monitor loss instead)'));
  }
  // Before anything is allocated: the model, its optimiser and the batches must fit (and the corrupted copy of the test rows).
  checkTrainingMemory(settings, {
    width: train.cols,
    rows: train.rows,
    testRows: test?.rows ?? 0,
    targets: targets !== null,
    dataBytes: settings.noise !== undefined && test ? 4 * test.rows * test.cols : 0,
  });
  const rng = new Rng(settings.seed);
  const model = new Autoencoder({ layers, activation: settings.activation, outputActivation: outputActivationOf(settings), tied: settings.tied }, backend, rng);
  const optimizer = makeOptimizer(settings, model);
  const regularization = regularizationOf(settings);
  const corruption = settings.noise === undefined ? null : makeCorruption(settings.noise, { range: rangeOf(settings.scale), image: inputs.image ?? null });
  // The test set is corrupted once, from its own generator, so every epoch is scored on the same noise.
  const testCorrupted = corruption && test ? corruptAll(test, corruption, new Rng(settings.seed + 1), backend) : null;
  const lrSchedule = settings.lrSchedule === undefined ? null : parseLrSchedule(settings.lrSchedule, settings.lr, settings.epochs);
  const summary: FitSummary = { stoppedEpoch: null, bestEpoch: null, restoredBest: false };
  const earlyStopper = settings.earlyStopping ? new EarlyStopper(checkEarlyStopping(settings.earlyStopping)) : null;
  const bestWeights = earlyStopper?.opts.restoreBestWeights ? model.params.map((p) => new Float32Array(p.value.length)) : null;
  return {
    settings,
    model,
    train,
    targets,
    test,
    testTargets,
    corruption,
    testCorrupted,
    regularization,
    optimizer,
    rng,
    summary,
    lrSchedule,
    earlyStopper,
    bestWeights,
    fit(callbacks?: Callbacks, startEpoch = 1) {
      return fit(model, train, fitOptions(callbacks, startEpoch));
    },
    fitAsync(callbacks?: Callbacks, startEpoch = 1, signal?: AbortSignal) {
      return fitAsync(model, train, { ...fitOptions(callbacks, startEpoch), ...(signal ? { signal } : {}) });
    },
  };
  function fitOptions(callbacks: Callbacks | undefined, startEpoch: number): FitOptions {
    return {
      epochs: settings.epochs,
      batchSize: settings.batchSize,
      loss: settings.loss,
      optimizer,
      rng,
      ...(targets ? { targets } : {}),
      ...(test ? { test } : {}),
      ...(testTargets ? { testTargets } : {}),
      ...(callbacks ? { callbacks } : {}),
      regularization,
      ...(corruption ? { corruption } : {}),
      ...(testCorrupted ? { testCorrupted } : {}),
      ...(lrSchedule ? { lrSchedule } : {}),
      ...(settings.earlyStopping ? { earlyStopping: settings.earlyStopping } : {}),
      ...(earlyStopper ? { earlyStopper } : {}),
      ...(bestWeights ? { bestWeights } : {}),
      summary,
      startEpoch,
    };
  }
}

/**
 * What a model file records of how a run trained (config.training, less its data): the
 * optimiser's hyper-parameters, epochs, batch, seed, variant, corruption, penalties, schedule
 * and backend. Every application's model file records its run through this one function.
 */
export function trainingRecordOf(run: TrainingRun, backend: Backend): Record<string, unknown> {
  const settings = run.settings;
  return {
    ...run.optimizer.describe(),
    epochs: settings.epochs,
    batchSize: settings.batchSize,
    seed: settings.seed,
    variant: settings.variant,
    ...(run.corruption ? { noise: run.corruption.spec } : {}),
    ...(settings.variant === 'contractive' ? { contractive: settings.contractive } : {}),
    sparse: settings.sparse,
    ...(run.lrSchedule ? { lrSchedule: run.lrSchedule.spec } : {}),
    ...(settings.earlyStopping ? { earlyStopping: settings.earlyStopping } : {}),
    backend: backend.name,
  };
}

/**
 * What a model file records of its data (config.training.data): the source and how it was
 * read, so a later command can read the same rows or match a new file's columns by name.
 */
export function dataRecordOf(data: Dataset, trainCount: number, testCount: number): Record<string, unknown> {
  return {
    source: data.source,
    kind: data.kind,
    record: data.record,
    ...(data.testRecord ? { testRecord: data.testRecord } : {}),
    ...(data.validation ? { validation: data.validation } : {}),
    trainCount,
    testCount,
    image: data.image,
    ...(data.columns ? { columns: data.columns } : {}),
  };
}

export interface PrepareOptions {
  /** Scale the dataset's rows where they are (saving a copy); the caller must not use them as raw values afterwards. */
  inPlace?: boolean;
  /** Use this scaling instead of fitting one (a resumed run keeps the one it recorded). */
  scaling?: Scaling;
  /**
   * A fixed transformation of each scaled row set into the model's inputs, the scaled rows
   * being the targets (super-resolution: the bicubic up-scaling of a down-sampled digit).
   */
  inputsFrom?: (clean: Matrix, part: 'train' | 'test') => Matrix;
}

/**
 * A Dataset's training run: fits the scaling on the training rows (per column for a table,
 * one range for pictures), scales train and test, then setupTraining. Also builds the config
 * a model file of the run carries. With `inPlace` the dataset's rows are scaled where they are.
 */
export function prepareTraining(partial: Partial<TrainSettings>, data: Dataset, backend: Backend, opts: PrepareOptions = {}): Training {
  const settings = resolveSettings(partial);
  const width = data.train.cols;
  layersOf(settings, width);
  // Before the scaled copies (without inPlace) and the inputs made from them (inputsFrom).
  const rowsBytes = 4 * width * (data.train.rows + (data.test?.rows ?? 0));
  checkTrainingMemory(settings, {
    width,
    rows: data.train.rows,
    testRows: data.test?.rows ?? 0,
    targets: opts.inputsFrom !== undefined,
    dataBytes: (opts.inPlace ? 0 : rowsBytes) + (opts.inputsFrom ? rowsBytes : 0),
  });
  // A table's columns have their own units: each gets its own range (fitted on the training
  // rows); images share one.
  // Data already in [0, 1] is BCE's own domain: left as it is (a per-column fit would push held-out
  // rows past a column's training range, outside the domain); otherwise each column gets its range.
  const unitAlready = settings.loss === 'bce' && data.perFeature && inUnitInterval(data.train) && (!data.test || inUnitInterval(data.test));
  // A resumed run keeps the scaling it recorded rather than fitting it again.
  const scaling: Scaling = opts.scaling
    ? opts.scaling
    : unitAlready
    ? { kind: 'unit', min: 0, max: 1 }
    : data.perFeature
      ? fitFeatureScaling(settings.scale, data.train.data, data.train.cols)
      : fitSharedScaling(settings.scale, data.train.data, data.rawRange);
  // Test values beyond the training range are allowed (they scale past the range); counted for the report.
  // Values so far beyond that their loss would overflow are refused, naming the value, rather
  // than reported as a diverging run.
  if (data.test) checkScalable(data.test, scaling, data.validation ? 'held-out rows (the validation split)' : 'test data', data.columns);
  const testOutOfRange = data.test ? countOutOfRange(data.test.data, scaling) : null;
  // In place, the dataset's own rows become the scaled ones: MNIST's 188 MB is not held twice.
  const scale = (m: Matrix): Matrix => (opts.inPlace ? (scaleInto(m.data, scaling, m.data), m) : scaled(m, scaling));
  const train = scale(data.train);
  const test = data.test ? scale(data.test) : null;
  if (settings.loss === 'bce') {
    checkBceDomain('training data', train);
    // Held-out rows of a validation split can fall past a column's training range, so outside [0, 1].
    if (test) checkBceDomain(data.validation ? 'held-out rows (the validation split) scaled by the training rows\' ranges,' : 'test data', test);
  }
  const from = opts.inputsFrom;
  const run = setupTraining(
    settings,
    {
      x: from ? from(train, 'train') : train,
      ...(from ? { y: train } : {}),
      validation: test ? { x: from ? from(test, 'test') : test, ...(from ? { y: test } : {}) } : null,
      image: data.image,
    },
    backend,
  );
  const config: ModelConfig = {
    format: MODEL_FORMAT,
    architecture: run.model.config,
    scaling,
    loss: settings.loss,
    training: {
      ...trainingRecordOf(run, backend),
      data: dataRecordOf(data, run.train.rows, run.test?.rows ?? 0),
    },
  };
  return Object.assign(run, { config, testOutOfRange });
}
