import type { Command } from 'commander';
import { writeFileAtomic } from '../io/atomic.js';
import { CODE_DTYPES, readCodesFile } from '../io/codes.js';
import { checkCodesModel, decodeRows, encodeSplit } from '../apps/compress.js';
import { checkInputs, claimOutputs, type OutputSpec } from '../io/output-check.js';
import { evalData, loadModelFlag, modelImage, recordedInputs } from './common.js';
import { addReadOptions, DATA_HELP, type ReadFlags } from './data-flags.js';
import { UsageError } from './exit.js';
import { backendOption, choiceFlag, intOption, limitOption } from './options.js';

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
    .description("compress rows to the model's latent codes: a safetensors file (a codes tensor, and for q8 a scale and offset per dimension; documented in src/io/codes.ts)")
    .requiredOption('--model <file>', 'a model.safetensors written by ae train')
    .requiredOption('--out <file.safetensors>', 'the codes file to write')
    .option('--in <source>', `${DATA_HELP} (default: the data the model was trained on)`)
    .option('--split <name>', 'test (the test or held-out rows, or every row of a source without them; the default) or train')
    .addOption(limitOption('encode only the first N rows'))
    .option('--format <dtype>', `how each code value is stored: ${CODE_DTYPES.join(', ')} (4, 2 or 1 bytes)`, 'f32')
    .addOption(backendOption()))
    .action(async (f: EncodeFlags) => {
      const format = choiceFlag('--format', f.format, CODE_DTYPES);
      const split = choiceFlag('--split', f.split ?? 'test', SPLITS);
      const spec: OutputSpec = { path: f.out, kind: 'file', ext: '.safetensors', force: f.force === true, inputs: [{ flag: '--model', path: f.model }, { flag: '--in', path: f.in }] };
      const claim = claimOutputs(spec);
      const loaded = loadModelFlag(f.model, f.backend);
      if (f.in === undefined) checkInputs(spec, recordedInputs(loaded));
      const data = await evalData(loaded, f.in, f.limit, f, '--in');
      const { bytes, report } = encodeSplit(loaded, data, split, format, data.evalSource);
      writeFileAtomic(f.out, bytes);
      claim.release();
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
    .description("turn a codes file back into rows with the model's decoder: a PNG grid of digits or a CSV of raw values")
    .requiredOption('--model <file>', 'the model whose encoder wrote the codes')
    .requiredOption('--codes <file.safetensors>', 'a codes file written by ae encode')
    .requiredOption('--out <file>', 'a .png (pictures on [0, 1]) or a .csv (rows in the raw range the model was trained on, headed by its column names)')
    .addOption(intOption('--count <n>', 'decode only the first N codes (default: all; a PNG shows at most 100 unless --count says more)'))
    .addOption(backendOption())
    .action((f: DecodeFlags) => {
      const lower = f.out.toLowerCase();
      const kind = lower.endsWith('.png') ? 'png' : lower.endsWith('.csv') ? 'csv' : undefined;
      if (kind === undefined) throw new UsageError(`--out: expected a path ending in .png or .csv, received "${f.out}"`);
      const claim = claimOutputs({ path: f.out, kind: 'file', force: f.force === true, inputs: [{ flag: '--model', path: f.model }, { flag: '--codes', path: f.codes }] });
      const count = f.count;
      const decoded = readCodesFile(f.codes);
      const loaded = loadModelFlag(f.model, f.backend);
      checkCodesModel(decoded, loaded, { codes: f.codes, model: f.model });
      const image = kind === 'png' ? modelImage(loaded) : null;
      if (kind === 'png' && !image) {
        throw new UsageError(`--out: expected .csv for a model of ${loaded.model.inputSize} values per row (a PNG needs pictures: square rows, or a model trained on images), received "${f.out}"`);
      }
      const { contents, report } = decodeRows(loaded, decoded, { kind, image, what: '--count', ...(count === undefined ? {} : { count }) });
      writeFileAtomic(f.out, contents);
      claim.release();
      process.stdout.write(`wrote ${f.out}: ${report}\n`);
    });
}
