import type { Command } from 'commander';
import { writeFileAtomic } from '../io/atomic.js';
import { encodePng } from '../viz/image.js';
import { kernelsFigure } from '../viz/figures.js';
import { claimOutputs } from '../io/output-check.js';
import { loadModelFlag, modelImage } from './common.js';
import { UsageError } from './exit.js';
import { backendOption, intFlag } from './options.js';

interface KernelsFlags {
  force?: boolean;
  model: string;
  out: string;
  cols?: string;
  backend: string;
}

export function registerKernels(program: Command): void {
  program
    .command('kernels')
    .description("draw each row of the encoder's first weight matrix as an image, scaled per kernel (Figs. 22-23)")
    .requiredOption('--model <file>', 'a model.safetensors written by ae train')
    .requiredOption('--out <png>', 'the picture to write')
    .option('--cols <n>', 'kernels per row (default: a near-square grid)')
    .addOption(backendOption())
    .action((f: KernelsFlags) => {
      const claim = claimOutputs({ path: f.out, kind: 'file', ext: '.png', force: f.force === true, inputs: [{ flag: '--model', path: f.model }] });
      const cols = f.cols === undefined ? undefined : intFlag('--cols', f.cols);
      const loaded = loadModelFlag(f.model, f.backend);
      const { model } = loaded;
      const shape = modelImage(loaded);
      if (!shape) throw new UsageError(`--model: expected a model of images (trained on pictures, or a square input size), received input size ${model.inputSize}`);
      const fig = kernelsFigure(model.encoder[0]!.weight.valueMatrix, { ...shape, ...(cols === undefined ? {} : { cols }) });
      writeFileAtomic(f.out, encodePng(fig));
      claim.release();
      process.stdout.write(`wrote ${f.out} (${model.encoder[0]!.outSize} kernels)\n`);
    });
}
