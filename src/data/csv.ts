import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { DataFormatError, ValidationError, expected, show } from '../core/errors.js';
import { fileError } from './idx.js';

/** A table of numbers, row-major: value (r, c) is data[r * cols + c]. */
export interface CsvTable {
  rows: number;
  cols: number;
  data: Float32Array;
  /** The kept columns' names, when the file has a header. */
  header: string[] | null;
  /** The label column's integer values, one per row, when a label column was named. */
  labels: Int32Array | null;
  /** The label column's name (or its 1-based number when the file has no header). */
  labelName: string | null;
}

/** A column named by its header name, or by its 0-based index. */
export type ColumnRef = string | number;

export interface CsvOptions {
  /**
   * true: line 1 is a header; false: it is data; 'auto' (default): a header when none of its
   * fields is a number, or when it is exactly 0,1,…,n−1 (pandas' default header for unnamed columns).
   */
  header?: boolean | 'auto';
  /** Field separator: ',' by default, a tab for a .tsv file. */
  delimiter?: string;
  /** The feature columns to keep, in this order (default: all but the label column). */
  columns?: ColumnRef[];
  /** A column of integer labels, kept apart from the features; 'last' is the last column. */
  labelColumn?: ColumnRef | 'last';
  /** Names the data in error messages (a path, say). */
  source?: string;
}

/**
 * Does the field look like a number, finite or not? Used only to decide whether line 1
 * is a header, so that a line 1 of "NaN,Infinity" counts as data and gets the precise
 * non-finite error rather than being taken for column names.
 */
function looksNumeric(field: string): boolean {
  if (field === '') return false;
  return !Number.isNaN(Number(field)) || /^[+-]?nan$/i.test(field);
}

/** pandas writes 0,1,…,n−1 as the header of a frame whose columns have no names. */
function isIndexHeader(fields: string[]): boolean {
  return fields.length >= 2 && fields.every((f, i) => f === String(i));
}

function resolveColumn(ref: ColumnRef | 'last', header: string[] | null, cols: number, source: string, what: string): number {
  if (ref === 'last') return cols - 1;
  if (typeof ref === 'number') {
    if (!Number.isSafeInteger(ref) || ref < 0 || ref >= cols) throw new ValidationError(expected(`${source} ${what}`, `a column index 0..${cols - 1}`, ref));
    return ref;
  }
  const byName = header ? header.indexOf(ref) : -1;
  if (byName >= 0) return byName;
  // A number written as text ("3") names an index when no header column has that name.
  if (/^\d+$/.test(ref) && Number(ref) < cols) return Number(ref);
  const names = header ? header.map((h) => show(h)).join(', ') : `indices 0..${cols - 1} (the file has no header)`;
  throw new ValidationError(expected(`${source} ${what}`, `one of ${names}`, ref));
}

/**
 * Parses delimited text of numbers with csv-parse (RFC 4180 quoting, a byte-order mark,
 * CRLF). Every error is a one-line DataFormatError naming the source and line, or a
 * ValidationError for an option that does not fit the file.
 */
export function parseCsv(text: string, opts: CsvOptions = {}): CsvTable {
  const source = opts.source ?? 'CSV data';
  const delimiter = opts.delimiter ?? ',';
  const headerMode = opts.header ?? 'auto';
  if (typeof delimiter !== 'string' || delimiter.length === 0) {
    throw new ValidationError(expected('CSV delimiter', 'a non-empty string', delimiter));
  }
  if (headerMode !== true && headerMode !== false && headerMode !== 'auto') {
    throw new ValidationError(expected('CSV header option', "true, false or 'auto'", headerMode));
  }
  let parsed: { record: string[]; info: { lines: number } }[];
  try {
    // info: each record with the parser's line count, for messages.
    parsed = parse(text, { delimiter, bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, info: true }) as unknown as typeof parsed;
  } catch (err) {
    const e = err as { message?: string };
    throw new DataFormatError(`${source}: expected CSV, received text the parser rejects: ${(e.message ?? String(err)).split('\n')[0]}`);
  }
  const records = parsed.map((p) => p.record);
  const lineOf = (r: number): number => parsed[r]?.info.lines ?? r + 1;
  if (records.length === 0) {
    throw new DataFormatError(`${source}: expected at least one data row, received no non-blank lines (empty file)`);
  }
  const first = records[0]!;
  const isHeader = headerMode === 'auto' ? !first.some(looksNumeric) || isIndexHeader(first) : headerMode;
  const width = first.length;
  const header = isHeader ? first : null;
  const body = isHeader ? records.slice(1) : records;
  if (body.length === 0) {
    throw new DataFormatError(`${source}: expected at least one data row, received only the header on line ${lineOf(0)}`);
  }
  const label = opts.labelColumn === undefined ? -1 : resolveColumn(opts.labelColumn, header, width, source, 'label column');
  const keep = opts.columns
    ? opts.columns.map((c) => resolveColumn(c, header, width, source, 'column'))
    : Array.from({ length: width }, (_, i) => i).filter((i) => i !== label);
  if (keep.length === 0) throw new ValidationError(expected(`${source} columns`, 'at least one feature column besides the label', 'none'));
  if (keep.includes(label)) throw new ValidationError(expected(`${source} columns`, 'feature columns other than the label column', `column ${label} in both`));
  const cols = keep.length;
  const data = new Float32Array(body.length * cols);
  const labels = label >= 0 ? new Int32Array(body.length) : null;
  const offset = isHeader ? 1 : 0;
  body.forEach((fields, r) => {
    const lineNo = lineOf(r + offset);
    if (fields.length !== width) {
      throw new DataFormatError(`${source} line ${lineNo}: expected ${width} fields as on line ${lineOf(0)}, received ${fields.length}`);
    }
    const where = (c: number) => {
      const name = header?.[c];
      return `${source} line ${lineNo}, column ${c + 1}${name !== undefined && name !== '' ? ` (${show(name)})` : ''}`;
    };
    keep.forEach((c, k) => {
      data[r * cols + k] = numberField(fields[c]!, where(c));
    });
    if (labels) {
      const v = numberField(fields[label]!, where(label));
      if (!Number.isSafeInteger(v) || Math.abs(v) > 2 ** 31 - 1) throw new DataFormatError(expected(where(label), 'an integer label', fields[label]));
      labels[r] = v;
    }
  });
  const labelName = label < 0 ? null : (header?.[label] ?? String(label + 1));
  return { rows: body.length, cols, data, header: header ? keep.map((c) => header[c]!) : null, labels, labelName };
}

function numberField(field: string, where: string): number {
  if (field === '') {
    // Number('') is 0, which would hide a missing value.
    throw new DataFormatError(`${where}: expected a finite number, received an empty field`);
  }
  const v = Number(field);
  if (Number.isNaN(v) && !/^[+-]?nan$/i.test(field)) throw new DataFormatError(expected(where, 'a number', field));
  // The table is float32: a double beyond its range would silently become Infinity there.
  if (!Number.isFinite(Math.fround(v))) throw new DataFormatError(expected(where, 'a finite number within float32 range', field));
  return v;
}

/** The delimiter a path's extension implies: a tab for .tsv or .tab, else a comma. */
export function delimiterFor(path: string): string {
  return /\.(tsv|tab)$/i.test(path) ? '\t' : ',';
}

/** Reads and parses a CSV file of numbers (UTF-8). The path names the source in errors unless opts.source does. */
export function readCsvFile(path: string, opts: CsvOptions = {}): CsvTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw fileError(path, 'a readable CSV file', err);
  }
  return parseCsv(text, { delimiter: delimiterFor(path), ...opts, source: opts.source ?? path });
}
