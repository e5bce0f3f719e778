import type { Command } from 'commander';
import { ACTIVATIONS, LOSSES } from '../core/backend.js';
import { SCALINGS } from '../data/scaling.js';
import { MONITORS } from '../train/schedule.js';
import { NOTEBOOK_SETTINGS, OPTIMIZERS, VARIANTS, type TrainSettings } from '../train/recipe.js';
import { UsageError } from './exit.js';
import { choiceFlag, intFlag, listFlag, numberFlag } from './options.js';
import type { ReadFlags } from './data-flags.js';

/**
 * The training flags, declared once: `ae train` and every command that trains a model
 * (`ae anomaly`) add them with these factories and read them with settingsFromFlags.
 */
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

/** The model: architecture, loss, scaling, variant and regularisers. */
export function addModelOptions(cmd: Command): Command {
  return cmd
    .option('--hidden <d>', 'code size d of a one-layer encoder (default 30; for a table min(30, ceil(features / 4)))')
    .option('--layers <sizes>', 'encoder sizes from input to code, e.g. 784,128,30 (instead of --hidden)')
    .option('--activation <name>', `after each linear map: ${ACTIVATIONS.join('|')}`, 'tanh')
    .option('--output-activation <name>', 'after the last decoder layer (default tanh, or sigmoid with --scale unit)')
    .option('--loss <name>', `reconstruction loss: ${LOSSES.join('|')}`, 'mse')
    .option('--scale <kind>', "input scaling, per column for a table: symmetric ([-1,1], the notebook's), unit ([0,1]; the default for bce) or standard ((x − mean) / std)")
    .option('--tied', 'tie the decoder weights to the transposed encoder weights')
    .option('--variant <name>', `${VARIANTS.join('|')} (default standard, or denoising with --noise)`)
    .option('--noise <spec>', 'denoising corruption: dropout:p (nn.Dropout, the default), mask:p, gaussian:sigma, saltpepper:p, patch:k')
    .option('--contractive <lambda>', 'contractive variant: weight of ‖∂h/∂x‖²_F (one-layer encoders)')
    .option('--sparse <lambda>', 'L1 penalty on the code, any variant', '0')
    .option('--weight-decay <lambda>', "the optimiser's weight decay, any variant", '0');
}

/** The optimisation: epochs, batch, optimiser, seed, schedule and early stopping. */
export function addFitOptions(cmd: Command): Command {
  return cmd
    .option('--epochs <n>', 'passes over the training set (default 20; for a table about 4000 Adam steps)')
    .option('--batch <n>', 'mini-batch size (default 256; for a table rows / 10 rounded to a power of two in 16..256)')
    .option('--lr <x>', 'learning rate', '1e-3')
    .option('--optimizer <name>', OPTIMIZERS.join('|'), 'adam')
    .option('--momentum <x>', "SGD's momentum", '0.9')
    .option('--seed <n>', 'seed for initialisation and shuffling', '0')
    .option('--lr-schedule <spec>', 'per epoch, as torch.optim.lr_scheduler: step:N[:gamma], exponential:gamma, cosine[:eta_min], plateau[:factor[:patience]]')
    .option('--early-stopping <patience>', "stop after this many epochs without improvement (Keras' EarlyStopping), keeping the best epoch's weights")
    .option('--min-delta <x>', 'early stopping: the least decrease that counts as an improvement (default 0)')
    .option('--monitor <name>', 'early stopping: val_loss (the test or held-out loss, the default) or loss (training)')
    .option('--no-restore-best', "early stopping: keep the last epoch's weights instead of the best epoch's");
}
