import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import {
  AnomalyDetector,
  describeThresholdRule,
  explainFigure,
  featureErrorFigure,
  holdoutRun,
  panelGrid,
  pickRows,
  rocFigure,
  scoreHistogramFigure,
  scoreStats,
  topIndices,
  type HoldoutResult,
  type ThresholdRule,
} from '../apps/anomaly.js';
import { detectionMetrics, rocCurve, type DetectionMetrics } from '../apps/metrics.js';
import type { Backend } from '../core/backend.js';
import { DataFormatError } from '../core/errors.js';
import { matrix, type Matrix } from '../core/matrix.js';
import { readCsvFile, type CsvTable } from '../data/csv.js';
import { imageShape, loadDataset, loadMnistDataset, splitValidation } from '../data/dataset.js';
import { countOutOfRange, fitFeatureScaling, fitSharedScaling, scaleInto, type Scaling } from '../data/scaling.js';
import { ensureDir, writeFileAtomic } from '../io/atomic.js';
import { outputActivationOf, resolveSettings, type TrainSettings } from '../train/recipe.js';
import { tableDefaults } from './train.js';
import { encodePng, type Raster } from '../viz/image.js';
import { backendFrom } from './common.js';
import { UsageError } from './exit.js';
import { intFlag, numberFlag } from './options.js';
import { progressCallbacks } from './progress.js';

interface AnomalyFlags {
  holdout?: string;
  epochs?: string;
  hidden?: string;
  batch?: string;
  lr: string;
  contamination?: string;
  sigma?: string;
  limit?: string;
  data: string;
  testData?: string;
  labelColumn?: string;
  show: string;
  seed: string;
  backend: string;
  json?: boolean;
  out: string;
}

const DEFAULT_CONTAMINATION = 0.1;

/** The notebook's model and recipe, with the few knobs this command exposes. */
/**
 * The run's settings: the notebook's batch 256 and 20 epochs for MNIST; for other data, unless
 * given, the batch and epochs `ae train` picks from the training rows' count (tableDefaults).
 */
function settingsOf(f: AnomalyFlags, hidden: number, rows?: number, features?: number): Partial<TrainSettings> {
  const d = rows === undefined || features === undefined ? { batchSize: 256, epochs: 20 } : tableDefaults(rows, features);
  return {
    hidden,
    epochs: f.epochs === undefined ? d.epochs : intFlag('--epochs', f.epochs),
    batchSize: f.batch === undefined ? d.batchSize : intFlag('--batch', f.batch),
    lr: numberFlag('--lr', f.lr, 'a number > 0', (n) => n > 0),
    seed: intFlag('--seed', f.seed, 0),
  };
}

function ruleOf(f: AnomalyFlags): ThresholdRule {
  if (f.contamination !== undefined && f.sigma !== undefined) throw new UsageError('--contamination and --sigma: expected one of them, received both');
  if (f.sigma !== undefined) return { kind: 'sigma', value: numberFlag('--sigma', f.sigma, 'a number >= 0', (n) => n >= 0) };
  const c = f.contamination === undefined ? DEFAULT_CONTAMINATION : numberFlag('--contamination', f.contamination, 'a fraction in (0, 0.5]', (n) => n > 0 && n <= 0.5);
  return { kind: 'contamination', value: c };
}

/** --holdout: one label value (any integer), or null for "all" (each label value present, in turn). */
function holdoutOf(text: string): number | null {
  if (text === 'all') return null;
  if (!/^[+-]?\d+$/.test(text.trim()) || !Number.isSafeInteger(Number(text))) throw new UsageError(`--holdout: expected a label value (an integer, e.g. a digit 0..9) or all, received "${text}"`);
  return Number(text);
}

const r4 = (v: number) => +v.toFixed(4);
const fmt = (v: number) => v.toFixed(4);
const sci = (v: number) => (v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential(3) : v.toFixed(5));

function describeModel(partial: Partial<TrainSettings>, inputSize: number, backend: Backend) {
  const s = resolveSettings(partial);
  return {
    layers: [inputSize, s.hidden, inputSize],
    activation: s.activation,
    outputActivation: outputActivationOf(s),
    loss: s.loss,
    optimizer: s.optimizer,
    lr: s.lr,
    batchSize: s.batchSize,
    epochs: s.epochs,
    seed: s.seed,
    backend: backend.name,
  };
}

function metricsJson(m: DetectionMetrics) {
  return {
    rocAuc: m.rocAuc,
    prAuc: m.prAuc,
    precision: m.precision,
    recall: m.recall,
    f1: m.f1,
    falsePositiveRate: m.fpr,
    tp: m.tp,
    fp: m.fp,
    tn: m.tn,
    fn: m.fn,
    flagged: m.flagged,
    count: m.count,
    anomalies: m.anomalies,
  };
}

function metricsTable(m: DetectionMetrics): string {
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

/** Everything checked before any work: flag values, the mode, the output folder. */
function parse(f: AnomalyFlags) {
  const rule = ruleOf(f);
  const show = intFlag('--show', f.show);
  const limit = f.limit === undefined ? undefined : intFlag('--limit', f.limit);
  const hidden = f.hidden === undefined ? undefined : intFlag('--hidden', f.hidden);
  settingsOf(f, hidden ?? 1); // checks --epochs, --batch, --lr, --seed now
  if (existsSync(f.out) && !statSync(f.out).isDirectory()) throw new UsageError(`--out: expected a directory, received the file "${f.out}"`);
  if (f.holdout !== undefined || f.data === 'mnist') {
    // Hold-outs by label value: MNIST's digits, an IDX set's labels, an image folder's classes.
    if (f.labelColumn !== undefined) throw new UsageError('--label-column: expected only for scoring CSV rows (a hold-out uses the source\'s own labels), received it with --holdout');
    if (f.holdout === undefined) throw new UsageError('--holdout: expected a digit 0..9 or all for --data mnist, received nothing');
    const holdout = holdoutOf(f.holdout);
    return { mode: 'holdout' as const, holdout, all: holdout === null, rule, show, limit, hidden };
  }
  // Rows to score: a CSV (whose 0/1 label column --label-column names), or any other source's rows.
  const isCsv = (path: string) => /\.(csv|tsv|tab|txt)$/i.test(path);
  if (f.labelColumn !== undefined && !isCsv(f.testData ?? f.data)) {
    throw new UsageError(`--label-column: expected a CSV of scored rows, received "${f.testData ?? f.data}"`);
  }
  let labelColumn: 'last' | number | undefined;
  if (f.labelColumn !== undefined) {
    if (f.labelColumn === 'last') labelColumn = 'last';
    else if (/^\d+$/.test(f.labelColumn.trim())) labelColumn = Number(f.labelColumn);
    else throw new UsageError(`--label-column: expected last or a 0-based column index, received "${f.labelColumn}"`);
  }
  return { mode: 'csv' as const, rule, show, limit, hidden, labelColumn };
}

export function registerAnomaly(program: Command): void {
  program
    .command('anomaly')
    .description('anomaly detection by reconstruction error: train on normal data, flag samples the autoencoder reconstructs badly')
    .requiredOption('--out <dir>', 'folder for anomaly.json, anomaly.md, scores.csv, scores-histogram.png, roc.png and explain.png')
    .option('--data <source>', '"mnist", a labelled source with --holdout (an IDX folder, an image folder of classes), or training rows of any source (a CSV, .npy, IDX, images: normal, or contaminated with a few anomalies)', 'mnist')
    .option('--holdout <k>', 'train without label k (an MNIST digit 0..9, an IDX label, an image folder\'s class index) and call it the anomaly; "all" runs each label in turn')
    .option('--test-data <source>', 'the rows to score, of any kind (default: the --data rows themselves)')
    .option('--label-column <col>', 'CSV: the column of the scored rows holding 0 (normal) or 1 (anomaly), "last" or a 0-based index; removed from the features')
    .option('--contamination <c>', 'threshold = the (1 - c) quantile of the training scores, c in (0, 0.5] (default 0.1)')
    .option('--sigma <k>', 'threshold = mean + k·σ of the training scores, k >= 0 (instead of --contamination)')
    .option('--epochs <n>', 'passes over the training rows (default 20 for MNIST; else about 4000 Adam steps, as ae train picks)')
    .option('--hidden <d>', 'code size d (default 30 for MNIST; for CSV min(30, ceil(features / 4)))')
    .option('--batch <n>', 'mini-batch size (default 256 for MNIST; else rows / 10 as a power of two in 16..256)')
    .option('--lr <x>', "Adam's learning rate", '1e-3')
    .option('--limit <n>', 'use only the first N training rows (and at most N scored rows)')
    .option('--show <n>', 'top-scoring samples drawn in explain.png', '10')
    .option('--seed <n>', 'seed for initialisation and shuffling', '0')
    .option('--backend <name>', 'auto|native|js', 'auto')
    .option('--json', 'print the JSON summary on stdout')
    .action(async (f: AnomalyFlags) => {
      const started = performance.now();
      const p = parse(f);
      const backend = backendFrom(f.backend);
      const result = p.mode === 'holdout' ? await runHoldout(f, p, backend) : await runCsv(f, p, backend);
      const seconds = (performance.now() - started) / 1000;
      result.summary.seconds = { ...(result.summary.seconds as object), total: r4(seconds) };
      ensureDir(f.out);
      for (const [name, png] of result.figures) writeFileAtomic(join(f.out, name), encodePng(png));
      writeFileAtomic(join(f.out, 'scores.csv'), result.scoresCsv);
      writeFileAtomic(join(f.out, 'anomaly.json'), JSON.stringify(result.summary, null, 2) + '\n');
      const files = ['anomaly.json', 'anomaly.md', 'scores.csv', ...result.figures.map(([n]) => n)];
      const md = `${result.markdown}\n\nTook ${seconds.toFixed(1)} s on backend ${backend.name}. Files: ${files.join(', ')}.\n`;
      writeFileAtomic(join(f.out, 'anomaly.md'), md);
      process.stdout.write(f.json ? JSON.stringify(result.summary) + '\n' : `${md}wrote ${files.map((n) => join(f.out, n)).join(', ')}\n`);
    });
}

interface Outcome {
  summary: Record<string, unknown>;
  markdown: string;
  scoresCsv: string;
  figures: Array<[string, Raster]>;
}

type HoldoutPlan = Extract<ReturnType<typeof parse>, { mode: 'holdout' }>;
type CsvPlan = Extract<ReturnType<typeof parse>, { mode: 'csv' }>;

/** The labelled rows a hold-out run uses: a source's training and test parts (or a seeded split). */
async function holdoutData(f: AnomalyFlags, p: HoldoutPlan) {
  const seed = intFlag('--seed', f.seed, 0);
  let data = f.data === 'mnist' ? loadMnistDataset(p.limit === undefined ? {} : { limit: p.limit }) : await loadDataset(f.data, { ...(p.limit === undefined ? {} : { limit: p.limit }), ...(f.testData === undefined ? {} : { testData: f.testData }) });
  if (!data.labels || data.labels.length !== data.train.rows) throw new UsageError(`--holdout: expected a source with labels (MNIST, an IDX folder with labels files, an image folder with one subfolder per class), received ${data.kind} data ${f.data} without labels`);
  if (!data.test) data = splitValidation(data, 0.2, seed);
  if (!data.testLabels) throw new UsageError(`--holdout: expected labels for the test rows too, received none for ${f.testData ?? f.data}`);
  const labels: Int32Array = data.labels!;
  const testLabels: Int32Array = data.testLabels;
  const present = [...new Set(testLabels)].sort((a, b) => a - b);
  return { data, train: { images: data.train, labels }, test: { images: data.test!, labels: testLabels }, holdouts: p.holdout === null ? present : [p.holdout] };
}

async function runHoldout(f: AnomalyFlags, p: HoldoutPlan, backend: Backend): Promise<Outcome> {
  const { data, train, test, holdouts } = await holdoutData(f, p);
  const mnist = data.kind === 'mnist';
  const noun = mnist ? 'digit' : 'class';
  const nouns = mnist ? 'digits' : 'rows';
  const setName = mnist ? 'MNIST' : f.data;
  const features = train.images.cols;
  for (const k of holdouts) {
    const inTest = test.labels.filter((l) => l === k).length;
    if (inTest === 0 || inTest === test.labels.length) {
      throw new UsageError(`--holdout ${k}: expected test ${nouns} both of class ${k} and of other classes among the ${test.labels.length} test rows${p.limit !== undefined ? ' (raise --limit)' : ''}, received ${inTest} of class ${k}`);
    }
    if (train.labels.every((l) => l === k)) throw new UsageError(`--holdout ${k}: expected training ${nouns} other than ${k}${p.limit !== undefined ? ' (raise --limit)' : ''}, received none`);
  }
  // The notebook's scaling, [0, 255] → [-1, 1] for uint8 pictures (the source's shared range), done once in place for every run.
  const scaling: Scaling = data.perFeature ? fitFeatureScaling('symmetric', train.images.data, features) : fitSharedScaling('symmetric', train.images.data, data.rawRange);
  scaleInto(train.images.data, scaling, train.images.data);
  scaleInto(test.images.data, scaling, test.images.data);
  const settings = mnist ? settingsOf(f, p.hidden ?? 30) : settingsOf(f, p.hidden ?? 30, train.images.rows, features);
  const model = describeModel(settings, features, backend);
  const how = describeThresholdRule(p.rule);
  const runs: HoldoutResult[] = [];
  for (const k of holdouts) {
    if (!p.all) process.stderr.write(`ae anomaly: training ${features}→${settings.hidden}→${features} on the training ${nouns} that are not ${k}, backend ${backend.name}\n`);
    const run = holdoutRun({ x: train.images, labels: train.labels }, { x: test.images, labels: test.labels }, k, settings, backend, {
      threshold: p.rule,
      ...(p.all ? {} : { callbacks: progressCallbacks(settings.epochs!) }),
    });
    if (p.all) {
      process.stderr.write(`ae anomaly: holdout ${k}: trained on ${run.trainCount} ${nouns} in ${run.seconds.train.toFixed(1)} s, ROC-AUC ${fmt(run.metrics.rocAuc)}, PR-AUC ${fmt(run.metrics.prAuc)}\n`);
    }
    runs.push(run);
  }
  // Pictures are drawn as themselves; other rows as a strip of their values.
  const image = data.image ?? { width: features, height: 1 };
  const runJson = (r: HoldoutResult) => ({
    holdout: r.holdout,
    trainCount: r.trainCount,
    threshold: r.detector.threshold,
    trainScores: scoreStats(r.detector.trainScores),
    metrics: metricsJson(r.metrics),
    seconds: { train: r4(r.seconds.train), score: r4(r.seconds.score) },
  });
  const thresholdJson = { rule: p.rule.kind, value: p.rule.value, how, flagged: 'score > threshold' };
  const base = { data: f.data, trainCount: train.labels.length, testCount: test.labels.length, model, scaling, threshold: thresholdJson };

  if (!p.all) {
    const r = runs[0]!;
    const k = r.holdout;
    const m = r.metrics;
    const summary: Record<string, unknown> = { ...base, task: 'holdout', ...runJson(r), threshold: { ...thresholdJson, threshold: r.detector.threshold } };
    const markdown = [
      `# Anomaly detection: ${setName} with ${noun} ${k} held out`,
      '',
      `Trained ${features}→${settings.hidden}→${features} (tanh, MSE, Adam lr ${settings.lr}, batch ${settings.batchSize}, ${settings.epochs} epochs, seed ${settings.seed}) on the ${r.trainCount} training ${nouns} that are not ${noun} ${k}; scored the ${m.count} test ${nouns}, of which the ${m.anomalies} of ${noun} ${k} are the anomalies. A ${mnist ? 'digit' : 'row'}'s score is its reconstruction error (mean squared error per value in [-1, 1] scaling); it is flagged as an anomaly when its score is above the threshold ${sci(r.detector.threshold)}, ${how}.`,
      '',
      metricsTable(m),
    ].join('\n');
    const top = topIndices(r.scores, p.show);
    const x = pickRows(test.images, top);
    const figures: Array<[string, Raster]> = [
      ['scores-histogram.png', scoreHistogramFigure(r.scores, r.anomalous, r.detector.threshold, { title: `Test reconstruction errors, model trained without ${noun} ${k}`, normalLabel: `${mnist ? 'digits' : 'classes'} other than ${k}`, anomalyLabel: `${noun} ${k}`, thresholdLabel: `threshold (${thresholdShort(p.rule)})` })],
      ['roc.png', rocFigure([{ label: `${noun} ${k} vs rest, AUC ${fmt(m.rocAuc)}`, ...rocCurve(r.scores, r.anomalous) }], { title: `ROC, ${noun} ${k} held out (AUC ${fmt(m.rocAuc)})` })],
      [
        'explain.png',
        explainFigure(x, r.detector.reconstruct(x), r.detector.featureErrors(x), {
          image,
          range: [-1, 1],
          captions: top.map((i) => [`#${i}`, `${noun} ${test.labels[i]}`, sci(r.scores[i]!)]),
          title: `The ${top.length} highest-scoring test ${nouns} under the model trained without ${noun} ${k}, highest first: each one, its reconstruction and where the error is (threshold ${sci(r.detector.threshold)}).`,
        }),
      ],
    ];
    const lines = [`index,${mnist ? 'digit' : 'label'},score,flagged`];
    for (let i = 0; i < r.scores.length; i++) lines.push(`${i},${test.labels[i]},${r.scores[i]},${r.scores[i]! > r.detector.threshold ? 1 : 0}`);
    return { summary, markdown, scoresCsv: lines.join('\n') + '\n', figures };
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
    `For each ${noun} k, a ${features}→${settings.hidden}→${features} autoencoder (tanh, MSE, Adam lr ${settings.lr}, batch ${settings.batchSize}, ${settings.epochs} epochs, seed ${settings.seed}) is trained on the training ${nouns} that are not k and scores all ${test.labels.length} test ${nouns}; the ${nouns} of class k are the anomalies. Scores are reconstruction errors (mean squared error per value in [-1, 1] scaling); a row is flagged when its score is above the threshold, ${how}. PR-AUC is average precision; a random ranking scores the anomaly fraction${mnist ? ', about 0.1' : ''}.`,
    '',
    table,
  ].join('\n');
  // Each model's most confident catch: its highest-scoring test digit of the held-out class.
  const best = runs.map((r) => topIndices(Float64Array.from(r.scores, (v, i) => (r.anomalous[i] ? v : -Infinity)), 1)[0]!);
  const x = pickRows(test.images, best);
  const recon = matrix(x.rows, x.cols);
  const errors = matrix(x.rows, x.cols);
  runs.forEach((r, j) => {
    const one = pickRows(test.images, [best[j]!]);
    recon.data.set(r.detector.reconstruct(one).data, j * x.cols);
    errors.data.set(r.detector.featureErrors(one).data, j * x.cols);
  });
  const figures: Array<[string, Raster]> = [
    [
      'scores-histogram.png',
      panelGrid(
        runs.map((r) =>
          scoreHistogramFigure(r.scores, r.anomalous, r.detector.threshold, {
            title: `without ${r.holdout}: ROC-AUC ${r.metrics.rocAuc.toFixed(3)}`,
            normalLabel: mnist ? 'other digits' : 'other classes',
            anomalyLabel: `${noun} ${r.holdout}`,
            thresholdLabel: 'threshold',
            width: 420,
            height: 300,
          }),
        ),
        5,
      ),
    ],
    ['roc.png', rocFigure(runs.map((r) => ({ label: `${r.holdout} held out, AUC ${r.metrics.rocAuc.toFixed(3)}`, ...rocCurve(r.scores, r.anomalous) })), { title: `ROC per held-out ${noun} (mean AUC ${means.rocAuc.toFixed(3)})`, width: 720, height: 640 })],
    [
      'explain.png',
      explainFigure(x, recon, errors, {
        image,
        range: [-1, 1],
        captions: runs.map((r, j) => [`without ${r.holdout}`, `#${best[j]}`, sci(r.scores[best[j]!]!)]),
        title: `Column k: the highest-scoring test ${noun} k under the model trained without ${noun} k (its most confident catch), its reconstruction and where the error is.`,
      }),
    ],
  ];
  const lines = [['index', mnist ? 'digit' : 'label', ...runs.map((r) => `score_without_${r.holdout}`)].join(',')];
  for (let i = 0; i < test.labels.length; i++) lines.push([i, test.labels[i], ...runs.map((r) => r.scores[i])].join(','));
  return { summary, markdown, scoresCsv: lines.join('\n') + '\n', figures };
}

function thresholdShort(rule: ThresholdRule): string {
  return rule.kind === 'contamination' ? `contamination ${rule.value}` : rule.kind === 'sigma' ? `mean + ${rule.value} sd` : 'fixed';
}

/** Splits a table into features (label column removed) and, when asked, 0/1 labels. */
function splitLabels(t: CsvTable, path: string, column: number | null): { x: Matrix; labels: boolean[] | null } {
  if (column === null) return { x: { rows: t.rows, cols: t.cols, data: t.data }, labels: null };
  const cols = t.cols - 1;
  const x = matrix(t.rows, cols);
  const labels: boolean[] = [];
  for (let r = 0; r < t.rows; r++) {
    const v = t.data[r * t.cols + column]!;
    if (v !== 0 && v !== 1) throw new DataFormatError(`${path} row ${r + 1} label (column ${column}): expected 0 (normal) or 1 (anomaly), received ${v}`);
    labels.push(v === 1);
    for (let c = 0, o = 0; c < t.cols; c++) if (c !== column) x.data[r * cols + o++] = t.data[r * t.cols + c]!;
  }
  return { x, labels };
}

function firstRows<T extends { rows: number; cols: number; data: Float32Array }>(t: T, limit: number | undefined): T {
  return limit === undefined || limit >= t.rows ? t : { ...t, rows: limit, data: t.data.slice(0, limit * t.cols) };
}

/**
 * The scaling of a CSV run, the same Scaling type `ae train` fits and saves: per-column
 * min–max of the training rows to [-1, 1] (tabular columns have unrelated units), or one
 * range for all values when the rows are square pictures (pixels share a unit, and a pixel
 * that is always blank in training must not blow up). Values outside the training range
 * land outside [-1, 1], which itself reads as anomalous; they are counted in the summary.
 */
function csvScaling(train: Matrix, perColumn: boolean): Scaling {
  if (perColumn) return fitFeatureScaling('symmetric', train.data, train.cols);
  let min = Infinity;
  let max = -Infinity;
  for (const v of train.data) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return fitSharedScaling('symmetric', train.data, { min, max: max > min ? max : min + 1 });
}

/** Rows of any source as a table: a CSV read as it is (its 0/1 label column still in it), another kind through the data layer. */
async function tableOf(path: string): Promise<CsvTable> {
  if (/\.(csv|tsv|tab|txt)$/i.test(path)) return readCsvFile(path);
  const d = await loadDataset(path);
  return { rows: d.train.rows, cols: d.train.cols, data: d.train.data, header: d.columns ?? null, labels: null, labelName: null };
}

async function runCsv(f: AnomalyFlags, p: CsvPlan, backend: Backend): Promise<Outcome> {
  const trainTable = firstRows(await tableOf(f.data), p.limit);
  const testPath = f.testData ?? f.data;
  const scoredTable = f.testData === undefined ? trainTable : firstRows(await tableOf(f.testData), p.limit);
  let labelColumn: number | null = null;
  if (p.labelColumn !== undefined) {
    labelColumn = p.labelColumn === 'last' ? scoredTable.cols - 1 : p.labelColumn;
    if (labelColumn >= scoredTable.cols || scoredTable.cols < 2) {
      throw new UsageError(`--label-column: expected last or a column index in 0..${scoredTable.cols - 1} of ${testPath}, received "${f.labelColumn}"`);
    }
  }
  const scored = splitLabels(scoredTable, testPath, labelColumn);
  // The training file may carry the same label column (then it is dropped, rows kept: contaminated training) or none.
  let train: Matrix;
  let trainLabels: boolean[] | null = null;
  if (f.testData === undefined) {
    train = scored.x;
    trainLabels = scored.labels;
  } else if (labelColumn !== null && trainTable.cols === scoredTable.cols) {
    const t = splitLabels(trainTable, f.data, labelColumn);
    train = t.x;
    trainLabels = t.labels;
  } else if (trainTable.cols === scored.x.cols) {
    train = { rows: trainTable.rows, cols: trainTable.cols, data: trainTable.data };
  } else {
    const rule = labelColumn === null ? `${scored.x.cols} columns as in ${testPath}` : `${scored.x.cols} or ${scoredTable.cols} columns (${testPath} without or with its label column)`;
    throw new UsageError(`--data width: expected ${rule}, received ${trainTable.cols}`);
  }
  const labels = scored.labels;
  // The scored table's column names (its label column removed), for scores.csv and the figure.
  const header = scoredTable.header;
  const names = header && header.length - (labelColumn === null ? 0 : 1) === scored.x.cols ? header.filter((_, j) => j !== labelColumn) : null;
  if (labels && (labels.every(Boolean) || !labels.some(Boolean))) {
    throw new UsageError(`--label-column: expected both normal (0) and anomalous (1) rows in ${testPath}, received ${labels.filter(Boolean).length} anomalies among ${labels.length} rows`);
  }
  const features = train.cols;
  const image = imageShape(features);
  const hidden = p.hidden ?? Math.min(30, Math.max(1, Math.ceil(features / 4)));
  const settings = settingsOf(f, hidden, train.rows, features);
  const scaling = csvScaling(train, image === null);
  // Scaled in place unless the scored rows are the training rows themselves (then once).
  const x = scored.x;
  const outOfRange = x === train ? 0 : countOutOfRange(x.data, scaling);
  if (x !== train) scaleInto(x.data, scaling, x.data);
  scaleInto(train.data, scaling, train.data);
  process.stderr.write(`ae anomaly: training ${features}→${hidden}→${features} on ${train.rows} rows of ${f.data}, backend ${backend.name}\n`);
  const t0 = performance.now();
  const det = AnomalyDetector.fit(train, settings, backend, { threshold: p.rule, callbacks: progressCallbacks(settings.epochs!), image });
  const t1 = performance.now();
  const scores = det.score(x);
  const t2 = performance.now();
  const flagged = det.flag(scores);
  const how = describeThresholdRule(p.rule);
  const m = labels ? detectionMetrics(scores, labels, det.threshold) : null;
  const summary: Record<string, unknown> = {
    data: f.data,
    scored: testPath,
    task: labels ? 'labelled' : 'scores',
    trainCount: train.rows,
    ...(trainLabels ? { trainAnomalies: trainLabels.filter(Boolean).length } : {}),
    scoredCount: x.rows,
    features,
    labelColumn,
    ...(names ? { columns: names } : {}),
    scaling: image === null ? 'per-column min-max of the training rows to [-1, 1]' : 'one min-max of all training values to [-1, 1]',
    scaler: scaling,
    scoredOutOfRange: outOfRange,
    model: describeModel(settings, features, backend),
    threshold: { rule: p.rule.kind, value: p.rule.value, how, threshold: det.threshold, flagged: 'score > threshold' },
    trainScores: scoreStats(det.trainScores),
    scores: scoreStats(scores),
    flagged: flagged.filter(Boolean).length,
    ...(m ? { metrics: metricsJson(m) } : {}),
    seconds: { train: r4((t1 - t0) / 1000), score: r4((t2 - t1) / 1000) },
  };
  const trainedOn = trainLabels ? `, ${trainLabels.filter(Boolean).length} of them labelled anomalous and kept (contaminated training)` : '';
  const markdown = [
    `# Anomaly detection: ${testPath}`,
    '',
    `Trained ${features}→${hidden}→${features} (tanh, MSE, Adam lr ${settings.lr}, batch ${settings.batchSize}, ${settings.epochs} epochs, seed ${settings.seed}) on the ${train.rows} rows of ${f.data}${trainedOn}; scored ${x.rows} rows${labels ? `, ${labels.filter(Boolean).length} labelled anomalous (column ${labelColumn})` : ' (no labels: scores only)'}. A row's score is its reconstruction error (mean squared error per feature after scaling to [-1, 1]); it is flagged as an anomaly when its score is above the threshold ${sci(det.threshold)}, ${how}. Flagged: ${summary.flagged} of ${x.rows}.`,
    ...(m ? ['', metricsTable(m)] : []),
  ].join('\n');
  const top = topIndices(scores, p.show);
  const shown = pickRows(x, top);
  const caption = (i: number) => `row ${i}${labels ? (labels[i] ? ' (1)' : ' (0)') : ''}`;
  const explain = image
    ? explainFigure(shown, det.reconstruct(shown), det.featureErrors(shown), {
        image,
        range: [-1, 1],
        captions: top.map((i) => [caption(i), sci(scores[i]!)]),
        title: `The ${top.length} highest-scoring rows, highest first: each row, its reconstruction and where the error is (threshold ${sci(det.threshold)}).`,
      })
    : featureErrorFigure(det.featureErrors(shown), top.map((i) => `${caption(i)} ${sci(scores[i]!)}`), {
        ...(names ? { featureNames: names } : {}),
        title: `Per-feature squared error of the ${top.length} highest-scoring rows (row, label, score), highest first; threshold ${sci(det.threshold)}.`,
      });
  const figures: Array<[string, Raster]> = [
    ['scores-histogram.png', scoreHistogramFigure(scores, labels, det.threshold, { title: `Reconstruction errors of ${x.rows} scored rows`, thresholdLabel: `threshold (${thresholdShort(p.rule)})`, allLabel: 'scored rows' })],
    ...(m && labels ? [['roc.png', rocFigure([{ label: `AE, AUC ${fmt(m.rocAuc)}`, ...rocCurve(scores, labels) }], { title: `ROC (AUC ${fmt(m.rocAuc)})` })] as [string, Raster]] : []),
    ['explain.png', explain],
  ];
  // Each row's squared error per feature beside its score, named after the columns (error_<name>, or error_<index>).
  const perFeature = det.featureErrors(x);
  const quote = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const errorHeads = Array.from({ length: features }, (_, j) => quote(`error_${names ? names[j] : j}`));
  const lines = [[...(labels ? ['row', 'label', 'score', 'flagged'] : ['row', 'score', 'flagged']), ...errorHeads].join(',')];
  for (let i = 0; i < scores.length; i++) {
    const errs = Array.from(perFeature.data.subarray(i * features, (i + 1) * features), (v) => String(Number(v.toPrecision(6))));
    lines.push([...(labels ? [i, labels[i] ? 1 : 0, scores[i], flagged[i] ? 1 : 0] : [i, scores[i], flagged[i] ? 1 : 0]), ...errs].join(','));
  }
  return { summary, markdown, scoresCsv: lines.join('\n') + '\n', figures };
}
