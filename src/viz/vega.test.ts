import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { decodePng } from './image.js';
import { CHART_FONT, chartFontFiles, renderChart, withChartConfig, type VegaLiteSpec } from './vega.js';
import { existsSync } from 'node:fs';
import { ValidationError } from '../core/errors.js';

const spec: VegaLiteSpec = {
  title: 'Squares and cubes',
  width: 300,
  height: 200,
  data: { values: [1, 2, 3, 4].flatMap((x) => [{ x, y: x * x, kind: 'square' }, { x, y: x ** 3, kind: 'cube' }]) },
  mark: { type: 'line', point: true },
  encoding: { x: { field: 'x', type: 'quantitative', title: 'x value' }, y: { field: 'y', type: 'quantitative', scale: { type: 'log' } }, color: { field: 'kind', type: 'nominal' } },
};

test('renderChart: a PNG of the laid-out size, an SVG with real text, byte-identical twice', async () => {
  const a = await renderChart(spec);
  const b = await renderChart(spec);
  const png = decodePng(a.png);
  const w = Number(/<svg[^>]*width="(\d+(?:\.\d+)?)"/.exec(a.svg)![1]);
  const h = Number(/<svg[^>]*height="(\d+(?:\.\d+)?)"/.exec(a.svg)![1]);
  assert.ok(w > 300 && h > 200, `${w}x${h}`);
  assert.equal(png.width, Math.ceil(w * 2));
  assert.equal(png.height, Math.ceil(h * 2));
  assert.match(a.svg, /<text[^>]*>Squares and cubes<\/text>/);
  assert.match(a.svg, /<text[^>]*>x value<\/text>/);
  assert.match(a.svg, /font-family="DejaVu Sans"/);
  assert.equal(Buffer.compare(Buffer.from(a.png), Buffer.from(b.png)), 0);
  assert.equal(a.svg, b.svg);
  const hash = (p: Uint8Array) => createHash('sha256').update(decodePng(p).data).digest('hex');
  assert.equal(hash(a.png), hash(b.png));
  // Not blank: many non-white pixels, and coloured ones (the lines).
  let ink = 0;
  let colour = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    const [r, g, bl] = [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
    if (r + g + bl < 600) ink++;
    if (Math.max(r, g, bl) - Math.min(r, g, bl) > 80) colour++;
  }
  assert.ok(ink > 2000, `ink ${ink}`);
  assert.ok(colour > 200, `colour ${colour}`);
  // The spec it returns is the one rendered: the shared config merged in.
  assert.equal((a.spec as { config: { font: string } }).config.font, CHART_FONT);
});

test('renderChart: scale sets pixels per unit; the fonts are the packaged DejaVu files', async () => {
  const one = decodePng((await renderChart(spec, { scale: 1 })).png);
  const two = decodePng((await renderChart(spec, { scale: 2 })).png);
  assert.ok(Math.abs(two.width - 2 * one.width) <= 1);
  for (const f of chartFontFiles()) assert.ok(existsSync(f), f);
  await assert.rejects(renderChart(spec, { scale: 0 }), ValidationError);
  await assert.rejects(renderChart({ mark: 'nonsense' } as unknown as VegaLiteSpec), ValidationError);
});

test('withChartConfig: the spec’s own config wins, key by key', () => {
  const s = withChartConfig({ ...spec, config: { axis: { labelFontSize: 20 } } }) as { config: { axis: { labelFontSize: number; labelFont: string } } };
  assert.equal(s.config.axis.labelFontSize, 20);
  assert.equal(s.config.axis.labelFont, CHART_FONT);
});

test('loadFontMetrics: DejaVu Sans advance widths (0.5 em for a digit, bold wider), as Vega now measures text', async () => {
  const { loadFontMetrics } = await import('./fontmetrics.js');
  const [regular, bold] = chartFontFiles().map(loadFontMetrics) as [ReturnType<typeof loadFontMetrics>, ReturnType<typeof loadFontMetrics>];
  // DejaVu Sans: every digit is 1303 of 2048 units.
  assert.ok(Math.abs(regular.width('0123456789', 10) - 100 * 1303 / 2048) < 1e-9);
  assert.ok(regular.width('iii', 12) < regular.width('WWW', 12));
  assert.ok(bold.width('threshold', 12) > regular.width('threshold', 12));
  assert.equal(regular.width('', 12), 0);
  // Vega's own estimate (0.8 em a character) is far wider than the glyphs.
  assert.ok(regular.width('reconstruction error', 13) < 0.8 * 20 * 13 * 0.8);
});
