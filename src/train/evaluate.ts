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
 * The loss of the simplest reconstruction: every row predicted as the training rows' mean
 * (per feature), scored on `test` by MSE or by BCE (−[x log m + (1−x) log(1−m)], m clamped to
 * [1e-7, 1 − 1e-7] as a sigmoid output can get), per element, in the model's scaled space. A
 * model that does not beat this has learnt nothing about the rows beyond each feature's
 * average. Sums in double; NaN when `test` is empty.
 */
export function meanBaselineLoss(train: Matrix, test: Matrix, loss: LossName): number {
  const cols = train.cols;
  const mean = new Float64Array(cols);
  for (let i = 0; i < train.data.length; i++) mean[i % cols]! += train.data[i]!;
  for (let j = 0; j < cols; j++) mean[j]! /= Math.max(1, train.rows);
  let sum = 0;
  if (loss === 'bce') {
    for (let j = 0; j < cols; j++) mean[j] = Math.min(1 - 1e-7, Math.max(1e-7, mean[j]!));
    for (let i = 0; i < test.data.length; i++) {
      const x = test.data[i]!;
      const m = mean[i % cols]!;
      sum -= x * Math.log(m) + (1 - x) * Math.log(1 - m);
    }
  } else {
    for (let i = 0; i < test.data.length; i++) sum += (test.data[i]! - mean[i % cols]!) ** 2;
  }
  return test.data.length === 0 ? NaN : sum / test.data.length;
}
