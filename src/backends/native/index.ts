import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ActivationName, AdamStep, Backend, LossName, SgdStep } from '../../core/backend.js';
import { BackendError } from '../../core/errors.js';
import type { Matrix } from '../../core/matrix.js';
import { check } from '../../core/validate.js';
import { coreTypeToSet, cpuFeatures, type CoreTypeRecord } from './coretype.js';

/** The addon's functions (native/src/addon.cc); every buffer is a Float32Array used in place. */
interface Addon {
  matmul(a: Float32Array, transA: boolean, b: Float32Array, transB: boolean, out: Float32Array, m: number, n: number, k: number, beta: number): void;
  biasActivation(out: Float32Array, rows: number, cols: number, bias: Float32Array, act: number): void;
  matmulBiasActivation(a: Float32Array, transA: boolean, b: Float32Array, transB: boolean, out: Float32Array, m: number, n: number, k: number, bias: Float32Array, act: number): void;
  activationBackwardSumRows(grad: Float32Array, y: Float32Array, rows: number, cols: number, act: number, out: Float32Array, accumulate: boolean): void;
  activationBackward(grad: Float32Array, y: Float32Array, n: number, act: number): void;
  denseMseBackward(a: Float32Array, b: Float32Array, transB: boolean, m: number, n: number, k: number, bias: Float32Array, act: number, target: Float32Array, grad: Float32Array, scale: number, biasGrad: Float32Array, accumulate: boolean): number;
  mseBackward(yhat: Float32Array, target: Float32Array, rows: number, cols: number, grad: Float32Array, scale: number, act: number, biasGrad: Float32Array, accumulate: boolean): number;
  sumRows(m: Float32Array, rows: number, cols: number, out: Float32Array, accumulate: boolean): void;
  loss(kind: number, yhat: Float32Array, target: Float32Array, n: number, grad: Float32Array | null, scale: number, wrtLogit: boolean): number;
  gatherRows(src: Float32Array, cols: number, indices: Uint32Array, start: number, count: number, out: Float32Array): void;
  dropout(x: Float32Array, out: Float32Array, n: number, p: number, scale: number, seed: number): void;
  adam(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, lr: number, b1: number, b2: number, eps: number, wd: number, step: number): boolean;
  sgd(p: Float32Array, g: Float32Array, buf: Float32Array, lr: number, momentum: number, dampening: number, nesterov: boolean, wd: number, first: boolean): boolean;
  setThreads(n: number): number;
  info(): AddonInfo;
}

/** What the addon reports of itself. */
export interface AddonInfo {
  /** The BLAS build (`openblas_get_config()`, or "Accelerate"). */
  blas: string;
  /** The core type OpenBLAS loaded (`openblas_get_corename()`), e.g. "Haswell". */
  coretype: string;
  /** The pool's threads for every kernel. */
  threads: number;
  /** BLAS's own threads inside each part of a product (1). */
  blasThreads: number;
  /** The most threads the pool accepts. */
  maxThreads: number;
}

const ACT: Record<ActivationName, number> = { tanh: 0, sigmoid: 1, relu: 2, linear: 3 };
const LOSS: Record<LossName, number> = { mse: 0, bce: 1 };

export const REBUILD_COMMAND = 'npm run build:native';
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/**
 * Where the addon is looked for: `AEKIT_NATIVE_ADDON` (a path) when set, otherwise node-gyp's
 * Release build, then a Debug build.
 */
export const ADDON_PATHS = process.env.AEKIT_NATIVE_ADDON
  ? [resolve(process.env.AEKIT_NATIVE_ADDON)]
  : [join(ROOT, 'native', 'build', 'Release', 'aekit_native.node'), join(ROOT, 'native', 'build', 'Debug', 'aekit_native.node')];

/** The install step's choice of OpenBLAS kernels (scripts/build-native.mjs writes it beside the addon). */
export const CORETYPE_RECORD_PATHS = ADDON_PATHS.map((p) => join(dirname(p), 'blas.json'));

/** How the OpenBLAS core type in use came about, for `ae info`. */
export interface CoreTypeChoice {
  /** The value of OPENBLAS_CORETYPE when the addon loaded, or null. */
  set: string | null;
  source: 'user' | 'install' | 'openblas';
  reason: string;
  record: CoreTypeRecord | null;
}

let cached: Addon | BackendError | undefined;
let choice: CoreTypeChoice | undefined;

function readRecord(): CoreTypeRecord | null {
  for (const path of CORETYPE_RECORD_PATHS) {
    try {
      const r = JSON.parse(readFileSync(path, 'utf8')) as CoreTypeRecord;
      if (r && typeof r === 'object' && typeof r.picked === 'string') return r;
    } catch {
      // No record (an addon built before this step, or by hand): OpenBLAS's own pick stays.
    }
  }
  return null;
}

/**
 * Sets OPENBLAS_CORETYPE from the install step's record, before the addon (and so OpenBLAS)
 * loads: OpenBLAS reads it only then. A value the user set is left alone.
 */
function chooseCoreTypeBeforeLoad(env: NodeJS.ProcessEnv = process.env): CoreTypeChoice {
  const record = readRecord();
  if (env.OPENBLAS_CORETYPE) return { set: env.OPENBLAS_CORETYPE, source: 'user', reason: 'OPENBLAS_CORETYPE was set in the environment', record };
  const cpu = cpuFeatures();
  const set = coreTypeToSet(record, env, cpu);
  if (set) {
    env.OPENBLAS_CORETYPE = set;
    return { set, source: 'install', reason: record!.reason, record };
  }
  if (record?.coreType) {
    return { set: null, source: 'openblas', reason: `the install step chose ${record.coreType}, which this CPU cannot run (the build was copied from another machine?); OpenBLAS's own pick is used`, record };
  }
  return { set: null, source: 'openblas', reason: record ? record.reason : 'OpenBLAS\'s own pick (no install record: run npm run build:native to check the kernels)', record };
}

/** The core-type choice made when the addon loaded (undefined before it loads). */
export function coreTypeChoice(): CoreTypeChoice | undefined {
  return choice;
}

/** Every function the TypeScript side calls; an addon without one of them is stale. */
const ADDON_FUNCTIONS = [
  'matmul', 'biasActivation', 'matmulBiasActivation', 'activationBackwardSumRows', 'activationBackward', 'mseBackward',
  'denseMseBackward', 'sumRows', 'loss', 'gatherRows', 'dropout', 'adam', 'sgd', 'setThreads', 'info',
] as const;

/** Tries each path in turn; the error names every place it looked and the rebuild command. */
export function loadAddonFrom(paths: readonly string[]): Addon | BackendError {
  const require = createRequire(import.meta.url);
  const reasons: string[] = [];
  for (const path of paths) {
    try {
      const addon = require(path) as Record<string, unknown>;
      // An addon built from older sources (a pull without a rebuild) lacks newer kernels.
      const missing = ADDON_FUNCTIONS.filter((f) => typeof addon[f] !== 'function');
      if (missing.length === 0) return addon as unknown as Addon;
      reasons.push(`${path} (built from older sources: it lacks ${missing.join(', ')})`);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      reasons.push(e.code === 'MODULE_NOT_FOUND' ? `${path} (not found)` : `${path} (${(e.message ?? String(err)).split('\n')[0]})`);
    }
  }
  return new BackendError(`native backend: expected the addon at ${reasons.join(' or ')}; build it with: ${REBUILD_COMMAND}`);
}

/** Loads the addon once; throws a BackendError naming where it looked and how to rebuild. */
export function loadAddon(): Addon {
  if (cached === undefined) {
    choice = chooseCoreTypeBeforeLoad();
    cached = loadAddonFrom(ADDON_PATHS);
  }
  if (cached instanceof BackendError) throw cached;
  return cached;
}

/**
 * The addon's unnamed-file calls (O_TMPFILE and linkat, Linux only) for io/atomic's saves, or
 * null where the addon does not load or predates them. Each returns a result >= 0 or -errno.
 */
export function unnamedFileCalls(): { openUnnamed(dir: string): number; linkUnnamed(fd: number, path: string): number } | null {
  try {
    const a = loadAddon() as unknown as Record<string, unknown>;
    if (typeof a.openUnnamed !== 'function' || typeof a.linkUnnamed !== 'function') return null;
    return a as unknown as { openUnnamed(dir: string): number; linkUnnamed(fd: number, path: string): number };
  } catch {
    return null;
  }
}

/** Whether the addon loads here (without throwing), and why not. */
export function addonStatus(): { ok: true } | { ok: false; error: BackendError } {
  try {
    loadAddon();
    return { ok: true };
  } catch (err) {
    if (err instanceof BackendError) return { ok: false, error: err };
    throw err;
  }
}

export const MAX_THREADS = 256;
let threadsOverride: number | undefined;
// The pool's thread count is one per process; each backend puts its own back before a kernel
// when another backend changed it, so backends with different counts can live side by side.
let poolThreads = 0;

/**
 * Validates a thread count: an integer in [1, 256]; `name` is the flag or variable it came from.
 * A string (a flag's or variable's text) is reported as given.
 * @throws ValidationError `<name>: expected an integer in [1, 256], received <value>`.
 */
export function checkThreads(name: string, value: unknown): number {
  const n = typeof value === 'string' ? (/^\s*[+]?\d+\s*$/.test(value) ? Number(value) : NaN) : value;
  if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 1 && n <= MAX_THREADS) return n;
  return check<number>(name, value, { kind: 'int', min: 1, max: MAX_THREADS });
}

/** Sets the thread count later backends use (the CLI's --threads); undefined restores the default. */
export function setDefaultThreads(n: number | undefined): void {
  threadsOverride = n === undefined ? undefined : checkThreads('threads', n);
}

/**
 * The threads a native backend uses when none are given: --threads (setDefaultThreads), else
 * AEKIT_THREADS, else every core this process may use (`os.availableParallelism()`), and where
 * each came from. Throws a ValidationError for a bad AEKIT_THREADS.
 */
export function defaultThreads(env: NodeJS.ProcessEnv = process.env): { threads: number; source: string } {
  if (threadsOverride !== undefined) return { threads: threadsOverride, source: '--threads' };
  const v = env.AEKIT_THREADS;
  if (v !== undefined && v !== '') return { threads: checkThreads('AEKIT_THREADS', v), source: 'AEKIT_THREADS' };
  return { threads: Math.min(MAX_THREADS, availableParallelism()), source: 'os.availableParallelism()' };
}

/**
 * The native backend: C++ over the same Float32Array memory, matrix products in CBLAS
 * (OpenBLAS, or Accelerate on macOS), elementwise work fused in single passes, split over
 * `threads` threads (default: defaultThreads()).
 *
 * @throws BackendError when the addon is missing; ValidationError for a bad thread count.
 */
export class NativeBackend implements Backend {
  readonly name = 'native';
  private readonly addon: Addon;
  private threads: number;

  constructor(opts: { threads?: number } = {}) {
    this.threads = opts.threads !== undefined ? checkThreads('threads', opts.threads) : defaultThreads().threads;
    this.addon = loadAddon();
    poolThreads = this.addon.setThreads(this.threads);
  }

  private get a(): Addon {
    if (poolThreads !== this.threads) poolThreads = this.addon.setThreads(this.threads);
    return this.addon;
  }

  /** The BLAS build, its core type and the thread counts. */
  info(): AddonInfo {
    return this.addon.info();
  }

  /** Sets the threads this backend's kernels run on (1..256); returns the count. */
  setThreads(n: number): number {
    this.threads = checkThreads('threads', n);
    return this.threads;
  }

  /** The threads this backend's kernels run on. */
  get threadCount(): number {
    return this.threads;
  }

  matmul(a: Matrix, transA: boolean, b: Matrix, transB: boolean, out: Matrix, beta: 0 | 1): void {
    const m = transA ? a.cols : a.rows;
    const k = transA ? a.rows : a.cols;
    const n = transB ? b.rows : b.cols;
    this.a.matmul(a.data, transA, b.data, transB, out.data, m, n, k, beta);
  }

  biasActivation(out: Matrix, bias: Float32Array, act: ActivationName): void {
    this.a.biasActivation(out.data, out.rows, out.cols, bias, ACT[act]);
  }

  matmulBiasActivation(a: Matrix, transA: boolean, b: Matrix, transB: boolean, out: Matrix, bias: Float32Array, act: ActivationName): void {
    const m = transA ? a.cols : a.rows;
    const k = transA ? a.rows : a.cols;
    const n = transB ? b.rows : b.cols;
    this.a.matmulBiasActivation(a.data, transA, b.data, transB, out.data, m, n, k, bias, ACT[act]);
  }

  activationBackwardSumRows(grad: Matrix, y: Matrix, act: ActivationName, out: Float32Array, accumulate: boolean): void {
    this.a.activationBackwardSumRows(grad.data, y.data, grad.rows, grad.cols, ACT[act], out, accumulate);
  }

  denseMseBackward(a: Matrix, b: Matrix, transB: boolean, bias: Float32Array, act: ActivationName, target: Matrix, grad: Matrix, gradScale: number, biasGrad: Float32Array, accumulate: boolean): number {
    const n = transB ? b.rows : b.cols;
    return this.a.denseMseBackward(a.data, b.data, transB, a.rows, n, a.cols, bias, ACT[act], target.data, grad.data, gradScale, biasGrad, accumulate);
  }

  mseBackward(yhat: Matrix, target: Matrix, grad: Matrix, gradScale: number, act: ActivationName, biasGrad: Float32Array, accumulate: boolean): number {
    return this.a.mseBackward(yhat.data, target.data, yhat.rows, yhat.cols, grad.data, gradScale, ACT[act], biasGrad, accumulate);
  }

  activationBackward(grad: Matrix, y: Matrix, act: ActivationName): void {
    this.a.activationBackward(grad.data, y.data, grad.rows * grad.cols, ACT[act]);
  }

  sumRows(m: Matrix, out: Float32Array, accumulate: boolean): void {
    this.a.sumRows(m.data, m.rows, m.cols, out, accumulate);
  }

  loss(name: LossName, yhat: Matrix, target: Matrix, grad: Matrix | null, gradScale: number, wrtLogit: boolean): number {
    return this.a.loss(LOSS[name], yhat.data, target.data, yhat.rows * yhat.cols, grad ? grad.data : null, gradScale, wrtLogit);
  }

  gatherRows(src: Matrix, indices: Uint32Array, start: number, count: number, out: Matrix): void {
    this.a.gatherRows(src.data, src.cols, indices, start, count, out.data);
  }

  dropout(x: Matrix, out: Matrix, p: number, scale: number, seed: number): void {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`dropout seed: expected a uint32, received ${seed}`);
    this.a.dropout(x.data, out.data, x.rows * x.cols, p, scale, seed);
  }

  adam(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, h: AdamStep): boolean {
    return this.a.adam(param, grad, m, v, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, h.step);
  }

  sgd(param: Float32Array, grad: Float32Array, velocity: Float32Array, h: SgdStep): boolean {
    return this.a.sgd(param, grad, velocity, h.lr, h.momentum, h.dampening, h.nesterov, h.weightDecay, h.first);
  }
}
