import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ACTIVATIONS, LOSSES } from '../core/backend.js';
import { loadDataset } from '../data/dataset.js';
import { SCALINGS } from '../data/scaling.js';
import { ensureDir, writeFileAtomic } from '../io/atomic.js';
import { saveModel } from '../io/model-file.js';
import { OPTIMIZERS, prepareTraining, VARIANTS, type Training, type TrainSettings } from '../train/recipe.js';
import type { EpochMetrics } from '../train/trainer.js';
import { reconstructionPng } from './reconstruct.js';
import { backendFrom } from './common.js';
import { UsageError } from './exit.js';
import { choiceFlag, intFlag, listFlag, numberFlag } from './options.js';
import { progressCallbacks } from './progress.js';

export interface TrainFlags {
  data: string;
  testData?: string;
  hidden?: string;
  layers?: string;
  activation: string;
  outputActivation?: string;
  loss: string;
  scale?: string;
  tied?: boolean;
  epochs: string;
  batch: string;
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
  out: string;
}

/** Flags -> library settings; every value is checked here or by resolveSettings. */
export function settingsFromFlags(f: TrainFlags): Partial<TrainSettings> {
  if (f.hidden !== undefined && f.layers !== undefined) throw new UsageError('--hidden and --layers: expected one of them, received both');
  const loss = choiceFlag('--loss', f.loss, LOSSES);
  const s: Partial<TrainSettings> = {
    hidden: f.hidden === undefined ? 30 : intFlag('--hidden', f.hidden),
    activation: choiceFlag('--activation', f.activation, ACTIVATIONS),
    loss,
    // BCE needs targets in [0,1], so it implies unit scaling unless told otherwise.
    scale: choiceFlag('--scale', f.scale ?? (loss === 'bce' ? 'unit' : 'symmetric'), SCALINGS),
    tied: f.tied === true,
    epochs: intFlag('--epochs', f.epochs),
    batchSize: intFlag('--batch', f.batch),
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
  return s;
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description("train an autoencoder; the defaults are the notebook's 784→30→784, tanh, MSE, Adam lr 1e-3, batch 256, 20 epochs")
    .requiredOption('--out <dir>', 'folder for model.safetensors, metrics.json and reconstructions.png')
    .option('--data <source>', '"mnist" or a CSV file of rows of numbers', 'mnist')
    .option('--test-data <csv>', 'a CSV of test rows, for CSV training data')
    .option('--hidden <d>', 'code size d of a one-layer encoder (default 30)')
    .option('--layers <sizes>', 'encoder sizes from input to code, e.g. 784,128,30 (instead of --hidden)')
    .option('--activation <name>', `after each linear map: ${ACTIVATIONS.join('|')}`, 'tanh')
    .option('--output-activation <name>', 'after the last decoder layer (default tanh, or sigmoid with --scale unit)')
    .option('--loss <name>', `reconstruction loss: ${LOSSES.join('|')}`, 'mse')
    .option('--scale <kind>', `input scaling: symmetric ([-1,1], the notebook's) or unit ([0,1]); default unit for bce`)
    .option('--tied', 'tie the decoder weights to the transposed encoder weights')
    .option('--epochs <n>', 'passes over the training set', '20')
    .option('--batch <n>', 'mini-batch size', '256')
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
    .option('--force', 'replace a model already in --out')
    .action((f: TrainFlags) => {
      trainCommand(f);
    });
}

export function trainCommand(f: TrainFlags): { run: Training; history: EpochMetrics[]; image: { width: number; height: number } | null } {
  // Everything is checked, and the data loaded, before anything is written.
  const settings = settingsFromFlags(f);
  const limit = f.limit === undefined ? undefined : intFlag('--limit', f.limit);
  const out = f.out;
  if (existsSync(out) && !statSync(out).isDirectory()) throw new UsageError(`--out: expected a directory, received the file "${out}"`);
  const modelPath = join(out, 'model.safetensors');
  if (existsSync(modelPath) && !f.force) {
    throw new UsageError(`--out: expected a folder without a model (pass --force to replace it), received "${out}" which has model.safetensors`);
  }
  const backend = backendFrom(f.backend);
  const data = loadDataset(f.data, { ...(limit === undefined ? {} : { limit }), ...(f.testData === undefined ? {} : { testCsv: f.testData }) });
  const run = prepareTraining(settings, data, backend, { inPlace: true });
  ensureDir(out);
  const { scaling, loss, training } = run.config;
  const history: EpochMetrics[] = [];
  const writeMetrics = () =>
    writeFileAtomic(join(out, 'metrics.json'), JSON.stringify({ config: run.config, backend: backend.name, epochs: history }, null, 2) + '\n');
  const progress = progressCallbacks(run.settings.epochs);
  process.stderr.write(
    `ae: training ${[...run.model.config.layers, ...run.model.config.layers.slice(0, -1).reverse()].join('→')} (${run.model.config.tied ? 'tied, ' : ''}${run.settings.loss}, ${run.settings.optimizer} lr ${run.settings.lr}, batch ${run.settings.batchSize}) on ${run.train.rows} rows of ${data.source}, backend ${backend.name}\n`,
  );
  run.fit({
    ...progress,
    onEpochEnd: (m) => {
      progress.onEpochEnd?.(m);
      history.push(m);
      // Saved after every epoch, atomically: if a later epoch diverges, this file is the last good model.
      saveModel(modelPath, run.model, { scaling, loss, training: { ...training, epochsCompleted: m.epoch } });
      writeMetrics();
    },
  });
  const figureRows = run.test ?? run.train;
  writeFileAtomic(join(out, 'reconstructions.png'), reconstructionPng(run.model, scaling, figureRows, data.image, 10, run.testCorrupted));
  process.stdout.write(`wrote ${modelPath}, ${join(out, 'metrics.json')}, ${join(out, 'reconstructions.png')}\n`);
  return { run, history, image: data.image };
}
