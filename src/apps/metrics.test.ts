import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { averagePrecision, confusionAt, mannWhitneyU, prCurve, rocAuc, rocCurve, scoresAt } from './metrics.js';

/** P(anomaly scores above a normal sample), ties ½, by looking at every pair. */
function bruteForceAuc(scores: number[], labels: boolean[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!labels[i]) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j]) continue;
      pairs++;
      if (scores[i]! > scores[j]!) wins += 1;
      else if (scores[i] === scores[j]) wins += 0.5;
    }
  }
  return wins / pairs;
}

/** Average precision straight from its definition: the mean over anomalies of the precision at each one's score. */
function bruteForceAp(scores: number[], labels: boolean[]): number {
  let sum = 0;
  let positives = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!labels[i]) continue;
    positives++;
    let tp = 0;
    let flagged = 0;
    for (let j = 0; j < scores.length; j++) {
      if (scores[j]! >= scores[i]!) {
        flagged++;
        if (labels[j]) tp++;
      }
    }
    sum += tp / flagged;
  }
  return sum / positives;
}

function randomCase(rng: Rng, n: number, levels: number): { scores: number[]; labels: boolean[] } {
  const labels = Array.from({ length: n }, () => rng.random() < 0.3);
  labels[0] = true;
  labels[1] = false;
  // Few levels force many ties; anomalies are shifted up so the AUC is not always ½.
  const scores = labels.map((a) => Math.floor(rng.random() * levels + (a ? levels / 3 : 0)) / levels);
  return { scores, labels };
}

test("scikit-learn's documented example: ROC-AUC 0.75, average precision 0.8333", () => {
  const labels = [false, false, true, true];
  const scores = [0.1, 0.4, 0.35, 0.8];
  assert.equal(rocAuc(scores, labels), 0.75);
  assert.ok(Math.abs(averagePrecision(scores, labels) - 0.8333333333333333) < 1e-12);
  const roc = rocCurve(scores, labels);
  // roc_curve(drop_intermediate=False): fpr [0,0,.5,.5,1], tpr [0,.5,.5,1,1].
  assert.deepEqual([...roc.fpr], [0, 0, 0.5, 0.5, 1]);
  assert.deepEqual([...roc.tpr], [0, 0.5, 0.5, 1, 1]);
  assert.deepEqual([...roc.thresholds], [Infinity, 0.8, 0.4, 0.35, 0.1]);
  const pr = prCurve(scores, labels);
  assert.deepEqual([...pr.recall], [0, 0.5, 0.5, 1, 1]);
  assert.deepEqual([...pr.precision], [1, 1, 0.5, 2 / 3, 0.5]);
});

test('ROC-AUC equals the brute-force pairwise count and the Mann–Whitney U, with many ties', () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 40; trial++) {
    const { scores, labels } = randomCase(rng, 5 + rng.int(120), 1 + rng.int(12));
    const auc = rocAuc(scores, labels);
    assert.ok(Math.abs(auc - bruteForceAuc(scores, labels)) < 1e-12, `trial ${trial}`);
    const p = labels.filter(Boolean).length;
    assert.ok(Math.abs(mannWhitneyU(scores, labels) / (p * (labels.length - p)) - auc) < 1e-12);
    assert.ok(Math.abs(averagePrecision(scores, labels) - bruteForceAp(scores, labels)) < 1e-12, `AP trial ${trial}`);
  }
});

test('all scores tied: the ROC curve is the diagonal in one step and the AUC is ½', () => {
  const labels = [true, false, false, true, false];
  const roc = rocCurve([2, 2, 2, 2, 2], labels);
  assert.deepEqual([...roc.fpr], [0, 1]);
  assert.deepEqual([...roc.tpr], [0, 1]);
  assert.equal(rocAuc([2, 2, 2, 2, 2], labels), 0.5);
  // Every sample is flagged at once, so precision is the anomaly fraction.
  assert.equal(averagePrecision([2, 2, 2, 2, 2], labels), 0.4);
});

test('a perfect ranking scores 1, a reversed one 0; curves are monotone and end at (1, 1)', () => {
  const labels = [false, false, false, true, true];
  assert.equal(rocAuc([1, 2, 3, 4, 5], labels), 1);
  assert.equal(rocAuc([5, 4, 3, 2, 1], labels), 0);
  assert.equal(averagePrecision([1, 2, 3, 4, 5], labels), 1);
  const { scores, labels: l } = randomCase(new Rng(3), 200, 30);
  const roc = rocCurve(scores, l);
  for (let i = 1; i < roc.fpr.length; i++) {
    assert.ok(roc.fpr[i]! >= roc.fpr[i - 1]! && roc.tpr[i]! >= roc.tpr[i - 1]!);
    assert.ok(roc.thresholds[i]! < roc.thresholds[i - 1]!);
  }
  assert.equal(roc.fpr[roc.fpr.length - 1], 1);
  assert.equal(roc.tpr[roc.tpr.length - 1], 1);
});

test('counts at a threshold flag score > threshold; precision, recall and F1 follow', () => {
  const scores = [0.1, 0.5, 0.5, 0.9, 0.3, 0.7];
  const labels = [false, true, false, true, false, false];
  // 0.5 itself is not above 0.5: only 0.9 and 0.7 are flagged.
  assert.deepEqual(confusionAt(scores, labels, 0.5), { tp: 1, fp: 1, tn: 3, fn: 1 });
  const s = scoresAt(scores, labels, 0.4);
  assert.deepEqual([s.tp, s.fp, s.tn, s.fn], [2, 2, 2, 0]);
  assert.equal(s.precision, 0.5);
  assert.equal(s.recall, 1);
  assert.ok(Math.abs(s.f1 - 2 / 3) < 1e-12);
  assert.equal(s.fpr, 0.5);
  // Nothing flagged: precision and F1 are 0 rather than NaN.
  const none = scoresAt(scores, labels, 10);
  assert.deepEqual([none.precision, none.recall, none.f1], [0, 0, 0]);
});

test('bad inputs are refused with one-line ValidationErrors', () => {
  const bad = (f: () => unknown, pattern: RegExp) => assert.throws(f, (e: unknown) => e instanceof ValidationError && pattern.test((e as Error).message));
  bad(() => rocAuc([1, 2], [true]), /labels: expected one per score \(2\), received 1/);
  bad(() => rocAuc([1, 2], [true, true]), /ROC-AUC labels: expected at least one anomaly and one normal sample, received "2 anomalies and 0 normal samples"/);
  bad(() => averagePrecision([1, 2], [false, false]), /PR curve labels: expected at least one anomaly/);
  bad(() => rocAuc([1, NaN], [true, false]), /scores\[1\]: expected a number \(not NaN\)/);
  bad(() => rocAuc([], []), /scores: expected at least one sample/);
  bad(() => confusionAt([1], [true], NaN), /threshold: expected a number/);
});
