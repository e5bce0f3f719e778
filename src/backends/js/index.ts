import type { ActivationName, AdamStep, Backend, LossName, SgdStep } from '../../core/backend.js';
import type { Matrix } from '../../core/matrix.js';
import { ACTIVATION_TABLE } from '../../nn/activations.js';
import { LOSS_TABLE } from '../../nn/losses.js';
import { gatherRows } from '../../core/matrix.js';
import { Rng } from '../../core/rng.js';

/**
 * The reference backend: plain TypeScript over Float32Array. It is written to be read
 * and to serve as the oracle for faster backends. The one concession to speed is
 * matmul's register tiling (see gemmTiles), since matmul is nearly all of a training
 * step. Arithmetic is done in JS numbers (float64), rounded to float32 when stored.
 */
/** The dropout kernel's number of interleaved generators (see Backend.dropout). */
export const DROPOUT_LANES = 8;

export class JsBackend implements Backend {
  readonly name = 'js';

  matmul(a: Matrix, transA: boolean, b: Matrix, transB: boolean, out: Matrix, beta: 0 | 1): void {
    const m = transA ? a.cols : a.rows;
    const k = transA ? a.rows : a.cols;
    const n = transB ? b.rows : b.cols;
    // A transpose only swaps strides: op(a)[i,p] = a.data[i·aRow + p·aStep] and
    // op(b)[p,j] = b.data[j·bCol + p·bStep], so one kernel serves all four combinations
    // without copying either operand.
    const aRow = transA ? 1 : a.cols;
    const aStep = transA ? a.cols : 1;
    const bCol = transB ? b.cols : 1;
    const bStep = transB ? 1 : b.cols;
    // The kernel always accumulates onto C; zeroing first gives beta 0 without reading
    // the old values into the result (a NaN left in out does not survive, as in BLAS).
    if (beta === 0) out.data.fill(0, 0, m * n);
    gemmTiles(a.data, aRow, aStep, b.data, bCol, bStep, out.data, m, n, k);
  }

  biasActivation(out: Matrix, bias: Float32Array, act: ActivationName): void {
    const f = ACTIVATION_TABLE[act].f;
    const { rows, cols, data } = out;
    for (let i = 0; i < rows; i++) {
      const o = i * cols;
      for (let j = 0; j < cols; j++) data[o + j] = f(data[o + j]! + bias[j]!);
    }
  }

  activationBackward(grad: Matrix, y: Matrix, act: ActivationName): void {
    if (act === 'linear') return;
    const df = ACTIVATION_TABLE[act].dfFromOutput;
    const g = grad.data;
    const yd = y.data;
    const len = grad.rows * grad.cols;
    for (let i = 0; i < len; i++) g[i] = g[i]! * df(yd[i]!);
  }

  sumRows(m: Matrix, out: Float32Array, accumulate: boolean): void {
    const { rows, cols, data } = m;
    const acc = new Float64Array(cols);
    for (let i = 0; i < rows; i++) {
      const o = i * cols;
      for (let j = 0; j < cols; j++) acc[j] = acc[j]! + data[o + j]!;
    }
    for (let j = 0; j < cols; j++) out[j] = (accumulate ? out[j]! : 0) + acc[j]!;
  }

  loss(name: LossName, yhat: Matrix, target: Matrix, grad: Matrix | null, gradScale: number, wrtLogit: boolean): number {
    const spec = LOSS_TABLE[name];
    const y = yhat.data;
    const t = target.data;
    const len = yhat.rows * yhat.cols;
    let sum = 0;
    for (let i = 0; i < len; i++) sum += spec.value(y[i]!, t[i]!);
    if (grad !== null) {
      const g = grad.data;
      const d = wrtLogit ? spec.gradLogit : spec.grad;
      if (d === undefined) throw new Error(`loss ${name}: no fused gradient with respect to the logit`);
      for (let i = 0; i < len; i++) g[i] = gradScale * d(y[i]!, t[i]!);
    }
    return sum;
  }

  gatherRows(src: Matrix, indices: Uint32Array, start: number, count: number, out: Matrix): void {
    gatherRows(src, indices, start, count, out);
  }

  dropout(x: Matrix, out: Matrix, p: number, scale: number, seed: number): void {
    // Eight generators, element i drawing from lane i mod 8, lane k seeded with seed + k
    // (mod 2^32): the native backend runs the lanes side by side in vector registers.
    const lanes = Array.from({ length: DROPOUT_LANES }, (_, k) => new Rng((seed + k) >>> 0));
    // u < p with u uniform on [0, 1) in steps of 2^-32, compared exactly as integers.
    const threshold = p * 4294967296;
    const xs = x.data;
    const o = out.data;
    const len = x.rows * x.cols;
    for (let i = 0; i < len; i++) o[i] = lanes[i % DROPOUT_LANES]!.nextUint32() < threshold ? 0 : xs[i]! * scale;
  }

  adam(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, h: AdamStep): boolean {
    // torch.optim.Adam (amsgrad off): weight decay adds to the gradient, then
    // p -= (lr / bc1) · m / (sqrt(v) / sqrt(bc2) + eps).
    const bc1 = 1 - Math.pow(h.beta1, h.step);
    const bc2Sqrt = Math.sqrt(1 - Math.pow(h.beta2, h.step));
    const stepSize = h.lr / bc1;
    let finite = true;
    for (let i = 0; i < param.length; i++) {
      const g = h.weightDecay !== 0 ? grad[i]! + h.weightDecay * param[i]! : grad[i]!;
      const mi = (m[i] = h.beta1 * m[i]! + (1 - h.beta1) * g);
      const vi = (v[i] = h.beta2 * v[i]! + (1 - h.beta2) * g * g);
      param[i] = param[i]! - (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + h.eps);
      // Test the stored float32, not the float64 expression: a finite value past
      // float32's range is stored as Inf.
      if (!Number.isFinite(param[i]!)) finite = false;
    }
    return finite;
  }

  sgd(param: Float32Array, grad: Float32Array, velocity: Float32Array, h: SgdStep): boolean {
    let finite = true;
    for (let i = 0; i < param.length; i++) {
      let g = h.weightDecay !== 0 ? grad[i]! + h.weightDecay * param[i]! : grad[i]!;
      if (h.momentum !== 0) {
        const b = (velocity[i] = h.first ? g : h.momentum * velocity[i]! + (1 - h.dampening) * g);
        g = h.nesterov ? g + h.momentum * b : b;
      }
      param[i] = param[i]! - h.lr * g;
      // The stored float32, as in adam.
      if (!Number.isFinite(param[i]!)) finite = false;
    }
    return finite;
  }
}

/**
 * C[m,n] += op(A)·op(B) in 4x4 tiles of C, with op(A)[i,p] = A[i·aRow + p·aStep] and
 * op(B)[p,j] = B[j·bCol + p·bStep].
 *
 * Why tiles: a plain dot product loads two values per multiply-add; a 4x4 tile loads
 * eight values per sixteen, and keeps its sixteen sums in float64 registers, reading and
 * writing C once per tile rather than once per term. That is most of the speed-up
 * available to scalar JavaScript.
 *
 * Why the clamped indices: a tile that hangs over the last row or column repeats that
 * row or column instead of needing remainder loops. The duplicate sums start from the
 * same C value and add the same terms in the same order, so they store the same value
 * to the same place. (This is also why the sums start from C rather than C being added
 * at the end: that would add the duplicates twice.)
 *
 * Every term is added, zeros included, so 0·Inf and NaN inputs give NaN as BLAS does.
 */
function gemmTiles(
  A: Float32Array,
  aRow: number,
  aStep: number,
  B: Float32Array,
  bCol: number,
  bStep: number,
  C: Float32Array,
  m: number,
  n: number,
  k: number,
): void {
  for (let i = 0; i < m; i += 4) {
    const i1 = Math.min(i + 1, m - 1);
    const i2 = Math.min(i + 2, m - 1);
    const i3 = Math.min(i + 3, m - 1);
    const a0 = i * aRow;
    const a1 = i1 * aRow;
    const a2 = i2 * aRow;
    const a3 = i3 * aRow;
    const c0 = i * n;
    const c1 = i1 * n;
    const c2 = i2 * n;
    const c3 = i3 * n;
    for (let j = 0; j < n; j += 4) {
      const j1 = Math.min(j + 1, n - 1);
      const j2 = Math.min(j + 2, n - 1);
      const j3 = Math.min(j + 3, n - 1);
      const b0 = j * bCol;
      const b1 = j1 * bCol;
      const b2 = j2 * bCol;
      const b3 = j3 * bCol;
      let s00 = C[c0 + j]!, s01 = C[c0 + j1]!, s02 = C[c0 + j2]!, s03 = C[c0 + j3]!;
      let s10 = C[c1 + j]!, s11 = C[c1 + j1]!, s12 = C[c1 + j2]!, s13 = C[c1 + j3]!;
      let s20 = C[c2 + j]!, s21 = C[c2 + j1]!, s22 = C[c2 + j2]!, s23 = C[c2 + j3]!;
      let s30 = C[c3 + j]!, s31 = C[c3 + j1]!, s32 = C[c3 + j2]!, s33 = C[c3 + j3]!;
      for (let p = 0, pa = 0, pb = 0; p < k; p++, pa += aStep, pb += bStep) {
        const y0 = B[b0 + pb]!;
        const y1 = B[b1 + pb]!;
        const y2 = B[b2 + pb]!;
        const y3 = B[b3 + pb]!;
        let x = A[a0 + pa]!;
        s00 += x * y0; s01 += x * y1; s02 += x * y2; s03 += x * y3;
        x = A[a1 + pa]!;
        s10 += x * y0; s11 += x * y1; s12 += x * y2; s13 += x * y3;
        x = A[a2 + pa]!;
        s20 += x * y0; s21 += x * y1; s22 += x * y2; s23 += x * y3;
        x = A[a3 + pa]!;
        s30 += x * y0; s31 += x * y1; s32 += x * y2; s33 += x * y3;
      }
      C[c0 + j] = s00; C[c0 + j1] = s01; C[c0 + j2] = s02; C[c0 + j3] = s03;
      C[c1 + j] = s10; C[c1 + j1] = s11; C[c1 + j2] = s12; C[c1 + j3] = s13;
      C[c2 + j] = s20; C[c2 + j1] = s21; C[c2 + j2] = s22; C[c2 + j3] = s23;
      C[c3 + j] = s30; C[c3 + j1] = s31; C[c3 + j2] = s32; C[c3 + j3] = s33;
    }
  }
}
