import type { Command } from 'commander';
import { loadMnistDataset } from '../data/dataset.js';
import { writeFileAtomic } from '../io/atomic.js';
import { interpolationOutputs } from '../apps/interpolate.js';
import { checkFileOutput, loadModelFlag } from './common.js';
import { UsageError } from './exit.js';
import { intFlag } from './options.js';

interface InterpolateFlags {
  force?: boolean;
  model: string;
  from: string;
  to: string;
  steps: string;
  out: string;
  json?: boolean;
  backend: string;
}

export function registerInterpolate(program: Command): void {
  program
    .command('interpolate')
    .description('blend two test digits in pixel space and in the code space, and measure how far each step is from the data (Figs. 2-4)')
    .requiredOption('--model <file>', 'a model.safetensors trained on MNIST')
    .requiredOption('--out <png>', 'the picture to write')
    .option('--from <i>', 'index of the first test digit', '0')
    .option('--to <j>', 'index of the second test digit', '1')
    .option('--steps <k>', 'pictures per row, end points included', '10')
    .option('--json', 'print the numbers as JSON')
    .option('--backend <name>', 'auto|native|js', 'auto')
    .action((f: InterpolateFlags) => {
      checkFileOutput('--out', f.out, '.png', f.force === true);
      const from = intFlag('--from', f.from, 0);
      const to = intFlag('--to', f.to, 0);
      const steps = intFlag('--steps', f.steps, 2);
      const loaded = loadModelFlag(f.model, f.backend);
      const { model, config } = loaded;
      const data = loadMnistDataset();
      if (model.inputSize !== data.train.cols) throw new UsageError(`--model: expected a model of ${data.train.cols} inputs (MNIST), received ${model.inputSize}`);
      const o = interpolationOutputs(model, config.scaling, data.train, data.test!, data.image!, { from, to, steps });
      writeFileAtomic(f.out, o.figures[0]!.png);
      process.stdout.write(f.json ? JSON.stringify(o.summary) + '\n' : `${o.text}\nwrote ${f.out}\n`);
    });
}
