import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../core/errors.js';
import { checkScalable, countOutOfRange, fitFeatureScaling, MAX_SCALED_MAGNITUDE, fitSharedScaling, rangeOf, scaleInto, scalingFor, SCALINGS, toUnit, unscaleInto, validateScaling, type Scaling } from './scaling.js';

const symmetric: Scaling = { kind: 'symmetric', min: 0, max: 255 };
const unit: Scaling = { kind: 'unit', min: 0, max: 255 };

function close(actual: ArrayLike<number>, wanted: number[], tol = 1e-6): void {
  assert.equal(actual.length, wanted.length);
  for (let i = 0; i < wanted.length; i++) {
    assert.ok(Math.abs(actual[i]! - wanted[i]!) <= tol, `index ${i}: ${actual[i]} vs ${wanted[i]}`);
  }
}

test('MNIST endpoints map exactly', () => {
  assert.deepEqual([...scaleInto(Float32Array.from([0, 255]), symmetric)], [-1, 1]);
  assert.deepEqual([...scaleInto(Float32Array.from([0, 255]), unit)], [0, 1]);
});

test('symmetric is ToTensor then Normalize(0.5, 0.5): 2x/255 - 1', () => {
  const raw = Float32Array.from([0, 1, 64, 127.5, 200, 255]);
  close(scaleInto(raw, symmetric), [...raw].map((x) => ((x / 255) - 0.5) / 0.5));
  close(scaleInto(raw, unit), [...raw].map((x) => x / 255));
});

test('works on any raw range and does not clamp', () => {
  const s = scalingFor('symmetric', -10, 30);
  close(scaleInto(Float32Array.from([-10, 10, 30, 50, -30]), s), [-1, 0, 1, 2, -2]);
  close(scaleInto(Float32Array.from([-10, 30, 70]), scalingFor('unit', -10, 30)), [0, 1, 2]);
});

test('unscaleInto inverts scaleInto', () => {
  const raw = Float32Array.from({ length: 256 }, (_, i) => i);
  for (const s of [symmetric, unit, scalingFor('unit', -3.5, 12)]) {
    const back = unscaleInto(scaleInto(raw, s), s);
    close(back, [...raw], 1e-4);
  }
  assert.deepEqual([...unscaleInto(Float32Array.from([-1, 1]), symmetric)], [0, 255]);
});

test('scaleInto writes into out, including in place', () => {
  const raw = Float32Array.from([0, 255]);
  const out = new Float32Array(2);
  assert.equal(scaleInto(raw, symmetric, out), out);
  assert.deepEqual([...out], [-1, 1]);
  assert.equal(scaleInto(raw, unit, raw), raw);
  assert.deepEqual([...raw], [0, 1]);
  assert.throws(() => scaleInto(raw, unit, new Float32Array(3)), ValidationError);
});

test('toUnit maps the scaled space to [0, 1] and clamps overshoot', () => {
  close(toUnit(Float32Array.from([-1, 0, 1, 1.5, -2]), symmetric), [0, 0.5, 1, 1, 0]);
  close(toUnit(Float32Array.from([0, 0.25, 1, 1.2]), unit), [0, 0.25, 1, 1]);
  const raw = Float32Array.from([0, 51, 255]);
  close(toUnit(scaleInto(raw, symmetric), symmetric), [0, 0.2, 1]);
});

test('rangeOf gives the scaled range of each kind', () => {
  assert.deepEqual(rangeOf('symmetric'), [-1, 1]);
  assert.deepEqual(rangeOf('unit'), [0, 1]);
  // standard maps mean ± std to [-1, 1]: z-scores, not a bounded range.
  assert.deepEqual(rangeOf('standard'), [-1, 1]);
  assert.deepEqual([...SCALINGS], ['symmetric', 'unit', 'standard']);
  assert.throws(() => rangeOf('bogus' as never), ValidationError);
});

test('validateScaling accepts good objects and returns a clean copy', () => {
  const input = { kind: 'unit', min: 0, max: 255, extra: true };
  const s = validateScaling(input);
  assert.deepEqual(s, { kind: 'unit', min: 0, max: 255 });
  assert.deepEqual(scalingFor('symmetric', 0, 255), symmetric);
});

test('validateScaling rejects bad objects with one-line messages', () => {
  const cases: [unknown, RegExp][] = [
    [null, /^scaling: expected an object/],
    [[1, 2], /^scaling: expected an object/],
    [{ kind: 'minmax', min: 0, max: 1 }, /^scaling\.kind: expected one of "symmetric", "unit", "standard", received "minmax"$/],
    [{ min: 0, max: 1 }, /^scaling\.kind: expected one of "symmetric", "unit", "standard", received undefined$/],
    [{ kind: 'unit', min: '0', max: 1 }, /^scaling\.min: expected a finite number, received "0"$/],
    [{ kind: 'unit', min: 0, max: Infinity }, /^scaling\.max: expected a finite number, received Infinity$/],
    [{ kind: 'unit', min: NaN, max: 1 }, /^scaling\.min: expected a finite number, received NaN$/],
    [{ kind: 'unit', min: 5, max: 5 }, /^scaling\.max: expected a number greater than min \(5\), received 5$/],
    [{ kind: 'unit', min: 5, max: 1 }, /^scaling\.max: expected a number greater than min \(5\), received 1$/],
    [{ kind: 'unit', min: -1e308, max: 1e308 }, /max - min: expected a finite number/],
  ];
  for (const [obj, pattern] of cases) {
    assert.throws(() => validateScaling(obj), (err: unknown) => {
      assert.ok(err instanceof ValidationError, String(err));
      assert.match(err.message, pattern);
      return true;
    });
  }
  assert.throws(() => scalingFor('gauss', 0, 1), ValidationError);
});

test('per-feature scaling: each column on its own range, constant columns finite, saved and validated', () => {
  // Two columns in different units (0..1 beside 5000..6000) and a constant one.
  const rows = Float32Array.from([0, 5000, 7, 1, 6000, 7, 0.5, 5500, 7]);
  const s = fitFeatureScaling('symmetric', rows, 3);
  assert.deepEqual(s.featureMin, [0, 5000, 7]);
  assert.deepEqual(s.featureMax, [1, 6000, 8]);
  assert.deepEqual([...scaleInto(rows, s)], [-1, -1, -1, 1, 1, -1, 0, 0, -1]);
  close(unscaleInto(scaleInto(rows, s), s), [...rows], 1e-3);
  assert.equal(countOutOfRange(Float32Array.from([2, 5500, 7, 0.5, 4000, 9]), s), 3);
  assert.deepEqual(validateScaling(JSON.parse(JSON.stringify(s))), s);
  assert.throws(() => scaleInto(Float32Array.from([1, 2]), s), /multiple of the 3 features/);
  assert.throws(() => validateScaling({ ...s, featureMax: [1, 2] }), /featureMax: expected 3 values/);
  assert.throws(() => validateScaling({ ...s, featureMax: [1, 4000, 8] }), /feature 1 range: expected max > min/);
});

test("standard scaling is StandardScaler's (x − mean) / std per column, constant columns kept finite", () => {
  // Columns: 1, 2, 3, 4 (mean 2.5, population std √1.25); 5000 ± 10; a constant 7.
  const data = Float32Array.from([1, 4990, 7, 2, 5010, 7, 3, 4990, 7, 4, 5010, 7]);
  const s = fitFeatureScaling('standard', data, 3);
  const z = scaleInto(data, s);
  const sd = Math.sqrt(1.25);
  const want = [(1 - 2.5) / sd, -1, 0, (2 - 2.5) / sd, 1, 0, (3 - 2.5) / sd, -1, 0, (4 - 2.5) / sd, 1, 0];
  want.forEach((w, i) => assert.ok(Math.abs(z[i]! - w) < 1e-5, `value ${i}: ${z[i]} against ${w}`));
  // The inverse gives the raw values back, and no range is claimed for out-of-range counts.
  const back = unscaleInto(z, s);
  data.forEach((v, i) => assert.ok(Math.abs(back[i]! - v) < 1e-3 * Math.max(1, Math.abs(v))));
  assert.equal(countOutOfRange(data, s), null);
  // Pictures: one mean and std over every value.
  const g = fitSharedScaling('standard', Float32Array.from([0, 2, 4, 6]), { min: 0, max: 255 });
  assert.ok(Math.abs(g.min - (3 - Math.sqrt(5))) < 1e-9 && Math.abs(g.max - (3 + Math.sqrt(5))) < 1e-9);
  assert.deepEqual(fitSharedScaling('unit', Float32Array.from([0, 2]), { min: 0, max: 255 }), { kind: 'unit', min: 0, max: 255 });
});

test('checkScalable allows values past the training range and refuses, naming row, column and range, one whose loss would overflow', () => {
  const rows = (data: number[], cols: number) => ({ rows: data.length / cols, cols, data: Float32Array.from(data) });
  const table = fitFeatureScaling('symmetric', Float32Array.from([0, 10, 1, 20]), 2); // columns [0, 1] and [10, 20]
  assert.equal(MAX_SCALED_MAGNITUDE, 1e15);
  // A little, and a million widths, past the range: allowed (countOutOfRange reports them).
  checkScalable(rows([1.5, 25, -1e6, 1e7], 2), table, 'test data');
  assert.equal(countOutOfRange(Float32Array.from([1.5, 25, -1e6, 1e7]), table), 4);
  const refuses = (fn: () => void, message: string) =>
    assert.throws(fn, (e: unknown) => e instanceof ValidationError && e.message === message);
  refuses(
    () => checkScalable(rows([0.5, 15, 0.5, 15, 0.5, 1e30], 2), table, 'test data', ['a', 'b']),
    'test data row 2, column 1 ("b"): expected a value near its training range [10, 20] (scaled to [-1, 1], at most ±1e+15 after scaling), received 1e+30',
  );
  refuses(
    () => checkScalable(rows([-3e15, 0], 2), table, 'x.csv'),
    'x.csv row 0, column 0: expected a value near its training range [0, 1] (scaled to [-1, 1], at most ±1e+15 after scaling), received -3e+15',
  );
  // Pictures share one range.
  refuses(
    () => checkScalable(rows([0, 255, 1e20, 3], 2), unit, 'test data'),
    'test data row 1, column 0: expected a value near the training range [0, 255] (scaled to [0, 1], at most ±1e+15 after scaling), received 1e+20',
  );
  const standard = fitFeatureScaling('standard', Float32Array.from([0, 2]), 1); // mean 1, std 1
  checkScalable(rows([1e9], 1), standard, 'test data');
  refuses(
    () => checkScalable(rows([1e30], 1), standard, 'test data'),
    'test data row 0, column 0: expected a value near the training data (this column\'s mean 1, standard deviation 1; at most 1e+15 standard deviations away), received 1e+30',
  );
});
