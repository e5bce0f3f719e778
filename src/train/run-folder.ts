/**
 * A training run that lives in a folder, as PyTorch Lightning's Trainer keeps one in its
 * `default_root_dir`: model.safetensors (the weights PyTorch loads), checkpoint.safetensors
 * (the optimiser's moments, the generator and the epoch, after every epoch) and metrics.json.
 * A run is planned first (everything checked and the data read, nothing written), then run.
 * A killed run resumes from its folder with byte-identical final weights.
 */
import { readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { resolveBackend } from '../backends/index.js';
import type { Backend } from '../core/backend.js';
import { ValidationError } from '../core/errors.js';
import { check } from '../core/validate.js';
import { loadDataset, splitValidation, type Dataset } from '../data/dataset.js';
import { trainingDataset } from '../data/recorded.js';
import type { Scaling } from '../data/scaling.js';
import type { ReadOptions } from '../data/source.js';
import { ensureDir, writeFileAtomic } from '../io/atomic.js';
import type { OutputLock } from '../io/lock.js';
import { claimOutputs } from '../io/output-check.js';
import { loadModel, saveModel, type ModelConfig } from '../io/model-file.js';
import { reconstructionPng } from '../viz/figures.js';
import { readCheckpoint, restoreCheckpoint, writeCheckpoint, type CheckpointState } from './checkpoint.js';
import { meanBaselineLoss } from './evaluate.js';
import { checkTrainingMemory, prepareTraining, resolveSettings, type Training, type TrainSettings } from './recipe.js';
import type { Callbacks, EpochMetrics } from './trainer.js';

/** MNIST's row width and set sizes, known before it is read. */
const MNIST_WIDTH = 784;
const MNIST_ROWS = { train: 60000, test: 10000 } as const;

/** The checkpoint's file name in a run folder; the model file's config names it. */
export const CHECKPOINT_FILE = 'checkpoint.safetensors';

/** The files a run writes into its folder: a fresh run removes the previous run's before its first save, so the folder never mixes two runs. */
export const RUN_FILES = ['model.safetensors', CHECKPOINT_FILE, 'metrics.json', 'reconstructions.png'] as const;

/** The held-out fraction when there is no test data and no split is given (scikit-learn's train_test_split holds out 0.25; 0.2 keeps more rows for training). */
export const DEFAULT_VALIDATION_SPLIT = 0.2;

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

/** What a run starts from: fresh settings and data, or a checkpointed run to continue. */
export interface RunPlan {
  settings: Partial<TrainSettings>;
  data: Dataset;
  out: string;
  backend: Backend;
  /** Lines saying what was chosen for the user (validation split, table defaults, resuming). */
  notes: string[];
  /** The row limit, recorded so a resumed run reads the same rows. */
  limit: number | undefined;
  resume: { checkpoint: CheckpointState; path: string; scaling: Scaling; history: EpochMetrics[] } | null;
  /** The folder's lock (one writer at a time), taken by planning and released when the run ends. */
  lock: OutputLock;
}

export interface FreshRunOptions {
  /** A data source: "mnist", an IDX folder or file, a .npy, an image folder, a CSV. */
  source: string;
  /** Test rows from another source; default the source's own test part, else a validation split. */
  testData?: string;
  read?: ReadOptions;
  limit?: number;
  /** Without test data: the held-out fraction (default DEFAULT_VALIDATION_SPLIT; 0 for none). */
  validationSplit?: number;
  out: string;
  /** Replace a model already in `out`. */
  force?: boolean;
  backend: Backend;
  /** Which of the size-dependent settings the user chose; the others come from tableDefaults for data other than MNIST. */
  given?: { hidden?: boolean; batchSize?: boolean; epochs?: boolean };
}

/** Checks everything and reads the data for a fresh run. Writes nothing but the folder's lock (`.<out>.aekit.lock`, see io/lock), which the returned plan holds until `executeRun` releases it. Throws ValidationError (bad flags, a folder that holds another run without --force, another process writing it). */
export async function planFreshRun(settings: Partial<TrainSettings>, o: FreshRunOptions): Promise<RunPlan> {
  // The settings on their own first (a schedule, a variant's options), so every mistake in them
  // is named before the output folder or the data; their fit to the data is checked later.
  resolveSettings(settings);
  const split = o.validationSplit;
  if (split !== undefined) check('validation split', split, { kind: 'number', min: 0, max: 1, maxExclusive: true });
  if (split !== undefined && split > 0 && o.testData !== undefined) {
    throw new ValidationError(`--validation-split: expected it only without test data, received ${split} with --test-data ${o.testData}`);
  }
  // The folder checked (a folder, writable, none of its files an input, no run in it without
  // --force) and locked before the data is read, so no other run can write it meanwhile.
  const claim = claimOutputs({
    path: o.out,
    kind: 'folder',
    files: RUN_FILES,
    force: o.force === true,
    inputs: [{ flag: '--data', path: o.source }, { flag: '--test-data', path: o.testData }],
  });
  const lock = claim.lock;
  try {
    return await planLocked(settings, o, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function planLocked(settings: Partial<TrainSettings>, o: FreshRunOptions, lock: OutputLock): Promise<RunPlan> {
  const split = o.validationSplit;
  // When the width is known before the data is read (MNIST's 784, or --layers), a model that
  // cannot fit is refused before reading it; MNIST's rows are known too.
  const knownWidth = settings.layers?.[0] ?? (o.source === 'mnist' ? MNIST_WIDTH : undefined);
  if (knownWidth !== undefined) {
    const mnist = o.source === 'mnist';
    const rows = mnist ? Math.min(o.limit ?? MNIST_ROWS.train, MNIST_ROWS.train) : 0;
    const testRows = mnist && o.testData === undefined ? MNIST_ROWS.test : 0;
    checkTrainingMemory(resolveSettings(settings), { width: knownWidth, rows, testRows, dataBytes: 4 * knownWidth * (rows + testRows) });
  }
  let data = await loadDataset(o.source, {
    ...(o.limit === undefined ? {} : { limit: o.limit }),
    ...(o.testData === undefined ? {} : { testData: o.testData }),
    ...(o.read && Object.keys(o.read).length ? { read: o.read } : {}),
  });
  const s = { ...settings };
  const notes: string[] = [];
  if (data.test === null) {
    const fraction = split ?? (data.train.rows >= 10 ? DEFAULT_VALIDATION_SPLIT : 0);
    if (fraction > 0) {
      data = splitValidation(data, fraction, s.seed ?? 0);
      notes.push(`holding out ${data.test!.rows} of ${data.train.rows + data.test!.rows} rows (${fraction}, seed ${s.seed ?? 0}) as validation rows (--validation-split 0 for none)`);
    } else {
      notes.push('no test data and no validation split: no held-out loss');
    }
  } else if (split !== undefined && split > 0) {
    throw new ValidationError(`--validation-split: expected it only without test data, received ${split} with the test part of ${o.source}`);
  }
  if (data.kind !== 'mnist') {
    // The notebook's defaults are made for MNIST's 60000 rows; another source's come from its size.
    const d = tableDefaults(data.train.rows, data.train.cols);
    const given = o.given ?? {};
    const chosen: Array<[string, string]> = [];
    if (data.perFeature && !given.hidden && s.layers === undefined) (s.hidden = d.hidden), chosen.push([`code size ${d.hidden}`, '--hidden']);
    if (!given.batchSize) (s.batchSize = d.batchSize), chosen.push([`batch ${d.batchSize}`, '--batch']);
    if (!given.epochs) (s.epochs = d.epochs), chosen.push([`${d.epochs} epochs`, '--epochs']);
    if (chosen.length) notes.push(`for ${data.train.rows} rows of ${data.train.cols} ${data.perFeature ? 'features' : 'values'}: ${chosen.map((c) => c[0]).join(', ')} (${chosen.map((c) => c[1]).join(', ')} to choose)`);
  }
  // The data is read: the model, its optimiser and the batches for it (the run scales the rows in place).
  checkTrainingMemory(resolveSettings(s), { width: data.train.cols, rows: data.train.rows, testRows: data.test?.rows ?? 0 });
  return { settings: s, data, limit: o.limit, out: o.out, backend: o.backend, notes, resume: null, lock };
}

/** The settings a run recorded in its model file, back as TrainSettings. */
export function settingsFromConfig(c: ModelConfig): Partial<TrainSettings> {
  const t = c.training as Record<string, unknown>;
  const s: Partial<TrainSettings> = {
    layers: [...c.architecture.layers],
    activation: c.architecture.activation,
    outputActivation: c.architecture.outputActivation,
    tied: c.architecture.tied,
    loss: c.loss,
    scale: c.scaling.kind,
  };
  for (const k of ['epochs', 'batchSize', 'lr', 'optimizer', 'momentum', 'seed', 'variant', 'noise', 'contractive', 'sparse', 'weightDecay', 'lrSchedule', 'earlyStopping'] as const) {
    if (t[k] !== undefined) (s as Record<string, unknown>)[k] = t[k];
  }
  return s;
}

/**
 * Plans the continuation of the run in `dir` from its last checkpoint: its own settings and
 * data, and its metrics so far. Only `epochs` (the new total) and the backend may change;
 * by default (`backend` "auto") the run's own backend is used, since the same seed, backend
 * and machine give the same weights. Throws ValidationError for a folder that cannot resume.
 */
export async function planResume(dir: string, o: { epochs?: number; backend?: string } = {}): Promise<RunPlan> {
  // Its own folder, written again: checked to be one that can be written, and locked.
  const lock = claimOutputs({ flag: '--resume', path: dir, kind: 'folder', files: RUN_FILES, force: true }).lock;
  try {
    return await planResumeLocked(dir, o, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function planResumeLocked(dir: string, o: { epochs?: number; backend?: string }, lock: OutputLock): Promise<RunPlan> {
  const modelPath = join(dir, 'model.safetensors');
  const choice = o.backend ?? 'auto';
  let loaded = loadModel(modelPath, resolveBackend(choice).backend);
  const recorded = (loaded.config.training as { backend?: unknown }).backend;
  if (choice === 'auto' && (recorded === 'js' || recorded === 'native') && recorded !== loaded.model.backend.name) loaded = loadModel(modelPath, resolveBackend(recorded).backend);
  const t = loaded.config.training as Record<string, unknown>;
  if (typeof t['checkpoint'] !== 'string') throw new ValidationError(`--resume: expected a run folder whose model names a checkpoint, received "${dir}" (its model has none: trained before checkpoints, or imported)`);
  const ckPath = join(dir, basename(t['checkpoint']));
  const checkpoint = readCheckpoint(ckPath);
  const settings = settingsFromConfig(loaded.config);
  if (o.epochs !== undefined) settings.epochs = o.epochs;
  if (checkpoint.epoch >= settings.epochs!) {
    throw new ValidationError(`--epochs: expected more than the ${checkpoint.epoch} epochs "${dir}" has completed, received ${settings.epochs} (pass --epochs N to train longer)`);
  }
  const { data, limit } = await trainingDataset(loaded);
  let history: EpochMetrics[] = [];
  try {
    history = (JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as { epochs: EpochMetrics[] }).epochs.filter((m) => m.epoch <= checkpoint.epoch);
  } catch {
    history = [];
  }
  return {
    settings,
    data,
    limit,
    out: dir,
    backend: loaded.model.backend,
    notes: [`resuming ${dir} after epoch ${checkpoint.epoch}, to epoch ${settings.epochs}`],
    resume: { checkpoint, path: ckPath, scaling: loaded.config.scaling, history },
    lock,
  };
}

export interface RunResult {
  run: Training;
  history: EpochMetrics[];
  image: { width: number; height: number } | null;
  /** The files written, and the lines for stdout (the held-out loss against the mean predictor's, what was written). */
  paths: string[];
  text: string;
}

/**
 * Runs a plan in its folder: after every epoch the checkpoint, then the model (so a model
 * file never names a checkpoint older than itself), then metrics.json, each atomically, so
 * a run killed at any point leaves the last good epoch. At the end: reconstructions.png and,
 * when early stopping restored the best epoch, the model with that epoch's weights.
 * `log` receives the lines a user should see on stderr (notes, early stopping).
 */
export async function executeRun(plan: RunPlan, o: { callbacks?: Callbacks; log?: (line: string) => void; signal?: AbortSignal } = {}): Promise<RunResult> {
  try {
    return await executeLocked(plan, o);
  } finally {
    plan.lock.release();
  }
}

async function executeLocked(plan: RunPlan, o: { callbacks?: Callbacks; log?: (line: string) => void; signal?: AbortSignal }): Promise<RunResult> {
  const { settings, data, out, backend, notes, resume, limit } = plan;
  const log = o.log ?? (() => {});
  const modelPath = join(out, 'model.safetensors');
  const metricsPath = join(out, 'metrics.json');
  const checkpointPath = join(out, CHECKPOINT_FILE);
  const run = prepareTraining(settings, data, backend, { inPlace: true, ...(resume ? { scaling: resume.scaling } : {}) });
  const startEpoch = resume ? restoreCheckpoint(run, resume.checkpoint, resume.path) : 1;
  ensureDir(out);
  // A fresh run (planning checked --force) removes the previous run's files just before its
  // first save, so the folder holds one run at every moment, and a run stopped before its
  // first epoch ends leaves the previous one whole.
  let clearOld = !resume;
  run.config.training.checkpoint = CHECKPOINT_FILE;
  if (limit !== undefined) (run.config.training.data as Record<string, unknown>).limit = limit;
  const { scaling, loss, training } = run.config;
  const history: EpochMetrics[] = resume ? [...resume.history] : [];
  const metricsJson = (extra: object = {}) => JSON.stringify({ config: run.config, backend: backend.name, testOutOfRange: run.testOutOfRange, ...extra, epochs: history }, null, 2) + '\n';
  for (const n of notes) log(n);
  if (run.testOutOfRange) log(`${run.testOutOfRange} test value${run.testOutOfRange === 1 ? ' lies' : 's lie'} beyond the training range (allowed; they scale past it)`);
  const layers = run.model.config.layers;
  log(`training ${[...layers, ...layers.slice(0, -1).reverse()].join('→')} (${run.model.config.tied ? 'tied, ' : ''}${run.settings.loss}, ${run.settings.optimizer} lr ${run.settings.lr}, batch ${run.settings.batchSize}) on ${run.train.rows} rows of ${data.source}, backend ${backend.name}`);
  const cb = o.callbacks ?? {};
  await run.fitAsync(
    {
      ...cb,
      onEpochEnd: (m) => {
        cb.onEpochEnd?.(m);
        history.push(m);
        if (clearOld) {
          for (const f of RUN_FILES) rmSync(join(out, f), { force: true });
          clearOld = false;
        }
        writeCheckpoint(checkpointPath, run, m.epoch);
        saveModel(modelPath, run.model, { scaling, loss, training: { ...training, epochsCompleted: m.epoch } });
        writeFileAtomic(metricsPath, metricsJson());
      },
    },
    startEpoch,
    o.signal,
  );
  const lines: string[] = [];
  const sum = run.summary;
  // The epoch whose weights the model file holds: the best one when early stopping put it back.
  const last = sum.restoredBest ? history.find((m) => m.epoch === sum.bestEpoch) : history[history.length - 1];
  if (run.test && typeof last?.testLoss === 'number') {
    // The held-out loss beside the mean predictor's, so a user sees at once whether the model learnt anything.
    const baseline = meanBaselineLoss(run.train, run.test, run.settings.loss);
    lines.push(`${data.validation ? 'held-out' : 'test'} ${run.settings.loss.toUpperCase()} ${last.testLoss.toPrecision(4)}${sum.restoredBest ? ` (epoch ${last.epoch}'s weights, kept)` : ''} against ${baseline.toPrecision(4)} for predicting each feature's training mean`);
  }
  if (sum.stoppedEpoch !== null) log(`early stopping after epoch ${sum.stoppedEpoch}: no improvement for ${run.settings.earlyStopping!.patience} epochs`);
  if (sum.restoredBest) {
    // The model file holds the best epoch's weights, as the run reports.
    saveModel(modelPath, run.model, { scaling, loss, training: { ...training, epochsCompleted: history.length, bestEpoch: sum.bestEpoch } });
    log(`kept the weights of epoch ${sum.bestEpoch}, the best by ${run.settings.earlyStopping!.monitor}`);
  }
  writeFileAtomic(metricsPath, metricsJson(run.settings.earlyStopping ? { earlyStopping: sum } : {}));
  const figurePath = join(out, 'reconstructions.png');
  writeFileAtomic(figurePath, reconstructionPng(run.model, scaling, run.test ?? run.train, data.image, 10, run.testCorrupted));
  lines.push(`wrote ${modelPath}, ${metricsPath}, ${figurePath}`);
  return { run, history, image: data.image, paths: [modelPath, checkpointPath, metricsPath, figurePath], text: lines.join('\n') };
}
