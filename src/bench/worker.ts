/**
 * One benchmark measurement in a process of its own, so its peak resident memory is its
 * own. Prints one JSON line.
 *
 *   node dist/bench/worker.js train --backend native --hidden 500 --noise dropout:0.5 --epochs 2
 *   node dist/bench/worker.js train --backend js --hidden 500 --batches 20   (times 20 batches, extrapolates)
 *   node dist/bench/worker.js gemm --hidden 500                                (the BLAS's sgemm rate)
 */
import { parseArgs } from 'node:util';
import { resolveBackend, NativeBackend } from '../backends/index.js';
import { matrix } from '../core/matrix.js';
import { Rng } from '../core/rng.js';
import { loadMnistDataset } from '../data/dataset.js';
import { evaluate } from '../train/evaluate.js';
import { prepareTraining } from '../train/recipe.js';

const MNIST_TRAIN = 60000;
const BATCH = 256;

function peakRssMB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

function train(args: Record<string, string | undefined>): object {
  const hidden = Number(args.hidden ?? 30);
  const noise = args.noise && args.noise !== 'none' ? args.noise : undefined;
  const batches = args.batches ? Number(args.batches) : undefined;
  const epochs = Number(args.epochs ?? 2);
  const { backend } = resolveBackend(args.backend ?? 'auto');
  // A slow backend times a prefix of the epoch's batches, and the per-sample rate is extrapolated.
  const limit = batches === undefined ? undefined : batches * BATCH;
  const data = loadMnistDataset(limit === undefined ? {} : { limit });
  const run = prepareTraining({ hidden, epochs, seed: 0, ...(noise ? { noise } : {}) }, data, backend, { inPlace: true });
  const history = run.fit();
  const best = Math.min(...history.map((m) => m.seconds));
  const rows = run.train.rows;
  const secondsPerEpoch = (best * MNIST_TRAIN) / rows;
  return {
    peer: 'aekit',
    backend: backend.name,
    hidden,
    noise: noise ?? 'none',
    epochSeconds: history.map((m) => m.seconds),
    secondsPerEpoch,
    samplesPerSecond: MNIST_TRAIN / secondsPerEpoch,
    extrapolatedFromBatches: batches ?? null,
    testMse: run.test ? evaluate(run.model, run.test).loss : null,
    peakRssMB: peakRssMB(),
    ...(backend instanceof NativeBackend ? { blas: backend.info() } : {}),
  };
}

/**
 * The sgemm rate of the native backend's BLAS on the very products one training batch of this
 * model runs (forward x·W1ᵀ, h·W2ᵀ; backward gᵀh, g·W2, gᵀx), and on a large square for reference.
 */
function gemm(args: Record<string, string | undefined>): object {
  const hidden = Number(args.hidden ?? 30);
  const backend = new NativeBackend();
  const rng = new Rng(1);
  const fill = (r: number, c: number) => {
    const m = matrix(r, c);
    rng.fillUniform(m.data, -1, 1);
    return m;
  };
  const n = 784;
  const x = fill(BATCH, n);
  const w1 = fill(hidden, n);
  const w2 = fill(n, hidden);
  const h = fill(BATCH, hidden);
  const g = fill(BATCH, n);
  const g1 = fill(BATCH, hidden);
  const outs = { h: matrix(BATCH, hidden), y: matrix(BATCH, n), dw2: matrix(n, hidden), dh: matrix(BATCH, hidden), dw1: matrix(hidden, n) };
  const step = () => {
    backend.matmul(x, false, w1, true, outs.h, 0);
    backend.matmul(h, false, w2, true, outs.y, 0);
    backend.matmul(g, true, h, false, outs.dw2, 0);
    backend.matmul(g, false, w2, false, outs.dh, 0);
    backend.matmul(g1, true, x, false, outs.dw1, 0);
  };
  const flopsPerBatch = 5 * 2 * BATCH * n * hidden;
  const rate = (f: () => void, flops: number, seconds: number) => {
    for (let i = 0; i < 5; i++) f();
    let best = Infinity;
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      const t = performance.now();
      for (let i = 0; i < 10; i++) f();
      best = Math.min(best, (performance.now() - t) / 10 / 1000);
    }
    return flops / best / 1e9;
  };
  // Best over a few seconds: a shared machine's steal time otherwise halves the rate in some runs.
  const trainingShapes = rate(step, flopsPerBatch, 4);
  const big = 2048;
  const a = fill(big, big);
  const b = fill(big, big);
  const c = matrix(big, big);
  const square = rate(() => backend.matmul(a, false, b, false, c, 0), 2 * big ** 3, 3);
  const batches = Math.ceil(MNIST_TRAIN / BATCH);
  // The last batch is smaller; count the FLOPs sample by sample.
  const epochFlops = (flopsPerBatch / BATCH) * MNIST_TRAIN;
  return {
    hidden,
    blas: backend.info(),
    gflopsTrainingShapes: trainingShapes,
    gflopsSquare2048: square,
    epochGflop: epochFlops / 1e9,
    batchesPerEpoch: batches,
    arithmeticSeconds: epochFlops / 1e9 / trainingShapes,
    arithmeticSecondsAtSquareRate: epochFlops / 1e9 / square,
  };
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    backend: { type: 'string' },
    hidden: { type: 'string' },
    noise: { type: 'string' },
    epochs: { type: 'string' },
    batches: { type: 'string' },
  },
});
const mode = positionals[0];
const out = mode === 'gemm' ? gemm(values) : mode === 'train' ? train(values) : null;
if (out === null) {
  process.stderr.write(`bench worker: expected mode train or gemm, received ${String(mode)}\n`);
  process.exitCode = 2;
} else {
  process.stdout.write(JSON.stringify(out) + '\n');
}
