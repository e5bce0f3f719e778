import assert from 'node:assert/strict';
import { test } from 'node:test';
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
