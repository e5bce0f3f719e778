import { join } from 'node:path';
import type { Command } from 'commander';
import { backendOption, limitOption } from './options.js';
import { AnomalyDetector, outputFiles, runScore, SCORE_FILES } from '../apps/anomaly.js';
import { claimOutputs } from '../io/output-check.js';
import { folderFiles, writeFolder } from '../io/outputs.js';
import { backendFrom, evalData } from './common.js';
import { addReadOptions, DATA_HELP, type ReadFlags } from './data-flags.js';

interface ScoreFlags extends ReadFlags {
  model: string;
  data: string;
  out: string;
  limit?: number;
  json?: boolean;
  backend: string;
  force?: boolean;
}

export function registerScore(program: Command): void {
  const cmd = addReadOptions(program
    .command('score')
    .description('score new rows with a detector saved by ae anomaly: its stored scaler and threshold, no training')
    .requiredOption('--model <file>', 'a detector.safetensors written by ae anomaly')
    .requiredOption('--data <source>', `the rows to score: ${DATA_HELP}; its test part when it has one, else every row; a CSV is read as the training file was and matched to its columns by name`)
    .requiredOption('--out <dir>', `folder for ${SCORE_FILES.join(', ')} (the ROC with labels of both classes)`)
    .addOption(limitOption('score only the first N rows'))
    .addOption(backendOption())
    .option('--json', 'print the JSON summary on stdout'));
  cmd.options.find((o) => o.long === '--label-column')!.description = 'CSV: the column of labels (0 normal, 1 anomaly; class labels for a hold-out detector): a name, 0-based index or "last"';
  cmd.action(async (f: ScoreFlags) => {
    const claim = claimOutputs({ path: f.out, kind: 'folder', files: SCORE_FILES, force: f.force === true, inputs: [{ flag: '--model', path: f.model }, { flag: '--data', path: f.data }] });
    const detector = AnomalyDetector.load(f.model, backendFrom(f.backend));
    // Read as ae eval reads data for a model: the training file's reading options, its columns by name.
    const data = await evalData({ model: detector.model, config: detector.modelConfig() }, f.data, f.limit, f);
    const outcome = runScore(detector, { source: f.data, x: data.test!, labels: data.testLabels ?? null }, { detectorSource: f.model });
    const files = await outputFiles(outcome);
    writeFolder(f.out, folderFiles(files), claim.present);
    claim.release();
    process.stdout.write(f.json ? JSON.stringify(outcome.summary) + '\n' : `${outcome.line}\nwrote ${files.map(([n]) => join(f.out, n)).join(', ')}\n`);
  });
}
