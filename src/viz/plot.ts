import { ValidationError, expected } from '../core/errors.js';
import { raster, type Raster } from './image.js';
import { TEXT_HEIGHT, drawText, textWidth, wrapText } from './text.js';

/**
 * Line plots, histograms, scatter and quiver plots drawn straight into an RGBA Raster with the
 * bitmap font, so figures need no canvas library or font file.
 *
 * Pixel convention: the plot area is the inclusive pixel box area.left..area.right ×
 * area.top..area.bottom, framed by a 1-px box just outside it. Data x = xRange[0] maps to the
 * centre of column area.left and xRange[1] to area.right; y = yRange[1] maps to area.top, so
 * larger y is higher up. Everything drawn from data is clipped to the plot area, so it never
 * covers the axes, tick labels or colorbar.
 */

export type Color = [number, number, number];

/** Categorical colours (the Tableau 10 set): blue, orange, green, red, purple, brown, pink, grey, olive, cyan. */
export const PALETTE: Color[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];

/** Viridis sampled at t = 0, 0.1, …, 1: dark purple through teal to yellow, luminance rising all the way. */
const VIRIDIS: readonly Color[] = [
  [68, 1, 84],
  [72, 36, 117],
  [65, 68, 135],
  [53, 95, 141],
  [42, 120, 142],
  [33, 145, 140],
  [34, 168, 132],
  [68, 191, 112],
  [122, 209, 81],
  [189, 223, 38],
  [253, 231, 37],
];

/** A perceptual (viridis-like) colour for t in [0, 1]; t outside is clamped, NaN reads as 0. */
export function colormap(t: number): Color {
  const u = Number.isNaN(t) ? 0 : Math.min(1, Math.max(0, t));
  const f = u * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(f));
  const w = f - i;
  const a = VIRIDIS[i]!;
  const b = VIRIDIS[i + 1]!;
  return [
    Math.round(a[0] + (b[0] - a[0]) * w),
    Math.round(a[1] + (b[1] - a[1]) * w),
    Math.round(a[2] + (b[2] - a[2]) * w),
  ];
}

// ---------------------------------------------------------------------------------------------
// Ticks and number formatting

/** Removes the float noise of k·step (0.30000000000000004 → 0.3). */
function clean(v: number): number {
  return v === 0 ? 0 : Number(v.toPrecision(12));
}

function checkRange(what: string, r: unknown): [number, number] {
  if (!Array.isArray(r) || r.length !== 2 || !Number.isFinite(r[0]) || !Number.isFinite(r[1]) || !(r[1] > r[0])) {
    throw new ValidationError(expected(what, '[lo, hi] with finite lo < hi', r));
  }
  return [r[0] as number, r[1] as number];
}

/**
 * "Nice" tick values inside [lo, hi]: multiples of a step of 1, 2 or 5 × 10^k, the smallest such
 * step giving at most `maxTicks` ticks. Never fewer than 3: when no step gives 3..maxTicks (only
 * possible for maxTicks below 8) the next finer step is used. The first tick lies within one step
 * of lo and the last within one step of hi.
 */
export function niceTicks(lo: number, hi: number, maxTicks = 10): { ticks: number[]; step: number } {
  checkRange('tick range', [lo, hi]);
  if (!Number.isInteger(maxTicks) || maxTicks < 3) throw new ValidationError(expected('maximum tick count', 'an integer >= 3', maxTicks));
  const span = hi - lo;
  const eps = span * 1e-9;
  const first = (step: number) => Math.ceil((lo - eps) / step);
  const count = (step: number) => Math.floor((hi + eps) / step) - first(step) + 1;
  let best = NaN;
  let chosen = NaN;
  // Steps in decreasing order, starting from one larger than the whole span.
  for (let e = Math.floor(Math.log10(span)) + 1; Number.isNaN(chosen); e--) {
    for (const m of [5, 2, 1]) {
      const step = m * 10 ** e;
      if (count(step) <= maxTicks) {
        best = step;
        continue;
      }
      // Too many: keep the previous step unless it gave fewer than 3 ticks.
      chosen = Number.isNaN(best) || count(best) < 3 ? step : best;
      break;
    }
  }
  const k0 = first(chosen);
  const n = count(chosen);
  const ticks = Array.from({ length: n }, (_, i) => clean((k0 + i) * chosen));
  return { ticks, step: clean(chosen) };
}

const MINUS = '\u2212';

function tidy(s: string): string {
  // "1.500e-5" → "1.5e−5", "2.50" → "2.5", "-0" → "0", and a real minus sign.
  let [mant, exp] = s.split('e') as [string, string | undefined];
  if (mant.includes('.')) mant = mant.replace(/0+$/, '').replace(/\.$/, '');
  if (mant === '-0') mant = '0';
  let out = mant;
  if (exp !== undefined) out += 'e' + String(Number(exp));
  return out.replace(/-/g, MINUS);
}

function useExponent(maxAbs: number, step: number): boolean {
  return maxAbs >= 1e5 || (maxAbs > 0 && maxAbs < 1e-3) || step < 1e-4;
}

/** Labels for ticks spaced `step` apart: as few digits as the step needs, one notation for the whole axis. */
export function tickLabels(ticks: readonly number[], step: number): string[] {
  const maxAbs = Math.max(0, ...ticks.map(Math.abs));
  const exponent = useExponent(maxAbs, step);
  const stepExp = Math.floor(Math.log10(step) + 1e-9);
  return ticks.map((v) => {
    if (Math.abs(v) < step * 1e-6) return '0';
    if (exponent) {
      const digits = Math.max(0, Math.floor(Math.log10(Math.abs(v)) + 1e-9) - stepExp);
      return tidy(v.toExponential(Math.min(digits, 15)));
    }
    return tidy(v.toFixed(Math.max(0, Math.ceil(-Math.log10(step) - 1e-9))));
  });
}

/** One tick label (see tickLabels). */
export function formatTick(v: number, step: number): string {
  return tickLabels([v], step)[0]!;
}

/** A number in at most 3 significant digits, exponent form for tiny and huge magnitudes. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return tidy(v.toExponential(2));
  if (a >= 1000) return tidy(v.toFixed(0));
  return tidy(v.toPrecision(3));
}

// ---------------------------------------------------------------------------------------------
// Data helpers

export interface HistogramBins {
  /** bins + 1 increasing bin edges; bin i is [edges[i], edges[i+1]), the last one closed. */
  edges: Float64Array;
  /** Values per bin. */
  counts: Float64Array;
  /** counts / (total · bin width): integrates to 1 (all zeros when no value is in range). */
  density: Float64Array;
  /** Finite values that fell inside the range (the sum of counts). */
  total: number;
}

/** Bins the finite values of `values` that lie in `range` (default: their own min..max); NaN and ±Infinity are skipped. */
export function histogramBins(values: ArrayLike<number>, bins: number, range?: [number, number]): HistogramBins {
  if (!Number.isInteger(bins) || bins < 1) throw new ValidationError(expected('histogram bins', 'a positive integer', bins));
  let [lo, hi] = range ?? finiteExtent([values]);
  if (range !== undefined) {
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(hi >= lo)) throw new ValidationError(expected('histogram range', '[lo, hi] with finite lo <= hi', range));
  }
  if (!(hi > lo)) [lo, hi] = widen(lo, hi);
  const width = (hi - lo) / bins;
  const edges = Float64Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + i * width));
  const counts = new Float64Array(bins);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v) || v < lo || v > hi) continue;
    counts[Math.min(bins - 1, Math.floor((v - lo) / width))]! += 1;
    total++;
  }
  const density = counts.map((c) => (total > 0 ? c / (total * width) : 0));
  return { edges, counts, density, total };
}

/** min..max over the finite entries of all arrays; [NaN, NaN] when there are none. */
function finiteExtent(arrays: ArrayLike<number>[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      const v = a[i]!;
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? [lo, hi] : [NaN, NaN];
}

/** A usable range around a degenerate or empty one. */
function widen(lo: number, hi: number): [number, number] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (hi > lo) return [lo, hi];
  const d = lo === 0 ? 0.5 : Math.abs(lo) * 0.1;
  return [lo - d, hi + d];
}

function padded([lo, hi]: [number, number], frac: number): [number, number] {
  const [a, b] = widen(lo, hi);
  const p = (b - a) * frac;
  return [a - p, b + p];
}

/** Extent of the points whose x and y are both finite, per axis. */
function pairExtent(pairs: Array<{ xs: ArrayLike<number>; ys: ArrayLike<number> }>): { x: [number, number]; y: [number, number] } {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const { xs, ys } of pairs) {
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!;
      const y = ys[i]!;
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
  }
  return { x: x0 <= x1 ? [x0, x1] : [NaN, NaN], y: y0 <= y1 ? [y0, y1] : [NaN, NaN] };
}

/**
 * Orthographic projection for a camera at `azimuth` degrees around the z axis (from +x towards
 * +y) and `elevation` degrees above the x-y plane (defaults 30 and 20):
 *
 *   screen x = −x·sin(az) + y·cos(az)
 *   screen y = −x·sin(el)·cos(az) − y·sin(el)·sin(az) + z·cos(el)
 *   depth    =  x·cos(el)·cos(az) + y·cos(el)·sin(az) + z·sin(el)   (larger is nearer the camera)
 *
 * so z points up on the screen. NaN in gives NaN out.
 */
export function project3d(
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  zs: ArrayLike<number>,
  view: { azimuth?: number; elevation?: number } = {},
): { xs: Float64Array; ys: Float64Array; depth: Float64Array } {
  if (ys.length !== xs.length || zs.length !== xs.length) {
    throw new ValidationError(expected('3-D coordinates', `xs, ys and zs of one length (${xs.length})`, [xs.length, ys.length, zs.length]));
  }
  const az = view.azimuth ?? 30;
  const el = view.elevation ?? 20;
  if (!Number.isFinite(az) || !Number.isFinite(el)) throw new ValidationError(expected('3-D view', 'finite azimuth and elevation in degrees', view));
  const a = (az * Math.PI) / 180;
  const e = (el * Math.PI) / 180;
  const [sa, ca, se, ce] = [Math.sin(a), Math.cos(a), Math.sin(e), Math.cos(e)];
  const n = xs.length;
  const out = { xs: new Float64Array(n), ys: new Float64Array(n), depth: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const [x, y, z] = [xs[i]!, ys[i]!, zs[i]!];
    out.xs[i] = -x * sa + y * ca;
    out.ys[i] = -x * se * ca - y * se * sa + z * ce;
    out.depth[i] = x * ce * ca + y * ce * sa + z * se;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The canvas

export interface PlotOptions {
  /** Size of the whole picture in pixels (default 480×360); every plot returns exactly this size. */
  width?: number;
  height?: number;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  xRange?: [number, number];
  yRange?: [number, number];
  /** One data unit is the same number of pixels on both axes (the ranges are widened to fit the area). */
  equalAspect?: boolean;
  /** Draw a legend of the labelled series (default true; nothing is drawn when no series has a label). */
  legend?: boolean;
  /** Scale of the bitmap font for ticks and labels (default 1, or 2 from 800×560 up); the title is drawn one step larger when it fits. */
  textScale?: number;
  /** Light grid lines at the ticks (default true). */
  grid?: boolean;
}

export interface ColorbarOptions {
  label: string;
  range: [number, number];
  /** Colour of t in [0, 1] (default colormap). */
  map?: (t: number) => Color;
}

export type CanvasOptions = PlotOptions & { xRange: [number, number]; yRange: [number, number]; colorbar?: ColorbarOptions };

export interface LegendEntry {
  label: string;
  color: Color;
  /** Swatch: a line (optionally dashed), a filled box (histograms) or a disc (scatter). */
  kind: 'line' | 'box' | 'point';
  dashed?: boolean;
  width?: number;
}

export interface PixelBox {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

const INK: Color = [30, 30, 30];
const FRAME: Color = [80, 80, 80];
const GRID: Color = [232, 232, 232];
const MIN_WIDTH = 80;
const MIN_HEIGHT = 60;
const MAX_SIDE = 8192;

/** The lit pixels of `s` in the bitmap font: a transparent raster whose alpha is 255 where ink is. */
function textMask(s: string, scale: number): Raster {
  const w = Math.max(1, textWidth(s, scale));
  const h = TEXT_HEIGHT * scale;
  const r: Raster = { width: w, height: h, data: new Uint8Array(w * h * 4) };
  drawText(r, 0, 0, s, { scale });
  return r;
}

/** Liang–Barsky: the part t0..t1 of a→b inside the box, or null. */
function clipSegment(ax: number, ay: number, bx: number, by: number, x0: number, y0: number, x1: number, y1: number): [number, number] | null {
  let t0 = 0;
  let t1 = 1;
  const dx = bx - ax;
  const dy = by - ay;
  const edges: Array<[number, number]> = [
    [-dx, ax - x0],
    [dx, x1 - ax],
    [-dy, ay - y0],
    [dy, y1 - ay],
  ];
  for (const [p, q] of edges) {
    if (p === 0) {
      if (q < 0) return null;
      continue;
    }
    const r = q / p;
    if (p < 0) {
      if (r > t1) return null;
      if (r > t0) t0 = r;
    } else {
      if (r < t0) return null;
      if (r < t1) t1 = r;
    }
  }
  return [t0, t1];
}

/** Pixel offsets of a round-ish brush `width` pixels across. */
function brush(width: number): Array<[number, number]> {
  const w = Math.max(1, Math.round(width));
  const lo = -Math.floor((w - 1) / 2);
  const hi = lo + w - 1;
  const c = (lo + hi) / 2;
  const out: Array<[number, number]> = [];
  for (let dy = lo; dy <= hi; dy++) {
    for (let dx = lo; dx <= hi; dx++) {
      if (w <= 3 || (dx - c) ** 2 + (dy - c) ** 2 <= (w / 2) ** 2 + 0.5) out.push([dx, dy]);
    }
  }
  return out;
}

/**
 * A framed plot area with axes, ticks, labels, grid, optional title and colorbar, on which
 * callers draw in data coordinates. Everything drawn from data is clipped to the plot area.
 * `finish()` adds the legend (placed where it covers the fewest drawn pixels) and returns the Raster.
 */
export class PlotCanvas {
  /** The ranges actually shown (wider than asked for under equalAspect). */
  readonly xRange: [number, number];
  readonly yRange: [number, number];
  /** The plot area's inclusive pixel box. */
  readonly area: PixelBox;
  /** The colorbar's inclusive pixel box, when there is one. */
  readonly colorbarArea: PixelBox | undefined;
  readonly xTicks: number[];
  readonly yTicks: number[];
  private readonly r: Raster;
  /** Scale of the bitmap font for ticks, labels, legend and text(). */
  readonly textScale: number;
  private readonly showLegend: boolean;
  /** Plot-area pixels already covered by data, text or markers: the legend avoids them. */
  private readonly occupied: Uint8Array;
  private readonly entries: LegendEntry[] = [];
  private finished = false;

  constructor(opts: CanvasOptions) {
    const W = opts.width ?? 480;
    const H = opts.height ?? 360;
    if (!Number.isInteger(W) || W < MIN_WIDTH || W > MAX_SIDE) throw new ValidationError(expected('plot width', `an integer in [${MIN_WIDTH}, ${MAX_SIDE}]`, W));
    if (!Number.isInteger(H) || H < MIN_HEIGHT || H > MAX_SIDE) throw new ValidationError(expected('plot height', `an integer in [${MIN_HEIGHT}, ${MAX_SIDE}]`, H));
    const askedX = checkRange('x range', opts.xRange);
    const askedY = checkRange('y range', opts.yRange);
    const s = opts.textScale ?? (W >= 800 && H >= 560 ? 2 : 1);
    if (!Number.isInteger(s) || s < 1 || s > 8) throw new ValidationError(expected('text scale', 'an integer in [1, 8]', s));
    const cb = opts.colorbar;
    if (cb !== undefined) checkRange('colorbar range', cb.range);
    this.textScale = s;
    this.showLegend = opts.legend ?? true;
    this.r = raster(W, H);
    this.occupied = new Uint8Array(W * H);

    const th = TEXT_HEIGHT * s;
    const tick = 3 + s;
    // Title: one step larger than the text when it fits on one line, else wrapped at the text size.
    let titleScale = s + 1;
    let titleLines: string[] = [];
    if (opts.title) {
      titleLines = wrapText(opts.title, W - 16, titleScale);
      if (titleLines.length > 1) {
        titleScale = s;
        titleLines = wrapText(opts.title, W - 16, titleScale);
      }
    }
    const titleLineH = TEXT_HEIGHT * titleScale;
    const titleGap = 2 * titleScale;
    const top = titleLines.length > 0 ? 8 + titleLines.length * (titleLineH + titleGap) + 4 : 6 + Math.ceil(th / 2) + 2;
    const bottomMargin = 1 + tick + 3 + th + (opts.xLabel ? 4 * s + th : 0) + 6;
    const bottom = H - bottomMargin - 1;
    const plotH = bottom - top + 1;

    // Colorbar ticks depend only on the height, so its width is known before the left margin.
    let cbTicks: { ticks: number[]; step: number } | undefined;
    let cbLabels: string[] = [];
    let cbWidth = 0;
    const barW = 10 + 2 * s;
    if (cb !== undefined) {
      cbTicks = niceTicks(cb.range[0], cb.range[1], Math.min(10, Math.max(3, Math.floor(plotH / (5 * th)))));
      cbLabels = tickLabels(cbTicks.ticks, cbTicks.step);
      const widest = Math.max(0, ...cbLabels.map((l) => textWidth(l, s)));
      cbWidth = 12 + barW + tick + 3 + widest + (cb.label ? 6 + th : 0);
    }
    const rightMargin = 16 + cbWidth;

    const yMax = Math.min(10, Math.max(3, Math.floor(plotH / (5 * th))));
    const layout = (xr: [number, number], yr: [number, number]) => {
      const yt = niceTicks(yr[0], yr[1], yMax);
      const yl = tickLabels(yt.ticks, yt.step);
      const widest = Math.max(0, ...yl.map((l) => textWidth(l, s)));
      const left = 6 + (opts.yLabel ? th + 6 : 0) + widest + 3 + tick + 1;
      const right = W - rightMargin - 1;
      return { yt, yl, left, right, xr, yr };
    };
    let lay = layout(askedX, askedY);
    if (opts.equalAspect) {
      for (let iter = 0; iter < 4; iter++) {
        const pw = lay.right - lay.left;
        const ph = plotH - 1;
        const ppu = Math.min(pw / (askedX[1] - askedX[0]), ph / (askedY[1] - askedY[0]));
        const cx = (askedX[0] + askedX[1]) / 2;
        const cy = (askedY[0] + askedY[1]) / 2;
        const xr: [number, number] = [cx - pw / ppu / 2, cx + pw / ppu / 2];
        const yr: [number, number] = [cy - ph / ppu / 2, cy + ph / ppu / 2];
        const next = layout(xr, yr);
        const stable = next.left === lay.left;
        lay = next;
        if (stable) break;
      }
      // Make the final ranges match the final area exactly (the labels settle after one or two passes).
      const pw = lay.right - lay.left;
      const ph = plotH - 1;
      const ppu = Math.min(pw / (askedX[1] - askedX[0]), ph / (askedY[1] - askedY[0]));
      const cx = (askedX[0] + askedX[1]) / 2;
      const cy = (askedY[0] + askedY[1]) / 2;
      lay.xr = [cx - pw / ppu / 2, cx + pw / ppu / 2];
      lay.yr = [cy - ph / ppu / 2, cy + ph / ppu / 2];
      lay.yt = niceTicks(lay.yr[0], lay.yr[1], yMax);
      lay.yl = tickLabels(lay.yt.ticks, lay.yt.step);
    }
    if (lay.right - lay.left < 8 || plotH < 8) {
      throw new ValidationError(expected('plot size', 'room for the plot area beside the labels', `${W}x${H}`));
    }
    this.xRange = lay.xr;
    this.yRange = lay.yr;
    this.area = { left: lay.left, top, right: lay.right, bottom };
    const { left, right } = this.area;
    const plotW = right - left + 1;

    // x ticks: as many as fit with their labels at least 8 px apart.
    let xt = niceTicks(this.xRange[0], this.xRange[1], 10);
    let xl = tickLabels(xt.ticks, xt.step);
    for (let max = 10; max > 3; max--) {
      xt = niceTicks(this.xRange[0], this.xRange[1], max);
      xl = tickLabels(xt.ticks, xt.step);
      const spacing = (xt.step / (this.xRange[1] - this.xRange[0])) * (plotW - 1);
      if (spacing >= Math.max(...xl.map((l) => textWidth(l, s))) + 8 * s) break;
    }
    this.xTicks = xt.ticks;
    this.yTicks = lay.yt.ticks;

    // Grid, frame, ticks and their labels.
    if (opts.grid ?? true) {
      for (const t of this.xTicks) {
        const px = Math.round(this.toPixelX(t));
        if (px > left && px < right) for (let y = top; y <= bottom; y++) this.setRaw(px, y, GRID);
      }
      for (const t of this.yTicks) {
        const py = Math.round(this.toPixelY(t));
        if (py > top && py < bottom) for (let x = left; x <= right; x++) this.setRaw(x, py, GRID);
      }
    }
    this.frame(left - 1, top - 1, right + 1, bottom + 1, FRAME);
    xt.ticks.forEach((t, i) => {
      const px = Math.round(this.toPixelX(t));
      for (let k = 1; k <= tick; k++) this.setRaw(px, bottom + 1 + k, FRAME);
      const label = xl[i]!;
      this.rawText(px - Math.floor(textWidth(label, s) / 2), bottom + 2 + tick + 2, label, INK);
    });
    lay.yt.ticks.forEach((t, i) => {
      const py = Math.round(this.toPixelY(t));
      for (let k = 1; k <= tick; k++) this.setRaw(left - 1 - k, py, FRAME);
      const label = lay.yl[i]!;
      this.rawText(left - 1 - tick - 3 - textWidth(label, s), py - Math.floor(th / 2), label, INK);
    });
    if (opts.xLabel) {
      const w = textWidth(opts.xLabel, s);
      this.rawText(Math.round((left + right) / 2 - w / 2), bottom + 2 + tick + 2 + th + 4 * s, opts.xLabel, INK);
    }
    if (opts.yLabel) this.verticalText(6, (top + bottom) / 2, opts.yLabel, INK);
    titleLines.forEach((line, i) => {
      const w = textWidth(line, titleScale);
      // Centred over the plot area when it fits there, else over the whole picture.
      const centre = w <= plotW ? (left + right) / 2 : W / 2;
      const x = Math.max(4, Math.min(W - 4 - w, Math.round(centre - w / 2)));
      this.rawText(x, 8 + i * (titleLineH + titleGap), line, INK, titleScale);
    });

    if (cb !== undefined && cbTicks !== undefined) {
      const map = cb.map ?? colormap;
      const bx0 = right + 1 + 12;
      const bx1 = bx0 + barW - 1;
      this.colorbarArea = { left: bx0, top, right: bx1, bottom };
      for (let y = top; y <= bottom; y++) {
        const c = map((bottom - y) / Math.max(1, bottom - top));
        for (let x = bx0; x <= bx1; x++) this.setRaw(x, y, c);
      }
      this.frame(bx0 - 1, top - 1, bx1 + 1, bottom + 1, FRAME);
      const [lo, hi] = cb.range;
      let widest = 0;
      cbTicks.ticks.forEach((t, i) => {
        const py = Math.round(bottom - ((t - lo) / (hi - lo)) * (bottom - top));
        for (let k = 1; k <= tick; k++) this.setRaw(bx1 + 1 + k, py, FRAME);
        const label = cbLabels[i]!;
        widest = Math.max(widest, textWidth(label, s));
        this.rawText(bx1 + 2 + tick + 3, py - Math.floor(th / 2), label, INK);
      });
      if (cb.label) this.verticalText(bx1 + 2 + tick + 3 + widest + 6, (top + bottom) / 2, cb.label, INK);
    } else {
      this.colorbarArea = undefined;
    }
  }

  /** Pixel column of data x (fractional; columns are centred on integers). */
  toPixelX(x: number): number {
    const [x0, x1] = this.xRange;
    return this.area.left + ((x - x0) / (x1 - x0)) * (this.area.right - this.area.left);
  }

  /** Pixel row of data y (fractional); larger y is higher up, i.e. a smaller row. */
  toPixelY(y: number): number {
    const [y0, y1] = this.yRange;
    return this.area.bottom - ((y - y0) / (y1 - y0)) * (this.area.bottom - this.area.top);
  }

  toPixel(x: number, y: number): [number, number] {
    return [this.toPixelX(x), this.toPixelY(y)];
  }

  /** Data coordinates of a pixel position (the inverse of toPixel). */
  fromPixel(px: number, py: number): [number, number] {
    const [x0, x1] = this.xRange;
    const [y0, y1] = this.yRange;
    const { left, right, top, bottom } = this.area;
    return [x0 + ((px - left) / (right - left)) * (x1 - x0), y0 + ((bottom - py) / (bottom - top)) * (y1 - y0)];
  }

  /** A straight line in data coordinates, `width` pixels wide (default 1). */
  line(x0: number, y0: number, x1: number, y1: number, color: Color, width = 1, style: { dashed?: boolean } = {}): void {
    if (![x0, y0, x1, y1].every(Number.isFinite)) return;
    this.polyline([x0, x1], [y0, y1], color, { width, dashed: style.dashed ?? false });
  }

  /**
   * Joins consecutive points; a NaN or infinite coordinate breaks the line there. A finite point
   * with no finite neighbour is drawn as a dot so it does not vanish.
   */
  polyline(xs: ArrayLike<number>, ys: ArrayLike<number>, color: Color, opts: { width?: number; dashed?: boolean } = {}): void {
    if (xs.length !== ys.length) throw new ValidationError(expected('polyline', `xs and ys of one length (${xs.length})`, ys.length));
    const width = opts.width ?? 1;
    const pattern = opts.dashed ? [6 + 2 * width, 3 + 2 * width] : null;
    const phase = { d: 0 };
    const ok = (i: number) => i >= 0 && i < xs.length && Number.isFinite(xs[i]!) && Number.isFinite(ys[i]!);
    for (let i = 0; i < xs.length; i++) {
      if (!ok(i)) continue;
      const [ax, ay] = this.toPixel(xs[i]!, ys[i]!);
      if (ok(i + 1)) {
        const [bx, by] = this.toPixel(xs[i + 1]!, ys[i + 1]!);
        this.segment(ax, ay, bx, by, color, width, pattern, phase);
      } else if (!ok(i - 1)) {
        this.segment(ax, ay, ax, ay, color, width, null, phase);
      }
    }
  }

  /** An arrow from (x0, y0) to (x1, y1) with a filled head at (x1, y1). */
  arrow(x0: number, y0: number, x1: number, y1: number, color: Color, opts: { width?: number; head?: number } = {}): void {
    if (![x0, y0, x1, y1].every(Number.isFinite)) return;
    const [ax, ay] = this.toPixel(x0, y0);
    const [bx, by] = this.toPixel(x1, y1);
    const width = opts.width ?? 1;
    const len = Math.hypot(bx - ax, by - ay);
    if (!Number.isFinite(len)) return;
    if (len < 1) {
      this.segment(bx, by, bx, by, color, Math.max(2, width), null, { d: 0 });
      return;
    }
    const maxHead = opts.head ?? 6 + 2 * width;
    const head = Math.min(len, Math.max(4, Math.min(maxHead, len * 0.35)));
    const half = Math.max(2, head * 0.4);
    const ux = (bx - ax) / len;
    const uy = (by - ay) / len;
    const baseX = bx - ux * head;
    const baseY = by - uy * head;
    if (len > head) this.segment(ax, ay, baseX + ux, baseY + uy, color, width, null, { d: 0 });
    this.triangle(bx, by, baseX - uy * half, baseY + ux * half, baseX + uy * half, baseY - ux * half, color);
  }

  /** A filled disc of `radius` pixels (default 3) centred on data (x, y). */
  point(x: number, y: number, color: Color, radius = 3): void {
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    const [px, py] = this.toPixel(x, y);
    this.disc(px, py, color, radius);
  }

  /**
   * Text in data coordinates: vertically centred on y, starting at x (align 'left', the
   * default), centred on it or ending at it. Clipped to the plot area.
   */
  text(x: number, y: number, s: string, color: Color = INK, align: 'left' | 'center' | 'right' = 'left'): void {
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    const [px, py] = this.toPixel(x, y);
    const w = textWidth(s, this.textScale);
    const x0 = align === 'left' ? px : align === 'center' ? px - w / 2 : px - w;
    this.textAt(Math.round(x0), Math.round(py - (TEXT_HEIGHT * this.textScale) / 2), s, color);
  }

  /**
   * Fills the data rectangle [x0, x1] × [y0, y1] with `color` at `alpha` opacity over what is
   * there. Columns are half-open ([x0, x1)) so bars sharing an edge never blend twice.
   */
  rect(x0: number, y0: number, x1: number, y1: number, color: Color, alpha = 1): void {
    if (![x0, y0, x1, y1].every(Number.isFinite)) return;
    const [a, b] = [this.toPixelX(Math.min(x0, x1)), this.toPixelX(Math.max(x0, x1))].map(Math.round) as [number, number];
    const [t, u] = [this.toPixelY(Math.max(y0, y1)), this.toPixelY(Math.min(y0, y1))].map(Math.round) as [number, number];
    const { left, right, top, bottom } = this.area;
    for (let y = Math.max(top, t); y <= Math.min(bottom, u); y++) {
      for (let x = Math.max(left, a); x < Math.min(right + 1, b); x++) this.plotPixel(x, y, color, alpha);
    }
  }

  /** Adds a row to the legend drawn by finish(). */
  addLegend(entry: LegendEntry): void {
    this.entries.push(entry);
  }

  /** Draws the legend (once) and returns the picture. */
  finish(): Raster {
    if (!this.finished) {
      this.finished = true;
      if (this.showLegend && this.entries.length > 0) this.drawLegend();
    }
    return this.r;
  }

  // ---- pixel-level drawing ----

  /** Writes a pixel anywhere in the picture (axes, labels, colorbar). */
  private setRaw(x: number, y: number, c: Color): void {
    if (x < 0 || y < 0 || x >= this.r.width || y >= this.r.height) return;
    const o = (y * this.r.width + x) * 4;
    this.r.data[o] = c[0];
    this.r.data[o + 1] = c[1];
    this.r.data[o + 2] = c[2];
  }

  /** Writes (or blends) a pixel inside the plot area only, and marks it as covered. */
  private plotPixel(x: number, y: number, c: Color, alpha = 1, mark = true): void {
    const { left, right, top, bottom } = this.area;
    if (x < left || x > right || y < top || y > bottom) return;
    const o = (y * this.r.width + x) * 4;
    const d = this.r.data;
    if (alpha >= 1) {
      d[o] = c[0];
      d[o + 1] = c[1];
      d[o + 2] = c[2];
    } else {
      d[o] = Math.round(d[o]! + (c[0] - d[o]!) * alpha);
      d[o + 1] = Math.round(d[o + 1]! + (c[1] - d[o + 1]!) * alpha);
      d[o + 2] = Math.round(d[o + 2]! + (c[2] - d[o + 2]!) * alpha);
    }
    if (mark) this.occupied[y * this.r.width + x] = 1;
  }

  private frame(x0: number, y0: number, x1: number, y1: number, c: Color): void {
    for (let x = x0; x <= x1; x++) {
      this.setRaw(x, y0, c);
      this.setRaw(x, y1, c);
    }
    for (let y = y0; y <= y1; y++) {
      this.setRaw(x0, y, c);
      this.setRaw(x1, y, c);
    }
  }

  private rawText(x: number, y: number, s: string, c: Color, scale = this.textScale): void {
    drawText(this.r, x, y, s, { scale, color: c });
  }

  /** Text inside the plot area (clipped to it, and counted as covered for the legend). */
  private textAt(x: number, y: number, s: string, c: Color): void {
    const m = textMask(s, this.textScale);
    for (let j = 0; j < m.height; j++) {
      for (let i = 0; i < m.width; i++) if (m.data[(j * m.width + i) * 4 + 3] === 255) this.plotPixel(x + i, y + j, c);
    }
  }

  /** Text turned a quarter anticlockwise (read bottom to top), its left edge at x, centred on row cy. */
  private verticalText(x: number, cy: number, s: string, c: Color): void {
    const m = textMask(s, this.textScale);
    const y0 = Math.round(cy + m.width / 2) - 1;
    for (let j = 0; j < m.height; j++) {
      for (let i = 0; i < m.width; i++) if (m.data[(j * m.width + i) * 4 + 3] === 255) this.setRaw(x + j, y0 - i, c);
    }
  }

  /**
   * A line between pixel positions: clipped to the plot area, then Bresenham with a brush of
   * `width`. With a dash `pattern` [on, off] the dashes continue across segments via `phase`.
   */
  private segment(ax: number, ay: number, bx: number, by: number, c: Color, width: number, pattern: number[] | null, phase: { d: number }): void {
    if (![ax, ay, bx, by].every(Number.isFinite)) return;
    const len = Math.hypot(bx - ax, by - ay);
    if (!Number.isFinite(len)) return;
    const { left, right, top, bottom } = this.area;
    const m = width + 1;
    const clip = clipSegment(ax, ay, bx, by, left - m, top - m, right + m, bottom + m);
    if (clip === null) {
      phase.d += len;
      return;
    }
    const [t0, t1] = clip;
    const at = (t: number): [number, number] => [ax + (bx - ax) * t, ay + (by - ay) * t];
    if (pattern === null || len === 0) {
      this.bresenham(...at(t0), ...at(t1), c, width);
    } else {
      const [on, off] = pattern as [number, number];
      const period = on + off;
      let d = t0 * len;
      const end = t1 * len;
      while (d < end) {
        const p = (((phase.d + d) % period) + period) % period;
        if (p < on) {
          const stop = Math.min(end, d + (on - p));
          this.bresenham(...at(d / len), ...at(stop / len), c, width);
          d = stop;
        } else {
          d += period - p;
        }
      }
    }
    phase.d += len;
  }

  private bresenham(fx0: number, fy0: number, fx1: number, fy1: number, c: Color, width: number): void {
    const offsets = brush(width);
    let x = Math.round(fx0);
    let y = Math.round(fy0);
    const x1 = Math.round(fx1);
    const y1 = Math.round(fy1);
    const dx = Math.abs(x1 - x);
    const dy = -Math.abs(y1 - y);
    const sx = x < x1 ? 1 : -1;
    const sy = y < y1 ? 1 : -1;
    let err = dx + dy;
    for (;;) {
      for (const [ox, oy] of offsets) this.plotPixel(x + ox, y + oy, c);
      if (x === x1 && y === y1) break;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y += sy;
      }
    }
  }

  private disc(cx: number, cy: number, c: Color, radius: number): void {
    const { left, right, top, bottom } = this.area;
    const r = Math.max(0, radius);
    const x0 = Math.max(left, Math.floor(cx - r));
    const x1 = Math.min(right, Math.ceil(cx + r));
    const y0 = Math.max(top, Math.floor(cy - r));
    const y1 = Math.min(bottom, Math.ceil(cy + r));
    const rx = Math.round(cx);
    const ry = Math.round(cy);
    const r2 = r * r + r * 0.5 + 0.25;
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) if ((x - rx) ** 2 + (y - ry) ** 2 <= r2) this.plotPixel(x, y, c);
    }
  }

  private triangle(ax: number, ay: number, bx: number, by: number, cx: number, cy: number, c: Color): void {
    const { left, right, top, bottom } = this.area;
    const x0 = Math.max(left, Math.floor(Math.min(ax, bx, cx)));
    const x1 = Math.min(right, Math.ceil(Math.max(ax, bx, cx)));
    const y0 = Math.max(top, Math.floor(Math.min(ay, by, cy)));
    const y1 = Math.min(bottom, Math.ceil(Math.max(ay, by, cy)));
    const edge = (px: number, py: number, qx: number, qy: number, x: number, y: number) => (qx - px) * (y - py) - (qy - py) * (x - px);
    const area = edge(ax, ay, bx, by, cx, cy);
    if (area === 0) return;
    const sign = Math.sign(area);
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const e0 = edge(ax, ay, bx, by, x, y) * sign;
        const e1 = edge(bx, by, cx, cy, x, y) * sign;
        const e2 = edge(cx, cy, ax, ay, x, y) * sign;
        if (e0 >= 0 && e1 >= 0 && e2 >= 0) this.plotPixel(x, y, c);
      }
    }
    // The outline too, so even a thin head has unbroken edges.
    const phase = { d: 0 };
    this.segment(ax, ay, bx, by, c, 1, null, phase);
    this.segment(bx, by, cx, cy, c, 1, null, phase);
    this.segment(cx, cy, ax, ay, c, 1, null, phase);
  }

  private drawLegend(): void {
    const s = this.textScale;
    const th = TEXT_HEIGHT * s;
    const pad = 4 + s;
    const swatch = 16 + 4 * s;
    const rowGap = 3 + s;
    const w = pad + swatch + 4 * s + Math.max(...this.entries.map((e) => textWidth(e.label, s))) + pad;
    const h = pad + this.entries.length * th + (this.entries.length - 1) * rowGap + pad;
    const { left, right, top, bottom } = this.area;
    const inset = 4 + 2 * s;
    const xs = { l: left + inset, c: Math.round((left + right - w) / 2), r: right - inset - w + 1 };
    const ys = { t: top + inset, m: Math.round((top + bottom - h) / 2), b: bottom - inset - h + 1 };
    // Corners first: on ties the legend goes to the conventional top right.
    const candidates: Array<[number, number]> = [
      [xs.r, ys.t],
      [xs.l, ys.t],
      [xs.r, ys.b],
      [xs.l, ys.b],
      [xs.c, ys.t],
      [xs.c, ys.b],
      [xs.l, ys.m],
      [xs.r, ys.m],
    ];
    let best = candidates[0]!;
    let bestCount = Infinity;
    for (const [x0, y0] of candidates) {
      let n = 0;
      for (let y = Math.max(top, y0); y < Math.min(bottom + 1, y0 + h); y++) {
        for (let x = Math.max(left, x0); x < Math.min(right + 1, x0 + w); x++) n += this.occupied[y * this.r.width + x]!;
      }
      if (n < bestCount) {
        bestCount = n;
        best = [x0, y0];
      }
    }
    const [x0, y0] = best;
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) this.plotPixel(x, y, [255, 255, 255], 0.9, false);
    for (let x = x0; x < x0 + w; x++) {
      this.plotPixel(x, y0, [170, 170, 170], 1, false);
      this.plotPixel(x, y0 + h - 1, [170, 170, 170], 1, false);
    }
    for (let y = y0; y < y0 + h; y++) {
      this.plotPixel(x0, y, [170, 170, 170], 1, false);
      this.plotPixel(x0 + w - 1, y, [170, 170, 170], 1, false);
    }
    this.entries.forEach((e, i) => {
      const ty = y0 + pad + i * (th + rowGap);
      const cy = ty + Math.floor(th / 2);
      const sx0 = x0 + pad;
      const sx1 = sx0 + swatch - 1;
      if (e.kind === 'line') {
        const width = Math.min(4, e.width ?? 2);
        this.segment(sx0, cy, sx1, cy, e.color, width, e.dashed ? [4 + width, 2 + width] : null, { d: 0 });
      } else if (e.kind === 'box') {
        for (let y = ty; y < ty + th; y++) for (let x = sx0 + 2; x <= sx1 - 2; x++) this.plotPixel(x, y, e.color, 0.45, false);
        for (let x = sx0 + 2; x <= sx1 - 2; x++) {
          this.plotPixel(x, ty, e.color, 1, false);
          this.plotPixel(x, ty + th - 1, e.color, 1, false);
        }
        for (let y = ty; y < ty + th; y++) {
          this.plotPixel(sx0 + 2, y, e.color, 1, false);
          this.plotPixel(sx1 - 2, y, e.color, 1, false);
        }
      } else {
        this.disc((sx0 + sx1) / 2, cy, e.color, Math.min(3 * s, th / 2));
      }
      this.textAt(sx1 + 1 + 4 * s, ty, e.label, INK);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Plots

export interface LineSeries {
  label?: string;
  xs: ArrayLike<number>;
  ys: ArrayLike<number>;
  color?: Color;
  dashed?: boolean;
  /** Line width in pixels (default 2). */
  width?: number;
}

function checkPairs(what: string, i: number, xs: ArrayLike<number>, ys: ArrayLike<number>): void {
  if (xs.length !== ys.length) throw new ValidationError(expected(`${what} ${i}`, `xs and ys of one length (${xs.length})`, ys.length));
}

/** Lines through each series' points (NaN or infinite points break the line); auto ranges pad the data by 4 %. */
export function linePlot(series: LineSeries[], opts: PlotOptions = {}): Raster {
  series.forEach((s, i) => checkPairs('line series', i, s.xs, s.ys));
  const ext = pairExtent(series);
  const canvas = new PlotCanvas({ ...opts, xRange: opts.xRange ?? padded(ext.x, 0.04), yRange: opts.yRange ?? padded(ext.y, 0.04) });
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const width = s.width ?? 2;
    canvas.polyline(s.xs, s.ys, color, { width, dashed: s.dashed ?? false });
    if (s.label) canvas.addLegend({ label: s.label, color, kind: 'line', dashed: s.dashed ?? false, width });
  });
  return canvas.finish();
}

export interface HistogramSeries {
  label: string;
  values: ArrayLike<number>;
  color?: Color;
}

export interface HistogramMarker {
  x: number;
  label: string;
  color?: Color;
}

export type HistogramOptions = PlotOptions & {
  /** Number of shared bins (default: √n of the largest series, clamped to 10..60). */
  bins?: number;
  /** Normalise each series to unit area (default false: counts). */
  density?: boolean;
  /** Vertical dashed lines with labels, e.g. a threshold. */
  markers?: HistogramMarker[];
  /** Opacity of the bar fill (default 0.4): overlapping bars blend, so every distribution stays visible. */
  alpha?: number;
};

/**
 * Histograms of several series over shared bins spanning the union of their finite values,
 * drawn as translucent bars with a solid outline. Non-finite values are skipped.
 */
export function histogramPlot(series: HistogramSeries[], opts: HistogramOptions = {}): Raster {
  const ext = finiteExtent(series.map((s) => s.values));
  const [lo, hi] = widen(ext[0], ext[1]);
  let largest = 0;
  for (const s of series) {
    let n = 0;
    for (let i = 0; i < s.values.length; i++) if (Number.isFinite(s.values[i]!)) n++;
    largest = Math.max(largest, n);
  }
  const bins = opts.bins ?? Math.min(60, Math.max(10, Math.round(Math.sqrt(largest))));
  const alpha = opts.alpha ?? 0.4;
  if (!(alpha > 0 && alpha <= 1)) throw new ValidationError(expected('histogram alpha', 'a number in (0, 1]', alpha));
  const markers = opts.markers ?? [];
  for (const m of markers) if (!Number.isFinite(m.x)) throw new ValidationError(expected('histogram marker x', 'a finite number', m.x));
  const hists = series.map((s) => histogramBins(s.values, bins, [lo, hi]));
  const heights = hists.map((h) => (opts.density ? h.density : h.counts));
  const top = Math.max(0, ...heights.map((h) => Math.max(0, ...h)));
  const mx = markers.map((m) => m.x);
  const xr: [number, number] = [Math.min(lo, ...mx), Math.max(hi, ...mx)];
  const canvas = new PlotCanvas({
    yLabel: opts.density ? 'density' : 'count',
    ...opts,
    xRange: opts.xRange ?? padded(xr, 0.03),
    yRange: opts.yRange ?? [0, top > 0 ? top * 1.08 : 1],
  });
  const colors = series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]!);
  hists.forEach((h, k) => {
    const y = heights[k]!;
    for (let i = 0; i < bins; i++) if (y[i]! > 0) canvas.rect(h.edges[i]!, 0, h.edges[i + 1]!, y[i]!, colors[k]!, alpha);
  });
  // Outlines over all fills, so no series' shape hides under another's bars. The step outline
  // skips runs along zero, which would only paint the baseline in the last series' colour.
  hists.forEach((h, k) => {
    const y = heights[k]!;
    let prev = 0;
    for (let i = 0; i <= bins; i++) {
      const cur = i < bins ? y[i]! : 0;
      const e = h.edges[i]!;
      if (cur !== prev) canvas.line(e, prev, e, cur, colors[k]!);
      if (i < bins && cur > 0) canvas.line(e, cur, h.edges[i + 1]!, cur, colors[k]!);
      prev = cur;
    }
  });
  const th = TEXT_HEIGHT * canvas.textScale;
  markers.forEach((m, i) => {
    const color = m.color ?? INK;
    canvas.line(m.x, canvas.yRange[0], m.x, canvas.yRange[1], color, 1, { dashed: true });
    // Label at the top, right of the line (left of it near the right edge), staggered so neighbours don't collide.
    const px = canvas.toPixelX(m.x);
    const py = canvas.area.top + 4 + (i % 3) * (th + 3) + th / 2;
    const gap = 2 + 2 * canvas.textScale;
    const right = px + gap + textWidth(m.label, canvas.textScale) <= canvas.area.right;
    const [x, y] = canvas.fromPixel(right ? px + gap : px - gap, py);
    canvas.text(x, y, m.label, color, right ? 'left' : 'right');
  });
  series.forEach((s, k) => canvas.addLegend({ label: s.label, color: colors[k]!, kind: 'box' }));
  return canvas.finish();
}

export interface ScatterSeries {
  label?: string;
  xs: ArrayLike<number>;
  ys: ArrayLike<number>;
  color?: Color;
  /** One colour per point (e.g. from colormap), overriding `color`. */
  colors?: Color[];
  /** Disc radius in pixels (default 3, smaller for many points). */
  radius?: number;
}

function checkScatter(series: ScatterSeries[]): void {
  series.forEach((s, i) => {
    checkPairs('scatter series', i, s.xs, s.ys);
    if (s.colors !== undefined && s.colors.length !== s.xs.length) {
      throw new ValidationError(expected(`scatter series ${i} colors`, `one per point (${s.xs.length})`, s.colors.length));
    }
  });
}

function drawScatter(canvas: PlotCanvas, series: ScatterSeries[]): void {
  series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length]!;
    const n = s.xs.length;
    const radius = s.radius ?? (n <= 300 ? 3 : n <= 3000 ? 2 : 1.5);
    for (let i = 0; i < n; i++) canvas.point(s.xs[i]!, s.ys[i]!, s.colors?.[i] ?? color, radius);
    if (s.label) canvas.addLegend({ label: s.label, color: s.color ?? s.colors?.[0] ?? color, kind: 'point' });
  });
}

export type ScatterOptions = PlotOptions & { colorbar?: ColorbarOptions };

/** Filled discs at the finite points of each series; auto ranges pad the data by 5 %. */
export function scatterPlot(series: ScatterSeries[], opts: ScatterOptions = {}): Raster {
  checkScatter(series);
  const ext = pairExtent(series);
  const canvas = new PlotCanvas({ ...opts, xRange: opts.xRange ?? padded(ext.x, 0.05), yRange: opts.yRange ?? padded(ext.y, 0.05) });
  drawScatter(canvas, series);
  return canvas.finish();
}

export interface Arrow {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  color?: Color;
}

export type QuiverOptions = PlotOptions & {
  /** Points drawn under the arrows. */
  points?: ScatterSeries[];
  colorbar?: ColorbarOptions;
  /** Colour of arrows without their own (default near-black). */
  arrowColor?: Color;
  /** Legend label for the arrows. */
  arrowLabel?: string;
  /** Shaft width in pixels (default 1). */
  arrowWidth?: number;
};

/** Arrows from (x0, y0) to (x1, y1) over optional points; arrows with a non-finite end are skipped. */
export function quiverPlot(arrows: Arrow[], opts: QuiverOptions = {}): Raster {
  const points = opts.points ?? [];
  checkScatter(points);
  const ends = {
    xs: arrows.flatMap((a) => [a.x0, a.x1]),
    ys: arrows.flatMap((a) => [a.y0, a.y1]),
  };
  const ext = pairExtent([ends, ...points]);
  const canvas = new PlotCanvas({ ...opts, xRange: opts.xRange ?? padded(ext.x, 0.05), yRange: opts.yRange ?? padded(ext.y, 0.05) });
  drawScatter(canvas, points);
  const fallback = opts.arrowColor ?? INK;
  for (const a of arrows) canvas.arrow(a.x0, a.y0, a.x1, a.y1, a.color ?? fallback, { width: opts.arrowWidth ?? 1 });
  if (opts.arrowLabel) canvas.addLegend({ label: opts.arrowLabel, color: fallback, kind: 'line', width: 1 });
  return canvas.finish();
}
