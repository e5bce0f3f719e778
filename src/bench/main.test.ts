import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.js');
const bench = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000 });

test('bench: bad options exit 2 with one line naming what was expected, before any measurement', () => {
  for (const [args, want] of [
    [['--bogus'], /Unknown option '--bogus'/],
    [['--threads', '0'], /--threads: expected an integer in \[1, 256\], received "0"/],
    [['--threads', '2,x'], /--threads: expected an integer/],
    [['--only', 'foo'], /--only: expected standard or denoising, got 'foo'/],
    [['--epochs', '0'], /--epochs: expected a whole number ≥ 1, got '0'/],
    [['--skip', 'torch'], /--skip: expected a comma-separated list of js, pytorch, tfjs, native, got 'torch'/],
  ] as const) {
    const r = bench(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.match(lines[0]!, want);
    assert.match(lines[1]!, /^usage: npm run bench/);
    assert.equal(lines.length, 2, `nothing else is printed: ${r.stderr}`);
  }
});

test('bench --help prints the usage and exits 0', () => {
  const r = bench('--help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^usage: npm run bench/);
});
