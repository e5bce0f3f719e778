import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ae, usage } from './testing.js';
import { decodePng } from '../viz/image.js';
import { labelledRowsFigure } from '../viz/figures.js';
import { matrix } from '../core/matrix.js';
import { loadModel, saveModel } from '../io/model-file.js';
import { JsBackend } from '../backends/js/index.js';
import { INPAINT_FIGURE_LABELS } from '../apps/inpaint.js';

/** The size of a labelled figure of `rows` rows of `cols` 28x28 digits at zoom 2. */
function figureSize(cols: number, labels: string[]) {
  const f = labelledRowsFigure(labels.map(() => matrix(cols, 784)), labels, { width: 28, height: 28, range: [-1, 1] });
  return [f.width, f.height];
}

const dir = mkdtempSync(join(tmpdir(), 'ae-cli-'));
const run = join(dir, 'run');
const model = join(run, 'model.safetensors');

test('ae train writes the model, metrics and reconstructions', () => {
  const r = ae('train', '--limit', '512', '--epochs', '2', '--batch', '128', '--seed', '1', '--out', run);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /epoch 2\/2 {2}train [0-9.]+ {2}test [0-9.]+/);
  const metrics = JSON.parse(readFileSync(join(run, 'metrics.json'), 'utf8'));
  assert.ok(['native', 'js'].includes(metrics.backend));
  assert.deepEqual(metrics.config.architecture.layers, [784, 30]);
  assert.equal(metrics.config.scaling.kind, 'symmetric');
  assert.equal(metrics.epochs.length, 2);
  for (const e of metrics.epochs) {
    assert.deepEqual(Object.keys(e).sort(), ['epoch', 'lr', 'samplesPerSecond', 'seconds', 'testLoss', 'trainLoss']);
  }
  const png = decodePng(readFileSync(join(run, 'reconstructions.png')));
  // 10 digits above their 10 reconstructions, each row labelled.
  assert.deepEqual([png.width, png.height], figureSize(10, ['input', 'reconstruction']));
  assert.ok(png.width > 2 + 10 * 58);
});

test('ae eval prints the test MSE and count, as text and JSON', () => {
  const r = ae('eval', '--model', model, '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.count, 10000);
  assert.ok(out.mse > 0 && out.mse < 1.5);
  const t = ae('eval', '--model', model, '--limit', '100');
  assert.match(t.stdout, /^test MSE [0-9.]+ over 100 rows of mnist/);
  // A loadable linear model whose sums overflow (weights of ±3e38 make ±Inf, then Inf − Inf):
  // an error naming why, not "test MSE NaN" with exit 0.
  const lin = join(dir, 'linear');
  assert.equal(ae('train', '--activation', 'linear', '--output-activation', 'linear', '--hidden', '4', '--limit', '100', '--epochs', '1', '--out', lin).code, 0);
  const loaded = loadModel(join(lin, 'model.safetensors'), new JsBackend());
  for (const p of loaded.model.params) p.value.forEach((_, i, a) => (a[i] = (i % 3 ? 1 : -1) * 3e38));
  const huge = join(dir, 'huge.safetensors');
  saveModel(huge, loaded.model, loaded.config);
  usage(['eval', '--model', huge, '--limit', '100'], /--model: expected a model whose reconstructions are finite, received one whose test MSE is NaN \(its largest weight is 3\.00e\+38\)/);
});

test('ae reconstruct draws --count digits', () => {
  const out = join(dir, 'rec.png');
  const r = ae('reconstruct', '--model', model, '--out', out, '--count', '3');
  assert.equal(r.code, 0, r.stderr);
  const png = decodePng(readFileSync(out));
  assert.deepEqual([png.width, png.height], figureSize(3, ['input', 'reconstruction']));
});

test('bad usage gets one line on stderr and exit code 2', () => {
  usage(['train', '--out', join(dir, 'x'), '--bogus'], /unknown option '--bogus'/);
  usage(['train', '--out', join(dir, 'x'), '--epochs', '0'], /--epochs: expected a positive integer, received "0"/);
  usage(['train', '--out', join(dir, 'x'), '--hidden', '0'], /--hidden: expected a positive integer, received "0"/);
  usage(['train', '--out', join(dir, 'x'), '--hidden', '3', '--layers', '784,3'], /--hidden and --layers/);
  usage(['train', '--out', join(dir, 'x'), '--activation', 'swish'], /--activation: expected one of tanh, sigmoid, relu, linear, received "swish"/);
  usage(['train', '--out', join(dir, 'x'), '--lr', 'fast'], /--lr: expected a number > 0/);
  usage(['train', '--out', join(dir, 'x'), '--layers', '100,30'], /layers\[0\]: expected 784 to match the data width, received 100/);
  usage(['train'], /--out: expected a folder for the run \(or --resume DIR\), received nothing/);
  usage(['fly'], /unknown command 'fly'/);
  usage(['eval', '--model', join(dir, 'missing.safetensors')], /missing\.safetensors.*no such file/);
  assert.equal(existsSync(join(dir, 'x')), false, 'nothing is written on bad usage');
});

test('a corrupt model file is refused with exit code 2', () => {
  const bad = join(dir, 'corrupt.safetensors');
  writeFileSync(bad, readFileSync(model).subarray(0, 300));
  usage(['eval', '--model', bad], /corrupt\.safetensors/);
  usage(['reconstruct', '--model', bad, '--out', join(dir, 'never.png')], /corrupt\.safetensors/);
  assert.equal(existsSync(join(dir, 'never.png')), false);
});

test('data whose width differs from the model is refused', () => {
  const csv = join(dir, 'narrow.csv');
  writeFileSync(csv, '1,2,3\n4,5,6\n');
  usage(['eval', '--model', model, '--data', csv], /expected 784 values per row to match the model, received 3/);
});

test('an existing model is not overwritten without --force, nor by a run that diverges', () => {
  const before = readFileSync(model);
  usage(['train', '--out', run, '--limit', '100', '--epochs', '1'], /pass --force/);
  // A mistake in the settings is named first, before the existing output.
  usage(['train', '--out', run, '--lr-schedule', 'foo:3'], /lr schedule: expected step:N/);
  assert.ok(readFileSync(model).equals(before));
  const r = ae('train', '--out', run, '--force', '--limit', '1024', '--epochs', '1', '--optimizer', 'sgd', '--lr', '1e30', '--activation', 'linear', '--output-activation', 'linear');
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr.trimEnd().split('\n').pop()!, /training diverged: .* at epoch 1, batch \d+/);
  assert.ok(readFileSync(model).equals(before), 'the last good model is intact');
});

test('ae trains on a CSV and evaluates with the scaling it recorded', () => {
  const csv = join(dir, 'rows.csv');
  const lines = ['a,b,c,d'];
  for (let i = 0; i < 200; i++) lines.push([i % 7, (i * 3) % 11, 5, (i % 7) * 2].join(','));
  writeFileSync(csv, lines.join('\n') + '\n');
  const out = join(dir, 'csvrun');
  const r = ae('train', '--data', csv, '--hidden', '2', '--epochs', '3', '--batch', '32', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const cfg = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).config;
  // A table's columns are scaled each on its own range (the constant column c gets [5, 6]).
  assert.deepEqual(cfg.scaling, { kind: 'symmetric', min: 0, max: 12, featureMin: [0, 0, 5, 0], featureMax: [6, 10, 6, 12] });
  assert.deepEqual(cfg.training.data.columns, ['a', 'b', 'c', 'd']);
  assert.deepEqual(cfg.training.data.validation, { fraction: 0.2, seed: 0 });
  assert.equal(cfg.training.data.record.kind, 'csv');
  assert.match(r.stdout, /held-out MSE [0-9.e-]+ against [0-9.e-]+ for predicting each feature's training mean/);
  // Without --data: the recorded file's held-out rows, the same 40 that were held out in training.
  const again = ae('eval', '--model', join(out, 'model.safetensors'), '--json');
  assert.equal(again.code, 0, again.stderr);
  const j = JSON.parse(again.stdout);
  assert.deepEqual([j.count, j.data.part, j.data.from, j.data.kind], [40, 'validation', 'model', 'csv']);
  const last = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).epochs.at(-1);
  assert.ok(Math.abs(j.mse - last.testLoss) < 1e-6, `${j.mse} against ${last.testLoss}`);
  const e = ae('eval', '--model', join(out, 'model.safetensors'), '--data', csv, '--json');
  assert.equal(e.code, 0, e.stderr);
  assert.deepEqual([JSON.parse(e.stdout).count, JSON.parse(e.stdout).data.part], [200, 'all']);
  // Changed or moved data is refused in one line, and --data still chooses any file.
  writeFileSync(csv, lines.join('\n') + '\n1,2,5,2\n');
  usage(['eval', '--model', join(out, 'model.safetensors')], /--data: expected the csv data the model was trained on, unchanged; received .*rows\.csv has changed since training/);
  rmSync(csv);
  usage(['eval', '--model', join(out, 'model.safetensors')], /rows\.csv is no longer there/);
});

test('ae kernels draws one 28x28 picture per code unit', () => {
  const out = join(dir, 'kernels.png');
  const r = ae('kernels', '--model', model, '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const png = decodePng(readFileSync(out));
  // 30 kernels: 6 per row, 5 rows, 56 px each at zoom 2 plus 2 px padding.
  assert.equal(png.width, 2 + 6 * 58);
  assert.equal(png.height, 2 + 5 * 58);
});

test('ae inpaint writes the figure and an honest table', () => {
  const out = join(dir, 'inpaint');
  const r = ae('inpaint', '--model', model, '--count', '20', '--show', '5', '--out', out, '--json');
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.count, 20);
  assert.deepEqual(summary.scores.map((s: { method: string }) => s.method), ['ae', 'ae-kept', 'telea', 'ns']);
  assert.match(readFileSync(join(out, 'inpainting.md'), 'utf8'), /The lecture's claim (holds|does not hold) here/);
  const png = decodePng(readFileSync(join(out, 'inpainting.png')));
  assert.deepEqual([png.width, png.height], figureSize(5, INPAINT_FIGURE_LABELS));
  usage(['inpaint', '--model', model, '--noise', 'gaussian:0.2', '--out', join(dir, 'no')], /noise for inpainting: expected a corruption that removes pixels/);
  usage(['inpaint', '--model', model, '--noise', 'dropout:1.5', '--out', join(dir, 'no')], /noise dropout: expected a probability p in \[0, 1\)/);
});

test('variant options reject bad values with one line and exit code 2', () => {
  const x = join(dir, 'never');
  usage(['train', '--out', x, '--noise', 'blur:0.1'], /noise: expected one of dropout:p, mask:p, gaussian:sigma, saltpepper:p, patch:k/);
  usage(['train', '--out', x, '--variant', 'denoising', '--noise', 'dropout:1'], /noise dropout: expected a probability p in \[0, 1\), received "1"/);
  usage(['train', '--out', x, '--noise', 'mask:-0.2'], /probability p in \[0, 1\)/);
  usage(['train', '--out', x, '--variant', 'contractive', '--contractive', '-0.5'], /--contractive: expected a penalty weight λ >= 0, received "-0.5"/);
  usage(['train', '--out', x, '--variant', 'contractive'], /contractive: expected a penalty weight λ >= 0 for the contractive variant/);
  usage(['train', '--out', x, '--variant', 'contractive', '--contractive', '0.1', '--layers', '784,64,16'], /contractive penalty: expected a one-layer encoder/);
  usage(['train', '--out', x, '--variant', 'sparse'], /--variant: expected one of standard, denoising, contractive/);
  usage(['train', '--out', x, '--sparse', '-1'], /--sparse: expected a penalty weight λ >= 0/);
  usage(['train', '--out', x, '--weight-decay', 'lots'], /--weight-decay: expected a weight decay λ >= 0/);
  usage(['lab', '--out', x, '--only', 'everything'], /--only: expected names from overcomplete, contractive, pca/);
  assert.equal(existsSync(x), false);
});

test('denoising and contractive models train from the CLI and record their variant', () => {
  for (const [name, flags] of [
    ['dae', ['--variant', 'denoising', '--noise', 'saltpepper:0.2', '--hidden', '64']],
    ['cae', ['--variant', 'contractive', '--contractive', '0.01', '--sparse', '0.001', '--weight-decay', '1e-5']],
  ] as const) {
    const out = join(dir, name);
    const r = ae('train', ...flags, '--limit', '512', '--epochs', '1', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    assert.equal(m.config.training.variant, name === 'dae' ? 'denoising' : 'contractive');
    if (name === 'dae') {
      assert.equal(m.config.training.noise, 'saltpepper:0.2');
      assert.ok(typeof m.epochs[0].testLossCorrupted === 'number');
    } else {
      assert.equal(m.config.training.contractive, 0.01);
      assert.equal(m.config.training.weightDecay, 1e-5);
    }
  }
});

test('--loss bce refuses test data outside [0, 1], naming the range found, before writing anything', () => {
  // The case bce-out-of-range: training rows in [0, 1], test rows in 2.5..3.
  const fx = (name: string) => fileURLToPath(new URL(`../../test/fixtures/cases/${name}`, import.meta.url));
  const out = join(dir, 'bce-run');
  usage(
    ['train', '--data', fx('bce-train-unit.csv'), '--test-data', fx('bce-test-wider.csv'), '--loss', 'bce', '--out', out],
    /test data for loss bce: expected values in \[0, 1\] after scaling, received "values in \[2\.50\d, 2\.99\d\]"/,
  );
  assert.equal(existsSync(out), false, 'nothing is written');
  const ok = ae('train', '--data', fx('bce-train-unit.csv'), '--loss', 'bce', '--epochs', '1', '--out', out);
  assert.equal(ok.code, 0, ok.stderr);
  // Rows already in [0, 1] are BCE's domain as they are; the held-out BCE is printed beside the mean's.
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).config.scaling, { kind: 'unit', min: 0, max: 1 });
  assert.match(ok.stdout, /held-out BCE [0-9.]+ against [0-9.]+ for predicting each feature's training mean/);
  // Rows outside [0, 1] are scaled per column; held-out rows past a column's range are refused, saying why.
  usage(['train', '--data', fx('bce-test-wider.csv'), '--loss', 'bce', '--out', join(dir, 'bce-wider')], /held-out rows \(the validation split\) scaled by the training rows' ranges, for loss bce: expected values in \[0, 1\]/);
});

test('ae train: --lr-schedule sets and logs each epoch\'s lr; --early-stopping stops, keeps the best epoch and says so', () => {
  const fx = fileURLToPath(new URL('../../test/fixtures/cases/units.csv', import.meta.url));
  const out = join(dir, 'sched');
  const r = ae('train', '--data', fx, '--hidden', '2', '--epochs', '300', '--lr', '0.05', '--lr-schedule', 'step:50:0.5', '--early-stopping', '3', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  for (const e of m.epochs) assert.ok(Math.abs(e.lr - 0.05 * 0.5 ** Math.floor((e.epoch - 1) / 50)) < 1e-15, `epoch ${e.epoch}: lr ${e.lr}`);
  assert.equal(m.config.training.lrSchedule, 'step:50:0.5');
  assert.match(r.stderr, /epoch 1\/300 .* lr 0\.05 /);
  const s = m.earlyStopping;
  const losses = m.epochs.map((e: { testLoss: number }) => e.testLoss);
  assert.equal(s.bestEpoch, losses.indexOf(Math.min(...losses)) + 1);
  // With patience 3 at lr 0.05 the held-out loss stalls long before epoch 300.
  assert.ok(s.stoppedEpoch !== null && s.restoredBest, JSON.stringify(s));
  assert.equal(s.stoppedEpoch, s.bestEpoch + 3);
  assert.match(r.stderr, new RegExp(`early stopping after epoch ${s.stoppedEpoch}: no improvement for 3 epochs`));
  assert.match(r.stderr, new RegExp(`kept the weights of epoch ${s.bestEpoch}, the best by val_loss`));
  // The closing line reports the kept (best) epoch's loss, not the last epoch's.
  assert.match(r.stdout, new RegExp(`held-out MSE ${Math.min(...losses).toPrecision(4)} \\(epoch ${s.bestEpoch}'s weights, kept\\) against`));
  // The saved model scores the best epoch's held-out loss.
  const e = JSON.parse(ae('eval', '--model', join(out, 'model.safetensors'), '--json').stdout);
  assert.ok(Math.abs(e.mse - Math.min(...losses)) < 1e-6, `${e.mse} against ${Math.min(...losses)}`);
  usage(['train', '--data', fx, '--lr-schedule', 'linear', '--out', join(dir, 'never-s')], /lr schedule: expected step:N\[:gamma\]/);
  usage(['train', '--data', fx, '--monitor', 'loss', '--out', join(dir, 'never-s')], /--monitor: expected it with --early-stopping PATIENCE, received it without/);
  usage(['train', '--data', fx, '--early-stopping', '2', '--validation-split', '0', '--out', join(dir, 'never-s')], /early stopping monitor val_loss: expected test or held-out rows to monitor/);
  assert.equal(existsSync(join(dir, 'never-s')), false);
});

test('`ae` alone prints the help and exits 0; a misspelt option or command gets commander\'s suggestion on its one line', () => {
  const r = ae();
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Usage: ae \[options\] \[command\]/);
  assert.equal(r.stderr, '');
  usage(['train', '--epoch', '3', '--out', join(dir, 'never-typo')], /unknown option '--epoch' \(Did you mean --epochs\?\)/);
  usage(['trian'], /unknown command 'trian' \(Did you mean train\?\)/);
});

test('file outputs are not replaced without --force (reconstruct, kernels, encode, decode)', () => {
  const png = join(dir, 'kept.png');
  writeFileSync(png, 'keep me');
  usage(['reconstruct', '--model', model, '--out', png], /--out: expected a path that does not exist yet \(pass --force to replace it\), received the existing file ".*kept\.png"/);
  usage(['kernels', '--model', model, '--out', png], /pass --force to replace it/);
  assert.equal(readFileSync(png, 'utf8'), 'keep me');
  const r = ae('reconstruct', '--model', model, '--out', png, '--count', '2', '--force');
  assert.equal(r.code, 0, r.stderr);
  assert.notEqual(readFileSync(png, 'utf8'), 'keep me');
  const codes = join(dir, 'kept-codes.safetensors');
  writeFileSync(codes, 'keep me');
  usage(['encode', '--model', model, '--limit', '3', '--out', codes], /pass --force to replace it/);
  assert.equal(ae('encode', '--model', model, '--limit', '3', '--out', codes, '--force').code, 0);
  const csv = join(dir, 'kept-decoded.csv');
  writeFileSync(csv, 'keep me');
  usage(['decode', '--model', model, '--codes', codes, '--out', csv], /pass --force to replace it/);
  assert.equal(readFileSync(csv, 'utf8'), 'keep me');
});

test('folder outputs (inpaint, rd, lab, manifold, notebook) are not replaced without --force, and --force replaces them', () => {
  const out = join(dir, 'inp-kept');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'inpainting.md'), 'keep me');
  usage(['inpaint', '--model', model, '--count', '5', '--out', out], /--out: expected a folder without inpainting\.md \(pass --force to replace them\)/);
  assert.equal(readFileSync(join(out, 'inpainting.md'), 'utf8'), 'keep me');
  const r = ae('inpaint', '--model', model, '--count', '5', '--show', '2', '--out', out, '--force');
  assert.equal(r.code, 0, r.stderr);
  assert.notEqual(readFileSync(join(out, 'inpainting.md'), 'utf8'), 'keep me');
  const rd = join(dir, 'rd-kept');
  mkdirSync(rd, { recursive: true });
  writeFileSync(join(rd, 'rd.json'), '{}');
  usage(['rd', '--dims', '8', '--out', rd], /expected a folder without rd\.json/);
  const lab = join(dir, 'lab-kept');
  mkdirSync(lab, { recursive: true });
  writeFileSync(join(lab, 'lab.json'), '{}');
  usage(['lab', '--only', 'pca', '--out', lab], /expected a folder without lab\.json \(pass --force/);
  writeFileSync(join(lab, 'manifold.md'), 'keep me');
  usage(['manifold', '--out', lab], /expected a folder without manifold\.md \(pass --force/);
  assert.equal(readFileSync(join(lab, 'manifold.md'), 'utf8'), 'keep me');
  assert.equal(readFileSync(join(lab, 'lab.json'), 'utf8'), '{}');
  const nb = join(dir, 'nb-kept');
  mkdirSync(join(nb, 'denoising'), { recursive: true });
  writeFileSync(join(nb, 'denoising', 'model.safetensors'), 'keep me');
  // The second model's folder is checked before the first model trains.
  usage(['notebook', '--epochs', '1', '--limit', '100', '--out', nb], /pass --force.*nb-kept\/denoising/);
  assert.ok(!existsSync(join(nb, 'standard', 'model.safetensors')));
});
