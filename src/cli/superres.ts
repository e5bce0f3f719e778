import { join } from 'node:path';
import type { Command } from 'commander';
import { topRows } from '../core/matrix.js';
import { loadMnistDataset } from '../data/dataset.js';
import { ensureDir, writeFileAtomic } from '../io/atomic.js';
import { saveModel } from '../io/model-file.js';
import { scoreSuperResolution, superResolutionTable, trainSuperResolution, type SuperResolutionScores } from '../apps/superres.js';
import { encodePng, stack } from '../viz/image.js';
import { labelledRowsFigure, titled } from '../viz/figures.js';
import { backendFrom, checkOutputFolder } from './common.js';
import { UsageError } from './exit.js';
import { intFlag } from './options.js';
import { progressCallbacks } from './progress.js';

interface SuperResFlags {
  force?: boolean;
  factor: string;
  hidden: string;
  epochs: string;
  seed: string;
  limit?: string;
  show: string;
  out: string;
  json?: boolean;
  backend: string;
}

export function registerSuperResolution(program: Command): void {
  program
    .command('superres')
    .description('super-resolution at MNIST scale: learn to restore 28x28 digits from 14x14 or 7x7 ones, against bicubic up-scaling (Fig. 9)')
    .requiredOption('--out <dir>', 'folder for superres.png, superres.md, superres.json and the models')
    .option('--factor <f>', 'down-scaling factor: 2 (14x14), 4 (7x7), or "2,4" for both', '2,4')
    .option('--hidden <d>', 'hidden units of the 784→d→784 network', '500')
    .option('--epochs <n>', 'training epochs', '20')
    .option('--seed <n>', 'seed', '0')
    .option('--limit <n>', 'use only the first N training rows (and at most N test rows)')
    .option('--show <n>', 'digits drawn in the figure', '12')
    .option('--json', 'print the table as JSON')
    .option('--backend <name>', 'auto|native|js', 'auto')
    .action((f: SuperResFlags) => {
      checkOutputFolder('--out', f.out, ['superres.md', 'superres.json', 'superres.png'], f.force === true);
      const factors = f.factor.split(',').map((v) => intFlag('--factor', v));
      for (const k of factors) if (k !== 2 && k !== 4) throw new UsageError(`--factor: expected 2 or 4 (28 = 2·14 = 4·7), received ${k}`);
      const hidden = intFlag('--hidden', f.hidden);
      const epochs = intFlag('--epochs', f.epochs);
      const seed = intFlag('--seed', f.seed, 0);
      const show = intFlag('--show', f.show);
      const limit = f.limit === undefined ? undefined : intFlag('--limit', f.limit);
      const backend = backendFrom(f.backend);
      ensureDir(f.out);
      const results: SuperResolutionScores[] = [];
      const figures = [];
      for (const factor of factors) {
        const data = loadMnistDataset(limit === undefined ? {} : { limit });
        process.stderr.write(`ae superres: training 784→${hidden}→784 to restore ${28 / factor}×${28 / factor} digits (factor ${factor})\n`);
        const sr = trainSuperResolution(data, { factor, hidden, epochs, seed, backend, callbacks: progressCallbacks(epochs) });
        saveModel(join(f.out, `model-x${factor}.safetensors`), sr.model, {
          scaling: sr.scaling,
          loss: 'mse',
          training: { task: 'super-resolution', factor, input: `bicubic up-scaling of the ${28 / factor}x${28 / factor} area-down-scaled digit`, epochs, seed, backend: backend.name },
        });
        const r = scoreSuperResolution(sr, factor, 28);
        results.push(r);
        const k = Math.min(show, r.count);
        const rows = [r.images.low, r.images.bicubic, r.images.network, r.images.original].map((m) => topRows(m, k));
        figures.push(titled(labelledRowsFigure(rows, [`${28 / factor}x${28 / factor} input`, 'bicubic', 'autoencoder', 'original'], { width: 28, height: 28, range: [0, 1] }), `factor ${factor}`));
      }
      writeFileAtomic(join(f.out, 'superres.png'), encodePng(stack(figures, 10, 255)));
      const table = superResolutionTable(results);
      const summary = results.map((r) => ({ factor: r.factor, count: r.count, rows: r.rows }));
      writeFileAtomic(join(f.out, 'superres.md'), `Test digits, scored on the original in [0, 1].\n\n${table}\n`);
      writeFileAtomic(join(f.out, 'superres.json'), JSON.stringify(summary, null, 2) + '\n');
      process.stdout.write(f.json ? JSON.stringify(summary) + '\n' : `${table}\nwrote ${join(f.out, 'superres.png')}, superres.md, superres.json\n`);
    });
}
