import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { AeError, DataFormatError, ValidationError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { parseCsv } from './csv.js';
import { loadDataset, splitValidation } from './dataset.js';
import { encodeIdx, parseIdx, type IdxArray } from './idx.js';
import { detectKind, readSource, recordProblem } from './source.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../../test/fixtures/cases/${name}`, import.meta.url));

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'aekit-source-'));
}

function u8Images(n: number, h: number, w: number, seed: number): IdxArray {
  const rng = new Rng(seed);
  const data = new Uint8Array(n * h * w);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  return { type: 'u8', dims: [n, h, w], data };
}

/** An IDX folder in the layout of Fashion-MNIST / EMNIST, optionally gzip-compressed. */
function idxFolder(dir: string, opts: { gz?: boolean; labels?: number[]; testLabels?: number[]; prefix?: string; labelType?: 'u8' | 'i16' } = {}): void {
  mkdirSync(dir, { recursive: true });
  const ext = opts.gz ? '.gz' : '';
  const put = (name: string, arr: IdxArray) => writeFileSync(join(dir, `${opts.prefix ?? ''}${name}${ext}`), opts.gz ? gzipSync(encodeIdx(arr)) : encodeIdx(arr));
  const labels = opts.labels ?? [0, 1, 2, 3, 4, 5];
  const testLabels = opts.testLabels ?? [5, 4, 3];
  const lab = (l: number[]): IdxArray => (opts.labelType === 'i16' ? { type: 'i16', dims: [l.length], data: Int16Array.from(l) } : { type: 'u8', dims: [l.length], data: Uint8Array.from(l) });
  put('train-images-idx3-ubyte', u8Images(labels.length, 4, 5, 1));
  put('train-labels-idx1-ubyte', lab(labels));
  put('t10k-images-idx3-ubyte', u8Images(testLabels.length, 4, 5, 2));
  put('t10k-labels-idx1-ubyte', lab(testLabels));
}

test('detectKind tells each source apart by what it is, and names a path of no known kind', () => {
  const dir = tmp();
  try {
    assert.equal(detectKind('mnist'), 'mnist');
    idxFolder(join(dir, 'idx'));
    assert.equal(detectKind(join(dir, 'idx')), 'idx');
    assert.equal(detectKind(join(dir, 'idx', 'train-images-idx3-ubyte')), 'idx');
    writeFileSync(join(dir, 'a.csv'), '1,2\n3,4\n');
    assert.equal(detectKind(join(dir, 'a.csv')), 'csv');
    writeFileSync(join(dir, 'a.tsv'), '1\t2\n');
    assert.equal(detectKind(join(dir, 'a.tsv')), 'csv');
    writeFileSync(join(dir, 'x.npy'), 'whatever');
    assert.equal(detectKind(join(dir, 'x.npy')), 'npy');
    // Extensionless IDX by its magic bytes, gzip too.
    writeFileSync(join(dir, 'blob'), encodeIdx(u8Images(1, 2, 2, 0)));
    assert.equal(detectKind(join(dir, 'blob')), 'idx');
    writeFileSync(join(dir, 'blob.gz'), gzipSync(encodeIdx(u8Images(1, 2, 2, 0))));
    assert.equal(detectKind(join(dir, 'blob.gz')), 'idx');
    writeFileSync(join(dir, 'notes.bin'), 'hello');
    for (const [path, pattern] of [
      [join(dir, 'nope.csv'), /does not exist/],
      [join(dir, 'notes.bin'), /another kind/],
      [dir + '/empty', /does not exist/],
    ] as const) {
      assert.throws(() => detectKind(path), (e: unknown) => e instanceof DataFormatError && pattern.test(e.message) && !e.message.includes('\n'));
    }
    mkdirSync(join(dir, 'empty'));
    assert.throws(() => detectKind(join(dir, 'empty')), (e: unknown) => e instanceof DataFormatError && /no IDX images file and no PNG\/JPEG/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('case idx-gzip: the .gz files as mirrors ship them are read, with their test part and labels', async () => {
  const d = await loadDataset(fixture('idx-gzip'));
  assert.equal(d.kind, 'idx');
  assert.deepEqual([d.train.rows, d.train.cols, d.test?.rows], [100, 784, 20]);
  assert.deepEqual(d.image, { width: 28, height: 28 });
  assert.equal(d.labels?.length, 100);
  assert.equal(d.testLabels?.length, 20);
  assert.deepEqual(d.rawRange, { min: 0, max: 255 });
  assert.equal(d.perFeature, false);
  assert.match(d.record!.sha256!, /^[0-9a-f]{64}$/);
  // The same bytes uncompressed give the same rows (and a different record hash).
  const dir = tmp();
  try {
    for (const n of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
      const arr = parseIdx(new Uint8Array(readFileSync(fixture(`idx-gzip/${n}.gz`))));
      writeFileSync(join(dir, n), encodeIdx(arr));
    }
    const plain = await loadDataset(dir);
    assert.deepEqual(plain.train.data, d.train.data);
    assert.deepEqual(plain.testLabels, d.testLabels);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('case idx-other-dataset: another IDX set is read from its folder and recorded as itself, never as MNIST', async () => {
  const dir = tmp();
  try {
    idxFolder(join(dir, 'fashion'));
    const d = await loadDataset(join(dir, 'fashion'));
    assert.equal(d.kind, 'idx');
    assert.equal(d.record!.kind, 'idx');
    assert.equal(d.record!.path, join(dir, 'fashion'));
    assert.deepEqual(d.record!.shape, [6, 4, 5]);
    assert.equal(d.record!.labels, true);
    assert.deepEqual(d.image, { width: 5, height: 4 });
    assert.deepEqual([...d.labels!], [0, 1, 2, 3, 4, 5]);
    assert.deepEqual([...d.train.data.subarray(0, 20)], [...u8Images(6, 4, 5, 1).data.subarray(0, 20)]);
    // One images file alone is a source too (no test part).
    const one = await loadDataset(join(dir, 'fashion', 'train-images-idx3-ubyte'));
    assert.equal(one.test, null);
    assert.deepEqual([...one.labels!], [0, 1, 2, 3, 4, 5]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('IDX labels are any integers (EMNIST letters 1..26, i16 values), with prefixed file names', async () => {
  const dir = tmp();
  try {
    idxFolder(join(dir, 'letters'), { gz: true, prefix: 'emnist-letters-', labels: [1, 26, 13, 7], testLabels: [26, 1] });
    const d = await loadDataset(join(dir, 'letters'));
    assert.deepEqual([...d.labels!], [1, 26, 13, 7]);
    assert.deepEqual([...d.testLabels!], [26, 1]);
    idxFolder(join(dir, 'wide'), { labelType: 'i16', labels: [-3, 1000, 7], testLabels: [2] });
    assert.deepEqual([...(await loadDataset(join(dir, 'wide'))).labels!], [-3, 1000, 7]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('2-D IDX rows of floats are a table (a range per column), as a 2-D float .npy is; u8 rows are pixels', async () => {
  const dir = tmp();
  try {
    writeFileSync(join(dir, 'rows-images-idx2-ubyte'), encodeIdx({ type: 'f32', dims: [3, 2], data: Float32Array.from([0, 1000, 1, 2000, 2, 3000]) }));
    const t = await loadDataset(join(dir, 'rows-images-idx2-ubyte'));
    assert.deepEqual([t.perFeature, t.image], [true, null]);
    writeFileSync(join(dir, 'px-images-idx2-ubyte'), encodeIdx({ type: 'u8', dims: [2, 4], data: Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]) }));
    const u = await loadDataset(join(dir, 'px-images-idx2-ubyte'));
    assert.deepEqual([u.perFeature, u.rawRange, u.image], [false, { min: 0, max: 255 }, { width: 2, height: 2 }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('IDX folder errors name the file: a label count that does not match, float labels, a second training file', async () => {
  const dir = tmp();
  try {
    idxFolder(join(dir, 'a'));
    writeFileSync(join(dir, 'a', 'train-labels-idx1-ubyte'), encodeIdx({ type: 'u8', dims: [2], data: Uint8Array.from([1, 2]) }));
    await assert.rejects(loadDataset(join(dir, 'a')), (e: unknown) => e instanceof DataFormatError && /train-labels-idx1-ubyte: expected 6 labels/.test(e.message));
    writeFileSync(join(dir, 'a', 'train-labels-idx1-ubyte'), encodeIdx({ type: 'f32', dims: [6], data: new Float32Array(6) }));
    await assert.rejects(loadDataset(join(dir, 'a')), (e: unknown) => e instanceof DataFormatError && /integer labels/.test(e.message));
    idxFolder(join(dir, 'b'));
    copyFileSync(join(dir, 'b', 'train-images-idx3-ubyte'), join(dir, 'b', 'other-images-idx3-ubyte'));
    await assert.rejects(loadDataset(join(dir, 'b')), (e: unknown) => e instanceof DataFormatError && /one training IDX images file/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a recorded source is refused in one line once it moves or changes, and passes while unchanged', async () => {
  const dir = tmp();
  try {
    const csv = join(dir, 't.csv');
    writeFileSync(csv, 'a,b\n1,2\n3,4\n5,7\n');
    const d = await loadDataset(csv);
    assert.equal(recordProblem(d.record!), null);
    appendFileSync(csv, '9,9\n');
    assert.match(recordProblem(d.record!)!, /has changed since training/);
    renameSync(csv, join(dir, 'moved.csv'));
    assert.match(recordProblem(d.record!)!, /no longer there/);
    idxFolder(join(dir, 'idx'), { gz: true });
    const i = await loadDataset(join(dir, 'idx'));
    assert.equal(recordProblem(i.record!), null);
    // Changing only the labels changes the record too.
    writeFileSync(join(dir, 'idx', 't10k-labels-idx1-ubyte.gz'), gzipSync(encodeIdx({ type: 'u8', dims: [3], data: Uint8Array.from([0, 0, 0]) })));
    assert.match(recordProblem(i.record!)!, /has changed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CSV reading options reach the reader, and options of another kind are refused', async () => {
  const dir = tmp();
  try {
    const tsv = join(dir, 't.txt');
    writeFileSync(tsv, 'x;y;label\n1;2;0\n3;4;1\n');
    const d = await loadDataset(tsv, { read: { csv: { delimiter: ';', labelColumn: 'label' } } });
    assert.deepEqual(d.columns, ['x', 'y']);
    assert.deepEqual([...d.labels!], [0, 1]);
    assert.deepEqual(d.record!.read, { csv: { delimiter: ';', labelColumn: 'label' } });
    idxFolder(join(dir, 'idx'));
    await assert.rejects(loadDataset(join(dir, 'idx'), { read: { csv: { delimiter: ';' } } }), (e: unknown) => e instanceof ValidationError && /a CSV or TSV source/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('splitValidation holds out a seeded fraction, the same rows for the same seed, labels alongside', async () => {
  const dir = tmp();
  try {
    const csv = join(dir, 't.csv');
    writeFileSync(csv, 'a,b,l\n' + Array.from({ length: 50 }, (_, i) => `${i},${-i},${i % 3}`).join('\n') + '\n');
    const d = await loadDataset(csv, { read: { csv: { labelColumn: 'last' } } });
    const s = splitValidation(d, 0.2, 7);
    assert.deepEqual([s.train.rows, s.test!.rows], [40, 10]);
    assert.deepEqual(s.validation, { fraction: 0.2, seed: 7 });
    const again = splitValidation(d, 0.2, 7);
    assert.deepEqual(again.test!.data, s.test!.data);
    assert.notDeepEqual(splitValidation(d, 0.2, 8).test!.data, s.test!.data);
    // Every row lands in exactly one part, with its own label.
    const seen = new Set<number>();
    for (const part of [s.train, s.test!]) for (let r = 0; r < part.rows; r++) seen.add(part.data[r * 2]!);
    assert.equal(seen.size, 50);
    for (let r = 0; r < s.test!.rows; r++) assert.equal(s.testLabels![r], s.test!.data[r * 2]! % 3);
    assert.throws(() => splitValidation(d, 1, 0), ValidationError);
    assert.throws(() => splitValidation(d, 0, 0), ValidationError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A tiny seeded mutator: flip, truncate, insert or overwrite bytes. */
function mutate(src: Uint8Array, rng: Rng): Uint8Array {
  const b = Uint8Array.from(src);
  switch (rng.int(4)) {
    case 0: {
      for (let k = 0; k <= rng.int(4); k++) b[rng.int(b.length)] = rng.int(256);
      return b;
    }
    case 1:
      return b.subarray(0, rng.int(b.length));
    case 2: {
      const at = rng.int(b.length + 1);
      return Uint8Array.from([...b.subarray(0, at), rng.int(256), ...b.subarray(at)]);
    }
    default: {
      // The header: where a reader's bounds checks live.
      for (let k = 0; k < 2; k++) b[rng.int(Math.min(16, b.length))] = rng.int(256);
      return b;
    }
  }
}

test('fuzz: mutated IDX files (plain and gzip) parse consistently or throw a typed error', () => {
  const rng = new Rng(2026);
  const plain = encodeIdx(u8Images(3, 4, 5, 9));
  const gz = new Uint8Array(gzipSync(plain));
  let parsed = 0;
  let refused = 0;
  for (const base of [plain, gz]) {
    for (let m = 0; m < 300; m++) {
      const bytes = mutate(base, rng);
      try {
        const a = parseIdx(bytes, 'mutant');
        assert.equal(a.data.length, a.dims.reduce((x, y) => x * y, 1));
        parsed++;
      } catch (err) {
        assert.ok(err instanceof DataFormatError, `mutant ${m}: expected DataFormatError, got ${String(err)}`);
        assert.ok(!(err as Error).message.includes('\n'));
        refused++;
      }
    }
  }
  assert.ok(parsed > 0 && refused > 0, `${parsed} parsed, ${refused} refused`);
});

test('fuzz: mutated CSV text parses to a consistent table or throws a typed error', () => {
  const rng = new Rng(7);
  const base = new TextEncoder().encode('"a, x",b,label\n1.5,2,0\n3,-4e2,1\n"5",6,0\n');
  let parsed = 0;
  let refused = 0;
  for (let m = 0; m < 400; m++) {
    const text = new TextDecoder().decode(mutate(base, rng));
    try {
      const t = parseCsv(text, { ...(m % 2 ? { labelColumn: 'last' as const } : {}), source: 'mutant' });
      assert.equal(t.data.length, t.rows * t.cols);
      parsed++;
    } catch (err) {
      assert.ok(err instanceof AeError, `mutant ${m}: expected a typed error, got ${String(err)}`);
      assert.ok(!(err as Error).message.includes('\n'), (err as Error).message);
      refused++;
    }
  }
  assert.ok(parsed > 0 && refused > 0, `${parsed} parsed, ${refused} refused`);
});

test('readSource of MNIST records the bundled set without a hash', async () => {
  const r = await readSource('mnist', {}, 10);
  assert.equal(r.record.kind, 'mnist');
  assert.equal(r.record.sha256, null);
  assert.equal(r.train.rows, 10);
  assert.equal(recordProblem(r.record), null);
});
