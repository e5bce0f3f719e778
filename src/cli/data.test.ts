import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { Rng } from '../core/rng.js';
import { parseCsv } from '../data/csv.js';
import { encodeIdx } from '../data/idx.js';
import { ae, usage } from './testing.js';

/*
 * Every kind of source through the command line: trained on, then evaluated without --data
 * from what the model recorded, and refused once the data moves or changes.
 */

const dir = mkdtempSync(join(tmpdir(), 'ae-data-cli-'));
const fixture = (name: string): string => fileURLToPath(new URL(`../../test/fixtures/${name}`, import.meta.url));

/** Pictures of a bright bar whose position depends on the class: something a small model can learn. */
function pictures(n: number, h: number, w: number, seed: number): { data: Uint8Array; labels: number[] } {
  const rng = new Rng(seed);
  const data = new Uint8Array(n * h * w);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = rng.int(3);
    labels.push(k);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[i * h * w + y * w + x] = Math.min(255, (x % 3 === k ? 200 : 20) + rng.int(30));
  }
  return { data, labels };
}

/** A v1.0 .npy file, as numpy.save writes it (header padded to 64 bytes). */
function npy(descr: string, shape: number[], body: Uint8Array, fortran = false): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(10 + header.length + body.length);
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(new TextEncoder().encode(header), 10);
  out.set(body, 10 + header.length);
  return out;
}

function evalJson(model: string): { mse: number; count: number; data: { kind: string; path: string; part: string; from: string } } {
  const r = ae('eval', '--model', model, '--json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('an IDX folder (gzip, as distributed) is trained on and evaluated without --data on its own test part', () => {
  const data = join(dir, 'idx');
  mkdirSync(data);
  const train = pictures(60, 6, 6, 1);
  const t10k = pictures(12, 6, 6, 2);
  const put = (name: string, bytes: Uint8Array) => writeFileSync(join(data, name), gzipSync(bytes));
  put('train-images-idx3-ubyte.gz', encodeIdx({ type: 'u8', dims: [60, 6, 6], data: train.data }));
  put('train-labels-idx1-ubyte.gz', encodeIdx({ type: 'u8', dims: [60], data: Uint8Array.from(train.labels.map((l) => l + 1)) }));
  put('t10k-images-idx3-ubyte.gz', encodeIdx({ type: 'u8', dims: [12, 6, 6], data: t10k.data }));
  put('t10k-labels-idx1-ubyte.gz', encodeIdx({ type: 'u8', dims: [12], data: Uint8Array.from(t10k.labels.map((l) => l + 1)) }));
  const out = join(dir, 'idx-run');
  const r = ae('train', '--data', data, '--epochs', '5', '--hidden', '4', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const rec = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).config.training.data.record;
  assert.deepEqual([rec.kind, rec.path, rec.shape, rec.labels], ['idx', data, [60, 6, 6], true]);
  const e = evalJson(join(out, 'model.safetensors'));
  assert.deepEqual([e.count, e.data.kind, e.data.path, e.data.part, e.data.from], [12, 'idx', data, 'test', 'model']);
  // Never MNIST instead: with the data gone, the command refuses.
  renameSync(data, data + '-moved');
  usage(['eval', '--model', join(out, 'model.safetensors')], /--data: expected the idx data the model was trained on, unchanged; received .*idx is no longer there/);
  renameSync(data + '-moved', data);
  // Labels any integers (here 1..3) serve ae anomaly's hold-outs by label value.
  const an = ae('anomaly', '--data', data, '--holdout', '3', '--epochs', '2', '--out', join(dir, 'idx-anomaly'), '--json');
  assert.equal(an.code, 0, an.stderr);
  const summary = JSON.parse(an.stdout);
  assert.equal(summary.holdout, 3);
  assert.equal(summary.metrics.anomalies, t10k.labels.filter((l) => l === 2).length);
  assert.match(readFileSync(join(dir, 'idx-anomaly', 'scores.csv'), 'utf8'), /^row,score,flagged,label\n/);
  usage(['anomaly', '--data', data, '--holdout', '9', '--out', join(dir, 'never-anomaly')], /holdout 9: expected test rows both of class 9 and of other classes/);
});

test('a .npy file is trained on and evaluated without --data on its held-out rows', () => {
  const p = pictures(50, 4, 4, 3);
  const f32 = new Float32Array(p.data.length);
  for (let i = 0; i < f32.length; i++) f32[i] = p.data[i]! / 255;
  const file = join(dir, 'rows.npy');
  writeFileSync(file, npy('<f4', [50, 16], new Uint8Array(f32.buffer)));
  const out = join(dir, 'npy-run');
  const r = ae('train', '--data', file, '--out', out, '--epochs', '3');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /holding out 10 of 50 rows/);
  const e = evalJson(join(out, 'model.safetensors'));
  assert.deepEqual([e.count, e.data.kind, e.data.path, e.data.part], [10, 'npy', file, 'validation']);
  // ae anomaly scores rows of any source, not only a CSV's.
  const an = ae('anomaly', '--data', file, '--epochs', '2', '--out', join(dir, 'npy-anomaly'), '--json');
  assert.equal(an.code, 0, an.stderr);
  assert.deepEqual([JSON.parse(an.stdout).scoredCount, JSON.parse(an.stdout).features], [50, 16]);
  const bytes = readFileSync(file);
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x55;
  writeFileSync(file, bytes);
  usage(['eval', '--model', join(out, 'model.safetensors')], /rows\.npy has changed since training/);
  // A Fortran-order array is refused before anything is written.
  const fortran = join(dir, 'fortran.npy');
  writeFileSync(fortran, npy('<f4', [50, 16], new Uint8Array(f32.buffer), true));
  usage(['train', '--data', fortran, '--out', join(dir, 'never')], /fortran\.npy.*Fortran/i);
  assert.equal(existsSync(join(dir, 'never')), false);
});

test('an image folder with class subfolders is trained on and evaluated without --data', async () => {
  const root = join(dir, 'images');
  const p = pictures(30, 8, 8, 4);
  for (let i = 0; i < 30; i++) {
    const sub = join(root, `class-${p.labels[i]}`);
    mkdirSync(sub, { recursive: true });
    await sharp(Buffer.from(p.data.subarray(i * 64, (i + 1) * 64)), { raw: { width: 8, height: 8, channels: 1 } }).png().toFile(join(sub, `${String(i).padStart(3, '0')}.png`));
  }
  const out = join(dir, 'img-run');
  const r = ae('train', '--data', root, '--out', out, '--epochs', '3', '--hidden', '4');
  assert.equal(r.code, 0, r.stderr);
  const rec = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).config.training.data.record;
  assert.deepEqual([rec.kind, rec.shape, rec.labels], ['images', [30, 8, 8], true]);
  const e = evalJson(join(out, 'model.safetensors'));
  assert.deepEqual([e.count, e.data.kind, e.data.path, e.data.part], [6, 'images', root, 'validation']);
  // A new picture in the folder is a change.
  cpSync(join(root, 'class-0', readdirSync(join(root, 'class-0')).sort()[0]!), join(root, 'class-0', 'zzz.png'));
  usage(['eval', '--model', join(out, 'model.safetensors')], /images has changed since training/);
});

test('case csv-mixed-units: with defaults alone, encode then decode reconstructs every 0..1 column with R² ≥ 0.9', () => {
  const csv = fixture('cases/units.csv');
  const out = join(dir, 'units');
  const r = ae('train', '--data', csv, '--hidden', '2', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /for 320 rows of 5 features: batch 32, \d+ epochs/);
  const codes = join(dir, 'units-codes.safetensors');
  const decoded = join(dir, 'units-decoded.csv');
  assert.equal(ae('encode', '--model', join(out, 'model.safetensors'), '--in', csv, '--out', codes).code, 0);
  assert.equal(ae('decode', '--model', join(out, 'model.safetensors'), '--codes', codes, '--out', decoded).code, 0);
  const x = parseCsv(readFileSync(csv, 'utf8'));
  const y = parseCsv(readFileSync(decoded, 'utf8'));
  assert.deepEqual([y.rows, y.cols], [x.rows, x.cols]);
  for (let j = 0; j < 4; j++) {
    let mean = 0;
    for (let i = 0; i < x.rows; i++) mean += x.data[i * x.cols + j]! / x.rows;
    let sst = 0;
    let sse = 0;
    for (let i = 0; i < x.rows; i++) {
      sst += (x.data[i * x.cols + j]! - mean) ** 2;
      sse += (x.data[i * x.cols + j]! - y.data[i * y.cols + j]!) ** 2;
    }
    const r2 = 1 - sse / sst;
    assert.ok(r2 >= 0.9, `column ${x.header![j]}: R² ${r2.toFixed(3)}`);
  }
});

test('a 500-row, 8-column table with defaults alone ends with a held-out MSE well below the column-mean baseline', () => {
  const out = join(dir, 't500');
  const r = ae('train', '--data', fixture('table-500x8.csv'), '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /for 400 rows of 8 features: code size 2, batch \d+, \d+ epochs/);
  const m = /held-out MSE ([0-9.e-]+) against ([0-9.e-]+) for predicting each feature's training mean/.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.ok(Number(m[1]) < Number(m[2]) / 3, `held-out ${m[1]} against the mean's ${m[2]}`);
});

test('reading flags are checked before any work, with one-line errors', () => {
  const csv = fixture('cases/units.csv');
  const out = join(dir, 'never2');
  usage(['train', '--data', csv, '--header', 'maybe', '--out', out], /--header: expected one of auto, yes, no, received "maybe"/);
  usage(['train', '--data', csv, '--delimiter', ';;', '--out', out], /--delimiter: expected one character/);
  usage(['train', '--data', csv, '--columns', 'a,,b', '--out', out], /--columns: expected comma-separated column names/);
  usage(['train', '--data', csv, '--columns', 'a,zzz', '--out', out], /expected one of "a", "b", "c", "d", "noise", received "zzz"/);
  usage(['train', '--data', csv, '--image-size', '28', '--out', out], /--image-size: expected WxH/);
  usage(['train', '--data', csv, '--validation-split', '1', '--out', out], /--validation-split: expected a fraction in \[0, 1\)/);
  usage(['train', '--data', csv, '--test-data', csv, '--validation-split', '0.1', '--out', out], /--validation-split: expected it only without test data/);
  usage(['train', '--data', 'mnist', '--delimiter', ';', '--out', out], /CSV options \(delimiter\): expected a CSV or TSV source, received "mnist data mnist"/);
  assert.equal(existsSync(out), false);
  // --columns reaches the reader: two columns kept, by name.
  const r = ae('train', '--data', csv, '--columns', 'a,noise', '--epochs', '1', '--out', join(dir, 'cols'));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'cols', 'metrics.json'), 'utf8')).config.training.data.columns, ['a', 'noise']);
  // A name holding a comma, in quotes (the csv-quoted case's header).
  const quoted = fixture('cases/quoted-header-with-commas.csv');
  const header = parseCsv(readFileSync(quoted, 'utf8')).header!;
  const two = [header[0]!, header[header.length - 1]!];
  const rq = ae('train', '--data', quoted, '--columns', two.map((n) => `"${n}"`).join(','), '--epochs', '1', '--out', join(dir, 'quoted'));
  assert.equal(rq.code, 0, rq.stderr);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'quoted', 'metrics.json'), 'utf8')).config.training.data.columns, two);
  // Evaluated on the same table with its columns in another order: matched by name, the same MSE.
  const model = join(dir, 'cols', 'model.safetensors');
  const swapped = join(dir, 'swapped.csv');
  const rows = readFileSync(csv, 'utf8').trimEnd().split('\n').map((l) => l.split(',').reverse().join(','));
  writeFileSync(swapped, rows.join('\n') + '\n');
  const e1 = JSON.parse(ae('eval', '--model', model, '--data', csv, '--json').stdout);
  const e2 = JSON.parse(ae('eval', '--model', model, '--data', swapped, '--json').stdout);
  assert.equal(e2.mse, e1.mse);
  // A model trained on every column matches a reordered file by name as well.
  const all = join(dir, 'units-model');
  assert.equal(ae('train', '--data', csv, '--epochs', '1', '--out', all).code, 0);
  const reordered = join(dir, 'reordered.csv');
  writeFileSync(reordered, rows.join('\n') + '\n');
  const m1 = JSON.parse(ae('eval', '--model', join(all, 'model.safetensors'), '--data', csv, '--json').stdout);
  const m2 = JSON.parse(ae('eval', '--model', join(all, 'model.safetensors'), '--data', reordered, '--json').stdout);
  assert.equal(m2.mse, m1.mse);
  writeFileSync(reordered, rows.map((l, i) => (i === 0 ? l.replace('noise', 'other') : l)).join('\n') + '\n');
  usage(['eval', '--model', join(all, 'model.safetensors'), '--data', reordered], /--data columns: expected the model's columns a, b, c, d, noise, received other, d, c, b, a \(no noise\)/);
  writeFileSync(swapped, rows.map((l, i) => (i === 0 ? l.replace('noise', 'other') : l)).join('\n') + '\n');
  usage(['eval', '--model', model, '--data', swapped], /swapped\.csv column: expected one of "other", "d", "c", "b", "a", received "noise"/);
});
