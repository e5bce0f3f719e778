import type { Command } from 'commander';
import { parse } from 'csv-parse/sync';
import { ValidationError, expected } from '../core/errors.js';
import type { ColumnRef } from '../data/csv.js';
import type { ImageColor } from '../data/images.js';
import type { ReadOptions } from '../data/source.js';
import { choiceFlag, intFlag } from './options.js';

/** The flags that say how a source is read; every data-reading command takes them. */
export interface ReadFlags {
  header?: string;
  delimiter?: string;
  columns?: string;
  labelColumn?: string;
  imageSize?: string;
  color?: string;
}

export const DATA_HELP =
  '"mnist", an IDX folder or file (.gz read too), a .npy file, a folder of PNG/JPEG images (one subfolder per class for labels), or a CSV/TSV';

/** Adds --header, --delimiter, --columns, --label-column, --image-size and --color to a command. */
export function addReadOptions(cmd: Command): Command {
  return cmd
    .option('--header <mode>', 'CSV: auto (names, or exactly 0,1,…,n−1, are a header), yes or no', 'auto')
    .option('--delimiter <char>', 'CSV: the field separator (default "," or a tab for .tsv; "\\t" for a tab)')
    .option('--columns <list>', 'CSV: the feature columns to keep, by name or 0-based index, comma-separated ("quote, a name" with a comma)')
    .option('--label-column <ref>', 'CSV: a column of integer labels (name, 0-based index or "last"), kept apart from the features')
    .option('--image-size <WxH>', 'image folder: resize every image to W×H (default: the first image\'s size)')
    .option('--color <mode>', 'image folder: gray or rgb', 'gray');
}

/** The CLI's reading flags as the library's ReadOptions; each value is checked here. */
export function readOptionsFrom(f: ReadFlags): ReadOptions {
  const csv: NonNullable<ReadOptions['csv']> = {};
  if (f.header !== undefined && f.header !== 'auto') csv.header = choiceFlag('--header', f.header, ['auto', 'yes', 'no'] as const) === 'yes';
  if (f.delimiter !== undefined) {
    const d = f.delimiter === '\\t' || f.delimiter === 'tab' ? '\t' : f.delimiter;
    if ([...d].length !== 1 || d === '"' || d === '\n' || d === '\r') throw new ValidationError(expected('--delimiter', 'one character other than a quote or a newline (\\t for a tab)', f.delimiter));
    csv.delimiter = d;
  }
  // Kept as text: the CSV reader takes "3" as a header name first and as an index otherwise.
  const ref = (s: string): ColumnRef => s;
  if (f.columns !== undefined) {
    // Read as one CSV record, so a name holding a comma is given in quotes: --columns '"sensor, left",temp'.
    let parts: string[] | undefined;
    try {
      parts = (parse(f.columns, { trim: true, relax_column_count: true }) as string[][])[0];
    } catch {
      parts = undefined;
    }
    if (!parts || parts.length === 0 || parts.some((p) => p === '')) {
      throw new ValidationError(expected('--columns', 'comma-separated column names or 0-based indices (a name with a comma in double quotes)', f.columns));
    }
    csv.columns = parts.map(ref);
  }
  if (f.labelColumn !== undefined) {
    if (f.labelColumn.trim() === '') throw new ValidationError(expected('--label-column', 'a column name, a 0-based index or "last"', f.labelColumn));
    csv.labelColumn = f.labelColumn === 'last' ? 'last' : ref(f.labelColumn.trim());
  }
  const images: NonNullable<ReadOptions['images']> = {};
  if (f.imageSize !== undefined) {
    const m = /^(\d+)x(\d+)$/i.exec(f.imageSize.trim());
    if (!m) throw new ValidationError(expected('--image-size', 'WxH, e.g. 28x28', f.imageSize));
    images.size = { width: intFlag('--image-size width', m[1]!), height: intFlag('--image-size height', m[2]!) };
  }
  if (f.color !== undefined && f.color !== 'gray') images.color = choiceFlag('--color', f.color, ['gray', 'rgb'] as const) as ImageColor;
  return {
    ...(Object.keys(csv).length ? { csv } : {}),
    ...(Object.keys(images).length ? { images } : {}),
  };
}
