import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ADDON_PATHS } from '../backends/native/index.js';
import { canRun, cpuFeatures } from '../backends/native/coretype.js';
import { usage } from './testing.js';

const addon = ADDON_PATHS.find((p) => existsSync(p));
const noAddon = addon ? false : 'the native addon is not built here';
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `ae` with a changed environment (undefined removes a variable). */
function aeEnv(env: Record<string, string | undefined>, ...args: string[]) {
  const e: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete e[k]; else e[k] = v;
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), ...args], { encoding: 'utf8', env: e });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('ae info names the backend, the BLAS kernels, the threads and the CPU', { skip: noAddon }, () => {
  const r = aeEnv({ AEKIT_BACKEND: undefined, AEKIT_THREADS: undefined }, 'info', '--json');
  assert.equal(r.code, 0, r.stderr);
  const i = JSON.parse(r.stdout);
  assert.equal(i.backend, 'native');
  assert.match(i.blas.build, /OpenBLAS|Accelerate/);
  assert.ok(i.blas.coreType.length > 0);
  assert.equal(i.threads.threads, Math.min(256, availableParallelism()));
  assert.equal(i.threads.source, 'os.availableParallelism()');
  const text = aeEnv({ AEKIT_THREADS: '3' }, 'info');
  assert.match(text.stdout, /^backend: native/m);
  assert.match(text.stdout, /^BLAS kernels: /m);
  assert.match(text.stdout, /^threads: 3 \(AEKIT_THREADS/m);
  assert.match(text.stdout, /^CPU: /m);
  assert.match(aeEnv({}, 'info', '--threads', '5').stdout, /^threads: 5 \(--threads/m);
  assert.match(aeEnv({ AEKIT_BACKEND: 'js' }, 'info').stdout, /^backend: js \(AEKIT_BACKEND=js: the js backend was asked for\)/m);
});

test('--threads and AEKIT_THREADS are validated before any work', () => {
  usage(['info', '--threads', '0'], /^ae: --threads: expected an integer in \[1, 256\], received "0"$/);
  usage(['info', '--threads', '1.5'], /^ae: --threads: expected an integer in \[1, 256\], received "1.5"$/);
  usage(['eval', '--model', 'none.safetensors', '--threads', '257'], /^ae: --threads: expected an integer in \[1, 256\], received "257"$/);
  const r = aeEnv({ AEKIT_THREADS: 'many' }, 'info');
  assert.equal(r.code, 2);
  assert.match(r.stderr.trim(), /^ae: AEKIT_THREADS: expected an integer in \[1, 256\], received "many"$/);
});

test('without the addon every command warns first: the backend in use, the slowdown, the fix', () => {
  const missing = { AEKIT_NATIVE_ADDON: join(tmpdir(), 'no-such-dir', 'aekit_native.node'), AEKIT_BACKEND: undefined };
  const r = aeEnv(missing, 'info');
  assert.equal(r.code, 0);
  const warning = /^ae: warning: the native backend is not available, so this runs on the js backend, 20–60× slower; fix: scripts\/setup\.sh/;
  assert.match(r.stderr, warning);
  assert.match(r.stdout, /^backend: js \(auto: the native addon did not load/m);
  assert.match(r.stdout, /no-such-dir.*\(not found\)/);
  // Any command, before its own work or its own errors.
  const e = aeEnv(missing, 'eval', '--model', 'none.safetensors');
  assert.equal(e.code, 2);
  assert.match(e.stderr.split('\n')[0]!, warning);
  assert.match(e.stderr.split('\n')[1]!, /none\.safetensors/);
  // Asking for js is not a fallback: no warning.
  assert.equal(aeEnv(missing, 'info', '--backend', 'js').stderr, '');
  // Insisting on native fails with where it looked.
  const n = aeEnv(missing, 'info', '--backend', 'native');
  assert.equal(n.code, 2);
  assert.match(n.stderr, /native backend: expected the addon at .*no-such-dir/);
});

test('the core type recorded at install is set before OpenBLAS loads, unless the user set one', { skip: noAddon || (process.platform !== 'linux' ? 'OpenBLAS core types are for Linux' : false) }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-coretype-'));
  try {
    const copy = join(dir, 'aekit_native.node');
    copyFileSync(addon as string, copy);
    const cpu = cpuFeatures();
    const want = ['Haswell', 'Sandybridge'].find((c) => canRun(c, cpu));
    if (!want) return; // a CPU without AVX: only the generic kernels exist
    const record = { picked: 'Prescott', coreType: want, reason: 'a test record', cpu, trials: [] };
    writeFileSync(join(dir, 'blas.json'), JSON.stringify(record));
    const env = { AEKIT_NATIVE_ADDON: copy, OPENBLAS_CORETYPE: undefined, AEKIT_BACKEND: undefined };
    const i = JSON.parse(aeEnv(env, 'info', '--json').stdout);
    assert.equal(i.blas.coreType, want);
    assert.match(i.blas.source, /chosen at install/);
    const mine = JSON.parse(aeEnv({ ...env, OPENBLAS_CORETYPE: 'Sandybridge' }, 'info', '--json').stdout);
    assert.equal(mine.blas.coreType, 'Sandybridge');
    assert.equal(mine.blas.source, 'OPENBLAS_CORETYPE');
    // A record for kernels this CPU lacks (a build folder copied from another machine) is ignored.
    writeFileSync(join(dir, 'blas.json'), JSON.stringify({ ...record, coreType: 'NEOVERSEV1' }));
    const copied = JSON.parse(aeEnv(env, 'info', '--json').stdout);
    assert.equal(copied.blas.source, "OpenBLAS's own pick");
    assert.match(copied.blas.reason, /cannot run/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('install step: on generic kernels, better ones are verified, timed and recorded', { skip: noAddon || (process.platform !== 'linux' || process.arch !== 'x64' ? 'x86 Linux only' : false), timeout: 180_000 }, () => {
  const cpu = cpuFeatures();
  if (!canRun('Haswell', cpu)) return; // nothing better than generic kernels to find
  const dir = mkdtempSync(join(tmpdir(), 'aekit-choose-'));
  try {
    const copy = join(dir, 'aekit_native.node');
    copyFileSync(addon as string, copy);
    // OpenBLAS loading Prescott is what it does on a CPU newer than its tables.
    const env: NodeJS.ProcessEnv = { ...process.env, AEKIT_NATIVE_ADDON: copy, AEKIT_BLAS_ASSUME_PICKED: 'Prescott' };
    delete env.OPENBLAS_CORETYPE;
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'choose-blas.mjs')], { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    const rec = JSON.parse(readFileSync(join(dir, 'blas.json'), 'utf8'));
    assert.equal(rec.picked, 'Prescott');
    assert.ok(rec.trials.length >= 2, 'the candidates were tried');
    for (const t of rec.trials) assert.ok(t.ok || t.error, `${t.coreType}: a result or a reason`);
    assert.ok(rec.coreType && canRun(rec.coreType, cpu), `chose ${rec.coreType}`);
    const chosen = rec.trials.find((t: { coreType: string }) => t.coreType === rec.coreType);
    assert.ok(chosen.ok && chosen.gflops > rec.trials[0].gflops, 'faster than the generic kernels');
    const i = JSON.parse(aeEnv({ AEKIT_NATIVE_ADDON: copy, OPENBLAS_CORETYPE: undefined, AEKIT_BACKEND: undefined }, 'info', '--json').stdout);
    assert.equal(i.blas.coreType, rec.coreType);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
