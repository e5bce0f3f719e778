import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataFormatError, ValidationError } from '../core/errors.js';
import { parseCsv, readCsvFile } from './csv.js';

/** Asserts a one-line DataFormatError whose message matches every pattern. */
function throwsFormat(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DataFormatError, `expected DataFormatError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), 'message is one line');
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

test('parses a header and rows, row-major', () => {
  const t = parseCsv('a,b,c\n1,2,3\n4.5,-6,7e2\n');
  assert.deepEqual(t.header, ['a', 'b', 'c']);
  assert.equal(t.rows, 2);
  assert.equal(t.cols, 3);
  assert.ok(t.data instanceof Float32Array);
  assert.deepEqual([...t.data], [1, 2, 3, 4.5, -6, 700]);
});

test('handles CRLF, no trailing newline, blank lines and padding', () => {
  const t = parseCsv('\r\n 1 , 2\r\n\r\n   \r\n3,4');
  assert.equal(t.header, null);
  assert.deepEqual([t.rows, t.cols], [2, 2]);
  assert.deepEqual([...t.data], [1, 2, 3, 4]);
  assert.deepEqual([...parseCsv('1,2\r\n3,4\r\n').data], [1, 2, 3, 4]);
});

test('strips a byte-order mark and quotes around header names', () => {
  const t = parseCsv('\uFEFF"x","y"\n1,2\n');
  assert.deepEqual(t.header, ['x', 'y']);
  assert.deepEqual([...parseCsv('\uFEFF1,2\n').data], [1, 2]);
});

test('header option: true, false and auto', () => {
  const forced = parseCsv('1,2\n3,4\n', { header: true });
  assert.deepEqual(forced.header, ['1', '2']);
  assert.equal(forced.rows, 1);
  assert.equal(parseCsv('1,2\n3,4\n', { header: false }).rows, 2);
  assert.equal(parseCsv('1,2\n3,4\n').header, null);
  throwsFormat(() => parseCsv('x,y\n1,2\n', { header: false, source: 'h.csv' }), /^h\.csv line 1, column 1: expected a number, received "x"$/);
});

test('other delimiters', () => {
  const t = parseCsv('p;q\n1;2\n', { delimiter: ';' });
  assert.deepEqual(t.header, ['p', 'q']);
  assert.deepEqual([...t.data], [1, 2]);
  assert.deepEqual([...parseCsv('1\t2\n', { delimiter: '\t' }).data], [1, 2]);
  assert.throws(() => parseCsv('1', { delimiter: '' }), ValidationError);
});

test('a single column file', () => {
  const t = parseCsv('v\n1\n2\n3\n');
  assert.deepEqual([t.rows, t.cols], [3, 1]);
});

test('rejects an empty file or one with no data rows', () => {
  throwsFormat(() => parseCsv('', { source: 'e.csv' }), /^e\.csv: /, /at least one data row/, /empty file/);
  throwsFormat(() => parseCsv('\n  \r\n\n', { source: 'e.csv' }), /empty file/);
  throwsFormat(() => parseCsv('\na,b\n\n', { source: 'h.csv' }), /^h\.csv: /, /only the header on line 2/);
});

test('rejects a ragged row, naming both lines', () => {
  throwsFormat(
    () => parseCsv('a,b,c\n1,2,3\n\n4,5\n', { source: 'r.csv' }),
    /^r\.csv line 4: expected 3 fields as on line 1, received 2$/,
  );
  throwsFormat(() => parseCsv('1,2\n3,4,5\n', { source: 'r.csv' }), /^r\.csv line 2: expected 2 fields as on line 1, received 3$/);
});

test('rejects a non-number field, quoting it and giving the column', () => {
  throwsFormat(
    () => parseCsv('a,b\n1,2\n3,abc\n', { source: 'n.csv' }),
    /^n\.csv line 3, column 2 \("b"\): expected a number, received "abc"$/,
  );
  // A first line with some numbers is data, so its words are errors, not a header.
  throwsFormat(() => parseCsv('1,label\n2,3\n', { source: 'm.csv' }), /^m\.csv line 1, column 2: expected a number, received "label"$/);
  throwsFormat(() => parseCsv('1,2\n3,4x\n'), /^CSV data line 2, column 2: /, /"4x"/);
});

test('rejects NaN, Infinity, out-of-float32 values and empty fields', () => {
  throwsFormat(() => parseCsv('1,2\nNaN,3\n', { source: 'f.csv' }), /^f\.csv line 2, column 1: expected a finite number/, /"NaN"/);
  throwsFormat(() => parseCsv('1,2\n3,-Infinity\n', { source: 'f.csv' }), /^f\.csv line 2, column 2: expected a finite number/, /"-Infinity"/);
  throwsFormat(() => parseCsv('1,2\n3,1e39\n', { source: 'f.csv' }), /^f\.csv line 2, column 2: expected a finite number/, /"1e39"/);
  throwsFormat(() => parseCsv('1,2\n3,\n', { source: 'f.csv' }), /^f\.csv line 2, column 2: expected a finite number, received an empty field$/);
  throwsFormat(() => parseCsv('1, ,2\n', { source: 'f.csv' }), /^f\.csv line 1, column 2: /, /empty field/);
  // A first line of non-finite numbers is data with a precise error, not a header.
  throwsFormat(() => parseCsv('NaN,Infinity\n1,2\n', { source: 'f.csv' }), /^f\.csv line 1, column 1: expected a finite number/);
});

test('readCsvFile names the path in errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'csv-test-'));
  try {
    const good = join(dir, 'good.csv');
    writeFileSync(good, 'a,b\n1,2\n');
    assert.deepEqual([...readCsvFile(good).data], [1, 2]);

    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'a,b\n1,2\n3\n');
    throwsFormat(() => readCsvFile(bad), /bad\.csv line 3: expected 2 fields as on line 1, received 1$/);
    throwsFormat(() => readCsvFile(join(dir, 'nope.csv')), /nope\.csv: /, /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Cases from ../shared/cases/, copied into test/fixtures/cases/.
const fixture = (name: string): string => fileURLToPath(new URL(`../../test/fixtures/cases/${name}`, import.meta.url));

test("pandas' default header 0,1,…,n−1 is a header: both files give the same table", () => {
  const numeric = readCsvFile(fixture('pandas-default-header.csv'));
  const named = readCsvFile(fixture('control-named-header.csv'));
  assert.equal(numeric.rows, 300);
  assert.equal(numeric.rows, named.rows);
  assert.deepEqual(numeric.data, named.data);
  assert.deepEqual(numeric.header, Array.from({ length: numeric.cols }, (_, i) => String(i)));
  let max = -Infinity;
  for (const v of numeric.data) max = Math.max(max, v);
  assert.ok(max <= 1, `max ${max}: the header row was not read as data`);
  // A first data row that is not 0..n−1 stays data.
  assert.equal(parseCsv('0,1,3\n4,5,6\n').rows, 2);
});

test('quoted header names with commas, a tab delimiter, and a label column', () => {
  const t = readCsvFile(fixture('quoted-header-with-commas.csv'));
  assert.deepEqual(t.header, ['sensor, left', 'sensor, right', 'temp (C)']);
  assert.equal(t.cols, 3);
  assert.equal(t.rows, 40);
  const tab = parseCsv('"a\tb"\tc\n1\t2\n', { delimiter: '\t' });
  assert.deepEqual(tab.header, ['a\tb', 'c']);
  const l = parseCsv('x,y,kind\n1,2,3\n4,5,-1\n', { labelColumn: 'last' });
  assert.deepEqual([...l.labels!], [3, -1]);
  assert.equal(l.labelName, 'kind');
  assert.equal(l.cols, 2);
  assert.deepEqual(parseCsv('x,y,kind\n1,2,3\n', { labelColumn: 'kind', columns: ['y'] }).data, Float32Array.from([2]));
  assert.throws(() => parseCsv('x,y\n1,2\n', { labelColumn: 'z' }), /label column: expected one of "x", "y", received "z"/);
  throwsFormat(() => parseCsv('x,k\n1,2.5\n', { labelColumn: 'k' }), /column 2 \("k"\): expected an integer label/);
});
