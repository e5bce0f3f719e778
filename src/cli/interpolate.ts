import type { Command } from 'commander';
import { loadMnistDataset } from '../data/dataset.js';
import { writeFileAtomic } from '../io/atomic.js';
import { interpolationOutputs } from '../apps/interpolate.js';
import { claimOutputs } from '../io/output-check.js';
import { loadModelFlag } from './common.js';
import { UsageError } from './exit.js';
import { backendOption, intOption } from './options.js';

interface InterpolateFlags {
  force?: boolean;
  model: string;
  from: number;
  to: number;
  steps: number;
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
    .addOption(intOption('--from <i>', 'index of the first test digit', { default: 0, min: 0 }))
    .addOption(intOption('--to <j>', 'index of the second test digit', { default: 1, min: 0 }))
    .addOption(intOption('--steps <k>', 'pictures per row, end points included', { default: 10, min: 2 }))
    .option('--json', 'print the numbers as JSON')
    .addOption(backendOption())
    .action((f: InterpolateFlags) => {
      const claim = claimOutputs({ path: f.out, kind: 'file', ext: '.png', force: f.force === true, inputs: [{ flag: '--model', path: f.model }] });
      const from = f.from;
      const to = f.to;
      const steps = f.steps;
      const loaded = loadModelFlag(f.model, f.backend);
      const { model, config } = loaded;
      const data = loadMnistDataset();
      if (model.inputSize !== data.train.cols) throw new UsageError(`--model: expected a model of ${data.train.cols} inputs (MNIST), received ${model.inputSize}`);
      const o = interpolationOutputs(model, config.scaling, data.train, data.test!, data.image!, { from, to, steps });
      writeFileAtomic(f.out, o.figures[0]!.png);
      claim.release();
      process.stdout.write(f.json ? JSON.stringify(o.summary) + '\n' : `${o.text}\nwrote ${f.out}\n`);
    });
}
