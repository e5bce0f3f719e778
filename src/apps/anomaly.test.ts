import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveBackend } from '../backends/index.js';
import { ValidationError } from '../core/errors.js';
import { type Matrix } from '../core/matrix.js';
import { Rng } from '../core/rng.js';
import { lowRankData } from '../data/synthetic.js';
import { Autoencoder } from '../nn/autoencoder.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelFormatError } from '../core/errors.js';
import { scaled } from '../data/dataset.js';
import { fitFeatureScaling } from '../data/scaling.js';
import { encodeModel, loadModel, saveModel } from '../io/model-file.js';
import { readSafetensorsFile } from '../io/safetensors.js';
import { AnomalyDetector, DETECTOR_FORMAT, quantile, scoreStats, thresholdFor, topIndices } from './anomaly.js';
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

test('save and load: a plain state_dict with config.detector; the loaded detector scores raw rows, thresholds and flags as the fitted one', () => {
  const scaling = fitFeatureScaling('symmetric', train.data, DIM);
  const det = AnomalyDetector.fit(scaled(train, scaling), { ...SETTINGS, epochs: 3 }, backend, { threshold: { kind: 'contamination', value: 0.05 }, scaling });
  const path = join(mkdtempSync(join(tmpdir(), 'ae-detector-')), 'detector.safetensors');
  det.save(path);
  // Only the PyTorch module's tensors (load_state_dict(strict=True) takes it); the state in the metadata.
  assert.deepEqual([...readSafetensorsFile(path).tensors.keys()].sort(), ['decoder.0.bias', 'decoder.0.weight', 'encoder.0.bias', 'encoder.0.weight']);
  const config = loadModel(path, backend).config;
  assert.equal(config.detector?.format, DETECTOR_FORMAT);
  assert.equal((config.detector?.trainScoreStats as { count: number }).count, train.rows);
  const loaded = AnomalyDetector.load(path, backend);
  assert.equal(loaded.threshold, det.threshold);
  assert.deepEqual(loaded.thresholdRule, det.thresholdRule);
  assert.deepEqual(loaded.trainScores, det.trainScores);
  assert.deepEqual(loaded.scaling, scaling);
  // scoreSamples takes raw rows through the stored scaler: the scores of the scaled rows, bit for bit.
  const scores = loaded.scoreSamples(testSet);
  assert.deepEqual(scores, det.score(scaled(testSet, scaling)));
  assert.deepEqual(scores, det.scoreSamples(testSet));
  assert.deepEqual(loaded.predict(testSet), Array.from(scores, (v) => v > loaded.threshold));
  // Another rule on the stored training scores gives what it gives on the fitted detector.
  assert.equal(loaded.setThreshold({ kind: 'sigma', value: 2 }).threshold, det.setThreshold({ kind: 'sigma', value: 2 }).threshold);
  assert.deepEqual(AnomalyDetector.fromBytes(loaded.toBytes(), backend).thresholdRule, { kind: 'sigma', value: 2 });
  assert.throws(() => loaded.scoreSamples({ rows: 1, cols: 3, data: new Float32Array(3) }), /rows to score: expected 20 columns to match the model, received 3/);
});

test('detector files: a plain model, an edited threshold and a detector without a scaler are refused in one line; labels by holdout or 0/1', () => {
  const model = new Autoencoder({ layers: [DIM, 2], activation: 'tanh', outputActivation: 'linear', tied: false }, backend, new Rng(0));
  const scaling = fitFeatureScaling('symmetric', train.data, DIM);
  const dirPath = mkdtempSync(join(tmpdir(), 'ae-detector-'));
  const plain = join(dirPath, 'plain.safetensors');
  saveModel(plain, model, { scaling, loss: 'mse', training: {} });
  const refused = (f: () => unknown, cls: Function, pattern: RegExp) => assert.throws(f, (e: unknown) => e instanceof cls && pattern.test((e as Error).message) && !(e as Error).message.includes('\n'));
  refused(() => AnomalyDetector.load(plain, backend), ModelFormatError, /plain\.safetensors: config\.detector: expected an anomaly detector's state .*, received "none: a plain model file"/);
  const det = AnomalyDetector.fromModel(model, scaled(train, scaling), { kind: 'sigma', value: 3 }, { scaling, holdout: 7 });
  const state = det.state();
  const edited = encodeModel(model, { scaling, loss: 'mse', training: {}, detector: { ...state, threshold: state.threshold * 2 } });
  refused(() => AnomalyDetector.fromBytes(edited, backend, 'edited'), ModelFormatError, /^edited: config\.detector\.threshold: expected \S+, what its rule gives on its training scores, received /);
  const badRule = encodeModel(model, { scaling, loss: 'mse', training: {}, detector: { ...state, rule: { kind: 'sigma', value: -1 } } });
  refused(() => AnomalyDetector.fromBytes(badRule, backend, 'bad'), ModelFormatError, /^bad: config\.detector\.rule: expected a valid threshold rule/);
  refused(() => AnomalyDetector.fromModel(model, train).toBytes(), ValidationError, /detector scaling: expected the Scaling its training rows were scaled with/);
  assert.equal(AnomalyDetector.fromBytes(det.toBytes(), backend).holdout, 7);
  assert.deepEqual(det.anomalous([7, 1, 7, 0]), [true, false, true, false]);
  const binary = AnomalyDetector.fromModel(model, det.trainScores);
  assert.deepEqual(binary.anomalous([0, 1, 1]), [false, true, true]);
  refused(() => binary.anomalous([0, 1, 2], 'labels of x.csv'), ValidationError, /labels of x\.csv row 3: expected 0 \(normal\) or 1 \(anomaly\), received 2/);
});

test('a detector whose training scores outgrow the 16 MiB header says so and how to fit, when saved', () => {
  const model = new Autoencoder({ layers: [4, 2], activation: 'tanh', outputActivation: 'tanh', tied: false }, backend, new Rng(1));
  const scaling = { kind: 'symmetric' as const, min: 0, max: 1 };
  const rng = new Rng(2);
  const scores = (n: number) => Float64Array.from({ length: n }, () => rng.random());
  // 20000 scores fit (the file reads back); 1.2 million do not.
  const small = AnomalyDetector.fromModel(model, scores(20_000), undefined, { scaling });
  assert.equal(AnomalyDetector.fromBytes(small.toBytes(), backend).trainScores.length, 20_000);
  const big = AnomalyDetector.fromModel(model, scores(1_200_000), undefined, { scaling });
  assert.throws(() => big.toBytes(), (e: unknown) => e instanceof ValidationError && /^detector file: expected the scores of at most about 838000 training rows \(they are kept whole in its 16 MiB header\), received 1200000 \(train on fewer rows, e\.g\. with --limit\)$/.test(e.message));
});
