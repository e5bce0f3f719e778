import { readFileSync } from 'node:fs';
import { DataFormatError, ValidationError, expected, show } from '../core/errors.js';
import { fileError } from './idx.js';

/** A table of numbers, row-major: value (r, c) is data[r * cols + c]. */
export interface CsvTable {
  rows: number;
  cols: number;
  data: Float32Array;
  header: string[] | null;
}

export interface CsvOptions {
  /** true: line 1 is a header; false: it is data; 'auto' (default): a header only when none of its fields is a number. */
  header?: boolean | 'auto';
  /** Field separator, ',' by default. */
  delimiter?: string;
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

/** Header names may be quoted by spreadsheet exports; the quotes are not part of the name. */
function unquote(name: string): string {
  return name.length >= 2 && name.startsWith('"') && name.endsWith('"') ? name.slice(1, -1) : name;
}

/** Parses delimited text of numbers. Every error is a one-line DataFormatError naming the source and line. */
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

  // A byte-order mark from a spreadsheet export would otherwise glue itself to the first field.
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const lines = body.split(/\r\n|\r|\n/);

  let header: string[] | null = null;
  let cols = -1;
  let colsLine = 0; // the line that fixed the field count, for ragged-row messages
  let firstLine = 0;
  const values: number[] = [];

  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    const lineNo = i + 1;
    const fields = raw.split(delimiter).map((f) => f.trim());

    if (firstLine === 0) {
      firstLine = lineNo;
      const isHeader = headerMode === 'auto' ? !fields.some(looksNumeric) : headerMode;
      cols = fields.length;
      colsLine = lineNo;
      if (isHeader) {
        header = fields.map(unquote);
        continue;
      }
    } else if (fields.length !== cols) {
      throw new DataFormatError(
        `${source} line ${lineNo}: expected ${cols} fields as on line ${colsLine}, received ${fields.length}`,
      );
    }

    for (let c = 0; c < fields.length; c++) {
      const field = fields[c]!;
      const name = header?.[c];
      const where = `${source} line ${lineNo}, column ${c + 1}${name !== undefined && name !== '' ? ` (${show(name)})` : ''}`;
      if (field === '') {
        // Number('') is 0, which would hide a missing value.
        throw new DataFormatError(`${where}: expected a finite number, received an empty field`);
      }
      const v = Number(field);
      if (Number.isNaN(v) && !/^[+-]?nan$/i.test(field)) {
        throw new DataFormatError(expected(where, 'a number', field));
      }
      // The table is float32: a double beyond its range would silently become Infinity there.
      if (!Number.isFinite(Math.fround(v))) {
        throw new DataFormatError(expected(where, 'a finite number within float32 range', field));
      }
      values.push(v);
    }
  }

  if (firstLine === 0) {
    throw new DataFormatError(`${source}: expected at least one data row, received no non-blank lines (empty file)`);
  }
  if (values.length === 0) {
    throw new DataFormatError(`${source}: expected at least one data row, received only the header on line ${firstLine}`);
  }
  return { rows: values.length / cols, cols, data: Float32Array.from(values), header };
}

/** Reads and parses a CSV file of numbers (UTF-8). The path names the source in errors unless opts.source does. */
export function readCsvFile(path: string, opts: CsvOptions = {}): CsvTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw fileError(path, 'a readable CSV file', err);
  }
  return parseCsv(text, { ...opts, source: opts.source ?? path });
}
