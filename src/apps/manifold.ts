/**
 * What an autoencoder does to points near the data manifold (the lecture's Figs. 15–19).
 * A small over-complete autoencoder is trained on a synthetic curve data set; then every point
 * of a regular grid over the input box is sent through it, and the distance each travels,
 * ‖x̂ − x‖, is compared with its distance to the noiseless manifold. A denoising (or
 * contractive) model leaves points on the manifold almost where they are and sends far points
 * most of the way to it: they travel about their distance to the manifold.
 */
import { ACTIVATIONS, type ActivationName, type Backend } from '../core/backend.js';
import { ValidationError, expected } from '../core/errors.js';
import { matrix, type Matrix } from '../core/matrix.js';
import { Rng } from '../core/rng.js';
import { check } from '../core/validate.js';
import {
  distancesToManifold,
  gridPoints,
  manifoldDataset,
  MANIFOLD_DATASETS,
  sampleManifold,
  type Manifold,
  type ManifoldName,
  type ManifoldSample,
} from '../data/manifolds.js';
import type { Autoencoder } from '../nn/autoencoder.js';
import { prepareTraining, VARIANTS, type TrainSettings, type Variant } from '../train/recipe.js';
import { fit, type EpochMetrics } from '../train/trainer.js';
import { Adam } from '../optim/adam.js';
import { raster, type Raster } from '../viz/image.js';
import { colormap, PlotCanvas, project3d, quiverPlot, scatterPlot, type Arrow, type Color, type ColorbarOptions, type PlotOptions } from '../viz/plot.js';
import { paste, withTitle } from '../viz/text.js';

export interface ManifoldStudyOptions {
  dataset: ManifoldName;
  variant: Variant;
  backend: Backend;
  /** Default: DEFAULT_EPOCHS[dataset]. */
  epochs?: number;
  seed?: number;
  /** Denoising corruption; default DEFAULT_NOISE[dataset]. */
  noise?: string;
  /** The contractive variant's λ; default DEFAULT_CONTRACTIVE[dataset]. */
  contractive?: number;
  /** Encoder sizes from the input to the code; default defaultLayers(dataset, variant). */
  layers?: number[];
  /** Hidden activation. Default tanh. */
  activation?: ActivationName;
  /** Tied weights (the decoder uses the encoder's transposes). Default: true for the contractive variant, else false. */
  tied?: boolean;
  /** Training points. Default 2000. */
  count?: number;
  /** Noise of the training points around the curves. Default 0.01. */
  dataNoise?: number;
  /** Grid points per axis. Default 61 in 2-D, 41 in 3-D. */
  grid?: number;
  /** Grid points within this distance of the manifold are "on" it. Default 0.02. */
  epsilon?: number;
  /** Grid points farther than this from the manifold are "far". Default 0.2. */
  delta?: number;
  lr?: number;
  batchSize?: number;
  /** Called once everything is checked, just before training starts. */
  onStart?: () => void;
  onEpochEnd?: (m: EpochMetrics) => void;
}

/**
 * Defaults, chosen on this machine so that the pictures show the lecture's observation. For
 * two-branch the corruption's σ = 0.15 is a quarter of the vertical gap between the branches
 * (0.6): large enough that training sees points well off the manifold, small enough that a
 * corrupted point is still nearer the branch it came from (at σ = 0.2 the branches' pulls mix
 * and points on the manifold move more). The helix's turns are 1.07 apart; σ = 0.1 keeps a corrupted
 * point nearest its own turn. Whether the 1-unit code unrolls the curve (is monotone in its
 * parameter) depends on the seed and the kernels' rounding: it often folds.
 */
export const DEFAULT_EPOCHS: Record<ManifoldName, number> = { 'two-branch': 1000, curve3d: 1000 };
export const DEFAULT_NOISE: Record<ManifoldName, string> = { 'two-branch': 'gaussian:0.15', curve3d: 'gaussian:0.1' };
/** Adam's learning rate; the helix's 1-unit code unrolled the curve more often at the larger one. */
export const DEFAULT_LR: Record<ManifoldName, number> = { 'two-branch': 3e-3, curve3d: 1e-2 };
export const DEFAULT_CONTRACTIVE: Record<ManifoldName, number> = { 'two-branch': 0.01, curve3d: 0.01 };

/**
 * Over-complete models: 2→64→64 (decoder 64→64→2) for two-branch. For curve3d a 1-D code,
 * 3→64→64→1, so the learned code can be read against the curve's parameter. The contractive
 * penalty is written out for a one-layer encoder only, so that variant is dim→128.
 */
export function defaultLayers(dataset: ManifoldName, variant: Variant): number[] {
  const dim = dataset === 'two-branch' ? 2 : 3;
  if (variant === 'contractive') return [dim, 128];
  return dataset === 'two-branch' ? [dim, 64, 64] : [dim, 64, 64, 1];
}

export interface GroupStats {
  /** Grid points in the group. */
  count: number;
  /** Mean of ‖x̂ − x‖. */
  meanTravel: number;
  /** Mean distance of the points to the manifold. */
  meanDistance: number;
  /** Mean distance of their reconstructions x̂ to the manifold: how close to it they land. */
  meanLandingDistance: number;
}

export interface FarStats extends GroupStats {
  /** Mean over the group of travel / distance (1: they travel exactly their distance to the manifold). */
  meanTravelOverDistance: number;
  /** Median of travel / distance. */
  medianTravelOverDistance: number;
  /** Pearson correlation of travel with distance over the group. */
  correlation: number;
  /**
   * Mean over the group of (d − landing) / d, the share of its distance to the manifold a point
   * closes: 1 when it lands on the manifold, 0 when it stays as far (or travels along it).
   */
  meanGapClosed: number;
}

export interface ManifoldSummary {
  dataset: ManifoldName;
  variant: Variant;
  layers: number[];
  tied: boolean;
  activation: ActivationName;
  lr: number;
  batchSize: number;
  noise: string | null;
  contractive: number | null;
  epochs: number;
  seed: number;
  trainCount: number;
  dataNoise: number;
  /** Final training objective and the test reconstruction MSE (a fresh sample of the data set). */
  trainLoss: number;
  testMse: number;
  grid: { side: number; points: number; range: [number, number] };
  epsilon: number;
  delta: number;
  onManifold: GroupStats;
  far: FarStats;
  /** onManifold.meanTravel / far.meanTravel: the lecture's observation holds when this is small. */
  travelRatio: number;
  /** Mean travel over the whole grid. */
  meanTravel: number;
  /**
   * The reconstruction's local gain at points of the noiseless manifold (away from the curves'
   * ends): ‖r(x + hv) − r(x − hv)‖ / 2h for v along the curve (tangent) and across it (normal,
   * averaged over the normal directions). A model that projects onto the manifold has a tangent
   * gain near 1 and a normal gain near 0; the identity has 1 and 1.
   */
  gains: { tangent: number; normal: number; step: number; points: number };
  /** Contractive (one-layer encoder): mean ‖∂h/∂x‖_F over on-manifold and far grid points. */
  jacobian?: { onManifold: number; far: number };
  /** How the code was read (curve3d): the code unit itself, or the first principal direction of wider codes. */
  code?: { kind: 'bottleneck' | 'first principal direction'; spearmanWithT: number; explainedVariance: number | null };
  seconds: number;
}

export interface ManifoldStudy {
  summary: ManifoldSummary;
  data: ManifoldSample;
  model: Autoencoder;
  history: EpochMetrics[];
  /** Grid points, their reconstructions, travel ‖x̂ − x‖ and distance to the manifold. */
  grid: Matrix;
  recon: Matrix;
  travel: Float64Array;
  distance: Float64Array;
  /** The 1-D code of each training point (curve3d), as described by summary.code. */
  code: Float64Array | null;
}

/** Checks the options, fills defaults; throws ValidationError with the usual one-line message. */
export function resolveManifoldOptions(o: ManifoldStudyOptions): Required<Omit<ManifoldStudyOptions, 'onStart' | 'onEpochEnd' | 'noise' | 'contractive'>> & {
  noise: string | undefined;
  contractive: number | undefined;
} {
  check('dataset', o.dataset, { kind: 'oneOf', choices: MANIFOLD_DATASETS });
  check('variant', o.variant, { kind: 'oneOf', choices: VARIANTS });
  const dim = o.dataset === 'two-branch' ? 2 : 3;
  const r = {
    dataset: o.dataset,
    variant: o.variant,
    backend: o.backend,
    epochs: o.epochs ?? DEFAULT_EPOCHS[o.dataset],
    seed: o.seed ?? 0,
    noise: o.variant === 'denoising' ? (o.noise ?? DEFAULT_NOISE[o.dataset]) : o.noise,
    contractive: o.variant === 'contractive' ? (o.contractive ?? DEFAULT_CONTRACTIVE[o.dataset]) : o.contractive,
    layers: o.layers ?? defaultLayers(o.dataset, o.variant),
    tied: o.tied ?? o.variant === 'contractive',
    activation: o.activation ?? 'tanh',
    count: o.count ?? 2000,
    dataNoise: o.dataNoise ?? 0.01,
    grid: o.grid ?? (dim === 2 ? 61 : 41),
    epsilon: o.epsilon ?? 0.02,
    delta: o.delta ?? 0.2,
    lr: o.lr ?? DEFAULT_LR[o.dataset],
    batchSize: o.batchSize ?? 128,
  };
  check('epochs', r.epochs, { kind: 'int', min: 1 });
  check('tied', r.tied, { kind: 'boolean' });
  check('activation', r.activation, { kind: 'oneOf', choices: ACTIVATIONS });
  check('seed', r.seed, { kind: 'int', min: 0 });
  check('count', r.count, { kind: 'int', min: 2 });
  check('data noise', r.dataNoise, { kind: 'number', min: 0 });
  check('grid', r.grid, { kind: 'int', min: 2, max: dim === 2 ? 400 : 60 });
  check('epsilon', r.epsilon, { kind: 'number', min: 0, minExclusive: true });
  check('delta', r.delta, { kind: 'number', min: r.epsilon, minExclusive: true });
  if (r.layers[0] !== dim) throw new ValidationError(expected('layers[0]', `${dim} to match the ${o.dataset} data`, r.layers[0]));
  return r;
}

/** The training settings a study uses: tanh hidden layers, a linear output, the coordinates as they are. */
export function studySettings(r: ReturnType<typeof resolveManifoldOptions>): Partial<TrainSettings> {
  return {
    layers: r.layers,
    tied: r.tied,
    activation: r.activation,
    outputActivation: 'linear',
    scale: 'symmetric',
    epochs: r.epochs,
    batchSize: r.batchSize,
    lr: r.lr,
    seed: r.seed,
    variant: r.variant,
    ...(r.noise !== undefined ? { noise: r.noise } : {}),
    ...(r.contractive !== undefined ? { contractive: r.contractive } : {}),
  };
}

/** Trains the model and measures how far each grid point travels. */
export function manifoldStudy(opts: ManifoldStudyOptions): ManifoldStudy {
  const r = resolveManifoldOptions(opts);
  const t0 = performance.now();
  // The data has its own generators, apart from training's, so every variant sees the same points.
  const data = sampleManifold(r.dataset, new Rng(r.seed + 1000), { count: r.count, noise: r.dataNoise });
  const test = sampleManifold(r.dataset, new Rng(r.seed + 2000), { count: Math.min(r.count, 1000), noise: r.dataNoise });
  const m = data.manifold;
  // The grid and its distances come first: a grid too coarse for epsilon is refused before training.
  const grid = gridPoints(m.dim, r.grid, m.range);
  const distance = distancesToManifold(m, grid);
  const on: number[] = [];
  const far: number[] = [];
  for (let i = 0; i < grid.rows; i++) {
    if (distance[i]! < r.epsilon) on.push(i);
    else if (distance[i]! > r.delta) far.push(i);
  }
  if (on.length === 0) throw new ValidationError(expected('epsilon', `a distance that some of the ${grid.rows} grid points lie within (refine the grid)`, r.epsilon));
  if (far.length === 0) throw new ValidationError(expected('delta', 'a distance that some grid points lie beyond', r.delta));
  // The last fifth of the epochs runs at a tenth of the learning rate: Adam's step noise at the
  // full rate jitters the reconstruction of points on the manifold by about as much as they travel.
  const slow = r.epochs >= 5 ? Math.max(1, Math.round(r.epochs / 5)) : 0;
  const run = prepareTraining({ ...studySettings(r), epochs: r.epochs - slow }, manifoldDataset(data, test), r.backend);
  opts.onStart?.();
  const history = run.fit(opts.onEpochEnd ? { onEpochEnd: opts.onEpochEnd } : undefined);
  if (slow > 0) {
    const offset = history.length;
    const tail = fit(run.model, run.train, {
      epochs: slow,
      batchSize: r.batchSize,
      loss: 'mse',
      optimizer: new Adam(run.model.params, { lr: r.lr / 10 }),
      rng: run.rng,
      test: run.test!,
      regularization: run.regularization,
      ...(run.corruption ? { corruption: run.corruption } : {}),
      callbacks: { onEpochEnd: (m) => opts.onEpochEnd?.({ ...m, epoch: m.epoch + offset }) },
    });
    history.push(...tail.map((m) => ({ ...m, epoch: m.epoch + offset })));
  }
  const model = run.model;
  const recon = model.reconstruct(grid);
  const travel = rowDistances(grid, recon);
  const landing = distancesToManifold(m, recon);
  const group = (idx: number[]): GroupStats => ({
    count: idx.length,
    meanTravel: meanOf(idx, travel),
    meanDistance: meanOf(idx, distance),
    meanLandingDistance: meanOf(idx, landing),
  });
  const ratios = far.map((i) => travel[i]! / distance[i]!);
  const farStats: FarStats = {
    ...group(far),
    meanTravelOverDistance: ratios.reduce((a, b) => a + b, 0) / ratios.length,
    medianTravelOverDistance: median(ratios),
    correlation: pearson(
      far.map((i) => travel[i]!),
      far.map((i) => distance[i]!),
    ),
    meanGapClosed: far.reduce((a, i) => a + (distance[i]! - landing[i]!) / distance[i]!, 0) / far.length,
  };
  const onStats = group(on);
  const last = history[history.length - 1]!;
  const summary: ManifoldSummary = {
    dataset: r.dataset,
    variant: r.variant,
    layers: [...r.layers],
    tied: r.tied,
    activation: r.activation,
    lr: r.lr,
    batchSize: r.batchSize,
    noise: run.corruption?.spec ?? null,
    contractive: r.variant === 'contractive' ? r.contractive! : null,
    epochs: r.epochs,
    seed: r.seed,
    trainCount: r.count,
    dataNoise: r.dataNoise,
    trainLoss: last.trainLoss,
    testMse: last.testLoss!,
    grid: { side: r.grid, points: grid.rows, range: [...m.range] },
    epsilon: r.epsilon,
    delta: r.delta,
    onManifold: onStats,
    far: farStats,
    travelRatio: onStats.meanTravel / farStats.meanTravel,
    meanTravel: travel.reduce((a, b) => a + b, 0) / travel.length,
    gains: reconstructionGains(model, m, r.epsilon),
    seconds: 0,
  };
  if (model.encoder.length === 1) {
    const norms = model.jacobianNorms(grid);
    summary.jacobian = { onManifold: meanOf(on, norms), far: meanOf(far, norms) };
  }
  let code: Float64Array | null = null;
  if (m.polylines.length === 1) {
    const read = oneDimensionalCode(model.encode(data.x));
    code = read.values;
    summary.code = { kind: read.kind, spearmanWithT: spearman(code, data.t), explainedVariance: read.explainedVariance };
  }
  summary.seconds = (performance.now() - t0) / 1000;
  return { summary, data, model, history, grid, recon, travel, distance, code };
}

/** Orthonormal directions normal to a unit tangent u (one in 2-D, two in 3-D). */
function normalsOf(u: Float64Array): Float64Array[] {
  if (u.length === 2) return [Float64Array.of(-u[1]!, u[0]!)];
  // Gram-Schmidt on the coordinate axis least aligned with u, then the cross product.
  const k = [0, 1, 2].reduce((a, b) => (Math.abs(u[b]!) < Math.abs(u[a]!) ? b : a));
  const e = new Float64Array(3);
  e[k] = 1;
  const d = u[k]!;
  const n1 = e.map((v, i) => v - d * u[i]!);
  const l = Math.hypot(...n1);
  for (let i = 0; i < 3; i++) n1[i] = n1[i]! / l;
  const n2 = Float64Array.of(u[1]! * n1[2]! - u[2]! * n1[1]!, u[2]! * n1[0]! - u[0]! * n1[2]!, u[0]! * n1[1]! - u[1]! * n1[0]!);
  return [n1, n2];
}

/** See ManifoldSummary.gains: central differences of the reconstruction at 100 points per curve, t in [0.05, 0.95]. */
export function reconstructionGains(model: Autoencoder, m: Manifold, step: number): ManifoldSummary['gains'] {
  const dim = m.dim;
  const perCurve = 100;
  const base: Array<{ x: Float64Array; dirs: Float64Array[] }> = [];
  for (const p of m.polylines) {
    const vertices = p.length / dim;
    for (let i = 0; i < perCurve; i++) {
      const k = Math.round((0.05 + (0.9 * i) / (perCurve - 1)) * (vertices - 1));
      const x = p.slice(k * dim, (k + 1) * dim);
      const u = p.slice((k + 1) * dim, (k + 2) * dim).map((v, j) => v - p[(k - 1) * dim + j]!);
      const l = Math.hypot(...u);
      for (let j = 0; j < dim; j++) u[j] = u[j]! / l;
      base.push({ x, dirs: [u, ...normalsOf(u)] });
    }
  }
  const rows = base.length * dim * 2;
  const q = matrix(rows, dim);
  let r = 0;
  for (const { x, dirs } of base) {
    for (const v of dirs) {
      for (const sign of [1, -1]) {
        for (let j = 0; j < dim; j++) q.data[r * dim + j] = x[j]! + sign * step * v[j]!;
        r++;
      }
    }
  }
  const out = model.reconstruct(q);
  const gain = (row: number): number => {
    let s2 = 0;
    for (let j = 0; j < dim; j++) s2 += (out.data[row * dim + j]! - out.data[(row + 1) * dim + j]!) ** 2;
    return Math.sqrt(s2) / (2 * step);
  };
  let tangent = 0;
  let normal = 0;
  for (let b = 0; b < base.length; b++) {
    const first = b * dim * 2;
    tangent += gain(first);
    for (let v = 1; v < dim; v++) normal += gain(first + 2 * v) / (dim - 1);
  }
  return { tangent: tangent / base.length, normal: normal / base.length, step, points: base.length };
}

/**
 * A 1-D reading of the codes: the code itself when it has one unit, else the projection on
 * the first principal direction of the codes (power iteration on their covariance), with the
 * share of the variance that direction explains.
 */
export function oneDimensionalCode(h: Matrix): { values: Float64Array; kind: 'bottleneck' | 'first principal direction'; explainedVariance: number | null } {
  const n = h.rows;
  const d = h.cols;
  if (d === 1) return { values: Float64Array.from(h.data), kind: 'bottleneck', explainedVariance: null };
  const mean = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) mean[j] = mean[j]! + h.data[r * d + j]! / n;
  const cov = new Float64Array(d * d);
  for (let r = 0; r < n; r++) {
    for (let a = 0; a < d; a++) {
      const ca = h.data[r * d + a]! - mean[a]!;
      for (let b = 0; b < d; b++) cov[a * d + b] = cov[a * d + b]! + (ca * (h.data[r * d + b]! - mean[b]!)) / n;
    }
  }
  let v = new Float64Array(d).fill(1 / Math.sqrt(d));
  let lambda = 0;
  for (let it = 0; it < 500; it++) {
    const w = new Float64Array(d);
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) w[a] = w[a]! + cov[a * d + b]! * v[b]!;
    const norm = Math.hypot(...w);
    if (norm === 0) break;
    for (let a = 0; a < d; a++) w[a] = w[a]! / norm;
    const change = w.reduce((s, x, a) => s + Math.abs(x - v[a]!), 0);
    v = w;
    lambda = norm;
    if (change < 1e-12) break;
  }
  let trace = 0;
  for (let a = 0; a < d; a++) trace += cov[a * d + a]!;
  const values = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += (h.data[r * d + j]! - mean[j]!) * v[j]!;
    values[r] = s;
  }
  return { values, kind: 'first principal direction', explainedVariance: trace > 0 ? lambda / trace : null };
}

function rowDistances(a: Matrix, b: Matrix): Float64Array {
  const out = new Float64Array(a.rows);
  for (let r = 0; r < a.rows; r++) {
    let s = 0;
    for (let i = 0; i < a.cols; i++) s += (a.data[r * a.cols + i]! - b.data[r * a.cols + i]!) ** 2;
    out[r] = Math.sqrt(s);
  }
  return out;
}

function meanOf(idx: number[], v: ArrayLike<number>): number {
  let s = 0;
  for (const i of idx) s += v[i]!;
  return s / idx.length;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 ? s[k]! : (s[k - 1]! + s[k]!) / 2;
}

export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]! / n;
    mb += b[i]! / n;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

function ranks(v: ArrayLike<number>): Float64Array {
  const idx = Array.from({ length: v.length }, (_, i) => i).sort((a, b) => v[a]! - v[b]!);
  const out = new Float64Array(v.length);
  idx.forEach((i, k) => (out[i] = k));
  return out;
}

/** Spearman's rank correlation: ±1 when the code is a monotone function of t. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(ranks(a), ranks(b));
}

// ---------------------------------------------------------------------------------------------
// Figures

const DATA_COLOR: Color = [31, 119, 180];
const ARROW_COLOR: Color = [214, 39, 40];
const CURVE_COLOR: Color = [255, 255, 255];

/** Draws the noiseless 2-D manifold as dashed curves over a finished picture, with its legend entry. */
function finishWithManifold(canvas: PlotCanvas, polylines: ReadonlyArray<ArrayLike<number>>): Raster {
  for (const p of polylines) {
    const k = p.length / 2;
    canvas.polyline(
      Float64Array.from({ length: k }, (_, i) => p[2 * i]!),
      Float64Array.from({ length: k }, (_, i) => p[2 * i + 1]!),
      CURVE_COLOR,
      { width: 1, dashed: true },
    );
  }
  canvas.addLegend({ label: 'noiseless manifold', color: CURVE_COLOR, kind: 'line', dashed: true, width: 1 });
  return canvas.finish();
}

/** Pictures side by side, top-aligned, on white. */
function sideBySide(parts: Raster[], gap = 8): Raster {
  const width = parts.reduce((s, p) => s + p.width, 0) + gap * (parts.length - 1);
  const out = raster(width, Math.max(...parts.map((p) => p.height)));
  let x = 0;
  for (const p of parts) {
    paste(out, p, x, 0);
    x += p.width + gap;
  }
  return out;
}

function column(m: Matrix, j: number): Float64Array {
  const out = new Float64Array(m.rows);
  for (let r = 0; r < m.rows; r++) out[r] = m.data[r * m.cols + j]!;
  return out;
}

function variantLabel(s: ManifoldSummary): string {
  if (s.variant === 'denoising') return `denoising AE (${s.noise})`;
  if (s.variant === 'contractive') return `contractive AE (λ = ${s.contractive})`;
  return 'standard AE';
}

/** Every k-th grid point along each axis, so the arrows stay readable. */
function coarseIndices(side: number, dim: number, every: number): number[] {
  const out: number[] = [];
  const n = side ** dim;
  for (let r = 0; r < n; r++) {
    let rest = r;
    let keep = true;
    for (let i = 0; i < dim; i++) {
      if ((rest % side) % every !== 0) keep = false;
      rest = Math.floor(rest / side);
    }
    if (keep) out.push(r);
  }
  return out;
}

/** Grid points of an axis-aligned plane through the 3-D box: `fixed` is the axis held at `value`. */
function planeGrid(side: number, range: readonly [number, number], fixed: number, value: number): { points: Matrix; axes: [number, number] } {
  const flat = gridPoints(2, side, range);
  const axes = [0, 1, 2].filter((a) => a !== fixed) as [number, number];
  const points = matrix(flat.rows, 3);
  for (let r = 0; r < flat.rows; r++) {
    points.data[r * 3 + fixed] = value;
    points.data[r * 3 + axes[0]] = flat.data[r * 2]!;
    points.data[r * 3 + axes[1]] = flat.data[r * 2 + 1]!;
  }
  return { points, axes };
}

const AXIS_NAMES = ['x', 'y', 'z'];
/** The two planes curve3d's pictures cut through: each crosses the helix 3 or 4 times. */
const CURVE3D_PLANES: Array<{ fixed: number; value: number }> = [
  { fixed: 1, value: 0 },
  { fixed: 0, value: 0 },
];

/**
 * arrows.png: each grid point (every few along each axis) → its reconstruction, over the
 * training data; for curve3d, seen in projection (project3d).
 */
export function arrowsFigure(study: ManifoldStudy, opts: { size?: number } = {}): Raster {
  const { summary: s, data } = study;
  const size = opts.size ?? 800;
  const [lo, hi] = data.manifold.range;
  const box: [number, number] = [lo - 0.05, hi + 0.05];
  if (data.manifold.dim === 2) {
    const idx = coarseIndices(s.grid.side, 2, Math.max(1, Math.round((s.grid.side - 1) / 20)));
    const arrows: Arrow[] = idx.map((r) => ({
      x0: study.grid.data[2 * r]!,
      y0: study.grid.data[2 * r + 1]!,
      x1: study.recon.data[2 * r]!,
      y1: study.recon.data[2 * r + 1]!,
    }));
    return quiverPlot(arrows, {
      width: size,
      height: size,
      equalAspect: true,
      xRange: box,
      yRange: box,
      title: `${s.dataset}, ${variantLabel(s)}: x → x̂`,
      xLabel: 'x1',
      yLabel: 'x2',
      points: [{ label: 'training data', xs: column(data.x, 0), ys: column(data.x, 1), color: DATA_COLOR, radius: 1.5 }],
      arrowColor: ARROW_COLOR,
      arrowLabel: 'x → x̂',
    });
  }
  // 3-D: a coarse grid and the data seen from one viewpoint (project3d); each arrow ends on the curve if the model projects onto it.
  const idx = coarseIndices(s.grid.side, 3, Math.max(1, Math.round((s.grid.side - 1) / 5)));
  const view = { azimuth: 30, elevation: 20 };
  const from = project3d(
    idx.map((r) => study.grid.data[3 * r]!),
    idx.map((r) => study.grid.data[3 * r + 1]!),
    idx.map((r) => study.grid.data[3 * r + 2]!),
    view,
  );
  const to = project3d(
    idx.map((r) => study.recon.data[3 * r]!),
    idx.map((r) => study.recon.data[3 * r + 1]!),
    idx.map((r) => study.recon.data[3 * r + 2]!),
    view,
  );
  const d = project3d(column(data.x, 0), column(data.x, 1), column(data.x, 2), view);
  const arrows: Arrow[] = idx.map((_, k) => ({ x0: from.xs[k]!, y0: from.ys[k]!, x1: to.xs[k]!, y1: to.ys[k]! }));
  return quiverPlot(arrows, {
    width: size,
    height: size,
    equalAspect: true,
    title: `curve3d, ${variantLabel(s)}: ${idx.length} grid points x → x̂`,
    xLabel: 'screen x (azimuth 30°, elevation 20°)',
    yLabel: 'screen y (z up)',
    points: [{ label: 'training data', xs: d.xs, ys: d.ys, color: DATA_COLOR, radius: 2 }],
    arrowColor: ARROW_COLOR,
    arrowLabel: 'x → x̂',
  });
}

/**
 * Cells of a regular grid filled with colormap(value / top), on a plot canvas: a heat map.
 * `xs`, `ys` are the cell centres, `step` the grid spacing.
 */
function heatmap(
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  values: ArrayLike<number>,
  top: number,
  step: number,
  opts: PlotOptions & { xRange: [number, number]; yRange: [number, number]; colorbar?: ColorbarOptions },
): PlotCanvas {
  const canvas = new PlotCanvas(opts);
  const h = step / 2;
  for (let i = 0; i < xs.length; i++) canvas.rect(xs[i]! - h, ys[i]! - h, xs[i]! + h, ys[i]! + h, colormap(values[i]! / top));
  return canvas;
}

/**
 * travel.png (Fig. 17): each grid point coloured by how far it travels, ‖x̂ − x‖; lighter is
 * farther, so the manifold shows as a dark valley (the noiseless curves are drawn over it,
 * dashed). For curve3d, the planes y = 0 and x = 0, where the helix crosses them as dark spots.
 */
export function travelFigure(study: ManifoldStudy, opts: { size?: number } = {}): Raster {
  const { summary: s, data, model } = study;
  const size = opts.size ?? 800;
  const [lo, hi] = data.manifold.range;
  const label = 'travel ‖x̂ − x‖';
  if (data.manifold.dim === 2) {
    const top = Math.max(...study.travel);
    const step = (hi - lo) / (s.grid.side - 1);
    const box: [number, number] = [lo - step / 2, hi + step / 2];
    const canvas = heatmap(column(study.grid, 0), column(study.grid, 1), study.travel, top, step, {
      width: size + 40,
      height: size,
      equalAspect: true,
      xRange: box,
      yRange: box,
      title: `${s.dataset}, ${variantLabel(s)}: travel ‖x̂ − x‖`,
      xLabel: 'x1',
      yLabel: 'x2',
      grid: false,
      colorbar: { label, range: [0, top] },
    });
    return finishWithManifold(canvas, data.manifold.polylines);
  }
  const side = 81;
  const step = (hi - lo) / (side - 1);
  const box: [number, number] = [lo - step / 2, hi + step / 2];
  const slices = CURVE3D_PLANES.map(({ fixed, value }) => {
    const { points, axes } = planeGrid(side, data.manifold.range, fixed, value);
    return { fixed, value, axes, points, travel: rowDistances(points, model.reconstruct(points)) };
  });
  const top = Math.max(...slices.map((p) => Math.max(...p.travel)));
  const panels = slices.map(({ fixed, value, axes, points, travel }, k) => {
    // Two panels side by side: each about half the width, with the same text size.
    const panel = Math.round(0.75 * size);
    const canvas = heatmap(column(points, axes[0]), column(points, axes[1]), travel, top, step, {
      width: k === slices.length - 1 ? panel + 80 : panel,
      height: panel,
      textScale: 1,
      equalAspect: true,
      xRange: box,
      yRange: box,
      title: `plane ${AXIS_NAMES[fixed]} = ${value}`,
      xLabel: AXIS_NAMES[axes[0]]!,
      yLabel: AXIS_NAMES[axes[1]]!,
      grid: false,
      ...(k === slices.length - 1 ? { colorbar: { label, range: [0, top] as [number, number] } } : {}),
    });
    // Where the noiseless helix crosses the plane: the places a perfect model leaves alone.
    const p = data.manifold.polylines[0]!;
    for (let v = 0; v + 1 < p.length / 3; v++) {
      const a = p[v * 3 + fixed]! - value;
      const b = p[(v + 1) * 3 + fixed]! - value;
      if (a === 0 || a * b < 0) {
        const u = a === 0 ? 0 : a / (a - b);
        const at = (i: number) => p[v * 3 + i]! + u * (p[(v + 1) * 3 + i]! - p[v * 3 + i]!);
        canvas.point(at(axes[0]), at(axes[1]), CURVE_COLOR, 2);
      }
    }
    canvas.addLegend({ label: 'helix crosses the plane', color: CURVE_COLOR, kind: 'point' });
    return canvas.finish();
  });
  return withTitle(sideBySide(panels), `curve3d (helix): distance travelled, ${variantLabel(s)}`, { scale: 2 });
}

/**
 * jacobian.png (one-layer encoders, 2-D): each grid point coloured by ‖∂h/∂x‖_F, the encoder's
 * sensitivity that the contractive penalty shrinks at the training points; darker is more contractive.
 */
export function jacobianFigure(study: ManifoldStudy, opts: { size?: number } = {}): Raster {
  const { summary: s, data, model } = study;
  if (model.encoder.length !== 1 || data.manifold.dim !== 2) {
    throw new ValidationError(expected('jacobian figure', 'a one-layer encoder on two-branch', `${s.layers.join(',')} on ${s.dataset}`));
  }
  const size = opts.size ?? 800;
  const [lo, hi] = data.manifold.range;
  const norms = model.jacobianNorms(study.grid);
  const top = Math.max(...norms);
  const step = (hi - lo) / (s.grid.side - 1);
  const box: [number, number] = [lo - step / 2, hi + step / 2];
  const canvas = heatmap(column(study.grid, 0), column(study.grid, 1), norms, top, step, {
    width: size + 40,
    height: size,
    equalAspect: true,
    xRange: box,
    yRange: box,
    title: `${variantLabel(s)}: encoder sensitivity ‖∂h/∂x‖_F`,
    xLabel: 'x1',
    yLabel: 'x2',
    grid: false,
    colorbar: { label: '‖∂h/∂x‖_F', range: [0, top] },
  });
  return finishWithManifold(canvas, data.manifold.polylines);
}

/**
 * code.png (curve3d): the learned 1-D code of each training point against the helix's
 * parameter t, and the helix in 3-D (project3d) coloured by the code.
 */
export function codeFigure(study: ManifoldStudy, opts: { size?: number } = {}): Raster {
  const { summary: s, data, code } = study;
  if (code === null || s.code === undefined) throw new ValidationError(expected('code figure', 'a study of a one-curve data set (curve3d)', s.dataset));
  const size = opts.size ?? 560;
  const what = s.code.kind === 'bottleneck' ? 'code h (1 unit)' : 'code: 1st principal direction';
  const [clo, chi] = [Math.min(...code), Math.max(...code)];
  const span = chi > clo ? chi - clo : 1;
  const colors = Array.from(code, (v) => colormap((v - clo) / span));
  const left = scatterPlot([{ xs: data.t, ys: code, colors, radius: 2 }], {
    width: size,
    height: size,
    title: `code against t (Spearman ${s.code.spearmanWithT.toFixed(3)})`,
    xLabel: 'curve parameter t',
    yLabel: what,
  });
  const p = project3d(column(data.x, 0), column(data.x, 1), column(data.x, 2));
  // Far points first, so the nearer part of the helix is drawn on top.
  const order = Array.from({ length: code.length }, (_, i) => i).sort((a, b) => p.depth[a]! - p.depth[b]!);
  const right = scatterPlot([{ xs: order.map((i) => p.xs[i]!), ys: order.map((i) => p.ys[i]!), colors: order.map((i) => colors[i]!), radius: 2.5 }], {
    width: size + 80,
    height: size,
    equalAspect: true,
    title: 'training data in 3-D, coloured by the code',
    xLabel: 'screen x (azimuth 30°)',
    yLabel: 'screen y (z up)',
    colorbar: { label: what, range: [clo, chi] },
  });
  const note = s.code.kind === 'bottleneck' ? "the model's 1-unit code" : `first principal direction of the codes (${((s.code.explainedVariance ?? 0) * 100).toFixed(0)}% of their variance)`;
  return withTitle(sideBySide([left, right]), `curve3d: the learned code against the position along the curve; ${note}`, { scale: 2 });
}

// ---------------------------------------------------------------------------------------------
// Report

const fmt = (v: number, digits = 4): string => (Number.isFinite(v) ? (Math.abs(v) >= 0.01 || v === 0 ? v.toFixed(digits) : v.toExponential(2)) : String(v));

/** The lecture's observation, as a threshold on the numbers: on-manifold points travel less than a tenth of what far points do. */
export const TRAVEL_RATIO_CLAIM = 0.1;

/** manifold.md: what was trained, the two groups' travel, and whether the lecture's observation holds. */
export function manifoldMarkdown(s: ManifoldSummary, files: string[]): string {
  const holds = s.travelRatio < TRAVEL_RATIO_CLAIM;
  const lines = [
    `# What a ${variantLabel(s)} does near the data manifold: ${s.dataset}`,
    '',
    `Model ${[...s.layers, ...s.layers.slice(0, -1).reverse()].join('→')}${s.tied ? ' (tied weights)' : ''}, ${s.activation} hidden layers, linear output, MSE, Adam (lr ${s.lr}, the last fifth of the epochs at lr ${+(s.lr / 10).toPrecision(3)}, batch ${s.batchSize}); ` +
      `${s.epochs} epochs on ${s.trainCount} points drawn around the noiseless ${s.dataset === 'two-branch' ? 'arcs' : 'helix'} with noise σ = ${s.dataNoise}; seed ${s.seed}. ` +
      `Final training objective ${fmt(s.trainLoss, 5)}, test MSE ${fmt(s.testMse, 5)}.`,
    '',
    `Every point x of a ${s.grid.side}^${s.dataset === 'two-branch' ? 2 : 3} grid over [${s.grid.range.join(', ')}]^${s.dataset === 'two-branch' ? 2 : 3} ` +
      `(${s.grid.points} points) is reconstructed; it travels ‖x̂ − x‖. "On the manifold" means within ε = ${s.epsilon} of the noiseless curves, ` +
      `"far" means more than δ = ${s.delta} from them. "Landing distance" is how far the reconstruction x̂ is from the manifold.`,
    '',
    '| group | grid points | mean distance to the manifold | mean travel ‖x̂ − x‖ | mean landing distance |',
    '|---|---:|---:|---:|---:|',
    `| on the manifold (d < ${s.epsilon}) | ${s.onManifold.count} | ${fmt(s.onManifold.meanDistance)} | ${fmt(s.onManifold.meanTravel)} | ${fmt(s.onManifold.meanLandingDistance)} |`,
    `| far (d > ${s.delta}) | ${s.far.count} | ${fmt(s.far.meanDistance)} | ${fmt(s.far.meanTravel)} | ${fmt(s.far.meanLandingDistance)} |`,
    '',
    `- Ratio of mean travel, on the manifold / far: **${fmt(s.travelRatio, 3)}** (the lecture's observation, that points on the manifold barely move, is taken to hold below ${TRAVEL_RATIO_CLAIM}): ` +
      (holds ? '**it holds here**.' : '**it does not hold here**.'),
    `- Far points: travel / distance to the manifold is ${fmt(s.far.meanTravelOverDistance, 3)} on average (median ${fmt(s.far.medianTravelOverDistance, 3)}; 1 = they travel exactly their distance to it); ` +
      `the correlation of travel with distance over them is ${fmt(s.far.correlation, 3)}.`,
    (s.far.meanGapClosed >= 0
      ? `- Far points close ${fmt(100 * s.far.meanGapClosed, 1)}% of their distance to the manifold on average (their reconstructions land ${fmt(s.far.meanLandingDistance)} from it, `
      : `- Far points end ${fmt(-100 * s.far.meanGapClosed, 1)}% farther from the manifold than they started, on average (their reconstructions land ${fmt(s.far.meanLandingDistance)} from it, `) +
      `against ${fmt(s.far.meanDistance)} before): ${s.far.meanGapClosed > 0.8 ? 'they are sent to the manifold' : 'they are not sent to the manifold'}. ` +
      'A small travel ratio alone does not show this: a model that moves far points only part of the way has one too.',
  ];
  lines.push(
    `- Local gain of the reconstruction at the manifold (central differences of step ${s.gains.step} at ${s.gains.points} points): ` +
      `${fmt(s.gains.tangent, 3)} along the curve, ${fmt(s.gains.normal, 3)} across it (a projection onto the manifold: 1 and 0; the identity: 1 and 1).`,
  );
  if (s.jacobian) {
    lines.push(`- Encoder Jacobian ‖∂h/∂x‖_F, mean: ${fmt(s.jacobian.onManifold, 3)} on the manifold, ${fmt(s.jacobian.far, 3)} far from it.`);
  }
  if (s.code) {
    lines.push(
      `- Learned code (${s.code.kind === 'bottleneck' ? 'the 1-unit bottleneck' : `first principal direction of the ${s.layers[s.layers.length - 1]}-unit codes, ${fmt((s.code.explainedVariance ?? 0) * 100, 1)}% of their variance`}): ` +
        `Spearman rank correlation with the helix parameter t = ${fmt(s.code.spearmanWithT, 4)} (±1: the code is a monotone function of the position along the curve).`,
    );
  }
  lines.push('', 'Files:', '', ...files.map((f) => `- ${f}`), '', `Run time ${s.seconds.toFixed(1)} s.`, '');
  return lines.join('\n');
}

/** One line per number that matters, for the terminal. */
export function manifoldText(s: ManifoldSummary): string {
  return [
    `${s.dataset}, ${variantLabel(s)}: ${[...s.layers, ...s.layers.slice(0, -1).reverse()].join('→')}${s.tied ? ' (tied)' : ''}, ${s.epochs} epochs, test MSE ${fmt(s.testMse, 5)}`,
    `on the manifold (d < ${s.epsilon}): ${s.onManifold.count} grid points, mean travel ${fmt(s.onManifold.meanTravel)}`,
    `far (d > ${s.delta}): ${s.far.count} grid points, mean travel ${fmt(s.far.meanTravel)}, mean distance ${fmt(s.far.meanDistance)}, travel/distance ${fmt(s.far.meanTravelOverDistance, 3)}, landing ${fmt(s.far.meanLandingDistance)} (${fmt(100 * s.far.meanGapClosed, 1)}% of the gap closed)`,
    `travel ratio on/far ${fmt(s.travelRatio, 3)} (${s.travelRatio < TRAVEL_RATIO_CLAIM ? 'below' : 'not below'} ${TRAVEL_RATIO_CLAIM})` +
      `; gain along ${fmt(s.gains.tangent, 3)}, across ${fmt(s.gains.normal, 3)}` +
      (s.jacobian ? `; ‖∂h/∂x‖_F on ${fmt(s.jacobian.onManifold, 3)}, far ${fmt(s.jacobian.far, 3)}` : '') +
      (s.code ? `; code (${s.code.kind}) Spearman with t ${fmt(s.code.spearmanWithT, 4)}` : ''),
  ].join('\n');
}
