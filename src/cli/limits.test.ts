/**
 * Untrusted inputs past their documented limits, end to end: each is one line on stderr naming
 * the file and the real cause, exit 2 (issue 11, item 9).
 */
import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ae, usage } from './testing.js';

const dir = mkdtempSync(join(tmpdir(), 'ae-limits-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A table of 4 columns in [0, 0.99]; `odd` puts one value at row 6, column 2. */
function table(path: string, rows: number, odd?: string): string {
  const lines = ['a,b,c,d'];
  for (let i = 0; i < rows; i++) lines.push([0, 1, 2, 3].map((j) => (i === 6 && j === 2 && odd !== undefined ? odd : (((i * 7 + j * 13) % 100) / 100).toFixed(2))).join(','));
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

const train = table(join(dir, 'train.csv'), 200);
const model = join(dir, 'run', 'model.safetensors');
const TRAIN = ['--data', train, '--hidden', '2', '--batch', '16', '--epochs', '1'];

test('setup: a small table model', () => {
  const r = ae('train', ...TRAIN, '--out', join(dir, 'run'));
  assert.equal(r.code, 0, r.stderr);
});

test('a model file whose header is over 16 MiB, or holds over 4096 tensors, is refused in one line naming it', () => {
  const big = join(dir, 'big.safetensors');
  // The length field says 100 MB; the file is a hole of that size, so nothing is written.
  const fd = openSync(big, 'w');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(100_000_000n);
  writeSync(fd, prefix);
  ftruncateSync(fd, 8 + 100_000_000);
  closeSync(fd);
  const t0 = performance.now();
  usage(['eval', '--model', big], /^ae: \S*big\.safetensors: header length: expected at most 16 MiB \(16777216 bytes\), received 95\.4 MiB \(100000000 bytes\)$/);
  assert.ok(performance.now() - t0 < 15_000, 'refused quickly');

  const many = join(dir, 'many.safetensors');
  const tensors = Array.from({ length: 5000 }, (_, i) => `"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
  const header = Buffer.from(`{${tensors.join(',')}}`);
  const file = Buffer.alloc(8 + header.length);
  file.writeBigUInt64LE(BigInt(header.length));
  header.copy(file, 8);
  writeFileSync(many, file);
  usage(['eval', '--model', many], /^ae: \S*many\.safetensors: header: expected at most 4096 tensors, received 5000 entries$/);
});

test('a codes file whose header is over 16 MiB is refused for its size, not as invalid UTF-8', () => {
  const big = join(dir, 'big-codes.safetensors');
  const fd = openSync(big, 'w');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(600 * 1024 * 1024));
  writeSync(fd, length);
  ftruncateSync(fd, 8 + 600 * 1024 * 1024); // a 600 MB hole: the header "is there"
  closeSync(fd);
  usage(['decode', '--model', model, '--codes', big, '--out', join(dir, 'never.csv')], /^ae: \S*big-codes\.safetensors: header length: expected at most 16 MiB \(16777216 bytes\), received 600 MiB \(629145600 bytes\)$/);
});

test('test data far beyond the training range is named as such, not as divergence or a broken model', () => {
  const huge = table(join(dir, 'huge.csv'), 20, '1e30');
  const want = /^ae: (test data|\S*huge\.csv) row 6, column 2 \("c"\): expected a value near its training range \[0, 0\.99\] \(scaled to \[-1, 1\], at most ±1e\+15 after scaling\), received 1e\+30$/;
  // ae train used to say "training diverged: the test loss became Infinity", exit 1.
  usage(['train', ...TRAIN, '--test-data', huge, '--out', join(dir, 'never')], want);
  // ae eval used to blame the model: "expected a model whose reconstructions are finite".
  usage(['eval', '--model', model, '--data', huge], want);
  // A value a little past the range is still scored, and counted.
  const slight = table(join(dir, 'slight.csv'), 20, '1.5');
  const r = ae('eval', '--model', model, '--data', slight);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^MSE [0-9.]+ over 20 rows of \S*slight\.csv \(inputs scaled to \[-1, 1\]; 1 values beyond the training range\)$/m);
  const t = ae('train', ...TRAIN, '--test-data', slight, '--out', join(dir, 'slight'));
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stderr, /1 test value lies beyond the training range \(allowed; they scale past it\)/);
});
