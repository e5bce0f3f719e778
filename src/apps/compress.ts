/**
 * The encoder as a compressor: rate–distortion of autoencoder codes against PCA codes of the
 * same size, each stored three ways (src/io/codes.ts: f32, f16, q8), with lossless 8-bit
 * baselines beside them.
 *
 * Rate: bytes of code payload per image (d·4, d·2, d·1). A codes file also has a header (and,
 * for q8, a scale and offset per dimension) once per file; that is reported separately, as
 * bytes per file and amortised over the test set. The decoder's weights (or the PCA basis) are
 * shared by every file and not counted.
 *
 * Distortion: PSNR of each decoded test digit against its 8-bit original, both on [0, 1]
 * (raw / 255 for MNIST; the reconstruction clamped to [0, 1], as a picture would be), peak 1:
 * 10·log10(1 / MSE) per digit, then the mean over digits (a digit reconstructed exactly would
 * count as 100 dB, as in the inpainting table). The mean per-pixel MSE is given too.
 *
 * Also the encode and decode steps of `ae encode` / `ae decode` (encodeRows, checkCodesModel,
 * decodeRows): a model's codes of raw rows as a codes file (safetensors), and such a file back to rows.
 */
import { deflateRawSync } from 'node:zlib';
import { PNG } from 'pngjs';
import type { Backend } from '../core/backend.js';
import { ValidationError, expected } from '../core/errors.js';
import { topRows, type Matrix } from '../core/matrix.js';
import { scaled, type Dataset } from '../data/dataset.js';
import { toUnit, unscaleInto, type Scaling } from '../data/scaling.js';
import { fitPca, pcaDecode, pcaEncode, type Pca } from '../baselines/pca.js';
import { CODE_DTYPES, codesModelOf, decodeCodes, encodeCodes, DTYPE_BYTES, type CodeDtype, type CodesMeta, type DecodedCodes } from '../io/codes.js';
import type { LoadedModel } from '../io/model-file.js';
import { prepareTraining, resolveSettings } from '../train/recipe.js';
import { chartFiles, chartNames, renderChart, type VegaLiteSpec } from '../viz/vega.js';
import { encodePng, gridSize, imageGrid } from '../viz/image.js';
import { checkMemory, checkPicture, estimate, largestFitting, memoryLimit } from '../core/memory.js';

export type RdMethod = 'autoencoder' | 'pca' | 'raw' | 'png' | 'deflate';

export interface RdRow {
  method: RdMethod;
  /** Code size; null for the lossless baselines. */
  d: number | null;
  /** How the code is stored (f32, f16, q8), or the baseline's format. */
  format: CodeDtype | 'u8' | 'png' | 'deflate';
  /** Payload bytes per image. */
  bytesPerImage: number;
  /** Bytes once per codes file (length field, JSON header and its padding, q8's scale and offset tensors); 0 for the baselines. */
  overheadBytes: number;
  /** overheadBytes / the number of test images. */
  overheadPerImage: number;
  /** Mean over digits of the per-digit PSNR (dB, peak 1, images on [0, 1]); null when lossless. */
  psnr: number | null;
  /** Mean per-pixel squared error on [0, 1]. */
  mse: number;
  lossless: boolean;
}

export interface RdModel {
  d: number;
  /** The test loss training reports (MSE in the model's own scaling). */
  testLoss: number;
  trainSeconds: number;
}

export interface RdResult {
  trainCount: number;
  testCount: number;
  epochs: number;
  seed: number;
  backend: string;
  /** The recipe every autoencoder trained with (the notebook's unless changed), for the report. */
  settings: { activation: string; loss: string; optimizer: string; lr: number; batchSize: number; inputSize: number };
  dims: number[];
  models: RdModel[];
  rows: RdRow[];
  seconds: number;
}

export interface RdOptions {
  dims: number[];
  epochs: number;
  backend: Backend;
  seed?: number;
  onProgress?: (line: string) => void;
}

/** Mean over rows of the per-row PSNR (peak 1, capped at 100 dB) and the mean per-element MSE. */
export function psnrStats(reference: Matrix, test: Matrix): { psnr: number; mse: number } {
  if (reference.rows !== test.rows || reference.cols !== test.cols) {
    throw new ValidationError(expected('psnrStats shapes', `${reference.rows}x${reference.cols} for both`, `${test.rows}x${test.cols}`));
  }
  const { rows, cols } = reference;
  if (rows === 0 || cols === 0) throw new ValidationError(expected('psnrStats rows', 'at least one row and column', `${rows}x${cols}`));
  let psnrSum = 0;
  let sqSum = 0;
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = r * cols; i < (r + 1) * cols; i++) s += (reference.data[i]! - test.data[i]!) ** 2;
    sqSum += s;
    const mse = s / cols;
    psnrSum += mse > 0 ? Math.min(100, 10 * Math.log10(1 / mse)) : 100;
  }
  return { psnr: psnrSum / rows, mse: sqSum / (rows * cols) };
}

/** Raw rows mapped to [0, 1] by the data's raw range (MNIST: raw / 255). */
function unitOf(raw: Matrix, range: { min: number; max: number }): Matrix {
  const out = new Float32Array(raw.data.length);
  const w = range.max - range.min;
  for (let i = 0; i < out.length; i++) out[i] = (raw.data[i]! - range.min) / w;
  return { rows: raw.rows, cols: raw.cols, data: out };
}

/** Whether every raw value is an integer in [0, 255] (so the data has an exact 8-bit form). */
export function isEightBit(raw: Matrix): boolean {
  for (const v of raw.data) if (!(Number.isInteger(v) && v >= 0 && v <= 255)) return false;
  return true;
}

/** The top-d part of a PCA fitted with at least d components (its rows are sorted by variance). */
function truncatePca(p: Pca, d: number): Pca {
  return {
    mean: p.mean,
    components: topRows(p.components, d),
    explainedVariance: p.explainedVariance.subarray(0, d),
    explainedVarianceRatio: p.explainedVarianceRatio.subarray(0, d),
  };
}

/** Stores codes in a format, reads them back, and scores the decoded rows. */
function scoreFormats(
  method: 'autoencoder' | 'pca',
  codes: Matrix,
  meta: CodesMeta,
  decode: (codes: Matrix) => Matrix,
  scaling: Scaling,
  reference: Matrix,
): RdRow[] {
  return CODE_DTYPES.map((format) => {
    const bytes = encodeCodes(codes, format, meta);
    const back = decodeCodes(bytes, `${method} d=${codes.cols} ${format}`);
    const recon = decode(back.codes);
    const unit = { rows: recon.rows, cols: recon.cols, data: toUnit(recon.data, scaling, recon.data) };
    const { psnr, mse } = psnrStats(reference, unit);
    return {
      method,
      d: codes.cols,
      format,
      bytesPerImage: codes.cols * DTYPE_BYTES[format],
      overheadBytes: back.overheadBytes,
      overheadPerImage: back.overheadBytes / codes.rows,
      psnr,
      mse,
      lossless: false,
    };
  });
}

/** An 8-bit greyscale PNG of one picture (deflate level 9): the lossless per-image baseline. */
export function greyPng(pixels: Uint8Array, image: { width: number; height: number }): Uint8Array {
  if (pixels.length !== image.width * image.height) throw new ValidationError(expected('greyPng pixels', `${image.width * image.height} values`, pixels.length));
  const opts = { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8, deflateLevel: 9 } as const;
  const png = new PNG({ width: image.width, height: image.height, ...opts });
  png.data = Buffer.from(pixels);
  return new Uint8Array(PNG.sync.write(png, opts));
}

/** The lossless 8-bit baselines: raw bytes, one PNG per image, and one deflate stream for the whole set. */
export function losslessBaselines(raw: Matrix, image: { width: number; height: number } | null): RdRow[] {
  const n = raw.rows;
  const bytes = Uint8Array.from(raw.data);
  const row = (method: RdMethod, format: RdRow['format'], total: number): RdRow => ({
    method,
    d: null,
    format,
    bytesPerImage: total / n,
    overheadBytes: 0,
    overheadPerImage: 0,
    psnr: null,
    mse: 0,
    lossless: true,
  });
  const rows = [row('raw', 'u8', bytes.length)];
  if (image) {
    let pngTotal = 0;
    for (let r = 0; r < n; r++) pngTotal += greyPng(bytes.subarray(r * raw.cols, (r + 1) * raw.cols), image).length;
    rows.push(row('png', 'png', pngTotal));
  }
  rows.push(row('deflate', 'deflate', deflateRawSync(bytes, { level: 9 }).length));
  return rows;
}

/**
 * For each d: trains a 784→d→784 autoencoder (the notebook's settings, `epochs` epochs) and
 * fits PCA with d components on the same scaled training rows, then stores the test set's
 * codes as f32, f16 and q8 and scores the decoded digits. Adds the lossless baselines when
 * the raw rows are 8-bit.
 */
export function rateDistortion(data: Dataset, opts: RdOptions): RdResult {
  const start = performance.now();
  const seed = opts.seed ?? 0;
  if (!data.test || data.test.rows === 0) throw new ValidationError(expected('rate-distortion data', 'a test set', 'none'));
  if (opts.dims.length === 0) throw new ValidationError(expected('dims', 'at least one code size', '[]'));
  opts.dims.forEach((d, i) => {
    if (!Number.isInteger(d) || d < 1 || d > data.train.cols) throw new ValidationError(expected(`dims[${i}]`, `an integer in [1, ${data.train.cols}]`, d));
  });
  const dims = [...new Set(opts.dims)].sort((a, b) => a - b);
  const test = data.test;
  const reference = unitOf(test, data.rawRange);
  const scaling: Scaling = { kind: 'symmetric', ...data.rawRange };
  const testScaled = scaled(test, scaling);
  const rows: RdRow[] = [];
  const models: RdModel[] = [];

  opts.onProgress?.(`fitting PCA with ${dims[dims.length - 1]} components on ${data.train.rows} rows`);
  const pcaFull = fitPca(scaled(data.train, scaling), dims[dims.length - 1]!);
  const pcaRows: RdRow[] = [];
  for (const d of dims) {
    const p = truncatePca(pcaFull, d);
    pcaRows.push(...scoreFormats('pca', pcaEncode(p, testScaled), { model: null, note: `PCA d=${d} codes` }, (c) => pcaDecode(p, c), scaling, reference));
  }

  for (const d of dims) {
    opts.onProgress?.(`training ${data.train.cols}->${d}->${data.train.cols} for ${opts.epochs} epochs`);
    const t0 = performance.now();
    const copy: Dataset = { ...data, train: { ...data.train, data: data.train.data.slice() }, test: { ...test, data: test.data.slice() } };
    const run = prepareTraining({ hidden: d, epochs: opts.epochs, seed }, copy, opts.backend, { inPlace: true });
    const history = run.fit();
    const trainSeconds = (performance.now() - t0) / 1000;
    models.push({ d, testLoss: history[history.length - 1]!.testLoss ?? NaN, trainSeconds });
    const model = run.model;
    const meta: CodesMeta = { model: codesModelOf(model, run.config.scaling), note: `${data.source} test rows 1..${test.rows}` };
    rows.push(...scoreFormats('autoencoder', model.encode(run.test!), meta, (c) => model.decode(c), run.config.scaling, reference));
  }
  rows.push(...pcaRows);
  if (isEightBit(test)) rows.push(...losslessBaselines(test, data.image));
  return {
    trainCount: data.train.rows,
    settings: (({ activation, loss, optimizer, lr, batchSize }) => ({ activation, loss, optimizer, lr, batchSize, inputSize: data.train.cols }))(resolveSettings({ hidden: dims[0], epochs: opts.epochs, seed })),
    testCount: test.rows,
    epochs: opts.epochs,
    seed,
    backend: opts.backend.name,
    dims,
    models,
    rows,
    seconds: (performance.now() - start) / 1000,
  };
}

const METHOD_LABEL: Record<RdMethod, string> = {
  autoencoder: 'autoencoder',
  pca: 'PCA',
  raw: 'raw 8-bit pixels',
  png: 'PNG per image',
  deflate: 'deflate, whole set',
};

/** The markdown table, then what the columns mean. */
export function rdTable(r: RdResult): string {
  const lines = [
    '| method | d | format | bytes / image | header / file (bytes) | header / image | vs 784 B raw | PSNR (dB) | Δ PSNR vs f32 (dB) | MSE |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of r.rows) {
    const f32 = r.rows.find((o) => o.method === row.method && o.d === row.d && o.format === 'f32');
    const diff = row.lossless || !f32 ? NaN : row.psnr! - f32.psnr!;
    // Rounded first, so a tiny negative difference does not print as "-0.0000".
    const delta = Number.isNaN(diff) ? '—' : row.format === 'f32' ? 'ref' : (Math.round(diff * 1e4) / 1e4 || 0).toFixed(4);
    const bytes = Number.isInteger(row.bytesPerImage) ? String(row.bytesPerImage) : row.bytesPerImage.toFixed(1);
    const ratio = `${(784 / row.bytesPerImage).toFixed(1)}×`;
    lines.push(
      `| ${METHOD_LABEL[row.method]} | ${row.d ?? '—'} | ${row.format} | ${bytes} | ${row.lossless ? '—' : row.overheadBytes} | ${row.lossless ? '—' : row.overheadPerImage.toFixed(3)} | ${ratio} | ${row.psnr === null ? 'lossless' : row.psnr.toFixed(2)} | ${delta} | ${row.mse.toFixed(5)} |`,
    );
  }
  return lines.join('\n');
}

/** The paragraph under the table: the setup and the definitions. */
export function rdNotes(r: RdResult): string {
  const models = r.models.map((m) => `d=${m.d}: test MSE ${m.testLoss.toFixed(4)} in [-1, 1], ${m.trainSeconds.toFixed(1)} s`).join('; ');
  return [
    `MNIST, ${r.trainCount} training and ${r.testCount} test digits. Each autoencoder is ${r.settings.inputSize}→d→${r.settings.inputSize} with the notebook's settings (${r.settings.activation}, ${r.settings.loss.toUpperCase()}, ${r.settings.optimizer === 'adam' ? 'Adam' : 'SGD'} lr ${r.settings.lr}, batch ${r.settings.batchSize}, seed ${r.seed}), ${r.epochs} epochs on the ${r.backend} backend (${models}). PCA is fitted on the same training rows in the same [-1, 1] scaling.`,
    '',
    'bytes / image is the code payload (d·4 for f32, d·2 for f16, d·1 for q8). Each codes file (safetensors) also carries, once, its header (the length field and the JSON naming the tensors, with the model fingerprint) and, for q8, a float32 scale and offset per dimension; "header / image" spreads that over the test set. The decoder weights or the PCA basis are shared and not counted.',
    'PSNR: the mean over test digits of 10·log10(1 / MSE) of each decoded digit against its 8-bit original, both on [0, 1] (the reconstruction clamped to [0, 1]), peak 1. MSE: the mean per-pixel squared error on [0, 1].',
    'The lossless rows store the 8-bit digits exactly: raw bytes; one greyscale PNG per digit (deflate level 9, with its ~70 bytes of PNG framing); or the whole test set as one raw deflate stream (level 9), amortised.',
  ].join('\n');
}

const FORMAT_COLOR: Record<CodeDtype, string> = { f32: '#1f77b4', f16: '#ff7f0e', q8: '#2ca02c' };

/** "8 B", "512 B", "1 KiB", "1.5 KiB": a Vega expression for byte tick labels. */
const BYTES_LABEL = "datum.value >= 1024 ? format(datum.value / 1024, '~g') + ' KiB' : format(datum.value, '~g') + ' B'";

/**
 * The rate-distortion chart as a Vega-Lite spec: mean PSNR against code bytes per image on a
 * log axis (ticks at powers of two, labelled in bytes), one line per method and storage format
 * through its code sizes (colour: the format; dashed: PCA), the autoencoder's q8 points
 * labelled with d, and a legend of coloured line samples.
 */
export function rdSpec(r: RdResult): VegaLiteSpec {
  const lossy = r.rows.filter((row) => !row.lossless);
  const series = (row: RdRow) => `${METHOD_LABEL[row.method]} ${row.format}`;
  const order: string[] = [];
  const colors: string[] = [];
  const dashes: number[][] = [];
  for (const method of ['autoencoder', 'pca'] as const) {
    for (const format of CODE_DTYPES) {
      if (!lossy.some((row) => row.method === method && row.format === format)) continue;
      order.push(`${METHOD_LABEL[method]} ${format}`);
      colors.push(FORMAT_COLOR[format]);
      dashes.push(method === 'pca' ? [6, 4] : [1, 0]);
    }
  }
  const values = lossy
    .filter((row) => order.includes(series(row)))
    .sort((a, b) => order.indexOf(series(a)) - order.indexOf(series(b)) || a.d! - b.d!)
    .map((row) => ({ series: series(row), method: METHOD_LABEL[row.method], format: row.format, d: row.d, bytesPerImage: row.bytesPerImage, psnr: +row.psnr!.toFixed(4), label: row.method === 'autoencoder' && row.format === 'q8' ? `d=${row.d}` : '' }));
  const bytes = values.map((v) => v.bytesPerImage);
  const lo = 2 ** Math.floor(Math.log2(Math.min(...bytes, 1e9)));
  const hi = 2 ** Math.ceil(Math.log2(Math.max(...bytes, 1)));
  const ticks: number[] = [];
  for (let v = lo; v <= hi; v *= 2) ticks.push(v);
  const x = { field: 'bytesPerImage', type: 'quantitative', title: 'code bytes per image (log scale)', scale: { type: 'log', base: 2, domain: [lo / 1.25, hi * 1.25], nice: false }, axis: { values: ticks, labelExpr: BYTES_LABEL, grid: true } } as const;
  const y = { field: 'psnr', type: 'quantitative', title: 'mean PSNR (dB)', scale: { zero: false, nice: true } } as const;
  const color = { field: 'series', type: 'nominal', title: 'method and code format', scale: { domain: order, range: colors }, legend: { symbolType: 'stroke', symbolStrokeWidth: 3, symbolSize: 400, orient: 'right' } } as const;
  return {
    title: { text: `Rate-distortion, ${r.testCount} MNIST test digits`, subtitle: 'each point is one code size d; solid: autoencoder, dashed: PCA; colour: how the code is stored', subtitleFont: 'DejaVu Sans', subtitleFontSize: 12, subtitleColor: '#444444' },
    width: 640,
    height: 420,
    data: { values },
    encoding: { x, y },
    layer: [
      { mark: { type: 'line', strokeWidth: 2.5 }, encoding: { color, strokeDash: { field: 'series', type: 'nominal', title: color.title, scale: { domain: order, range: dashes }, legend: color.legend }, detail: { field: 'series' } } },
      {
        mark: { type: 'point', filled: true, size: 50, opacity: 1 },
        encoding: {
          color,
          tooltip: [{ field: 'series' }, { field: 'd' }, { field: 'bytesPerImage', title: 'bytes / image' }, { field: 'psnr', title: 'PSNR (dB)' }],
        },
      },
      { mark: { type: 'text', align: 'right', dx: -7, dy: -9, fontSize: 11, font: 'DejaVu Sans' }, encoding: { text: { field: 'label' }, color } },
    ],
  } as unknown as VegaLiteSpec;
}

/** rd.md: the title, the table (rdTable), the notes (rdNotes) and the total time. */
export function rdMarkdown(r: RdResult): string {
  return `# Rate-distortion: the encoder as a compressor\n\n${rdTable(r)}\n\n${rdNotes(r)}\n\nTotal time ${r.seconds.toFixed(1)} s.\n`;
}

/** The names `ae rd` writes: rd.md, rd.json, and the chart as rd.png, rd.svg and rd.vl.json. */
export const RD_FILES = ['rd.md', 'rd.json', ...chartNames('rd')];

/** What `ae rd` writes, in order (RD_FILES): rd.md (rdMarkdown), rd.json (the whole result), then rdSpec rendered as rd.png, rd.svg and its spec rd.vl.json. */
export async function rdFiles(r: RdResult): Promise<Array<{ name: string; contents: string | Uint8Array }>> {
  const chart = await renderChart(rdSpec(r));
  return [
    { name: 'rd.md', contents: rdMarkdown(r) },
    { name: 'rd.json', contents: JSON.stringify(r, null, 2) + '\n' },
    ...chartFiles('rd', chart).map(([name, contents]) => ({ name, contents })),
  ];
}

// ---------------------------------------------------------------------------------------------
// Encode and decode files of codes

/** Which rows were encoded, for the codes file's note: the source (its kind and path) and its part. */
export interface EncodedSource {
  kind: string;
  path: string;
  /** test: the source's test part; validation: a model's held-out rows; all: every row of a source without a test part. */
  part: 'test' | 'validation' | 'all';
}

/**
 * The codes of one split of `data` (its rows in the data's own units, model.inputSize wide;
 * scaled here by the model's scaling) as the bytes of a codes file (safetensors; src/io/codes.ts)
 * stored as `format`, carrying the model's fingerprint and a note naming the rows, e.g. "mnist
 * test rows 1..20" ("held-out" for a validation part). `report` says what the file holds, e.g.
 * "20 codes of 8 dims (f32), 976 bytes = 640 of codes + 336 of header; 48.80 bytes per row
 * against 784 values per input row". The test split of data without test rows is refused
 * (ValidationError).
 */
export function encodeSplit(
  { model, config }: LoadedModel,
  data: Pick<Dataset, 'train' | 'test'>,
  split: 'test' | 'train',
  format: CodeDtype,
  source: EncodedSource,
): { bytes: Uint8Array; report: string } {
  const raw = split === 'test' ? data.test : data.train;
  if (!raw) throw new ValidationError(expected('rows to encode', 'a test split', 'data without test rows'));
  const part = split === 'train' ? 'train' : source.part === 'validation' ? 'held-out' : source.part;
  const note = `${source.kind === 'mnist' ? 'mnist' : source.path} ${part} rows 1..${raw.rows}`;
  const codes = model.encode(scaled(raw, config.scaling));
  const bytes = encodeCodes(codes, format, { model: codesModelOf(model, config.scaling), note });
  const payload = codes.rows * codes.cols * DTYPE_BYTES[format];
  const report =
    `${codes.rows} codes of ${codes.cols} dims (${format}), ${bytes.length} bytes = ${payload} of codes + ${bytes.length - payload} of header${format === 'q8' ? ', scale and offset' : ''}; ` +
    `${(bytes.length / codes.rows).toFixed(2)} bytes per row against ${model.inputSize} values per input row`;
  return { bytes, report };
}

/**
 * Checks that `decoded` (read from the file `names.codes`) holds codes written by this model's
 * encoder (`names.model`): a fingerprint present (modelFingerprint, src/io/codes.ts), the code
 * size, and the same fingerprint. Throws ValidationError, one line naming both.
 */
export function checkCodesModel(decoded: DecodedCodes, { model, config }: LoadedModel, names: { codes: string; model: string }): void {
  const mine = codesModelOf(model, config.scaling);
  const theirs = decoded.meta.model;
  if (theirs === null) throw new ValidationError(`${names.codes}: expected codes written by an autoencoder's encoder (with a model fingerprint), received codes with no model`);
  if (decoded.codes.cols !== model.codeSize) {
    throw new ValidationError(`${names.codes}: expected codes of ${model.codeSize} dims for ${names.model} (${mine.description}), received ${decoded.codes.cols} dims written for ${theirs.description}`);
  }
  if (theirs.fingerprint !== mine.fingerprint) {
    throw new ValidationError(
      `${names.codes}: expected codes written by ${names.model} (${mine.fingerprint.slice(0, 19)}…), received codes from a different model (${theirs.description}, ${theirs.fingerprint.slice(0, 19)}…)`,
    );
  }
}

/** The column names a model recorded for its training data (a table's), or null. */
export function recordedColumns(config: LoadedModel['config']): string[] | null {
  const recorded = (config.training.data ?? {}) as { columns?: unknown };
  return Array.isArray(recorded.columns) && recorded.columns.every((c) => typeof c === 'string') ? (recorded.columns as string[]) : null;
}

/** 7 significant digits: a float32 holds about that many, and the CSV stays short. */
function csvNumber(v: number): string {
  return String(Number(v.toPrecision(7)));
}

/** A CSV of rows, headed by `columns` when they fit (quoted as RFC 4180 asks when a name holds a comma, quote or newline). */
export function csvOf(m: Matrix, columns: string[] | null = null): string {
  return [...csvChunks(m, columns)].join('');
}

/**
 * csvOf's text in pieces of `rowsPerChunk` rows, made as they are asked for: a CSV of any
 * size is written without one string of it (V8's strings end at about 512 M characters).
 */
export function* csvChunks(m: Matrix, columns: string[] | null = null, rowsPerChunk = 10000): Generator<string, void, undefined> {
  const quote = (name: string) => (/[",\r\n]/.test(name) ? `"${name.replace(/"/g, '""')}"` : name);
  const header = columns && columns.length === m.cols;
  if (header) yield columns.map(quote).join(',') + '\n';
  else if (m.rows === 0) yield '\n';
  for (let start = 0; start < m.rows; start += rowsPerChunk) {
    const lines: string[] = [];
    for (let r = start; r < Math.min(m.rows, start + rowsPerChunk); r++) {
      const row: string[] = [];
      for (let j = 0; j < m.cols; j++) row.push(csvNumber(m.data[r * m.cols + j]!));
      lines.push(row.join(','));
    }
    yield lines.join('\n') + '\n';
  }
}

/**
 * The first `count` codes of `decoded` (all by default; a PNG at most 100 unless `count` says
 * more) through the model's decoder. 'png': a grid of pictures (10 a row, zoom 2) on [0, 1]
 * (toUnit), of shape `image` (required); 'csv': rows in the raw units the model was trained on
 * (the scaling undone), headed by its recorded column names. `report` says what was decoded,
 * with the CSV's raw range. Check the codes first with checkCodesModel.
 */
export function decodeRows(
  { model, config }: LoadedModel,
  decoded: DecodedCodes,
  opts: { kind: 'png' | 'csv'; count?: number; image?: { width: number; height: number } | null; what?: string },
): { contents: Uint8Array | string | Iterable<string>; report: string } {
  const n = Math.min(decoded.codes.rows, opts.count ?? (opts.kind === 'png' ? 100 : decoded.codes.rows));
  const what = opts.what ?? 'count';
  const width = model.inputSize;
  if (opts.kind === 'png') {
    if (!opts.image) throw new ValidationError(expected('decode to a picture', 'an image shape', 'none'));
    const grid = (k: number) => ({ ...opts.image!, cols: Math.max(1, Math.min(10, k)), range: [0, 1] as const, zoom: 2 });
    checkPicture(what, n, (k) => ({ ...gridSize(k, grid(k)), parts: [['decoded rows', 4 * k * width]] }));
  } else {
    // The text is made and written a chunk at a time; the decoded rows are held whole.
    const limit = memoryLimit();
    const need = (k: number) => estimate([['decoded rows', 4 * k * width]]);
    checkMemory(what, need(n), 'an output', { limit, received: `${n} decoded rows`, hint: `at most about ${largestFitting(n, (k) => need(k).bytes <= limit.bytes)} rows fit` });
  }
  const rows = model.decode(topRows(decoded.codes, n));
  let contents: Uint8Array | string | Iterable<string>;
  if (opts.kind === 'png') {
    const unit = { rows: rows.rows, cols: rows.cols, data: toUnit(rows.data, config.scaling, rows.data) };
    contents = encodePng(imageGrid(unit, { ...opts.image!, cols: Math.min(10, n), range: [0, 1], zoom: 2 }));
  } else {
    const raw = { rows: rows.rows, cols: rows.cols, data: unscaleInto(rows.data, config.scaling, rows.data) };
    // A small CSV as one string; a large one as chunks made while it is written.
    contents = raw.rows * raw.cols <= 1 << 20 ? csvOf(raw, recordedColumns(config)) : csvChunks(raw, recordedColumns(config));
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of rows.data) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
  const decodedTo = opts.kind === 'png' ? 'pictures' : `rows of raw values (${Number(lo.toPrecision(5))} to ${Number(hi.toPrecision(5))})`;
  return { contents, report: `${n} of ${decoded.codes.rows} codes (${decoded.dtype}) decoded to ${decodedTo}` };
}
