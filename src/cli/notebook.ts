import type { Command } from 'commander';
import { runNotebook } from '../apps/notebook.js';
import { backendFrom } from './common.js';
import { intFlag } from './options.js';
import { progressCallbacks } from './progress.js';

interface NotebookFlags {
  out: string;
  epochs: string;
  count: string;
  limit?: string;
  force?: boolean;
  backend: string;
}

/** `npm start`: the companion notebook end to end (apps/notebook.ts). */
export function registerNotebook(program: Command): void {
  program
    .command('notebook')
    .description("the companion notebook end to end: standard and denoising models, reconstructions, kernels, inpainting vs OpenCV")
    .requiredOption('--out <dir>', 'folder for everything (standard/, denoising/, inpainting/, index.md)')
    .option('--epochs <n>', 'epochs per model', '20')
    .option('--count <n>', 'test digits in the inpainting comparison', '1000')
    .option('--limit <n>', 'use only the first N training rows (and at most N test rows)')
    .option('--force', 'replace models already in --out')
    .option('--backend <name>', 'auto|native|js', 'auto')
    .action(async (f: NotebookFlags) => {
      const r = await runNotebook({
        out: f.out,
        epochs: intFlag('--epochs', f.epochs),
        count: intFlag('--count', f.count),
        ...(f.limit === undefined ? {} : { limit: intFlag('--limit', f.limit) }),
        force: f.force === true,
        backend: backendFrom(f.backend),
        callbacks: (epochs) => progressCallbacks(epochs),
        log: (line) => process.stderr.write(`ae: ${line}\n`),
      });
      process.stdout.write(r.markdown);
    });
}
