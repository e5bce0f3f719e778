import type { Command } from 'commander';
import { runNotebook } from '../apps/notebook.js';
import { backendFrom } from './common.js';
import { backendOption, intOption, limitOption } from './options.js';
import { progressCallbacks } from './progress.js';
import { withInterrupts } from './interrupt.js';

interface NotebookFlags {
  out: string;
  epochs: number;
  count: number;
  limit?: number;
  force?: boolean;
  backend: string;
}

/** `npm start`: the companion notebook end to end (apps/notebook.ts). */
export function registerNotebook(program: Command): void {
  program
    .command('notebook')
    .description("the companion notebook end to end: standard and denoising models, reconstructions, kernels, inpainting vs OpenCV")
    .requiredOption('--out <dir>', 'folder for everything (standard/, denoising/, inpainting/, index.md)')
    .addOption(intOption('--epochs <n>', 'epochs per model', { default: 20 }))
    .addOption(intOption('--count <n>', 'test digits in the inpainting comparison', { default: 1000 }))
    .addOption(limitOption('use only the first N training rows (and at most N test rows)'))
    .option('--force', 'replace models already in --out')
    .addOption(backendOption())
    .action(async (f: NotebookFlags) => {
      const r = await withInterrupts((signal) => runNotebook({
        out: f.out,
        epochs: f.epochs,
        count: f.count,
        ...(f.limit === undefined ? {} : { limit: f.limit }),
        force: f.force === true,
        backend: backendFrom(f.backend),
        callbacks: (epochs) => progressCallbacks(epochs),
        log: (line) => process.stderr.write(`ae: ${line}\n`),
        signal,
      }));
      process.stdout.write(r.markdown);
    });
}
