import { join } from 'node:path';
import type { Command } from 'commander';
import { ANOMALY_OUTPUT, loadHoldoutData, loadTableData, outputFiles, runAnomaly, type AnomalyInputs, type ThresholdRule } from '../apps/anomaly.js';
import { claimOutputs } from '../io/output-check.js';
import { folderFiles, writeFolder } from '../io/outputs.js';
import type { TrainSettings } from '../train/recipe.js';
import { backendFrom } from './common.js';
import { addReadOptions, readOptionsFrom } from './data-flags.js';
import { UsageError } from './exit.js';
import { backendOption, limitOption, numberOption, showOption } from './options.js';
import { progressCallbacks } from './progress.js';
import { tableDefaults } from '../train/run-folder.js';
import { settingsFromFlags, type TrainFlags } from './train-flags.js';
import { addArchitectureOptions, addOptimizerOptions } from './train-options.js';

interface AnomalyFlags extends Omit<TrainFlags, 'loss' | 'out'> {
  holdout?: string;
  contamination?: number;
  sigma?: number;
  show: number;
  json?: boolean;
  out: string;
}

function ruleOf(f: AnomalyFlags): ThresholdRule {
  if (f.contamination !== undefined && f.sigma !== undefined) throw new UsageError('--contamination and --sigma: expected one of them, received both');
  if (f.sigma !== undefined) return { kind: 'sigma', value: f.sigma };
  // PyOD's default contamination.
  return { kind: 'contamination', value: f.contamination ?? 0.1 };
}

/** --holdout: one label value (any integer), or null for "all" (each label value present, in turn). */
function holdoutOf(text: string): number | null {
  if (text === 'all') return null;
  if (!/^[+-]?\d+$/.test(text.trim()) || !Number.isSafeInteger(Number(text))) throw new UsageError(`--holdout: expected a label value (an integer, e.g. a digit 0..9) or all, received "${text}"`);
  return Number(text);
}

/** Flags → settings (MSE; scaled to [-1, 1]); outside MNIST the batch, epochs and a table's code size default from the rows' count, as ae train picks them. */
function settingsOf(f: AnomalyFlags, sized: { rows: number; features: number; table: boolean } | null): Partial<TrainSettings> {
  const s = settingsFromFlags({ ...f, loss: 'mse' });
  if (sized === null) return s;
  const d = tableDefaults(sized.rows, sized.features);
  if (f.batch === undefined) s.batchSize = d.batchSize;
  if (f.epochs === undefined) s.epochs = d.epochs;
  if (sized.table && f.hidden === undefined && f.layers === undefined) s.hidden = d.hidden;
  return s;
}

export function registerAnomaly(program: Command): void {
  const cmd = program
    .command('anomaly')
    .description('anomaly detection by reconstruction error: train on normal data, flag samples the autoencoder reconstructs badly; saves the detector for ae score')
    .requiredOption('--out <dir>', 'folder for detector.safetensors, anomaly.json, anomaly.md, scores.csv, scores-histogram and roc (each .png, .svg and .vl.json) and explain.png')
    .option('--data <source>', '"mnist", a labelled source with --holdout (an IDX folder, an image folder of classes), or training rows of any source (a CSV, .npy, IDX, images: normal, or contaminated with a few anomalies)', 'mnist')
    .option('--holdout <k>', 'train without label k (an MNIST digit 0..9, an IDX label, an image folder\'s class index) and call it the anomaly; "all" runs each label in turn, saving detector-holdout-K.safetensors')
    .option('--test-data <source>', 'the rows to score, of any kind (default: the --data rows themselves)')
    .addOption(numberOption('--contamination <c>', 'threshold = the (1 - c) quantile of the training scores, c in (0, 0.5] (default 0.1, PyOD\'s)', 'a fraction in (0, 0.5]', (n) => n > 0 && n <= 0.5))
    .addOption(numberOption('--sigma <k>', 'threshold = mean + k·σ of the training scores, k >= 0 (instead of --contamination)', 'a number >= 0', (n) => n >= 0))
    .addOption(limitOption('use only the first N training rows (and at most N scored rows)'))
    .addOption(showOption(10, 'top-scoring samples drawn in explain.png'))
    .addOption(backendOption())
    .option('--json', 'print the JSON summary on stdout');
  // ae train's flags, but MSE on [-1, 1] always, and no schedule or early stopping (no held-out rows to watch).
  addOptimizerOptions(addArchitectureOptions(addReadOptions(cmd), { hidden: 'code size d (default 30; for a table min(30, ceil(features / 4)))' }), {
    epochs: 'passes over the training rows (default 20 for MNIST; else about 4000 Adam steps, as ae train picks)',
    batch: 'mini-batch size (default 256 for MNIST; else rows / 10 as a power of two in 16..256)',
  });
  cmd.options.find((o) => o.long === '--label-column')!.description = 'CSV: the column of the scored rows holding 0 (normal) or 1 (anomaly): a name, 0-based index or "last"; removed from the features';
  cmd.action(async (f: AnomalyFlags) => {
    // Every flag is checked, and the output folder, before any data is read.
    const rule = ruleOf(f);
    const show = f.show;
    const limit = f.limit;
    settingsOf(f, null);
    const holdoutMode = f.holdout !== undefined || f.data === 'mnist';
    if (holdoutMode && f.labelColumn !== undefined) throw new UsageError('--label-column: expected only for scoring CSV rows (a hold-out uses the source\'s own labels), received it with --holdout');
    if (holdoutMode && f.holdout === undefined) throw new UsageError('--holdout: expected a digit 0..9 or all for --data mnist, received nothing');
    const holdout = holdoutMode ? holdoutOf(f.holdout!) : null;
    const label = f.labelColumn?.trim();
    const read = readOptionsFrom({ ...f, labelColumn: undefined });
    // Its files are every name it may write (detector-holdout-K.safetensors for each K of a hold-out run): with --force an earlier run's all go.
    const claim = claimOutputs({ path: f.out, kind: 'folder', also: (n) => ANOMALY_OUTPUT.test(n), force: f.force === true, inputs: [{ flag: '--data', path: f.data }, { flag: '--test-data', path: f.testData }] });
    const backend = backendFrom(f.backend);
    const lim = limit === undefined ? {} : { limit };
    let inputs: AnomalyInputs;
    let sized: Parameters<typeof settingsOf>[1];
    if (holdoutMode) {
      const data = await loadHoldoutData({ data: f.data, ...lim, seed: f.seed, read, ...(f.testData === undefined ? {} : { testData: f.testData }) });
      inputs = { kind: 'holdout', data, holdouts: holdout === null ? 'all' : [holdout] };
      sized = data.kind === 'mnist' ? null : { rows: data.train.rows, features: data.train.cols, table: false };
    } else {
      const labelColumn = label === undefined ? undefined : label === 'last' ? 'last' : /^\d+$/.test(label) ? Number(label) : label;
      const t = await loadTableData({ data: f.data, ...lim, read, ...(f.testData === undefined ? {} : { testData: f.testData }), ...(labelColumn === undefined ? {} : { labelColumn }) });
      inputs = { kind: 'table', inputs: t };
      sized = { rows: t.train.train.rows, features: t.train.train.cols, table: true };
    }
    const settings = settingsOf(f, sized);
    const progress = holdout !== null || !holdoutMode;
    const outcome = runAnomaly(inputs, {
      settings, rule, show, inPlace: true, limited: limit !== undefined,
      log: (line) => process.stderr.write(`ae anomaly: ${line}\n`),
      callbacks: () => (progress ? progressCallbacks(settings.epochs!) : undefined),
    }, backend);
    const files = await outputFiles(outcome);
    writeFolder(f.out, folderFiles(files), claim.present);
    claim.release();
    process.stdout.write(f.json ? JSON.stringify(outcome.summary) + '\n' : `${outcome.markdown}wrote ${files.map(([n]) => join(f.out, n)).join(', ')}\n`);
  });
}
