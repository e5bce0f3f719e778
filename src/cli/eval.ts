import type { Command } from 'commander';
import { UsageError } from './exit.js';
import { backendOption, limitOption } from './options.js';
import { scaled } from '../data/dataset.js';
import { evaluate } from '../train/evaluate.js';
import { checkScalable, countOutOfRange, rangeOf } from '../data/scaling.js';
import { evalData, loadModelFlag } from './common.js';
import { addReadOptions, DATA_HELP, type ReadFlags } from './data-flags.js';

interface EvalFlags extends ReadFlags {
  model: string;
  data?: string;
  limit?: number;
  json?: boolean;
  backend: string;
}

export function registerEval(program: Command): void {
  addReadOptions(program
    .command('eval')
    .description('the test-set MSE of a saved model, in the scaling it was trained with')
    .requiredOption('--model <file>', 'a model.safetensors written by ae train')
    .option('--data <source>', `${DATA_HELP}; its test part when it has one, else every row (default: the data the model was trained on: its test or held-out rows)`)
    .addOption(limitOption('evaluate only the first N rows'))
    .option('--json', 'print JSON')
    .addOption(backendOption()))
    .action(async (f: EvalFlags) => {
      const loaded = loadModelFlag(f.model, f.backend);
      const data = await evalData(loaded, f.data, f.limit, f);
      const raw = data.test!;
      // Values beyond the training range are allowed; how many there are is reported.
      const e = data.evalSource;
      // Values so far beyond it that their squared error overflows are refused, naming the value,
      // rather than reported as a model whose reconstructions are not finite.
      checkScalable(raw, loaded.config.scaling, e.from === 'flag' ? data.source : e.part === 'validation' ? 'held-out rows' : 'test data', data.columns);
      const outOfRange = countOutOfRange(raw.data, loaded.config.scaling);
      const x = scaled(raw, loaded.config.scaling);
      const { loss: mse, count } = evaluate(loaded.model, x, 'mse');
      if (!Number.isFinite(mse)) {
        // A loadable model whose outputs overflow: a number printed as NaN would hide it.
        const largest = Math.max(...loaded.model.params.map((p) => p.value.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
        throw new UsageError(`--model: expected a model whose reconstructions are finite, received one whose test MSE is ${mse} (its largest weight is ${largest.toPrecision(3)})`);
      }
      const [lo, hi] = rangeOf(loaded.config.scaling.kind);
      if (f.json) {
        process.stdout.write(JSON.stringify({ mse, count, data: data.evalSource, outOfRange, scaling: loaded.config.scaling }) + '\n');
      } else {
        const label = e.part === 'validation' ? 'held-out MSE' : e.part === 'test' ? 'test MSE' : 'MSE';
        const beyond = outOfRange ? `; ${outOfRange} values beyond the training range` : '';
        const where = e.kind === 'mnist' ? 'mnist' : e.from === 'flag' ? data.source : `${e.path} (${e.kind}, as recorded in the model)`;
        process.stdout.write(`${label} ${mse.toFixed(6)} over ${count} rows of ${where} (inputs scaled to [${lo}, ${hi}]${beyond})\n`);
      }
    });
}
