import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACTIVATIONS, LOSSES, type ActivationName, type LossName } from '../core/backend.js';
import { ValidationError } from '../core/errors.js';
import { matrix } from '../core/matrix.js';
import { Rng } from '../core/rng.js';
import { JsBackend } from '../backends/js/index.js';
import { Autoencoder, type ArchitectureConfig } from './autoencoder.js';

const backend = new JsBackend();

/** A batch in (0.05, 0.95) so it is a valid BCE target as well as an MSE one. */
function batch(rng: Rng, rows: number, cols: number) {
  const m = matrix(rows, cols);
  rng.fillUniform(m.data, 0.05, 0.95);
  return m;
}

/**
 * Central finite differences of the batch loss with respect to every parameter,
 * against the analytic gradient from forwardBackward. float32 parameters limit the
 * precision, so the step is large and the tolerance float32-aware.
 */
function gradCheck(config: ArchitectureConfig, loss: LossName, seed: number) {
  // relu's kinks are crossed by a large step; a smaller one stays on one side of them.
  const step = config.activation === 'relu' || config.outputActivation === 'relu' ? 1e-3 : 1e-2;
  const rng = new Rng(seed);
  const model = new Autoencoder(config, backend, rng);
  const x = batch(rng, 5, config.layers[0]!);
  model.forwardBackward(x, x, loss);
  const analytic = model.params.map((p) => Float64Array.from(p.grad));
  let worst = 0;
  let checked = 0;
  let skipped = 0;
  const kinked = step < 1e-2;
  model.params.forEach((p, pi) => {
    for (let i = 0; i < p.value.length; i++) {
      const orig = p.value[i]!;
      const h = step * Math.max(1, Math.abs(orig));
      p.value[i] = orig + h;
      const up = model.lossSum(x, x, loss);
      p.value[i] = orig - h;
      const down = model.lossSum(x, x, loss);
      p.value[i] = orig;
      const hUsed = (Math.fround(orig + h) - Math.fround(orig - h)) / 2;
      const numeric = (up - down) / (2 * hUsed) / (x.rows * x.cols);
      const a = analytic[pi]![i]!;
      // A unit sitting just below relu's kink has a zero gradient, yet the step pushes it
      // across; such points are non-differentiable for this step, so count them apart.
      if (kinked && a === 0 && numeric !== 0) {
        skipped++;
        continue;
      }
      const err = Math.abs(numeric - a) / Math.max(1e-3, Math.abs(numeric) + Math.abs(a));
      worst = Math.max(worst, err);
      checked++;
    }
  });
  return { worst, checked, skipped };
}

const arch = (activation: ActivationName, outputActivation: ActivationName, tied = false, layers = [6, 4, 3]): ArchitectureConfig => ({
  layers,
  activation,
  outputActivation,
  tied,
});

for (const act of ACTIVATIONS) {
  for (const loss of LOSSES) {
    // BCE needs outputs in (0,1): pair it with a sigmoid output; MSE takes the activation itself.
    const out: ActivationName = loss === 'bce' ? 'sigmoid' : act;
    for (const tied of [false, true]) {
      test(`gradient check: ${act} hidden, ${out} output, ${loss}${tied ? ', tied' : ''}`, () => {
        const { worst, checked, skipped } = gradCheck(arch(act, out, tied), loss, 7);
        assert.ok(checked > 20 && skipped <= checked / 4, `checked ${checked}, skipped ${skipped}`);
        assert.ok(worst < 2e-2, `worst relative error ${worst}`);
      });
    }
  }
}

test('gradient check: BCE through a tanh-free linear hidden stack with sigmoid output, unfused path', () => {
  // A sigmoid hidden layer followed by a linear→sigmoid output exercises the plain BCE gradient
  // only when the output is not a sigmoid; here we check the fused path against the same numbers.
  const { worst } = gradCheck(arch('linear', 'sigmoid', false, [5, 2]), 'bce', 11);
  assert.ok(worst < 2e-2, `worst relative error ${worst}`);
});

test('the gradient check can fail: a corrupted analytic gradient is caught', () => {
  const rng = new Rng(3);
  const model = new Autoencoder(arch('tanh', 'tanh'), backend, rng);
  const x = batch(rng, 4, 6);
  model.forwardBackward(x, x, 'mse');
  const p = model.params[0]!;
  const i = 0;
  const orig = p.value[i]!;
  const h = 1e-2;
  p.value[i] = orig + h;
  const up = model.lossSum(x, x, 'mse');
  p.value[i] = orig - h;
  const down = model.lossSum(x, x, 'mse');
  p.value[i] = orig;
  const numeric = (up - down) / (2 * h) / (x.rows * x.cols);
  assert.ok(Math.abs(numeric - 2 * p.grad[i]!) > 1e-4 * Math.abs(numeric) || numeric === 0);
});

test('tied decoder uses the transposed encoder weights and no weights of its own', () => {
  const model = new Autoencoder(arch('tanh', 'tanh', true, [6, 4, 3]), backend, new Rng(1));
  assert.deepEqual(
    model.params.map((p) => p.name),
    ['encoder.0.weight', 'encoder.0.bias', 'encoder.2.weight', 'encoder.2.bias', 'decoder.0.bias', 'decoder.2.bias'],
  );
  assert.equal(model.decoder[0]!.weight, model.encoder[1]!.weight);
  assert.equal(model.decoder[1]!.weight, model.encoder[0]!.weight);
  assert.equal(model.decoder[1]!.outSize, 6);
});

test('initialisation is U(-1/sqrt(fan_in), 1/sqrt(fan_in)) and seeded', () => {
  const a = new Autoencoder(arch('tanh', 'tanh', false, [784, 30]), backend, new Rng(0));
  const b = new Autoencoder(arch('tanh', 'tanh', false, [784, 30]), backend, new Rng(0));
  const w = a.params[0]!.value;
  const bound = 1 / Math.sqrt(784);
  let max = 0;
  let sumSq = 0;
  for (const v of w) {
    max = Math.max(max, Math.abs(v));
    sumSq += v * v;
  }
  assert.ok(max <= bound && max > 0.99 * bound);
  // The variance of U(-a, a) is a²/3.
  assert.ok(Math.abs(sumSq / w.length / (bound * bound / 3) - 1) < 0.02);
  assert.deepEqual(a.params.map((p) => Array.from(p.value)), b.params.map((p) => Array.from(p.value)));
  const decW = a.params[2]!.value;
  assert.ok(Math.max(...Array.from(decW, Math.abs)) <= 1 / Math.sqrt(30));
});

test('encode, decode and reconstruct agree and check widths', () => {
  const rng = new Rng(5);
  const model = new Autoencoder(arch('tanh', 'tanh', false, [6, 3]), backend, rng);
  const x = batch(rng, 2500, 6);
  const r1 = model.reconstruct(x);
  const r2 = model.decode(model.encode(x));
  assert.deepEqual(Array.from(r1.data), Array.from(r2.data));
  assert.throws(() => model.reconstruct(matrix(2, 5)), (e: unknown) => e instanceof ValidationError && /6 columns/.test((e as Error).message));
});

test('architecture validation rejects bad configs with one-line messages', () => {
  const bad: unknown[] = [
    { layers: [784], activation: 'tanh', outputActivation: 'tanh', tied: false },
    { layers: [784, 0], activation: 'tanh', outputActivation: 'tanh', tied: false },
    { layers: [784, 30], activation: 'swish', outputActivation: 'tanh', tied: false },
    { layers: [784, 30], activation: 'tanh', outputActivation: 'tanh', tied: 'yes' },
  ];
  for (const c of bad) {
    assert.throws(() => new Autoencoder(c as ArchitectureConfig, backend), (e: unknown) => e instanceof ValidationError && !(e as Error).message.includes('\n'));
  }
});

/** Finite differences of the whole objective (reconstruction + penalties) against forwardBackward. */
function gradCheckObjective(config: ArchitectureConfig, loss: LossName, reg: { contractive: number; sparse: number }, seed: number) {
  const rng = new Rng(seed);
  const model = new Autoencoder(config, backend, rng);
  const x = batch(rng, 5, config.layers[0]!);
  const value = model.forwardBackward(x, x, loss, reg);
  assert.ok(Math.abs(value - model.objective(x, x, loss, reg)) < 1e-9 * Math.max(1, value));
  const analytic = model.params.map((p) => Float64Array.from(p.grad));
  let worst = 0;
  let skipped = 0;
  let checked = 0;
  const kinked = config.activation === 'relu';
  const step = kinked ? 1e-3 : 1e-2;
  model.params.forEach((p, pi) => {
    for (let i = 0; i < p.value.length; i++) {
      const orig = p.value[i]!;
      const h = step * Math.max(1, Math.abs(orig));
      p.value[i] = orig + h;
      const up = model.objective(x, x, loss, reg);
      p.value[i] = orig - h;
      const down = model.objective(x, x, loss, reg);
      p.value[i] = orig;
      const numeric = (up - down) / (Math.fround(orig + h) - Math.fround(orig - h));
      const a = analytic[pi]![i]!;
      if (kinked && a === 0 && numeric !== 0) {
        skipped++;
        continue;
      }
      worst = Math.max(worst, Math.abs(numeric - a) / Math.max(1e-3, Math.abs(numeric) + Math.abs(a)));
      checked++;
    }
  });
  return { worst, checked, skipped };
}

for (const act of ACTIVATIONS) {
  for (const tied of [false, true]) {
    test(`gradient check: contractive penalty, ${act} encoder${tied ? ', tied' : ''}`, () => {
      const out: ActivationName = act === 'relu' ? 'tanh' : act;
      const { worst, checked, skipped } = gradCheckObjective(arch(act, out, tied, [6, 4]), 'mse', { contractive: 0.3, sparse: 0 }, 21);
      assert.ok(checked > 20 && skipped <= checked / 4, `checked ${checked}, skipped ${skipped}`);
      assert.ok(worst < 2e-2, `worst relative error ${worst}`);
    });
  }
  test(`gradient check: sparse L1 penalty on the code, ${act}`, () => {
    const out: ActivationName = act === 'relu' ? 'tanh' : act;
    const { worst, checked, skipped } = gradCheckObjective(arch(act, out, false, [6, 4, 3]), 'mse', { contractive: 0, sparse: 0.2 }, 22);
    assert.ok(checked > 20 && skipped <= checked / 4, `checked ${checked}, skipped ${skipped}`);
    assert.ok(worst < 2e-2, `worst relative error ${worst}`);
  });
}

test('gradient check: contractive and sparse together with BCE', () => {
  const { worst } = gradCheckObjective(arch('sigmoid', 'sigmoid', false, [6, 4]), 'bce', { contractive: 0.5, sparse: 0.1 }, 23);
  assert.ok(worst < 2e-2, `worst relative error ${worst}`);
});

test('the contractive penalty is ‖∂h/∂x‖²_F: closed form against finite differences of the encoder', () => {
  for (const act of ['tanh', 'sigmoid', 'linear'] as const) {
    const rng = new Rng(31);
    const model = new Autoencoder(arch(act, 'tanh', false, [5, 3]), backend, rng);
    const x = batch(rng, 1, 5);
    const norm = model.jacobianNorms(x)[0]!;
    // Numerical Jacobian of h with respect to x, column by column.
    let fro = 0;
    const h0 = model.encode(x).data;
    for (let i = 0; i < 5; i++) {
      const xp = matrix(1, 5, Float32Array.from(x.data));
      const e = 1e-3;
      xp.data[i] = xp.data[i]! + e;
      const hp = model.encode(xp).data;
      xp.data[i] = x.data[i]! - e;
      const hm = model.encode(xp).data;
      const denom = Math.fround(x.data[i]! + e) - Math.fround(x.data[i]! - e);
      for (let j = 0; j < 3; j++) fro += ((hp[j]! - hm[j]!) / denom) ** 2;
      void h0;
    }
    assert.ok(Math.abs(Math.sqrt(fro) - norm) < 2e-3 * Math.max(1, norm), `${act}: closed form ${norm}, numeric ${Math.sqrt(fro)}`);
  }
});

test('a deep encoder with the contractive penalty is refused, never computed wrongly', () => {
  const model = new Autoencoder(arch('tanh', 'tanh', false, [6, 4, 3]), backend, new Rng(1));
  const x = batch(new Rng(2), 2, 6);
  assert.throws(() => model.forwardBackward(x, x, 'mse', { contractive: 0.1, sparse: 0 }), /contractive penalty: expected a one-layer encoder/);
  assert.throws(() => model.jacobianNorms(x), ValidationError);
});

test('decoderBackward gives ∂E/∂z: finite differences through the decoder', () => {
  for (const tied of [false, true]) {
    const rng = new Rng(41);
    const model = new Autoencoder(arch('tanh', 'sigmoid', tied, [6, 4, 3]), backend, rng);
    const z = matrix(2, 3);
    rng.fillUniform(z.data, -1, 1);
    const target = batch(rng, 2, 6);
    // E = Σ w_i (x̂_i − t_i)² with uneven weights, as a masked energy has.
    const w = Float32Array.from({ length: 12 }, (_, i) => (i % 3) / 2);
    const energyOf = (xhat: { data: Float32Array }, grad?: { data: Float32Array }) => {
      let e = 0;
      for (let i = 0; i < 12; i++) {
        const d = xhat.data[i]! - target.data[i]!;
        e += w[i]! * d * d;
        if (grad) grad.data[i] = 2 * w[i]! * d;
      }
      return e;
    };
    const gz = matrix(2, 3);
    const e0 = model.decoderBackward(z, (xhat, grad) => energyOf(xhat, grad), gz);
    assert.ok(Math.abs(e0 - energyOf(model.decode(z))) < 1e-9);
    for (let k = 0; k < 6; k++) {
      const orig = z.data[k]!;
      z.data[k] = orig + 1e-2;
      const up = energyOf(model.decode(z));
      z.data[k] = orig - 1e-2;
      const down = energyOf(model.decode(z));
      z.data[k] = orig;
      const numeric = (up - down) / (Math.fround(orig + 1e-2) - Math.fround(orig - 1e-2));
      assert.ok(Math.abs(numeric - gz.data[k]!) < 2e-2 * Math.max(1e-3, Math.abs(numeric)), `tied ${tied}, z[${k}]: ${gz.data[k]} vs ${numeric}`);
    }
  }
});
