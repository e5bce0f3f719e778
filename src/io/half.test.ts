import assert from 'node:assert/strict';
import { test } from 'node:test';
import { float32ToHalfBits, halfToFloat, isHalfInfinity } from './half.js';

test('half conversion: known values, ties to even, subnormals, overflow', () => {
  const cases: Array<[number, number]> = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [65519.996, 0x7bff],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // a tie between 0 and 2^-24: to even, 0
    [1.5 * 2 ** -25, 0x0001],
    [3 * 2 ** -25, 0x0002], // a tie between 1 and 2 units: to even, 2
    [Math.fround(0.1), 0x2e66],
    [1 + 2 ** -11, 0x3c00], // a tie: to even (down)
    [1 + 3 * 2 ** -11, 0x3c02], // a tie: to even (up)
    [2 ** -14 - 2 ** -25, 0x0400], // the largest subnormal's upper tie rounds up into the normals
  ];
  for (const [v, bits] of cases) assert.equal(float32ToHalfBits(v), bits, `${v}`);
  assert.equal(float32ToHalfBits(65520), 0x7c00);
  assert.equal(float32ToHalfBits(-1e6), 0xfc00);
  assert.ok(isHalfInfinity(float32ToHalfBits(65520)) && isHalfInfinity(0xfc00) && !isHalfInfinity(0x7bff) && !isHalfInfinity(0x7e00));
  assert.equal(float32ToHalfBits(Infinity), 0x7c00);
  assert.equal(float32ToHalfBits(NaN) & 0x7fff, 0x7e00);
  assert.equal(halfToFloat(0x7c00), Infinity);
  assert.equal(halfToFloat(0xfc00), -Infinity);
  assert.ok(Number.isNaN(halfToFloat(0x7e01)));
  assert.equal(halfToFloat(0x7bff), 65504);
  assert.equal(halfToFloat(0x0001), 2 ** -24);
  assert.ok(Object.is(halfToFloat(0x8000), -0));
});

test('half conversion: every finite half round trips, and midpoints round to even (exhaustive)', () => {
  const below = (x: number) => {
    const f = new Float32Array([x]);
    const u = new Uint32Array(f.buffer);
    u[0] = u[0]! - 1;
    return f[0]!;
  };
  for (let h = 0; h < 0x7c00; h++) {
    const v = halfToFloat(h);
    assert.equal(Math.fround(v), v);
    assert.equal(float32ToHalfBits(v), h);
    assert.equal(float32ToHalfBits(-v), h | 0x8000);
    if (h + 1 < 0x7c00) {
      const next = halfToFloat(h + 1);
      const mid = (v + next) / 2; // exact in float32: one more bit of significand
      assert.equal(Math.fround(mid), mid);
      assert.equal(float32ToHalfBits(mid), h % 2 === 0 ? h : h + 1, `midpoint above ${h.toString(16)}`);
      assert.equal(float32ToHalfBits(below(mid)), h);
      if (h > 0) assert.equal(float32ToHalfBits(below(v)), h, `just below ${h.toString(16)}`);
    }
  }
});
