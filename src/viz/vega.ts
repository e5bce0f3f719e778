/**
 * Charts on a real plotting stack: a Vega-Lite spec is compiled (vega-lite), laid out and
 * drawn as SVG by Vega in Node (no canvas, `renderer: 'none'`), then rasterised by resvg with
 * the DejaVu fonts shipped in the dejavu-fonts-ttf package only (no font ever comes from the
 * machine), so the same spec gives the same PNG bytes everywhere.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { ValidationError, expected } from '../core/errors.js';
import { loadFontMetrics, type FontMetrics } from './fontmetrics.js';

/** A Vega-Lite spec: pure data, written beside the figure as NAME.vl.json. */
export type VegaLiteSpec = TopLevelSpec;

export interface RenderOptions {
  /** Pixels per SVG unit in the PNG (default 2: sharp text on screens and in slides). */
  scale?: number;
}

export interface RenderedChart {
  png: Uint8Array;
  svg: string;
  /** The spec as rendered (with CHART_CONFIG merged in), for NAME.vl.json. */
  spec: object;
}

export const CHART_FONT = 'DejaVu Sans';

/** The fonts resvg may use: DejaVu Sans and DejaVu Sans Bold from the dejavu-fonts-ttf package. */
export function chartFontFiles(): string[] {
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  return [join(dir, 'DejaVuSans.ttf'), join(dir, 'DejaVuSans-Bold.ttf')];
}

let metrics: { regular: FontMetrics; bold: FontMetrics } | null = null;

/**
 * Vega measures text (for layout, label limits and legends) with the DejaVu fonts' own advance
 * widths, not its 0.8-em-a-character estimate: what it lays out is what resvg draws.
 */
function measureWithDejaVu(): void {
  if (metrics) return;
  const [regular, bold] = chartFontFiles().map(loadFontMetrics) as [FontMetrics, FontMetrics];
  metrics = { regular, bold };
  const m = metrics;
  // Not in vega's typings, but exported (vega-scenegraph's textMetrics); a user-defined width is what vl-convert sets too. Vega truncates to label limits itself, calling this.
  const tm = (vega as unknown as { textMetrics: { width: (item: Record<string, unknown>, text: unknown) => number } }).textMetrics;
  tm.width = (item, text) => {
    const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11;
    const w = item.fontWeight;
    const font = w === 'bold' || w === 'bolder' || Number(w) >= 600 ? m.bold : m.regular;
    return font.width(text == null ? '' : String(text).trim(), size);
  };
}

/**
 * The look every chart shares: DejaVu Sans everywhere, a white background, explicit label
 * limits and padding (Vega in Node estimates text widths, so generous room avoids clipping).
 */
export const CHART_CONFIG = {
  background: 'white',
  padding: 12,
  font: CHART_FONT,
  title: { font: CHART_FONT, fontSize: 15, fontWeight: 'bold', anchor: 'start', offset: 10, limit: 0 },
  axis: { labelFont: CHART_FONT, titleFont: CHART_FONT, labelFontSize: 12, titleFontSize: 13, titlePadding: 8, labelLimit: 200, titleLimit: 1000, labelPadding: 4, labelFlush: false, grid: true, gridColor: '#e6e6e6' },
  legend: { labelFont: CHART_FONT, titleFont: CHART_FONT, labelFontSize: 12, titleFontSize: 12, labelLimit: 400, titleLimit: 400, symbolSize: 120, symbolStrokeWidth: 2.5, padding: 6, rowPadding: 4, fillColor: 'white', strokeColor: '#cccccc' },
  header: { labelFont: CHART_FONT, titleFont: CHART_FONT, labelFontSize: 13, titleFontSize: 13, labelLimit: 0 },
  text: { font: CHART_FONT },
  view: { stroke: '#888888' },
} as const;

/** The spec with CHART_CONFIG under its own config (the spec's own settings win). */
export function withChartConfig(spec: VegaLiteSpec): VegaLiteSpec {
  const own = (spec as { config?: Record<string, unknown> }).config ?? {};
  const config: Record<string, unknown> = { ...CHART_CONFIG };
  for (const [k, v] of Object.entries(own)) {
    const base = config[k];
    config[k] = base && typeof base === 'object' && v && typeof v === 'object' ? { ...base, ...v } : v;
  }
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', ...spec, config } as VegaLiteSpec;
}

// Vega numbers clip paths and gradients from a process-wide counter; renumbered from 1 in order of appearance, the SVG depends on the spec only.
function stableIds(svg: string): string {
  const ids = new Map<string, string>();
  for (const m of svg.matchAll(/\bid="([^"]+)"/g)) if (!ids.has(m[1]!)) ids.set(m[1]!, `c${ids.size + 1}`);
  if (ids.size === 0) return svg;
  return svg.replace(/\bid="([^"]+)"|url\(#([^)]+)\)|href="#([^"]+)"/g, (all, a?: string, b?: string, c?: string) => {
    if (a !== undefined) return `id="${ids.get(a) ?? a}"`;
    if (b !== undefined) return `url(#${ids.get(b) ?? b})`;
    return `href="#${ids.get(c!) ?? c}"`;
  });
}

/**
 * Renders a Vega-Lite spec: the SVG Vega draws and its PNG at `scale` pixels per unit.
 * Deterministic: the same spec gives byte-identical SVG and PNG. Throws ValidationError for
 * a spec Vega-Lite cannot compile.
 */
export async function renderChart(spec: VegaLiteSpec, opts: RenderOptions = {}): Promise<RenderedChart> {
  const scale = opts.scale ?? 2;
  if (!(scale > 0 && scale <= 8)) throw new ValidationError(expected('chart scale', 'a number in (0, 8]', scale));
  measureWithDejaVu();
  const full = withChartConfig(spec);
  let compiled: vega.Spec;
  try {
    compiled = compile(full).spec;
  } catch (e) {
    throw new ValidationError(`chart spec: ${(e as Error).message}`);
  }
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Warn });
  let svg: string;
  try {
    svg = stableIds(await view.toSVG());
  } finally {
    view.finalize();
  }
  const resvg = new Resvg(svg, {
    font: { fontFiles: chartFontFiles(), loadSystemFonts: false, defaultFontFamily: CHART_FONT },
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
  });
  const png = new Uint8Array(resvg.render().asPng());
  return { png, svg, spec: full };
}

/** A chart figure's three files: NAME.png, NAME.svg and NAME.vl.json (base = NAME). */
export function chartFiles(base: string, c: RenderedChart): Array<[name: string, data: string | Uint8Array]> {
  return [
    [`${base}.png`, c.png],
    [`${base}.svg`, c.svg],
    [`${base}.vl.json`, JSON.stringify(c.spec, null, 2) + '\n'],
  ];
}

/** The three file names of a chart figure. */
export const chartNames = (base: string): string[] => [`${base}.png`, `${base}.svg`, `${base}.vl.json`];
