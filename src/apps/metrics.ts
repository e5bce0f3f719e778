/**
 * Scores for a detector's ranking: ROC and precision–recall curves, their areas, and the
 * counts at one threshold. Every function is pure and takes (scores, labels) where a higher
 * score means "more anomalous" and labels[i] is true for an anomaly (the positive class).
 *
 * Ties: samples with equal scores cannot be ordered by the detector, so each curve moves
 * through a group of equal scores in one step (a diagonal segment on the ROC curve). That is
 * what makes the ROC-AUC equal the Mann–Whitney statistic with ties counted ½, and it matches
 * scikit-learn's roc_curve, roc_auc_score, precision_recall_curve and average_precision_score.
 */
import { ValidationError, expected } from '../core/errors.js';

/** Counts at one threshold; a sample is flagged (predicted anomalous) when score > threshold. */
export interface Confusion {
  /** Anomalies flagged. */
  tp: number;
  /** Normal samples flagged. */
  fp: number;
  /** Normal samples not flagged. */
  tn: number;
  /** Anomalies not flagged. */
  fn: number;
}

export interface ThresholdScores extends Confusion {
  /** tp / (tp + fp); 0 when nothing is flagged (scikit-learn's zero_division default). */
  precision: number;
  /** tp / (tp + fn), the true-positive rate; 0 when there are no anomalies. */
  recall: number;
  /** The harmonic mean of precision and recall; 0 when both are 0. */
  f1: number;
  /** fp / (fp + tn); 0 when there are no normal samples. */
  fpr: number;
}

export interface RocCurve {
  /** False-positive rates, non-decreasing from 0 to 1. */
  fpr: Float64Array;
  /** True-positive rates, non-decreasing from 0 to 1. */
  tpr: Float64Array;
  /**
   * Point i is the detector that flags every sample with score >= thresholds[i]; the
   * thresholds are the distinct scores in decreasing order, after a first +Infinity (flag nothing).
   */
  thresholds: Float64Array;
}

export interface PrCurve {
  /** Precision at each threshold; the first point is (recall 0, precision 1), as scikit-learn's last. */
  precision: Float64Array;
  /** Recall, non-decreasing from 0 to 1. */
  recall: Float64Array;
  /** As in RocCurve: flag score >= thresholds[i]; the first is +Infinity. */
  thresholds: Float64Array;
}

function checkInputs(scores: ArrayLike<number>, labels: ArrayLike<boolean>): void {
  if (scores.length !== labels.length) throw new ValidationError(expected('labels', `one per score (${scores.length})`, labels.length));
  if (scores.length === 0) throw new ValidationError(expected('scores', 'at least one sample', 0));
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i])) throw new ValidationError(expected(`scores[${i}]`, 'a number (not NaN)', scores[i]));
    if (typeof labels[i] !== 'boolean') throw new ValidationError(expected(`labels[${i}]`, 'true (anomaly) or false (normal)', labels[i]));
  }
}

function classCounts(labels: ArrayLike<boolean>): { positives: number; negatives: number } {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i]) positives++;
  return { positives, negatives: labels.length - positives };
}

function needBothClasses(what: string, positives: number, negatives: number): void {
  if (positives === 0 || negatives === 0) {
    throw new ValidationError(expected(`${what} labels`, 'at least one anomaly and one normal sample', `${positives} anomalies and ${negatives} normal samples`));
  }
}

/**
 * Cumulative (fp, tp) counts after each group of equal scores, scores taken in decreasing
 * order: the shared walk of both curves. Index 0 is the empty prefix (nothing flagged).
 */
function cumulativeCounts(scores: ArrayLike<number>, labels: ArrayLike<boolean>): { fp: Float64Array; tp: Float64Array; thresholds: Float64Array } {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  const fp: number[] = [0];
  const tp: number[] = [0];
  const thresholds: number[] = [Infinity];
  let f = 0;
  let t = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    if (labels[i]) t++;
    else f++;
    // Close the group only after its last member: equal scores are one step.
    if (k === n - 1 || scores[order[k + 1]!] !== scores[i]) {
      fp.push(f);
      tp.push(t);
      thresholds.push(scores[i]!);
    }
  }
  return { fp: Float64Array.from(fp), tp: Float64Array.from(tp), thresholds: Float64Array.from(thresholds) };
}

/** The confusion counts when samples with score > threshold are flagged as anomalies. */
export function confusionAt(scores: ArrayLike<number>, labels: ArrayLike<boolean>, threshold: number): Confusion {
  checkInputs(scores, labels);
  if (Number.isNaN(threshold)) throw new ValidationError(expected('threshold', 'a number', threshold));
  const c: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < scores.length; i++) {
    const flagged = scores[i]! > threshold;
    if (labels[i]) flagged ? c.tp++ : c.fn++;
    else flagged ? c.fp++ : c.tn++;
  }
  return c;
}

/** Precision, recall, F1 and the false-positive rate from confusion counts. */
export function ratesOf(c: Confusion): ThresholdScores {
  const precision = c.tp + c.fp === 0 ? 0 : c.tp / (c.tp + c.fp);
  const recall = c.tp + c.fn === 0 ? 0 : c.tp / (c.tp + c.fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  const fpr = c.fp + c.tn === 0 ? 0 : c.fp / (c.fp + c.tn);
  return { ...c, precision, recall, f1, fpr };
}

/** Precision, recall and F1 when samples with score > threshold are flagged. */
export function scoresAt(scores: ArrayLike<number>, labels: ArrayLike<boolean>, threshold: number): ThresholdScores {
  return ratesOf(confusionAt(scores, labels, threshold));
}

/** The ROC curve through every distinct score (no points dropped), from (0, 0) to (1, 1). */
export function rocCurve(scores: ArrayLike<number>, labels: ArrayLike<boolean>): RocCurve {
  checkInputs(scores, labels);
  const { positives, negatives } = classCounts(labels);
  needBothClasses('ROC curve', positives, negatives);
  const { fp, tp, thresholds } = cumulativeCounts(scores, labels);
  return { fpr: fp.map((v) => v / negatives), tpr: tp.map((v) => v / positives), thresholds };
}

/**
 * The area under the ROC curve by the trapezoidal rule over grouped ties, computed on integer
 * counts so it is exact: the probability that a random anomaly scores above a random normal
 * sample, ties counting ½ (the Mann–Whitney U divided by positives·negatives).
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<boolean>): number {
  checkInputs(scores, labels);
  const { positives, negatives } = classCounts(labels);
  needBothClasses('ROC-AUC', positives, negatives);
  const { fp, tp } = cumulativeCounts(scores, labels);
  let twiceArea = 0;
  for (let i = 1; i < fp.length; i++) twiceArea += (fp[i]! - fp[i - 1]!) * (tp[i]! + tp[i - 1]!);
  return twiceArea / (2 * positives * negatives);
}

/**
 * The Mann–Whitney U of the anomalies' scores against the normal ones, from average ranks:
 * U = R₊ − P(P+1)/2, with R₊ the anomalies' rank sum. rocAuc = U / (P·N).
 */
export function mannWhitneyU(scores: ArrayLike<number>, labels: ArrayLike<boolean>): number {
  checkInputs(scores, labels);
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let rankSum = 0;
  let positives = 0;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && scores[order[end]!] === scores[order[start]!]) end++;
    // Ranks start+1 .. end share their mean.
    const rank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) {
      if (labels[order[k]!]) {
        rankSum += rank;
        positives++;
      }
    }
    start = end;
  }
  return rankSum - (positives * (positives + 1)) / 2;
}

/** The precision–recall curve through every distinct score, starting at (recall 0, precision 1). */
export function prCurve(scores: ArrayLike<number>, labels: ArrayLike<boolean>): PrCurve {
  checkInputs(scores, labels);
  const { positives } = classCounts(labels);
  if (positives === 0) throw new ValidationError(expected('PR curve labels', 'at least one anomaly', 0));
  const { fp, tp, thresholds } = cumulativeCounts(scores, labels);
  const precision = new Float64Array(fp.length);
  const recall = new Float64Array(fp.length);
  precision[0] = 1;
  for (let i = 1; i < fp.length; i++) {
    precision[i] = tp[i]! / (tp[i]! + fp[i]!);
    recall[i] = tp[i]! / positives;
  }
  return { precision, recall, thresholds };
}

/**
 * The area under the precision–recall curve as average precision, scikit-learn's definition:
 * AP = Σₙ (Rₙ − Rₙ₋₁)·Pₙ over the distinct thresholds in decreasing order (a step function,
 * not the trapezoid, which is optimistic for PR curves). A random ranking scores about the
 * fraction of anomalies.
 */
export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<boolean>): number {
  const { precision, recall } = prCurve(scores, labels);
  let ap = 0;
  for (let i = 1; i < recall.length; i++) ap += (recall[i]! - recall[i - 1]!) * precision[i]!;
  return ap;
}

/** Everything a detection run reports for labelled samples at one threshold. */
export interface DetectionMetrics extends ThresholdScores {
  count: number;
  anomalies: number;
  /** Area under the ROC curve (ties ½). */
  rocAuc: number;
  /** Area under the precision–recall curve as average precision. */
  prAuc: number;
  /** The threshold the counts are taken at (flag score > threshold). */
  threshold: number;
  /** Samples flagged: tp + fp. */
  flagged: number;
}

export function detectionMetrics(scores: ArrayLike<number>, labels: ArrayLike<boolean>, threshold: number): DetectionMetrics {
  const at = scoresAt(scores, labels, threshold);
  return {
    count: scores.length,
    anomalies: at.tp + at.fn,
    rocAuc: rocAuc(scores, labels),
    prAuc: averagePrecision(scores, labels),
    threshold,
    flagged: at.tp + at.fp,
    ...at,
  };
}
