import type { Command } from 'commander';
import { NOTEBOOK_SETTINGS } from '../train/recipe.js';
import { DEFAULT_VALIDATION_SPLIT, executeRun, planFreshRun, planResume, type RunResult } from '../train/run-folder.js';
import { backendFrom } from './common.js';
import { UsageError } from './exit.js';
import { InterruptedError } from '../core/errors.js';
import { withInterrupts } from './interrupt.js';
import { backendOption, limitOption, numberOption } from './options.js';
import { progressCallbacks } from './progress.js';
import { settingsFromFlags, type TrainFlags } from './train-flags.js';
import { addTrainingOptions } from './train-options.js';
import { addReadOptions, DATA_HELP, readOptionsFrom } from './data-flags.js';

const N = NOTEBOOK_SETTINGS;
const RESUME_FLAGS = ['--resume', '--epochs', '--backend', '--threads'];

export function registerTrain(program: Command): void {
  addReadOptions(addTrainingOptions(program
    .command('train')
    .description(`train an autoencoder; the defaults are the notebook's 784→${N.hidden}→784, ${N.activation}, ${N.loss.toUpperCase()}, ${N.optimizer === 'adam' ? 'Adam' : 'SGD'} lr ${N.lr}, batch ${N.batchSize}, ${N.epochs} epochs (for a table: chosen from its size, and printed)`)
    .option('--out <dir>', 'folder for model.safetensors, checkpoint.safetensors, metrics.json and reconstructions.png (required unless --resume)')
    .option('--data <source>', DATA_HELP, 'mnist')
    .option('--test-data <source>', 'test rows from another source of any of those kinds (default: the source\'s own test part, else a validation split)')
    .addOption(numberOption('--validation-split <f>', `without test data, hold out this seeded fraction of the rows as test rows (default ${DEFAULT_VALIDATION_SPLIT}; 0 for none)`, 'a fraction in [0, 1)', (n) => n >= 0 && n < 1))
    .addOption(backendOption())
    .addOption(limitOption())
    .option('--resume <dir>', "continue the run in DIR from its last checkpoint, with its own settings and data (only --epochs N, the new total, and --backend, by default the run's own, apply); the weights come out as if it had never stopped")
    .option('--force', 'replace a model already in --out')))
    .action(async (f: TrainFlags, cmd: Command) => {
      if (f.resume !== undefined) {
        // A resumed run keeps its own settings and data; any other flag would be silently ignored.
        const given = cmd.options.filter((o) => cmd.getOptionValueSource(o.attributeName()) === 'cli' && !RESUME_FLAGS.includes(o.long!)).map((o) => o.long!);
        if (given.length) throw new UsageError(`--resume: expected only --epochs, --backend or --threads with it (the run keeps its own settings, data and folder), received ${given.join(', ')}`);
      }
      await trainCommand(f);
    });
}

/** `ae train`: plans the run (a fresh one from the flags, or --resume DIR), checking everything before anything is written, then runs it. */
export async function trainCommand(f: TrainFlags): Promise<RunResult> {
  let plan;
  if (f.resume !== undefined) {
    plan = await planResume(f.resume, { ...(f.epochs === undefined ? {} : { epochs: f.epochs }), backend: f.backend });
  } else {
    if (f.out === undefined) throw new UsageError('--out: expected a folder for the run (or --resume DIR), received nothing');
    const settings = settingsFromFlags(f);
    plan = await planFreshRun(settings, {
      source: f.data,
      ...(f.testData === undefined ? {} : { testData: f.testData }),
      read: readOptionsFrom(f),
      ...(f.limit === undefined ? {} : { limit: f.limit }),
      ...(f.validationSplit === undefined ? {} : { validationSplit: f.validationSplit }),
      out: f.out,
      force: f.force === true,
      backend: backendFrom(f.backend),
      given: { hidden: f.hidden !== undefined || f.layers !== undefined, batchSize: f.batch !== undefined, epochs: f.epochs !== undefined },
    });
  }
  const p = plan;
  let result: RunResult;
  try {
    result = await withInterrupts((signal) => executeRun(p, { callbacks: progressCallbacks(p.settings.epochs ?? NOTEBOOK_SETTINGS.epochs), log: (line) => process.stderr.write(`ae: ${line}\n`), signal }));
  } catch (err) {
    if (!(err instanceof InterruptedError)) throw err;
    const kept = err.epoch > 0 ? `${p.out} keeps epoch ${err.epoch}; ae train --resume ${p.out} continues` : `nothing of this run was saved in ${p.out}`;
    throw new InterruptedError(err.signal, err.epoch, kept);
  }
  process.stdout.write(result.text + '\n');
  return result;
}
