/**
 * What an autoencoder does to points near the data manifold (the lecture's Figs. 15–19).
 * A small over-complete autoencoder is trained on a synthetic curve data set; then every point
 * of a regular grid over the input box is sent through it, and the distance each travels,
 * ‖x̂ − x‖, is compared with its distance to the noiseless manifold. A denoising (or
 * contractive) model leaves points on the manifold almost where they are and sends far points
 * most of the way to it: they travel about their distance to the manifold.
 *
 * This module: the options and their defaults, the study (training and measuring) and its
 * statistics. The pictures are in figures.ts, the written report in report.ts.
 */
import { ACTIVATIONS, type ActivationName, type Backend } from '../../core/backend.js';
import { ValidationError, expected } from '../../core/errors.js';
import { matrix, type Matrix } from '../../core/matrix.js';
import { Rng } from '../../core/rng.js';
import { check } from '../../core/validate.js';
import {
  distancesToManifold,
  gridPoints,
  manifoldDataset,
  MANIFOLD_DATASETS,
  sampleManifold,
  type Manifold,
  type ManifoldName,
  type ManifoldSample,
} from '../../data/manifolds.js';
import type { Autoencoder } from '../../nn/autoencoder.js';
import { prepareTraining, VARIANTS, type TrainSettings, type Variant } from '../../train/recipe.js';
import type { EpochMetrics } from '../../train/trainer.js';

/**
 * A study's options. The learning-rate schedule is the study's own (studySchedule: the last
 * fifth of the epochs at a tenth of `lr`) and is not an option: a study is the lecture's
 * picture, not a general training run (ae train takes any schedule).
 */
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
  /** Adam's base learning rate; default DEFAULT_LR[dataset]. The schedule (studySchedule) lowers it for the last fifth of the epochs. */
  lr?: number;
  /** Rows per Adam step. Default 128. */
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
  /** Adam's base learning rate. */
  lr: number;
  /**
   * The learning-rate schedule the run used, as parseLrSchedule writes it (studySchedule:
   * "step:N:0.1", PyTorch's StepLR), or null for a run too short to have one.
   */
  lrSchedule: string | null;
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

/**
 * The study's learning-rate schedule for a run of `epochs` epochs: the last fifth of them
 * (rounded, at least one) at a tenth of the rate, as PyTorch's
 * StepLR(step_size = epochs − fifth, gamma = 0.1), whose second drop (at epoch 2·step_size + 1)
 * lies past the run's end. Adam's step noise at the full rate jitters the reconstruction of
 * points on the manifold by about as much as they travel; the slower epochs settle it. Adam's
 * moments carry over the drop, as with a PyTorch scheduler. Fewer than 5 epochs: no schedule
 * (undefined). The spec is parseLrSchedule's (src/train/schedule.ts).
 */
export function studySchedule(epochs: number): string | undefined {
  if (epochs < 5) return undefined;
  const slow = Math.max(1, Math.round(epochs / 5));
  return `step:${epochs - slow}:0.1`;
}

/** The training settings a study uses: tanh hidden layers, a linear output, the coordinates as they are, the schedule of studySchedule. */
export function studySettings(r: ReturnType<typeof resolveManifoldOptions>): Partial<TrainSettings> {
  const lrSchedule = studySchedule(r.epochs);
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
    ...(lrSchedule !== undefined ? { lrSchedule } : {}),
    ...(r.noise !== undefined ? { noise: r.noise } : {}),
    ...(r.contractive !== undefined ? { contractive: r.contractive } : {}),
  };
}

/**
 * Trains the model (one fit through prepareTraining, with studySettings) and measures how far
 * each grid point travels. Shapes: `grid` and `recon` are grid.side^dim × dim (dim 2 for
 * two-branch, 3 for curve3d), `travel` and `distance` have a value per grid point, `code` one
 * per training point; distances are in the data's coordinates (the box [−1, 1]^dim).
 * Throws ValidationError (one line) before training for bad options, an ε that no grid point
 * lies within or a δ no grid point lies beyond, and bad training settings (the corruption, the
 * contractive penalty's depth); DivergenceError when the test loss stops being finite.
 */
export function manifoldStudy(opts: ManifoldStudyOptions): ManifoldStudy {
  const r = resolveManifoldOptions(opts);
  const t0 = performance.now();
  // The data has its own generators, apart from training's, so every variant sees the same points.
  const data = sampleManifold(r.dataset, new Rng(r.seed + 1000), { count: r.count, noise: r.dataNoise });
  const test = sampleManifold(r.dataset, new Rng(r.seed + 2000), { count: Math.min(r.count, 1000), noise: r.dataNoise });
  const m = data.manifold;
  // Every training setting (the corruption, the contractive penalty's depth) is checked here,
  // and the grid just after: a grid too coarse for epsilon is refused before training too.
  const run = prepareTraining(studySettings(r), manifoldDataset(data, test), r.backend);
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
  // One fit; the schedule (studySchedule) lowers the learning rate for the last fifth of the epochs.
  opts.onStart?.();
  const history = run.fit(opts.onEpochEnd ? { onEpochEnd: opts.onEpochEnd } : undefined);
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
    lrSchedule: run.lrSchedule?.spec ?? null,
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

export function rowDistances(a: Matrix, b: Matrix): Float64Array {
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

