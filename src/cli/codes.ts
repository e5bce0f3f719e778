import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { topRows, type Matrix } from '../core/matrix.js';
import { loadMnistDataset, scaled } from '../data/dataset.js';
import { toUnit, unscaleInto } from '../data/scaling.js';
import { ensureDir, writeFileAtomic } from '../io/atomic.js';
import { CODE_DTYPES, codesModelOf, encodeCodes, readCodesFile, DTYPE_BYTES } from '../io/codes.js';
import { rateDistortion, rdFigure, rdNotes, rdTable } from '../apps/compress.js';
import { encodePng, imageGrid } from '../viz/image.js';
import { backendFrom, checkFileOutput, checkOutputFolder, evalData, loadModelFlag, modelImage } from './common.js';
import { addReadOptions, DATA_HELP, type ReadFlags } from './data-flags.js';
import { UsageError } from './exit.js';
import { choiceFlag, intFlag } from './options.js';

const SPLITS = ['test', 'train'] as const;

interface EncodeFlags extends ReadFlags {
  force?: boolean;
  model: string;
  in?: string;
  split?: string;
  limit?: string;
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
    .option('--limit <n>', 'encode only the first N rows')
    .option('--format <dtype>', `how each code value is stored: ${CODE_DTYPES.join(', ')} (4, 2 or 1 bytes)`, 'f32')
    .option('--backend <name>', 'auto|native|js', 'auto'))
    .action(async (f: EncodeFlags) => {
      const format = choiceFlag('--format', f.format, CODE_DTYPES);
      const split = choiceFlag('--split', f.split ?? 'test', SPLITS);
      checkFileOutput('--out', f.out, '.aec', f.force === true);
      const loaded = loadModelFlag(f.model, f.backend);
      const data = await evalData(loaded, f.in, f.limit, f, '--in');
      const raw = split === 'test' ? data.test! : data.train;
      const width = loaded.model.inputSize;
      const codes = loaded.model.encode(scaled(raw, loaded.config.scaling));
      const e = data.evalSource;
      const part = split === 'train' ? 'train' : e.part === 'validation' ? 'held-out' : e.part;
      const note = `${e.kind === 'mnist' ? 'mnist' : e.path} ${part} rows 1..${raw.rows}`;
      const bytes = encodeCodes(codes, format, { model: codesModelOf(loaded.model, loaded.config.scaling), note });
      writeFileAtomic(f.out, bytes);
      const payload = codes.rows * codes.cols * DTYPE_BYTES[format];
      process.stdout.write(
        `wrote ${f.out}: ${codes.rows} codes of ${codes.cols} dims (${format}), ${bytes.length} bytes = ${payload} of codes + ${bytes.length - payload} of header; ` +
          `${(bytes.length / codes.rows).toFixed(2)} bytes per row against ${width} values per input row\n`,
      );
    });
}

interface DecodeFlags {
  force?: boolean;
  model: string;
  codes: string;
  out: string;
  count?: string;
  backend: string;
}

/** 7 significant digits: a float32 holds about that many, and the CSV stays short. */
function csvNumber(v: number): string {
  return String(Number(v.toPrecision(7)));
}

/** A CSV of raw rows, headed by the model's recorded column names when it has them (and they fit). */
function csvOf(m: Matrix, columns: string[] | null = null): string {
  const quote = (name: string) => (/[",\r\n]/.test(name) ? `"${name.replace(/"/g, '""')}"` : name);
  const lines: string[] = columns && columns.length === m.cols ? [columns.map(quote).join(',')] : [];
  for (let r = 0; r < m.rows; r++) {
    const row: string[] = [];
    for (let j = 0; j < m.cols; j++) row.push(csvNumber(m.data[r * m.cols + j]!));
    lines.push(row.join(','));
  }
  return lines.join('\n') + '\n';
}

export function registerDecode(program: Command): void {
  program
    .command('decode')
    .description("turn an .aec file of codes back into rows with the model's decoder: a PNG grid of digits or a CSV of raw values")
    .requiredOption('--model <file>', 'the model whose encoder wrote the codes')
    .requiredOption('--codes <file.aec>', 'a codes file written by ae encode')
    .requiredOption('--out <file>', 'a .png (pictures on [0, 1]) or a .csv (rows in the raw range the model was trained on, headed by its column names)')
    .option('--count <n>', 'decode only the first N codes (default: all; a PNG shows at most 100 unless --count says more)')
    .option('--backend <name>', 'auto|native|js', 'auto')
    .action((f: DecodeFlags) => {
      const lower = f.out.toLowerCase();
      const kind = lower.endsWith('.png') ? 'png' : lower.endsWith('.csv') ? 'csv' : undefined;
      if (kind === undefined) throw new UsageError(`--out: expected a path ending in .png or .csv, received "${f.out}"`);
      checkFileOutput('--out', f.out, `.${kind}`, f.force === true);
      const count = f.count === undefined ? undefined : intFlag('--count', f.count);
      const decoded = readCodesFile(f.codes);
      const loaded = loadModelFlag(f.model, f.backend);
      const { model, config } = loaded;
      const mine = codesModelOf(model, config.scaling);
      const theirs = decoded.meta.model;
      if (theirs === null) throw new UsageError(`${f.codes}: expected codes written by an autoencoder's encoder (with a model fingerprint), received codes with no model`);
      if (decoded.codes.cols !== model.codeSize) {
        throw new UsageError(`${f.codes}: expected codes of ${model.codeSize} dims for ${f.model} (${mine.description}), received ${decoded.codes.cols} dims written for ${theirs.description}`);
      }
      if (theirs.fingerprint !== mine.fingerprint) {
        throw new UsageError(
          `${f.codes}: expected codes written by ${f.model} (${mine.fingerprint.slice(0, 19)}…), received codes from a different model (${theirs.description}, ${theirs.fingerprint.slice(0, 19)}…)`,
        );
      }
      const recorded = (config.training.data ?? {}) as { columns?: unknown };
      const shape = kind === 'png' ? modelImage(loaded) : null;
      const columns = Array.isArray(recorded.columns) && recorded.columns.every((c) => typeof c === 'string') ? (recorded.columns as string[]) : null;
      if (kind === 'png' && !shape) throw new UsageError(`--out: expected .csv for a model of ${model.inputSize} values per row (a PNG needs pictures: square rows, or a model trained on images), received "${f.out}"`);
      const n = Math.min(decoded.codes.rows, count ?? (kind === 'png' ? 100 : decoded.codes.rows));
      const rows = model.decode(topRows(decoded.codes, n));
      if (kind === 'png') {
        const unit = { rows: rows.rows, cols: rows.cols, data: toUnit(rows.data, config.scaling, rows.data) };
        writeFileAtomic(f.out, encodePng(imageGrid(unit, { ...shape!, cols: Math.min(10, n), range: [0, 1], zoom: 2 })));
      } else {
        writeFileAtomic(f.out, csvOf({ rows: rows.rows, cols: rows.cols, data: unscaleInto(rows.data, config.scaling, rows.data) }, columns));
      }
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of rows.data) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
      const what = kind === 'png' ? 'pictures' : `rows of raw values (${Number(lo.toPrecision(5))} to ${Number(hi.toPrecision(5))})`;
      process.stdout.write(`wrote ${f.out}: ${n} of ${decoded.codes.rows} codes (${decoded.dtype}) decoded to ${what}\n`);
    });
}

interface RdFlags {
  force?: boolean;
  dims: string;
  epochs: string;
  limit?: string;
  seed: string;
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
    .option('--epochs <n>', 'epochs for each autoencoder', '20')
    .option('--limit <n>', 'use only the first N training rows (and at most N test rows)')
    .option('--seed <n>', 'seed of every model', '0')
    .option('--json', 'print JSON instead of the table')
    .option('--backend <name>', 'auto|native|js', 'auto')
    .action((f: RdFlags) => {
      checkOutputFolder('--out', f.out, ['rd.md', 'rd.json', 'rd.png'], f.force === true);
      const dims = dimsFlag(f.dims);
      const epochs = intFlag('--epochs', f.epochs);
      const seed = intFlag('--seed', f.seed, 0);
      const limit = f.limit === undefined ? undefined : intFlag('--limit', f.limit);
      if (limit !== undefined && limit < 2) throw new UsageError(`--limit: expected at least 2 rows (PCA needs two), received "${f.limit}"`);
      if (existsSync(f.out) && !statSync(f.out).isDirectory()) throw new UsageError(`--out: expected a folder, received the file "${f.out}"`);
      const backend = backendFrom(f.backend);
      const data = loadMnistDataset(limit === undefined ? {} : { limit });
      const result = rateDistortion(data, { dims, epochs, seed, backend, onProgress: (line) => process.stderr.write(`ae rd: ${line}\n`) });
      ensureDir(f.out);
      const md = `# Rate-distortion: the encoder as a compressor\n\n${rdTable(result)}\n\n${rdNotes(result)}\n\nTotal time ${result.seconds.toFixed(1)} s.\n`;
      writeFileAtomic(join(f.out, 'rd.md'), md);
      writeFileAtomic(join(f.out, 'rd.json'), JSON.stringify(result, null, 2) + '\n');
      writeFileAtomic(join(f.out, 'rd.png'), encodePng(rdFigure(result)));
      process.stdout.write(f.json ? JSON.stringify(result) + '\n' : `${md}wrote ${join(f.out, 'rd.md')}, rd.json, rd.png\n`);
    });
}
