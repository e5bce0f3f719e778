import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JsBackend } from '../backends/js/index.js';
import { ValidationError } from '../core/errors.js';
import { Param } from '../nn/dense.js';
import { Adam } from './adam.js';
import { Sgd } from './sgd.js';

const backend = new JsBackend();

function param(values: number[]): Param {
  const p = new Param('p', 1, values.length);
  p.value.set(values);
  return p;
}

test('Adam: two steps worked out by hand (PyTorch defaults, lr 0.1)', () => {
  const p = param([1, -2]);
  const adam = new Adam([p], { lr: 0.1 });
  // Step 1: m = 0.1 g, v = 0.001 g², m̂ = g, v̂ = g², so each weight moves by lr·sign(g)
  // less the eps term: 0.1 · 0.5 / (0.5 + 1e-8) = 0.099999998.
  p.grad.set([0.5, -0.1]);
  assert.equal(adam.step(backend), true);
  assert.ok(Math.abs(p.value[0]! - 0.900000002) < 1e-6);
  assert.ok(Math.abs(p.value[1]! - -1.90000001) < 1e-6);
  // Step 2 with g = (0.2, 0.3): m = (0.065, 0.021), v = (0.00028975, 0.00009999),
  // bias corrections 1 − 0.9² = 0.19 and 1 − 0.999² = 0.001999:
  // p0 = 0.9 − 0.1 · (0.065/0.19) / sqrt(0.00028975/0.001999) = 0.8101424839
  // p1 = −1.9 − 0.1 · (0.021/0.19) / sqrt(0.00009999/0.001999) = −1.9494189911
  p.grad.set([0.2, 0.3]);
  adam.step(backend);
  assert.ok(Math.abs(p.value[0]! - 0.8101424839) < 1e-6, String(p.value[0]));
  assert.ok(Math.abs(p.value[1]! - -1.9494189911) < 1e-6, String(p.value[1]));
  assert.equal(adam.stepCount, 2);
});

test('Adam reports a non-finite weight', () => {
  const p = param([1]);
  const adam = new Adam([p]);
  p.grad.set([NaN]);
  assert.equal(adam.step(backend), false);
});

test('SGD with momentum: buffer starts at the gradient, as torch.optim.SGD', () => {
  const p = param([1, -2]);
  const sgd = new Sgd([p], { lr: 0.1, momentum: 0.9 });
  p.grad.set([0.5, -0.1]);
  sgd.step(backend);
  assert.ok(Math.abs(p.value[0]! - 0.95) < 1e-6 && Math.abs(p.value[1]! - -1.99) < 1e-6);
  p.grad.set([0.2, 0.3]);
  sgd.step(backend);
  // b = 0.9·(0.5, −0.1) + (0.2, 0.3) = (0.65, 0.21)
  assert.ok(Math.abs(p.value[0]! - 0.885) < 1e-6 && Math.abs(p.value[1]! - -2.011) < 1e-6);
});

test('optimiser options are validated with one-line messages', () => {
  assert.throws(() => new Adam([], { lr: 0 }), /lr: expected a finite number > 0, received 0/);
  assert.throws(() => new Adam([], { beta1: 1 }), ValidationError);
  assert.throws(() => new Sgd([], { momentum: -0.1 }), /momentum: expected/);
});
