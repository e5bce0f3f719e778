import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDir, removeStaleTemps, writeFileAtomic } from './atomic.js';
import { ValidationError } from '../core/errors.js';

function withTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-atomic-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('writeFileAtomic writes strings as UTF-8 and bytes verbatim', () => {
  withTempDir((dir) => {
    const textPath = join(dir, 'a.txt');
    writeFileAtomic(textPath, 'héllo\n');
    assert.equal(readFileSync(textPath, 'utf8'), 'héllo\n');

    const binPath = join(dir, 'b.bin');
    const bytes = new Uint8Array([0, 1, 2, 255, 128, 0]);
    writeFileAtomic(binPath, bytes);
    assert.deepEqual(new Uint8Array(readFileSync(binPath)), bytes);
    assert.deepEqual(readdirSync(dir).sort(), ['a.txt', 'b.bin']);
  });
});

test('writeFileAtomic writes only the viewed part of a subarray', () => {
  withTempDir((dir) => {
    const path = join(dir, 'sub.bin');
    const whole = new Uint8Array([9, 9, 1, 2, 3, 9]);
    writeFileAtomic(path, whole.subarray(2, 5));
    assert.deepEqual(new Uint8Array(readFileSync(path)), new Uint8Array([1, 2, 3]));
  });
});

test('writeFileAtomic replaces an existing file and leaves no temp files', () => {
  withTempDir((dir) => {
    const path = join(dir, 'model.safetensors');
    writeFileSync(path, 'old contents that are longer than the new ones');
    for (let i = 0; i < 20; i++) writeFileAtomic(path, `version ${i}`);
    assert.equal(readFileSync(path, 'utf8'), 'version 19');
    assert.deepEqual(readdirSync(dir), ['model.safetensors']);
  });
});

test('writeFileAtomic handles an empty payload and a very long file name', () => {
  withTempDir((dir) => {
    const empty = join(dir, 'empty');
    writeFileAtomic(empty, new Uint8Array(0));
    assert.equal(statSync(empty).size, 0);

    // 250 bytes is a legal name; the temp name must not exceed the 255-byte limit.
    const longName = join(dir, 'x'.repeat(250));
    writeFileAtomic(longName, 'long');
    assert.equal(readFileSync(longName, 'utf8'), 'long');
    assert.deepEqual(readdirSync(dir).sort(), ['empty', 'x'.repeat(250)].sort());
  });
});

test('writeFileAtomic fails cleanly when the directory is missing', () => {
  withTempDir((dir) => {
    const path = join(dir, 'missing', 'out.bin');
    assert.throws(() => writeFileAtomic(path, 'data'), (err: unknown) => err instanceof ValidationError && /expected a file in a folder that exists and can be written, received ENOENT/.test(err.message));
    assert.equal(existsSync(join(dir, 'missing')), false);
    assert.deepEqual(readdirSync(dir), []);
  });
});

test('writeFileAtomic over a directory fails and leaves the directory and no temp file', () => {
  withTempDir((dir) => {
    const target = join(dir, 'taken');
    mkdirSync(target);
    writeFileSync(join(target, 'inside.txt'), 'keep me');
    assert.throws(() => writeFileAtomic(target, 'data'), (err: NodeJS.ErrnoException) => typeof err.code === 'string');
    assert.equal(statSync(target).isDirectory(), true);
    assert.equal(readFileSync(join(target, 'inside.txt'), 'utf8'), 'keep me');
    assert.deepEqual(readdirSync(dir), ['taken']);
  });
});

test('a write that fails after the temp file exists leaves the old target intact', () => {
  withTempDir((dir) => {
    const path = join(dir, 'target.bin');
    writeFileSync(path, 'original');
    // A Proxy passes the type check but is not a real typed array, so the write itself throws
    // after the temp file has been created: this exercises the cleanup path.
    const bogus = new Proxy(new Uint8Array([1, 2, 3]), {});
    assert.throws(() => writeFileAtomic(path, bogus), TypeError);
    assert.equal(readFileSync(path, 'utf8'), 'original');
    assert.deepEqual(readdirSync(dir), ['target.bin']);
  });
});

test('a write into a read-only directory leaves the old target intact', (t) => {
  if (process.platform === 'win32' || process.getuid?.() === 0) {
    t.skip('root and Windows ignore directory write permissions');
    return;
  }
  withTempDir((dir) => {
    const sub = join(dir, 'ro');
    mkdirSync(sub);
    const path = join(sub, 'target.bin');
    writeFileSync(path, 'original');
    chmodSync(sub, 0o500);
    try {
      assert.throws(() => writeFileAtomic(path, 'new'), (err: unknown) => err instanceof ValidationError && /received EACCES/.test(err.message));
      assert.equal(readFileSync(path, 'utf8'), 'original');
      assert.deepEqual(readdirSync(sub), ['target.bin']);
    } finally {
      chmodSync(sub, 0o700);
    }
  });
});

test('ensureDir creates nested directories and accepts existing ones', () => {
  withTempDir((dir) => {
    const nested = join(dir, 'a', 'b', 'c');
    ensureDir(nested);
    assert.equal(statSync(nested).isDirectory(), true);
    ensureDir(nested);
    writeFileAtomic(join(nested, 'f'), 'ok');
    assert.equal(readFileSync(join(nested, 'f'), 'utf8'), 'ok');
  });
});

test('ensureDir refuses a path that is a file', () => {
  withTempDir((dir) => {
    const file = join(dir, 'file');
    writeFileSync(file, 'x');
    assert.throws(() => ensureDir(file), (err: unknown) => err instanceof ValidationError && /received (EEXIST|ENOTDIR)/.test(err.message));
  });
});

test('ensureDir fails at once, naming the system error, where a folder cannot be made (no endless loop under /proc)', () => {
  if (process.platform === 'linux') {
    // mkdirSync(..., { recursive: true }) never returns here (Node's recursive walk retries ENOENT).
    assert.throws(() => ensureDir('/proc/aekit-cannot-exist/deeper'), (e: unknown) => e instanceof ValidationError && /aekit-cannot-exist\/deeper: expected a folder that exists or can be created, received ENOENT/.test(e.message));
  }
  const dir = mkdtempSync(join(tmpdir(), 'aekit-ensuredir-'));
  try {
    writeFileSync(join(dir, 'file'), 'x');
    assert.throws(() => ensureDir(join(dir, 'file')), (e: unknown) => e instanceof ValidationError && /received EEXIST/.test(e.message));
    assert.throws(() => ensureDir(join(dir, 'file', 'below')), (e: unknown) => e instanceof ValidationError && /received (ENOTDIR|EEXIST)/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The pid of a process that has exited (so no process has it, until the system reuses it). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

test('the first write into a folder removes temp files whose writer is gone, never a live one or a user file', () => {
  withTempDir((dir) => {
    const dead = join(dir, `.model.safetensors.${deadPid()}.1.123456789.tmp`);
    const live = join(dir, `.model.safetensors.${process.pid}.9.123456789.tmp`);
    const lookalike = join(dir, 'notes.1.2.3.tmp'); // no leading dot: a user's file
    for (const p of [dead, live, lookalike]) writeFileSync(p, 'x');
    writeFileAtomic(join(dir, 'model.safetensors'), 'new');
    assert.equal(existsSync(dead), false, 'a dead writer\'s temp file is removed');
    assert.equal(existsSync(live), true, 'a live writer\'s temp file stays');
    assert.equal(existsSync(lookalike), true, 'a name without the temp pattern stays');
    assert.equal(readFileSync(join(dir, 'model.safetensors'), 'utf8'), 'new');
  });
});

test('removeStaleTemps: a temp file whose pid now belongs to a process started after it was written is stale', () => {
  withTempDir((dir) => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)']);
    try {
      const reused = join(dir, `.metrics.json.${child.pid}.1.1.tmp`);
      writeFileSync(reused, 'x');
      // Written an hour before its pid's process started: that process is not the writer.
      const hourAgo = new Date(Date.now() - 3600_000);
      utimesSync(reused, hourAgo, hourAgo);
      const fresh = join(dir, `.model.safetensors.${child.pid}.2.1.tmp`);
      writeFileSync(fresh, 'x');
      assert.deepEqual(removeStaleTemps(dir), [`.metrics.json.${child.pid}.1.1.tmp`]);
      assert.equal(existsSync(fresh), true, 'a file written while its (live) pid ran stays');
    } finally {
      child.kill('SIGKILL');
    }
  });
});

/**
 * Kills a child that saves a 64 MB file over and over, at several moments, and returns what the
 * folder holds after each kill. With unnamed temps (Linux, native addon) nothing but the target
 * may be there; with named temps (AEKIT_NAMED_TEMPS=1) the kills leave temp files behind.
 */
async function killDuringSaves(env: NodeJS.ProcessEnv, trials: number): Promise<string[][]> {
  const atomicUrl = new URL('./atomic.js', import.meta.url).href;
  const seen: string[][] = [];
  const dir = mkdtempSync(join(tmpdir(), 'aekit-kill-'));
  try {
    for (let i = 0; i < trials; i++) {
      const script = `import { writeFileAtomic } from ${JSON.stringify(atomicUrl)};
        const bytes = new Uint8Array(64 << 20).fill(7);
        process.stdout.write('ready\\n');
        for (;;) writeFileAtomic(${JSON.stringify(join(dir, 'model.safetensors'))}, bytes);`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((res) => child.stdout!.once('data', () => res()));
      await new Promise((res) => setTimeout(res, 150 + 37 * i));
      child.kill('SIGKILL');
      await new Promise((res) => child.once('exit', res));
      seen.push(readdirSync(dir).sort());
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return seen;
}

test('a save killed by SIGKILL leaves no temp file where the kernel offers unnamed files (O_TMPFILE)', async (t) => {
  const { unnamedFileCalls } = await import('../backends/native/index.js');
  if (process.platform !== 'linux' || !unnamedFileCalls()) return t.skip('needs Linux and the native addon');
  const unnamed = await killDuringSaves({}, 8);
  for (const names of unnamed) assert.ok(names.every((n) => n === 'model.safetensors'), `left behind: ${names.join(', ')}`);
  // The same kills with named temp files do leave them: the test can tell the two apart.
  const named = await killDuringSaves({ AEKIT_NAMED_TEMPS: '1' }, 8);
  assert.ok(named.some((names) => names.some((n) => n.endsWith('.tmp'))), `named temps: ${JSON.stringify(named)}`);
});

test('a save through an unnamed file gets the same permissions as a plain write', () => {
  withTempDir((dir) => {
    writeFileSync(join(dir, 'plain'), 'x');
    writeFileAtomic(join(dir, 'atomic'), 'x');
    assert.equal(statSync(join(dir, 'atomic')).mode, statSync(join(dir, 'plain')).mode);
    assert.deepEqual(readdirSync(dir).sort(), ['atomic', 'plain']);
  });
});
