import type { LossName } from '../core/backend.js';
import { rowSlice, type Matrix } from '../core/matrix.js';
import type { Autoencoder } from '../nn/autoencoder.js';

export interface Evaluation {
  /** Mean per-element loss over the set (nn.MSELoss / nn.BCELoss with reduction 'mean'). */
  loss: number;
  /** Number of samples. */
  count: number;
}

/**
 * The loss of model(input) against target over a whole set, in chunks so memory stays
 * flat. `target` defaults to `input` (a plain reconstruction).
 */
export function evaluate(model: Autoencoder, input: Matrix, loss: LossName = 'mse', target: Matrix = input, chunk = 1000): Evaluation {
  let sum = 0;
  for (let start = 0; start < input.rows; start += chunk) {
    const end = Math.min(input.rows, start + chunk);
    sum += model.lossSum(rowSlice(input, start, end), rowSlice(target, start, end), loss);
  }
  const elements = input.rows * input.cols;
  return { loss: elements === 0 ? NaN : sum / elements, count: input.rows };
}
