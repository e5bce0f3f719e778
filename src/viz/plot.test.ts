import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../core/errors.js';
import type { Raster } from './image.js';
import {
  PALETTE,
  PlotCanvas,
  colormap,
  formatNumber,
  histogramBins,
  histogramPlot,
  linePlot,
  niceTicks,
  project3d,
  quiverPlot,
  scatterPlot,
  tickLabels,
  type Color,
  type PixelBox,
} from './plot.js';

function px(r: Raster, x: number, y: number): Color {
  const o = (y * r.width + x) * 4;
  return [r.data[o]!, r.data[o + 1]!, r.data[o + 2]!];
}

function same(a: Color, b: Color): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}

/** Pixels where a and b differ, split by whether they lie inside `box`. */
function differences(a: Raster, b: Raster, box: PixelBox) {
  let inside = 0;
  let outside = 0;
  const where: Array<[number, number]> = [];
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      if (same(px(a, x, y), px(b, x, y))) continue;
      where.push([x, y]);
      if (x >= box.left && x <= box.right && y >= box.top && y <= box.bottom) inside++;
      else outside++;
    }
  }
  return { inside, outside, where };
}

/** Centroid of the pixels of exactly colour c. */
function centroid(r: Raster, c: Color): [number, number, number] {
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (let y = 0; y < r.height; y++) {
    for (let x = 0; x < r.width; x++) {
      if (same(px(r, x, y), c)) {
        sx += x;
        sy += y;
        n++;
      }
    }
  }
  return [sx / n, sy / n, n];
}

const RED: Color = [255, 0, 0];
const luminance = (c: Color) => 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];

test('niceTicks: 1/2/5 steps, multiples of the step inside the range, 3 to 10 of them, covering it', () => {
  const ranges: Array<[number, number]> = [
    [0, 1],
    [-0.04, 1.04],
    [-3.7, 12.2],
    [1e-6, 3e-6],
    [0, 1e7],
    [123.4, 123.5],
    [-1e-9, 1e-9],
    [0.999, 1.001],
    [-250, -3],
    [0, 7],
  ];
  for (const [lo, hi] of ranges) {
    for (const max of [3, 5, 8, 10]) {
      const { ticks, step } = niceTicks(lo, hi, max);
      const mant = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
      assert.ok([1, 2, 5].some((m) => Math.abs(mant - m) < 1e-9), `step ${step} for [${lo}, ${hi}]`);
      assert.ok(ticks.length >= 3, `${ticks.length} ticks for [${lo}, ${hi}] max ${max}`);
      // With 1-2-5 steps a count in 3..max is always possible once max >= 8.
      if (max >= 8) assert.ok(ticks.length <= max, `${ticks.length} ticks for [${lo}, ${hi}] max ${max}`);
      const eps = (hi - lo) * 1e-9;
      for (const t of ticks) {
        assert.ok(t >= lo - eps && t <= hi + eps, `tick ${t} outside [${lo}, ${hi}]`);
        assert.ok(Math.abs(t / step - Math.round(t / step)) < 1e-6, `tick ${t} not a multiple of ${step}`);
      }
      assert.ok(ticks[0]! - lo < step + eps && hi - ticks.at(-1)! < step + eps, `[${lo}, ${hi}] not covered by ${ticks}`);
      for (let i = 1; i < ticks.length; i++) assert.ok(Math.abs(ticks[i]! - ticks[i - 1]! - step) < step * 1e-6);
    }
  }
  assert.deepEqual(niceTicks(0, 1).ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0, 10).ticks, [0, 2, 4, 6, 8, 10]);
  assert.throws(() => niceTicks(1, 1), ValidationError);
  assert.throws(() => niceTicks(0, NaN), ValidationError);
});

test('tick labels are compact: no float tails, exponent form for tiny and huge values', () => {
  const { ticks, step } = niceTicks(0, 1, 11);
  assert.deepEqual(tickLabels(ticks, step), ['0', '0.1', '0.2', '0.3', '0.4', '0.5', '0.6', '0.7', '0.8', '0.9', '1']);
  assert.deepEqual(tickLabels([-0.5, 0, 0.5], 0.5), ['\u22120.5', '0', '0.5']);
  assert.deepEqual(tickLabels([0, 2e-5, 4e-5], 2e-5), ['0', '2e\u22125', '4e\u22125']);
  assert.deepEqual(tickLabels([0, 5e6, 1e7, 1.5e7], 5e6), ['0', '5e6', '1e7', '1.5e7']);
  assert.deepEqual(tickLabels([0.01, 0.015, 0.02], 0.005), ['0.01', '0.015', '0.02']);
  assert.equal(formatNumber(0.1 + 0.2), '0.3');
  assert.equal(formatNumber(2 * Math.PI), '6.28');
  assert.equal(formatNumber(1234.5678), '1235');
  assert.equal(formatNumber(1.23456e-7), '1.23e\u22127');
  assert.equal(formatNumber(0), '0');
  for (const v of [Math.PI * 1e-9, 1 / 3, 2 / 3 * 1e4, 123456789.123]) assert.ok(formatNumber(v).length <= 9, formatNumber(v));
});

test('coordinate mapping: data (x, y) lands at the expected pixel, larger y higher up', () => {
  const opts = { xRange: [0, 10] as [number, number], yRange: [0, 5] as [number, number], width: 300, height: 200 };
  const c = new PlotCanvas(opts);
  const { left, right, top, bottom } = c.area;
  assert.ok(left > 0 && right < 299 && top > 0 && bottom < 199 && right - left > 100 && bottom - top > 80);
  const [x, y] = c.toPixel(2, 3);
  assert.ok(Math.abs(x - (left + 0.2 * (right - left))) < 1e-9);
  assert.ok(Math.abs(y - (bottom - 0.6 * (bottom - top))) < 1e-9);
  assert.deepEqual(c.toPixel(0, 0), [left, bottom]);
  assert.deepEqual(c.toPixel(10, 5), [right, top]);
  assert.ok(c.toPixelY(4) < c.toPixelY(3), 'larger y must be higher up (smaller row)');
  assert.deepEqual(c.fromPixel(...c.toPixel(2, 3)).map((v) => Math.round(v * 1e9) / 1e9), [2, 3]);
  c.point(2, 3, RED, 0);
  c.point(2, 4, [0, 0, 255], 0);
  const r = c.finish();
  assert.deepEqual(px(r, Math.round(x), Math.round(y)), RED);
  assert.deepEqual(px(r, Math.round(x), Math.round(c.toPixelY(4))), [0, 0, 255]);

  // The plot functions use the same layout: a scatter point's disc is centred where the canvas maps it.
  const s = scatterPlot([{ xs: [7], ys: [1.5], color: RED, radius: 3 }], opts);
  const [cx, cy, n] = centroid(s, RED);
  assert.ok(n >= 20, `disc has ${n} pixels`);
  assert.ok(Math.abs(cx - Math.round(c.toPixelX(7))) < 0.01 && Math.abs(cy - Math.round(c.toPixelY(1.5))) < 0.01, `disc at ${cx},${cy}`);
  const low = centroid(scatterPlot([{ xs: [7], ys: [0.5], color: RED }], opts), RED);
  assert.ok(low[1] > cy, 'a smaller y must be drawn lower');
});

test('equalAspect: one data unit is the same number of pixels on both axes, asked ranges still shown', () => {
  const cases: Array<[[number, number], [number, number]]> = [
    [[0, 10], [0, 1]],
    [[-1, 1], [-5, 5]],
  ];
  for (const [xr, yr] of cases) {
    const c = new PlotCanvas({ xRange: xr, yRange: yr, equalAspect: true, yLabel: 'y', title: 'aspect' });
    const [x0, y0] = c.toPixel(0, 0);
    const [x1] = c.toPixel(1, 0);
    const [, y1] = c.toPixel(0, 1);
    assert.ok(Math.abs(x1 - x0 - (y0 - y1)) < 1e-9, `x unit ${x1 - x0}px vs y unit ${y0 - y1}px`);
    assert.ok(c.xRange[0] <= xr[0] && c.xRange[1] >= xr[1] && c.yRange[0] <= yr[0] && c.yRange[1] >= yr[1]);
  }
  const r = scatterPlot([{ xs: [0, 10], ys: [0, 1] }], { equalAspect: true, width: 320, height: 240 });
  assert.equal(r.width, 320);
  assert.equal(r.height, 240);
});

test('clipping: data outside the ranges never touches pixels outside the plot area', () => {
  const opts = { xRange: [0, 1] as [number, number], yRange: [0, 1] as [number, number], width: 260, height: 200, title: 'clip', xLabel: 'x', yLabel: 'y' };
  const area = new PlotCanvas(opts).area;
  const empty = linePlot([], opts);
  const wild = linePlot(
    [
      { xs: [-10, 0.5, 10, 1e300, -1e300], ys: [-10, 0.5, 10, 0.5, 0.5], width: 5 },
      { xs: [-0.5, 1.5], ys: [0.5, 0.5], width: 3, dashed: true },
    ],
    opts,
  );
  const d = differences(empty, wild, area);
  assert.equal(d.outside, 0, 'a line leaked over the axes');
  assert.ok(d.inside > 200, 'the lines were drawn inside');

  const sc = scatterPlot([{ xs: [0, 1, 0.5, -3, 0.5], ys: [0, 1, 1.02, 0.5, -0.01], radius: 12 }], opts);
  const ds = differences(scatterPlot([], opts), sc, area);
  assert.equal(ds.outside, 0, 'a disc leaked over the axes');
  assert.ok(ds.inside > 300);

  const q = quiverPlot([{ x0: 0.5, y0: 0.5, x1: 5, y1: 0.5 }, { x0: -2, y0: -2, x1: 0, y1: 0 }, { x0: 0.9, y0: 0.9, x1: 1.05, y1: 1.05 }], opts);
  const dq = differences(quiverPlot([], opts), q, area);
  assert.equal(dq.outside, 0, 'an arrow leaked over the axes');
  assert.ok(dq.inside > 50);

  const canvas = new PlotCanvas(opts);
  canvas.text(0.95, 0.5, 'text running off the plot');
  canvas.line(-1, 2, 2, -1, RED, 4);
  const dc = differences(new PlotCanvas(opts).finish(), canvas.finish(), area);
  assert.equal(dc.outside, 0, 'canvas drawing leaked over the axes');
  assert.ok(dc.inside > 100);
});

test('histogramBins: counts sum to the finite values, density integrates to 1, edges as asked', () => {
  const values = [0, 0.1, 0.5, 0.9, 1, NaN, Infinity, -Infinity];
  const h = histogramBins(values, 2, [0, 1]);
  assert.deepEqual(Array.from(h.edges), [0, 0.5, 1]);
  assert.deepEqual(Array.from(h.counts), [2, 3], 'bins are [lo, mid) and [mid, hi], the last closed');
  assert.equal(h.total, 5);

  let seed = 3;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const many = Array.from({ length: 1000 }, (_, i) => (i % 97 === 0 ? NaN : rand() * 3 - 1 + rand() * rand()));
  for (const bins of [1, 7, 30]) {
    const b = histogramBins(many, bins);
    const finite = many.filter(Number.isFinite).length;
    assert.equal(b.counts.reduce((a, c) => a + c, 0), finite);
    assert.equal(b.total, finite);
    assert.equal(b.edges.length, bins + 1);
    let area = 0;
    for (let i = 0; i < bins; i++) area += b.density[i]! * (b.edges[i + 1]! - b.edges[i]!);
    assert.ok(Math.abs(area - 1) < 1e-12, `density area ${area}`);
  }
  // Values outside an explicit range are left out; a constant series still gets a usable bin.
  assert.equal(histogramBins([-1, 0.5, 2], 4, [0, 1]).total, 1);
  assert.deepEqual(Array.from(histogramBins([3, 3, 3], 1).counts), [3]);
  assert.throws(() => histogramBins([1], 0), ValidationError);
});

test('histogramPlot: shared bins, overlapping bars stay visible, a marker draws a vertical line', () => {
  const a = Array.from({ length: 400 }, (_, i) => (i % 40) / 40);
  // yLabel as histogramPlot's default, so the canvas below has the same layout.
  const opts = { width: 300, height: 220, bins: 10, xRange: [0, 1] as [number, number], yRange: [0, 50] as [number, number], legend: false, yLabel: 'count' };
  const one = histogramPlot([{ label: 'a', values: a, color: [0, 0, 255] }], opts);
  const two = histogramPlot([{ label: 'a', values: a, color: [0, 0, 255] }, { label: 'b', values: a, color: [255, 0, 0] }], opts);
  const c = new PlotCanvas(opts);
  // Inside the bars (count 40 in every bin), at x = 0.25, y = 20.
  const [x, y] = c.toPixel(0.25, 20).map(Math.round) as [number, number];
  const p1 = px(one, x, y);
  const p2 = px(two, x, y);
  assert.ok(p1[2] > p1[0] && p1[2] < 255 + 1 && p1[0] > 0, `blue bar is translucent: ${p1}`);
  assert.ok(p2[0] > p1[0] && p2[2] > 0 && p2[2] < p1[2], `red over blue blends: ${p2}`);
  assert.ok(p2[2] > 40, 'the blue series must still show through');
  // Above the bars stays white.
  const [, ya] = c.toPixel(0.25, 45).map(Math.round) as [number, number];
  assert.deepEqual(px(one, x, ya), [255, 255, 255]);

  const marked = histogramPlot([{ label: 'a', values: a }], { ...opts, markers: [{ x: 0.6, label: 'threshold', color: [0, 128, 0] }] });
  const mx = Math.round(c.toPixelX(0.6));
  let green = 0;
  for (let yy = c.area.top; yy <= c.area.bottom; yy++) if (same(px(marked, mx, yy), [0, 128, 0])) green++;
  assert.ok(green > (c.area.bottom - c.area.top) * 0.4, `dashed marker line covers ${green} px`);
  let label = 0;
  for (let yy = c.area.top; yy < c.area.top + 20; yy++) for (let xx = mx + 2; xx < mx + 60; xx++) if (same(px(marked, xx, yy), [0, 128, 0])) label++;
  assert.ok(label > 20, 'marker label drawn beside the line');
});

test('legend: drawn when series have labels, not with legend: false, and in the emptiest corner', () => {
  const opts = { xRange: [0, 10] as [number, number], yRange: [0, 10] as [number, number], width: 300, height: 240 };
  // Data everywhere except the bottom-left quadrant.
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i <= 40; i++) {
    for (let j = 0; j <= 40; j++) {
      const [x, y] = [i / 4, j / 4];
      if (x > 5 || y > 5) {
        xs.push(x);
        ys.push(y);
      }
    }
  }
  const unlabelled = scatterPlot([{ xs, ys, color: [0, 0, 200], radius: 1 }], opts);
  const labelled = scatterPlot([{ xs, ys, color: [0, 0, 200], radius: 1, label: 'grid points' }], opts);
  const off = scatterPlot([{ xs, ys, color: [0, 0, 200], radius: 1, label: 'grid points' }], { ...opts, legend: false });
  const area = new PlotCanvas(opts).area;
  const d = differences(unlabelled, labelled, area);
  assert.ok(d.inside > 50, 'legend drawn');
  assert.equal(d.outside, 0);
  assert.equal(differences(unlabelled, off, area).inside, 0, 'legend: false draws none');
  const midX = (area.left + area.right) / 2;
  const midY = (area.top + area.bottom) / 2;
  assert.ok(d.where.every(([x, y]) => x < midX && y > midY), 'legend placed in the empty bottom-left corner');

  const lines = linePlot([{ xs: [0, 1], ys: [0, 1], label: 'A' }, { xs: [0, 1], ys: [1, 0], label: 'B', dashed: true }], { width: 300, height: 240 });
  const bare = linePlot([{ xs: [0, 1], ys: [0, 1] }, { xs: [0, 1], ys: [1, 0], dashed: true }], { width: 300, height: 240 });
  let swatch = 0;
  const dl = differences(bare, lines, area);
  for (const [x, y] of dl.where) if (same(px(lines, x, y), PALETTE[1]!)) swatch++;
  assert.ok(swatch > 5, 'the legend shows each series colour');
});

test('colormap: viridis-like endpoints, clamped, luminance rising monotonically', () => {
  assert.deepEqual(colormap(0), [68, 1, 84]);
  assert.deepEqual(colormap(1), [253, 231, 37]);
  assert.deepEqual(colormap(-3), colormap(0));
  assert.deepEqual(colormap(7), colormap(1));
  assert.deepEqual(colormap(NaN), colormap(0));
  let prev = -Infinity;
  for (let i = 0; i <= 200; i++) {
    const l = luminance(colormap(i / 200));
    assert.ok(l > prev, `luminance falls at t = ${i / 200}`);
    prev = l;
  }
  assert.ok(PALETTE.length >= 8);
  assert.ok(PALETTE[0]![2] > PALETTE[0]![0] && PALETTE[1]![0] > PALETTE[1]![2] && PALETTE[2]![1] > PALETTE[2]![0] && PALETTE[3]![0] > PALETTE[3]![1]);
  for (let i = 0; i < PALETTE.length; i++) {
    for (let j = i + 1; j < PALETTE.length; j++) {
      const [a, b] = [PALETTE[i]!, PALETTE[j]!];
      assert.ok(Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]) > 60, `palette ${i} and ${j} too alike`);
    }
  }
});

test('project3d: axis-aligned points follow the orthographic formula', () => {
  const deg = Math.PI / 180;
  for (const view of [undefined, { azimuth: 30, elevation: 20 }, { azimuth: -60, elevation: 35 }, { azimuth: 0, elevation: 0 }]) {
    const az = (view?.azimuth ?? 30) * deg;
    const el = (view?.elevation ?? 20) * deg;
    const p = project3d([2, 0, 0, 0], [0, 3, 0, 0], [0, 0, 4, 0], view);
    const want = [
      [-2 * Math.sin(az), -2 * Math.sin(el) * Math.cos(az)],
      [3 * Math.cos(az), -3 * Math.sin(el) * Math.sin(az)],
      [0, 4 * Math.cos(el)],
      [0, 0],
    ];
    want.forEach(([x, y], i) => {
      assert.ok(Math.abs(p.xs[i]! - x!) < 1e-12 && Math.abs(p.ys[i]! - y!) < 1e-12, `point ${i}: ${p.xs[i]},${p.ys[i]} vs ${x},${y}`);
    });
  }
  const front = project3d([1], [0], [0], { azimuth: 0, elevation: 0 });
  assert.equal(front.depth[0], 1, 'a point towards the camera is nearer');
  const nan = project3d([NaN], [0], [0]);
  assert.ok(Number.isNaN(nan.xs[0]!));
  assert.throws(() => project3d([1, 2], [1], [1, 2]), ValidationError);
});

test('every plot returns a raster of the requested size (default 480x360, white background)', () => {
  const ser = { xs: [0, 1, 2], ys: [1, 3, 2] };
  const cb = { label: 'c', range: [0, 1] as [number, number] };
  const full = { title: 'A title that is rather long for such a small figure, so it wraps', xLabel: 'x label', yLabel: 'y label' };
  const make = (o: object): Raster[] => [
    linePlot([{ ...ser, label: 'l' }], o),
    histogramPlot([{ label: 'h', values: [1, 2, 2, 3] }], { ...o, markers: [{ x: 2.5, label: 'm' }], density: true }),
    scatterPlot([{ ...ser, label: 's' }], { ...o, colorbar: cb }),
    quiverPlot([{ x0: 0, y0: 0, x1: 1, y1: 1 }], { ...o, points: [ser], colorbar: cb }),
    new PlotCanvas({ ...o, xRange: [0, 1], yRange: [0, 1] }).finish(),
    linePlot([], o),
  ];
  for (const r of make({})) {
    assert.equal(r.width, 480);
    assert.equal(r.height, 360);
    assert.equal(r.data.length, 480 * 360 * 4);
    assert.deepEqual(px(r, 0, r.height - 1), [255, 255, 255]);
  }
  for (const [w, h] of [
    [200, 150],
    [640, 200],
    [900, 700],
  ] as const) {
    for (const o of [{ width: w, height: h }, { width: w, height: h, ...full }]) {
      for (const r of make(o)) assert.deepEqual([r.width, r.height, r.data.length], [w, h, w * h * 4]);
    }
  }
  assert.throws(() => linePlot([], { width: 10, height: 10 }), ValidationError);
  assert.throws(() => linePlot([], { xRange: [1, 0] }), ValidationError);
  assert.throws(() => linePlot([{ xs: [1, 2], ys: [1] }]), ValidationError);
  assert.throws(() => scatterPlot([{ xs: [1, 2], ys: [1, 2], colors: [RED] }]), ValidationError);
  assert.throws(() => histogramPlot([{ label: 'h', values: [1] }], { bins: 0 }), ValidationError);
});

test('NaN and Infinity are skipped: not drawn, not in the auto ranges, no crash', () => {
  const o = { width: 260, height: 200 };
  // A non-finite point breaks a line; the rest is as if the point were absent from the range.
  const withNaN = linePlot([{ xs: [0, 1, 2, 3, 4], ys: [0, 1, NaN, Infinity, 4], color: RED }], o);
  const split = linePlot([{ xs: [0, 1], ys: [0, 1], color: RED }, { xs: [4], ys: [4], color: RED }], o);
  assert.deepEqual(withNaN.data, split.data);

  const clean = scatterPlot([{ xs: [0, 1, 2], ys: [2, 0, 1] }], o);
  const dirty = scatterPlot([{ xs: [0, NaN, 1, 5, Infinity, 2], ys: [2, 3, 0, -Infinity, 1, 1] }], o);
  assert.deepEqual(dirty.data, clean.data);

  const h1 = histogramPlot([{ label: 'v', values: [1, 2, 2, 3] }], { ...o, bins: 4 });
  const h2 = histogramPlot([{ label: 'v', values: [1, NaN, 2, Infinity, 2, -Infinity, 3] }], { ...o, bins: 4 });
  assert.deepEqual(h2.data, h1.data);

  const q1 = quiverPlot([{ x0: 0, y0: 0, x1: 1, y1: 1 }], o);
  const q2 = quiverPlot([{ x0: 0, y0: 0, x1: 1, y1: 1 }, { x0: NaN, y0: 0, x1: 1e3, y1: 2 }, { x0: 0, y0: 0, x1: Infinity, y1: 1 }], o);
  // Auto ranges come from finite pairs; an arrow with one non-finite end also adds its finite end.
  assert.equal(q2.width, q1.width);

  const allBad = linePlot([{ xs: [NaN, Infinity], ys: [1, NaN], label: 'nothing' }], o);
  assert.equal(allBad.width, 260);
  const canvas = new PlotCanvas({ ...o, xRange: [0, 1], yRange: [0, 1] });
  const before = Uint8Array.from(canvas.finish().data);
  const c2 = new PlotCanvas({ ...o, xRange: [0, 1], yRange: [0, 1] });
  c2.point(NaN, 0.5, RED);
  c2.line(0, 0, Infinity, 1, RED);
  c2.arrow(0, 0, NaN, 1, RED);
  c2.text(NaN, 0, 'x');
  c2.rect(0, 0, Infinity, 1, RED);
  assert.deepEqual(c2.finish().data, before);
});

test('lines are continuous, dashes leave gaps, arrows have heads', () => {
  const opts = { xRange: [0, 1] as [number, number], yRange: [0, 1] as [number, number], width: 260, height: 200, grid: false };
  const solid = new PlotCanvas(opts);
  solid.line(0, 0, 1, 0.37, RED, 1);
  const r = solid.finish();
  const { left, right } = solid.area;
  // A 1-px line at a shallow slope has a red pixel in every column it spans.
  for (let x = left; x <= right; x++) {
    let found = false;
    for (let y = solid.area.top; y <= solid.area.bottom; y++) if (same(px(r, x, y), RED)) found = true;
    assert.ok(found, `gap in the line at column ${x}`);
  }
  const count = (ras: Raster) => centroid(ras, RED)[2];
  const dashed = linePlot([{ xs: [0, 1], ys: [0.5, 0.5], color: RED, dashed: true, width: 2 }], opts);
  const full = linePlot([{ xs: [0, 1], ys: [0.5, 0.5], color: RED, width: 2 }], opts);
  assert.ok(count(dashed) > 0.4 * count(full) && count(dashed) < 0.85 * count(full), `dashed ${count(dashed)} vs solid ${count(full)}`);

  const q = new PlotCanvas(opts);
  q.arrow(0.1, 0.5, 0.9, 0.5, RED);
  const qr = q.finish();
  const rows = (x: number) => {
    let n = 0;
    for (let y = q.area.top; y <= q.area.bottom; y++) if (same(px(qr, x, y), RED)) n++;
    return n;
  };
  const tip = Math.round(q.toPixelX(0.9));
  const mid = Math.round(q.toPixelX(0.5));
  assert.equal(rows(mid), 1, 'the shaft is 1 px');
  assert.ok(Math.max(rows(tip - 3), rows(tip - 4), rows(tip - 5)) >= 4, 'the head is wider than the shaft');
});

test('colorbar: a gradient from colormap(0) at the bottom to colormap(1) at the top, right of the plot', () => {
  const opts = { width: 320, height: 240, colorbar: { label: 'value', range: [-2, 5] as [number, number] } };
  const r = scatterPlot([{ xs: [0, 1], ys: [0, 1] }], opts);
  const c = new PlotCanvas({ ...opts, xRange: [0, 1], yRange: [0, 1] });
  const bar = c.colorbarArea!;
  assert.ok(bar.left > c.area.right && bar.right < 320);
  const x = Math.round((bar.left + bar.right) / 2);
  assert.deepEqual(px(r, x, bar.bottom), colormap(0));
  assert.deepEqual(px(r, x, bar.top), colormap(1));
  assert.ok(luminance(px(r, x, bar.top + 5)) > luminance(px(r, x, bar.bottom - 5)));
  assert.equal(new PlotCanvas({ xRange: [0, 1], yRange: [0, 1] }).colorbarArea, undefined);
});
