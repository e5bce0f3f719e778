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

/**
 * The MSE of the simplest reconstruction: every row predicted as the training rows' mean
 * (per feature), scored on `test`, both in the model's scaled space. A model that does not
 * beat this has learnt nothing about the rows beyond each feature's average. Sums in double.
 * Throws nothing; NaN when `test` is empty.
 */
export function meanBaselineMse(train: Matrix, test: Matrix): number {
  const cols = train.cols;
  const mean = new Float64Array(cols);
  for (let i = 0; i < train.data.length; i++) mean[i % cols]! += train.data[i]!;
  for (let j = 0; j < cols; j++) mean[j]! /= Math.max(1, train.rows);
  let sum = 0;
  for (let i = 0; i < test.data.length; i++) sum += (test.data[i]! - mean[i % cols]!) ** 2;
  return test.data.length === 0 ? NaN : sum / test.data.length;
}
