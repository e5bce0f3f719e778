/**
 * The memory bound through the CLI (issue 11, item 6): a plan or an output above the memory
 * available is refused with exit 2 and one line naming the estimate and the limit, before any
 * work. AEKIT_MEMORY_LIMIT sets a small limit in the child, so nothing here allocates much
 * and the results do not depend on the machine.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MAX_TYPED_ARRAY_LENGTH } from '../core/memory.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'ae-memory-'));

function aeWith(limit: string | undefined, ...args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env['AEKIT_MEMORY_LIMIT'];
  if (limit !== undefined) env['AEKIT_MEMORY_LIMIT'] = limit;
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (performance.now() - t0) / 1000 };
}

/** Exit 2 and one line on stderr matching `pattern`; returns the line. */
function refused(limit: string | undefined, args: string[], pattern: RegExp): string {
  const r = aeWith(limit, ...args);
  assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line expected, got: ${r.stderr}`);
  assert.match(lines[0]!, pattern);
  return lines[0]!;
}

// A table of 300 rows of 64 values: small enough to train in a second.
const csv = join(dir, 'wide.csv');
{
  let seed = 1;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const lines = [Array.from({ length: 64 }, (_, j) => `c${j}`).join(',')];
  for (let r = 0; r < 300; r++) lines.push(Array.from({ length: 64 }, () => rand().toFixed(4)).join(','));
  writeFileSync(csv, lines.join('\n') + '\n');
}

test('ae train --hidden 1048576 is refused before MNIST is read, naming the estimate, its parts and the limit', () => {
  const out = join(dir, 'huge');
  const line = refused('8G', ['train', '--hidden', '1048576', '--out', out], /^ae: hidden: expected a training plan that fits in the 8.59 GB available \(AEKIT_MEMORY_LIMIT\), received one needing about ([\d.]+) GB \(Adam moments ([\d.]+) GB, activations [\d.]+ GB, weights ([\d.]+) GB, gradients ([\d.]+) GB, data [\d.]+ MB, batches [\d.]+ MB\); at most about (\d+) hidden units fit$/);
  const [, total, adam, weights, grads, fit] = /about ([\d.]+) GB \(Adam moments ([\d.]+) GB.*weights ([\d.]+) GB, gradients ([\d.]+) GB.*about (\d+) hidden/.exec(line)!.map(Number);
  // 784·2²⁰ weights twice (untied) plus biases, in float32: 6.58 GB; Adam's two moments twice that.
  assert.equal(weights, 6.58);
  assert.equal(grads, 6.58);
  assert.equal(adam, 13.2);
  assert.ok(total! > 35 && total! < 40, line);
  assert.ok(fit! > 100000 && fit! < 300000, line);
  assert.equal(existsSync(out), false, 'nothing written');
});

test('ae train --layers 784,1048576,1048576 is refused in one line, not with "Invalid typed array length"', () => {
  const pattern = MAX_TYPED_ARRAY_LENGTH < 2 ** 40
    ? /^ae: layers: expected layer sizes whose weight matrices hold at most \d+ values \(Node's largest typed array\), received 1048576→1048576 \(1099511627776 values\)$/
    : /^ae: layers: expected a training plan that fits in the [\d.]+ [kMGT]?B available/;
  refused(undefined, ['train', '--layers', '784,1048576,1048576', '--out', join(dir, 'deep')], pattern);
  refused('1T', ['train', '--layers', '784,1048576,1048576', '--out', join(dir, 'deep')], pattern);
});

test('a table: --layers is refused before reading it (the model alone), --hidden after (with its batches); a plan that fits trains; a bad AEKIT_MEMORY_LIMIT is named', () => {
  refused('4M', ['train', '--data', join(dir, 'absent.csv'), '--layers', '64,20000', '--epochs', '1', '--out', join(dir, 'wide')], /^ae: layers: expected a training plan that fits in the 4.19 MB available \(AEKIT_MEMORY_LIMIT\), received one needing about 41.3 MB \(Adam moments 20.6 MB, weights 10.3 MB, gradients 10.3 MB\)$/);
  // The batch the table's defaults choose (32 for 240 rows, and the last of 16), the 60 held-out rows' evaluation and the picture's 10 rows are counted: 118 rows of activations.
  refused('4M', ['train', '--data', csv, '--hidden', '20000', '--epochs', '1', '--out', join(dir, 'wide')], /^ae: hidden: expected a training plan that fits in the 4.19 MB available \(AEKIT_MEMORY_LIMIT\), received one needing about 60.2 MB \(Adam moments 20.6 MB, activations 18.9 MB, weights 10.3 MB, gradients 10.3 MB, batches [\d.]+ kB\); at most about 1\d\d\d hidden units fit$/);
  assert.equal(existsSync(join(dir, 'wide')), false);
  refused('lots', ['train', '--data', csv, '--epochs', '1', '--out', join(dir, 'bad')], /^ae: AEKIT_MEMORY_LIMIT: expected a number of bytes, or one with a suffix K, M, G or T \(e\.g\. 2G\), received "lots"$/);
  const r = aeWith('256M', 'train', '--data', csv, '--epochs', '1', '--out', join(dir, 'small'));
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(dir, 'small', 'model.safetensors')));
});

test('ae reconstruct and ae decode refuse a picture above the limit, naming its size and how many rows fit', () => {
  const model = join(dir, 'small', 'model.safetensors');
  if (!existsSync(model)) assert.equal(aeWith(undefined, 'train', '--data', csv, '--epochs', '1', '--out', join(dir, 'small')).code, 0);
  const png = join(dir, 'r.png');
  // 60 held-out rows of 64 values: bands of ten, each 2760 px wide.
  const line = refused('1M', ['reconstruct', '--model', model, '--count', '1000000', '--out', png], /^ae: --count: expected a picture that fits in the 1.05 MB available \(AEKIT_MEMORY_LIMIT\), received 60 rows \(a 2760x150 picture\) needing about [\d.]+ MB \(PNG encoding [\d.]+ MB, picture 1.66 MB, scaled rows 15.4 kB\); at most about (\d+) rows fit$/);
  const fit = Number(/at most about (\d+) rows/.exec(line)![1]);
  assert.ok(fit >= 10 && fit < 60, line);
  assert.equal(existsSync(png), false);
  const ok = aeWith('1M', 'reconstruct', '--model', model, '--count', String(fit), '--out', png);
  assert.equal(ok.code, 0, ok.stderr);
  const all = aeWith('64M', 'reconstruct', '--model', model, '--count', '1000000', '--out', join(dir, 'all.png'));
  assert.equal(all.code, 0, all.stderr);

  const codes = join(dir, 'c.safetensors');
  // The 240 training rows' codes: the model (17 kB with its gradients) fits in 32 kB, their 61 kB of decoded rows do not.
  assert.equal(aeWith(undefined, 'encode', '--model', model, '--split', 'train', '--out', codes).code, 0);
  refused('32K', ['decode', '--model', model, '--codes', codes, '--out', join(dir, 'd.csv')], /^ae: --count: expected an output that fits in the 32.8 kB available \(AEKIT_MEMORY_LIMIT\), received 240 decoded rows needing about 61.4 kB \(decoded rows 61.4 kB\); at most about 128 rows fit$/);
  refused('32K', ['decode', '--model', model, '--codes', codes, '--count', '200', '--out', join(dir, 'd.png')], /^ae: --count: expected a picture that fits in the 32.8 kB available \(AEKIT_MEMORY_LIMIT\), received 200 rows \(a \d+x\d+ picture\) needing about [\d.]+ [kM]B \(.*decoded rows 51.2 kB.*\); at most about \d+ rows fit$/);
  const decoded = aeWith('64M', 'decode', '--model', model, '--codes', codes, '--out', join(dir, 'd.csv'));
  assert.equal(decoded.code, 0, decoded.stderr);
});
