import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ae, usage } from './testing.js';
import { decodePng } from '../viz/image.js';

const dir = mkdtempSync(join(tmpdir(), 'ae-manifold-'));

test('ae manifold two-branch: the figures, manifold.json and manifold.md, and the summary as JSON', () => {
  const out = join(dir, 'tb');
  const r = ae('manifold', '--dataset', 'two-branch', '--variant', 'denoising', '--epochs', '100', '--grid', '41', '--seed', '1', '--json', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.dataset, 'two-branch');
  assert.equal(s.variant, 'denoising');
  assert.equal(s.noise, 'gaussian:0.15');
  assert.equal(s.epochs, 100);
  assert.equal(s.seed, 1);
  assert.deepEqual(s.grid, { side: 41, points: 1681, range: [-1, 1] });
  assert.ok(s.travelRatio > 0 && s.travelRatio === s.onManifold.meanTravel / s.far.meanTravel);
  const saved = JSON.parse(readFileSync(join(out, 'manifold.json'), 'utf8'));
  assert.equal(saved.travelRatio, s.travelRatio);
  assert.equal(saved.history.length, 100);
  assert.ok(['native', 'js'].includes(saved.backend));
  for (const f of ['arrows.png', 'travel.png']) {
    const png = decodePng(readFileSync(join(out, f)));
    assert.ok(png.width >= 800 && png.height >= 800, `${f} ${png.width}x${png.height}`);
  }
  assert.equal(existsSync(join(out, 'code.png')), false, 'code.png is for curve3d');
  assert.match(readFileSync(join(out, 'arrows.svg'), 'utf8'), /<text[^>]*>two-branch, [^<]*x → x̂<\/text>/);
  assert.equal(JSON.parse(readFileSync(join(out, 'arrows.vl.json'), 'utf8')).layer.length, 3);
  const md = readFileSync(join(out, 'manifold.md'), 'utf8');
  assert.match(md, /\| far \(d > 0\.2\) \| \d+ \|/);
  assert.match(md, /it (holds|does not hold) here/);
  assert.match(md, /arrows\.png: /);
});

test('ae manifold curve3d and contractive: code.png and jacobian.png; text output names the ratio', () => {
  const out = join(dir, 'c3');
  const r = ae('manifold', '--dataset', 'curve3d', '--epochs', '20', '--grid', '21', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /travel ratio on\/far [0-9.]+/);
  assert.match(r.stdout, /code \(bottleneck\) Spearman with t/);
  for (const f of ['arrows.png', 'travel.png', 'code.png']) assert.ok(decodePng(readFileSync(join(out, f))).width > 400, f);
  assert.match(readFileSync(join(out, 'arrows.svg'), 'utf8'), /<text[^>]*>screen y \(z up\)<\/text>/);
  const cae = join(dir, 'cae');
  const c = ae('manifold', '--variant', 'contractive', '--contractive', '0.05', '--epochs', '5', '--grid', '41', '--json', '--out', cae);
  const untied = ae('manifold', '--variant', 'contractive', '--no-tied', '--epochs', '2', '--grid', '41', '--json', '--out', join(dir, 'cae-untied'));
  assert.equal(untied.code, 0, untied.stderr);
  assert.equal(JSON.parse(untied.stdout).tied, false);
  assert.equal(c.code, 0, c.stderr);
  const s = JSON.parse(c.stdout);
  assert.equal(s.contractive, 0.05);
  assert.equal(s.tied, true);
  assert.deepEqual(s.layers, [2, 128]);
  assert.ok(s.jacobian.far > 0);
  assert.ok(existsSync(join(cae, 'jacobian.png')));
});

test('ae manifold bad usage: one line, exit 2, nothing written', () => {
  const out = join(dir, 'never');
  usage(['manifold', '--dataset', 'spiral', '--out', out], /--dataset: expected one of two-branch, curve3d, received "spiral"/);
  usage(['manifold', '--variant', 'sparse', '--out', out], /--variant: expected one of standard, denoising, contractive, received "sparse"/);
  usage(['manifold', '--epochs', '0', '--out', out], /--epochs: expected a positive integer, received "0"/);
  usage(['manifold', '--seed', '-1', '--out', out], /--seed: expected an integer >= 0, received "-1"/);
  usage(['manifold', '--variant', 'standard', '--noise', 'gaussian:0.1', '--out', out], /--noise: expected only with --variant denoising/);
  usage(['manifold', '--contractive', '0.1', '--out', out], /--contractive: expected only with --variant contractive/);
  usage(['manifold', '--variant', 'contractive', '--contractive', '-1', '--out', out], /--contractive: expected a penalty weight λ >= 0, received "-1"/);
  usage(['manifold', '--noise', 'gaussian:x', '--out', out], /noise gaussian: expected a standard deviation sigma >= 0/);
  usage(['manifold', '--noise', 'patch:3', '--out', out], /noise patch: expected image data/);
  usage(['manifold', '--layers', '3,64', '--out', out], /layers\[0\]: expected 2 to match the two-branch data, received 3/);
  usage(['manifold', '--variant', 'contractive', '--layers', '2,64,64', '--out', out], /contractive penalty: expected a one-layer encoder/);
  usage(['manifold', '--grid', '1', '--out', out], /--grid: expected an integer >= 2, received "1"/);
  usage(['manifold', '--dataset', 'curve3d', '--grid', '500', '--out', out], /grid: expected an integer in \[2, 60\], received 500/);
  usage(['manifold', '--dataset', 'curve3d', '--grid', '11', '--out', out], /epsilon: expected a distance that some of the 1331 grid points lie within/);
  usage(['manifold'], /required option '--out <dir>'/);
  assert.equal(existsSync(out), false, 'nothing is written on bad usage');
  const file = join(dir, 'a-file');
  writeFileSync(file, 'keep');
  usage(['manifold', '--out', file], /--out: expected a folder, received the file/);
  assert.equal(readFileSync(file, 'utf8'), 'keep');
});
