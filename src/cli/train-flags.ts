import type { Command } from 'commander';
import { ACTIVATIONS, LOSSES, type ActivationName, type LossName } from '../core/backend.js';
import { SCALINGS, type ScaleKind } from '../data/scaling.js';
import { MONITORS } from '../train/schedule.js';

type Monitor = (typeof MONITORS)[number];
import { NOTEBOOK_SETTINGS, OPTIMIZERS, VARIANTS, type OptimizerName, type TrainSettings, type Variant } from '../train/recipe.js';
import { UsageError } from './exit.js';
import { choiceOption, intOption, listOption, numberOption } from './options.js';
import type { ReadFlags } from './data-flags.js';

const N = NOTEBOOK_SETTINGS;
const penalty = 'a penalty weight λ >= 0';

/**
 * The training flags, declared once: `ae train` and every command that trains a model
 * (`ae anomaly`) add them with addModelOptions and addFitOptions, which parse and check each
 * value as commander reads it, and turn them into settings with settingsFromFlags.
 */
export interface TrainFlags extends ReadFlags {
  data: string;
  resume?: string;
  validationSplit?: number;
  testData?: string;
  hidden?: number;
  layers?: number[];
  activation: ActivationName;
  outputActivation?: ActivationName;
  loss: LossName;
  scale?: ScaleKind;
  tied?: boolean;
  epochs?: number;
  batch?: number;
  lr: number;
  optimizer: OptimizerName;
  momentum: number;
  seed: number;
  backend: string;
  limit?: number;
  noise?: string;
  variant?: Variant;
  contractive?: number;
  sparse: number;
  weightDecay: number;
  force?: boolean;
  out?: string;
  lrSchedule?: string;
  earlyStopping?: number;
  minDelta?: number;
  monitor?: Monitor;
  restoreBest?: boolean;
}

/** Flags -> library settings; each value was checked as it was read, the whole by resolveSettings. */
export function settingsFromFlags(f: TrainFlags): Partial<TrainSettings> {
  if (f.hidden !== undefined && f.layers !== undefined) throw new UsageError('--hidden and --layers: expected one of them, received both');
  const s: Partial<TrainSettings> = {
    hidden: f.hidden ?? N.hidden,
    activation: f.activation,
    loss: f.loss,
    // BCE needs targets in [0,1], so it implies unit scaling unless told otherwise. 'standard'
    // is StandardScaler's (x − mean) / std, with a linear output layer by default.
    scale: f.scale ?? (f.loss === 'bce' ? 'unit' : 'symmetric'),
    tied: f.tied === true,
    epochs: f.epochs ?? N.epochs,
    batchSize: f.batch ?? N.batchSize,
    lr: f.lr,
    optimizer: f.optimizer,
    momentum: f.momentum,
    seed: f.seed,
    sparse: f.sparse,
    weightDecay: f.weightDecay,
  };
  if (f.layers !== undefined) s.layers = f.layers;
  if (f.variant !== undefined) s.variant = f.variant;
  if (f.noise !== undefined) s.noise = f.noise;
  if (f.contractive !== undefined) s.contractive = f.contractive;
  if (f.outputActivation !== undefined) s.outputActivation = f.outputActivation;
  if (f.lrSchedule !== undefined) s.lrSchedule = f.lrSchedule;
  if (f.earlyStopping !== undefined) {
    s.earlyStopping = { patience: f.earlyStopping, minDelta: f.minDelta ?? 0, monitor: f.monitor ?? 'val_loss', restoreBestWeights: f.restoreBest !== false };
  } else if (f.minDelta !== undefined || f.monitor !== undefined || f.restoreBest === false) {
    throw new UsageError('--min-delta, --monitor and --no-restore-best: expected them with --early-stopping PATIENCE, received them without');
  }
  return s;
}

/** Help lines a command may word for itself (its defaults come from the data's size, say). */
export type FlagHelp = Partial<Record<'hidden' | 'epochs' | 'batch', string>>;

/** The model: architecture, variant and regularisers. */
export function addArchitectureOptions(cmd: Command, help: FlagHelp = {}): Command {
  return cmd
    .addOption(intOption('--hidden <d>', help.hidden ?? `code size d of a one-layer encoder (default ${N.hidden}; for a table min(30, ceil(features / 4)))`))
    .addOption(listOption('--layers <sizes>', 'encoder sizes from input to code, e.g. 784,128,30 (instead of --hidden)'))
    .addOption(choiceOption('--activation <name>', `after each linear map: ${ACTIVATIONS.join('|')}`, ACTIVATIONS, N.activation))
    .addOption(choiceOption('--output-activation <name>', 'after the last decoder layer (default tanh, or sigmoid with --scale unit)', ACTIVATIONS))
    .option('--tied', 'tie the decoder weights to the transposed encoder weights')
    .addOption(choiceOption('--variant <name>', `${VARIANTS.join('|')} (default standard, or denoising with --noise)`, VARIANTS))
    .option('--noise <spec>', 'denoising corruption: dropout:p (nn.Dropout, the default), mask:p, gaussian:sigma, saltpepper:p, patch:k')
    .addOption(numberOption('--contractive <lambda>', 'contractive variant: weight of ‖∂h/∂x‖²_F (one-layer encoders)', penalty, (n) => n >= 0))
    .addOption(numberOption('--sparse <lambda>', 'L1 penalty on the code, any variant', penalty, (n) => n >= 0, 0))
    .addOption(numberOption('--weight-decay <lambda>', "the optimiser's weight decay, any variant", 'a weight decay λ >= 0', (n) => n >= 0, 0));
}

/** The loss and the input scaling. */
export function addLossOptions(cmd: Command): Command {
  return cmd
    .addOption(choiceOption('--loss <name>', `reconstruction loss: ${LOSSES.join('|')}`, LOSSES, N.loss))
    .addOption(choiceOption('--scale <kind>', "input scaling, per column for a table: symmetric ([-1,1], the notebook's), unit ([0,1]; the default for bce) or standard ((x − mean) / std)", SCALINGS));
}

/** The optimisation: epochs, batch, optimiser and seed. */
export function addOptimizerOptions(cmd: Command, help: FlagHelp = {}): Command {
  return cmd
    .addOption(intOption('--epochs <n>', help.epochs ?? `passes over the training set (default ${N.epochs}; for a table about 4000 Adam steps)`))
    .addOption(intOption('--batch <n>', help.batch ?? `mini-batch size (default ${N.batchSize}; for a table rows / 10 rounded to a power of two in 16..256)`))
    .addOption(numberOption('--lr <x>', 'learning rate', 'a number > 0', (n) => n > 0, N.lr))
    .addOption(choiceOption('--optimizer <name>', OPTIMIZERS.join('|'), OPTIMIZERS, N.optimizer))
    .addOption(numberOption('--momentum <x>', "SGD's momentum", 'a number in [0, 1)', (n) => n >= 0 && n < 1, N.momentum))
    .addOption(intOption('--seed <n>', 'seed for initialisation and shuffling', { default: N.seed, min: 0 }));
}

/** The learning-rate schedule and early stopping (they watch the held-out loss). */
export function addScheduleOptions(cmd: Command): Command {
  return cmd
    .option('--lr-schedule <spec>', 'per epoch, as torch.optim.lr_scheduler: step:N[:gamma], exponential:gamma, cosine[:eta_min], plateau[:factor[:patience]]')
    .addOption(intOption('--early-stopping <patience>', "stop after this many epochs without improvement (Keras' EarlyStopping), keeping the best epoch's weights", { min: 0 }))
    .addOption(numberOption('--min-delta <x>', 'early stopping: the least decrease that counts as an improvement (default 0)', 'a number >= 0', (n) => n >= 0))
    .addOption(choiceOption('--monitor <name>', 'early stopping: val_loss (the test or held-out loss, the default) or loss (training)', MONITORS))
    .option('--no-restore-best', "early stopping: keep the last epoch's weights instead of the best epoch's");
}

/** Every training flag of `ae train`. */
export function addTrainingOptions(cmd: Command): Command {
  return addScheduleOptions(addOptimizerOptions(addLossOptions(addArchitectureOptions(cmd))));
}
