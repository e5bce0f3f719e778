import type { Command } from 'commander';
import { scaled } from '../data/dataset.js';
import { rangeOf } from '../data/scaling.js';
import { evaluate } from '../train/evaluate.js';
import { evalData, loadModelFlag } from './common.js';

interface EvalFlags {
  model: string;
  data?: string;
  limit?: string;
  json?: boolean;
  backend: string;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('the test-set MSE of a saved model, in the scaling it was trained with')
    .requiredOption('--model <file>', 'a model.safetensors written by ae train')
    .option('--data <source>', '"mnist" (its test set) or a CSV of rows (default: what the model was trained on, if MNIST)')
    .option('--limit <n>', 'evaluate only the first N rows')
    .option('--json', 'print JSON')
    .option('--backend <name>', 'auto|native|js', 'auto')
    .action((f: EvalFlags) => {
      const loaded = loadModelFlag(f.model, f.backend);
      const data = evalData(loaded, f.data, f.limit);
      const x = scaled(data.test!, loaded.config.scaling);
      const { loss: mse, count } = evaluate(loaded.model, x, 'mse');
      const [lo, hi] = rangeOf(loaded.config.scaling.kind);
      if (f.json) {
        process.stdout.write(JSON.stringify({ mse, count, data: data.source, scaling: loaded.config.scaling }) + '\n');
      } else {
        process.stdout.write(`test MSE ${mse.toFixed(6)} over ${count} rows of ${data.source} (inputs scaled to [${lo}, ${hi}])\n`);
      }
    });
}
