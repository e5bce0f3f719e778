/**
 * TensorFlow.js peer for the training benchmark: trains the notebook's autoencoder
 * (Dense 784->hidden tanh, Dense hidden->784 tanh, MSE, Adam lr 1e-3, batch 256) on real
 * MNIST scaled to [-1, 1] with TF.js, and prints one JSON line with the time per batch.
 *
 *   node dist/bench/tfjs-peer.js --hidden 30 --noise none --batches 40
 *   node dist/bench/tfjs-peer.js --hidden 500 --noise dropout:0.5 --batches 10
 *   node dist/bench/tfjs-peer.js --hidden 30 --tf-backend cpu --batches 20
 *
 * Options: --hidden N (30), --noise none|dropout:P (none), --batches N (40), --warmup N (2),
 * --tf-backend wasm|cpu (wasm), --api minimize|trainOnBatch|custom-grad (minimize), --threads N (2),
 * --batch-size N (256), --seed N (0), --verbose (per-batch loss and time on stderr).
 *
 * stdout carries only the result line; everything TF.js or this script says goes to stderr.
 * The TF.js packages are devDependencies: this is a benchmark tool, not part of the library.
 *
 * Notes on fairness:
 * - WASM and CPU kernels in TF.js run synchronously when an op is called, so the clock covers
 *   real work; the loss of the last step is read back (dataSync) before the clock stops anyway.
 * - The timed step includes everything a training step needs: gathering the shuffled batch
 *   in JS, uploading it, the dropout mask (tf.dropout: zero with probability p, scale kept
 *   by 1/(1-p), like nn.Dropout in training mode), forward, backward and the Adam update.
 * - TF.js's wasm backend cannot use threads in Node (WASM_HAS_MULTITHREAD_SUPPORT is hard-wired
 *   to false under Node, tensorflow/tfjs#3830; forcing it fails to start the blob: worker), so
 *   --threads is requested but the backend reports 1.
 * - --api: `minimize` (default) is optimizer.minimize over model.apply in one tf.tidy, the
 *   leanest stock path and faster than `trainOnBatch` (model.compile + trainOnBatch, which
 *   also syncs the loss every step). `custom-grad` is NOT stock TF.js usage: the same layers'
 *   variables, but each Dense+tanh is a tf.customGrad whose backward pass transposes
 *   explicitly (tf.transpose then a plain matMul). The wasm backend only sends matMul to
 *   XNNPACK when neither operand is transposed (tensorflow/tfjs#2532) and autodiff's Dense
 *   gradients use transposed matMuls, which take a ~10x slower fallback; this variant shows
 *   what TF.js-on-WASM can do once that gap is worked around. Its losses match `minimize`.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadMnist } from '../data/mnist.js';
import { Rng } from '../core/rng.js';

const INPUT = 784;
const EPOCH_SAMPLES = 60000;

type TfBackend = 'wasm' | 'cpu';
type Api = 'minimize' | 'trainOnBatch' | 'custom-grad';

interface Options {
  hidden: number;
  noise: string;
  dropout: number;
  batches: number;
  warmup: number;
  backend: TfBackend;
  api: Api;
  threads: number;
  batchSize: number;
  seed: number;
  verbose: boolean;
}

/** A failure with a one-line message and an exit code. */
class PeerError extends Error {
  constructor(message: string, readonly code: number) {
    super(message);
  }
}

function oneLine(e: unknown): string {
  const text = e instanceof Error ? e.message : typeof e === 'object' && e !== null && 'message' in e ? String((e as { message: unknown }).message) : String(e);
  return text.split('\n').map((s) => s.trim()).filter((s) => s !== '').join(' ') || 'unknown error';
}

function intOption(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new PeerError(`--${name}: expected an integer >= ${min}, received ${JSON.stringify(raw)}`, 2);
  }
  return n;
}

function parseOptions(argv: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        hidden: { type: 'string' },
        noise: { type: 'string' },
        batches: { type: 'string' },
        warmup: { type: 'string' },
        'tf-backend': { type: 'string' },
        api: { type: 'string' },
        threads: { type: 'string' },
        'batch-size': { type: 'string' },
        seed: { type: 'string' },
        verbose: { type: 'boolean' },
      },
    });
  } catch (e) {
    throw new PeerError(`tfjs-peer: ${oneLine(e)}`, 2);
  }
  const v = parsed.values;
  const noise = v.noise ?? 'none';
  let dropout = 0;
  if (noise !== 'none') {
    const m = /^dropout:(.+)$/.exec(noise);
    const p = m ? Number(m[1]) : NaN;
    if (!m || !Number.isFinite(p) || p < 0 || p >= 1) {
      throw new PeerError(`--noise: expected none or dropout:P with 0 <= P < 1, received ${JSON.stringify(noise)}`, 2);
    }
    dropout = p;
  }
  const backend = v['tf-backend'] ?? 'wasm';
  if (backend !== 'wasm' && backend !== 'cpu') throw new PeerError(`--tf-backend: expected wasm or cpu, received ${JSON.stringify(backend)}`, 2);
  const api = v.api ?? 'minimize';
  if (api !== 'minimize' && api !== 'trainOnBatch' && api !== 'custom-grad') {
    throw new PeerError(`--api: expected minimize, trainOnBatch or custom-grad, received ${JSON.stringify(api)}`, 2);
  }
  const batchSize = intOption('batch-size', v['batch-size'], 256, 1);
  if (batchSize > EPOCH_SAMPLES) throw new PeerError(`--batch-size: expected an integer <= ${EPOCH_SAMPLES}, received ${batchSize}`, 2);
  return {
    hidden: intOption('hidden', v.hidden, 30, 1),
    noise,
    dropout,
    batches: intOption('batches', v.batches, 40, 1),
    warmup: intOption('warmup', v.warmup, 2, 0),
    backend,
    api,
    threads: intOption('threads', v.threads, 2, 1),
    batchSize,
    seed: intOption('seed', v.seed, 0, 0),
    verbose: v.verbose ?? false,
  };
}

/** Keeps stdout for the result line: TF.js and its dependencies log through console. */
function routeConsoleToStderr(): void {
  const toErr = (...args: unknown[]): void => console.error(...args);
  console.log = toErr;
  console.info = toErr;
  console.debug = toErr;
}

/** Runs `f` with console.warn/error captured, so a failed backend start does not spray stack traces. */
async function quietly<T>(f: () => Promise<T>): Promise<{ value: T; said: string[] }> {
  const said: string[] = [];
  const { warn, error } = console;
  console.warn = (...a: unknown[]) => void said.push(a.map((x) => oneLine(x)).join(' '));
  console.error = console.warn;
  try {
    return { value: await f(), said };
  } finally {
    console.warn = warn;
    console.error = error;
  }
}

interface BackendInfo {
  threads: number;
  simd: boolean;
}

async function startBackend(opts: Options): Promise<BackendInfo> {
  if (opts.backend === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
    const ok = await tf.setBackend('cpu');
    await tf.ready();
    if (!ok || tf.getBackend() !== 'cpu') throw new PeerError('tfjs-peer: the TF.js cpu backend could not be initialised', 1);
    return { threads: 1, simd: false };
  }
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    throw new PeerError(`tfjs-peer: cannot load @tensorflow/tfjs-backend-wasm (run npm install): ${oneLine(e)}`, 1);
  }
  // The .wasm binaries ship in the package's dist folder, next to its Node entry point; say so
  // explicitly so nothing is ever fetched.
  const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(`${dirname(entry)}/`);
  wasm.setThreadsCount(opts.threads);
  const { value: ok, said } = await quietly(async () => {
    const set = await tf.setBackend('wasm');
    if (set) await tf.ready();
    return set && tf.getBackend() === 'wasm';
  });
  if (!ok) {
    const why = said.find((s) => s !== '' && !/^Initialization of backend wasm failed$/.test(s)) ?? said[0] ?? 'setBackend returned false';
    throw new PeerError(`tfjs-peer: the TF.js wasm backend could not be initialised: ${why}`, 1);
  }
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  const multithread = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
  const threads = wasm.getThreadsCount();
  if (!multithread && opts.threads > 1) {
    console.error(`tfjs-peer: wasm multithreading is unavailable in Node (WASM_HAS_MULTITHREAD_SUPPORT=false); running on ${threads} thread`);
  }
  return { threads, simd };
}

/** MNIST training images scaled in place to [-1, 1] as 2x/255 - 1. */
function loadImages(): Float32Array {
  let data: Float32Array;
  try {
    const { train } = loadMnist();
    if (train.images.cols !== INPUT) throw new Error(`expected ${INPUT} columns, received ${train.images.cols}`);
    data = train.images.data;
  } catch (e) {
    throw new PeerError(`tfjs-peer: cannot load MNIST: ${oneLine(e)}`, 1);
  }
  for (let i = 0; i < data.length; i++) data[i] = (2 * data[i]!) / 255 - 1;
  return data;
}

/** Full shuffled batches, epoch after epoch: the trailing partial batch of each epoch is skipped. */
class Batches {
  private perm: Uint32Array;
  private next = 0;
  private readonly rng: Rng;
  constructor(private readonly images: Float32Array, private readonly rows: number, private readonly size: number, seed: number) {
    this.rng = new Rng(seed);
    this.perm = this.rng.permutation(rows);
  }
  take(): Float32Array {
    if (this.next + this.size > this.rows) {
      this.rng.permutation(this.rows, this.perm);
      this.next = 0;
    }
    const out = new Float32Array(this.size * INPUT);
    for (let r = 0; r < this.size; r++) {
      const i = this.perm[this.next + r]!;
      out.set(this.images.subarray(i * INPUT, (i + 1) * INPUT), r * INPUT);
    }
    this.next += this.size;
    return out;
  }
}

/** Keras defaults (Glorot-uniform kernels, zero biases), seeded so runs repeat. */
function buildModel(hidden: number, seed: number): tfl.Sequential {
  const kernel = (k: number) => tfl.initializers.glorotUniform({ seed: seed * 2 + k });
  const model = tfl.sequential();
  model.add(tfl.layers.dense({ inputShape: [INPUT], units: hidden, activation: 'tanh', kernelInitializer: kernel(0) }));
  model.add(tfl.layers.dense({ units: INPUT, activation: 'tanh', kernelInitializer: kernel(1) }));
  return model;
}

/**
 * tanh(x W + b) with a hand-written gradient that transposes explicitly, so every matMul of
 * the backward pass is a plain (untransposed) one that the wasm backend runs through XNNPACK.
 */
const denseTanh = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  const y = tf.tanh(tf.add(tf.matMul(x, w), b));
  save([x, w, y]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sw, sy] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      const dz = tf.mul(dy, tf.sub(1, tf.square(sy))) as tf.Tensor2D;
      return [tf.matMul(dz, tf.transpose(sw)), tf.matMul(tf.transpose(sx), dz), tf.sum(dz, 0)];
    },
  };
}) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor) => tf.Tensor2D;

/** One training step; returns the loss as a scalar tensor (minimize) or a number (trainOnBatch). */
type Step = (batch: Float32Array, step: number) => Promise<tf.Scalar | number>;

function makeStep(opts: Options, model: tfl.Sequential): Step {
  const optimizer = tf.train.adam(1e-3);
  const noisy = (clean: tf.Tensor2D, step: number): tf.Tensor2D =>
    // A fresh mask per step, reproducible: tf.dropout seeds its uniform draw with the number given.
    opts.dropout > 0 ? (tf.dropout(clean, opts.dropout, undefined, opts.seed * 1_000_003 + step) as tf.Tensor2D) : clean;
  if (opts.api === 'trainOnBatch') {
    model.compile({ optimizer, loss: 'meanSquaredError' });
    return async (batch, step) => {
      const clean = tf.tensor2d(batch, [opts.batchSize, INPUT]);
      const input = tf.tidy(() => noisy(clean, step));
      try {
        const loss = await model.trainOnBatch(input, clean);
        return Array.isArray(loss) ? loss[0]! : loss;
      } finally {
        if (input !== clean) input.dispose();
        clean.dispose();
      }
    };
  }
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  if (opts.api === 'custom-grad') {
    const [w1, b1, w2, b2] = vars as [tf.Variable, tf.Variable, tf.Variable, tf.Variable];
    return async (batch, step) =>
      tf.tidy(() => {
        const clean = tf.tensor2d(batch, [opts.batchSize, INPUT]);
        const input = noisy(clean, step);
        const cost = optimizer.minimize(() => {
          const out = denseTanh(denseTanh(input, w1, b1), w2, b2);
          return tf.mean(tf.squaredDifference(out, clean)) as tf.Scalar;
        }, true, vars);
        return cost!;
      });
  }
  return async (batch, step) =>
    tf.tidy(() => {
      const clean = tf.tensor2d(batch, [opts.batchSize, INPUT]);
      const input = noisy(clean, step);
      const cost = optimizer.minimize(() => {
        const out = model.apply(input, { training: true }) as tf.Tensor2D;
        return tf.mean(tf.squaredDifference(out, clean)) as tf.Scalar;
      }, true, vars);
      return cost!;
    });
}

function lossValue(loss: tf.Scalar | number): number {
  if (typeof loss === 'number') return loss;
  const v = loss.dataSync()[0]!;
  loss.dispose();
  return v;
}

async function main(): Promise<void> {
  routeConsoleToStderr();
  const opts = parseOptions(process.argv.slice(2));
  const images = loadImages();
  const backend = await startBackend(opts);
  const model = buildModel(opts.hidden, opts.seed);
  const step = makeStep(opts, model);
  const batches = new Batches(images, EPOCH_SAMPLES, opts.batchSize, opts.seed);

  let s = 0;
  for (let i = 0; i < opts.warmup; i++, s++) lossValue(await step(batches.take(), s));

  const losses: (tf.Scalar | number)[] = [];
  const times: number[] = [];
  const t0 = performance.now();
  let prev = t0;
  for (let i = 0; i < opts.batches; i++, s++) {
    losses.push(await step(batches.take(), s));
    const now = performance.now();
    times.push((now - prev) / 1000);
    prev = now;
  }
  // Make sure the last step has really finished (a no-op wait for the synchronous backends).
  const lastLoss = lossValue(losses[losses.length - 1]!);
  const seconds = (performance.now() - t0) / 1000;
  const values = losses.map((l, i) => (i === losses.length - 1 ? lastLoss : lossValue(l)));
  const leaked = tf.memory().numTensors;
  if (opts.verbose) {
    values.forEach((v, i) => console.error(`batch ${i + 1}: loss ${v.toFixed(6)} time ${times[i]!.toFixed(4)} s`));
    console.error(`tensors alive: ${leaked}`);
  }
  if (!values.every(Number.isFinite)) throw new PeerError('tfjs-peer: the loss became NaN or Inf', 1);

  const secondsPerBatch = seconds / opts.batches;
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]! / 2 + sorted[Math.ceil((sorted.length - 1) / 2)]! / 2;
  const batchesPerEpoch = Math.ceil(EPOCH_SAMPLES / opts.batchSize);
  const result = {
    peer: `tfjs-${opts.backend}`,
    hidden: opts.hidden,
    noise: opts.noise,
    batchesTimed: opts.batches,
    secondsPerBatch,
    secondsPerEpoch: secondsPerBatch * batchesPerEpoch,
    samplesPerSecond: opts.batchSize / secondsPerBatch,
    threads: backend.threads,
    simd: backend.simd,
    lastLoss,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    // Extras, after the agreed fields.
    firstLoss: values[0]!,
    medianSecondsPerBatch: median,
    api: opts.api,
    batchSize: opts.batchSize,
    warmupBatches: opts.warmup,
    tfjsVersion: tf.version_core,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((e: unknown) => {
  const code = e instanceof PeerError ? e.code : 1;
  const msg = e instanceof PeerError ? e.message : `tfjs-peer: ${oneLine(e)}`;
  process.stderr.write(`${msg}\n`);
  process.exitCode = code;
});
