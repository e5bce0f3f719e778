import type { ActivationName } from '../core/backend.js';
import type { Matrix } from '../core/matrix.js';

/** A trainable tensor with its gradient; the gradient buffer is allocated once. */
export class Param {
  readonly value: Float32Array;
  readonly grad: Float32Array;
  /** Set once a backward pass has written grad, so a shared (tied) weight accumulates instead. */
  gradWritten = false;
  readonly valueMatrix: Matrix;
  readonly gradMatrix: Matrix;

  constructor(readonly name: string, readonly rows: number, readonly cols: number) {
    this.value = new Float32Array(rows * cols);
    this.grad = new Float32Array(rows * cols);
    this.valueMatrix = { rows, cols, data: this.value };
    this.gradMatrix = { rows, cols, data: this.grad };
  }
}

/**
 * A dense layer y = act(x Wᵀ + b), W stored [out, in] as nn.Linear stores it.
 * A tied decoder layer uses an encoder's W transposed: then `weight` is that encoder
 * Param (shape [in, out] from this layer's point of view) and `transposed` is true.
 */
export class Dense {
  constructor(
    readonly weight: Param,
    readonly transposed: boolean,
    readonly bias: Param,
    readonly activation: ActivationName,
  ) {}

  get inSize(): number {
    return this.transposed ? this.weight.rows : this.weight.cols;
  }

  get outSize(): number {
    return this.transposed ? this.weight.cols : this.weight.rows;
  }
}
