import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JsBackend } from '../backends/js/index.js';
import { ValidationError } from '../core/errors.js';
import { matrix } from '../core/matrix.js';
import { Rng } from '../core/rng.js';
import { makeCorruption, parseNoiseSpec } from './corruption.js';

const backend = new JsBackend();
const ctx = { range: [-1, 1] as const, image: { width: 28, height: 28 } };

function batch(rows = 64) {
  const x = matrix(rows, 784);
  const rng = new Rng(99);
  // Values away from 0, ±1 and the mid-grey, so every change is visible.
  for (let i = 0; i < x.data.length; i++) x.data[i] = rng.uniform(0.1, 0.6);
  return x;
}

function apply(spec: string, seed = 1) {
  const x = batch();
  const out = matrix(x.rows, x.cols);
  makeCorruption(spec, ctx).apply(x, out, new Rng(seed), backend);
  return { x, out };
}

test('dropout:p zeroes a fraction p and scales the rest by 1/(1-p), as nn.Dropout', () => {
  for (const p of [0.1, 0.5, 0.8]) {
    const { x, out } = apply(`dropout:${p}`);
    let zeros = 0;
    for (let i = 0; i < x.data.length; i++) {
      if (out.data[i] === 0) zeros++;
      else assert.equal(out.data[i], Math.fround(x.data[i]! / (1 - p)));
    }
    const n = x.data.length;
    assert.ok(Math.abs(zeros / n - p) < 4 * Math.sqrt((p * (1 - p)) / n), `p ${p}: ${zeros / n}`);
  }
});

test('mask:p zeroes without scaling', () => {
  const { x, out } = apply('mask:0.3');
  let zeros = 0;
  for (let i = 0; i < x.data.length; i++) {
    if (out.data[i] === 0) zeros++;
    else assert.equal(out.data[i], x.data[i]);
  }
  assert.ok(Math.abs(zeros / x.data.length - 0.3) < 0.01);
});

test('gaussian:sigma adds zero-mean noise of standard deviation sigma', () => {
  const { x, out } = apply('gaussian:0.25');
  let s = 0;
  let s2 = 0;
  const n = x.data.length;
  for (let i = 0; i < n; i++) {
    const e = out.data[i]! - x.data[i]!;
    s += e;
    s2 += e * e;
  }
  const mean = s / n;
  const sd = Math.sqrt(s2 / n - mean * mean);
  assert.ok(Math.abs(mean) < 4 * (0.25 / Math.sqrt(n)), `mean ${mean}`);
  assert.ok(Math.abs(sd - 0.25) < 0.005, `sd ${sd}`);
});

test('saltpepper:p sets a fraction p to the minimum or the maximum, half each', () => {
  const { x, out } = apply('saltpepper:0.2');
  let salt = 0;
  let pepper = 0;
  for (let i = 0; i < x.data.length; i++) {
    if (out.data[i] === 1) salt++;
    else if (out.data[i] === -1) pepper++;
    else assert.equal(out.data[i], x.data[i]);
  }
  const n = x.data.length;
  assert.ok(Math.abs((salt + pepper) / n - 0.2) < 0.01);
  assert.ok(Math.abs(salt / (salt + pepper) - 0.5) < 0.03);
});

test('patch:k puts one k×k mid-grey square inside each image, at random places', () => {
  const k = 7;
  const { x, out } = apply(`patch:${k}`);
  const tops = new Set<number>();
  for (let r = 0; r < x.rows; r++) {
    const changed: Array<[number, number]> = [];
    for (let i = 0; i < 784; i++) {
      const o = out.data[r * 784 + i]!;
      if (o !== x.data[r * 784 + i]) {
        assert.equal(o, 0, 'patch is mid-grey (0 in [-1, 1])');
        changed.push([Math.floor(i / 28), i % 28]);
      }
    }
    assert.equal(changed.length, k * k);
    const rows = changed.map((c) => c[0]);
    const cols = changed.map((c) => c[1]);
    assert.equal(Math.max(...rows) - Math.min(...rows), k - 1);
    assert.equal(Math.max(...cols) - Math.min(...cols), k - 1);
    tops.add(Math.min(...rows));
  }
  assert.ok(tops.size > 10, 'positions vary from image to image');
});

test('each batch gets fresh noise, and the same seed gives the same noise', () => {
  const a = apply('dropout:0.5', 1).out.data;
  const b = apply('dropout:0.5', 1).out.data;
  const c = apply('dropout:0.5', 2).out.data;
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  for (const spec of ['gaussian:0.1', 'saltpepper:0.1', 'patch:5']) {
    assert.deepEqual(apply(spec, 7).out.data, apply(spec, 7).out.data);
    assert.notDeepEqual(apply(spec, 7).out.data, apply(spec, 8).out.data);
  }
});

test('bad specs are refused with one-line messages', () => {
  const bad: Array<[string, RegExp]> = [
    ['blur:1', /noise: expected one of dropout:p, mask:p, gaussian:sigma, saltpepper:p, patch:k, received "blur:1"/],
    ['dropout:1', /noise dropout: expected a probability p in \[0, 1\), received "1"/],
    ['dropout:-0.1', /probability p in \[0, 1\)/],
    ['mask:', /received ""/],
    ['saltpepper:2', /probability/],
    ['gaussian:-1', /sigma >= 0/],
    ['patch:2.5', /positive integer/],
    ['dropout:0.5:1', /noise: expected/],
  ];
  for (const [spec, re] of bad) assert.throws(() => parseNoiseSpec(spec), (e: unknown) => e instanceof ValidationError && re.test((e as Error).message), spec);
  assert.throws(() => makeCorruption('patch:29', ctx), /side k <= 28/);
  assert.throws(() => makeCorruption('patch:3', { range: [-1, 1], image: null }), /image data/);
});
