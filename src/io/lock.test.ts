import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { ValidationError } from '../core/errors.js';
import { lockOutput, lockPathFor } from './lock.js';

const LOCK = new URL('./lock.js', import.meta.url).href;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'aekit-lock-'));
}

/** A child process that takes the lock on `target`, says "locked", and waits to be killed. */
async function holder(target: string): Promise<ReturnType<typeof spawn>> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', `const { lockOutput } = await import(${JSON.stringify(LOCK)}); lockOutput(${JSON.stringify(target)}); console.log('locked'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  assert.equal(chunk.toString().trim(), 'locked');
  return child;
}

test('lockOutput: a second writer is refused in one line naming the holder; release frees the output', () => {
  const dir = tempDir();
  try {
    const out = join(dir, 'runs', 'a');
    const lock = lockOutput(out);
    assert.equal(lock.path, join(dir, 'runs', '.a.aekit.lock'));
    assert.throws(() => lockOutput(out), (e: unknown) => e instanceof ValidationError && /^--out: expected an output no other run is writing, received ".*runs\/a": process \d+ /.test(e.message) && !e.message.includes('\n'));
    lock.release();
    assert.equal(existsSync(lock.path), false);
    // The parent folder the lock made, empty again, is gone too: a refused run leaves nothing.
    assert.equal(existsSync(join(dir, 'runs')), false);
    lockOutput(out).release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lockOutput: another live process holds the lock until it dies; a SIGKILLed holder\'s lock is taken over', async () => {
  const dir = tempDir();
  const out = join(dir, 'run');
  const child = await holder(out);
  try {
    assert.throws(() => lockOutput(out), new RegExp(`process ${child.pid} \\(`));
  } finally {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  try {
    assert.equal(existsSync(lockPathFor(out)), true, 'SIGKILL leaves the lock file');
    const lock = lockOutput(out);
    assert.equal(JSON.parse(readFileSync(lock.path, 'utf8')).pid, process.pid);
    lock.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lockOutput: an empty lock file is a holder being born for 10 s, then stale', () => {
  const dir = tempDir();
  try {
    const out = join(dir, 'run');
    writeFileSync(lockPathFor(out), '');
    assert.throws(() => lockOutput(out), /another process is writing it/);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockPathFor(out), old, old);
    lockOutput(out).release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
