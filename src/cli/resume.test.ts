import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensorsFile } from '../io/safetensors.js';
import { ae, usage } from './testing.js';

/*
 * A run killed (SIGKILL, as a crash or an impatient user would) after some epoch and resumed
 * with `ae train --resume` ends with the same weights, bit for bit, as a run never stopped.
 */

const dir = mkdtempSync(join(tmpdir(), 'ae-resume-'));
const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.js');

function epochsDone(out: string): number {
  try {
    return (JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { epochs: unknown[] }).epochs.length;
  } catch {
    return 0;
  }
}

/** Starts `ae train ARGS --out OUT` and kills it with SIGKILL once `k` epochs are saved; resolves with the epochs saved. */
function killAfter(args: string[], out: string, k: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'train', ...args, '--out', out], { stdio: 'ignore' });
    let done = false;
    const poll = setInterval(() => {
      if (epochsDone(out) >= k && !done) {
        done = true;
        child.kill('SIGKILL');
      }
    }, 2);
    child.on('exit', () => {
      clearInterval(poll);
      if (!done) reject(new Error(`the run ended before it could be killed after epoch ${k}`));
      else resolve(epochsDone(out));
    });
  });
}

function tensors(path: string): Map<string, Buffer> {
  const f = readSafetensorsFile(path);
  return new Map([...f.tensors].map(([n, t]) => [n, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)]));
}

for (const [what, args] of [
  ['standard, js backend', ['--limit', '2000', '--epochs', '7', '--hidden', '16', '--backend', 'js']],
  ['denoising with a step schedule, js backend', ['--limit', '2000', '--epochs', '7', '--hidden', '24', '--noise', 'dropout:0.5', '--lr-schedule', 'step:2:0.5', '--backend', 'js']],
  // min-delta 0.05: no epoch after the first improves that much, so epoch 1's weights are kept at the end.
  ['denoising with early stopping keeping the best epoch, js backend', ['--limit', '2000', '--epochs', '7', '--hidden', '24', '--noise', 'dropout:0.5', '--early-stopping', '10', '--min-delta', '0.05', '--backend', 'js']],
] as const) {
  test(`killed after epochs 2, 4 and 6 and resumed: byte-identical weights (${what})`, async () => {
    const whole = join(dir, `whole-${what.length}`);
    const r = ae('train', ...args, '--out', whole);
    assert.equal(r.code, 0, r.stderr);
    const want = tensors(join(whole, 'model.safetensors'));
    for (const k of [2, 4, 6]) {
      const out = join(dir, `cut-${what.length}-${k}`);
      const saved = await killAfter([...args], out, k);
      assert.ok(saved >= k && saved < 7, `killed after ${saved} epochs`);
      const res = ae('train', '--resume', out);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stderr, new RegExp(`resuming .* after epoch ${saved}, to epoch 7`));
      const got = tensors(join(out, 'model.safetensors'));
      assert.deepEqual([...got.keys()], [...want.keys()]);
      for (const [name, bytes] of want) assert.ok(got.get(name)!.equals(bytes), `k=${saved}: ${name} differs`);
      const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
      assert.deepEqual(m.epochs.map((e: { epoch: number }) => e.epoch), [1, 2, 3, 4, 5, 6, 7]);
    }
  });
}

test('--resume refuses what it cannot continue, in one line', () => {
  const out = join(dir, 'done');
  assert.equal(ae('train', '--limit', '300', '--epochs', '2', '--hidden', '4', '--out', out).code, 0);
  usage(['train', '--resume', out], /--epochs: expected more than the 2 epochs .* has completed, received 2/);
  // Longer: --epochs is the new total.
  const more = ae('train', '--resume', out, '--epochs', '3');
  assert.equal(more.code, 0, more.stderr);
  assert.equal(JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).epochs.length, 3);
  usage(['train', '--resume', out, '--epochs', '4', '--lr', '0.1', '--out', join(dir, 'elsewhere')], /--resume: expected only --epochs, --backend or --threads with it .*, received --out, --lr/);
  usage(['train', '--resume', join(dir, 'nowhere')], /nowhere\/model\.safetensors: expected an existing safetensors file/);
  usage(['train', '--limit', '300'], /--out: expected a folder for the run \(or --resume DIR\), received nothing/);
  // A run early stopping ended is finished: it is not resumed past its stop.
  const stopped = join(dir, 'stopped');
  const r = ae('train', '--limit', '300', '--epochs', '8', '--hidden', '4', '--early-stopping', '2', '--min-delta', '1', '--out', stopped);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /early stopping after epoch 3/);
  usage(['train', '--resume', stopped], /checkpoint\.safetensors: expected a run still training, received one that early stopping stopped after epoch 3/);
  assert.equal(existsSync(join(dir, 'nowhere')), false);
});
