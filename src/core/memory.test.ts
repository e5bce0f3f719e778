import assert from 'node:assert/strict';
import { totalmem } from 'node:os';
import { test } from 'node:test';
import { resolveBackend } from '../backends/index.js';
import { ValidationError } from './errors.js';
import {
  cgroupHeadroom,
  checkMemory,
  checkPicture,
  estimate,
  estimateTraining,
  formatBytes,
  largestFitting,
  MAX_TYPED_ARRAY_LENGTH,
  memoryLimit,
  parameterCount,
  parseByteSize,
  parseCgroupNumber,
  parseMeminfo,
} from './memory.js';
import { matrix } from './matrix.js';
import { Rng } from './rng.js';
import { Autoencoder, validateArchitecture } from '../nn/autoencoder.js';
import { checkTrainingMemory, resolveSettings, setupTraining } from '../train/recipe.js';
import { reconstructionPng, reconstructionSize } from '../viz/figures.js';
import { decodePng } from '../viz/image.js';

const backend = resolveBackend('js').backend;

/** Runs `f` with AEKIT_MEMORY_LIMIT set (this test file's own process), then restores it. */
function withLimit<T>(limit: string, f: () => T): T {
  const before = process.env['AEKIT_MEMORY_LIMIT'];
  process.env['AEKIT_MEMORY_LIMIT'] = limit;
  try {
    return f();
  } finally {
    if (before === undefined) delete process.env['AEKIT_MEMORY_LIMIT'];
    else process.env['AEKIT_MEMORY_LIMIT'] = before;
  }
}

test('parseByteSize takes bytes and binary suffixes, and nothing else', () => {
  assert.equal(parseByteSize('123'), 123);
  assert.equal(parseByteSize('2G'), 2 * 2 ** 30);
  assert.equal(parseByteSize('500m'), 500 * 2 ** 20);
  assert.equal(parseByteSize('1.5GiB'), 1.5 * 2 ** 30);
  assert.equal(parseByteSize(' 64 KB '), 64 * 1024);
  assert.equal(parseByteSize('1T'), 2 ** 40);
  for (const bad of ['', 'abc', '-1', '0', '1e9', '2X', '1.5.2G', 'G']) assert.equal(parseByteSize(bad), null, bad);
  assert.equal(formatBytes(2 ** 32), '4.29 GB');
  assert.equal(formatBytes(24.6e9), '24.6 GB');
  assert.equal(formatBytes(512e6), '512 MB');
  assert.equal(formatBytes(900), '900 B');
});

test('memoryLimit: the least of the cgroup headroom (v2 and v1, inactive file cache not counted) and MemAvailable; AEKIT_MEMORY_LIMIT replaces it', () => {
  const meminfo = 'MemTotal:       24576000 kB\nMemFree:        20000000 kB\nMemAvailable:   24150600 kB\nBuffers:          100 kB\n';
  assert.equal(parseMeminfo(meminfo), 24150600 * 1024);
  assert.equal(parseMeminfo('MemTotal: 1 kB\n'), null);
  assert.equal(parseCgroupNumber('max\n'), null);
  assert.equal(parseCgroupNumber('9223372036854771712\n'), null, "cgroup v1's no limit");
  assert.equal(parseCgroupNumber('8589934592\n'), 8589934592);
  // v2: 8 GiB limit, 4 GiB used of which 1 GiB is inactive file cache: 5 GiB left.
  const v2 = { limit: '8589934592\n', usage: '4294967296\n', stat: 'anon 3221225472\nfile 1073741824\ninactive_file 1073741824\nactive_file 0\n' };
  assert.equal(cgroupHeadroom(v2, 'inactive_file'), 5 * 2 ** 30);
  assert.equal(cgroupHeadroom({ ...v2, limit: 'max\n' }, 'inactive_file'), null);
  assert.equal(cgroupHeadroom({ limit: '1000', usage: '5000', stat: null }, 'inactive_file'), 0, 'over its limit: nothing left');
  const files = (map: Record<string, string>) => (path: string) => map[path] ?? null;
  const v2files = { '/sys/fs/cgroup/memory.max': v2.limit, '/sys/fs/cgroup/memory.current': v2.usage, '/sys/fs/cgroup/memory.stat': v2.stat };
  assert.deepEqual(memoryLimit({}, files({ ...v2files, '/proc/meminfo': meminfo })), { bytes: 5 * 2 ** 30, source: 'cgroup memory.max' });
  assert.deepEqual(memoryLimit({}, files({ ...v2files, '/proc/meminfo': 'MemAvailable: 1000 kB\n' })), { bytes: 1024000, source: 'MemAvailable' });
  const v1files = {
    '/sys/fs/cgroup/memory/memory.limit_in_bytes': '2147483648\n',
    '/sys/fs/cgroup/memory/memory.usage_in_bytes': '1073741824\n',
    '/sys/fs/cgroup/memory/memory.stat': 'cache 536870912\ntotal_inactive_file 536870912\n',
  };
  assert.deepEqual(memoryLimit({}, files({ ...v1files, '/proc/meminfo': meminfo })), { bytes: 1.5 * 2 ** 30, source: 'cgroup memory.limit_in_bytes' });
  assert.deepEqual(memoryLimit({}, files({ '/sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n', '/proc/meminfo': meminfo })), { bytes: 24150600 * 1024, source: 'MemAvailable' });
  assert.deepEqual(memoryLimit({}, files({})), { bytes: totalmem(), source: 'total memory' });
  assert.deepEqual(memoryLimit({ AEKIT_MEMORY_LIMIT: '2G' }, files({ '/proc/meminfo': meminfo })), { bytes: 2 ** 31, source: 'AEKIT_MEMORY_LIMIT' });
  assert.throws(() => memoryLimit({ AEKIT_MEMORY_LIMIT: 'lots' }), (e: unknown) => e instanceof ValidationError && e.message === 'AEKIT_MEMORY_LIMIT: expected a number of bytes, or one with a suffix K, M, G or T (e.g. 2G), received "lots"');
  // This machine's own limit is a positive number with a source.
  const here = memoryLimit();
  assert.ok(here.bytes > 0 && here.source.length > 0, JSON.stringify(here));
});

test("estimateTraining counts the bytes a small model, its Adam state and its workspace really allocate", () => {
  for (const tied of [false, true]) {
    const layers = [20, 7, 3];
    const rows = 50;
    const testRows = 20;
    const x = matrix(rows, 20);
    new Rng(3).fillUniform(x.data, -1, 1);
    const v = matrix(testRows, 20);
    new Rng(4).fillUniform(v.data, -1, 1);
    const run = setupTraining({ layers, tied, batchSize: 16, epochs: 1 }, { x, validation: { x: v } }, backend);
    run.fit();
    // reconstructions.png's ten rows.
    run.model.reconstruct(matrix(10, 20));
    const paramBytes = run.model.params.reduce((s, p) => s + p.value.byteLength, 0);
    const gradBytes = run.model.params.reduce((s, p) => s + p.grad.byteLength, 0);
    const adamBytes = run.optimizer.getState().buffers.reduce((s, b) => s + b.byteLength, 0);
    const ws = (run.model as unknown as { workspaces: Map<number, { outs: { data: Float32Array }[]; grads: { data: Float32Array }[] }> }).workspaces;
    const wsBytes = [...ws.values()].reduce((s, w) => s + [...w.outs, ...w.grads].reduce((t, m) => t + m.data.byteLength, 0), 0);
    const e = estimateTraining({ layers, tied, optimizer: 'adam', batchSize: 16, rows, testRows });
    const part = (label: string) => e.parts.find((p) => p[0] === label)?.[1] ?? 0;
    assert.equal(part('weights'), paramBytes, `tied ${tied}`);
    assert.equal(parameterCount(layers, tied) * 4, paramBytes);
    assert.equal(part('gradients'), gradBytes);
    assert.equal(part('Adam moments'), adamBytes);
    // Batches of 16 and the last of 2, evaluation's 20, the picture's 10.
    assert.deepEqual([...ws.keys()].sort((a, b) => a - b), [2, 10, 16, 20]);
    assert.equal(part('activations'), wsBytes);
    assert.equal(part('batches'), 16 * 20 * 4 + 4 * rows);
    assert.equal(part('saving'), tied ? (20 * 7 + 7 * 3) * 4 : 0);
    assert.equal(e.bytes, e.parts.reduce((s, p) => s + p[1], 0));
  }
  const sgd = estimateTraining({ layers: [10, 4], tied: false, optimizer: 'sgd', batchSize: 8, rows: 0 });
  assert.deepEqual(sgd.parts.map((p) => p[0]), ['weights', 'gradients', 'SGD velocity'], 'rows unknown: the model and its optimiser only');
});

test('checkTrainingMemory refuses a plan above the limit before allocating, naming the estimate, the limit and the largest code that fits', () => {
  const s = resolveSettings({ hidden: 100000 });
  const shape = { width: 784, rows: 60000, testRows: 10000 };
  let message = '';
  withLimit('64M', () => {
    assert.throws(() => checkTrainingMemory(s, shape), (e: unknown) => e instanceof ValidationError && ((message = e.message), true));
  });
  assert.match(message, /^hidden: expected a training plan that fits in the 67.1 MB available \(AEKIT_MEMORY_LIMIT\), received one needing about [\d.]+ GB \(Adam moments [\d.]+ GB, .*weights [\d.]+ MB, gradients [\d.]+ MB.*\); at most about (\d+) hidden units fit$/);
  assert.equal(message.split('\n').length, 1);
  const fit = Number(/at most about (\d+)/.exec(message)![1]);
  const need = (h: number) => estimateTraining({ layers: [784, h], tied: false, optimizer: 'adam', batchSize: 256, rows: 60000, testRows: 10000 }).bytes;
  assert.ok(need(fit) <= 64 * 2 ** 20 && need(fit + 1) > 64 * 2 ** 20, `${fit}`);
  withLimit('64M', () => checkTrainingMemory(resolveSettings({ hidden: fit }), shape));
  // setupTraining refuses before the model is made (the same plan would take gigabytes).
  withLimit('1M', () => {
    assert.throws(() => setupTraining({ hidden: 100000 }, { x: matrix(4, 784) }, backend), /^ValidationError: hidden: expected a training plan that fits in the 1.05 MB available \(AEKIT_MEMORY_LIMIT\)/);
    assert.throws(() => setupTraining({ layers: [784, 100000] }, { x: matrix(4, 784) }, backend), /^ValidationError: layers: expected a training plan that fits/);
    assert.throws(() => new Autoencoder({ layers: [784, 100000], activation: 'tanh', outputActivation: 'tanh', tied: false }, backend), /^ValidationError: layers: expected a model that fits in the 1.05 MB available \(AEKIT_MEMORY_LIMIT\), received one needing about 1.26 GB \(weights 628 MB, gradients 628 MB\)$/);
  });
  // The batches rather than the model: named as batch.
  withLimit('16M', () => {
    assert.throws(() => checkTrainingMemory(resolveSettings({ hidden: 30, batchSize: 60000 }), shape), /^ValidationError: batch: expected a training plan that fits/);
  });
  assert.throws(() => checkMemory('x', estimate([['a', 10]]), 'a thing', { limit: { bytes: 5, source: 'test' } }), /^ValidationError: x: expected a thing that fits in the 5 B available \(test\), received one needing about 10 B \(a 10 B\)$/);
});

test("layer sizes whose weights would be longer than a typed array are refused by name, not with V8's 'Invalid typed array length'", (t) => {
  if (MAX_TYPED_ARRAY_LENGTH >= 2 ** 40) return t.skip(`this Node's typed arrays hold ${MAX_TYPED_ARRAY_LENGTH} values`);
  assert.throws(
    () => validateArchitecture({ layers: [784, 1 << 20, 1 << 20], activation: 'tanh', outputActivation: 'tanh', tied: false }),
    (e: unknown) => e instanceof ValidationError && e.message === `layers: expected layer sizes whose weight matrices hold at most ${MAX_TYPED_ARRAY_LENGTH} values (Node's largest typed array), received 1048576→1048576 (1099511627776 values)`,
  );
  assert.throws(() => checkTrainingMemory(resolveSettings({ layers: [784, 1 << 20, 1 << 20] }), { width: 784, rows: 0 }), /^ValidationError: layers: expected layer sizes whose weight matrices hold at most/);
});

test('checkPicture: above Node\'s largest buffer or the memory available, one line with how many rows fit', () => {
  const shape = { width: 64, height: 1 };
  const plan = (n: number) => ({ ...reconstructionSize(n, shape, false, false), parts: [['scaled rows', 4 * 64 * n]] as Array<[string, number]> });
  let message = '';
  assert.throws(() => checkPicture('count', 1000000, plan, { limit: { bytes: 2 ** 50, source: 'test' } }), (e: unknown) => e instanceof ValidationError && ((message = e.message), true));
  const { width, height } = plan(1000000);
  const big = MAX_TYPED_ARRAY_LENGTH < 2 ** 40;
  if (big) {
    assert.match(message, new RegExp(`^count: expected a picture of at most ${formatBytes(MAX_TYPED_ARRAY_LENGTH)} \\(Node's largest buffer\\), received 1000000 rows needing a ${width}x${height} picture of [\\d.]+ GB; at most about (\\d+) rows fit$`));
    const fit = Number(/at most about (\d+) rows/.exec(message)![1]);
    const filtered = (n: number) => { const p = plan(n); return (4 * p.width + 1) * p.height; };
    assert.ok(filtered(fit) <= MAX_TYPED_ARRAY_LENGTH && filtered(fit + 1) > MAX_TYPED_ARRAY_LENGTH, `${fit}`);
  }
  assert.throws(() => checkPicture('count', 1000, plan, { limit: { bytes: 1e6, source: 'test' } }), /^ValidationError: count: expected a picture that fits in the 1 MB available \(test\), received 1000 rows \(a 2760x2594 picture\) needing about [\d.]+ MB \(PNG encoding [\d.]+ MB, picture [\d.]+ MB, scaled rows 256 kB\); at most about \d+ rows fit$/);
  checkPicture('count', 10, plan, { limit: { bytes: 1e6, source: 'test' } });
  assert.equal(largestFitting(100, (n) => n * n <= 50), 7);
  assert.equal(largestFitting(100, () => false), 0);
  assert.equal(largestFitting(100, () => true), 100);
});

test('reconstructionSize is the size of the picture reconstructionPng draws', () => {
  for (const [w, h, image] of [[28, 28, true], [64, 1, false]] as const) {
    const model = new Autoencoder({ layers: [w * h, 3], activation: 'tanh', outputActivation: 'tanh', tied: false }, backend, new Rng(1));
    const rows = matrix(25, w * h);
    for (const count of [1, 9, 10, 11, 25]) {
      for (const corrupted of [null, rows]) {
        const png = decodePng(reconstructionPng(model, { kind: 'symmetric' } as never, rows, image ? { width: w, height: h } : null, count, corrupted));
        assert.deepEqual(reconstructionSize(count, { width: w, height: h }, image, corrupted !== null), { width: png.width, height: png.height }, `${w}x${h} ${count} ${corrupted ? 'corrupted' : ''}`);
      }
    }
  }
});
