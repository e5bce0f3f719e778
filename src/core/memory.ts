/**
 * Memory bounds: how much memory this process may still take, and what a plan needs, so a
 * plan that cannot fit is refused in one line before anything is allocated (instead of the
 * kernel's OOM killer ending the process without a word, or V8's "Invalid typed array length").
 *
 * The limit is the least of: the cgroup's headroom (v2 memory.max − memory.current, or v1
 * memory.limit_in_bytes − memory.usage_in_bytes, the reclaimable inactive file cache not
 * counted as used, as `docker stats` reports usage) and /proc/meminfo's MemAvailable. The
 * environment variable AEKIT_MEMORY_LIMIT (bytes, or with a binary suffix: 512M, 2G, 1.5T)
 * replaces it. Elsewhere than Linux the limit is the machine's total memory.
 */
import { readFileSync } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { totalmem } from 'node:os';
import { ValidationError } from './errors.js';

/** The most elements a typed array (and the most bytes a Buffer) may hold in this Node: 2^32 in Node 20, 2^53 − 1 from Node 22. */
export const MAX_TYPED_ARRAY_LENGTH: number = bufferConstants.MAX_LENGTH;

/** The longest string V8 makes (2^29 − 24 characters on 64-bit). */
export const MAX_STRING_LENGTH: number = bufferConstants.MAX_STRING_LENGTH;

export interface MemoryLimit {
  /** Bytes this process may still allocate. */
  bytes: number;
  /** Where the number came from, for messages: "MemAvailable", "cgroup memory.max", "AEKIT_MEMORY_LIMIT", ... */
  source: string;
}

/** One part of an estimate: what it is and its bytes. */
export type MemoryPart = readonly [label: string, bytes: number];

export interface MemoryEstimate {
  bytes: number;
  parts: MemoryPart[];
}

const SUFFIX: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/**
 * A byte size as AEKIT_MEMORY_LIMIT takes it: an integer or decimal number of bytes, or one
 * with a binary suffix K, M, G or T (optionally followed by "B" or "iB"; any case), as
 * `docker --memory` and cgroup files take them: "2G" is 2·2^30 bytes. Null when it is not one.
 */
export function parseByteSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) return null;
  const bytes = Math.floor(Number(m[1]) * SUFFIX[m[2]!.toLowerCase()]!);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : null;
}

/** Bytes for messages, in decimal units: "24.6 GB", "512 MB", "900 B". */
export function formatBytes(n: number): string {
  const units: Array<[number, string]> = [[1e12, 'TB'], [1e9, 'GB'], [1e6, 'MB'], [1e3, 'kB']];
  for (const [size, unit] of units) {
    if (n >= size) {
      const v = n / size;
      return `${v >= 100 ? Math.round(v) : Number(v.toPrecision(3))} ${unit}`;
    }
  }
  return `${Math.round(n)} B`;
}

/** MemAvailable from /proc/meminfo's text, in bytes; null when absent. */
export function parseMeminfo(text: string): number | null {
  const m = /^MemAvailable:\s+(\d+)\s*kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : null;
}

/** A cgroup memory file's number; null for "max", a number of 2^60 or more (v1's "no limit", 2^63 rounded to pages) or anything else. */
export function parseCgroupNumber(text: string | null): number | null {
  if (text === null) return null;
  const t = text.trim();
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return n >= 2 ** 60 ? null : n;
}

/** A memory.stat field (v2 "inactive_file", v1 "total_inactive_file"), in bytes; 0 when absent. */
export function parseMemoryStat(text: string | null, field: string): number {
  if (text === null) return 0;
  const m = new RegExp(`^${field}\\s+(\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * A cgroup's headroom: limit − (usage − inactive file cache), never below 0; null without a limit.
 * `files` are the texts of the limit, usage and memory.stat files (null when unreadable).
 */
export function cgroupHeadroom(files: { limit: string | null; usage: string | null; stat: string | null }, statField: string): number | null {
  const limit = parseCgroupNumber(files.limit);
  if (limit === null) return null;
  const usage = parseCgroupNumber(files.usage) ?? 0;
  const used = Math.max(0, usage - parseMemoryStat(files.stat, statField));
  return Math.max(0, limit - used);
}

export type ReadText = (path: string) => string | null;

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/**
 * The memory this process may still allocate (see the file's comment), and where that number
 * came from. `env` and `read` are for tests. Throws ValidationError for an AEKIT_MEMORY_LIMIT
 * that is not a byte size.
 */
export function memoryLimit(env: NodeJS.ProcessEnv = process.env, read: ReadText = readText): MemoryLimit {
  const given = env['AEKIT_MEMORY_LIMIT'];
  if (given !== undefined && given !== '') {
    const bytes = parseByteSize(given);
    if (bytes === null) throw new ValidationError(`AEKIT_MEMORY_LIMIT: expected a number of bytes, or one with a suffix K, M, G or T (e.g. 2G), received ${JSON.stringify(given)}`);
    return { bytes, source: 'AEKIT_MEMORY_LIMIT' };
  }
  const found: MemoryLimit[] = [];
  const v2 = cgroupHeadroom({ limit: read('/sys/fs/cgroup/memory.max'), usage: read('/sys/fs/cgroup/memory.current'), stat: read('/sys/fs/cgroup/memory.stat') }, 'inactive_file');
  if (v2 !== null) found.push({ bytes: v2, source: 'cgroup memory.max' });
  const v1 = cgroupHeadroom(
    { limit: read('/sys/fs/cgroup/memory/memory.limit_in_bytes'), usage: read('/sys/fs/cgroup/memory/memory.usage_in_bytes'), stat: read('/sys/fs/cgroup/memory/memory.stat') },
    'total_inactive_file',
  );
  if (v1 !== null) found.push({ bytes: v1, source: 'cgroup memory.limit_in_bytes' });
  const meminfo = read('/proc/meminfo');
  const available = meminfo === null ? null : parseMeminfo(meminfo);
  if (available !== null) found.push({ bytes: available, source: 'MemAvailable' });
  if (found.length === 0) return { bytes: totalmem(), source: 'total memory' };
  return found.reduce((a, b) => (b.bytes < a.bytes ? b : a));
}

/** An estimate from its parts (parts of 0 bytes are dropped). */
export function estimate(parts: MemoryPart[]): MemoryEstimate {
  const kept = parts.filter((p) => p[1] > 0);
  return { bytes: kept.reduce((s, p) => s + p[1], 0), parts: kept };
}

/** "weights 4.4 GB, Adam 8.8 GB, ...", largest first. */
export function describeParts(parts: readonly MemoryPart[]): string {
  return [...parts].sort((a, b) => b[1] - a[1]).map(([label, bytes]) => `${label} ${formatBytes(bytes)}`).join(', ');
}

/**
 * Refuses `need` when it exceeds the memory available (memoryLimit(), or `limit`):
 * `<what>: expected <thing> that fits in the 24.6 GB available (MemAvailable), received one
 * needing about 28.5 GB (Adam 8.8 GB, weights 4.4 GB, ...)`, with `hint` after it.
 */
export function checkMemory(what: string, need: MemoryEstimate, thing: string, opts: { limit?: MemoryLimit; hint?: string; received?: string } = {}): void {
  const limit = opts.limit ?? memoryLimit();
  if (need.bytes <= limit.bytes) return;
  throw new ValidationError(
    `${what}: expected ${thing} that fits in the ${formatBytes(limit.bytes)} available (${limit.source}), received ${opts.received ?? 'one'} needing about ${formatBytes(need.bytes)} (${describeParts(need.parts)})${opts.hint ? `; ${opts.hint}` : ''}`,
  );
}

/** The largest n in [0, max] with fits(n), for a fits that holds up to some n and not after. */
export function largestFitting(max: number, fits: (n: number) => boolean): number {
  let lo = 0;
  let hi = max + 1;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** A picture's size for `rows` rows, and what else drawing them holds (the decoded rows, ...). */
export interface PicturePlan {
  width: number;
  height: number;
  /** Other allocations for the rows, as estimate parts. */
  parts: MemoryPart[];
}

/**
 * Refuses a picture of `rows` rows that Node cannot hold in one buffer (PNG's filtered copy
 * of its RGBA pixels, a byte more a line, must be one Buffer), or that, with what else drawing
 * it holds, does not fit in the memory available; the message names the picture, the estimate,
 * the limit and how many rows would fit. `plan(n)` sizes it for n rows.
 */
export function checkPicture(what: string, rows: number, plan: (rows: number) => PicturePlan, opts: { limit?: MemoryLimit } = {}): void {
  const bytesOf = (p: PicturePlan) => ({ raster: 4 * p.width * p.height, filtered: (4 * p.width + 1) * p.height });
  const p = plan(rows);
  const b = bytesOf(p);
  const shape = `a ${p.width}x${p.height} picture`;
  if (Math.max(b.raster, b.filtered) > MAX_TYPED_ARRAY_LENGTH) {
    const fit = largestFitting(rows, (n) => {
      const q = bytesOf(plan(n));
      return Math.max(q.raster, q.filtered) <= MAX_TYPED_ARRAY_LENGTH;
    });
    throw new ValidationError(
      `${what}: expected a picture of at most ${formatBytes(MAX_TYPED_ARRAY_LENGTH)} (Node's largest buffer), received ${rows} rows needing ${shape} of ${formatBytes(b.filtered)}; at most about ${fit} rows fit`,
    );
  }
  const limit = opts.limit ?? memoryLimit();
  const need = (q: PicturePlan) => {
    const qb = bytesOf(q);
    // The RGBA raster, PNG's filtered copy, and a quarter of the raster for the compressed stream.
    return estimate([['picture', qb.raster], ['PNG encoding', qb.filtered + Math.ceil(qb.raster / 4)], ...q.parts]);
  };
  const e = need(p);
  if (e.bytes <= limit.bytes) return;
  const fit = largestFitting(rows, (n) => need(plan(n)).bytes <= limit.bytes);
  checkMemory(what, e, 'a picture', { limit, received: `${rows} rows (${shape})`, hint: `at most about ${fit} rows fit` });
}

// ---------------------------------------------------------------------------------------------
// Training

export interface TrainingPlan {
  /** The encoder's sizes, input first and code last (the decoder mirrors them). */
  layers: readonly number[];
  tied: boolean;
  optimizer: 'adam' | 'sgd';
  batchSize: number;
  /** Training rows (0 when not yet known: then no per-batch buffers are counted). */
  rows: number;
  /** Rows scored after every epoch (test or held-out). */
  testRows?: number;
  /** Denoising: a corrupted copy of each batch. */
  corruption?: boolean;
  /** Separate targets (super-resolution): a gathered target batch. */
  targets?: boolean;
  /** Early stopping that restores the best epoch: a copy of the weights. */
  bestWeights?: boolean;
  /** Data still to be read or copied before training, in bytes (label "data"). */
  dataBytes?: number;
}


/** Float32 values of the model's parameters: encoder weights and biases, then the decoder's (no weights when tied). */
export function parameterCount(layers: readonly number[], tied: boolean): number {
  let n = 0;
  for (let i = 0; i + 1 < layers.length; i++) {
    const w = layers[i]! * layers[i + 1]!;
    n += w + layers[i + 1]! + layers[i]! + (tied ? 0 : w);
  }
  return n;
}

function encoderWeights(layers: readonly number[]): number {
  let n = 0;
  for (let i = 0; i + 1 < layers.length; i++) n += layers[i]! * layers[i + 1]!;
  return n;
}

/** The batch sizes whose buffers the model's workspace holds at once during a fit (full and last batch, evaluation's chunks of 1000 and their last, the 10-row pictures). */
function workspaceRows(rows: number, batchSize: number, testRows: number): number {
  if (rows === 0) return 0;
  const b = Math.min(batchSize, rows);
  const sizes = new Set<number>([b, rows % b, Math.min(1000, testRows), testRows % 1000, Math.min(10, testRows || rows)]);
  sizes.delete(0);
  return [...sizes].reduce((s, n) => s + n, 0);
}

/**
 * What a training run allocates, in float32 bytes: the weights and their gradients, the
 * optimiser's state (Adam's two moments, SGD's velocity), the best epoch's weights when early
 * stopping restores them, the activations and their gradients for a batch in every layer
 * (forward and backward, for each batch size the workspace keeps), the batch buffers, the
 * shuffle order, the transposed weights a tied model's file holds, and the data still to be
 * read or copied. Saving a model or checkpoint writes the tensors from where they are (no copy).
 */
export function estimateTraining(p: TrainingPlan): MemoryEstimate {
  const f32 = 4;
  const params = parameterCount(p.layers, p.tied) * f32;
  const sizes = p.layers;
  // Every layer's output width: the encoder's sizes after the input, then the decoder's back to it.
  let outWidths = 0;
  for (let i = 1; i < sizes.length; i++) outWidths += sizes[i]!;
  for (let i = 0; i + 1 < sizes.length; i++) outWidths += sizes[i]!;
  const ws = workspaceRows(p.rows, p.batchSize, p.testRows ?? 0);
  const b = p.rows === 0 ? 0 : Math.min(p.batchSize, p.rows);
  const batchBuffers = b * sizes[0]! * (1 + (p.corruption ? 1 : 0) + (p.targets ? 1 : 0)) * f32;
  return estimate([
    ['weights', params],
    ['gradients', params],
    [p.optimizer === 'adam' ? 'Adam moments' : 'SGD velocity', (p.optimizer === 'adam' ? 2 : 1) * params],
    ['best weights', p.bestWeights ? params : 0],
    ['activations', 2 * ws * outWidths * f32],
    ['batches', batchBuffers + 4 * p.rows],
    // A tied model's file also holds each decoder weight, transposed from its encoder's while saving.
    ['saving', p.tied ? encoderWeights(sizes) * f32 : 0],
    ['data', p.dataBytes ?? 0],
  ]);
}

/**
 * Refuses layer sizes whose weight matrix would be longer than a typed array may be (V8
 * throws "Invalid typed array length"), naming the layer; `what` names the setting.
 */
export function checkLayerLengths(what: string, layers: readonly number[]): void {
  for (let i = 0; i + 1 < layers.length; i++) {
    const n = layers[i]! * layers[i + 1]!;
    if (n > MAX_TYPED_ARRAY_LENGTH) {
      throw new ValidationError(
        `${what}: expected layer sizes whose weight matrices hold at most ${MAX_TYPED_ARRAY_LENGTH} values (Node's largest typed array), received ${layers[i]}→${layers[i + 1]} (${n} values)`,
      );
    }
  }
}
