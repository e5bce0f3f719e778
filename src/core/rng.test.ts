import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from './errors.js';
import { Rng } from './rng.js';

const first = (seed: number) => {
  const r = new Rng(seed);
  return [r.random(), r.random(), r.random(), r.random()].join(',');
};

test('seeds above 2^32 do not alias smaller ones: every seed in 0..2^53 − 1 gives its own stream', () => {
  // Before: the two halves were XORed, so 2^32 + 1 gave seed 0's weights.
  const seeds = [0, 1, 2, 0x100000000, 0x100000001, 0x100000002, 0x1ffffffff, 2 ** 40, 2 ** 40 + 1, 2 ** 52, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 0x100000000];
  const streams = seeds.map(first);
  assert.equal(new Set(streams).size, seeds.length, 'all streams distinct');
  // A seed's stream is its own every time.
  assert.equal(first(0x100000001), first(0x100000001));
});

test('a seed outside 0..2^53 − 1, or not an integer, is refused naming the range', () => {
  for (const bad of [-1, 1.5, 2 ** 53, Number.NaN]) {
    assert.throws(() => new Rng(bad), (e: unknown) => e instanceof ValidationError && /seed: expected an integer in 0\.\.2\^53 − 1/.test(e.message));
  }
});
