import { PNG } from 'pngjs';
import { ValidationError, expected } from '../core/errors.js';
import type { Matrix } from '../core/matrix.js';

/** An 8-bit RGBA picture. */
export interface Raster {
  width: number;
  height: number;
  data: Uint8Array;
}

export function raster(width: number, height: number, grey = 255): Raster {
  const data = new Uint8Array(width * height * 4).fill(grey);
  for (let i = 3; i < data.length; i += 4) data[i] = 255;
  return { width, height, data };
}

/** How pixel values map to grey: a fixed [lo, hi] for the whole grid, or each image scaled to its own min..max. */
export type Range = readonly [number, number] | 'per-image';

export interface GridOptions {
  /** Width and height of one image in pixels (MNIST: 28 and 28). */
  width: number;
  height: number;
  /** Images per row of the grid. */
  cols: number;
  range: Range;
  /** Each pixel is drawn as a zoom×zoom block. */
  zoom?: number;
  /** Pixels between images. */
  pad?: number;
  /** Grey level of the padding. */
  background?: number;
}

/** The size in pixels of imageGrid's picture of `count` images. */
export function gridSize(count: number, opts: GridOptions): { width: number; height: number } {
  const zoom = opts.zoom ?? 1;
  const pad = opts.pad ?? 2;
  const rows = Math.max(1, Math.ceil(count / opts.cols));
  return { width: pad + opts.cols * (opts.width * zoom + pad), height: pad + rows * (opts.height * zoom + pad) };
}

/** Draws the rows of `images` (each width·height values) as a grid of grey pictures. */
export function imageGrid(images: Matrix, opts: GridOptions): Raster {
  checkGrid(images, opts);
  const size = gridSize(images.rows, opts);
  const out = raster(size.width, size.height, opts.background ?? 255);
  drawGrid(out, 0, 0, images, opts);
  return out;
}

/**
 * imageGrid's picture drawn straight into `dst` with its top-left corner at (x, y), which must
 * lie inside `dst` with the whole grid: the same pixels as pasting imageGrid's result there,
 * without the copy.
 */
export function drawImageGrid(dst: Raster, x: number, y: number, images: Matrix, opts: GridOptions): void {
  checkGrid(images, opts);
  const size = gridSize(images.rows, opts);
  fillRect(dst, x, y, size.width, size.height, opts.background ?? 255);
  drawGrid(dst, x, y, images, opts);
}

/** Sets the pixels of a rectangle of `r` (inside it) to an opaque grey. */
export function fillRect(r: Raster, x: number, y: number, width: number, height: number, grey: number): void {
  const row = new Uint8Array(width * 4).fill(grey);
  for (let i = 3; i < row.length; i += 4) row[i] = 255;
  for (let j = 0; j < height; j++) r.data.set(row, ((y + j) * r.width + x) * 4);
}

function checkGrid(images: Matrix, opts: GridOptions): void {
  const { width, height, cols } = opts;
  if (images.cols !== width * height) {
    throw new ValidationError(expected('image size', `${width}x${height} = ${width * height} values per row`, images.cols));
  }
  if (!Number.isInteger(cols) || cols < 1) throw new ValidationError(expected('grid columns', 'a positive integer', cols));
}

/** The images of a grid (not its background) into `out`, the grid's corner at (ox, oy). */
function drawGrid(out: Raster, ox: number, oy: number, images: Matrix, opts: GridOptions): void {
  const { width, height, cols } = opts;
  const zoom = opts.zoom ?? 1;
  const pad = opts.pad ?? 2;
  for (let k = 0; k < images.rows; k++) {
    const px = images.data.subarray(k * width * height, (k + 1) * width * height);
    let lo: number;
    let hi: number;
    if (opts.range === 'per-image') {
      lo = Infinity;
      hi = -Infinity;
      for (const v of px) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    } else {
      [lo, hi] = opts.range;
    }
    const span = hi > lo ? hi - lo : 1;
    const x0 = ox + pad + (k % cols) * (width * zoom + pad);
    const y0 = oy + pad + Math.floor(k / cols) * (height * zoom + pad);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const g = Math.round(255 * Math.min(1, Math.max(0, (px[y * width + x]! - lo) / span)));
        for (let dy = 0; dy < zoom; dy++) {
          for (let dx = 0; dx < zoom; dx++) {
            const o = ((y0 + y * zoom + dy) * out.width + x0 + x * zoom + dx) * 4;
            out.data[o] = out.data[o + 1] = out.data[o + 2] = g;
          }
        }
      }
    }
  }
}

/** Stacks pictures top to bottom, centred, with `gap` pixels between them. */
export function stack(parts: Raster[], gap = 0, grey = 255): Raster {
  const width = Math.max(...parts.map((p) => p.width));
  const height = parts.reduce((s, p) => s + p.height, 0) + gap * Math.max(0, parts.length - 1);
  const out = raster(width, height, grey);
  let y0 = 0;
  for (const p of parts) {
    const x0 = Math.floor((width - p.width) / 2);
    for (let y = 0; y < p.height; y++) {
      out.data.set(p.data.subarray(y * p.width * 4, (y + 1) * p.width * 4), ((y0 + y) * width + x0) * 4);
    }
    y0 += p.height + gap;
  }
  return out;
}

export function encodePng(r: Raster): Uint8Array {
  const png = new PNG({ width: r.width, height: r.height });
  png.data = Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength);
  const bytes = PNG.sync.write(png);
  // A Buffer with its own memory is returned as it is (no second copy of a large PNG); a small one may share Node's pool and is copied.
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? new Uint8Array(bytes.buffer, 0, bytes.byteLength) : new Uint8Array(bytes);
}

export function decodePng(bytes: Uint8Array): Raster {
  const png = PNG.sync.read(Buffer.from(bytes));
  return { width: png.width, height: png.height, data: new Uint8Array(png.data) };
}
