import type { Command } from 'commander';
import { writeFileAtomic } from '../io/atomic.js';
import { checkPicture } from '../core/memory.js';
import { reconstructionPng, reconstructionSize } from '../viz/figures.js';
import { scaled } from '../data/dataset.js';
import { checkInputs, claimOutputs, type OutputSpec } from '../io/output-check.js';
import { evalData, loadModelFlag, recordedInputs } from './common.js';
import { addReadOptions, DATA_HELP, type ReadFlags } from './data-flags.js';
import { backendOption, intOption } from './options.js';

interface ReconstructFlags extends ReadFlags {
  force?: boolean;
  model: string;
  out: string;
  count: number;
  data?: string;
  backend: string;
}

export function registerReconstruct(program: Command): void {
  addReadOptions(program
    .command('reconstruct')
    .description('draw test digits with their reconstructions beneath (the lecture\'s Fig. 20)')
    .requiredOption('--model <file>', 'a model.safetensors written by ae train')
    .requiredOption('--out <png>', 'the picture to write')
    .addOption(intOption('--count <n>', 'how many digits', { default: 10 }))
    .option('--data <source>', `${DATA_HELP} (default: what the model was trained on)`)
    .addOption(backendOption()))
    .action(async (f: ReconstructFlags) => {
      const count = f.count;
      const spec: OutputSpec = { path: f.out, kind: 'file', ext: '.png', force: f.force === true, inputs: [{ flag: '--model', path: f.model }, { flag: '--data', path: f.data }] };
      const claim = claimOutputs(spec);
      const loaded = loadModelFlag(f.model, f.backend);
      if (f.data === undefined) checkInputs(spec, recordedInputs(loaded));
      const data = await evalData(loaded, f.data, count, f);
      // Refused before the rows are scaled and drawn: a picture Node cannot hold, or one that does not fit in memory.
      const test = data.test!;
      const shape = data.image ?? { width: test.cols, height: 1 };
      checkPicture('--count', Math.min(count, test.rows), (n) => ({ ...reconstructionSize(n, shape, data.image !== null, false), parts: [['scaled rows', 4 * n * test.cols]] }));
      const rows = scaled(test, loaded.config.scaling);
      writeFileAtomic(f.out, reconstructionPng(loaded.model, loaded.config.scaling, rows, data.image, count));
      claim.release();
      process.stdout.write(`wrote ${f.out}\n`);
    });
}
