import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ActivationName, AdamStep, Backend, LossName, SgdStep } from '../../core/backend.js';
import { BackendError } from '../../core/errors.js';
import type { Matrix } from '../../core/matrix.js';

/** The addon's functions (native/src/addon.cc); every buffer is a Float32Array used in place. */
interface Addon {
  matmul(a: Float32Array, transA: boolean, b: Float32Array, transB: boolean, out: Float32Array, m: number, n: number, k: number, beta: number): void;
  biasActivation(out: Float32Array, rows: number, cols: number, bias: Float32Array, act: number): void;
  activationBackward(grad: Float32Array, y: Float32Array, n: number, act: number): void;
  sumRows(m: Float32Array, rows: number, cols: number, out: Float32Array, accumulate: boolean): void;
  loss(kind: number, yhat: Float32Array, target: Float32Array, n: number, grad: Float32Array | null, scale: number, wrtLogit: boolean): number;
  gatherRows(src: Float32Array, cols: number, indices: Uint32Array, start: number, count: number, out: Float32Array): void;
  dropout(x: Float32Array, out: Float32Array, n: number, p: number, scale: number, seed: number): void;
  adam(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, lr: number, b1: number, b2: number, eps: number, wd: number, step: number): boolean;
  sgd(p: Float32Array, g: Float32Array, buf: Float32Array, lr: number, momentum: number, dampening: number, nesterov: boolean, wd: number, first: boolean): boolean;
  setThreads(n: number): number;
  info(): { blas: string; threads: number };
}

const ACT: Record<ActivationName, number> = { tanh: 0, sigmoid: 1, relu: 2, linear: 3 };
const LOSS: Record<LossName, number> = { mse: 0, bce: 1 };

export const REBUILD_COMMAND = 'npm run build:native';
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Where the addon is looked for: node-gyp's Release build, then a Debug build. */
export const ADDON_PATHS = [join(ROOT, 'native', 'build', 'Release', 'aekit_native.node'), join(ROOT, 'native', 'build', 'Debug', 'aekit_native.node')];

let cached: Addon | BackendError | undefined;

/** Tries each path in turn; the error names every place it looked and the rebuild command. */
export function loadAddonFrom(paths: readonly string[]): Addon | BackendError {
  const require = createRequire(import.meta.url);
  const reasons: string[] = [];
  for (const path of paths) {
    try {
      return require(path) as Addon;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      reasons.push(e.code === 'MODULE_NOT_FOUND' ? `${path} (not found)` : `${path} (${(e.message ?? String(err)).split('\n')[0]})`);
    }
  }
  return new BackendError(`native backend: expected the addon at ${reasons.join(' or ')}; build it with: ${REBUILD_COMMAND}`);
}

/** Loads the addon once; throws a BackendError naming where it looked and how to rebuild. */
export function loadAddon(): Addon {
  cached ??= loadAddonFrom(ADDON_PATHS);
  if (cached instanceof BackendError) throw cached;
  return cached;
}

/**
 * The native backend: C++ over the same Float32Array memory, matrix products in CBLAS
 * (OpenBLAS, or Accelerate on macOS), elementwise work fused in single passes.
 */
export class NativeBackend implements Backend {
  readonly name = 'native';
  private readonly addon: Addon;

  constructor(opts: { threads?: number } = {}) {
    this.addon = loadAddon();
    if (opts.threads !== undefined) this.addon.setThreads(opts.threads);
  }

  /** The BLAS build and its thread count. */
  info(): { blas: string; threads: number } {
    return this.addon.info();
  }

  setThreads(n: number): number {
    return this.addon.setThreads(n);
  }

  matmul(a: Matrix, transA: boolean, b: Matrix, transB: boolean, out: Matrix, beta: 0 | 1): void {
    const m = transA ? a.cols : a.rows;
    const k = transA ? a.rows : a.cols;
    const n = transB ? b.rows : b.cols;
    this.addon.matmul(a.data, transA, b.data, transB, out.data, m, n, k, beta);
  }

  biasActivation(out: Matrix, bias: Float32Array, act: ActivationName): void {
    this.addon.biasActivation(out.data, out.rows, out.cols, bias, ACT[act]);
  }

  activationBackward(grad: Matrix, y: Matrix, act: ActivationName): void {
    this.addon.activationBackward(grad.data, y.data, grad.rows * grad.cols, ACT[act]);
  }

  sumRows(m: Matrix, out: Float32Array, accumulate: boolean): void {
    this.addon.sumRows(m.data, m.rows, m.cols, out, accumulate);
  }

  loss(name: LossName, yhat: Matrix, target: Matrix, grad: Matrix | null, gradScale: number, wrtLogit: boolean): number {
    return this.addon.loss(LOSS[name], yhat.data, target.data, yhat.rows * yhat.cols, grad ? grad.data : null, gradScale, wrtLogit);
  }

  gatherRows(src: Matrix, indices: Uint32Array, start: number, count: number, out: Matrix): void {
    this.addon.gatherRows(src.data, src.cols, indices, start, count, out.data);
  }

  dropout(x: Matrix, out: Matrix, p: number, scale: number, seed: number): void {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`dropout seed: expected a uint32, received ${seed}`);
    this.addon.dropout(x.data, out.data, x.rows * x.cols, p, scale, seed);
  }

  adam(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, h: AdamStep): boolean {
    return this.addon.adam(param, grad, m, v, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, h.step);
  }

  sgd(param: Float32Array, grad: Float32Array, velocity: Float32Array, h: SgdStep): boolean {
    return this.addon.sgd(param, grad, velocity, h.lr, h.momentum, h.dampening, h.nesterov, h.weightDecay, h.first);
  }
}
