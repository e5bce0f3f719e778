import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ae, usage } from './testing.js';
import { AnomalyDetector } from '../apps/anomaly.js';
import { rocAuc } from '../apps/metrics.js';
import { resolveBackend } from '../backends/index.js';
import { Rng } from '../core/rng.js';
import { loadDataset } from '../data/dataset.js';
import { encodeIdx } from '../data/idx.js';
import { loadMnist } from '../data/mnist.js';
import { lowRankData } from '../data/synthetic.js';
import { saveModel } from '../io/model-file.js';
import { Autoencoder } from '../nn/autoencoder.js';

const { backend } = resolveBackend('auto');
const dir = mkdtempSync(join(tmpdir(), 'ae-score-'));

/** scores.csv back as its header and rows of numbers. */
function readScores(path: string): { header: string[]; rows: number[][] } {
  const [head, ...lines] = readFileSync(path, 'utf8').trimEnd().split('\n');
  return { header: head!.split(','), rows: lines.map((l) => l.split(',').map(Number)) };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

// MNIST test digits 1500..2299 as one IDX images file with its labels file beside it: rows a
// hold-out run with --limit 2000 scored (1500..1999) and rows it never saw (2000..2299).
const FIRST = 1500;
const COUNT = 800;
const { test: mnistTest } = loadMnist({ trainLimit: 1, testLimit: FIRST + COUNT });
const rawDigits = { rows: COUNT, cols: 784, data: mnistTest.images.data.slice(FIRST * 784, (FIRST + COUNT) * 784) };
const digitLabels = Array.from(mnistTest.labels).slice(FIRST);
const idxDir = join(dir, 'idx');
mkdirSync(idxDir);
const idxImages = join(idxDir, 'new-images-idx3-ubyte');
writeFileSync(idxImages, encodeIdx({ type: 'u8', dims: [COUNT, 28, 28], data: Uint8Array.from(rawDigits.data) }));
writeFileSync(join(idxDir, 'new-labels-idx1-ubyte'), encodeIdx({ type: 'u8', dims: [COUNT], data: Uint8Array.from(digitLabels) }));

test('ae anomaly --holdout 9, then ae score on an IDX file of MNIST digits: the library\'s scores, the stored threshold', () => {
  const det = join(dir, 'holdout9');
  const a = ae('anomaly', '--holdout', '9', '--limit', '2000', '--epochs', '2', '--show', '4', '--json', '--out', det);
  assert.equal(a.code, 0, a.stderr);
  const trained = JSON.parse(a.stdout);
  const out = join(dir, 'scored9');
  const r = ae('score', '--model', join(det, 'detector.safetensors'), '--data', idxImages, '--json', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.threshold.threshold, trained.threshold.threshold);
  assert.deepEqual([s.count, s.holdout, s.anomalies], [COUNT, 9, digitLabels.filter((l) => l === 9).length]);
  const sc = readScores(join(out, 'scores.csv'));
  assert.deepEqual(sc.header, ['row', 'score', 'flagged', 'label']);
  assert.deepEqual(sc.rows.map((row) => row[3]), digitLabels);
  const cli = sc.rows.map((row) => row[1]!);
  // The library, from the same file and raw rows: the same scores, to the last bit.
  const detector = AnomalyDetector.load(join(det, 'detector.safetensors'), backend);
  const lib = detector.scoreSamples(rawDigits);
  assert.equal(maxDiff(cli, lib), 0);
  assert.equal(detector.threshold, s.threshold.threshold);
  assert.deepEqual(sc.rows.map((row) => row[2]), cli.map((v) => (v > detector.threshold ? 1 : 0)));
  assert.deepEqual(detector.predict(rawDigits), cli.map((v) => v > detector.threshold));
  assert.equal(s.flagged, sc.rows.filter((row) => row[2] === 1).length);
  assert.ok(Math.abs(s.metrics.rocAuc - rocAuc(lib, digitLabels.map((l) => l === 9))) < 1e-12);
  // The rows the hold-out run scored itself get the scores it wrote, up to rounding: there they
  // sat at other places in the batch, and a BLAS kernel may round a row's products differently
  // by its position (OpenBLAS's Zen kernels do, by ~1e-9; Cooperlake's did not).
  const own = readScores(join(det, 'scores.csv')).rows.slice(FIRST).map((row) => row[1]!);
  assert.ok(maxDiff(own, cli.slice(0, own.length)) <= 1e-6 * Math.max(...own), String(maxDiff(own, cli.slice(0, own.length))));
  for (const name of ['summary.json', 'score.md', 'scores-histogram.png', 'scores-histogram.svg', 'scores-histogram.vl.json', 'roc.png', 'roc.svg', 'roc.vl.json']) assert.ok(existsSync(join(out, name)), name);
  assert.match(readFileSync(join(out, 'score.md'), 'utf8'), /784→30→784 autoencoder \(tanh, tanh output, mse, adam lr 0\.001, batch 256, 2 epochs, seed 0\)/);

  // Outputs are not replaced without --force, before the model is read; with it they are.
  usage(['score', '--model', join(det, 'detector.safetensors'), '--data', idxImages, '--out', out], /--out: expected a folder without summary\.json, score\.md, scores\.csv, scores-histogram\.png, scores-histogram\.svg, scores-histogram\.vl\.json, roc\.png, roc\.svg, roc\.vl\.json \(pass --force to replace them\), received ".*scored9" which has them/);
  const forced = ae('score', '--model', join(det, 'detector.safetensors'), '--data', idxImages, '--limit', '100', '--force', '--out', out);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /^scored 100 rows of .*: threshold \S+ \(the 0\.9 quantile of the training scores \(contamination 0\.1\)\), flagged \d+ of 100/);
  assert.equal(readScores(join(out, 'scores.csv')).rows.length, 100);
});

/** Rows near a 2-D subspace of R^8 (normal) and Gaussian rows around its mean (anomalous, label 1). */
function table(rng: Rng, x: Float32Array, mean: Float32Array, start: number, count: number, fraction: number): { rows: number[][]; labels: number[] } {
  const rows: number[][] = [];
  const labels: number[] = [];
  for (let i = start; i < start + count; i++) {
    const outlier = rng.random() < fraction;
    const row = Array.from(x.subarray(i * 8, (i + 1) * 8), (v) => +v.toFixed(5));
    if (outlier) for (let j = 0; j < 8; j++) row[j] = +(mean[j]! + rng.normal()).toFixed(5);
    rows.push(row);
    labels.push(outlier ? 1 : 0);
  }
  return { rows, labels };
}

test('ae anomaly on a CSV, then ae score on a labelled CSV with its columns in another order: matched by name, the library\'s scores', async () => {
  const rng = new Rng(5);
  const low = lowRankData(new Rng(6), { rows: 1600, dim: 8, rank: 2, noise: 0.03 });
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  const train = table(rng, low.x.data, low.mean, 0, 1200, 0.05);
  const fresh = table(rng, low.x.data, low.mean, 1200, 400, 0.15);
  const trainCsv = join(dir, 'train.csv');
  writeFileSync(trainCsv, [names.join(','), ...train.rows.map((r) => r.join(','))].join('\n') + '\n');
  // The new file: the label first, then the features in reverse order.
  const freshCsv = join(dir, 'fresh.csv');
  writeFileSync(freshCsv, [['label', ...[...names].reverse()].join(','), ...fresh.rows.map((r, i) => [fresh.labels[i], ...[...r].reverse()].join(','))].join('\n') + '\n');
  // The same rows as ae anomaly's labelled test file, in the training file's column order.
  const testCsv = join(dir, 'test.csv');
  writeFileSync(testCsv, [[...names, 'label'].join(','), ...fresh.rows.map((r, i) => [...r, fresh.labels[i]].join(','))].join('\n') + '\n');
  const det = join(dir, 'csv-det');
  const a = ae('anomaly', '--data', trainCsv, '--test-data', testCsv, '--label-column', 'label', '--hidden', '2', '--epochs', '40', '--batch', '32', '--lr', '0.005', '--json', '--out', det);
  assert.equal(a.code, 0, a.stderr);
  const out = join(dir, 'csv-scored');
  const r = ae('score', '--model', join(det, 'detector.safetensors'), '--data', freshCsv, '--label-column', 'label', '--json', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.threshold.threshold, JSON.parse(a.stdout).threshold.threshold);
  const sc = readScores(join(out, 'scores.csv'));
  assert.deepEqual(sc.header, ['row', 'score', 'flagged', 'label']);
  assert.deepEqual(sc.rows.map((row) => row[3]), fresh.labels);
  const detector = AnomalyDetector.load(join(det, 'detector.safetensors'), backend);
  const raw = { rows: 400, cols: 8, data: Float32Array.from(fresh.rows.flat()) };
  const lib = detector.scoreSamples(raw);
  const cli = sc.rows.map((row) => row[1]!);
  assert.equal(maxDiff(cli, lib), 0);
  // ae anomaly's own scores of these rows (row, score, flagged, label, …): the saved detector is the one it ran.
  assert.equal(maxDiff(readScores(join(det, 'scores.csv')).rows.map((row) => row[1]!), cli), 0);
  assert.deepEqual(sc.rows.map((row) => row[2]), cli.map((v) => (v > detector.threshold ? 1 : 0)));
  assert.ok(s.metrics.rocAuc >= 0.95, `ROC-AUC ${s.metrics.rocAuc}`);
  assert.ok(Math.abs(s.metrics.rocAuc - rocAuc(lib, fresh.labels.map((l) => l === 1))) < 1e-12);
  // The library reads the file as the CLI did (labels apart, columns in the model's order).
  const read = await loadDataset(freshCsv, { read: { csv: { labelColumn: 'label', columns: names } } });
  assert.equal(maxDiff(detector.scoreSamples(read.train), lib), 0);
  // New rows without the training file's label column: scores only, no labels asked for.
  const bare = join(dir, 'bare.csv');
  writeFileSync(bare, [[...names].reverse().join(','), ...fresh.rows.map((r) => [...r].reverse().join(','))].join('\n') + '\n');
  const b = ae('score', '--model', join(det, 'detector.safetensors'), '--data', bare, '--json', '--out', join(dir, 'bare-scored'));
  assert.equal(b.code, 0, b.stderr);
  const bs = readScores(join(dir, 'bare-scored', 'scores.csv'));
  assert.deepEqual(bs.header, ['row', 'score', 'flagged']);
  assert.equal(maxDiff(bs.rows.map((row) => row[1]!), lib), 0);
});

test('ae score refuses a plain model file, rows of another width and non-0/1 labels, in one line', () => {
  const plain = join(dir, 'plain.safetensors');
  const model = new Autoencoder({ layers: [784, 8], activation: 'tanh', outputActivation: 'tanh', tied: false }, backend, new Rng(0));
  saveModel(plain, model, { scaling: { kind: 'symmetric', min: 0, max: 255 }, loss: 'mse', training: {} });
  const out = join(dir, 'never');
  usage(['score', '--model', plain, '--data', idxImages, '--out', out], /plain\.safetensors: config\.detector: expected an anomaly detector's state \(a file written by ae anomaly or AnomalyDetector\.save\), received "none: a plain model file"/);
  // A detector of 8 columns given 784-value digits.
  const csv = join(dir, 'small.csv');
  const rng = new Rng(9);
  writeFileSync(csv, Array.from({ length: 64 }, () => Array.from({ length: 8 }, () => rng.random().toFixed(4)).join(',')).join('\n') + '\n');
  const det = join(dir, 'small-det');
  const a = ae('anomaly', '--data', csv, '--epochs', '1', '--out', det);
  assert.equal(a.code, 0, a.stderr);
  usage(['score', '--model', join(det, 'detector.safetensors'), '--data', idxImages, '--out', out], /--data width: expected 8 values per row to match the model, received 784/);
  const twos = join(dir, 'twos.csv');
  writeFileSync(twos, readFileSync(csv, 'utf8').trimEnd().split('\n').map((l) => `${l},2`).join('\n') + '\n');
  usage(['score', '--model', join(det, 'detector.safetensors'), '--data', twos, '--label-column', 'last', '--out', out], /labels of .*twos\.csv row 1: expected 0 \(normal\) or 1 \(anomaly\), received 2/);
  assert.equal(existsSync(out), false, 'nothing is written on bad usage');
});
