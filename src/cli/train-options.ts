import type { Command } from 'commander';
import { ACTIVATIONS, LOSSES } from '../core/backend.js';
import { SCALINGS } from '../data/scaling.js';
import { MONITORS } from '../train/schedule.js';
import { NOTEBOOK_SETTINGS, OPTIMIZERS, VARIANTS } from '../train/recipe.js';
import { choiceOption, intOption, listOption, numberOption } from './options.js';

/**
 * The training flags' declarations, once for every command that trains: each parses and
 * checks its value as commander reads it (one line and exit 2 for a bad one); train-flags.ts's
 * settingsFromFlags turns the values into TrainSettings. Defaults are the notebook's.
 */
const N = NOTEBOOK_SETTINGS;
const penalty = 'a penalty weight λ >= 0';

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
