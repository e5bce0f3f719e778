import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ae, usage } from './testing.js';
import { averagePrecision, rocAuc } from '../apps/metrics.js';
import { Rng } from '../core/rng.js';
import { lowRankData } from '../data/synthetic.js';
import { decodePng } from '../viz/image.js';

const dir = mkdtempSync(join(tmpdir(), 'ae-anomaly-'));

function png(path: string) {
  return decodePng(readFileSync(path));
}

/** scores.csv back as columns of numbers. */
function readScores(path: string): { header: string[]; rows: number[][] } {
  const [head, ...lines] = readFileSync(path, 'utf8').trimEnd().split('\n');
  return { header: head!.split(','), rows: lines.map((l) => l.split(',').map(Number)) };
}

/**
 * Rows near a 2-D subspace of R^8 (normal) and isotropic Gaussian rows around its mean
 * (anomalous), `fraction` of them, with a 0/1 label in the last column when asked.
 */
function csvRows(rng: Rng, x: { data: Float32Array }, mean: Float32Array, start: number, count: number, fraction: number, labelled: boolean): string {
  const lines: string[] = [];
  for (let i = start; i < start + count; i++) {
    const outlier = rng.random() < fraction;
    const row = Array.from(x.data.subarray(i * 8, (i + 1) * 8));
    if (outlier) for (let j = 0; j < 8; j++) row[j] = mean[j]! + rng.normal();
    lines.push([...row.map((v) => v.toFixed(5)), ...(labelled ? [outlier ? 1 : 0] : [])].join(','));
  }
  return lines.join('\n') + '\n';
}

const csvRng = new Rng(3);
const low = lowRankData(new Rng(2), { rows: 1600, dim: 8, rank: 2, noise: 0.03 });
const trainCsv = join(dir, 'train.csv');
const testCsv = join(dir, 'test.csv');
// Contaminated training rows (5% unlabelled outliers), and a labelled test file.
writeFileSync(trainCsv, csvRows(csvRng, low.x, low.mean, 0, 1200, 0.05, false));
writeFileSync(testCsv, csvRows(csvRng, low.x, low.mean, 1200, 400, 0.15, true));

test('ae anomaly --holdout 0 on an MNIST subset: JSON summary, scores, histogram, ROC and explanation figures', () => {
  const out = join(dir, 'holdout0');
  const r = ae('anomaly', '--holdout', '0', '--limit', '2000', '--epochs', '2', '--show', '6', '--json', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 1, 'only the JSON on stdout');
  const s = JSON.parse(lines[0]!);
  assert.equal(s.task, 'holdout');
  assert.equal(s.holdout, 0);
  assert.equal(s.testCount, 2000);
  assert.deepEqual(s.model.layers, [784, 30, 784]);
  assert.deepEqual([s.threshold.rule, s.threshold.value], ['contamination', 0.1]);
  assert.match(s.threshold.how, /0\.9 quantile of the training scores/);
  assert.ok(s.trainCount < 2000 && s.trainCount > 1700, `trained on ${s.trainCount}`);
  // Zeros are the easiest digit to tell apart, even after two epochs on 2000 digits.
  assert.ok(s.metrics.rocAuc > 0.7, `ROC-AUC ${s.metrics.rocAuc}`);
  assert.ok(s.seconds.total > 0);
  // scores.csv holds what the summary was computed from.
  const sc = readScores(join(out, 'scores.csv'));
  assert.deepEqual(sc.header, ['row', 'score', 'flagged', 'label']);
  assert.equal(sc.rows.length, 2000);
  const scores = sc.rows.map((row) => row[1]!);
  const labels = sc.rows.map((row) => row[3] === 0);
  assert.equal(labels.filter(Boolean).length, s.metrics.anomalies);
  assert.ok(Math.abs(rocAuc(scores, labels) - s.metrics.rocAuc) < 1e-12);
  assert.ok(Math.abs(averagePrecision(scores, labels) - s.metrics.prAuc) < 1e-12);
  assert.deepEqual(sc.rows.map((row) => row[2]), scores.map((v) => (v > s.threshold.threshold ? 1 : 0)));
  assert.equal(s.metrics.flagged, sc.rows.filter((row) => row[2] === 1).length);
  assert.equal(s.metrics.tp + s.metrics.fp + s.metrics.tn + s.metrics.fn, 2000);
  assert.match(readFileSync(join(out, 'anomaly.md'), 'utf8'), /\| ROC-AUC \| 0\.\d{4} \|/);
  // The detector is kept: its file is named in the summary.
  assert.equal(s.detector, 'detector.safetensors');
  assert.ok(existsSync(join(out, 'detector.safetensors')));
  // The charts: a PNG at 2 pixels per unit, the SVG with real text, the Vega-Lite spec.
  const roc = png(join(out, 'roc.png'));
  assert.ok(roc.width > 900 && roc.height > 900 && Math.abs(roc.width - roc.height) < 200, `roc ${roc.width}x${roc.height}`);
  assert.ok(png(join(out, 'scores-histogram.png')).width > 1200);
  assert.match(readFileSync(join(out, 'roc.svg'), 'utf8'), /<text[^>]*>false-positive rate<\/text>/);
  assert.match(readFileSync(join(out, 'scores-histogram.svg'), 'utf8'), /<text[^>]*>Test reconstruction errors, model trained without digit \d<\/text>/);
  assert.equal(JSON.parse(readFileSync(join(out, 'roc.vl.json'), 'utf8')).encoding.x.field, 'fpr');
  assert.match(readFileSync(join(out, 'anomaly.md'), 'utf8'), /Files: .*scores-histogram\.png, scores-histogram\.svg, scores-histogram\.vl\.json, roc\.png, roc\.svg, roc\.vl\.json, explain\.png\./);
  // Six digits at zoom 3 (84 px + 2 px padding each), with the row labels at the left.
  const explain = png(join(out, 'explain.png'));
  assert.ok(explain.width > 2 + 6 * 86 && explain.width < 2 + 6 * 86 + 300, `explain width ${explain.width}`);
  assert.ok(explain.height > 3 * 86, `explain height ${explain.height}`);
});

test('ae anomaly --holdout all --sigma 3: one row per digit and their mean', () => {
  const out = join(dir, 'all');
  const r = ae('anomaly', '--holdout', 'all', '--limit', '1000', '--epochs', '1', '--sigma', '3', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\| held-out digit \| training digits \| test anomalies \| ROC-AUC \| PR-AUC/);
  assert.match(r.stdout, /\| mean \| \| \| 0\.\d{4} \| 0\.\d{4} \|/);
  assert.equal(r.stderr.trimEnd().split('\n').filter((l) => /^ae anomaly: holdout \d: trained on \d+ digits/.test(l)).length, 10);
  const s = JSON.parse(readFileSync(join(out, 'anomaly.json'), 'utf8'));
  assert.equal(s.task, 'holdout-all');
  assert.deepEqual(s.runs.map((x: { holdout: number }) => x.holdout), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const mean = s.runs.reduce((a: number, x: { metrics: { rocAuc: number } }) => a + x.metrics.rocAuc, 0) / 10;
  assert.ok(Math.abs(mean - s.mean.rocAuc) < 1e-12);
  assert.deepEqual([s.threshold.rule, s.threshold.value], ['sigma', 3]);
  for (const run of s.runs) {
    // mean + 3σ of each model's own training scores.
    assert.ok(Math.abs(run.threshold - (run.trainScores.mean + 3 * run.trainScores.std)) < 1e-9);
  }
  const sc = readScores(join(out, 'scores.csv'));
  assert.deepEqual(sc.header, ['row', ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => `score_without_${k}`), 'label']);
  assert.equal(sc.rows.length, 1000);
  for (const name of ['roc.png', 'scores-histogram.png', 'explain.png']) assert.ok(png(join(out, name)).width > 600, name);
  // Ten histogram panels, one per held-out digit.
  assert.equal(JSON.parse(readFileSync(join(out, 'scores-histogram.vl.json'), 'utf8')).concat.length, 10);
  // One detector per held-out digit.
  assert.deepEqual(s.runs.map((x: { detector: string }) => x.detector), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => `detector-holdout-${k}.safetensors`));
  for (const run of s.runs) assert.ok(existsSync(join(out, run.detector)), run.detector);
});

test('ae anomaly on CSV: contaminated training rows, a labelled test file, ROC-AUC >= 0.95', () => {
  const out = join(dir, 'csv');
  const r = ae('anomaly', '--data', trainCsv, '--test-data', testCsv, '--label-column', 'last', '--hidden', '2', '--epochs', '40', '--batch', '32', '--lr', '0.005', '--json', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.task, 'labelled');
  assert.deepEqual([s.trainCount, s.scoredCount, s.features, s.labelColumn], [1200, 400, 8, 8]);
  assert.deepEqual(s.model.layers, [8, 2, 8]);
  assert.ok(s.metrics.rocAuc >= 0.95, `ROC-AUC ${s.metrics.rocAuc}`);
  assert.ok(s.metrics.recall > 0.8, `recall ${s.metrics.recall}`);
  assert.match(s.scaling, /per-column/);
  const sc = readScores(join(out, 'scores.csv'));
  const errorHeads = Array.from({ length: 8 }, (_, j) => `error_${j}`);
  assert.deepEqual(sc.header, ['row', 'score', 'flagged', 'label', ...errorHeads]);
  assert.equal(sc.rows.length, 400);
  // A row's score is the mean of its per-feature squared errors.
  for (const row of sc.rows.slice(0, 50)) {
    const mean = row.slice(4).reduce((a, b) => a + b, 0) / 8;
    assert.ok(Math.abs(mean - row[1]!) <= 1e-4 * Math.max(1e-3, row[1]!), `score ${row[1]} against mean error ${mean}`);
  }
  for (const name of ['roc.png', 'roc.svg', 'roc.vl.json', 'scores-histogram.png', 'scores-histogram.svg', 'scores-histogram.vl.json', 'explain.png']) assert.ok(existsSync(join(out, name)), name);
});

test('ae anomaly on CSV without labels writes scores only; a label column that is not last is removed too', () => {
  const out = join(dir, 'csv-scores');
  const r = ae('anomaly', '--data', trainCsv, '--epochs', '2', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(readFileSync(join(out, 'anomaly.json'), 'utf8'));
  assert.equal(s.task, 'scores');
  assert.equal(s.metrics, undefined);
  // Default code size for 8 columns: ceil(8 / 4).
  assert.deepEqual(s.model.layers, [8, 2, 8]);
  // Scored the training rows themselves: about the contamination fraction is flagged.
  assert.equal(s.scoredCount, 1200);
  assert.ok(Math.abs(s.flagged - 120) <= 1, `flagged ${s.flagged}`);
  assert.equal(existsSync(join(out, 'roc.png')), false);
  assert.equal(existsSync(join(out, 'roc.svg')), false);
  assert.deepEqual(readScores(join(out, 'scores.csv')).header, ['row', 'score', 'flagged', ...Array.from({ length: 8 }, (_, j) => `error_${j}`)]);
  assert.match(r.stdout, /no labels: scores only/);
  // A second run into the same folder is refused without --force (nothing replaced), and replaces it with --force.
  const before = readFileSync(join(out, 'detector.safetensors'));
  usage(['anomaly', '--data', trainCsv, '--epochs', '1', '--out', out], /--out: expected a folder without anomaly\.json, anomaly\.md, detector\.safetensors, explain\.png, scores-histogram\.png, scores-histogram\.svg, scores-histogram\.vl\.json, scores\.csv \(pass --force to replace them\)/);
  assert.deepEqual(readFileSync(join(out, 'detector.safetensors')), before);
  const forced = ae('anomaly', '--data', trainCsv, '--epochs', '1', '--force', '--out', out);
  assert.equal(forced.code, 0, forced.stderr);
  assert.notDeepEqual(readFileSync(join(out, 'detector.safetensors')), before);
  // Named columns name the per-feature errors (quoted when a name holds a comma).
  const named = join(dir, 'named.csv');
  writeFileSync(named, 'a,b,c,d,e,f,g,"h, last"\n' + readFileSync(trainCsv, 'utf8'));
  const rn = ae('anomaly', '--data', named, '--epochs', '1', '--out', join(dir, 'csv-named'));
  assert.equal(rn.code, 0, rn.stderr);
  assert.equal(readFileSync(join(dir, 'csv-named', 'scores.csv'), 'utf8').split('\n')[0], 'row,score,flagged,error_a,error_b,error_c,error_d,error_e,error_f,error_g,"error_h, last"');
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'csv-named', 'anomaly.json'), 'utf8')).columns, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h, last']);

  // The architecture, variant and corruption are chosen as in ae train, and recorded.
  const rd = ae('anomaly', '--data', trainCsv, '--layers', '8,4,2', '--activation', 'relu', '--noise', 'gaussian:0.1', '--epochs', '2', '--json', '--out', join(dir, 'csv-deep'));
  assert.equal(rd.code, 0, rd.stderr);
  const sd = JSON.parse(rd.stdout);
  assert.deepEqual([sd.model.layers, sd.model.activation, sd.model.variant, sd.model.noise], [[8, 4, 2, 4, 8], 'relu', 'denoising', 'gaussian:0.1']);
  assert.match(readFileSync(join(dir, 'csv-deep', 'anomaly.md'), 'utf8'), /8→4→2→4→8 autoencoder \(relu, tanh output, denoising gaussian:0\.1, mse, adam lr 0\.001, batch \d+, 2 epochs, seed 0\)/);
  usage(['anomaly', '--data', trainCsv, '--layers', '9,2', '--out', join(dir, 'never-deep')], /layers\[0\]: expected 8 to match the data width, received 9/);

  // The label first: columns 1..8 are the features.
  const first = join(dir, 'first.csv');
  writeFileSync(first, readFileSync(testCsv, 'utf8').trimEnd().split('\n').map((l) => { const f = l.split(','); return [f.pop(), ...f].join(','); }).join('\n') + '\n');
  const r2 = ae('anomaly', '--data', trainCsv, '--test-data', first, '--label-column', '0', '--hidden', '2', '--epochs', '40', '--batch', '32', '--lr', '0.005', '--json', '--out', join(dir, 'csv-first'));
  assert.equal(r2.code, 0, r2.stderr);
  const s2 = JSON.parse(r2.stdout);
  assert.equal(s2.labelColumn, 0);
  assert.ok(s2.metrics.rocAuc >= 0.95, `ROC-AUC ${s2.metrics.rocAuc}`);
});

test('bad values: one line on stderr, exit code 2, nothing written', () => {
  const out = join(dir, 'never');
  const kept = join(dir, 'kept');
  mkdirSync(kept);
  writeFileSync(join(kept, 'anomaly.json'), 'keep me');
  // A label value MNIST does not have: named as such (labels are any integers for other sources).
  usage(['anomaly', '--holdout', '10', '--limit', '500', '--out', out], /holdout 10: expected test digits both of class 10 and of other classes .* received 0 of class 10/);
  usage(['anomaly', '--holdout', 'seven', '--out', out], /--holdout: expected a label value \(an integer, e\.g\. a digit 0\.\.9\) or all, received "seven"/);
  usage(['anomaly', '--out', out], /--holdout: expected a digit 0\.\.9 or all for --data mnist, received nothing/);
  usage(['anomaly', '--holdout', '3', '--contamination', '0', '--out', out], /--contamination: expected a fraction in \(0, 0\.5\], received "0"/);
  usage(['anomaly', '--holdout', '3', '--contamination', '0.6', '--out', kept], /--contamination: expected a fraction in \(0, 0\.5\], received "0\.6"/);
  usage(['anomaly', '--holdout', '3', '--sigma', '-1', '--out', out], /--sigma: expected a number >= 0, received "-1"/);
  usage(['anomaly', '--holdout', '3', '--sigma', '2', '--contamination', '0.1', '--out', kept], /--contamination and --sigma: expected one of them, received both/);
  usage(['anomaly', '--holdout', '3', '--label-column', 'last', '--out', out], /--label-column: expected only for scoring CSV rows \(a hold-out uses the source's own labels\)/);
  usage(['anomaly', '--data', trainCsv, '--holdout', '3', '--out', out], /holdout: expected a source with labels .*, received csv data .*train\.csv without labels/);
  // The label column is read by the CSV layer (a name, an index or last), as every command reads it.
  usage(['anomaly', '--data', trainCsv, '--test-data', testCsv, '--label-column', '9', '--out', out], /test\.csv label column: expected a column index 0\.\.8, received 9/);
  usage(['anomaly', '--data', trainCsv, '--test-data', testCsv, '--label-column', 'first', '--out', out], /test\.csv label column: expected one of indices 0\.\.8 \(the file has no header\), received "first"/);
  // Column 3 holds features, not integer labels; integer labels other than 0/1 are refused too.
  usage(['anomaly', '--data', trainCsv, '--test-data', testCsv, '--label-column', '3', '--out', out], /test\.csv line 1, column 4: expected an integer label, received /);
  const twos = join(dir, 'twos.csv');
  writeFileSync(twos, readFileSync(testCsv, 'utf8').replace(/,[01]$/gm, ',2'));
  usage(['anomaly', '--data', trainCsv, '--test-data', twos, '--label-column', 'last', '--out', out], /twos\.csv label \(column 8\) row 1: expected 0 \(normal\) or 1 \(anomaly\), received 2/);
  usage(['anomaly', '--data', testCsv, '--test-data', trainCsv, '--out', out], /test\.csv width: expected 8 columns as in .*train\.csv, received 9/);
  usage(['anomaly', '--holdout', '3', '--epochs', '0', '--out', out], /--epochs: expected a positive integer, received "0"/);
  usage(['anomaly', '--holdout', '3', '--limit', '5', '--out', out], /holdout 3: expected test digits both of class 3 and of other classes among the 5 test rows \(raise the limit\), received 0 of class 3/);
  // A folder holding another run's outputs is not written over without --force, before any data is read.
  usage(['anomaly', '--holdout', '3', '--out', kept], /--out: expected a folder without anomaly\.json \(pass --force to replace them\), received ".*kept" which has them/);
  assert.equal(existsSync(out), false, 'nothing is written on bad usage');
  assert.equal(readFileSync(join(kept, 'anomaly.json'), 'utf8'), 'keep me');
});
