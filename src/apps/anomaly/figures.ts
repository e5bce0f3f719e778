/**
 * The anomaly figures: score histograms with the threshold, ROC curves, and why rows were
 * flagged (each input, its reconstruction and its squared-error map, or a table row's
 * per-feature errors); then the figure set each study writes.
 */
import { ValidationError, expected } from '../../core/errors.js';
import { matrix, type Matrix } from '../../core/matrix.js';
import { imageGrid, raster, stack, type Raster } from '../../viz/image.js';
import { colormap, formatNumber } from '../../viz/plot.js';
import { chartNames, type VegaLiteSpec } from '../../viz/vega.js';
import { drawText, paste, textWidth, TEXT_HEIGHT, withLeftLabels, withTitle } from '../../viz/text.js';
import { rangeOf } from '../../data/scaling.js';
import { rocCurve } from '../metrics.js';
import { pickRows, shortThresholdRule, topIndices } from './detector.js';
import type { HoldoutStudy, ScoreStudy, TableStudy } from './study.js';

/** Four decimals, as the reports print metrics. */
export const fmt = (v: number) => v.toFixed(4);
/** A score: scientific below 1e-3, else five decimals. */
export const sci = (v: number) => (v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential(3) : v.toFixed(5));

/**
 * A named figure of a study: a picture drawn here (written as NAME.png), or a chart as a
 * Vega-Lite spec (rendered by renderChart, written as NAME.png, NAME.svg and NAME.vl.json).
 */
export type NamedFigure = [name: string, figure: Raster | ChartFigure];
export interface ChartFigure {
  chart: VegaLiteSpec;
}

export const isChart = (f: Raster | ChartFigure): f is ChartFigure => 'chart' in f;

/** The files a figure named "x.png" becomes: x.png, or for a chart x.png, x.svg and x.vl.json. */
export function figureFileNames([name, f]: NamedFigure): string[] {
  return isChart(f) ? chartNames(name.replace(/\.png$/, '')) : [name];
}

const CLASS_COLORS = ['#1f77b4', '#d62728'];
const CURVE_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
/** Six significant digits: enough for a chart, and small .vl.json files. */
const r6 = (v: number) => Number(v.toPrecision(6));

export interface HistogramFigureOptions {
  title?: string;
  /** Legend labels of the two classes (default "normal", "anomalous"); with no labels, of all samples. */
  normalLabel?: string;
  anomalyLabel?: string;
  /** Legend label of unlabelled samples (default "all samples"). */
  allLabel?: string;
  thresholdLabel?: string;
  /** Put the class sizes in the legend labels (default true). */
  counts?: boolean;
  /** Bin log10 of the scores and draw a log axis (default: when the scores span more than a decade, as reconstruction errors often do). */
  log?: boolean;
  width?: number;
  height?: number;
}

/**
 * Histograms of the scores of normal and anomalous samples as a Vega-Lite spec: 50 shared bins
 * (of log10 of the score by default, on a log axis labelled in scores), each class normalised
 * to unit area so a small anomalous class stays visible, overlapping translucent bars, the
 * threshold as a dashed rule with its label. Without labels, one histogram of all scores.
 */
export function scoreHistogramSpec(scores: ArrayLike<number>, labels: ArrayLike<boolean> | null, threshold: number, opts: HistogramFigureOptions = {}): VegaLiteSpec {
  // A zero error (a perfect reconstruction) has no logarithm; it is drawn at the smallest positive score.
  let floor = Infinity;
  for (let i = 0; i < scores.length; i++) if (scores[i]! > 0 && scores[i]! < floor) floor = scores[i]!;
  if (!Number.isFinite(floor)) floor = 1e-12;
  let top = 0;
  for (let i = 0; i < scores.length; i++) if (Number.isFinite(scores[i]!) && scores[i]! > top) top = scores[i]!;
  // By default a log axis only when the scores span more than a decade: over a narrow range a log axis has few, uneven labels.
  const log = opts.log ?? top / floor > 10;
  const f = (v: number) => (log ? Math.log10(Math.max(v, floor)) : v);
  const inv = (v: number) => (log ? 10 ** v : v);
  const groups: number[][] = labels ? [[], []] : [[]];
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i]!;
    if (Number.isFinite(v)) groups[labels && labels[i] ? 1 : 0]!.push(f(v));
  }
  const counts = opts.counts ?? true;
  const names = (labels ? [opts.normalLabel ?? 'normal', opts.anomalyLabel ?? 'anomalous'] : [opts.allLabel ?? 'all samples']).map((n, g) => (counts ? `${n} (${groups[g]!.length})` : n));
  const all = groups.flat();
  let lo = Math.min(...all, f(Math.max(threshold, log ? floor : -Infinity)));
  let hi = Math.max(...all, f(threshold));
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (hi - lo < 1e-9) [lo, hi] = [lo - 0.5, hi + 0.5];
  const bins = 50;
  const width = (hi - lo) / bins;
  const values: Array<Record<string, unknown>> = [];
  groups.forEach((g, k) => {
    const n = new Array<number>(bins).fill(0);
    for (const v of g) n[Math.min(bins - 1, Math.floor((v - lo) / width))]!++;
    n.forEach((c, b) => {
      if (c > 0) values.push({ series: names[k], lo: r6(inv(lo + b * width)), hi: r6(inv(lo + (b + 1) * width)), count: c, density: r6(c / (g.length * width)) });
    });
  });
  const scale = log ? { type: 'log', domain: [r6(inv(lo)), r6(inv(hi))], nice: false } : { domain: [lo, hi], nice: false };
  const thresholdLabel = opts.thresholdLabel ?? `threshold ${formatNumber(threshold)}`;
  return {
    title: opts.title ?? 'Reconstruction error',
    width: opts.width ?? 560,
    height: opts.height ?? 320,
    layer: [
      {
        data: { values },
        mark: { type: 'rect', opacity: labels ? 0.55 : 0.8, stroke: 'white', strokeWidth: 0.3 },
        encoding: {
          x: { field: 'lo', type: 'quantitative', scale, title: log ? 'reconstruction error (per-feature MSE, log scale)' : 'reconstruction error (per-feature MSE)', axis: { format: '~g', labelOverlap: 'greedy' } },
          x2: { field: 'hi' },
          y: { field: 'density', type: 'quantitative', title: log ? 'density (per decade of error)' : 'density', stack: null },
          y2: { datum: 0 },
          color: { field: 'series', type: 'nominal', title: null, scale: { domain: names, range: CLASS_COLORS.slice(0, names.length) }, legend: { orient: 'right', symbolType: 'square', symbolOpacity: 0.8 } },
          tooltip: [{ field: 'series' }, { field: 'lo', title: 'from' }, { field: 'hi', title: 'to' }, { field: 'count' }],
        },
      },
      {
        data: { values: [{ threshold: r6(threshold), label: thresholdLabel }] },
        mark: { type: 'rule', color: 'black', strokeDash: [6, 4], strokeWidth: 1.5 },
        encoding: { x: { field: 'threshold', type: 'quantitative' } },
      },
      {
        data: { values: [{ threshold: r6(threshold), label: thresholdLabel }] },
        mark: { type: 'text', align: 'left', baseline: 'top', dx: 4, y: 4, fontSize: 11, color: 'black' },
        encoding: { x: { field: 'threshold', type: 'quantitative' }, text: { field: 'label' } },
      },
    ],
  } as unknown as VegaLiteSpec;
}

/** scoreHistogramSpec as a figure. */
export function scoreHistogramFigure(scores: ArrayLike<number>, labels: ArrayLike<boolean> | null, threshold: number, opts: HistogramFigureOptions = {}): ChartFigure {
  return { chart: scoreHistogramSpec(scores, labels, threshold, opts) };
}

export interface RocSeries {
  label: string;
  fpr: ArrayLike<number>;
  tpr: ArrayLike<number>;
  /** A CSS colour; default the next of ten. */
  color?: string;
}

/** The corners of a ROC curve: points inside a straight horizontal or vertical run dropped (the curve drawn is the same). */
export function rocCorners(fpr: ArrayLike<number>, tpr: ArrayLike<number>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const n = fpr.length;
  for (let i = 0; i < n; i++) {
    if (i > 0 && i < n - 1 && ((fpr[i - 1] === fpr[i] && fpr[i] === fpr[i + 1]) || (tpr[i - 1] === tpr[i] && tpr[i] === tpr[i + 1]))) continue;
    out.push([fpr[i]!, tpr[i]!]);
  }
  return out;
}

/** ROC curves over the chance diagonal on the unit square (equal axes), as a Vega-Lite spec: one coloured line per curve, the diagonal grey and dashed, one legend. */
export function rocSpec(curves: RocSeries[], opts: { title?: string; width?: number; height?: number } = {}): VegaLiteSpec {
  const chance = 'chance (AUC 0.5)';
  const names = [...curves.map((c) => c.label), chance];
  const colors = [...curves.map((c, i) => c.color ?? CURVE_COLORS[i % CURVE_COLORS.length]!), '#888888'];
  const dashes = [...curves.map(() => [1, 0]), [6, 4]];
  const values: Array<Record<string, unknown>> = [];
  curves.forEach((c) => rocCorners(c.fpr, c.tpr).forEach(([x, y], i) => values.push({ curve: c.label, i, fpr: r6(x), tpr: r6(y) })));
  values.push({ curve: chance, i: 0, fpr: 0, tpr: 0 }, { curve: chance, i: 1, fpr: 1, tpr: 1 });
  const side = opts.width ?? 420;
  const legend = { orient: curves.length > 3 ? 'right' : 'bottom-right', symbolType: 'stroke', symbolStrokeWidth: 3, symbolSize: 400, labelLimit: 360 };
  return {
    title: opts.title ?? 'ROC curve',
    width: side,
    height: opts.height ?? side,
    data: { values },
    mark: { type: 'line', strokeWidth: 2, interpolate: 'linear' },
    encoding: {
      x: { field: 'fpr', type: 'quantitative', title: 'false-positive rate', scale: { domain: [0, 1], nice: false } },
      y: { field: 'tpr', type: 'quantitative', title: 'true-positive rate', scale: { domain: [0, 1], nice: false } },
      order: { field: 'i', type: 'quantitative' },
      color: { field: 'curve', type: 'nominal', title: null, scale: { domain: names, range: colors }, legend },
      strokeDash: { field: 'curve', type: 'nominal', title: null, scale: { domain: names, range: dashes }, legend },
    },
  } as unknown as VegaLiteSpec;
}

/** rocSpec as a figure. */
export function rocFigure(curves: RocSeries[], opts: { title?: string; width?: number; height?: number } = {}): ChartFigure {
  return { chart: rocSpec(curves, opts) };
}

/** Charts side by side, `columns` to a row, each with its own axes and one shared legend. */
export function chartGrid(charts: VegaLiteSpec[], columns: number, title?: string): VegaLiteSpec {
  return {
    ...(title ? { title } : {}),
    columns,
    concat: charts,
    spacing: 24,
    resolve: { scale: { x: 'independent', y: 'independent' } },
  } as unknown as VegaLiteSpec;
}

/** Like imageGrid, but each value v is drawn in colormap(v / max), on a white background. */
function heatGrid(values: Matrix, width: number, height: number, cols: number, zoom: number, pad: number, max: number, zoomY = zoom): Raster {
  const rows = Math.max(1, Math.ceil(values.rows / cols));
  const out = raster(pad + cols * (width * zoom + pad), pad + rows * (height * zoomY + pad), 255);
  const scale = max > 0 ? 1 / max : 0;
  for (let k = 0; k < values.rows; k++) {
    const x0 = pad + (k % cols) * (width * zoom + pad);
    const y0 = pad + Math.floor(k / cols) * (height * zoomY + pad);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const [r, g, b] = colormap(values.data[k * width * height + y * width + x]! * scale);
        for (let dy = 0; dy < zoomY; dy++) {
          for (let dx = 0; dx < zoom; dx++) {
            const o = ((y0 + y * zoomY + dy) * out.width + x0 + x * zoom + dx) * 4;
            out.data[o] = r;
            out.data[o + 1] = g;
            out.data[o + 2] = b;
          }
        }
      }
    }
  }
  return out;
}

/** A horizontal colour scale from 0 to max, `length` pixels long, with its ends labelled. */
function colorScale(length: number, max: number, label: string): Raster {
  const barH = 10;
  const out = raster(length + 2, barH + TEXT_HEIGHT + 8, 255);
  for (let x = 0; x < length; x++) {
    const [r, g, b] = colormap(x / Math.max(1, length - 1));
    for (let y = 0; y < barH; y++) {
      const o = (y * out.width + x + 1) * 4;
      out.data[o] = r;
      out.data[o + 1] = g;
      out.data[o + 2] = b;
    }
  }
  const hi = formatNumber(max);
  drawText(out, 1, barH + 4, '0');
  drawText(out, length + 1 - textWidth(hi), barH + 4, hi);
  drawText(out, Math.round((length - textWidth(label)) / 2), barH + 4, label);
  return out;
}

/** A band of text lines centred under each column of a grid of `cols` cells `cell` pixels apart. */
function captionBand(captions: string[][], cols: number, cell: number, pad: number): Raster {
  const lines = Math.max(1, ...captions.map((c) => c.length));
  const out = raster(pad + cols * cell, lines * (TEXT_HEIGHT + 3) + 2, 255);
  captions.forEach((c, k) => {
    const cx = pad + k * cell + (cell - pad) / 2;
    c.forEach((line, i) => drawText(out, Math.round(cx - textWidth(line) / 2), 1 + i * (TEXT_HEIGHT + 3), line));
  });
  return out;
}

export interface ExplainFigureOptions {
  image: { width: number; height: number };
  /** The range of the model's input space, e.g. [-1, 1]. */
  range: readonly [number, number];
  /** Text lines under each column (e.g. the sample's index, label and score). */
  captions?: string[][];
  title?: string;
  zoom?: number;
}

/**
 * Why samples were flagged: for each (a column), the input, its reconstruction and the map
 * of per-pixel squared errors (a colour scale shared by all columns, so maps compare), the
 * rows labelled at the left. Bright pixels are where the model could not reproduce the input.
 */
export function explainFigure(inputs: Matrix, recons: Matrix, errors: Matrix, opts: ExplainFigureOptions): Raster {
  const { width, height } = opts.image;
  if (inputs.rows !== recons.rows || inputs.rows !== errors.rows || inputs.cols !== errors.cols || recons.cols !== inputs.cols) {
    throw new ValidationError(expected('explain figure rows', `inputs, reconstructions and errors of one shape (${inputs.rows}x${inputs.cols})`, `${recons.rows}x${recons.cols} and ${errors.rows}x${errors.cols}`));
  }
  const cols = Math.max(1, inputs.rows);
  const zoom = opts.zoom ?? 3;
  const pad = 2;
  let max = 0;
  for (const v of errors.data) if (v > max) max = v;
  const grid = (m: Matrix) => imageGrid(m, { width, height, cols, range: opts.range, zoom, pad });
  const parts = [grid(inputs), grid(recons), heatGrid(errors, width, height, cols, zoom, pad, max)];
  const labels = ['input', 'reconstruction', 'squared error'];
  if (opts.captions) {
    parts.push(captionBand(opts.captions, cols, width * zoom + pad, pad));
    labels.push('');
  }
  parts.push(colorScale(Math.min(parts[0]!.width - 4, 300), max, 'squared error'));
  labels.push('');
  const gap = 4;
  const bands: Array<{ label: string; y: number; height: number }> = [];
  let y = 0;
  parts.forEach((p, i) => {
    bands.push({ label: labels[i]!, y, height: p.height });
    y += p.height + gap;
  });
  const body = withLeftLabels(stack(parts, gap, 255), bands, { scale: 2, background: 255 });
  return opts.title ? withTitle(body, opts.title, { scale: 1 }) : body;
}

/**
 * The tabular counterpart of explainFigure: one strip per sample (labelled at the left), one
 * cell per feature coloured by its squared error on a shared scale, feature indices below.
 */
export function featureErrorFigure(errors: Matrix, rowLabels: string[], opts: { title?: string; featureNames?: string[] } = {}): Raster {
  if (rowLabels.length !== errors.rows) throw new ValidationError(expected('feature error row labels', `one per row (${errors.rows})`, rowLabels.length));
  const names = opts.featureNames;
  if (names !== undefined && names.length !== errors.cols) throw new ValidationError(expected('feature names', `one per column (${errors.cols})`, names.length));
  const n = errors.cols;
  const cell = Math.max(4, Math.min(24, Math.floor(720 / n)));
  const pad = 2;
  let max = 0;
  for (const v of errors.data) if (v > max) max = v;
  const stripH = Math.max(cell, TEXT_HEIGHT + 5);
  const grid = heatGrid(errors, n, 1, 1, cell, pad, max, stripH);
  // Feature indices under the strips, as many as fit without overlapping.
  const axis = raster(grid.width, TEXT_HEIGHT + 6, 255);
  const widest = textWidth(String(n - 1)) + 6;
  const every = Math.max(1, Math.ceil(widest / cell));
  for (let j = 0; j < n; j += every) {
    const s = String(j);
    drawText(axis, Math.round(pad + j * cell + cell / 2 - textWidth(s) / 2), 3, s);
  }
  const bands = rowLabels.map((label, i) => ({ label, y: pad + i * (stripH + pad), height: stripH }));
  const axisName = names ? 'feature (column index; names below)' : 'feature (column index, label column removed)';
  // With names, a key "0 name  1 name  …" wrapped to the figure's width: names rarely fit under a cell.
  const keyLines: string[] = [];
  if (names) {
    const maxW = Math.max(grid.width, 420);
    let line = '';
    names.forEach((nm, j) => {
      const item = `${j} ${nm.length > 24 ? nm.slice(0, 23) + '…' : nm}`;
      const next = line === '' ? item : `${line}   ${item}`;
      if (line !== '' && textWidth(next) > maxW - 4) {
        keyLines.push(line);
        line = item;
      } else line = next;
    });
    if (line !== '') keyLines.push(line);
  }
  const nameW = Math.max(grid.width, textWidth(axisName) + 4, ...keyLines.map((l) => textWidth(l) + 4));
  const name = raster(nameW, (TEXT_HEIGHT + 4) * (1 + keyLines.length), 255);
  drawText(name, Math.round((name.width - textWidth(axisName)) / 2), 2, axisName);
  keyLines.forEach((l, k) => drawText(name, 2, 2 + (TEXT_HEIGHT + 4) * (k + 1), l));
  const scale = colorScale(Math.min(grid.width - 4, 300), max, 'squared error');
  // stack centres narrower parts; the grid is the widest unless the axis name is, so pad the grid's band to keep labels aligned.
  const gridBand = raster(Math.max(grid.width, name.width), grid.height, 255);
  paste(gridBand, grid, 0, 0);
  const axisBand = raster(gridBand.width, axis.height, 255);
  paste(axisBand, axis, 0, 0);
  const nameBand = raster(gridBand.width, name.height, 255);
  paste(nameBand, name, Math.max(0, Math.round((grid.width - name.width) / 2)), 0);
  const body = withLeftLabels(stack([gridBand, axisBand, nameBand, scale], 4, 255), bands, { background: 255 });
  return withTitle(body, opts.title ?? 'Per-feature squared error of the top-scoring rows', { scale: 1 });
}

/** Pictures in a grid, `cols` per row, each centred in a cell the size of the largest. */
export function panelGrid(panels: Raster[], cols: number, gap = 8): Raster {
  const w = Math.max(...panels.map((p) => p.width));
  const h = Math.max(...panels.map((p) => p.height));
  const rows = Math.ceil(panels.length / cols);
  const out = raster(cols * w + (cols - 1) * gap, rows * h + (rows - 1) * gap, 255);
  panels.forEach((p, i) => paste(out, p, (i % cols) * (w + gap) + Math.floor((w - p.width) / 2), Math.floor(i / cols) * (h + gap) + Math.floor((h - p.height) / 2)));
  return out;
}

/** The model-space range of a detector's inputs, for drawing them. */
function inputRange(study: { detector: { scaling: { kind: Parameters<typeof rangeOf>[0] } | null } }): [number, number] {
  return study.detector.scaling ? rangeOf(study.detector.scaling.kind) : [-1, 1];
}

/** scores-histogram.png, roc.png and explain.png of a hold-out study (one run, or a panel per held-out class). */
export function holdoutFigures(study: HoldoutStudy, show: number): NamedFigure[] {
  const mnist = study.data.kind === 'mnist';
  const noun = mnist ? 'digit' : 'class';
  const nouns = mnist ? 'digits' : 'rows';
  const { test, image, runs } = study;
  const range = inputRange(runs[0]!);
  if (!study.all) {
    const r = runs[0]!;
    const k = r.holdout;
    const top = topIndices(r.scores, show);
    const x = pickRows(test.x, top);
    return [
      ['scores-histogram.png', scoreHistogramFigure(r.scores, r.anomalous, r.detector.threshold, { title: `Test reconstruction errors, model trained without ${noun} ${k}`, normalLabel: `${mnist ? 'digits' : 'classes'} other than ${k}`, anomalyLabel: `${noun} ${k}`, thresholdLabel: `threshold (${shortThresholdRule(r.detector.thresholdRule)})` })],
      ['roc.png', rocFigure([{ label: `${noun} ${k} vs rest, AUC ${fmt(r.metrics.rocAuc)}`, ...rocCurve(r.scores, r.anomalous) }], { title: `ROC, ${noun} ${k} held out (AUC ${fmt(r.metrics.rocAuc)})` })],
      [
        'explain.png',
        explainFigure(x, r.detector.reconstruct(x), r.detector.featureErrors(x), {
          image,
          range,
          captions: top.map((i) => [`#${i}`, `${noun} ${test.labels[i]}`, sci(r.scores[i]!)]),
          title: `The ${top.length} highest-scoring test ${nouns} under the model trained without ${noun} ${k}, highest first: each one, its reconstruction and where the error is (threshold ${sci(r.detector.threshold)}).`,
        }),
      ],
    ];
  }
  const meanAuc = runs.reduce((s, r) => s + r.metrics.rocAuc, 0) / runs.length;
  // Each model's most confident catch: its highest-scoring test row of the held-out class.
  const best = runs.map((r) => topIndices(Float64Array.from(r.scores, (v, i) => (r.anomalous[i] ? v : -Infinity)), 1)[0]!);
  const x = pickRows(test.x, best);
  const recon = matrix(x.rows, x.cols);
  const errors = matrix(x.rows, x.cols);
  runs.forEach((r, j) => {
    const one = pickRows(test.x, [best[j]!]);
    recon.data.set(r.detector.reconstruct(one).data, j * x.cols);
    errors.data.set(r.detector.featureErrors(one).data, j * x.cols);
  });
  const histogram = (r: HoldoutStudy['runs'][number]) =>
    scoreHistogramSpec(r.scores, r.anomalous, r.detector.threshold, {
      title: `without ${r.holdout}: ROC-AUC ${r.metrics.rocAuc.toFixed(3)}`,
      normalLabel: mnist ? 'other digits' : 'other classes',
      anomalyLabel: `the held-out ${noun}`,
      thresholdLabel: 'threshold',
      counts: false,
      width: 240,
      height: 160,
    });
  return [
    ['scores-histogram.png', { chart: chartGrid(runs.map(histogram), 5, `Test reconstruction errors, one model per held-out ${noun}`) }],
    ['roc.png', rocFigure(runs.map((r) => ({ label: `${r.holdout} held out, AUC ${r.metrics.rocAuc.toFixed(3)}`, ...rocCurve(r.scores, r.anomalous) })), { title: `ROC per held-out ${noun} (mean AUC ${meanAuc.toFixed(3)})`, width: 480, height: 480 })],
    [
      'explain.png',
      explainFigure(x, recon, errors, {
        image,
        range,
        captions: runs.map((r, j) => [`without ${r.holdout}`, `#${best[j]}`, sci(r.scores[best[j]!]!)]),
        title: `Column k: the highest-scoring test ${noun} k under the model trained without ${noun} k (its most confident catch), its reconstruction and where the error is.`,
      }),
    ],
  ];
}

/** scores-histogram.png, roc.png (with labels) and explain.png of a table study. */
export function tableFigures(study: TableStudy, show: number): NamedFigure[] {
  const { detector: det, scores, labels, x, image, metrics: m } = study;
  const top = topIndices(scores, show);
  const shown = pickRows(x, top);
  const caption = (i: number) => `row ${i}${labels ? (labels[i] ? ' (1)' : ' (0)') : ''}`;
  const explain = image
    ? explainFigure(shown, det.reconstruct(shown), det.featureErrors(shown), {
        image,
        range: inputRange(study),
        captions: top.map((i) => [caption(i), sci(scores[i]!)]),
        title: `The ${top.length} highest-scoring rows, highest first: each row, its reconstruction and where the error is (threshold ${sci(det.threshold)}).`,
      })
    : featureErrorFigure(det.featureErrors(shown), top.map((i) => `${caption(i)} ${sci(scores[i]!)}`), {
        ...(study.columns ? { featureNames: study.columns } : {}),
        title: `Per-feature squared error of the ${top.length} highest-scoring rows (row, label, score), highest first; threshold ${sci(det.threshold)}.`,
      });
  return [
    ['scores-histogram.png', scoreHistogramFigure(scores, labels, det.threshold, { title: `Reconstruction errors of ${x.rows} scored rows`, thresholdLabel: `threshold (${shortThresholdRule(det.thresholdRule)})`, allLabel: 'scored rows' })],
    ...(m && labels ? [['roc.png', rocFigure([{ label: `AE, AUC ${fmt(m.rocAuc)}`, ...rocCurve(scores, labels) }], { title: `ROC (AUC ${fmt(m.rocAuc)})` })] as NamedFigure] : []),
    ['explain.png', explain],
  ];
}

/** scores-histogram.png (normal against anomalous when labelled) and roc.png (with both classes) of rows a saved detector scored. */
export function scoreFigures(study: ScoreStudy): NamedFigure[] {
  const { detector: det, scores, anomalous, metrics: m } = study;
  const histogram = scoreHistogramFigure(scores, m ? anomalous : null, det.threshold, {
    title: `Reconstruction errors of ${scores.length} rows of ${study.inputs.source}`,
    thresholdLabel: `stored threshold (${shortThresholdRule(det.thresholdRule)})`,
    allLabel: 'scored rows',
    ...(det.holdout !== null ? { normalLabel: `classes other than ${det.holdout}`, anomalyLabel: `class ${det.holdout}` } : {}),
  });
  return [
    ['scores-histogram.png', histogram],
    ...(m && anomalous ? [['roc.png', rocFigure([{ label: `AE, AUC ${fmt(m.rocAuc)}`, ...rocCurve(scores, anomalous) }], { title: `ROC of the saved detector (AUC ${fmt(m.rocAuc)})` })] as NamedFigure] : []),
  ];
}
