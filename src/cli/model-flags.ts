import type { Command } from 'commander';
import { ACTIVATIONS } from '../core/backend.js';
import { OPTIMIZERS, VARIANTS } from '../train/recipe.js';

/** Help for the flags whose defaults a command picks itself (from the data's size, say). */
export interface ModelFlagHelp {
  hidden: string;
  epochs: string;
  batch: string;
}

/**
 * The architecture, variant and optimiser flags of `ae train`, for commands that train a
 * model of their own (ae anomaly); train.ts's settingsFromFlags parses them.
 */
export function addModelOptions(cmd: Command, help: ModelFlagHelp): Command {
  return cmd
    .option('--hidden <d>', help.hidden)
    .option('--layers <sizes>', 'encoder sizes from input to code, e.g. 784,128,30 (instead of --hidden)')
    .option('--activation <name>', `after each linear map: ${ACTIVATIONS.join('|')}`, 'tanh')
    .option('--output-activation <name>', 'after the last decoder layer (default tanh)')
    .option('--tied', 'tie the decoder weights to the transposed encoder weights')
    .option('--variant <name>', `${VARIANTS.join('|')} (default standard, or denoising with --noise)`)
    .option('--noise <spec>', 'denoising corruption: dropout:p (nn.Dropout, the default), mask:p, gaussian:sigma, saltpepper:p, patch:k')
    .option('--contractive <lambda>', 'contractive variant: weight of ‖∂h/∂x‖²_F (one-layer encoders)')
    .option('--sparse <lambda>', 'L1 penalty on the code, any variant', '0')
    .option('--weight-decay <lambda>', "the optimiser's weight decay, any variant", '0')
    .option('--epochs <n>', help.epochs)
    .option('--batch <n>', help.batch)
    .option('--lr <x>', 'learning rate', '1e-3')
    .option('--optimizer <name>', OPTIMIZERS.join('|'), 'adam')
    .option('--momentum <x>', "SGD's momentum", '0.9')
    .option('--seed <n>', 'seed for initialisation and shuffling', '0');
}
