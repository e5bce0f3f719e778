import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveBackend } from '../backends/index.js';
import { ValidationError } from '../core/errors.js';
import { type Matrix } from '../core/matrix.js';
import { Rng } from '../core/rng.js';
import { lowRankData } from '../data/synthetic.js';
import { Autoencoder } from '../nn/autoencoder.js';
import { AnomalyDetector, quantile, scoreStats, thresholdFor, topIndices } from './anomaly.js';
import { averagePrecision, rocAuc } from './metrics.js';

const { backend } = resolveBackend('auto');
const DIM = 20;
const RANK = 3;

/**
 * Points near a 3-D affine subspace of R^20 (lowRankData, noise 0.05), with a fraction
 * replaced by outliers: the subspace's mean plus a uniformly random direction, at the
 * distance from the mean the replaced normal point had. Outliers so have the same norms as
 * normal points (a norm test cannot find them) but lie mostly off the subspace.
 */
function contaminated(seed: number, rows: number, fraction: number): { x: Matrix; labels: boolean[] } {
  const rng = new Rng(seed);
  const { x, mean } = lowRankData(rng, { rows, dim: DIM, rank: RANK, noise: 0.05 });
  const labels: boolean[] = [];
  const u = new Float64Array(DIM);
  for (let i = 0; i < rows; i++) {
    const outlier = rng.random() < fraction;
    labels.push(outlier);
    if (!outlier) continue;
    const row = x.data.subarray(i * DIM, (i + 1) * DIM);
    let r2 = 0;
    let u2 = 0;
    for (let j = 0; j < DIM; j++) {
      r2 += (row[j]! - mean[j]!) ** 2;
      u[j] = rng.normal();
      u2 += u[j]! ** 2;
    }
    const k = Math.sqrt(r2 / u2);
    for (let j = 0; j < DIM; j++) row[j] = mean[j]! + k * u[j]!;
  }
  return { x, labels };
}

function rowsOf(x: Matrix, start: number, end: number): Matrix {
  return { rows: end - start, cols: x.cols, data: x.data.slice(start * x.cols, end * x.cols) };
}

function keep(x: Matrix, which: (i: number) => boolean): Matrix {
  const idx = Array.from({ length: x.rows }, (_, i) => i).filter(which);
  const out = new Float32Array(idx.length * x.cols);
  idx.forEach((i, r) => out.set(x.data.subarray(i * x.cols, (i + 1) * x.cols), r * x.cols));
  return { rows: idx.length, cols: x.cols, data: out };
}

// The data lie outside [-1, 1], so the output is linear; a tanh code of the subspace's size.
const SETTINGS = { hidden: RANK, activation: 'tanh', outputActivation: 'linear', epochs: 60, batchSize: 32, lr: 0.01, seed: 1 } as const;

const all = contaminated(11, 2200, 0.1);
const train = rowsOf(all.x, 0, 1200);
const testSet = rowsOf(all.x, 1200, 2200);
const testLabels = all.labels.slice(1200);

test('synthetic: trained on contaminated data (10% unlabelled outliers), ROC-AUC >= 0.95 on a held-out mixed set', () => {
  const outliersInTraining = all.labels.slice(0, 1200).filter(Boolean).length;
  assert.ok(outliersInTraining > 90 && outliersInTraining < 150, `${outliersInTraining} outliers among the training rows`);
  const det = AnomalyDetector.fit(train, SETTINGS, backend, { threshold: { kind: 'contamination', value: 0.1 } });
  const scores = det.score(testSet);
  const auc = rocAuc(scores, testLabels);
  assert.ok(auc >= 0.95, `ROC-AUC ${auc}`);
  assert.ok(averagePrecision(scores, testLabels) >= 0.8);
  // The threshold, at the training set's own contamination, catches most test outliers.
  const flagged = det.predict(testSet);
  const caught = flagged.filter((f, i) => f && testLabels[i]).length;
  assert.ok(caught >= 0.8 * testLabels.filter(Boolean).length, `caught ${caught}`);
});

test('synthetic: trained on the normal rows only, ROC-AUC >= 0.95; an untrained model of the same shape is near chance', () => {
  const clean = keep(train, (i) => !all.labels[i]);
  const det = AnomalyDetector.fit(clean, SETTINGS, backend);
  const auc = rocAuc(det.score(testSet), testLabels);
  assert.ok(auc >= 0.95, `ROC-AUC ${auc}`);
  // The control: outliers have the same norms, so only a learnt subspace separates them.
  const untrained = new Autoencoder({ layers: [DIM, RANK], activation: 'tanh', outputActivation: 'linear', tied: false }, backend, new Rng(1));
  const chance = rocAuc(AnomalyDetector.fromModel(untrained, clean).score(testSet), testLabels);
  assert.ok(chance < 0.75, `untrained ROC-AUC ${chance}`);
});

test('thresholds: contamination flags that fraction of the training rows, sigma is mean + kσ, predict is score > threshold', () => {
  const det = AnomalyDetector.fit(train, { ...SETTINGS, epochs: 3 }, backend, { threshold: { kind: 'contamination', value: 0.05 } });
  const n = det.trainScores.length;
  assert.equal(n, train.rows);
  const above = (t: number) => det.trainScores.filter((s) => s > t).length;
  assert.equal(det.threshold, quantile(det.trainScores, 0.95));
  assert.ok(Math.abs(above(det.threshold) - 0.05 * n) <= 1, `${above(det.threshold)} of ${n} flagged`);
  assert.deepEqual(det.thresholdRule, { kind: 'contamination', value: 0.05 });

  det.setThreshold({ kind: 'sigma', value: 2 });
  const { mean, std } = scoreStats(det.trainScores);
  assert.ok(Math.abs(det.threshold - (mean + 2 * std)) < 1e-12);
  assert.equal(det.threshold, thresholdFor(det.trainScores, { kind: 'sigma', value: 2 }));

  det.setThreshold(0.5);
  assert.equal(det.threshold, 0.5);
  const scores = det.score(testSet);
  assert.deepEqual(det.predict(testSet), Array.from(scores, (s) => s > 0.5));
  // A score equal to the threshold is not an anomaly.
  det.setThreshold(scores[0]!);
  assert.equal(det.predict(testSet)[0], false);
});

test('featureErrors are the per-feature squared errors behind each score; fromModel reproduces a fitted detector', () => {
  const det = AnomalyDetector.fit(train, { ...SETTINGS, epochs: 2 }, backend, { threshold: { kind: 'sigma', value: 3 } });
  const scores = det.score(testSet);
  const fe = det.featureErrors(testSet);
  assert.deepEqual([fe.rows, fe.cols], [testSet.rows, DIM]);
  const recon = det.reconstruct(testSet);
  for (let r = 0; r < testSet.rows; r += 97) {
    let sum = 0;
    for (let j = 0; j < DIM; j++) {
      const e = fe.data[r * DIM + j]!;
      assert.ok(Math.abs(e - (testSet.data[r * DIM + j]! - recon.data[r * DIM + j]!) ** 2) < 1e-5);
      sum += e;
    }
    assert.ok(Math.abs(sum / DIM - scores[r]!) <= 1e-5 * Math.max(1, scores[r]!), `row ${r}`);
  }
  const wrapped = AnomalyDetector.fromModel(det.model, train, { kind: 'sigma', value: 3 });
  assert.deepEqual(wrapped.trainScores, det.trainScores);
  assert.equal(wrapped.threshold, det.threshold);
  const fromScores = AnomalyDetector.fromModel(det.model, det.trainScores, { kind: 'sigma', value: 3 });
  assert.equal(fromScores.threshold, det.threshold);
  assert.equal(wrapped.settings, null);
  assert.equal(det.settings?.hidden, RANK);
  assert.equal(det.history.length, 2);
  const top = topIndices(scores, 5);
  assert.equal(top.length, 5);
  for (let i = 1; i < 5; i++) assert.ok(scores[top[i]!]! <= scores[top[i - 1]!]!);
  assert.ok(scores.every((s) => s <= scores[top[0]!]!));
});

test('quantile interpolates as numpy.percentile; bad rules are one-line ValidationErrors', () => {
  assert.ok(Math.abs(quantile([4, 1, 3, 2], 0.9) - 3.7) < 1e-12);
  assert.equal(quantile([5], 0.3), 5);
  assert.equal(quantile([1, 2, 3], 0.5), 2);
  const bad = (f: () => unknown, pattern: RegExp) => assert.throws(f, (e: unknown) => e instanceof ValidationError && pattern.test((e as Error).message));
  const scores = Float64Array.from([1, 2, 3]);
  bad(() => thresholdFor(scores, { kind: 'contamination', value: 0 }), /contamination: expected a fraction in \(0, 0.5\], received 0/);
  bad(() => thresholdFor(scores, { kind: 'contamination', value: 0.6 }), /contamination: expected a fraction in \(0, 0.5\], received 0.6/);
  bad(() => thresholdFor(scores, { kind: 'sigma', value: -1 }), /sigma: expected a finite number >= 0, received -1/);
  bad(() => thresholdFor(scores, { kind: 'fixed', value: NaN }), /threshold: expected a finite number/);
  bad(() => AnomalyDetector.fromModel(new Autoencoder({ layers: [DIM, 2], activation: 'tanh', outputActivation: 'linear', tied: false }, backend), rowsOf(all.x, 0, 0)), /at least one/);
  const model = new Autoencoder({ layers: [4, 2], activation: 'tanh', outputActivation: 'tanh', tied: false }, backend, new Rng(0));
  bad(() => AnomalyDetector.fromModel(model, train), /rows to score: expected 4 columns to match the model, received 20/);
});
