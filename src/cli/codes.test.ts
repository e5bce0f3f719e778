import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ae, usage } from './testing.js';
import { resolveBackend } from '../backends/index.js';
import { topRows } from '../core/matrix.js';
import { loadMnistDataset, scaled } from '../data/dataset.js';
import { unscaleInto } from '../data/scaling.js';
import { codesModelOf, decodeCodes, encodeCodes, readCodesFile } from '../io/codes.js';
import { loadModel } from '../io/model-file.js';
import { decodePng } from '../viz/image.js';

function ok(...args: string[]) {
  const r = ae(...args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r;
}

const dir = mkdtempSync(join(tmpdir(), 'ae-codes-cli-'));
const model = join(dir, 'm8', 'model.safetensors');
const backend = resolveBackend('auto').backend;

test('ae encode writes the codes of the model\'s encoder, in each format', () => {
  ok('train', '--limit', '512', '--epochs', '2', '--hidden', '8', '--out', join(dir, 'm8'));
  const loaded = loadModel(model, backend);
  const rows = scaled(topRows(loadMnistDataset({ limit: 20 }).test!, 20), loaded.config.scaling);
  const want = loaded.model.encode(rows);

  const f32 = join(dir, 'c32.safetensors');
  const r = ok('encode', '--model', model, '--limit', '20', '--out', f32);
  assert.match(r.stdout, /wrote .*c32\.safetensors: 20 codes of 8 dims \(f32\), \d+ bytes = 640 of codes \+ \d+ of header/);
  const c = readCodesFile(f32);
  assert.equal(c.dtype, 'f32');
  assert.deepEqual(c.meta.model, codesModelOf(loaded.model, loaded.config.scaling));
  assert.equal(c.meta.note, 'mnist test rows 1..20');
  for (let i = 0; i < want.data.length; i++) assert.ok(Math.abs(c.codes.data[i]! - want.data[i]!) < 1e-6);

  ok('encode', '--model', model, '--limit', '20', '--format', 'q8', '--out', join(dir, 'c8.safetensors'));
  const q = readCodesFile(join(dir, 'c8.safetensors'));
  assert.equal(q.dtype, 'q8');
  for (let i = 0; i < want.data.length; i++) assert.ok(Math.abs(q.codes.data[i]! - want.data[i]!) <= q.quant!.scale[i % 8]! / 2 + 1e-6);

  ok('encode', '--model', model, '--split', 'train', '--limit', '5', '--format', 'f16', '--out', join(dir, 'train.safetensors'));
  const t = readCodesFile(join(dir, 'train.safetensors'));
  assert.deepEqual([t.codes.rows, t.dtype, t.meta.note], [5, 'f16', 'mnist train rows 1..5']);
});

test('ae decode draws the digits, or writes raw rows that ae encode reads back', () => {
  const png = join(dir, 'd.png');
  const r = ok('decode', '--model', model, '--codes', join(dir, 'c8.safetensors'), '--out', png);
  assert.match(r.stdout, /20 of 20 codes \(q8\) decoded to pictures/);
  const img = decodePng(readFileSync(png));
  // 10 digits a row at zoom 2 with 2 px padding: 2 + 10·58 wide, 2 + 2·58 high.
  assert.deepEqual([img.width, img.height], [582, 118]);

  const csv = join(dir, 'd.csv');
  ok('decode', '--model', model, '--codes', join(dir, 'c32.safetensors'), '--out', csv, '--count', '3');
  const lines = readFileSync(csv, 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, 3);
  const loaded = loadModel(model, backend);
  const codes = decodeCodes(readFileSync(join(dir, 'c32.safetensors'))).codes;
  const want = loaded.model.decode(topRows(codes, 3));
  unscaleInto(want.data, loaded.config.scaling, want.data);
  lines.forEach((line, row) => {
    const values = line.split(',').map(Number);
    assert.equal(values.length, 784);
    values.forEach((v, j) => assert.ok(Math.abs(v - want.data[row * 784 + j]!) < 1e-3, `${v} vs ${want.data[row * 784 + j]}`));
  });

  ok('encode', '--model', model, '--in', csv, '--out', join(dir, 'again.safetensors'));
  const again = readCodesFile(join(dir, 'again.safetensors'));
  assert.deepEqual([again.codes.rows, again.codes.cols], [3, 8]);
  assert.match(again.meta.note!, /d\.csv all rows 1\.\.3/);
});

test('ae decode refuses codes of another model, and every bad input, with exit code 2', () => {
  ok('train', '--limit', '256', '--epochs', '1', '--hidden', '4', '--out', join(dir, 'm4'));
  ok('train', '--limit', '256', '--epochs', '1', '--hidden', '8', '--seed', '7', '--out', join(dir, 'other8'));
  const codes = join(dir, 'c32.safetensors');
  const never = join(dir, 'never.png');
  usage(['decode', '--model', join(dir, 'm4', 'model.safetensors'), '--codes', codes, '--out', never], /c32\.safetensors: expected codes of 4 dims for .*received 8 dims written for autoencoder 784-8/);
  usage(['decode', '--model', join(dir, 'other8', 'model.safetensors'), '--codes', codes, '--out', never], /c32\.safetensors: expected codes written by .*other8.*received codes from a different model/);
  const anonymous = join(dir, 'anonymous.safetensors');
  writeFileSync(anonymous, encodeCodes(readCodesFile(codes).codes, 'f32', { model: null }));
  usage(['decode', '--model', model, '--codes', anonymous, '--out', never], /anonymous\.safetensors: expected codes written by an autoencoder's encoder \(with a model fingerprint\), received codes with no model/);
  const truncated = join(dir, 'truncated.safetensors');
  writeFileSync(truncated, readFileSync(codes).subarray(0, readFileSync(codes).length - 100));
  usage(['decode', '--model', model, '--codes', truncated, '--out', never], /truncated\.safetensors: tensor "codes" data_offsets: expected to end within the 540-byte data section, received \[0,640\]$/);
  const notCodes = join(dir, 'model-as-codes.safetensors');
  writeFileSync(notCodes, readFileSync(model));
  usage(['decode', '--model', model, '--codes', notCodes, '--out', never], /model-as-codes\.safetensors: metadata "format": expected "aekit-codes\/1" \(a codes file written by ae encode\), received "aekit-autoencoder\/1"/);
  // An .aec file from before codes were safetensors: one line saying so.
  const old = join(dir, 'old.aec');
  writeFileSync(old, Buffer.concat([Buffer.from('AECODES1', 'latin1'), Buffer.from([58, 0, 0, 0]), Buffer.alloc(64)]));
  usage(['decode', '--model', model, '--codes', old, '--out', never], /^ae: \S*old\.aec: expected a codes file in safetensors \(aekit-codes\/1\), received an \.aec file \("AECODES1"\), a format aekit no longer reads; encode the rows again with ae encode --out <file>\.safetensors$/);
  // Codes given as a model.
  usage(['eval', '--model', codes], /c32\.safetensors: /);
  usage(['eval', '--model', join(dir, 'c8.safetensors')], /c8\.safetensors: tensor "codes": unsupported dtype: expected one of F32, F64, F16, BF16, received "U8"/);
  usage(['decode', '--model', model, '--codes', join(dir, 'missing.safetensors'), '--out', never], /missing\.safetensors.*ENOENT/);
  usage(['decode', '--model', model, '--codes', codes, '--out', join(dir, 'x.txt')], /--out: expected a path ending in \.png or \.csv/);
  usage(['decode', '--model', model, '--codes', codes, '--out', never, '--count', '0'], /--count: expected a positive integer/);
  usage(['encode', '--model', model, '--format', 'f64', '--out', join(dir, 'x.safetensors')], /--format: expected one of f32, f16, q8, received "f64"/);
  usage(['encode', '--model', model, '--out', join(dir, 'x.bin')], /--out: expected a path ending in \.safetensors/);
  usage(['encode', '--model', model, '--split', 'valid', '--out', join(dir, 'x.safetensors')], /--split: expected one of test, train, received "valid"/);
  usage(['encode', '--model', model, '--in', 'digits.bin', '--out', join(dir, 'x.safetensors')], /digits\.bin: expected "mnist", a CSV\/TSV, \.npy or IDX file, or a folder .*received a path that does not exist/);
  const narrow = join(dir, 'narrow.csv');
  writeFileSync(narrow, '1,2,3\n4,5,6\n');
  usage(['encode', '--model', model, '--in', narrow, '--out', join(dir, 'x.safetensors')], /--in width: expected 784 values per row to match the model, received 3/);
  assert.equal(existsSync(never), false);
  assert.equal(existsSync(join(dir, 'x.safetensors')), false);
});

test('ae rd writes the table, the JSON and the plot', () => {
  const out = join(dir, 'rd');
  const r = ok('rd', '--dims', '4', '--epochs', '1', '--limit', '200', '--json', '--out', out);
  const result = JSON.parse(r.stdout);
  assert.deepEqual(result.dims, [4]);
  assert.deepEqual(
    result.rows.map((x: { method: string; format: string; bytesPerImage: number }) => `${x.method} ${x.format} ${x.bytesPerImage}`).slice(0, 7),
    ['autoencoder f32 16', 'autoencoder f16 8', 'autoencoder q8 4', 'pca f32 16', 'pca f16 8', 'pca q8 4', 'raw u8 784'],
  );
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'rd.json'), 'utf8')).rows, result.rows);
  assert.match(readFileSync(join(out, 'rd.md'), 'utf8'), /\| PCA \| 4 \| q8 \| 4 \|/);
  const png = decodePng(readFileSync(join(out, 'rd.png')));
  assert.ok(png.width > 1300 && png.height > 900, `${png.width}x${png.height}`);
  assert.match(readFileSync(join(out, 'rd.svg'), 'utf8'), /<text[^>]*>code bytes per image \(log scale\)<\/text>/);
  assert.equal(JSON.parse(readFileSync(join(out, 'rd.vl.json'), 'utf8')).encoding.x.scale.type, 'log');
  usage(['rd', '--dims', '8,0', '--out', join(dir, 'rd2')], /--dims\[1\]: expected a positive integer, received "0"/);
  usage(['rd', '--dims', '1000', '--out', join(dir, 'rd2')], /--dims\[0\]: expected an integer in \[1, 784\]/);
  usage(['rd', '--out', join(dir, 'd.csv')], /--out: expected a folder, received the file/);
  assert.equal(existsSync(join(dir, 'rd2')), false);
});
