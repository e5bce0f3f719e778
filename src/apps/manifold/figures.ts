/**
 * The manifold study's pictures (the lecture's Figs. 15–19): arrows.png, travel.png,
 * jacobian.png and code.png, each drawn from a ManifoldStudy (study.ts).
 */
import { ValidationError, expected } from '../../core/errors.js';
import { matrix, type Matrix } from '../../core/matrix.js';
import { gridPoints } from '../../data/manifolds.js';
import { raster, type Raster } from '../../viz/image.js';
import { colormap, PlotCanvas, project3d, scatterPlot, type Arrow, type Color, type ColorbarOptions, type PlotOptions } from '../../viz/plot.js';
import { paste, withTitle } from '../../viz/text.js';
import type { VegaLiteSpec } from '../../viz/vega.js';
import { variantLabel } from './report.js';
import { rowDistances, type ManifoldStudy } from './study.js';

const DATA_COLOR: Color = [31, 119, 180];
const ARROW_COLOR: Color = [214, 39, 40];
const CURVE_COLOR: Color = [255, 255, 255];

/** Draws the noiseless 2-D manifold as dashed curves over a finished picture, with its legend entry. */
function finishWithManifold(canvas: PlotCanvas, polylines: ReadonlyArray<ArrayLike<number>>): Raster {
  for (const p of polylines) {
    const k = p.length / 2;
    canvas.polyline(
      Float64Array.from({ length: k }, (_, i) => p[2 * i]!),
      Float64Array.from({ length: k }, (_, i) => p[2 * i + 1]!),
      CURVE_COLOR,
      { width: 1, dashed: true },
    );
  }
  canvas.addLegend({ label: 'noiseless manifold', color: CURVE_COLOR, kind: 'line', dashed: true, width: 1 });
  return canvas.finish();
}

/** Pictures side by side, top-aligned, on white. */
function sideBySide(parts: Raster[], gap = 8): Raster {
  const width = parts.reduce((s, p) => s + p.width, 0) + gap * (parts.length - 1);
  const out = raster(width, Math.max(...parts.map((p) => p.height)));
  let x = 0;
  for (const p of parts) {
    paste(out, p, x, 0);
    x += p.width + gap;
  }
  return out;
}

function column(m: Matrix, j: number): Float64Array {
  const out = new Float64Array(m.rows);
  for (let r = 0; r < m.rows; r++) out[r] = m.data[r * m.cols + j]!;
  return out;
}

/** Every k-th grid point along each axis, so the arrows stay readable. */
function coarseIndices(side: number, dim: number, every: number): number[] {
  const out: number[] = [];
  const n = side ** dim;
  for (let r = 0; r < n; r++) {
    let rest = r;
    let keep = true;
    for (let i = 0; i < dim; i++) {
      if ((rest % side) % every !== 0) keep = false;
      rest = Math.floor(rest / side);
    }
    if (keep) out.push(r);
  }
  return out;
}

/** Grid points of an axis-aligned plane through the 3-D box: `fixed` is the axis held at `value`. */
function planeGrid(side: number, range: readonly [number, number], fixed: number, value: number): { points: Matrix; axes: [number, number] } {
  const flat = gridPoints(2, side, range);
  const axes = [0, 1, 2].filter((a) => a !== fixed) as [number, number];
  const points = matrix(flat.rows, 3);
  for (let r = 0; r < flat.rows; r++) {
    points.data[r * 3 + fixed] = value;
    points.data[r * 3 + axes[0]] = flat.data[r * 2]!;
    points.data[r * 3 + axes[1]] = flat.data[r * 2 + 1]!;
  }
  return { points, axes };
}

const AXIS_NAMES = ['x', 'y', 'z'];
/** The two planes curve3d's pictures cut through: each crosses the helix 3 or 4 times. */
const CURVE3D_PLANES: Array<{ fixed: number; value: number }> = [
  { fixed: 1, value: 0 },
  { fixed: 0, value: 0 },
];

const hex = ([r, g, b]: Color) => `#${[r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
const r5 = (v: number) => Number(v.toPrecision(5));

/**
 * arrows.png as a Vega-Lite spec: each grid point (every few along each axis) → its
 * reconstruction, a red arrow (a rule and a triangle head turned along it) over the training
 * data in blue, on equal axes; for curve3d, seen in projection (project3d). One legend.
 */
export function arrowsSpec(study: ManifoldStudy, opts: { size?: number } = {}): VegaLiteSpec {
  const { summary: s, data } = study;
  const size = opts.size ?? 560;
  let arrows: Arrow[];
  let points: { xs: ArrayLike<number>; ys: ArrayLike<number> };
  let title: string;
  let axes: [string, string];
  if (data.manifold.dim === 2) {
    const idx = coarseIndices(s.grid.side, 2, Math.max(1, Math.round((s.grid.side - 1) / 20)));
    arrows = idx.map((r) => ({ x0: study.grid.data[2 * r]!, y0: study.grid.data[2 * r + 1]!, x1: study.recon.data[2 * r]!, y1: study.recon.data[2 * r + 1]! }));
    points = { xs: column(data.x, 0), ys: column(data.x, 1) };
    title = `${s.dataset}, ${variantLabel(s)}: x → x̂`;
    axes = ['x1', 'x2'];
  } else {
    // 3-D: a coarse grid and the data seen from one viewpoint; each arrow ends on the curve if the model projects onto it.
    const idx = coarseIndices(s.grid.side, 3, Math.max(1, Math.round((s.grid.side - 1) / 5)));
    const view = { azimuth: 30, elevation: 20 };
    const pick = (m: Matrix, j: number) => idx.map((r) => m.data[3 * r + j]!);
    const from = project3d(pick(study.grid, 0), pick(study.grid, 1), pick(study.grid, 2), view);
    const to = project3d(pick(study.recon, 0), pick(study.recon, 1), pick(study.recon, 2), view);
    arrows = idx.map((_, k) => ({ x0: from.xs[k]!, y0: from.ys[k]!, x1: to.xs[k]!, y1: to.ys[k]! }));
    points = project3d(column(data.x, 0), column(data.x, 1), column(data.x, 2), view);
    title = `curve3d, ${variantLabel(s)}: ${idx.length} grid points x → x̂`;
    axes = ['screen x (azimuth 30°, elevation 20°)', 'screen y (z up)'];
  }
  // One square domain for both axes (equal aspect), a margin around everything drawn.
  const all = [...arrows.flatMap((a) => [a.x0, a.x1, a.y0, a.y1]), ...Array.from(points.xs), ...Array.from(points.ys)].filter(Number.isFinite);
  const [lo, hi] = [Math.min(...all), Math.max(...all)];
  const pad = (hi - lo) * 0.04 || 0.5;
  const domain = [r5(lo - pad), r5(hi + pad)];
  const legend = { data: 'training data', arrow: 'x → x̂' };
  const color = (label: string) => ({ datum: label, type: 'nominal', scale: { domain: [legend.data, legend.arrow], range: [hex(DATA_COLOR), hex(ARROW_COLOR)] }, legend: { title: null, orient: 'top-right', symbolOpacity: 1 } });
  const x = { type: 'quantitative', title: axes[0], scale: { domain, nice: false, zero: false } };
  const y = { type: 'quantitative', title: axes[1], scale: { domain, nice: false, zero: false } };
  const arrowRows = arrows
    .filter((a) => [a.x0, a.y0, a.x1, a.y1].every(Number.isFinite))
    .map((a) => ({ x0: r5(a.x0), y0: r5(a.y0), x1: r5(a.x1), y1: r5(a.y1), angle: r5(((Math.atan2(a.x1 - a.x0, a.y1 - a.y0) * 180) / Math.PI + 360) % 360), long: Math.hypot(a.x1 - a.x0, a.y1 - a.y0) > (hi - lo) * 0.01 }));
  const pointRows = Array.from(points.xs, (px, i) => ({ x: r5(px), y: r5(points.ys[i]!) })).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  return {
    title,
    width: size,
    height: size,
    layer: [
      { data: { values: pointRows }, mark: { type: 'circle', size: 10, opacity: 0.6 }, encoding: { x: { ...x, field: 'x' }, y: { ...y, field: 'y' }, color: color(legend.data) } },
      { data: { values: arrowRows }, mark: { type: 'rule', strokeWidth: 1.2 }, encoding: { x: { ...x, field: 'x0' }, y: { ...y, field: 'y0' }, x2: { field: 'x1' }, y2: { field: 'y1' }, color: color(legend.arrow) } },
      // Heads only on arrows long enough to show a direction; a triangle points up at angle 0, turned clockwise.
      { data: { values: arrowRows }, transform: [{ filter: 'datum.long' }], mark: { type: 'point', shape: 'triangle-up', filled: true, size: 28, opacity: 1 }, encoding: { x: { ...x, field: 'x1' }, y: { ...y, field: 'y1' }, angle: { field: 'angle', type: 'quantitative', scale: null }, color: color(legend.arrow) } },
    ],
  } as unknown as VegaLiteSpec;
}

/**
 * Cells of a regular grid filled with colormap(value / top), on a plot canvas: a heat map.
 * `xs`, `ys` are the cell centres, `step` the grid spacing.
 */
function heatmap(
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  values: ArrayLike<number>,
  top: number,
  step: number,
  opts: PlotOptions & { xRange: [number, number]; yRange: [number, number]; colorbar?: ColorbarOptions },
): PlotCanvas {
  const canvas = new PlotCanvas(opts);
  const h = step / 2;
  for (let i = 0; i < xs.length; i++) canvas.rect(xs[i]! - h, ys[i]! - h, xs[i]! + h, ys[i]! + h, colormap(values[i]! / top));
  return canvas;
}

/**
 * travel.png (Fig. 17): each grid point coloured by how far it travels, ‖x̂ − x‖; lighter is
 * farther, so the manifold shows as a dark valley (the noiseless curves are drawn over it,
 * dashed). For curve3d, the planes y = 0 and x = 0, where the helix crosses them as dark spots.
 */
export function travelFigure(study: ManifoldStudy, opts: { size?: number } = {}): Raster {
  const { summary: s, data, model } = study;
  const size = opts.size ?? 800;
  const [lo, hi] = data.manifold.range;
  const label = 'travel ‖x̂ − x‖';
  if (data.manifold.dim === 2) {
    const top = Math.max(...study.travel);
    const step = (hi - lo) / (s.grid.side - 1);
    const box: [number, number] = [lo - step / 2, hi + step / 2];
    const canvas = heatmap(column(study.grid, 0), column(study.grid, 1), study.travel, top, step, {
      width: size + 40,
      height: size,
      equalAspect: true,
      xRange: box,
      yRange: box,
      title: `${s.dataset}, ${variantLabel(s)}: travel ‖x̂ − x‖`,
      xLabel: 'x1',
      yLabel: 'x2',
      grid: false,
      colorbar: { label, range: [0, top] },
    });
    return finishWithManifold(canvas, data.manifold.polylines);
  }
  const side = 81;
  const step = (hi - lo) / (side - 1);
  const box: [number, number] = [lo - step / 2, hi + step / 2];
  const slices = CURVE3D_PLANES.map(({ fixed, value }) => {
    const { points, axes } = planeGrid(side, data.manifold.range, fixed, value);
    return { fixed, value, axes, points, travel: rowDistances(points, model.reconstruct(points)) };
  });
  const top = Math.max(...slices.map((p) => Math.max(...p.travel)));
  const panels = slices.map(({ fixed, value, axes, points, travel }, k) => {
    // Two panels side by side: each about half the width, with the same text size.
    const panel = Math.round(0.75 * size);
    const canvas = heatmap(column(points, axes[0]), column(points, axes[1]), travel, top, step, {
      width: k === slices.length - 1 ? panel + 80 : panel,
      height: panel,
      textScale: 1,
      equalAspect: true,
      xRange: box,
      yRange: box,
      title: `plane ${AXIS_NAMES[fixed]} = ${value}`,
      xLabel: AXIS_NAMES[axes[0]]!,
      yLabel: AXIS_NAMES[axes[1]]!,
      grid: false,
      ...(k === slices.length - 1 ? { colorbar: { label, range: [0, top] as [number, number] } } : {}),
    });
    // Where the noiseless helix crosses the plane: the places a perfect model leaves alone.
    const p = data.manifold.polylines[0]!;
    for (let v = 0; v + 1 < p.length / 3; v++) {
      const a = p[v * 3 + fixed]! - value;
      const b = p[(v + 1) * 3 + fixed]! - value;
      if (a === 0 || a * b < 0) {
        const u = a === 0 ? 0 : a / (a - b);
        const at = (i: number) => p[v * 3 + i]! + u * (p[(v + 1) * 3 + i]! - p[v * 3 + i]!);
        canvas.point(at(axes[0]), at(axes[1]), CURVE_COLOR, 2);
      }
    }
    canvas.addLegend({ label: 'helix crosses the plane', color: CURVE_COLOR, kind: 'point' });
    return canvas.finish();
  });
  return withTitle(sideBySide(panels), `curve3d (helix): distance travelled, ${variantLabel(s)}`, { scale: 2 });
}

/**
 * jacobian.png (one-layer encoders, 2-D): each grid point coloured by ‖∂h/∂x‖_F, the encoder's
 * sensitivity that the contractive penalty shrinks at the training points; darker is more contractive.
 */
export function jacobianFigure(study: ManifoldStudy, opts: { size?: number } = {}): Raster {
  const { summary: s, data, model } = study;
  if (model.encoder.length !== 1 || data.manifold.dim !== 2) {
    throw new ValidationError(expected('jacobian figure', 'a one-layer encoder on two-branch', `${s.layers.join(',')} on ${s.dataset}`));
  }
  const size = opts.size ?? 800;
  const [lo, hi] = data.manifold.range;
  const norms = model.jacobianNorms(study.grid);
  const top = Math.max(...norms);
  const step = (hi - lo) / (s.grid.side - 1);
  const box: [number, number] = [lo - step / 2, hi + step / 2];
  const canvas = heatmap(column(study.grid, 0), column(study.grid, 1), norms, top, step, {
    width: size + 40,
    height: size,
    equalAspect: true,
    xRange: box,
    yRange: box,
    title: `${variantLabel(s)}: encoder sensitivity ‖∂h/∂x‖_F`,
    xLabel: 'x1',
    yLabel: 'x2',
    grid: false,
    colorbar: { label: '‖∂h/∂x‖_F', range: [0, top] },
  });
  return finishWithManifold(canvas, data.manifold.polylines);
}

/**
 * code.png (curve3d): the learned 1-D code of each training point against the helix's
 * parameter t, and the helix in 3-D (project3d) coloured by the code.
 */
export function codeFigure(study: ManifoldStudy, opts: { size?: number } = {}): Raster {
  const { summary: s, data, code } = study;
  if (code === null || s.code === undefined) throw new ValidationError(expected('code figure', 'a study of a one-curve data set (curve3d)', s.dataset));
  const size = opts.size ?? 560;
  const what = s.code.kind === 'bottleneck' ? 'code h (1 unit)' : 'code: 1st principal direction';
  const [clo, chi] = [Math.min(...code), Math.max(...code)];
  const span = chi > clo ? chi - clo : 1;
  const colors = Array.from(code, (v) => colormap((v - clo) / span));
  const left = scatterPlot([{ xs: data.t, ys: code, colors, radius: 2 }], {
    width: size,
    height: size,
    title: `code against t (Spearman ${s.code.spearmanWithT.toFixed(3)})`,
    xLabel: 'curve parameter t',
    yLabel: what,
  });
  const p = project3d(column(data.x, 0), column(data.x, 1), column(data.x, 2));
  // Far points first, so the nearer part of the helix is drawn on top.
  const order = Array.from({ length: code.length }, (_, i) => i).sort((a, b) => p.depth[a]! - p.depth[b]!);
  const right = scatterPlot([{ xs: order.map((i) => p.xs[i]!), ys: order.map((i) => p.ys[i]!), colors: order.map((i) => colors[i]!), radius: 2.5 }], {
    width: size + 80,
    height: size,
    equalAspect: true,
    title: 'training data in 3-D, coloured by the code',
    xLabel: 'screen x (azimuth 30°)',
    yLabel: 'screen y (z up)',
    colorbar: { label: what, range: [clo, chi] },
  });
  const note = s.code.kind === 'bottleneck' ? "the model's 1-unit code" : `first principal direction of the codes (${((s.code.explainedVariance ?? 0) * 100).toFixed(0)}% of their variance)`;
  return withTitle(sideBySide([left, right]), `curve3d: the learned code against the position along the curve; ${note}`, { scale: 2 });
}
