import { join } from 'node:path';
import type { Command } from 'commander';
import { topRows } from '../core/matrix.js';
import { scaled } from '../data/dataset.js';
import { ensureDir, writeFileAtomic } from '../io/atomic.js';
import { compareInpainting, INPAINT_FIGURE_LABELS, INPAINT_ROWS, inpaintingTable, type InpaintComparison } from '../apps/inpaint.js';
import { encodePng } from '../viz/image.js';
import { labelledRowsFigure } from '../viz/figures.js';
import { checkOutputFolder, evalData, loadModelFlag } from './common.js';
import { UsageError } from './exit.js';
import { intFlag } from './options.js';

interface InpaintFlags {
  force?: boolean;
  model: string;
  noise: string;
  count: string;
  show: string;
  seed: string;
  data?: string;
  out: string;
  json?: boolean;
  backend: string;
}

/**
 * Writes a comparison's figure (the first `show` digits, labelled rows), its table and its
 * numbers into `dir`; returns what it wrote for printing.
 */
export function writeInpainting(dir: string, result: InpaintComparison, image: { width: number; height: number }, show: number) {
  ensureDir(dir);
  const k = Math.min(show, result.count);
  const rows = [result.images.mask, result.images.corrupted, result.images.clean, ...INPAINT_ROWS.map((m) => result.images[m])].map((m) => topRows(m, k));
  writeFileAtomic(join(dir, 'inpainting.png'), encodePng(labelledRowsFigure(rows, INPAINT_FIGURE_LABELS, { ...image, range: [0, 1] })));
  const table = inpaintingTable(result);
  const summary = { noise: result.noise, count: result.count, missingFraction: result.missingFraction, scores: result.scores };
  const rowsNote = 'Rows of inpainting.png, top to bottom: mask (white = missing), corrupted, clean, AE, AE with known pixels kept, Telea, Navier-Stokes.';
  writeFileAtomic(join(dir, 'inpainting.md'), `${table}\n\n${rowsNote}\n`);
  writeFileAtomic(join(dir, 'inpainting.json'), JSON.stringify(summary, null, 2) + '\n');
  return { table, summary, rowsNote };
}

export function registerInpaint(program: Command): void {
  program
    .command('inpaint')
    .description("restore corrupted test digits with the autoencoder and with OpenCV's Telea and Navier-Stokes inpainting (Figs. 24-27)")
    .requiredOption('--model <file>', 'a model.safetensors written by ae train (the notebook uses its denoising model)')
    .requiredOption('--out <dir>', 'folder for inpainting.png, inpainting.md and inpainting.json')
    .option('--noise <spec>', 'the corruption: dropout:p, mask:p, saltpepper:p or patch:k', 'dropout:0.5')
    .option('--count <n>', 'test digits to score', '1000')
    .option('--show <n>', 'digits drawn in the figure', '12')
    .option('--seed <n>', 'seed of the corruption', '0')
    .option('--data <source>', '"mnist" (default: what the model was trained on)')
    .option('--json', 'print the table as JSON')
    .option('--backend <name>', 'auto|native|js', 'auto')
    .action(async (f: InpaintFlags) => {
      checkOutputFolder('--out', f.out, ['inpainting.md', 'inpainting.json', 'inpainting.png'], f.force === true);
      const count = intFlag('--count', f.count);
      const show = intFlag('--show', f.show);
      const seed = intFlag('--seed', f.seed, 0);
      const loaded = loadModelFlag(f.model, f.backend);
      const data = await evalData(loaded, f.data, String(count));
      if (!data.image) throw new UsageError(`--data: expected images (rows that are square pictures), received rows of ${data.train.cols} values`);
      const clean = scaled(data.test!, loaded.config.scaling);
      const result = await compareInpainting(loaded.model, loaded.config.scaling, clean, {
        noise: f.noise,
        count,
        seed,
        image: data.image,
        backend: loaded.model.backend,
      });
      const { table, summary, rowsNote } = writeInpainting(f.out, result, data.image, show);
      process.stdout.write(f.json ? JSON.stringify(summary) + '\n' : `${table}\n\n${rowsNote}\nwrote ${join(f.out, 'inpainting.png')}, inpainting.md, inpainting.json\n`);
    });
}
