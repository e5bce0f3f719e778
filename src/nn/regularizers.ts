import type { ActivationName } from '../core/backend.js';
import { ValidationError, expected } from '../core/errors.js';
import type { Matrix } from '../core/matrix.js';

/**
 * Penalties added to the reconstruction loss. Each is a per-sample sum averaged over the
 * batch (the reconstruction itself is nn.MSELoss's per-element mean):
 *
 *   contractive  λ · ‖∂h/∂x‖²_F, for a one-layer encoder h = f(Wx + b)
 *   sparse       λ · Σ_j |h_j|, an L1 penalty on the code
 *
 * Weight decay is the optimiser's (PyTorch's weight_decay: λ·w added to the gradient).
 */
export interface Regularization {
  contractive: number;
  sparse: number;
}

export const NO_REGULARIZATION: Regularization = { contractive: 0, sparse: 0 };

/**
 * For h = f(z), J = ∂h/∂x = diag(f'(z)) W, so ‖J‖²_F = Σ_j f'(z_j)² ‖W_j‖² with W_j row j of W.
 * Per activation, from the output h: s(h) = f'(z)² and its derivative ds/dz.
 */
export const CONTRACTIVE_TABLE: Record<ActivationName, { s(h: number): number; dsdz(h: number): number }> = {
  // f' = 1 − h², f'' = −2h(1 − h²)
  tanh: { s: (h) => (1 - h * h) * (1 - h * h), dsdz: (h) => -4 * h * (1 - h * h) * (1 - h * h) },
  // f' = h(1 − h), f'' = f'(1 − 2h)
  sigmoid: { s: (h) => h * h * (1 - h) * (1 - h), dsdz: (h) => 2 * h * h * (1 - h) * (1 - h) * (1 - 2 * h) },
  // f' is 0 or 1 and f'' is 0 almost everywhere
  relu: { s: (h) => (h > 0 ? 1 : 0), dsdz: () => 0 },
  linear: { s: () => 1, dsdz: () => 0 },
};

/** The contractive penalty is written out for one encoder layer; a deeper one is refused, never approximated. */
export function checkContractiveDepth(encoderLayers: number, layers: readonly number[]): void {
  if (encoderLayers !== 1) {
    throw new ValidationError(
      expected('contractive penalty', 'a one-layer encoder (layers like 784,d): its Jacobian is written out in closed form for that case only', layers.join(',')),
    );
  }
}

/** q_j = ‖W_j‖², the squared norm of each row of W [d, n]. */
export function rowNormsSquared(w: Matrix, out = new Float64Array(w.rows)): Float64Array {
  for (let j = 0; j < w.rows; j++) {
    let q = 0;
    for (let i = 0; i < w.cols; i++) {
      const v = w.data[j * w.cols + i]!;
      q += v * v;
    }
    out[j] = q;
  }
  return out;
}

/** Σ over the batch of ‖∂h/∂x‖²_F, from the codes h [B, d] and q = rowNormsSquared(W). */
export function contractiveSum(h: Matrix, q: Float64Array, act: ActivationName): number {
  const s = CONTRACTIVE_TABLE[act].s;
  let sum = 0;
  for (let n = 0; n < h.rows; n++) {
    for (let j = 0; j < h.cols; j++) sum += s(h.data[n * h.cols + j]!) * q[j]!;
  }
  return sum;
}

/** ‖∂h/∂x‖_F for each row: the mean of these is what the contractive penalty drives down. */
export function jacobianNorms(h: Matrix, q: Float64Array, act: ActivationName): Float64Array {
  const s = CONTRACTIVE_TABLE[act].s;
  const out = new Float64Array(h.rows);
  for (let n = 0; n < h.rows; n++) {
    let sum = 0;
    for (let j = 0; j < h.cols; j++) sum += s(h.data[n * h.cols + j]!) * q[j]!;
    out[n] = Math.sqrt(sum);
  }
  return out;
}

/**
 * The penalty's gradient, in two parts. Through z: gz[n, j] += c · q_j · ds/dz(h_nj), added to the
 * encoder's pre-activation gradient before it becomes dW and db. Through ‖W_j‖² directly:
 * dW[j, i] += 2c · (Σ_n s(h_nj)) · W[j, i]. Here c = λ / B.
 */
export function addContractiveGradZ(h: Matrix, q: Float64Array, act: ActivationName, c: number, gz: Matrix): void {
  const dsdz = CONTRACTIVE_TABLE[act].dsdz;
  if (act === 'relu' || act === 'linear') return;
  for (let n = 0; n < h.rows; n++) {
    for (let j = 0; j < h.cols; j++) {
      const k = n * h.cols + j;
      gz.data[k] = gz.data[k]! + c * q[j]! * dsdz(h.data[k]!);
    }
  }
}

export function addContractiveGradW(h: Matrix, w: Matrix, act: ActivationName, c: number, gw: Matrix): void {
  const s = CONTRACTIVE_TABLE[act].s;
  for (let j = 0; j < w.rows; j++) {
    let sj = 0;
    for (let n = 0; n < h.rows; n++) sj += s(h.data[n * h.cols + j]!);
    const f = 2 * c * sj;
    for (let i = 0; i < w.cols; i++) {
      const k = j * w.cols + i;
      gw.data[k] = gw.data[k]! + f * w.data[k]!;
    }
  }
}

/** Σ |h| over the batch, and its gradient c · sign(h) added to the code's gradient. */
export function l1Sum(h: Matrix): number {
  let sum = 0;
  for (let k = 0; k < h.rows * h.cols; k++) sum += Math.abs(h.data[k]!);
  return sum;
}

export function addL1Grad(h: Matrix, c: number, gh: Matrix): void {
  for (let k = 0; k < h.rows * h.cols; k++) {
    const v = h.data[k]!;
    gh.data[k] = gh.data[k]! + (v > 0 ? c : v < 0 ? -c : 0);
  }
}
