import { join } from 'node:path';
import type { Command } from 'commander';
import { loadMnistDataset } from '../data/dataset.js';
import { ensureDir, writeFileAtomic } from '../io/atomic.js';
import { CODE_DTYPES, readCodesFile } from '../io/codes.js';
import { checkCodesModel, decodeRows, encodeSplit, rateDistortion, rdFiles, rdMarkdown } from '../apps/compress.js';
import { backendFrom, checkFileOutput, checkOutputFolder, evalData, loadModelFlag, modelImage } from './common.js';
import { addReadOptions, DATA_HELP, type ReadFlags } from './data-flags.js';
import { UsageError } from './exit.js';
import { backendOption, choiceFlag, intFlag, intOption, limitOption, seedOption } from './options.js';

const SPLITS = ['test', 'train'] as const;

interface EncodeFlags extends ReadFlags {
  force?: boolean;
  model: string;
  in?: string;
  split?: string;
  limit?: number;
  format: string;
  out: string;
  backend: string;
}

export function registerEncode(program: Command): void {
  addReadOptions(program
    .command('encode')
    .description("compress rows to the model's latent codes (an .aec file; its byte layout is documented in src/io/codes.ts)")
    .requiredOption('--model <file>', 'a model.safetensors written by ae train')
    .requiredOption('--out <file.aec>', 'the codes file to write')
    .option('--in <source>', `${DATA_HELP} (default: the data the model was trained on)`)
    .option('--split <name>', 'test (the test or held-out rows, or every row of a source without them; the default) or train')
    .addOption(limitOption('encode only the first N rows'))
    .option('--format <dtype>', `how each code value is stored: ${CODE_DTYPES.join(', ')} (4, 2 or 1 bytes)`, 'f32')
    .addOption(backendOption()))
    .action(async (f: EncodeFlags) => {
      const format = choiceFlag('--format', f.format, CODE_DTYPES);
      const split = choiceFlag('--split', f.split ?? 'test', SPLITS);
      checkFileOutput('--out', f.out, '.aec', f.force === true);
      const loaded = loadModelFlag(f.model, f.backend);
      const data = await evalData(loaded, f.in, f.limit, f, '--in');
      const { bytes, report } = encodeSplit(loaded, data, split, format, data.evalSource);
      writeFileAtomic(f.out, bytes);
      process.stdout.write(`wrote ${f.out}: ${report}\n`);
    });
}

interface DecodeFlags {
  force?: boolean;
  model: string;
  codes: string;
  out: string;
  count?: number;
  backend: string;
}

export function registerDecode(program: Command): void {
  program
    .command('decode')
    .description("turn an .aec file of codes back into rows with the model's decoder: a PNG grid of digits or a CSV of raw values")
    .requiredOption('--model <file>', 'the model whose encoder wrote the codes')
    .requiredOption('--codes <file.aec>', 'a codes file written by ae encode')
    .requiredOption('--out <file>', 'a .png (pictures on [0, 1]) or a .csv (rows in the raw range the model was trained on, headed by its column names)')
    .addOption(intOption('--count <n>', 'decode only the first N codes (default: all; a PNG shows at most 100 unless --count says more)'))
    .addOption(backendOption())
    .action((f: DecodeFlags) => {
      const lower = f.out.toLowerCase();
      const kind = lower.endsWith('.png') ? 'png' : lower.endsWith('.csv') ? 'csv' : undefined;
      if (kind === undefined) throw new UsageError(`--out: expected a path ending in .png or .csv, received "${f.out}"`);
      checkFileOutput('--out', f.out, `.${kind}`, f.force === true);
      const count = f.count;
      const decoded = readCodesFile(f.codes);
      const loaded = loadModelFlag(f.model, f.backend);
      checkCodesModel(decoded, loaded, { codes: f.codes, model: f.model });
      const image = kind === 'png' ? modelImage(loaded) : null;
      if (kind === 'png' && !image) {
        throw new UsageError(`--out: expected .csv for a model of ${loaded.model.inputSize} values per row (a PNG needs pictures: square rows, or a model trained on images), received "${f.out}"`);
      }
      const { contents, report } = decodeRows(loaded, decoded, { kind, image, ...(count === undefined ? {} : { count }) });
      writeFileAtomic(f.out, contents);
      process.stdout.write(`wrote ${f.out}: ${report}\n`);
    });
}

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
    .requiredOption('--out <dir>', 'folder for rd.md, rd.json and rd.png')
    .option('--dims <list>', 'code sizes, comma-separated', '8,16,32,64')
    .addOption(intOption('--epochs <n>', 'epochs for each autoencoder', { default: 20 }))
    .addOption(limitOption('use only the first N training rows (and at most N test rows)'))
    .addOption(seedOption('seed of every model'))
    .option('--json', 'print JSON instead of the table')
    .addOption(backendOption())
    .action((f: RdFlags) => {
      checkOutputFolder('--out', f.out, ['rd.md', 'rd.json', 'rd.png'], f.force === true);
      const dims = dimsFlag(f.dims);
      const epochs = f.epochs;
      const seed = f.seed;
      const limit = f.limit;
      if (limit !== undefined && limit < 2) throw new UsageError(`--limit: expected at least 2 rows (PCA needs two), received "${f.limit}"`);
      const backend = backendFrom(f.backend);
      const result = rateDistortion(loadMnistDataset(limit === undefined ? {} : { limit }), { dims, epochs, seed, backend, onProgress: (line) => process.stderr.write(`ae rd: ${line}\n`) });
      const files = rdFiles(result);
      ensureDir(f.out);
      for (const file of files) writeFileAtomic(join(f.out, file.name), file.contents);
      process.stdout.write(f.json ? JSON.stringify(result) + '\n' : `${rdMarkdown(result)}wrote ${join(f.out, 'rd.md')}, rd.json, rd.png\n`);
    });
}
