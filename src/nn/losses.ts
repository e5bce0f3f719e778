import type { LossName } from '../core/backend.js';

/**
 * The loss table: per-element value and gradient. Reductions are PyTorch's 'mean':
 * the batch loss is the mean over every element of the batch.
 *
 * MSE here is nn.MSELoss: L = 1/(m·n) Σ_j ‖x⁽ʲ⁾ − x̂⁽ʲ⁾‖² over m samples of n values.
 * The lecture writes the per-sample loss as ℓ = ½‖x − x̂‖² and L as its mean over
 * samples, so L_lecture = (n/2) · L_here: the same minimiser, a gradient n/2 times larger.
 *
 * BCE here is nn.BCELoss: −[x log x̂ + (1−x) log(1−x̂)] averaged over elements; the
 * lecture sums over the n elements of a sample, so its L is n times ours.
 */
export interface Loss {
  value(yhat: number, target: number): number;
  /** ∂value/∂yhat */
  grad(yhat: number, target: number): number;
  /** ∂value/∂z where yhat = sigmoid(z), when the loss has a stable fused form. */
  gradLogit?(yhat: number, target: number): number;
}

/** PyTorch clamps log at −100 so a saturated output gives a large finite loss, not Inf. */
const LOG_FLOOR = -100;
/** PyTorch's BCE backward divides by max(x̂(1−x̂), 1e-12). */
const BCE_EPS = 1e-12;

export const LOSS_TABLE: Record<LossName, Loss> = {
  mse: {
    value: (y, t) => (y - t) * (y - t),
    grad: (y, t) => 2 * (y - t),
  },
  bce: {
    value: (y, t) => -(t * Math.max(Math.log(y), LOG_FLOOR) + (1 - t) * Math.max(Math.log(1 - y), LOG_FLOOR)),
    grad: (y, t) => (y - t) / Math.max(y * (1 - y), BCE_EPS),
    gradLogit: (y, t) => y - t,
  },
};
