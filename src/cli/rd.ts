import { join } from 'node:path';
import type { Command } from 'commander';
import { loadMnistDataset } from '../data/dataset.js';
import { claimOutputs } from '../io/output-check.js';
import { writeFolder } from '../io/outputs.js';
import { rateDistortion, RD_FILES, rdFiles, rdMarkdown } from '../apps/compress.js';
import { backendFrom } from './common.js';
import { UsageError } from './exit.js';
import { backendOption, intFlag, intOption, limitOption, seedOption } from './options.js';


interface RdFlags {
  force?: boolean;
  dims: string;
  epochs: number;
  limit?: number;
  seed: number;
  json?: boolean;
  out: string;
  backend: string;
}

/** "8,16,32" -> [8, 16, 32]; one size is fine too. */
function dimsFlag(text: string): number[] {
  return text.split(',').map((p, i) => {
    const d = intFlag(`--dims[${i}]`, p);
    if (d > 784) throw new UsageError(`--dims[${i}]: expected an integer in [1, 784] (MNIST's 784 pixels), received "${p}"`);
    return d;
  });
}

export function registerRateDistortion(program: Command): void {
  program
    .command('rd')
    .description('rate-distortion on MNIST: autoencoder and PCA codes of each size stored as f32, f16 and q8, bytes per image against PSNR')
    .requiredOption('--out <dir>', 'folder for rd.md, rd.json and the chart (rd.png, rd.svg, rd.vl.json)')
    .option('--dims <list>', 'code sizes, comma-separated', '8,16,32,64')
    .addOption(intOption('--epochs <n>', 'epochs for each autoencoder', { default: 20 }))
    .addOption(limitOption('use only the first N training rows (and at most N test rows)'))
    .addOption(seedOption('seed of every model'))
    .option('--json', 'print JSON instead of the table')
    .addOption(backendOption())
    .action(async (f: RdFlags) => {
      const dims = dimsFlag(f.dims);
      const epochs = f.epochs;
      const seed = f.seed;
      const limit = f.limit;
      if (limit !== undefined && limit < 2) throw new UsageError(`--limit: expected at least 2 rows (PCA needs two), received "${f.limit}"`);
      const claim = claimOutputs({ path: f.out, kind: 'folder', files: RD_FILES, force: f.force === true });
      const backend = backendFrom(f.backend);
      const result = rateDistortion(loadMnistDataset(limit === undefined ? {} : { limit }), { dims, epochs, seed, backend, onProgress: (line) => process.stderr.write(`ae rd: ${line}\n`) });
      const files = await rdFiles(result);
      writeFolder(f.out, files.map((file) => ({ name: file.name, data: file.contents })), claim.present);
      claim.release();
      process.stdout.write(f.json ? JSON.stringify(result) + '\n' : `${rdMarkdown(result)}wrote ${join(f.out, 'rd.md')}, ${RD_FILES.slice(1).join(', ')}\n`);
    });
}
