/**
 * The backend conformance suite: every kernel of every backend in BACKENDS is checked
 * against a float64 oracle written here, simply enough to be obviously right.
 *
 * Tolerances are float32-aware: a backend may compute in float32, so each result may be
 * off by a small multiple of float32's unit roundoff (6e-8) times the magnitude of the
 * terms that make it up (for matmul Σ|a||b|), never times the result alone, which can be
 * small through cancellation. REL = 1e-5 leaves room for float32 accumulation over a
 * few hundred terms while an indexing mistake (a wrong, missing or doubled term) is
 * orders of magnitude larger. Integer inputs, whose sums are exact in float32 too, are
 * compared exactly.
 *
 * Every buffer a kernel sees is a view into a larger one with guard values around it:
 * a native backend must honour the view's offset and write nowhere else.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ACTIVATIONS, type ActivationName, type AdamStep, type Backend, type SgdStep } from '../core/backend.js';
import { matrix, type Matrix } from '../core/matrix.js';
import { Rng } from '../core/rng.js';
import { ACTIVATION_TABLE } from '../nn/activations.js';
import { JsBackend } from './js/index.js';

/** A backend to test, or the reason it could not be loaded on this machine. */
type Candidate = Backend | { readonly name: string; readonly unavailable: string };

/**
 * Loads a backend that may be missing here (a native addon that was not built, say):
 * a failure becomes a skipped suite that names the reason, not a crashed test file.
 */
async function optionalBackend(name: string, load: () => Backend | Promise<Backend>): Promise<Candidate> {
  try {
    return await load();
  } catch (e) {
    return { name, unavailable: `${name} backend did not load: ${e instanceof Error ? e.message : String(e)}` };
  }
}

// Native at the default thread count, on one thread, and on three: an odd count, so products
// and elementwise ranges split into uneven parts that do not fall on halves.
const BACKENDS: Candidate[] = [
  new JsBackend(),
  await optionalBackend('native', async () => new (await import('./native/index.js')).NativeBackend()),
  await optionalBackend('native', async () => new (await import('./native/index.js')).NativeBackend({ threads: 1 })),
  await optionalBackend('native', async () => new (await import('./native/index.js')).NativeBackend({ threads: 3 })),
];

function backendLabel(b: Backend): string {
  const t = (b as { threadCount?: number }).threadCount;
  return t === undefined ? b.name : `${b.name}, ${t} thread${t === 1 ? '' : 's'}`;
}

const REL = 1e-5;

// ---------------------------------------------------------------------------------
// Guarded memory and comparison helpers

const PAD = 8;
const GUARD = -12345.75;

/** Allocates views with guard values on both sides, and checks later that nothing wrote there. */
class Memory {
  private readonly blocks: Float32Array[] = [];

  f32(length: number, fill?: (i: number) => number): Float32Array {
    const block = new Float32Array(length + 2 * PAD).fill(GUARD);
    this.blocks.push(block);
    const view = block.subarray(PAD, PAD + length);
    for (let i = 0; i < length; i++) view[i] = fill ? fill(i) : 0;
    return view;
  }

  matrix(rows: number, cols: number, fill?: (i: number) => number): Matrix {
    return { rows, cols, data: this.f32(rows * cols, fill) };
  }

  assertGuardsIntact(): void {
    for (const block of this.blocks) {
      for (let i = 0; i < PAD; i++) {
        assert.equal(block[i], GUARD, 'a kernel wrote before the start of a buffer');
        assert.equal(block[block.length - 1 - i], GUARD, 'a kernel wrote past the end of a buffer');
      }
    }
  }
}

/**
 * got[i] must match ref[i] within REL · mag[i]; a NaN must stay NaN and an infinity
 * must be the same infinity. Reports the first mismatch only.
 */
function assertClose(what: string, got: ArrayLike<number>, ref: ArrayLike<number>, mag: ArrayLike<number>, rel = REL): void {
  assert.equal(got.length, ref.length, `${what}: length`);
  for (let i = 0; i < ref.length; i++) {
    const g = got[i]!;
    const r = ref[i]!;
    const tol = rel * mag[i]!;
    const ok = Number.isNaN(r) ? Number.isNaN(g) : Number.isFinite(r) ? Math.abs(g - r) <= tol : g === r;
    if (!ok) assert.fail(`${what}[${i}]: got ${g}, expected ${r} ± ${tol}`);
  }
}

function assertCloseScalar(what: string, got: number, ref: number, mag: number): void {
  assertClose(what, [got], [ref], [mag]);
}

const copy = (x: ArrayLike<number>): number[] => Array.from(x);

/** Random values of every sign and several scales, with exact zeros among them. */
function mixed(rng: Rng): number {
  const u = rng.random();
  if (u < 0.05) return 0;
  if (u < 0.1) return rng.uniform(-1e-3, 1e-3);
  if (u < 0.15) return rng.uniform(-50, 50);
  return rng.uniform(-2, 2);
}

// ---------------------------------------------------------------------------------
// Oracles, in float64

/** op(a)·op(b) + beta·old, with Σ of |every term| for the tolerance. */
function refMatmul(a: Matrix, transA: boolean, b: Matrix, transB: boolean, old: ArrayLike<number>, beta: 0 | 1) {
  const m = transA ? a.cols : a.rows;
  const k = transA ? a.rows : a.cols;
  const n = transB ? b.rows : b.cols;
  const opA = (i: number, p: number): number => (transA ? a.data[p * a.cols + i]! : a.data[i * a.cols + p]!);
  const opB = (p: number, j: number): number => (transB ? b.data[j * b.cols + p]! : b.data[p * b.cols + j]!);
  const value = new Float64Array(m * n);
  const mag = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = beta === 1 ? old[i * n + j]! : 0;
      let t = Math.abs(s);
      for (let p = 0; p < k; p++) {
        const term = opA(i, p) * opB(p, j);
        s += term;
        t += Math.abs(term);
      }
      value[i * n + j] = s;
      mag[i * n + j] = t;
    }
  }
  return { value, mag };
}

/**
 * torch.optim.Adam, amsgrad off (the algorithm in its documentation), in float64; `mag`
 * tracks the size of each quantity's terms for the tolerance.
 */
class RefAdam {
  readonly p: Float64Array;
  readonly m: Float64Array;
  readonly v: Float64Array;
  readonly pMag: Float64Array;
  readonly mMag: Float64Array;
  readonly vMag: Float64Array;

  constructor(p0: ArrayLike<number>) {
    this.p = Float64Array.from(p0);
    this.m = new Float64Array(p0.length);
    this.v = new Float64Array(p0.length);
    this.pMag = this.p.map(Math.abs);
    this.mMag = new Float64Array(p0.length);
    this.vMag = new Float64Array(p0.length);
  }

  step(grad: ArrayLike<number>, h: AdamStep): void {
    const bc1 = 1 - h.beta1 ** h.step;
    const bc2 = 1 - h.beta2 ** h.step;
    for (let i = 0; i < this.p.length; i++) {
      const g = grad[i]! + h.weightDecay * this.p[i]!;
      const gMag = Math.abs(grad[i]!) + h.weightDecay * Math.abs(this.p[i]!);
      this.m[i] = h.beta1 * this.m[i]! + (1 - h.beta1) * g;
      this.mMag[i] = h.beta1 * this.mMag[i]! + (1 - h.beta1) * gMag;
      this.v[i] = h.beta2 * this.v[i]! + (1 - h.beta2) * g * g;
      this.vMag[i] = h.beta2 * this.vMag[i]! + (1 - h.beta2) * gMag * gMag;
      const denom = Math.sqrt(this.v[i]!) / Math.sqrt(bc2) + h.eps;
      this.p[i] = this.p[i]! - (h.lr / bc1) * (this.m[i]! / denom);
      this.pMag[i] = this.pMag[i]! + (h.lr / bc1) * (this.mMag[i]! / denom);
    }
  }
}

/** torch.optim.SGD (the algorithm in its documentation), in float64, with term sizes. */
class RefSgd {
  readonly p: Float64Array;
  readonly buf: Float64Array;
  readonly pMag: Float64Array;
  readonly bufMag: Float64Array;

  constructor(p0: ArrayLike<number>) {
    this.p = Float64Array.from(p0);
    this.buf = new Float64Array(p0.length);
    this.pMag = this.p.map(Math.abs);
    this.bufMag = new Float64Array(p0.length);
  }

  step(grad: ArrayLike<number>, h: SgdStep): void {
    for (let i = 0; i < this.p.length; i++) {
      let d = grad[i]! + h.weightDecay * this.p[i]!;
      let dMag = Math.abs(grad[i]!) + h.weightDecay * Math.abs(this.p[i]!);
      if (h.momentum !== 0) {
        if (h.first) {
          this.buf[i] = d;
          this.bufMag[i] = dMag;
        } else {
          this.buf[i] = h.momentum * this.buf[i]! + (1 - h.dampening) * d;
          this.bufMag[i] = h.momentum * this.bufMag[i]! + (1 - h.dampening) * dMag;
        }
        if (h.nesterov) {
          d = d + h.momentum * this.buf[i]!;
          dMag = dMag + h.momentum * this.bufMag[i]!;
        } else {
          d = this.buf[i]!;
          dMag = this.bufMag[i]!;
        }
      }
      this.p[i] = this.p[i]! - h.lr * d;
      this.pMag[i] = this.pMag[i]! + h.lr * dMag;
    }
  }
}

/** Σ|terms| of each activation's derivative, written through its output y. */
const DERIVATIVE_TERMS: Record<ActivationName, (y: number) => number> = {
  tanh: (y) => 1 + y * y, // 1 − y²
  sigmoid: (y) => Math.abs(y) + y * y, // y − y²
  relu: () => 1,
  linear: () => 1,
};

// ---------------------------------------------------------------------------------
// The suite

/** [m, k, n]: op(a) is m×k, op(b) is k×n. */
const MATMUL_SIZES: [number, number, number][] = [
  [1, 1, 1],
  [1, 784, 30], // a one-row batch
  [1, 30, 784],
  [2, 3, 4],
  [5, 1, 9], // k = 1
  [13, 9, 1], // n = 1
  [3, 0, 4], // k = 0: the result is beta · out
  [0, 5, 3], // an empty batch
  [7, 13, 5],
  [17, 31, 23],
  [33, 17, 65],
  [31, 33, 63],
  [96, 784, 30], // MNIST's last partial batch
  [256, 784, 30], // MNIST-like
  [37, 300, 129], // large enough to split, in parts of uneven size
  // The native backend's narrow path (n ≤ 64, k ≥ 128, m ≥ 32, op(A) = A), at its edges:
  [35, 130, 1], // one column, rows not a multiple of the 4-row tile
  [41, 129, 64], // the widest narrow product, k not a multiple of a vector
  [50, 128, 17],
  [33, 256, 65], // one column too many: the BLAS path
];

const TRANSPOSES: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

const label = (transA: boolean, transB: boolean): string => `${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`;

/** Inputs stored so that op(a) is m×k and op(b) is k×n. */
function matmulOperands(mem: Memory, m: number, k: number, n: number, transA: boolean, transB: boolean, value: () => number) {
  const a = transA ? mem.matrix(k, m, value) : mem.matrix(m, k, value);
  const b = transB ? mem.matrix(n, k, value) : mem.matrix(k, n, value);
  return { a, b };
}

for (const candidate of BACKENDS) {
  if ('unavailable' in candidate) {
    describe(candidate.name, { skip: candidate.unavailable }, () => {});
    continue;
  }
  const backend: Backend = candidate;

  describe(backendLabel(backend), () => {
    describe('matmul', () => {
      for (const [m, k, n] of MATMUL_SIZES) {
        for (const [transA, transB] of TRANSPOSES) {
          for (const beta of [0, 1] as const) {
            test(`${m}x${k}x${n} ${label(transA, transB)} beta ${beta}`, () => {
              const rng = new Rng(m * 1_000_003 + k * 1009 + n * 17 + (transA ? 2 : 0) + (transB ? 1 : 0));
              const mem = new Memory();
              const { a, b } = matmulOperands(mem, m, k, n, transA, transB, () => rng.uniform(-1, 1));
              // With beta 0 the old contents must not leak into the result, not even a NaN.
              const out = mem.matrix(m, n, () => (beta === 0 ? NaN : rng.uniform(-1, 1)));
              const aBefore = copy(a.data);
              const bBefore = copy(b.data);
              const ref = refMatmul(a, transA, b, transB, out.data, beta);
              backend.matmul(a, transA, b, transB, out, beta);
              assertClose('out', out.data, ref.value, ref.mag);
              assert.deepEqual(copy(a.data), aBefore, 'a was modified');
              assert.deepEqual(copy(b.data), bBefore, 'b was modified');
              mem.assertGuardsIntact();
            });
          }
        }
      }

      for (const [m, k, n] of [[1, 1, 1], [7, 13, 5], [33, 17, 65], [64, 100, 30]] as const) {
        for (const [transA, transB] of TRANSPOSES) {
          test(`exact on small integers: ${m}x${k}x${n} ${label(transA, transB)} beta 1`, () => {
            const rng = new Rng(m + k + n);
            const mem = new Memory();
            const { a, b } = matmulOperands(mem, m, k, n, transA, transB, () => rng.int(17) - 8);
            const out = mem.matrix(m, n, () => rng.int(201) - 100);
            const ref = refMatmul(a, transA, b, transB, out.data, 1);
            backend.matmul(a, transA, b, transB, out, 1);
            assert.deepEqual(copy(out.data), copy(ref.value));
          });
        }
      }

      test('the same matrix as both operands (a·aᵀ and aᵀ·a)', () => {
        const rng = new Rng(5);
        const mem = new Memory();
        const a = mem.matrix(9, 14, () => rng.uniform(-1, 1));
        for (const [transA, transB, size] of [[false, true, 9], [true, false, 14]] as const) {
          const out = mem.matrix(size, size);
          const ref = refMatmul(a, transA, a, transB, out.data, 0);
          backend.matmul(a, transA, a, transB, out, 0);
          assertClose(`out ${label(transA, transB)}`, out.data, ref.value, ref.mag);
        }
      });

      for (const [transA, transB] of TRANSPOSES) {
        test(`NaN and Inf propagate as in BLAS, zero multipliers included: ${label(transA, transB)}`, () => {
          const m = 9;
          const k = 11;
          const n = 7;
          const rng = new Rng(77);
          const mem = new Memory();
          const { a, b } = matmulOperands(mem, m, k, n, transA, transB, () => rng.uniform(-1, 1));
          const setA = (i: number, p: number, x: number): void => {
            a.data[transA ? p * m + i : i * k + p] = x;
          };
          const setB = (p: number, j: number, x: number): void => {
            b.data[transB ? j * k + p : p * n + j] = x;
          };
          setA(1, 4, NaN); // row 1 of the result: all NaN
          setB(2, 3, NaN); // column 3: all NaN
          setA(7, 0, -Infinity); // row 7: ±Inf, or NaN where it meets the NaN or an infinity in b
          for (let p = 0; p < k; p++) setA(3, p, 0); // row 3 is zero, so 0·Inf at column 2 is NaN
          setB(6, 2, Infinity); // column 2: ±Inf elsewhere
          setB(8, 5, Infinity); // column 5: +Inf meets −Inf in row 6 below, giving NaN
          setB(9, 5, -Infinity);
          setA(6, 8, 1);
          setA(6, 9, 1);
          const out = mem.matrix(m, n, () => rng.uniform(-1, 1));
          out.data[4 * n + 0] = NaN; // beta 1 keeps a NaN already in out
          const ref = refMatmul(a, transA, b, transB, out.data, 1);
          for (let j = 0; j < n; j++) assert.ok(Number.isNaN(ref.value[1 * n + j]!), 'oracle: NaN row');
          for (let i = 0; i < m; i++) assert.ok(Number.isNaN(ref.value[i * n + 3]!), 'oracle: NaN column');
          assert.equal(Math.abs(ref.value[7 * n + 0]!), Infinity, 'oracle: an infinite result');
          assert.ok(Number.isNaN(ref.value[3 * n + 2]!) && Number.isNaN(ref.value[6 * n + 5]!), 'oracle: 0·Inf and Inf − Inf');
          assert.ok(Number.isNaN(ref.value[4 * n + 0]!) && Number.isFinite(ref.value[0]!), 'oracle: old NaN kept, others finite');
          backend.matmul(a, transA, b, transB, out, 1);
          assertClose('out', out.data, ref.value, ref.mag);
        });
      }

      test('1x1 by hand: 0·Inf = NaN, 0·NaN = NaN, beta 0 discards an old NaN', () => {
        const m = (x: number): Matrix => ({ rows: 1, cols: 1, data: Float32Array.of(x) });
        const run = (a: number, b: number, old: number, beta: 0 | 1): number => {
          const out = m(old);
          backend.matmul(m(a), false, m(b), false, out, beta);
          return out.data[0]!;
        };
        assert.ok(Number.isNaN(run(0, Infinity, 0, 0)));
        assert.ok(Number.isNaN(run(0, NaN, 0, 0)));
        assert.equal(run(2, 3, NaN, 0), 6);
        assert.ok(Number.isNaN(run(2, 3, NaN, 1)));
        assert.equal(run(2, 3, 1, 1), 7);
      });
    });

    describe('biasActivation', () => {
      for (const act of ACTIVATIONS) {
        for (const [rows, cols] of [[0, 5], [1, 1], [1, 30], [3, 7], [17, 33], [256, 30]] as const) {
          test(`${act} ${rows}x${cols}`, () => {
            const rng = new Rng(rows * 100 + cols);
            const mem = new Memory();
            const out = mem.matrix(rows, cols, () => mixed(rng));
            const bias = mem.f32(cols, () => mixed(rng));
            const f = ACTIVATION_TABLE[act].f;
            const ref = new Float64Array(rows * cols);
            const mag = new Float64Array(rows * cols);
            for (let i = 0; i < rows; i++) {
              for (let j = 0; j < cols; j++) {
                const o = out.data[i * cols + j]!;
                const x = o + bias[j]!;
                ref[i * cols + j] = f(x);
                // Rounding x moves f(x) by at most |f'| ≤ 1 times it, plus f's own rounding.
                mag[i * cols + j] = Math.abs(o) + Math.abs(bias[j]!) + Math.abs(ref[i * cols + j]!);
              }
            }
            const biasBefore = copy(bias);
            backend.biasActivation(out, bias, act);
            assertClose('out', out.data, ref, mag);
            assert.deepEqual(copy(bias), biasBefore, 'bias was modified');
            mem.assertGuardsIntact();
          });
        }
      }
    });

    describe('matmulBiasActivation (optional fusion)', { skip: backend.matmulBiasActivation ? false : `${backend.name} has no fused forward; callers use matmul then biasActivation` }, () => {
      // The sizes of a dense layer's forward (batch × in → out), split by rows and by columns.
      for (const [m, k, n] of [[1, 1, 1], [3, 0, 4], [7, 13, 5], [256, 784, 30], [256, 30, 784], [37, 300, 129]] as const) {
        for (const act of ACTIVATIONS) {
          for (const transB of [true, false]) {
            test(`${m}x${k}x${n} ${label(false, transB)} ${act}`, () => {
              const rng = new Rng(m * 7919 + k * 31 + n + (transB ? 1 : 0));
              const mem = new Memory();
              const { a, b } = matmulOperands(mem, m, k, n, false, transB, () => rng.uniform(-1, 1));
              const bias = mem.f32(n, () => rng.uniform(-1, 1));
              const out = mem.matrix(m, n, () => NaN);
              const z = refMatmul(a, false, b, transB, out.data, 0);
              const f = ACTIVATION_TABLE[act].f;
              const ref = Float64Array.from(z.value, (v, i) => f(v + bias[i % n]!));
              // The product's rounding (REL · Σ|terms|) passes through f, whose slope is at most 1.
              const mag = Float64Array.from(z.mag, (v, i) => v + Math.abs(bias[i % n]!) + Math.abs(ref[i]!));
              backend.matmulBiasActivation!(a, false, b, transB, out, bias, act);
              assertClose('out', out.data, ref, mag);
              mem.assertGuardsIntact();
            });
          }
        }
      }
    });

    describe('activationBackwardSumRows (optional fusion)', { skip: backend.activationBackwardSumRows ? false : `${backend.name} has no fused backward; callers use activationBackward then sumRows` }, () => {
      for (const [rows, cols] of [[1, 1], [5, 9], [256, 30], [256, 784], [300, 777]] as const) {
        for (const act of ACTIVATIONS) {
          for (const accumulate of [false, true]) {
            test(`${act} ${rows}x${cols} accumulate ${accumulate}`, () => {
              const rng = new Rng(rows * 131 + cols + (accumulate ? 7 : 0));
              const mem = new Memory();
              const y = mem.matrix(rows, cols, () => ACTIVATION_TABLE[act].f(mixed(rng)));
              const grad = mem.matrix(rows, cols, () => mixed(rng));
              const out = mem.f32(cols, () => rng.uniform(-1, 1));
              const df = ACTIVATION_TABLE[act].dfFromOutput;
              const g = Float64Array.from(grad.data, (v, i) => v * df(y.data[i]!));
              const gMag = Float64Array.from(grad.data, (v, i) => Math.abs(v) * DERIVATIVE_TERMS[act](y.data[i]!));
              const sum = Float64Array.from({ length: cols }, (_, j) => (accumulate ? out[j]! : 0));
              const sumMag = Float64Array.from({ length: cols }, (_, j) => (accumulate ? Math.abs(out[j]!) : 0));
              for (let i = 0; i < rows; i++) {
                for (let j = 0; j < cols; j++) {
                  sum[j]! += g[i * cols + j]!;
                  sumMag[j]! += gMag[i * cols + j]! + Math.abs(g[i * cols + j]!);
                }
              }
              backend.activationBackwardSumRows!(grad, y, act, out, accumulate);
              assertClose('grad', grad.data, g, gMag);
              assertClose('out', out, sum, sumMag);
              mem.assertGuardsIntact();
            });
          }
        }
      }
    });

    describe('mseBackward (optional fusion)', { skip: backend.mseBackward ? false : `${backend.name} has no fused output backward; callers use loss, activationBackward, sumRows` }, () => {
      for (const [rows, cols] of [[1, 1], [5, 9], [17, 30], [256, 784], [300, 777]] as const) {
        for (const act of ACTIVATIONS) {
          for (const accumulate of [false, true]) {
            test(`${act} ${rows}x${cols} accumulate ${accumulate}`, () => {
              const rng = new Rng(rows * 71 + cols + (accumulate ? 3 : 0));
              const mem = new Memory();
              const yhat = mem.matrix(rows, cols, () => ACTIVATION_TABLE[act].f(mixed(rng)));
              const target = mem.matrix(rows, cols, () => rng.uniform(-1, 1));
              const grad = mem.matrix(rows, cols, () => NaN);
              const bias = mem.f32(cols, () => rng.uniform(-1, 1));
              const scale = 1 / (rows * cols);
              const df = ACTIVATION_TABLE[act].dfFromOutput;
              const n = rows * cols;
              const g = new Float64Array(n);
              const gMag = new Float64Array(n);
              let value = 0;
              let valueMag = 0;
              for (let i = 0; i < n; i++) {
                const y = yhat.data[i]!;
                const t = target.data[i]!;
                g[i] = scale * 2 * (y - t) * df(y);
                gMag[i] = scale * 2 * (Math.abs(y) + Math.abs(t)) * DERIVATIVE_TERMS[act](y);
                value += (y - t) ** 2;
                valueMag += (Math.abs(y) + Math.abs(t)) ** 2;
              }
              const sum = Float64Array.from({ length: cols }, (_, j) => (accumulate ? bias[j]! : 0));
              const sumMag = Float64Array.from({ length: cols }, (_, j) => (accumulate ? Math.abs(bias[j]!) : 0));
              for (let i = 0; i < rows; i++) {
                for (let j = 0; j < cols; j++) {
                  sum[j]! += g[i * cols + j]!;
                  sumMag[j]! += gMag[i * cols + j]! + Math.abs(g[i * cols + j]!);
                }
              }
              const got = backend.mseBackward!(yhat, target, grad, scale, act, bias, accumulate);
              assertClose('grad', grad.data, g, gMag);
              assertClose('biasGrad', bias, sum, sumMag);
              assertCloseScalar('value', got, value, valueMag);
              mem.assertGuardsIntact();
            });
          }
        }
      }
    });

    describe('denseMseBackward (optional fusion)', { skip: backend.denseMseBackward ? false : `${backend.name} has no fused output layer; callers run the layer, then mseBackward` }, () => {
      // Checked against the same backend's unfused path (matmulBiasActivation or matmul then
      // biasActivation, then mseBackward, itself checked above against float64): equal up to
      // float32 rounding of the product, which the tolerance allows for through Σ|terms|.
      for (const [rows, k, cols] of [[1, 1, 1], [5, 3, 9], [17, 30, 33], [256, 30, 784], [600, 64, 40], [33, 500, 784]] as const) {
        for (const act of ACTIVATIONS) {
          for (const transB of [false, true]) {
            test(`${act} ${rows}x${k}·${transB ? `(${cols}x${k})ᵀ` : `${k}x${cols}`}, accumulate ${transB}`, () => {
              const rng = new Rng(rows * 7 + k * 13 + cols + (transB ? 1 : 0));
              const mem = new Memory();
              const a = mem.matrix(rows, k, () => rng.uniform(-1, 1));
              const b = transB ? mem.matrix(cols, k, () => rng.uniform(-1, 1) / Math.sqrt(k)) : mem.matrix(k, cols, () => rng.uniform(-1, 1) / Math.sqrt(k));
              const bias = mem.f32(cols, () => rng.uniform(-0.5, 0.5));
              const target = mem.matrix(rows, cols, () => rng.uniform(-1, 1));
              const grad = mem.matrix(rows, cols, () => NaN);
              const biasGrad = mem.f32(cols, () => rng.uniform(-1, 1));
              const accumulate = transB;
              const refBias = Float32Array.from(biasGrad);
              const scale = 1 / (rows * cols);
              // The unfused path on this backend.
              const y = matrix(rows, cols);
              backend.matmul(a, false, b, transB, y, 0);
              backend.biasActivation(y, bias, act);
              const refGrad = matrix(rows, cols);
              let refValue: number;
              if (backend.mseBackward) refValue = backend.mseBackward(y, target, refGrad, scale, act, refBias, accumulate);
              else {
                refValue = backend.loss('mse', y, target, refGrad, scale, false);
                backend.activationBackward(refGrad, y, act);
                backend.sumRows(refGrad, refBias, accumulate);
              }
              // |terms| of each pre-activation, for the tolerance.
              const zMag = refMatmul(a, false, b, transB, new Float32Array(rows * cols), 0).mag;
              const gMag = Float64Array.from(zMag, (z, i) => 2 * scale * (Math.abs(y.data[i]! - target.data[i]!) + z + Math.abs(bias[i % cols]!)));
              const got = backend.denseMseBackward!(a, b, transB, bias, act, target, grad, scale, biasGrad, accumulate);
              assertClose('grad', grad.data, refGrad.data, gMag);
              const bMag = Float64Array.from({ length: cols }, (_, j) => {
                let m = Math.abs(refBias[j]!);
                for (let i = 0; i < rows; i++) m += gMag[i * cols + j]!;
                return m;
              });
              assertClose('biasGrad', biasGrad, refBias, bMag);
              let vMag = 0;
              for (let i = 0; i < rows * cols; i++) vMag += (Math.abs(y.data[i]! - target.data[i]!) + zMag[i]! + 1) ** 2;
              assertCloseScalar('value', got, refValue, vMag);
              mem.assertGuardsIntact();
            });
          }
        }
      }
    });

    describe('activationBackward', () => {
      /** Outputs an activation can produce, its boundary values included. */
      const outputs: Record<ActivationName, number[]> = {
        tanh: [-1, 0, 1],
        sigmoid: [0, 0.5, 1],
        relu: [0, 0, 3],
        linear: [0, -4, 4],
      };
      for (const act of ACTIVATIONS) {
        for (const [rows, cols] of [[1, 1], [5, 9], [64, 33]] as const) {
          test(`${act} ${rows}x${cols}`, () => {
            const rng = new Rng(rows * 31 + cols);
            const mem = new Memory();
            const special = outputs[act];
            const y = mem.matrix(rows, cols, (i) => (i < special.length ? special[i]! : ACTIVATION_TABLE[act].f(mixed(rng))));
            const grad = mem.matrix(rows, cols, () => mixed(rng));
            const df = ACTIVATION_TABLE[act].dfFromOutput;
            const ref = Float64Array.from(grad.data, (g, i) => g * df(y.data[i]!));
            const mag = Float64Array.from(grad.data, (g, i) => Math.abs(g) * DERIVATIVE_TERMS[act](y.data[i]!));
            const yBefore = copy(y.data);
            backend.activationBackward(grad, y, act);
            assertClose('grad', grad.data, ref, mag);
            assert.deepEqual(copy(y.data), yBefore, 'y was modified');
            mem.assertGuardsIntact();
          });
        }
      }
    });

    describe('sumRows', () => {
      for (const [rows, cols] of [[0, 4], [1, 1], [1, 7], [9, 1], [17, 33], [256, 784]] as const) {
        for (const accumulate of [false, true]) {
          test(`${rows}x${cols} accumulate ${accumulate}`, () => {
            const rng = new Rng(rows * 7 + cols);
            const mem = new Memory();
            const m = mem.matrix(rows, cols, () => mixed(rng));
            // Without accumulate the old contents must not leak in, not even a NaN.
            const out = mem.f32(cols, () => (accumulate ? mixed(rng) : NaN));
            const ref = new Float64Array(cols);
            const mag = new Float64Array(cols);
            for (let j = 0; j < cols; j++) {
              let s = accumulate ? out[j]! : 0;
              let t = Math.abs(s);
              for (let i = 0; i < rows; i++) {
                s += m.data[i * cols + j]!;
                t += Math.abs(m.data[i * cols + j]!);
              }
              ref[j] = s;
              mag[j] = t;
            }
            const mBefore = copy(m.data);
            backend.sumRows(m, out, accumulate);
            assertClose('out', out, ref, mag);
            assert.deepEqual(copy(m.data), mBefore, 'm was modified');
            mem.assertGuardsIntact();
          });
        }
      }
    });

    describe('loss', () => {
      // nn.MSELoss and nn.BCELoss per element, their gradients, and BCE's gradient with
      // respect to the logit of a sigmoid output. PyTorch clamps each log at −100 and
      // divides BCE's gradient by max(ŷ(1−ŷ), 1e-12).
      const mse = {
        value: (y: number, t: number) => (y - t) ** 2,
        valueMag: (y: number, t: number) => (Math.abs(y) + Math.abs(t)) ** 2,
        grad: (y: number, t: number) => 2 * (y - t),
        gradMag: (y: number, t: number) => 2 * (Math.abs(y) + Math.abs(t)),
      };
      const bceLogs = (y: number, t: number) => [t * Math.max(Math.log(y), -100), (1 - t) * Math.max(Math.log(1 - y), -100)] as const;
      const bceDivisor = (y: number) => Math.max(y * (1 - y), 1e-12);
      const bce = {
        value: (y: number, t: number) => -(bceLogs(y, t)[0] + bceLogs(y, t)[1]),
        valueMag: (y: number, t: number) => Math.abs(bceLogs(y, t)[0]) + Math.abs(bceLogs(y, t)[1]),
        grad: (y: number, t: number) => (y - t) / bceDivisor(y),
        gradMag: (y: number, t: number) => (Math.abs(y) + Math.abs(t)) / bceDivisor(y),
      };
      const bceLogit = { ...bce, grad: (y: number, t: number) => y - t, gradMag: (y: number, t: number) => Math.abs(y) + Math.abs(t) };

      // The value sums a whole batch, so a backend must accumulate it in float64 (or
      // pairwise): a running float32 sum over 200,000 elements drifts past REL.
      const cases = [
        { name: 'mse', spec: mse, wrtLogit: false, lo: -1.5, hi: 1.5, edges: [[0, 0], [1, -1], [-1, 1]] },
        // ŷ of exactly 0 or 1 meets the log floor and the divisor's floor.
        { name: 'bce', spec: bce, wrtLogit: false, lo: 0, hi: 1, edges: [[0, 1], [1, 0], [0, 0], [1, 1], [1e-30, 0.5]] },
        { name: 'bce', spec: bceLogit, wrtLogit: true, lo: 0, hi: 1, edges: [[0, 1], [1, 0], [0, 0], [1, 1]] },
      ] as const;

      for (const c of cases) {
        for (const [rows, cols] of [[1, 1], [7, 13], [256, 784]] as const) {
          for (const gradScale of [1 / (rows * cols), 0.37]) {
            test(`${c.name}${c.wrtLogit ? ' wrt logit' : ''} ${rows}x${cols} gradScale ${gradScale.toPrecision(3)}`, () => {
              const rng = new Rng(rows * 3 + cols);
              const mem = new Memory();
              const edge = (i: number, which: 0 | 1): number | undefined => (rows * cols > 1 ? c.edges[i]?.[which] : undefined);
              const yhat = mem.matrix(rows, cols, (i) => edge(i, 0) ?? rng.uniform(c.lo, c.hi));
              // BCE's target is a probability: pixel intensities scaled to [0, 1].
              const target = mem.matrix(rows, cols, (i) => edge(i, 1) ?? rng.uniform(c.lo, c.hi));
              const grad = mem.matrix(rows, cols, () => NaN);
              let value = 0;
              let valueMag = 0;
              const ref = new Float64Array(rows * cols);
              const mag = new Float64Array(rows * cols);
              for (let i = 0; i < rows * cols; i++) {
                const y = yhat.data[i]!;
                const t = target.data[i]!;
                value += c.spec.value(y, t);
                valueMag += c.spec.valueMag(y, t);
                ref[i] = gradScale * c.spec.grad(y, t);
                mag[i] = gradScale * c.spec.gradMag(y, t);
              }
              const yBefore = copy(yhat.data);
              const tBefore = copy(target.data);
              const got = backend.loss(c.name, yhat, target, grad, gradScale, c.wrtLogit);
              assertCloseScalar('loss', got, value, valueMag);
              assertClose('grad', grad.data, ref, mag);
              assert.deepEqual(copy(yhat.data), yBefore, 'yhat was modified');
              assert.deepEqual(copy(target.data), tBefore, 'target was modified');
              // Without a gradient buffer the value is the same.
              assertCloseScalar('loss without grad', backend.loss(c.name, yhat, target, null, 0, false), value, valueMag);
              mem.assertGuardsIntact();
            });
          }
        }
      }

      test('bce by hand: a saturated wrong output costs 100, not Inf', () => {
        const m = (...x: number[]): Matrix => ({ rows: 1, cols: x.length, data: Float32Array.from(x) });
        assertCloseScalar('loss', backend.loss('bce', m(0, 1), m(1, 0), null, 0, false), 200, 200);
        assertCloseScalar('loss', backend.loss('bce', m(0.5), m(1), null, 0, false), Math.LN2, 1);
      });
    });

    describe('adam', () => {
      const configs: { name: string; h: Omit<AdamStep, 'step'>; size: number }[] = [
        { name: "PyTorch's defaults", h: { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, size: 1000 },
        { name: 'weight decay, other betas and eps', h: { lr: 0.05, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.01 }, size: 257 },
        { name: 'beta1 0 (RMSProp-like), one weight', h: { lr: 0.1, beta1: 0, beta2: 0.9, eps: 1e-8, weightDecay: 0.1 }, size: 1 },
        { name: 'no weights', h: { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, size: 0 },
      ];
      for (const { name, h, size } of configs) {
        test(`${name}: five steps against PyTorch's formulas`, () => {
          const rng = new Rng(size + 11);
          const mem = new Memory();
          const param = mem.f32(size, () => rng.uniform(-1, 1));
          const grad = mem.f32(size);
          const m = mem.f32(size);
          const v = mem.f32(size);
          const ref = new RefAdam(param);
          for (let step = 1; step <= 5; step++) {
            for (let i = 0; i < size; i++) grad[i] = mixed(rng);
            const hs: AdamStep = { ...h, step };
            const gradBefore = copy(grad);
            assert.equal(backend.adam(param, grad, m, v, hs), true, 'finite update reported as non-finite');
            ref.step(grad, hs);
            assertClose(`step ${step} m`, m, ref.m, ref.mMag);
            assertClose(`step ${step} v`, v, ref.v, ref.vMag);
            assertClose(`step ${step} param`, param, ref.p, ref.pMag);
            assert.deepEqual(copy(grad), gradBefore, 'grad was modified');
          }
          mem.assertGuardsIntact();
        });
      }

      const h: AdamStep = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1 };
      const nonFinite: [string, number, number, number][] = [
        ['a NaN gradient', 1, NaN, 1e-3],
        ['an infinite gradient', 1, Infinity, 1e-3],
        ['a weight that is already NaN', NaN, 0.1, 1e-3],
        ['a weight that overflows float32 when stored', 3.4e38, -1, 1e38],
      ];
      for (const [what, p, g, lr] of nonFinite) {
        test(`reports ${what} as non-finite`, () => {
          const param = Float32Array.of(0.5, p, -0.5);
          const ok = backend.adam(param, Float32Array.of(0.1, g, 0.1), new Float32Array(3), new Float32Array(3), { ...h, lr });
          assert.equal(ok, false);
          assert.ok(!Number.isFinite(param[1]!));
        });
      }
    });

    describe('sgd', () => {
      const configs: { name: string; h: Omit<SgdStep, 'first'> }[] = [
        { name: 'plain', h: { lr: 0.1, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 } },
        { name: 'weight decay', h: { lr: 0.1, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0.01 } },
        { name: 'momentum', h: { lr: 0.05, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0 } },
        { name: 'momentum with dampening', h: { lr: 0.05, momentum: 0.9, dampening: 0.5, nesterov: false, weightDecay: 0 } },
        { name: 'nesterov', h: { lr: 0.05, momentum: 0.9, dampening: 0, nesterov: true, weightDecay: 0 } },
        { name: 'nesterov with weight decay', h: { lr: 0.05, momentum: 0.8, dampening: 0, nesterov: true, weightDecay: 0.05 } },
      ];
      for (const { name, h } of configs) {
        for (const size of [1, 300]) {
          test(`${name}, ${size} weights: four steps against PyTorch's formulas`, () => {
            const rng = new Rng(size * 13 + name.length);
            const mem = new Memory();
            const param = mem.f32(size, () => rng.uniform(-1, 1));
            const grad = mem.f32(size);
            const velocity = mem.f32(size, () => (h.momentum !== 0 ? NaN : 0)); // the first step must not read it
            const ref = new RefSgd(param);
            for (let step = 1; step <= 4; step++) {
              for (let i = 0; i < size; i++) grad[i] = mixed(rng);
              const hs: SgdStep = { ...h, first: step === 1 };
              const gradBefore = copy(grad);
              assert.equal(backend.sgd(param, grad, velocity, hs), true, 'finite update reported as non-finite');
              ref.step(grad, hs);
              if (h.momentum !== 0) assertClose(`step ${step} velocity`, velocity, ref.buf, ref.bufMag);
              assertClose(`step ${step} param`, param, ref.p, ref.pMag);
              assert.deepEqual(copy(grad), gradBefore, 'grad was modified');
            }
            mem.assertGuardsIntact();
          });
        }
      }

      const h: SgdStep = { lr: 0.1, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0, first: true };
      const nonFinite: [string, number, number, number][] = [
        ['a NaN gradient', 1, NaN, 0.1],
        ['an infinite gradient', 1, -Infinity, 0.1],
        ['a weight that is already NaN', NaN, 0.1, 0.1],
        ['a weight that overflows float32 when stored', 3.4e38, -1e38, 1],
      ];
      for (const [what, p, g, lr] of nonFinite) {
        test(`reports ${what} as non-finite`, () => {
          const param = Float32Array.of(0.5, p, -0.5);
          const ok = backend.sgd(param, Float32Array.of(0.1, g, 0.1), new Float32Array(3), { ...h, lr });
          assert.equal(ok, false);
          assert.ok(!Number.isFinite(param[1]!));
        });
      }
    });

    describe('gatherRows', () => {
      for (const [rows, cols, count] of [[1, 1, 1], [10, 7, 4], [300, 784, 256], [5, 3, 0]] as const) {
        test(`${count} of ${rows} rows of ${cols}`, () => {
          const rng = new Rng(rows + cols);
          const mem = new Memory();
          const src = mem.matrix(rows, cols, () => rng.uniform(-1, 1));
          const order = rng.permutation(rows);
          const start = rows > count ? 1 : 0;
          const out = mem.matrix(count, cols);
          backend.gatherRows(src, order, start, count, out);
          for (let r = 0; r < count; r++) {
            const i = order[start + r]!;
            assert.deepEqual(copy(out.data.subarray(r * cols, (r + 1) * cols)), copy(src.data.subarray(i * cols, (i + 1) * cols)));
          }
          mem.assertGuardsIntact();
        });
      }
    });

    describe('dropout', () => {
      const cases = [[0.5, 2, 1, 64, 33], [0.2, 1.25, 77, 64, 33], [0.9, 1, 4294967295, 64, 33], [0, 1, 3, 64, 33], [0.3, 1 / 0.7, 9, 64, 33], [0.5, 2, 5, 7, 13], [0.3, 1 / 0.7, 5, 1, 3]] as const;
      for (const [p, scale, seed, rows, cols] of cases) {
        test(`p ${p}, scale ${scale}, seed ${seed}, ${rows}x${cols}: the mask of 8 Rng lanes, exactly`, () => {
          const mem = new Memory();
          const x = mem.matrix(rows, cols, (i) => Math.sin(i) + 0.1);
          const out = mem.matrix(rows, cols);
          backend.dropout(x, out, p, scale, seed);
          const lanes = Array.from({ length: 8 }, (_, k) => new Rng((seed + k) >>> 0));
          let dropped = 0;
          for (let i = 0; i < x.data.length; i++) {
            const drop = lanes[i % 8]!.random() < p;
            dropped += drop ? 1 : 0;
            assert.equal(out.data[i], drop ? 0 : Math.fround(x.data[i]! * scale), `element ${i}`);
          }
          // The drop rate is p within a few standard deviations of a binomial.
          const n = x.data.length;
          if (n > 1000) assert.ok(Math.abs(dropped / n - p) <= 4 * Math.sqrt((p * (1 - p)) / n) + 1e-9, `drop rate ${dropped / n}`);
          mem.assertGuardsIntact();
        });
      }
    });
  });
}

// The fused output-layer kernels sum in fixed blocks, so a seeded run gives the same weights
// whatever the thread count: checked bit for bit on 1, 2, 3 and 5 threads, on shapes whose
// rows and columns split unevenly, with the inner dimension on both sides of the kernel's
// small-k path (k ≤ 64 is multiplied without the BLAS).
const natives = BACKENDS.filter((b): b is Backend => !('unavailable' in b) && b.name === 'native');
describe('native: fused and narrow kernels give the same bits on any thread count', { skip: natives.length ? false : 'no native backend' }, async () => {
  const { NativeBackend } = await import('./native/index.js');
  const pools = [1, 2, 3, 5].map((threads) => new NativeBackend({ threads }));
  for (const [rows, k, cols] of [[256, 30, 784], [203, 64, 97], [77, 65, 130], [1000, 8, 50]] as const) {
    for (const transB of [false, true]) {
      test(`denseMseBackward and mseBackward ${rows}x${k}·${transB ? `(${cols}x${k})ᵀ` : `${k}x${cols}`}`, () => {
        const rng = new Rng(rows + k + cols);
        const fill = (r: number, c: number, s = 1) => {
          const m = matrix(r, c);
          for (let i = 0; i < m.data.length; i++) m.data[i] = rng.uniform(-s, s);
          return m;
        };
        const a = fill(rows, k);
        const b = transB ? fill(cols, k, 1 / Math.sqrt(k)) : fill(k, cols, 1 / Math.sqrt(k));
        const bias = fill(1, cols, 0.5).data;
        const target = fill(rows, cols);
        const yhat = fill(rows, cols);
        const w = fill(k > 64 ? 30 : 20, cols, 1 / Math.sqrt(cols));
        const hBias = fill(1, w.rows).data;
        const runs = pools.map((be) => {
          const grad = matrix(rows, cols);
          const biasGrad = new Float32Array(cols);
          const sum = be.denseMseBackward(a, b, transB, bias, 'tanh', target, grad, 1 / (rows * cols), biasGrad, false);
          const grad2 = matrix(rows, cols);
          const biasGrad2 = new Float32Array(cols);
          const sum2 = be.mseBackward(yhat, target, grad2, 0.5, 'sigmoid', biasGrad2, false);
          // The narrow product (an encoder to a small code), on the same rows.
          const h = matrix(rows, w.rows);
          be.matmulBiasActivation(target, false, w, true, h, hBias, 'tanh');
          return { grad: grad.data, biasGrad, sum, grad2: grad2.data, biasGrad2, sum2, h: h.data };
        });
        const first = runs[0]!;
        for (let t = 1; t < runs.length; t++) {
          const r = runs[t]!;
          const label = `${pools[t]!.threadCount} threads against 1`;
          assert.deepEqual(r.grad, first.grad, `denseMseBackward grad, ${label}`);
          assert.deepEqual(r.biasGrad, first.biasGrad, `denseMseBackward biasGrad, ${label}`);
          assert.equal(r.sum, first.sum, `denseMseBackward sum, ${label}`);
          assert.deepEqual(r.grad2, first.grad2, `mseBackward grad, ${label}`);
          assert.deepEqual(r.biasGrad2, first.biasGrad2, `mseBackward biasGrad, ${label}`);
          assert.equal(r.sum2, first.sum2, `mseBackward sum, ${label}`);
          assert.deepEqual(r.h, first.h, `matmulBiasActivation, ${label}`);
        }
      });
    }
  }
});
