import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackendError, ValidationError } from '../core/errors.js';
import { resolveBackend } from './index.js';
import { loadAddonFrom, REBUILD_COMMAND } from './native/index.js';

test('a missing addon is a BackendError naming where it looked and the rebuild command', () => {
  const err = loadAddonFrom(['/nowhere/a.node', '/nowhere/b.node']);
  assert.ok(err instanceof BackendError);
  assert.match(err.message, /\/nowhere\/a\.node \(not found\) or \/nowhere\/b\.node \(not found\)/);
  assert.ok(err.message.includes(REBUILD_COMMAND));
  assert.ok(!err.message.includes('\n'));
});

test('an addon built from older sources (lacking a kernel) is refused, naming what it lacks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-stale-'));
  const path = join(dir, 'stale.cjs');
  // A module with some of the addon's functions, as an addon built before the newer kernels.
  writeFileSync(path, 'for (const f of ["matmul", "biasActivation", "loss", "info"]) exports[f] = () => {};\n');
  try {
    const err = loadAddonFrom([path]);
    assert.ok(err instanceof BackendError);
    assert.match(err.message, /built from older sources: it lacks .*denseMseBackward/);
    assert.ok(err.message.includes(REBUILD_COMMAND));
    assert.ok(!err.message.includes('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('backend choice: js, native, auto; anything else is a one-line error', () => {
  assert.equal(resolveBackend('js').backend.name, 'js');
  const auto = resolveBackend('auto');
  let nativeLoads = true;
  try {
    resolveBackend('native');
  } catch (e) {
    nativeLoads = false;
    assert.ok(e instanceof BackendError);
  }
  // auto is native when the addon loads, otherwise js with a one-line notice saying why.
  if (nativeLoads) assert.deepEqual([auto.backend.name, auto.notice], ['native', null]);
  else assert.match(auto.notice ?? '', /^using the js backend: native backend: expected the addon at/);
  assert.throws(() => resolveBackend('gpu'), (e: unknown) => e instanceof ValidationError && /backend: expected one of auto, native, js, received "gpu"/.test((e as Error).message));
});

test('the native addon checks buffer sizes instead of reading out of bounds', { skip: (() => { try { resolveBackend('native'); return false; } catch (e) { return (e as Error).message; } })() }, async () => {
  const { NativeBackend } = await import('./native/index.js');
  const b = new NativeBackend();
  const m = (rows: number, cols: number, len = rows * cols) => ({ rows, cols, data: new Float32Array(len) });
  assert.throws(() => b.matmul(m(4, 3, 5), false, m(3, 2), false, m(4, 2), 0), /a: expected at least 12 values, received 5/);
  assert.throws(() => b.biasActivation(m(2, 3), new Float32Array(2), 'tanh'), /bias: expected at least 3 values/);
  assert.throws(() => b.gatherRows(m(3, 2), Uint32Array.of(0, 7), 0, 2, m(2, 2)), /indices: expected row numbers below 3/);
});

test('large buffers, split across two threads natively, match the js backend', { skip: (() => { try { resolveBackend('native'); return false; } catch (e) { return (e as Error).message; } })() }, async () => {
  const { NativeBackend } = await import('./native/index.js');
  const { JsBackend } = await import('./js/index.js');
  const { Rng } = await import('../core/rng.js');
  const native = new NativeBackend();
  const js = new JsBackend();
  const rng = new Rng(5);
  const rows = 300;
  const cols = 777; // odd, so the split falls mid-vector and mid-row
  const n = rows * cols;
  const rand = (lo = -2, hi = 2) => rng.fillUniform(new Float32Array(n), lo, hi);
  const close = (a: Float32Array, b: Float32Array, tol: number, what: string) => {
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  };
  const m = (data: Float32Array) => ({ rows, cols, data });
  for (const act of ['tanh', 'sigmoid', 'relu'] as const) {
    const z = rand();
    const bias = rng.fillUniform(new Float32Array(cols), -1, 1);
    const a = m(z.slice());
    const b = m(z.slice());
    native.biasActivation(a, bias, act);
    js.biasActivation(b, bias, act);
    close(a.data, b.data, 1e-6, `biasActivation ${act}`);
    const g = rand();
    const ga = m(g.slice());
    const gb = m(g.slice());
    native.activationBackward(ga, a, act);
    js.activationBackward(gb, b, act);
    close(ga.data, gb.data, 1e-5, `activationBackward ${act}`);
  }
  const sums = [new Float32Array(cols).fill(0.5), new Float32Array(cols).fill(0.5)] as const;
  const big = m(rand());
  native.sumRows(big, sums[0], true);
  js.sumRows(big, sums[1], true);
  close(sums[0], sums[1], 1e-6, 'sumRows');
  const y = m(rand(-1, 1));
  const t = m(rand(-1, 1));
  const gn = m(new Float32Array(n));
  const gj = m(new Float32Array(n));
  const ln = native.loss('mse', y, t, gn, 1 / n, false);
  const lj = js.loss('mse', y, t, gj, 1 / n, false);
  assert.ok(Math.abs(ln - lj) <= 1e-6 * lj, `mse sum ${ln} vs ${lj}`);
  close(gn.data, gj.data, 1e-6, 'mse grad');
  const p0 = rand(-1, 1);
  const grad = rand(-0.1, 0.1);
  const state = () => ({ p: p0.slice(), m: new Float32Array(n), v: new Float32Array(n) });
  const sn = state();
  const sj = state();
  for (let step = 1; step <= 3; step++) {
    // No weight decay here: g + λp can cancel to almost nothing, where float and double
    // legitimately disagree on the sign of a tiny step (the small-size suite covers decay).
    const h = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step };
    assert.equal(native.adam(sn.p, grad, sn.m, sn.v, h), true);
    js.adam(sj.p, grad, sj.m, sj.v, h);
  }
  close(sn.p, sj.p, 1e-6, 'adam param');
  sn.p[n - 1] = NaN; // only the helper thread's half sees it
  assert.equal(native.adam(sn.p, grad, sn.m, sn.v, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 4 }), false);
});

test('the native thread pool survives its helper going to sleep and waking, many times', { timeout: 60_000, skip: (() => { try { resolveBackend('native'); return false; } catch (e) { return (e as Error).message; } })() }, async () => {
  const { NativeBackend } = await import('./native/index.js');
  const b = new NativeBackend();
  const n = 1 << 17; // above the size at which kernels split across the two threads
  const p = new Float32Array(n);
  const g = new Float32Array(n).fill(1e-3);
  const m = new Float32Array(n);
  const v = new Float32Array(n);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  // Pauses around the helper's 2 ms spin window make it fall asleep just as jobs arrive: the
  // moment a lost wake-up would hang the process.
  // (A lost wake-up once hung here after several thousand rounds; this many catches it sometimes.)
  for (let i = 1; i <= 1500; i++) {
    Atomics.wait(pause, 0, 0, 1.5 + (i % 5) * 0.25);
    assert.equal(b.adam(p, g, m, v, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: i }), true);
  }
  assert.ok(p[0]! < 0 && p[n - 1] === p[0], 'both halves were updated every time');
});
