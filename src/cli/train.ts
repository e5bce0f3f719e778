import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Backend } from '../core/backend.js';
import type { Dataset } from '../data/dataset.js';
import type { Scaling } from '../data/scaling.js';
import { loadModel, type ModelConfig } from '../io/model-file.js';
import { readCheckpoint, restoreCheckpoint, writeCheckpoint, type CheckpointState } from '../train/checkpoint.js';
import { trainingData } from './common.js';

import { ACTIVATIONS, LOSSES } from '../core/backend.js';
import { loadDataset, splitValidation } from '../data/dataset.js';
import { SCALINGS } from '../data/scaling.js';
import { ensureDir, writeFileAtomic } from '../io/atomic.js';
import { saveModel } from '../io/model-file.js';
import { MONITORS } from '../train/schedule.js';
import { NOTEBOOK_SETTINGS, OPTIMIZERS, prepareTraining, VARIANTS, type Training, type TrainSettings } from '../train/recipe.js';
import type { EpochMetrics } from '../train/trainer.js';
import { meanBaselineLoss } from '../train/evaluate.js';
import { reconstructionPng } from './reconstruct.js';
import { backendFrom } from './common.js';
import { UsageError } from './exit.js';
import { choiceFlag, intFlag, listFlag, numberFlag } from './options.js';
import { progressCallbacks } from './progress.js';
import { addReadOptions, DATA_HELP, readOptionsFrom, type ReadFlags } from './data-flags.js';

export interface TrainFlags extends ReadFlags {
  data: string;
  resume?: string;
  validationSplit?: string;
  testData?: string;
  hidden?: string;
  layers?: string;
  activation: string;
  outputActivation?: string;
  loss: string;
  scale?: string;
  tied?: boolean;
  epochs?: string;
  batch?: string;
  lr: string;
  optimizer: string;
  momentum: string;
  seed: string;
  backend: string;
  limit?: string;
  noise?: string;
  variant?: string;
  contractive?: string;
  sparse: string;
  weightDecay: string;
  force?: boolean;
  out?: string;
  lrSchedule?: string;
  earlyStopping?: string;
  minDelta?: string;
  monitor?: string;
  restoreBest?: boolean;
}

/**
 * Defaults for data other than MNIST from its size, where the notebook's (batch 256, 20
 * epochs, code 30, made for 60000 digits) would train a few hundred rows for a few dozen
 * Adam steps and end worse than predicting each column's mean:
 * - for a table (a CSV, a 2-D float .npy), code size min(30, ceil(features / 4)), as
 *   `ae anomaly` has chosen for tables (pictures keep the notebook's 30);
 * - batch the power of two nearest rows / 10, within 16..256;
 * - epochs enough for about 4000 Adam steps, within 20..2000.
 */
export function tableDefaults(rows: number, features: number): { hidden: number; batchSize: number; epochs: number } {
  const hidden = Math.min(30, Math.max(1, Math.ceil(features / 4)));
  const batchSize = Math.min(256, Math.max(16, 2 ** Math.round(Math.log2(Math.max(1, rows / 10)))));
  const steps = Math.ceil(rows / batchSize);
  const epochs = Math.min(2000, Math.max(20, Math.ceil(4000 / steps)));
  return { hidden, batchSize, epochs };
}

/** The held-out fraction when there is no test data and --validation-split is not given (scikit-learn's train_test_split holds out 0.25; 0.2 keeps more rows for training). */
export const DEFAULT_VALIDATION_SPLIT = 0.2;

/** Flags -> library settings; every value is checked here or by resolveSettings. */
export function settingsFromFlags(f: TrainFlags): Partial<TrainSettings> {
  if (f.hidden !== undefined && f.layers !== undefined) throw new UsageError('--hidden and --layers: expected one of them, received both');
  const loss = choiceFlag('--loss', f.loss, LOSSES);
  const s: Partial<TrainSettings> = {
    hidden: f.hidden === undefined ? NOTEBOOK_SETTINGS.hidden : intFlag('--hidden', f.hidden),
    activation: choiceFlag('--activation', f.activation, ACTIVATIONS),
    loss,
    // BCE needs targets in [0,1], so it implies unit scaling unless told otherwise. 'standard'
    // is StandardScaler's (x − mean) / std, with a linear output layer by default.
    scale: choiceFlag('--scale', f.scale ?? (loss === 'bce' ? 'unit' : 'symmetric'), SCALINGS),
    tied: f.tied === true,
    epochs: f.epochs === undefined ? NOTEBOOK_SETTINGS.epochs : intFlag('--epochs', f.epochs),
    batchSize: f.batch === undefined ? NOTEBOOK_SETTINGS.batchSize : intFlag('--batch', f.batch),
    lr: numberFlag('--lr', f.lr, 'a number > 0', (n) => n > 0),
    optimizer: choiceFlag('--optimizer', f.optimizer, OPTIMIZERS),
    momentum: numberFlag('--momentum', f.momentum, 'a number in [0, 1)', (n) => n >= 0 && n < 1),
    seed: intFlag('--seed', f.seed, 0),
  };
  if (f.layers !== undefined) s.layers = listFlag('--layers', f.layers);
  if (f.variant !== undefined) s.variant = choiceFlag('--variant', f.variant, VARIANTS);
  if (f.noise !== undefined) s.noise = f.noise;
  if (f.contractive !== undefined) s.contractive = numberFlag('--contractive', f.contractive, 'a penalty weight λ >= 0', (n) => n >= 0);
  s.sparse = numberFlag('--sparse', f.sparse, 'a penalty weight λ >= 0', (n) => n >= 0);
  s.weightDecay = numberFlag('--weight-decay', f.weightDecay, 'a weight decay λ >= 0', (n) => n >= 0);
  if (f.outputActivation !== undefined) s.outputActivation = choiceFlag('--output-activation', f.outputActivation, ACTIVATIONS);
  if (f.lrSchedule !== undefined) s.lrSchedule = f.lrSchedule;
  if (f.earlyStopping !== undefined) {
    s.earlyStopping = {
      patience: intFlag('--early-stopping', f.earlyStopping, 0),
      minDelta: f.minDelta === undefined ? 0 : numberFlag('--min-delta', f.minDelta, 'a number >= 0', (n) => n >= 0),
      monitor: choiceFlag('--monitor', f.monitor ?? 'val_loss', MONITORS),
      restoreBestWeights: f.restoreBest !== false,
    };
  } else if (f.minDelta !== undefined || f.monitor !== undefined || f.restoreBest === false) {
    throw new UsageError('--min-delta, --monitor and --no-restore-best: expected them with --early-stopping PATIENCE, received them without');
  }
  return s;
}

export function registerTrain(program: Command): void {
  addReadOptions(program
    .command('train')
    .description("train an autoencoder; the defaults are the notebook's 784→30→784, tanh, MSE, Adam lr 1e-3, batch 256, 20 epochs (for a table: chosen from its size, and printed)")
    .option('--out <dir>', 'folder for model.safetensors, checkpoint.safetensors, metrics.json and reconstructions.png (required unless --resume)')
    .option('--data <source>', DATA_HELP, 'mnist')
    .option('--test-data <source>', 'test rows from another source of any of those kinds (default: the source\'s own test part, else a validation split)')
    .option('--validation-split <f>', `without test data, hold out this seeded fraction of the rows as test rows (default ${DEFAULT_VALIDATION_SPLIT}; 0 for none)`)
    .option('--hidden <d>', 'code size d of a one-layer encoder (default 30; for a table min(30, ceil(features / 4)))')
    .option('--layers <sizes>', 'encoder sizes from input to code, e.g. 784,128,30 (instead of --hidden)')
    .option('--activation <name>', `after each linear map: ${ACTIVATIONS.join('|')}`, 'tanh')
    .option('--output-activation <name>', 'after the last decoder layer (default tanh, or sigmoid with --scale unit)')
    .option('--loss <name>', `reconstruction loss: ${LOSSES.join('|')}`, 'mse')
    .option('--scale <kind>', "input scaling, per column for a table: symmetric ([-1,1], the notebook's), unit ([0,1]; the default for bce) or standard ((x − mean) / std)")
    .option('--tied', 'tie the decoder weights to the transposed encoder weights')
    .option('--epochs <n>', 'passes over the training set (default 20; for a table about 4000 Adam steps)')
    .option('--batch <n>', 'mini-batch size (default 256; for a table rows / 10 rounded to a power of two in 16..256)')
    .option('--lr <x>', 'learning rate', '1e-3')
    .option('--optimizer <name>', OPTIMIZERS.join('|'), 'adam')
    .option('--momentum <x>', "SGD's momentum", '0.9')
    .option('--seed <n>', 'seed for initialisation and shuffling', '0')
    .option('--backend <name>', 'auto|native|js', 'auto')
    .option('--limit <n>', 'use only the first N training rows (and at most N test rows)')
    .option('--variant <name>', `${VARIANTS.join('|')} (default standard, or denoising with --noise)`)
    .option('--noise <spec>', 'denoising corruption: dropout:p (nn.Dropout, the default), mask:p, gaussian:sigma, saltpepper:p, patch:k')
    .option('--contractive <lambda>', 'contractive variant: weight of ‖∂h/∂x‖²_F (one-layer encoders)')
    .option('--sparse <lambda>', 'L1 penalty on the code, any variant', '0')
    .option('--weight-decay <lambda>', "the optimiser's weight decay, any variant", '0')
    .option('--lr-schedule <spec>', 'per epoch, as torch.optim.lr_scheduler: step:N[:gamma], exponential:gamma, cosine[:eta_min], plateau[:factor[:patience]]')
    .option('--early-stopping <patience>', "stop after this many epochs without improvement (Keras' EarlyStopping), keeping the best epoch's weights")
    .option('--min-delta <x>', 'early stopping: the least decrease that counts as an improvement (default 0)')
    .option('--monitor <name>', 'early stopping: val_loss (the test or held-out loss, the default) or loss (training)')
    .option('--no-restore-best', "early stopping: keep the last epoch's weights instead of the best epoch's")
    .option('--resume <dir>', "continue the run in DIR from its last checkpoint, with its own settings and data (only --epochs N, the new total, and --backend, by default the run's own, apply); the weights come out as if it had never stopped")
    .option('--force', 'replace a model already in --out'))
    .action(async (f: TrainFlags) => {
      await trainCommand(f);
    });
}

/** The checkpoint's file name in a run folder; the model file's config names it. */
export const CHECKPOINT_FILE = 'checkpoint.safetensors';

/** What a run starts from: fresh flags, or a checkpointed run to continue (--resume). */
interface Plan {
  settings: Partial<TrainSettings>;
  data: Dataset;
  out: string;
  backend: Backend;
  notes: string[];
  /** --limit, recorded so a resumed run reads the same rows. */
  limit: number | undefined;
  resume: { checkpoint: CheckpointState; path: string; scaling: Scaling; history: EpochMetrics[] } | null;
}

/** The settings a run recorded in its model file, back as TrainSettings (for --resume). */
function settingsFromConfig(c: ModelConfig): Partial<TrainSettings> {
  const t = c.training as Record<string, unknown>;
  const pick = <T>(k: string): T | undefined => (t[k] === undefined ? undefined : (t[k] as T));
  const s: Partial<TrainSettings> = {
    layers: [...c.architecture.layers],
    activation: c.architecture.activation,
    outputActivation: c.architecture.outputActivation,
    tied: c.architecture.tied,
    loss: c.loss,
    scale: c.scaling.kind,
  };
  for (const k of ['epochs', 'batchSize', 'lr', 'optimizer', 'momentum', 'seed', 'variant', 'noise', 'contractive', 'sparse', 'weightDecay', 'lrSchedule'] as const) {
    const v = pick(k);
    if (v !== undefined) (s as Record<string, unknown>)[k] = v;
  }
  return s;
}

/** --resume DIR: the run's own settings and data, its checkpoint, and its metrics so far; only --epochs and --backend apply. */
async function resumePlan(f: TrainFlags): Promise<Plan> {
  const dir = f.resume!;
  const modelPath = join(dir, 'model.safetensors');
  const loaded = loadModel(modelPath, backendFrom(f.backend));
  // The run's own backend unless another is asked for: the same seed, backend and machine give the same weights.
  const recordedBackend = (loaded.config.training as { backend?: unknown }).backend;
  const backend = f.backend === 'auto' && (recordedBackend === 'js' || recordedBackend === 'native') ? backendFrom(recordedBackend) : loaded.model.backend;
  if (backend !== loaded.model.backend) Object.assign(loaded, loadModel(modelPath, backend));
  const t = loaded.config.training as Record<string, unknown>;
  if (typeof t['checkpoint'] !== 'string') throw new UsageError(`--resume: expected a run folder whose model names a checkpoint, received "${dir}" (its model has none: trained before checkpoints, or imported)`);
  if (t['earlyStopping'] !== undefined) throw new UsageError(`--resume: expected a run without --early-stopping (its state is not checkpointed yet), received "${dir}"`);
  const ckPath = join(dir, basename(t['checkpoint']));
  const checkpoint = readCheckpoint(ckPath);
  const settings = settingsFromConfig(loaded.config);
  if (f.epochs !== undefined) settings.epochs = intFlag('--epochs', f.epochs);
  if (checkpoint.epoch >= settings.epochs!) {
    throw new UsageError(`--epochs: expected more than the ${checkpoint.epoch} epochs "${dir}" has completed, received ${settings.epochs} (pass --epochs N to train longer)`);
  }
  const { data, limit } = await trainingData(loaded);
  const metricsPath = join(dir, 'metrics.json');
  let history: EpochMetrics[] = [];
  try {
    history = (JSON.parse(readFileSync(metricsPath, 'utf8')) as { epochs: EpochMetrics[] }).epochs.filter((m) => m.epoch <= checkpoint.epoch);
  } catch {
    history = [];
  }
  return { settings, data, limit, out: dir, backend, notes: [`resuming ${dir} after epoch ${checkpoint.epoch}, to epoch ${settings.epochs}`], resume: { checkpoint, path: ckPath, scaling: loaded.config.scaling, history } };
}

export async function trainCommand(f: TrainFlags): Promise<{ run: Training; history: EpochMetrics[]; image: { width: number; height: number } | null }> {
  const plan = f.resume !== undefined ? await resumePlan(f) : await freshPlan(f);
  return runPlan(plan);
}

/** Flags → a fresh run: everything is checked, and the data loaded, before anything is written. */
async function freshPlan(f: TrainFlags): Promise<Plan> {
  if (f.out === undefined) throw new UsageError("--out: expected a folder for the run (or --resume DIR), received nothing");
  const settings = settingsFromFlags(f);
  const limit = f.limit === undefined ? undefined : intFlag('--limit', f.limit);
  const split = f.validationSplit === undefined ? undefined : numberFlag('--validation-split', f.validationSplit, 'a fraction in [0, 1)', (n) => n >= 0 && n < 1);
  const read = readOptionsFrom(f);
  if (split !== undefined && split > 0 && f.testData !== undefined) {
    throw new UsageError(`--validation-split: expected it only without test data, received ${split} with --test-data ${f.testData}`);
  }
  const out = f.out;
  if (existsSync(out) && !statSync(out).isDirectory()) throw new UsageError(`--out: expected a directory, received the file "${out}"`);
  const modelPath = join(out, 'model.safetensors');
  if (existsSync(modelPath) && !f.force) {
    throw new UsageError(`--out: expected a folder without a model (pass --force to replace it), received "${out}" which has model.safetensors`);
  }
  const backend = backendFrom(f.backend);
  let data = await loadDataset(f.data, {
    ...(limit === undefined ? {} : { limit }),
    ...(f.testData === undefined ? {} : { testData: f.testData }),
    ...(Object.keys(read).length ? { read } : {}),
  });
  const notes: string[] = [];
  if (data.test === null) {
    const fraction = split ?? (data.train.rows >= 10 ? DEFAULT_VALIDATION_SPLIT : 0);
    if (fraction > 0) {
      data = splitValidation(data, fraction, settings.seed ?? 0);
      notes.push(`holding out ${data.test!.rows} of ${data.train.rows + data.test!.rows} rows (${fraction}, seed ${settings.seed ?? 0}) as validation rows (--validation-split 0 for none)`);
    } else {
      notes.push('no test data and no validation split: no held-out loss');
    }
  } else if (split !== undefined && split > 0) {
    throw new UsageError(`--validation-split: expected it only without test data, received ${split} with the test part of ${f.data}`);
  }
  if (data.kind !== 'mnist') {
    // The notebook's defaults are made for MNIST's 60000 rows; another source's come from its size.
    const d = tableDefaults(data.train.rows, data.train.cols);
    const chosen: Array<[string, string]> = [];
    if (data.perFeature && f.hidden === undefined && f.layers === undefined) (settings.hidden = d.hidden), chosen.push([`code size ${d.hidden}`, '--hidden']);
    if (f.batch === undefined) (settings.batchSize = d.batchSize), chosen.push([`batch ${d.batchSize}`, '--batch']);
    if (f.epochs === undefined) (settings.epochs = d.epochs), chosen.push([`${d.epochs} epochs`, '--epochs']);
    if (chosen.length) notes.push(`for ${data.train.rows} rows of ${data.train.cols} ${data.perFeature ? 'features' : 'values'}: ${chosen.map((c) => c[0]).join(', ')} (${chosen.map((c) => c[1]).join(', ')} to choose)`);
  }
  return { settings, data, limit, out, backend, notes, resume: null };
}

async function runPlan(plan: Plan): Promise<{ run: Training; history: EpochMetrics[]; image: { width: number; height: number } | null }> {
  const { settings, data, out, backend, notes, resume, limit } = plan;
  const modelPath = join(out, 'model.safetensors');
  const checkpointPath = join(out, CHECKPOINT_FILE);
  const run = prepareTraining(settings, data, backend, { inPlace: true, ...(resume ? { scaling: resume.scaling } : {}) });
  const startEpoch = resume ? restoreCheckpoint(run, resume.checkpoint, resume.path) : 1;
  ensureDir(out);
  run.config.training.checkpoint = CHECKPOINT_FILE;
  if (limit !== undefined) (run.config.training.data as Record<string, unknown>).limit = limit;
  const { scaling, loss, training } = run.config;
  const history: EpochMetrics[] = resume ? [...resume.history] : [];
  const writeMetrics = () =>
    writeFileAtomic(join(out, 'metrics.json'), JSON.stringify({ config: run.config, backend: backend.name, testOutOfRange: run.testOutOfRange, epochs: history }, null, 2) + '\n');
  const progress = progressCallbacks(run.settings.epochs);
  for (const n of notes) process.stderr.write(`ae: ${n}\n`);
  if (run.testOutOfRange) process.stderr.write(`ae: ${run.testOutOfRange} test value${run.testOutOfRange === 1 ? ' lies' : 's lie'} beyond the training range (allowed; they scale past it)\n`);
  process.stderr.write(
    `ae: training ${[...run.model.config.layers, ...run.model.config.layers.slice(0, -1).reverse()].join('→')} (${run.model.config.tied ? 'tied, ' : ''}${run.settings.loss}, ${run.settings.optimizer} lr ${run.settings.lr}, batch ${run.settings.batchSize}) on ${run.train.rows} rows of ${data.source}, backend ${backend.name}\n`,
  );
  run.fit({
    ...progress,
    onEpochEnd: (m) => {
      progress.onEpochEnd?.(m);
      history.push(m);
      // Saved after every epoch, atomically: if a later epoch diverges, this file is the last good
      // model; the checkpoint first, so a model file never names a checkpoint older than itself.
      writeCheckpoint(checkpointPath, run, m.epoch);
      saveModel(modelPath, run.model, { scaling, loss, training: { ...training, epochsCompleted: m.epoch } });
      writeMetrics();
    },
  }, startEpoch);
  const last = history[history.length - 1];
  if (run.test && typeof last?.testLoss === 'number') {
    // The held-out loss beside the mean predictor's, so a user sees at once whether the model learnt anything.
    const baseline = meanBaselineLoss(run.train, run.test, run.settings.loss);
    const part = data.validation ? 'held-out' : 'test';
    process.stdout.write(`${part} ${run.settings.loss.toUpperCase()} ${last.testLoss.toPrecision(4)} against ${baseline.toPrecision(4)} for predicting each feature's training mean\n`);
  }
  const sum = run.summary;
  if (sum.stoppedEpoch !== null) process.stderr.write(`ae: early stopping after epoch ${sum.stoppedEpoch}: no improvement for ${run.settings.earlyStopping!.patience} epochs\n`);
  if (sum.restoredBest) {
    // The model file holds the best epoch's weights, as the run reports.
    saveModel(modelPath, run.model, { scaling, loss, training: { ...training, epochsCompleted: history.length, bestEpoch: sum.bestEpoch } });
    process.stderr.write(`ae: kept the weights of epoch ${sum.bestEpoch}, the best by ${run.settings.earlyStopping!.monitor}\n`);
  }
  writeFileAtomic(join(out, 'metrics.json'), JSON.stringify({ config: run.config, backend: backend.name, testOutOfRange: run.testOutOfRange, ...(run.settings.earlyStopping ? { earlyStopping: sum } : {}), epochs: history }, null, 2) + '\n');
  const figureRows = run.test ?? run.train;
  writeFileAtomic(join(out, 'reconstructions.png'), reconstructionPng(run.model, scaling, figureRows, data.image, 10, run.testCorrupted));
  process.stdout.write(`wrote ${modelPath}, ${join(out, 'metrics.json')}, ${join(out, 'reconstructions.png')}\n`);
  return { run, history, image: data.image };
}
