import type { Matrix } from './matrix.js';

/** Activations, named as the CLI and the model config name them. */
export const ACTIVATIONS = ['tanh', 'sigmoid', 'relu', 'linear'] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

export const LOSSES = ['mse', 'bce'] as const;
export type LossName = (typeof LOSSES)[number];

/** Adam's hyper-parameters for one update; `step` counts from 1. PyTorch's defaults apply. */
export interface AdamStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  step: number;
}

/** SGD with momentum as torch.optim.SGD does it; `first` is true on the first update of a parameter. */
export interface SgdStep {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
  first: boolean;
}

/**
 * The kernels training needs. Every kernel works in place on Float32Array memory that
 * the caller owns, so a native backend reads and writes the same buffers without copying.
 *
 * Shapes are checked by the model, once per fit, not by the kernels on the hot path.
 */
export interface Backend {
  readonly name: string;

  /**
   * out = op(a) · op(b) + beta · out, where op(x) is x or xᵀ.
   * beta is 0 (overwrite) or 1 (accumulate).
   */
  matmul(a: Matrix, transA: boolean, b: Matrix, transB: boolean, out: Matrix, beta: 0 | 1): void;

  /** Forward fusion: out[i,j] = act(out[i,j] + bias[j]), in place. */
  biasActivation(out: Matrix, bias: Float32Array, act: ActivationName): void;

  /** Backward fusion: grad[i] *= act'(·), the derivative computed from the activation's output y. */
  activationBackward(grad: Matrix, y: Matrix, act: ActivationName): void;

  /** out[j] = Σ_i m[i,j], plus the old out[j] when accumulate is true (the bias gradient). */
  sumRows(m: Matrix, out: Float32Array, accumulate: boolean): void;

  /**
   * Optional fusion of a dense layer's forward: out = act(op(a) · op(b) + bias), exactly
   * `matmul(…, 0)` then `biasActivation`, in one pass where the backend can (the native one
   * applies the activation to each thread's block of the product while it is in cache).
   * Callers fall back to the two kernels when it is absent.
   */
  matmulBiasActivation?(a: Matrix, transA: boolean, b: Matrix, transB: boolean, out: Matrix, bias: Float32Array, act: ActivationName): void;

  /** Optional fusion of `activationBackward(grad, y, act)` then `sumRows(grad, out, accumulate)`. */
  activationBackwardSumRows?(grad: Matrix, y: Matrix, act: ActivationName, out: Float32Array, accumulate: boolean): void;

  /**
   * Optional fusion of the output layer's backward for MSE, in one pass over the batch:
   * `loss('mse', yhat, target, grad, gradScale, false)`, then `activationBackward(grad, yhat,
   * act)`, then `sumRows(grad, biasGrad, accumulate)`. Returns Σ (ŷ − x)² as `loss` does; the
   * sums may be taken in another order (each within float32 rounding of the unfused result).
   * yhat, target and grad are [rows, cols]; biasGrad has cols entries.
   */
  mseBackward?(yhat: Matrix, target: Matrix, grad: Matrix, gradScale: number, act: ActivationName, biasGrad: Float32Array, accumulate: boolean): number;

  /**
   * Optional fusion of the whole output layer for MSE, forward and backward: ŷ = act(a ·
   * op(b) + bias), then exactly what `mseBackward` does, with ŷ never stored (each block of
   * the product becomes its gradient while in cache). a is [rows, k]; b is [k, cols], or
   * [cols, k] when transB; target and grad are [rows, cols]. Returns Σ (ŷ − x)².
   */
  denseMseBackward?(a: Matrix, b: Matrix, transB: boolean, bias: Float32Array, act: ActivationName, target: Matrix, grad: Matrix, gradScale: number, biasGrad: Float32Array, accumulate: boolean): number;

  /**
   * Returns Σ of the per-element loss between yhat and target. When grad is given it is
   * overwritten with gradScale · ∂loss/∂yhat, or, when `wrtLogit` is true (BCE after a
   * sigmoid), with gradScale · ∂loss/∂z where yhat = sigmoid(z): the stable fused form.
   */
  loss(name: LossName, yhat: Matrix, target: Matrix, grad: Matrix | null, gradScale: number, wrtLogit: boolean): number;

  /** out[r] = src[indices[start + r]] for r < count: a mini-batch gathered from the data set. */
  gatherRows(src: Matrix, indices: Uint32Array, start: number, count: number, out: Matrix): void;

  /**
   * Drop-out corruption: out[i] = 0 where u_i < p, else x[i]·scale. u_i is the next uniform of
   * lane i mod 8, lane k being `new Rng((seed + k) mod 2^32)` (xoshiro128**). With scale 1/(1−p)
   * this is nn.Dropout in training mode. Every backend draws the same lanes in the same order,
   * so a seed gives the same mask everywhere.
   */
  dropout(x: Matrix, out: Matrix, p: number, scale: number, seed: number): void;

  /** One Adam update of param in place (m and v are its moments). Returns false if a value became NaN or Inf. */
  adam(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, h: AdamStep): boolean;

  /** One SGD update of param in place. Returns false if a value became NaN or Inf. */
  sgd(param: Float32Array, grad: Float32Array, velocity: Float32Array, h: SgdStep): boolean;
}
