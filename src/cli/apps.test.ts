import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ae, usage } from './testing.js';
import { decodePng } from '../viz/image.js';

const dir = mkdtempSync(join(tmpdir(), 'ae-apps-'));

const model = join(dir, 'dae', 'model.safetensors');

test('a small denoising model for the application commands', () => {
  const r = ae('train', '--variant', 'denoising', '--hidden', '64', '--limit', '2000', '--epochs', '2', '--out', join(dir, 'dae'));
  assert.equal(r.code, 0, r.stderr);
});

test('ae interpolate: two labelled rows, a distance plot, and the numbers', () => {
  const out = join(dir, 'interp.png');
  const r = ae('interpolate', '--model', model, '--from', '3', '--to', '7', '--steps', '6', '--out', out, '--json');
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.ts.length, 6);
  for (const row of ['pixel', 'latent']) {
    assert.equal(s[row].nearestRms.length, 6);
    assert.equal(s[row].reconstructionMse.length, 6);
  }
  assert.ok(decodePng(readFileSync(out)).width > 6 * 58);
  usage(['interpolate', '--model', model, '--from', '10000', '--out', join(dir, 'x.png')], /--from: expected a test digit index below 10000, received 10000/);
  usage(['interpolate', '--model', model, '--steps', '1', '--out', join(dir, 'x.png')], /--steps: expected an integer >= 2, received "1"/);
  usage(['interpolate', '--model', model, '--out', join(dir, 'x.jpg')], /--out: expected a path ending in \.png/);
  assert.equal(existsSync(join(dir, 'x.png')), false);
});

test('ae energy-inpaint: the table, the figure and the energy curve', () => {
  const out = join(dir, 'energy');
  const r = ae('energy-inpaint', '--model', model, '--count', '30', '--steps', '40', '--out', out, '--json');
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.deepEqual(s.scores.map((x: { method: string }) => x.method), ['ae', 'telea', 'energy', 'energy-kept']);
  assert.ok(s.energyEnd < s.energyStart);
  for (const f of ['energy.png', 'energy-curve.png', 'energy-curve.svg', 'energy-curve.vl.json', 'energy.md', 'energy.json']) assert.ok(existsSync(join(out, f)), f);
  assert.match(readFileSync(join(out, 'energy-curve.svg'), 'utf8'), /<text[^>]*>Energy minimisation in code space<\/text>/);
  assert.equal(JSON.parse(readFileSync(join(out, 'energy-curve.vl.json'), 'utf8')).layer[0].data.values.length, 41);
  usage(['energy-inpaint', '--model', model, '--patch', '40', '--out', join(dir, 'no')], /--patch: expected a side in \[1, 28\], received 40/);
  usage(['energy-inpaint', '--model', model, '--lr', '0', '--out', join(dir, 'no')], /--lr: expected a number > 0/);
  assert.equal(existsSync(join(dir, 'no')), false);
});

test('ae superres: bicubic against the network, with a figure', () => {
  const out = join(dir, 'sr');
  const r = ae('superres', '--factor', '4', '--hidden', '64', '--limit', '1500', '--epochs', '1', '--show', '4', '--out', out, '--json');
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s[0].factor, 4);
  assert.equal(s[0].rows.length, 2);
  for (const f of ['superres.png', 'superres.md', 'model-x4.safetensors']) assert.ok(existsSync(join(out, f)), f);
  usage(['superres', '--factor', '3', '--out', join(dir, 'no')], /--factor: expected 2 or 4/);
});
