import type { ActivationName, AdamStep, Backend, LossName, SgdStep } from '../../core/backend.js';
import type { Matrix } from '../../core/matrix.js';
import { ACTIVATION_TABLE } from '../../nn/activations.js';
import { LOSS_TABLE } from '../../nn/losses.js';

/**
 * The reference backend: plain TypeScript over Float32Array. It is written to be read
 * and to serve as the oracle for faster backends; its loops are only arranged so the
 * innermost one walks contiguous memory.
 */
export class JsBackend implements Backend {
  readonly name = 'js';

  matmul(a: Matrix, transA: boolean, b: Matrix, transB: boolean, out: Matrix, beta: 0 | 1): void {
    const m = transA ? a.cols : a.rows;
    const k = transA ? a.rows : a.cols;
    const n = transB ? b.rows : b.cols;
    const A = a.data;
    const B = b.data;
    const C = out.data;
    if (beta === 0) C.fill(0, 0, m * n);
    if (!transA && transB) {
      // C[i,j] += a_i · b_j : both rows are contiguous, so this is a dot product.
      for (let i = 0; i < m; i++) {
        const ai = i * k;
        for (let j = 0; j < n; j++) {
          const bj = j * k;
          let s0 = 0;
          let s1 = 0;
          let s2 = 0;
          let s3 = 0;
          let p = 0;
          for (; p + 3 < k; p += 4) {
            s0 += A[ai + p]! * B[bj + p]!;
            s1 += A[ai + p + 1]! * B[bj + p + 1]!;
            s2 += A[ai + p + 2]! * B[bj + p + 2]!;
            s3 += A[ai + p + 3]! * B[bj + p + 3]!;
          }
          for (; p < k; p++) s0 += A[ai + p]! * B[bj + p]!;
          C[i * n + j] = C[i * n + j]! + (s0 + s1 + s2 + s3);
        }
      }
      return;
    }
    // Otherwise accumulate scaled rows of B into rows of C (axpy form).
    for (let i = 0; i < m; i++) {
      const ci = i * n;
      for (let p = 0; p < k; p++) {
        const aip = transA ? A[p * a.cols + i]! : A[i * k + p]!;
        if (!transB) {
          const bp = p * n;
          for (let j = 0; j < n; j++) C[ci + j] = C[ci + j]! + aip * B[bp + j]!;
        } else {
          for (let j = 0; j < n; j++) C[ci + j] = C[ci + j]! + aip * B[j * k + p]!;
        }
      }
    }
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
      const p = (param[i] = param[i]! - (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + h.eps));
      if (!Number.isFinite(p)) finite = false;
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
      const p = (param[i] = param[i]! - h.lr * g);
      if (!Number.isFinite(p)) finite = false;
    }
    return finite;
  }
}
