import { ValidationError, expected } from '../core/errors.js';
import { matrix, rowSlice, type Matrix } from '../core/matrix.js';
import { rangeOf, type Scaling } from '../data/scaling.js';
import type { Autoencoder } from '../nn/autoencoder.js';
import { drawImageGrid, encodePng, fillRect, imageGrid, raster, stack, type Raster } from './image.js';
import { drawText, paste, TEXT_HEIGHT, textWidth, withLeftLabels, withTitle, type LabelOptions, type TitleOptions } from './text.js';

export interface ReconstructionFigureOptions {
  width: number;
  height: number;
  /** The range of the model's input space, e.g. [-1, 1] for the notebook's scaling. */
  range: readonly [number, number];
  /** Digits per row. */
  cols?: number;
  zoom?: number;
}

/**
 * The lecture's Fig. 20: originals on top, their reconstructions beneath, pair by pair.
 * With more digits than `cols`, the figure continues in further original/reconstruction bands.
 */
export function reconstructionFigure(originals: Matrix, reconstructions: Matrix, opts: ReconstructionFigureOptions): Raster {
  if (originals.rows !== reconstructions.rows || originals.cols !== reconstructions.cols) {
    throw new ValidationError(
      expected('reconstructions', `${originals.rows}x${originals.cols} to match the originals`, `${reconstructions.rows}x${reconstructions.cols}`),
    );
  }
  const cols = Math.min(opts.cols ?? 10, Math.max(1, originals.rows));
  const bands: Raster[] = [];
  for (let start = 0; start < originals.rows; start += cols) {
    const end = Math.min(originals.rows, start + cols);
    const pair = matrix(2 * cols, originals.cols);
    // Pad a short last band with blank (lowest value) images so columns stay aligned.
    pair.data.fill(opts.range[0]);
    pair.data.set(originals.data.subarray(start * originals.cols, end * originals.cols), 0);
    pair.data.set(reconstructions.data.subarray(start * originals.cols, end * originals.cols), cols * originals.cols);
    bands.push(imageGrid(pair, { width: opts.width, height: opts.height, cols, range: opts.range, zoom: opts.zoom ?? 2, pad: 2 }));
  }
  return stack(bands, 6, 200);
}

export interface KernelFigureOptions {
  width: number;
  height: number;
  /** Kernels per row; defaults to a near-square grid. */
  cols?: number;
  zoom?: number;
}

/**
 * The lecture's Figs. 22–23: each row of the encoder's first weight matrix W [d, n] drawn as
 * a width×height picture, scaled to its own min..max (black lowest, white highest), in a grid
 * in row order: kernel k at row ⌊k / cols⌋, column k mod cols.
 */
export function kernelsFigure(w: Matrix, opts: KernelFigureOptions): Raster {
  const cols = opts.cols ?? Math.ceil(Math.sqrt(w.rows));
  return imageGrid(w, { width: opts.width, height: opts.height, cols, range: 'per-image', zoom: opts.zoom ?? 2, pad: 2, background: 128 });
}

/**
 * Several rows of pictures stacked top to bottom, picture k of every row in column k: the
 * layout of the notebook's inpainting comparison (mask, corrupted, clean, AE, Telea, NS).
 */
export function rowsFigure(rows: Matrix[], opts: { width: number; height: number; range: readonly [number, number]; zoom?: number }): Raster {
  const cols = Math.max(1, ...rows.map((r) => r.rows));
  return stack(
    rows.map((r) => imageGrid(r, { width: opts.width, height: opts.height, cols, range: opts.range, zoom: opts.zoom ?? 2, pad: 2 })),
    4,
    200,
  );
}

/**
 * What rowsFigure draws, with `labels[i]` at the left of row i, centred on its band.
 * Labels are drawn at scale 2 once pictures are zoomed 2x or more (so they read at the
 * pictures' size), else at scale 1; `labelScale` overrides this.
 */
export function labelledRowsFigure(
  rows: Matrix[],
  labels: string[],
  opts: { width: number; height: number; range: readonly [number, number]; zoom?: number; labelScale?: number },
): Raster {
  if (labels.length !== rows.length) {
    throw new ValidationError(expected('row labels', `one per row (${rows.length})`, labels.length));
  }
  const cols = Math.max(1, ...rows.map((r) => r.rows));
  const zoom = opts.zoom ?? 2;
  const gap = 4;
  // The same parts and layout as rowsFigure: band i starts below bands 0..i-1 and their gaps.
  const parts = rows.map((r) => imageGrid(r, { width: opts.width, height: opts.height, cols, range: opts.range, zoom, pad: 2 }));
  const bands: Array<{ label: string; y: number; height: number }> = [];
  let y = 0;
  parts.forEach((p, i) => {
    bands.push({ label: labels[i]!, y, height: p.height });
    y += p.height + gap;
  });
  const labelOpts: LabelOptions = { scale: opts.labelScale ?? (zoom >= 2 ? 2 : 1), background: 255 };
  return withLeftLabels(stack(parts, gap, 200), bands, labelOpts);
}

/** `r` under a wrapped, left-aligned title (scale 2 when the figure is wide enough for 20 characters at that size). */
export function titled(r: Raster, title: string, opts: TitleOptions = {}): Raster {
  return withTitle(r, title, { scale: r.width >= 2 * 6 * 20 ? 2 : 1, ...opts });
}

/** The geometry of reconstructionPng's picture: its size and where each band of up to ten rows goes. */
export interface ReconstructionLayout {
  width: number;
  height: number;
  /** Rows drawn. */
  count: number;
  zoom: number;
  /** Labels' scale, their margin and padding (withLeftLabels'). */
  labelScale: number;
  margin: number;
  labelPad: number;
  labels: string[];
  /** Height of one picture row (a grid one image tall) and the gap between them (labelledRowsFigure's 4). */
  rowHeight: number;
  rowGap: number;
  bands: Array<{ start: number; end: number; x: number; y: number; gridWidth: number; height: number }>;
}

const BAND_GAP = 6;
const GRID_PAD = 2;

/** The size of reconstructionLayout's picture, without laying out its bands. */
export function reconstructionSize(count: number, shape: { width: number; height: number }, picture: boolean, corrupted: boolean): { width: number; height: number } {
  const l = reconstructionLayout(Math.min(count, 10), shape, picture, corrupted);
  const bands = Math.ceil(count / 10);
  const bandHeight = l.bands[0]?.height ?? 0;
  return { width: l.width, height: bands === 0 ? 0 : bands * bandHeight + BAND_GAP * (bands - 1) };
}

/**
 * Where reconstructionPng draws `count` rows of pictures of `shape` (a table's row: width × 1):
 * bands of ten, each the labelled rows (input and reconstruction, or clean, corrupted and
 * reconstruction) of labelledRowsFigure, stacked 6 px apart and centred. Computed without
 * drawing, so a picture can be sized (and refused) before any work.
 */
export function reconstructionLayout(count: number, shape: { width: number; height: number }, picture: boolean, corrupted: boolean): ReconstructionLayout {
  const zoom = picture ? 2 : 4;
  const labels = corrupted ? ['clean', 'corrupted', 'reconstruction'] : ['input', 'reconstruction'];
  const labelScale = zoom >= 2 ? 2 : 1;
  const labelPad = 2 * labelScale + 2;
  const widest = Math.max(0, ...labels.map((l) => textWidth(l, labelScale)));
  const margin = widest === 0 ? 0 : widest + 2 * labelPad;
  const rowHeight = GRID_PAD + shape.height * zoom + GRID_PAD;
  const rowGap = 4;
  const height = labels.length * rowHeight + rowGap * (labels.length - 1);
  const gridWidth = (k: number) => GRID_PAD + k * (shape.width * zoom + GRID_PAD);
  const width = count === 0 ? 0 : margin + gridWidth(Math.min(10, count));
  const bands: ReconstructionLayout['bands'] = [];
  let y = 0;
  for (let start = 0; start < count; start += 10) {
    const end = Math.min(count, start + 10);
    const gw = gridWidth(end - start);
    bands.push({ start, end, x: Math.floor((width - margin - gw) / 2), y, gridWidth: gw, height });
    y += height + BAND_GAP;
  }
  return { width, height: Math.max(0, y - BAND_GAP), count, zoom, labelScale, margin, labelPad, labels, rowHeight, rowGap, bands };
}

/**
 * The Fig. 20 picture of the first `count` rows of `rows` (already scaled) as PNG bytes:
 * originals above their reconstructions, ten to a band, each row labelled. With `corrupted`
 * copies (a denoising model, Fig. 21) each band has three rows: clean, corrupted, and the
 * reconstruction of the corrupted one. The bands are drawn straight into the one picture
 * (the pixels of stacking labelledRowsFigure's bands, without their copies).
 */
export function reconstructionPng(
  model: Autoencoder,
  scaling: Scaling,
  rows: Matrix,
  image: { width: number; height: number } | null,
  count: number,
  corrupted: Matrix | null = null,
): Uint8Array {
  const n = Math.min(count, rows.rows);
  const shape = image ?? { width: rows.cols, height: 1 };
  const layout = reconstructionLayout(n, shape, image !== null, corrupted !== null);
  const range = rangeOf(scaling.kind);
  const { zoom, margin, labelPad, labelScale, rowHeight, rowGap } = layout;
  const out = raster(layout.width, layout.height, 255);
  for (const band of layout.bands) {
    const originals = rowSlice(rows, band.start, band.end);
    const noisy = corrupted ? rowSlice(corrupted, band.start, band.end) : null;
    const parts = noisy ? [originals, noisy, model.reconstruct(noisy)] : [originals, model.reconstruct(originals)];
    const cols = band.end - band.start;
    const x = band.x + margin;
    // labelledRowsFigure's stack: its rows on grey 200, 4 px apart.
    fillRect(out, x, band.y, band.gridWidth, band.height, 200);
    parts.forEach((m, i) => drawImageGrid(out, x, band.y + i * (rowHeight + rowGap), m, { ...shape, cols, range, zoom, pad: GRID_PAD }));
    // The labels, clipped to their band as withLeftLabels clips them, in a margin-sized scratch.
    const labels = raster(margin, band.height, 255);
    layout.labels.forEach((label, i) => {
      const w = textWidth(label, labelScale);
      drawText(labels, margin - labelPad - w, i * (rowHeight + rowGap) + Math.floor((rowHeight - TEXT_HEIGHT * labelScale) / 2), label, { scale: labelScale });
    });
    paste(out, labels, band.x, band.y);
  }
  return encodePng(out);
}
