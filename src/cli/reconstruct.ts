import type { Command } from 'commander';
import { topRows, type Matrix } from '../core/matrix.js';
import { rangeOf, type Scaling } from '../data/scaling.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { Autoencoder } from '../nn/autoencoder.js';
import { encodePng } from '../viz/image.js';
import { reconstructionFigure, rowsFigure } from '../viz/figures.js';
import { scaled } from '../data/dataset.js';
import { checkFileOutput, evalData, loadModelFlag } from './common.js';
import { intFlag } from './options.js';

/**
 * The Fig. 20 picture of the first `count` rows of `rows` (already scaled) as PNG bytes; with
 * `corrupted` copies (a denoising model, Fig. 21) three rows: clean, corrupted, reconstruction of the corrupted.
 */
export function reconstructionPng(
  model: Autoencoder,
  scaling: Scaling,
  rows: Matrix,
  image: { width: number; height: number } | null,
  count: number,
  corrupted: Matrix | null = null,
): Uint8Array {
  const originals = topRows(rows, Math.min(count, rows.rows));
  const shape = image ?? { width: rows.cols, height: 1 };
  if (corrupted) {
    const noisy = topRows(corrupted, originals.rows);
    return encodePng(rowsFigure([originals, noisy, model.reconstruct(noisy)], { ...shape, range: rangeOf(scaling.kind), zoom: image ? 2 : 4 }));
  }
  const fig = reconstructionFigure(originals, model.reconstruct(originals), { ...shape, range: rangeOf(scaling.kind), cols: 10, zoom: image ? 2 : 4 });
  return encodePng(fig);
}

interface ReconstructFlags {
  model: string;
  out: string;
  count: string;
  data?: string;
  backend: string;
}

export function registerReconstruct(program: Command): void {
  program
    .command('reconstruct')
    .description('draw test digits with their reconstructions beneath (the lecture\'s Fig. 20)')
    .requiredOption('--model <file>', 'a model.safetensors written by ae train')
    .requiredOption('--out <png>', 'the picture to write')
    .option('--count <n>', 'how many digits', '10')
    .option('--data <source>', '"mnist" or a CSV of rows (default: what the model was trained on, if MNIST)')
    .option('--backend <name>', 'auto|native|js', 'auto')
    .action((f: ReconstructFlags) => {
      const count = intFlag('--count', f.count);
      checkFileOutput('--out', f.out, '.png');
      const loaded = loadModelFlag(f.model, f.backend);
      const data = evalData(loaded, f.data, String(count));
      const rows = scaled(data.test!, loaded.config.scaling);
      writeFileAtomic(f.out, reconstructionPng(loaded.model, loaded.config.scaling, rows, data.image, count));
      process.stdout.write(`wrote ${f.out}\n`);
    });
}
