import type { Command } from 'commander';
import { rowSlice, type Matrix } from '../core/matrix.js';
import { rangeOf, type Scaling } from '../data/scaling.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { Autoencoder } from '../nn/autoencoder.js';
import { encodePng, stack } from '../viz/image.js';
import { labelledRowsFigure } from '../viz/figures.js';
import { scaled } from '../data/dataset.js';
import { checkFileOutput, evalData, loadModelFlag } from './common.js';
import { addReadOptions, DATA_HELP, type ReadFlags } from './data-flags.js';
import { intFlag } from './options.js';

/**
 * The Fig. 20 picture of the first `count` rows of `rows` (already scaled) as PNG bytes:
 * originals above their reconstructions, ten to a band, each row labelled. With `corrupted`
 * copies (a denoising model, Fig. 21) each band has three rows: clean, corrupted, and the
 * reconstruction of the corrupted one.
 */
export function reconstructionPng(
  model: Autoencoder,
  scaling: Scaling,
  rows: Matrix,
  image: { width: number; height: number } | null,
  count: number,
  corrupted: Matrix | null = null,
): Uint8Array {
  const n = Math.min(count, rows.rows);
  const shape = image ?? { width: rows.cols, height: 1 };
  const opts = { ...shape, range: rangeOf(scaling.kind), zoom: image ? 2 : 4 };
  const bands = [];
  for (let start = 0; start < n; start += 10) {
    const end = Math.min(n, start + 10);
    const originals = rowSlice(rows, start, end);
    if (corrupted) {
      const noisy = rowSlice(corrupted, start, end);
      bands.push(labelledRowsFigure([originals, noisy, model.reconstruct(noisy)], ['clean', 'corrupted', 'reconstruction'], opts));
    } else {
      bands.push(labelledRowsFigure([originals, model.reconstruct(originals)], ['input', 'reconstruction'], opts));
    }
  }
  return encodePng(stack(bands, 6, 255));
}

interface ReconstructFlags extends ReadFlags {
  force?: boolean;
  model: string;
  out: string;
  count: string;
  data?: string;
  backend: string;
}

export function registerReconstruct(program: Command): void {
  addReadOptions(program
    .command('reconstruct')
    .description('draw test digits with their reconstructions beneath (the lecture\'s Fig. 20)')
    .requiredOption('--model <file>', 'a model.safetensors written by ae train')
    .requiredOption('--out <png>', 'the picture to write')
    .option('--count <n>', 'how many digits', '10')
    .option('--data <source>', `${DATA_HELP} (default: what the model was trained on)`)
    .option('--backend <name>', 'auto|native|js', 'auto'))
    .action(async (f: ReconstructFlags) => {
      const count = intFlag('--count', f.count);
      checkFileOutput('--out', f.out, '.png', f.force === true);
      const loaded = loadModelFlag(f.model, f.backend);
      const data = await evalData(loaded, f.data, String(count), f);
      const rows = scaled(data.test!, loaded.config.scaling);
      writeFileAtomic(f.out, reconstructionPng(loaded.model, loaded.config.scaling, rows, data.image, count));
      process.stdout.write(`wrote ${f.out}\n`);
    });
}
