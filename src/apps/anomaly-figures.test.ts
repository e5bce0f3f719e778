import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chartGrid, figureFileNames, rocCorners, rocSpec, scoreHistogramSpec } from './anomaly/figures.js';
import { raster } from '../viz/image.js';
import { renderChart } from '../viz/vega.js';

// Normal scores around 0.01, anomalies around 1: three decades apart.
const normal = Array.from({ length: 200 }, (_, i) => 0.005 + 0.01 * ((i * 37) % 100) / 100);
const anomalous = Array.from({ length: 20 }, (_, i) => 0.5 + i / 20);
const scores = [...normal, ...anomalous];
const labels = scores.map((_, i) => i >= normal.length);

test('scoreHistogramSpec: shared bins of each class at unit area, a log axis over decades, the threshold as a labelled rule', () => {
  const s = scoreHistogramSpec(scores, labels, 0.1, { title: 'Errors', normalLabel: 'others', anomalyLabel: 'digit 3', thresholdLabel: 'threshold (contamination 0.1)' }) as any;
  assert.equal(s.title, 'Errors');
  const bars = s.layer[0];
  assert.equal(bars.encoding.x.field, 'lo');
  assert.equal(bars.encoding.x2.field, 'hi');
  assert.equal(bars.encoding.x.scale.type, 'log');
  assert.match(bars.encoding.x.title, /reconstruction error .*log scale/);
  assert.equal(bars.encoding.y.field, 'density');
  assert.equal(bars.encoding.y.stack, null);
  assert.deepEqual(bars.encoding.color.scale.domain, ['others (200)', 'digit 3 (20)']);
  assert.ok(bars.encoding.color.legend, 'a legend');
  // Each class integrates to 1 over log10 bins: Σ density · Δlog10 = 1.
  for (const name of bars.encoding.color.scale.domain) {
    const rows = bars.data.values.filter((v: any) => v.series === name);
    const area = rows.reduce((a: number, v: any) => a + v.density * (Math.log10(v.hi) - Math.log10(v.lo)), 0);
    assert.ok(Math.abs(area - 1) < 1e-3, `${name}: ${area}`);
    assert.equal(rows.reduce((a: number, v: any) => a + v.count, 0), name.startsWith('others') ? 200 : 20);
  }
  // All bins share one width in log10.
  const widths = new Set(bars.data.values.map((v: any) => (Math.log10(v.hi) - Math.log10(v.lo)).toFixed(4)));
  assert.equal(widths.size, 1);
  const [rule, text] = [s.layer[1], s.layer[2]];
  assert.equal(rule.mark.type, 'rule');
  assert.deepEqual(rule.data.values[0].threshold, 0.1);
  assert.equal(text.data.values[0].label, 'threshold (contamination 0.1)');
});

test('scoreHistogramSpec: a narrow range gets a linear axis; unlabelled scores are one class; zeros are kept', () => {
  const narrow = scoreHistogramSpec([0.5, 0.52, 0.55, 0.6, 0.61], null, 0.58, { allLabel: 'rows' }) as any;
  assert.equal(narrow.layer[0].encoding.x.scale.type, undefined);
  assert.equal(narrow.layer[0].encoding.y.title, 'density');
  assert.deepEqual(narrow.layer[0].encoding.color.scale.domain, ['rows (5)']);
  const zeros = scoreHistogramSpec([0, 0, 1e-4, 1], null, 0.5, { counts: false }) as any;
  assert.deepEqual(zeros.layer[0].encoding.color.scale.domain, ['all samples']);
  assert.equal(zeros.layer[0].data.values.reduce((a: number, v: any) => a + v.count, 0), 4);
  assert.equal((scoreHistogramSpec(scores, labels, 0.1, { log: false }) as any).layer[0].encoding.x.scale.type, undefined);
});

test('rocSpec: one coloured line per curve over a dashed grey diagonal on the unit square, drawn in order', () => {
  const s = rocSpec([{ label: 'AE, AUC 0.9', fpr: [0, 0, 0, 0.5, 1], tpr: [0, 0.5, 0.8, 1, 1] }, { label: 'PCA', fpr: [0, 1], tpr: [0, 1] }], { title: 'ROC' }) as any;
  assert.equal(s.title, 'ROC');
  assert.equal(s.width, s.height);
  assert.equal(s.encoding.x.field, 'fpr');
  assert.equal(s.encoding.x.title, 'false-positive rate');
  assert.equal(s.encoding.y.title, 'true-positive rate');
  assert.deepEqual(s.encoding.x.scale.domain, [0, 1]);
  assert.equal(s.encoding.order.field, 'i');
  assert.deepEqual(s.encoding.color.scale.domain, ['AE, AUC 0.9', 'PCA', 'chance (AUC 0.5)']);
  assert.equal(s.encoding.color.scale.range[2], '#888888');
  assert.deepEqual(s.encoding.strokeDash.scale.range[2], [6, 4]);
  assert.equal(s.encoding.color.legend.symbolType, 'stroke');
  // The point inside the vertical run at fpr 0 is dropped.
  assert.deepEqual(s.data.values.filter((v: any) => v.curve === 'AE, AUC 0.9').map((v: any) => [v.fpr, v.tpr]), [[0, 0], [0, 0.8], [0.5, 1], [1, 1]]);
});

test('rocCorners keeps the ends and every corner; figureFileNames: a chart is three files, a picture one', () => {
  assert.deepEqual(rocCorners([0, 0, 0.5, 1, 1], [0, 1, 1, 1, 1]), [[0, 0], [0, 1], [1, 1]]);
  assert.deepEqual(rocCorners([0], [0]), [[0, 0]]);
  assert.deepEqual(figureFileNames(['roc.png', { chart: rocSpec([]) }]), ['roc.png', 'roc.svg', 'roc.vl.json']);
  assert.deepEqual(figureFileNames(['explain.png', raster(2, 2)]), ['explain.png']);
});

test('the histogram, the ROC and a grid of histograms render with their titles as text, identically twice', async () => {
  const specs = {
    histogram: scoreHistogramSpec(scores, labels, 0.1, { title: 'Errors of digit 3' }),
    roc: rocSpec([{ label: 'AE', fpr: [0, 0.2, 1], tpr: [0, 0.9, 1] }], { title: 'ROC of digit 3' }),
    grid: chartGrid([scoreHistogramSpec(scores, labels, 0.1, { title: 'without 0', counts: false, width: 200, height: 120 }), scoreHistogramSpec(scores, labels, 0.2, { title: 'without 1', counts: false, width: 200, height: 120 })], 2, 'Per held-out digit'),
  };
  for (const [name, spec] of Object.entries(specs)) {
    const t0 = performance.now();
    const a = await renderChart(spec);
    const ms = performance.now() - t0;
    const b = await renderChart(spec);
    assert.ok(a.png.length > 5000, name);
    assert.deepEqual(a.png, b.png, name);
    assert.ok(ms < 5000, `${name}: ${ms} ms`);
    const title = (spec as any).title;
    assert.ok(a.svg.includes(`>${title}</text>`), `${name}: title as text`);
  }
});
