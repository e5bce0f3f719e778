/**
 * The anomaly reports: the JSON summary, the markdown, scores.csv and the detector files of
 * each study, and the one call per command that runs a study and returns all of it
 * ({summary, markdown, figures, files}), so the CLI only writes what it gets and a browser
 * can show the same. Prose reads every setting from the detector's own config.
 */
import type { Backend } from '../../core/backend.js';
import type { Dataset } from '../../data/dataset.js';
import { rangeOf, type Scaling } from '../../data/scaling.js';
import { encodePng } from '../../viz/image.js';
import type { DetectionMetrics } from '../metrics.js';
import { describeThresholdRule, scoreStats, type AnomalyDetector } from './detector.js';
import { figureFileNames, fmt, holdoutFigures, isChart, scoreFigures, sci, tableFigures, type NamedFigure } from './figures.js';
import { chartFiles, chartNames, renderChart } from '../../viz/vega.js';
import { chainOf, holdoutStudy, scoreStudy, tableStudy, type HoldoutResult, type HoldoutStudy, type ScoreInputs, type StudyOptions, type TableInputs, type TableStudy } from './study.js';

/** What a command writes and shows: its numbers, its prose, its figures, and its other files. */
export interface AnomalyOutcome {
  summary: Record<string, unknown>;
  markdown: string;
  figures: NamedFigure[];
  /** Files besides the figures, by name. */
  files: Array<[name: string, data: string | Uint8Array]>;
  /** The outcome in one line (ae score prints it). */
  line?: string;
}

/** Every file of an outcome in the order written: the files, then each figure as PNG, a chart also as SVG and its spec (NAME.svg, NAME.vl.json). */
export async function outputFiles(o: AnomalyOutcome): Promise<Array<[string, string | Uint8Array]>> {
  const out: Array<[string, string | Uint8Array]> = [...o.files];
  for (const [name, f] of o.figures) {
    if (isChart(f)) out.push(...chartFiles(name.replace(/\.png$/, ''), await renderChart(f.chart)));
    else out.push([name, encodePng(f)]);
  }
  return out;
}

/** The names `ae anomaly` may write in its folder (for a refusal to replace them without --force). */
export const ANOMALY_OUTPUT = /^(anomaly\.json|anomaly\.md|scores\.csv|(scores-histogram|roc)\.(png|svg|vl\.json)|explain\.png|detector(-holdout--?\d+)?\.safetensors)$/;
export const ANOMALY_FILES = ['anomaly.json', 'anomaly.md', 'scores.csv', ...chartNames('scores-histogram'), ...chartNames('roc'), 'explain.png', 'detector.safetensors'];
/** The names `ae score` writes in its folder. */
export const SCORE_FILES = ['summary.json', 'score.md', 'scores.csv', ...chartNames('scores-histogram'), ...chartNames('roc')];

const r4 = (v: number) => +v.toFixed(4);

/** The detector's model and training, from its config, for summaries. */
export function modelSummary(det: AnomalyDetector): Record<string, unknown> {
  const a = det.model.config;
  const t = det.training;
  return {
    layers: [...a.layers, ...a.layers.slice(0, -1).reverse()],
    activation: a.activation,
    outputActivation: a.outputActivation,
    tied: a.tied,
    loss: det.loss,
    optimizer: t.optimizer,
    lr: t.lr,
    batchSize: t.batchSize,
    epochs: t.epochs,
    seed: t.seed,
    variant: t.variant,
    ...(t.noise !== undefined ? { noise: t.noise } : {}),
    backend: t.backend,
  };
}

/** The model in words, e.g. "784→30→784 autoencoder (tanh, tanh output, mse, adam lr 0.001, batch 256, 20 epochs, seed 0)". */
export function describeModel(det: AnomalyDetector): string {
  const a = det.model.config;
  const t = det.training;
  const variant = t.variant && t.variant !== 'standard' ? `, ${t.variant}${t.noise ? ` ${t.noise}` : ''}${t.contractive !== undefined ? ` λ ${t.contractive}` : ''}` : '';
  return `${chainOf(a.layers)} autoencoder (${a.activation}, ${a.outputActivation} output${a.tied ? ', tied' : ''}${variant}, ${det.loss}, ${t.optimizer} lr ${t.lr}, batch ${t.batchSize}, ${t.epochs} epochs, seed ${t.seed})`;
}

/** How rows were scaled, in words, e.g. "per-column min-max of the training rows to [-1, 1]". */
export function describeScaling(s: Scaling): string {
  const [lo, hi] = rangeOf(s.kind);
  const per = s.featureMin !== undefined;
  if (s.kind === 'standard') return per ? 'per-column (x - mean) / std of the training rows' : '(x - mean) / std of all training values';
  return per ? `per-column min-max of the training rows to [${lo}, ${hi}]` : `one min-max of all training values (${s.min}..${s.max}) to [${lo}, ${hi}]`;
}

/** "mean squared error per value in [-1, 1] scaling" for a detector's space. */
function scoreWords(det: AnomalyDetector): string {
  if (!det.scaling) return 'mean squared error per value of the model inputs';
  if (det.scaling.kind === 'standard') return 'mean squared error per value after standardising';
  const [lo, hi] = rangeOf(det.scaling.kind);
  return `mean squared error per value in [${lo}, ${hi}] scaling`;
}

export function metricsJson(m: DetectionMetrics) {
  return { rocAuc: m.rocAuc, prAuc: m.prAuc, precision: m.precision, recall: m.recall, f1: m.f1, falsePositiveRate: m.fpr, tp: m.tp, fp: m.fp, tn: m.tn, fn: m.fn, flagged: m.flagged, count: m.count, anomalies: m.anomalies };
}

export function metricsTable(m: DetectionMetrics): string {
  return [
    '| metric | value |',
    '|---|---:|',
    `| ROC-AUC | ${fmt(m.rocAuc)} |`,
    `| PR-AUC (average precision) | ${fmt(m.prAuc)} |`,
    `| anomaly fraction (PR-AUC of a random ranking) | ${fmt(m.anomalies / m.count)} |`,
    `| precision at the threshold | ${fmt(m.precision)} |`,
    `| recall at the threshold | ${fmt(m.recall)} |`,
    `| F1 at the threshold | ${fmt(m.f1)} |`,
    `| false-positive rate at the threshold | ${fmt(m.fpr)} |`,
    `| flagged | ${m.flagged} of ${m.count} |`,
    `| TP / FP / TN / FN | ${m.tp} / ${m.fp} / ${m.tn} / ${m.fn} |`,
  ].join('\n');
}

function thresholdJson(det: AnomalyDetector, withValue = true) {
  const rule = det.thresholdRule;
  return { rule: rule.kind, value: rule.value, how: describeThresholdRule(rule), ...(withValue ? { threshold: det.threshold } : {}), flagged: 'score > threshold' };
}

const csvField = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** The detector file of a hold-out run: detector.safetensors, or detector-holdout-K.safetensors when every class is held out in turn. */
export function detectorFileName(study: HoldoutStudy | TableStudy, r?: HoldoutResult): string {
  return study.kind === 'holdout' && study.all ? `detector-holdout-${r!.holdout}.safetensors` : 'detector.safetensors';
}

function holdoutOutcome(study: HoldoutStudy, show: number): AnomalyOutcome {
  const { data, runs, test } = study;
  const mnist = data.kind === 'mnist';
  const noun = mnist ? 'digit' : 'class';
  const nouns = mnist ? 'digits' : 'rows';
  const setName = mnist ? 'MNIST' : data.source;
  const first = runs[0]!.detector;
  const runJson = (r: HoldoutResult) => ({
    holdout: r.holdout,
    trainCount: r.trainCount,
    threshold: r.detector.threshold,
    trainScores: scoreStats(r.detector.trainScores),
    metrics: metricsJson(r.metrics),
    seconds: { train: r4(r.seconds.train), score: r4(r.seconds.score) },
    detector: detectorFileName(study, r),
  });
  const base = { data: data.source, trainCount: data.train.rows, testCount: test.x.rows, model: modelSummary(first), scaling: describeScaling(study.scaling), scaler: study.scaling, threshold: thresholdJson(first, false) };
  const detectors = runs.map((r) => [detectorFileName(study, r), r.detector.toBytes()] as [string, Uint8Array]);
  const figures = holdoutFigures(study, show);
  const how = describeThresholdRule(first.thresholdRule);
  if (!study.all) {
    const r = runs[0]!;
    const k = r.holdout;
    const m = r.metrics;
    const summary: Record<string, unknown> = { ...base, task: 'holdout', ...runJson(r), threshold: thresholdJson(r.detector) };
    const markdown = [
      `# Anomaly detection: ${setName} with ${noun} ${k} held out`,
      '',
      `Trained a ${describeModel(r.detector)} on the ${r.trainCount} training ${nouns} that are not ${noun} ${k}; scored the ${m.count} test ${nouns}, of which the ${m.anomalies} of ${noun} ${k} are the anomalies. A ${mnist ? 'digit' : 'row'}'s score is its reconstruction error (${scoreWords(r.detector)}); it is flagged as an anomaly when its score is above the threshold ${sci(r.detector.threshold)}, ${how}.`,
      '',
      metricsTable(m),
    ].join('\n');
    // The layout ae score writes: row, score, flagged, label (the class; the held-out one is the anomaly).
    const lines = ['row,score,flagged,label'];
    for (let i = 0; i < r.scores.length; i++) lines.push(`${i},${r.scores[i]},${r.scores[i]! > r.detector.threshold ? 1 : 0},${test.labels[i]}`);
    return { summary, markdown, figures, files: [['scores.csv', lines.join('\n') + '\n'], ...detectors] };
  }
  const mean = (pick: (m: DetectionMetrics) => number) => runs.reduce((s, r) => s + pick(r.metrics), 0) / runs.length;
  const means = { rocAuc: mean((m) => m.rocAuc), prAuc: mean((m) => m.prAuc), precision: mean((m) => m.precision), recall: mean((m) => m.recall), f1: mean((m) => m.f1) };
  const summary: Record<string, unknown> = { ...base, task: 'holdout-all', runs: runs.map(runJson), mean: means, seconds: { train: r4(runs.reduce((s, r) => s + r.seconds.train, 0)) } };
  const table = [
    `| held-out ${noun} | training ${nouns} | test anomalies | ROC-AUC | PR-AUC | precision | recall | F1 | threshold |`,
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...runs.map((r) => {
      const m = r.metrics;
      return `| ${r.holdout} | ${r.trainCount} | ${m.anomalies} | ${fmt(m.rocAuc)} | ${fmt(m.prAuc)} | ${fmt(m.precision)} | ${fmt(m.recall)} | ${fmt(m.f1)} | ${sci(r.detector.threshold)} |`;
    }),
    `| mean | | | ${fmt(means.rocAuc)} | ${fmt(means.prAuc)} | ${fmt(means.precision)} | ${fmt(means.recall)} | ${fmt(means.f1)} | |`,
  ].join('\n');
  const markdown = [
    `# Anomaly detection: ${setName}, each ${noun} held out in turn`,
    '',
    `For each ${noun} k, a ${describeModel(first)} is trained on the training ${nouns} that are not k and scores all ${test.x.rows} test ${nouns}; the ${nouns} of class k are the anomalies. Scores are reconstruction errors (${scoreWords(first)}); a row is flagged when its score is above the threshold, ${how}. PR-AUC is average precision; a random ranking scores the anomaly fraction. Each model is saved as detector-holdout-k.safetensors.`,
    '',
    table,
  ].join('\n');
  const lines = [['row', ...runs.map((r) => `score_without_${r.holdout}`), 'label'].join(',')];
  for (let i = 0; i < test.x.rows; i++) lines.push([i, ...runs.map((r) => r.scores[i]), test.labels[i]].join(','));
  return { summary, markdown, figures, files: [['scores.csv', lines.join('\n') + '\n'], ...detectors] };
}

function tableOutcome(study: TableStudy, show: number): AnomalyOutcome {
  const { detector: det, scores, flagged, labels, trainLabels, metrics: m, x, inputs, columns: names } = study;
  const trainSource = inputs.train.source;
  const scoredSource = (inputs.scored ?? inputs.train).source;
  const features = x.cols;
  const flaggedCount = flagged.filter(Boolean).length;
  const summary: Record<string, unknown> = {
    data: trainSource,
    scored: scoredSource,
    task: labels ? 'labelled' : 'scores',
    trainCount: inputs.train.train.rows,
    ...(trainLabels ? { trainAnomalies: trainLabels.filter(Boolean).length } : {}),
    scoredCount: x.rows,
    features,
    labelColumn: inputs.labelColumn,
    ...(names ? { columns: names } : {}),
    scaling: describeScaling(study.scaling),
    scaler: study.scaling,
    scoredOutOfRange: study.outOfRange,
    model: modelSummary(det),
    threshold: thresholdJson(det),
    trainScores: scoreStats(det.trainScores),
    scores: scoreStats(scores),
    flagged: flaggedCount,
    ...(m ? { metrics: metricsJson(m) } : {}),
    seconds: { train: r4(study.seconds.train), score: r4(study.seconds.score) },
    detector: 'detector.safetensors',
  };
  const trainedOn = trainLabels ? `, ${trainLabels.filter(Boolean).length} of them labelled anomalous and kept (contaminated training)` : '';
  const markdown = [
    `# Anomaly detection: ${scoredSource}`,
    '',
    `Trained a ${describeModel(det)} on the ${inputs.train.train.rows} rows of ${trainSource}${trainedOn}, scaled ${describeScaling(study.scaling)}; scored ${x.rows} rows${labels ? `, ${labels.filter(Boolean).length} labelled anomalous (column ${inputs.labelColumn})` : ' (no labels: scores only)'}. A row's score is its reconstruction error (${scoreWords(det)}); it is flagged as an anomaly when its score is above the threshold ${sci(det.threshold)}, ${describeThresholdRule(det.thresholdRule)}. Flagged: ${flaggedCount} of ${x.rows}.`,
    ...(m ? ['', metricsTable(m)] : []),
  ].join('\n');
  // Each row's squared error per feature beside its score, named after the columns (error_<name>, or error_<index>).
  const perFeature = det.featureErrors(x);
  const errorHeads = Array.from({ length: features }, (_, j) => csvField(`error_${names ? names[j] : j}`));
  const lines = [['row', 'score', 'flagged', ...(labels ? ['label'] : []), ...errorHeads].join(',')];
  for (let i = 0; i < scores.length; i++) {
    const errs = Array.from(perFeature.data.subarray(i * features, (i + 1) * features), (v) => String(Number(v.toPrecision(6))));
    lines.push([i, scores[i], flagged[i] ? 1 : 0, ...(labels ? [labels[i] ? 1 : 0] : []), ...errs].join(','));
  }
  return { summary, markdown, figures: tableFigures(study, show), files: [['scores.csv', lines.join('\n') + '\n'], ['detector.safetensors', det.toBytes()]] };
}

/** A study's outcome with the closing line (time, backend, files) and anomaly.json / anomaly.md among its files. */
function finish(o: AnomalyOutcome, seconds: number, backend: Backend, jsonName: string, mdName: string): AnomalyOutcome {
  o.summary.seconds = { ...(o.summary.seconds as object | undefined), total: r4(seconds) };
  const names = [jsonName, mdName, ...o.files.map(([n]) => n), ...o.figures.flatMap(figureFileNames)];
  const markdown = `${o.markdown}\n\nTook ${seconds.toFixed(1)} s on backend ${backend.name}. Files: ${names.join(', ')}.\n`;
  return { ...o, markdown, files: [[jsonName, JSON.stringify(o.summary, null, 2) + '\n'], [mdName, markdown], ...o.files] };
}

/** What `ae anomaly` runs: hold-out runs on a labelled Dataset (loadHoldoutData), or a table run (loadTableData). */
export type AnomalyInputs = { kind: 'holdout'; data: Dataset; holdouts: number[] | 'all' } | { kind: 'table'; inputs: TableInputs };

/**
 * `ae anomaly` as one call: trains and scores (holdoutStudy or tableStudy), then returns the
 * summary (anomaly.json), the markdown (anomaly.md), the figures (scores-histogram.png,
 * roc.png, explain.png, `show` top-scoring rows drawn) and the files: scores.csv and the
 * detector file(s), loadable by AnomalyDetector.load. Throws what the study throws.
 */
export function runAnomaly(inputs: AnomalyInputs, opts: StudyOptions & { show?: number }, backend: Backend): AnomalyOutcome {
  const t0 = performance.now();
  const show = opts.show ?? 10;
  const o = inputs.kind === 'holdout' ? holdoutOutcome(holdoutStudy(inputs.data, inputs.holdouts, opts, backend), show) : tableOutcome(tableStudy(inputs.inputs, opts, backend), show);
  return finish(o, (performance.now() - t0) / 1000, backend, 'anomaly.json', 'anomaly.md');
}

/**
 * `ae score` as one call: a saved detector scores raw rows with its stored scaler and
 * threshold (scoreStudy), no training. Returns the summary (summary.json), the markdown
 * (score.md), the histogram and (with labels of both classes) ROC figures, and scores.csv:
 * row, score, flagged (score > threshold: 1, else 0), and the row's label when it has one.
 */
export function runScore(detector: AnomalyDetector, inputs: ScoreInputs, opts: { detectorSource?: string } = {}): AnomalyOutcome {
  const study = scoreStudy(detector, inputs);
  const { scores, flagged, metrics: m } = study;
  const figures = scoreFigures(study);
  const labels = inputs.labels;
  const count = flagged.filter(Boolean).length;
  const trained = detector.training.data as { source?: unknown; trainCount?: unknown } | undefined;
  const trainedOn = trained && typeof trained.source === 'string' ? ` trained on ${trained.trainCount ?? 'the'} rows of ${trained.source}${detector.holdout !== null ? ` without class ${detector.holdout}` : ''}` : '';
  const anomalies = study.anomalous ? study.anomalous.filter(Boolean).length : null;
  const note = labels && !m ? `the labels mark ${anomalies === 0 ? 'no row' : 'every row'} anomalous: no ROC-AUC or average precision` : null;
  const summary: Record<string, unknown> = {
    task: 'score',
    ...(opts.detectorSource ? { detector: opts.detectorSource } : {}),
    data: inputs.source,
    count: scores.length,
    features: inputs.x.cols,
    model: modelSummary(detector),
    scaling: detector.scaling ? describeScaling(detector.scaling) : null,
    outOfRange: study.outOfRange,
    threshold: thresholdJson(detector),
    holdout: detector.holdout,
    trainScores: scoreStats(detector.trainScores),
    scores: scoreStats(scores),
    flagged: count,
    ...(anomalies !== null ? { anomalies } : {}),
    ...(m ? { metrics: metricsJson(m) } : {}),
    ...(note ? { note } : {}),
    seconds: { score: r4(study.seconds) },
  };
  const labelled = anomalies === null ? ' (no labels: scores only)' : `, ${anomalies} of them anomalous by their labels${detector.holdout !== null ? ` (class ${detector.holdout})` : ' (label 1)'}`;
  const markdown = [
    `# Anomaly scores: ${inputs.source}`,
    '',
    `The ${describeModel(detector)}${trainedOn}${opts.detectorSource ? ` (${opts.detectorSource})` : ''} scored ${scores.length} rows${labelled}, scaled by its stored scaler${detector.scaling ? ` (${describeScaling(detector.scaling)})` : ''}${study.outOfRange ? `, ${study.outOfRange} values beyond its training range` : ''}. A row is flagged when its score (${scoreWords(detector)}) is above the stored threshold ${sci(detector.threshold)}, ${describeThresholdRule(detector.thresholdRule)}. Flagged: ${count} of ${scores.length}.${note ? ` Note: ${note}.` : ''}`,
    ...(m ? ['', metricsTable(m)] : []),
    '',
    `Files: summary.json, score.md, scores.csv, ${figures.flatMap(figureFileNames).join(', ')}.`,
  ].join('\n') + '\n';
  const lines = [labels ? 'row,score,flagged,label' : 'row,score,flagged'];
  for (let i = 0; i < scores.length; i++) lines.push(`${i},${scores[i]},${flagged[i] ? 1 : 0}${labels ? `,${labels[i]}` : ''}`);
  const metricsLine = m ? `; ROC-AUC ${fmt(m.rocAuc)}, AP ${fmt(m.prAuc)}, precision ${fmt(m.precision)}, recall ${fmt(m.recall)} at the threshold` : note ? ` (${note})` : '';
  const line = `scored ${scores.length} rows of ${inputs.source}: threshold ${sci(detector.threshold)} (${describeThresholdRule(detector.thresholdRule)}), flagged ${count} of ${scores.length}${anomalies !== null ? `, ${anomalies} anomalous by their labels` : ''}${metricsLine}`;
  return { summary, markdown, figures, line, files: [['summary.json', JSON.stringify(summary, null, 2) + '\n'], ['score.md', markdown], ['scores.csv', lines.join('\n') + '\n']] };
}
