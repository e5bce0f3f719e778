/**
 * Low-dimensional manifolds in 2-D and 3-D, for the lecture's pictures of what a denoising or
 * contractive autoencoder does near the data (Figs. 15–19). Each data set is a few curves,
 * sampled evenly by arc length with isotropic Gaussian noise, together with the noiseless
 * curves themselves, so any point's distance to the manifold can be measured.
 *
 *   two-branch  two parallel downward arcs in [-1, 1]², one above the other (0.6 apart vertically)
 *   curve3d     a helix of 1.5 turns in [-1, 1]³ (turns 1.07 apart along its axis)
 *
 * Coordinates are used as they are: the box [-1, 1]^dim is also the symmetric scaling's range,
 * so a Dataset built from them with rawRange {-1, 1} is scaled by the identity.
 */
import { ValidationError, expected } from '../core/errors.js';
import { matrix, type Matrix } from '../core/matrix.js';
import type { Rng } from '../core/rng.js';
import type { Dataset } from './dataset.js';

export const MANIFOLD_DATASETS = ['two-branch', 'curve3d'] as const;
export type ManifoldName = (typeof MANIFOLD_DATASETS)[number];

/** A curve c(t), t in [0, 1], as a function into R^dim. */
type CurveFn = (t: number) => number[];

/** The noiseless manifold: its curves as dense polylines, and distances to them. */
export interface Manifold {
  name: ManifoldName;
  dim: number;
  /** Every coordinate of the data and of the query grid lies in this range. */
  range: [number, number];
  /** One dense polyline per curve (branch): `dim` values per vertex, vertex k at t = k / (vertices - 1). */
  polylines: Float64Array[];
  /** Length of each curve. */
  lengths: number[];
  /**
   * Each run of CHUNK segments of each polyline enclosed in a ball (branch, first vertex, centre,
   * radius): the distance to the ball's centre less its radius bounds the distance to those
   * segments from below, so a query skips the runs that cannot hold the nearest point.
   */
  chunks: Chunk[];
}

interface Chunk {
  branch: number;
  first: number;
  centre: Float64Array;
  radius: number;
}

export interface NearestPoint {
  /** Euclidean distance from the query to the noiseless manifold. */
  distance: number;
  /** Which curve (branch) is nearest. */
  branch: number;
  /** The nearest curve's parameter at the nearest point, in [0, 1]. */
  t: number;
  /** The nearest point itself (dim values). */
  point: Float64Array;
}

export interface ManifoldSample {
  manifold: Manifold;
  /** count x dim: one noisy point per row. */
  x: Matrix;
  /** The curve parameter each point was drawn at, in [0, 1]. */
  t: Float64Array;
  /** The curve (branch) each point was drawn from. */
  branch: Uint8Array;
  /** Standard deviation of the Gaussian noise added in every direction. */
  noise: number;
}

export interface ManifoldOptions {
  /** Number of points; split evenly between the curves. Default 2000. */
  count?: number;
  /** Standard deviation of the isotropic Gaussian noise around the curves. Default 0.01. */
  noise?: number;
}

/** Vertices per polyline: the chord error on these curves is below 1e-6 at this density. */
const VERTICES = 4097;
/** Segments per bounding ball. */
const CHUNK = 64;

const TWO_BRANCH: CurveFn[] = [
  // Upper arc y = 0.55 − 0.6 x², lower arc 0.6 below it, both over x in [−0.85, 0.85].
  (t) => {
    const x = -0.85 + 1.7 * t;
    return [x, 0.55 - 0.6 * x * x];
  },
  (t) => {
    const x = -0.85 + 1.7 * t;
    return [x, -0.05 - 0.6 * x * x];
  },
];

const HELIX_TURNS = 1.5;
const CURVE3D: CurveFn[] = [
  // A helix of radius 0.7 about the z axis, climbing from z = −0.8 to 0.8 over 1.5 turns.
  (t) => {
    const a = 2 * Math.PI * HELIX_TURNS * t;
    return [0.7 * Math.cos(a), 0.7 * Math.sin(a), -0.8 + 1.6 * t];
  },
];

function curvesOf(name: ManifoldName): CurveFn[] {
  return name === 'two-branch' ? TWO_BRANCH : CURVE3D;
}

/** The noiseless manifold of a named data set. */
export function manifoldOf(name: ManifoldName): Manifold {
  checkName(name);
  const curves = curvesOf(name);
  const dim = curves[0]!(0).length;
  const polylines: Float64Array[] = [];
  const lengths: number[] = [];
  for (const c of curves) {
    const p = new Float64Array(VERTICES * dim);
    for (let k = 0; k < VERTICES; k++) p.set(c(k / (VERTICES - 1)), k * dim);
    polylines.push(p);
    lengths.push(cumulativeLength(p, dim)[VERTICES - 1]!);
  }
  return { name, dim, range: [-1, 1], polylines, lengths, chunks: chunksOf(polylines, dim) };
}

function chunksOf(polylines: Float64Array[], dim: number): Chunk[] {
  const out: Chunk[] = [];
  polylines.forEach((p, branch) => {
    for (let first = 0; first < VERTICES - 1; first += CHUNK) {
      const last = Math.min(VERTICES - 1, first + CHUNK);
      const lo = new Float64Array(dim).fill(Infinity);
      const hi = new Float64Array(dim).fill(-Infinity);
      for (let k = first; k <= last; k++) {
        for (let i = 0; i < dim; i++) {
          lo[i] = Math.min(lo[i]!, p[k * dim + i]!);
          hi[i] = Math.max(hi[i]!, p[k * dim + i]!);
        }
      }
      const centre = lo.map((v, i) => (v + hi[i]!) / 2);
      let radius = 0;
      for (let k = first; k <= last; k++) {
        let d2 = 0;
        for (let i = 0; i < dim; i++) d2 += (p[k * dim + i]! - centre[i]!) ** 2;
        radius = Math.max(radius, Math.sqrt(d2));
      }
      // Segments lie in the convex hull of their vertices, so inside this ball too.
      out.push({ branch, first, centre, radius });
    }
  });
  return out;
}

function checkName(name: string): asserts name is ManifoldName {
  if (!(MANIFOLD_DATASETS as readonly string[]).includes(name)) {
    throw new ValidationError(expected('manifold data set', `one of ${MANIFOLD_DATASETS.join(', ')}`, name));
  }
}

function cumulativeLength(p: Float64Array, dim: number): Float64Array {
  const n = p.length / dim;
  const s = new Float64Array(n);
  for (let k = 1; k < n; k++) {
    let d2 = 0;
    for (let i = 0; i < dim; i++) d2 += (p[k * dim + i]! - p[(k - 1) * dim + i]!) ** 2;
    s[k] = s[k - 1]! + Math.sqrt(d2);
  }
  return s;
}

/**
 * Draws a sample: points spread evenly by arc length along each curve (so the density along
 * the manifold is uniform, whatever the parametrisation), plus N(0, noise²) in every direction.
 */
export function sampleManifold(name: ManifoldName, rng: Rng, opts: ManifoldOptions = {}): ManifoldSample {
  checkName(name);
  const count = opts.count ?? 2000;
  const noise = opts.noise ?? 0.01;
  if (!Number.isSafeInteger(count) || count < 1) throw new ValidationError(expected('manifold sample count', 'a positive integer', count));
  if (typeof noise !== 'number' || !Number.isFinite(noise) || noise < 0) throw new ValidationError(expected('manifold sample noise', 'a finite number >= 0', noise));
  const manifold = manifoldOf(name);
  const { dim, polylines } = manifold;
  const curves = polylines.length;
  const x = matrix(count, dim);
  const t = new Float64Array(count);
  const branch = new Uint8Array(count);
  const arc = polylines.map((p) => cumulativeLength(p, dim));
  for (let r = 0; r < count; r++) {
    // Points alternate between the curves, so each gets count / curves of them.
    const b = r % curves;
    const s = arc[b]!;
    const target = rng.random() * s[VERTICES - 1]!;
    let lo = 0;
    let hi = VERTICES - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (s[mid]! <= target) lo = mid;
      else hi = mid;
    }
    const f = s[hi]! > s[lo]! ? (target - s[lo]!) / (s[hi]! - s[lo]!) : 0;
    const tt = (lo + f) / (VERTICES - 1);
    const point = curvesOf(name)[b]!(tt);
    for (let i = 0; i < dim; i++) x.data[r * dim + i] = point[i]! + (noise === 0 ? 0 : noise * rng.normal());
    t[r] = tt;
    branch[r] = b;
  }
  return { manifold, x, t, branch, noise };
}

/** The nearest point of the noiseless manifold to `q` (dim values), by exact point-to-segment distances. */
export function nearestOnManifold(m: Manifold, q: ArrayLike<number>): NearestPoint {
  const dim = m.dim;
  if (q.length !== dim) throw new ValidationError(expected('query point', `${dim} coordinates`, q.length));
  let best = Infinity;
  let bestBranch = 0;
  let bestT = 0;
  const point = new Float64Array(dim);
  const segs = VERTICES - 1;
  const bounds = m.chunks.map((c) => {
    let d2 = 0;
    for (let i = 0; i < dim; i++) d2 += (q[i]! - c.centre[i]!) ** 2;
    return Math.max(0, Math.sqrt(d2) - c.radius);
  });
  const order = bounds.map((_, i) => i).sort((a, b) => bounds[a]! - bounds[b]!);
  for (const ci of order) {
    if (bounds[ci]! ** 2 >= best) break;
    const c = m.chunks[ci]!;
    const p = m.polylines[c.branch]!;
    const end = Math.min(segs, c.first + CHUNK);
    for (let k = c.first; k < end; k++) {
      const a = k * dim;
      let dd = 0;
      let dq = 0;
      for (let i = 0; i < dim; i++) {
        const d = p[a + dim + i]! - p[a + i]!;
        dd += d * d;
        dq += d * (q[i]! - p[a + i]!);
      }
      const u = dd > 0 ? Math.min(1, Math.max(0, dq / dd)) : 0;
      let d2 = 0;
      for (let i = 0; i < dim; i++) {
        const v = p[a + i]! + u * (p[a + dim + i]! - p[a + i]!);
        d2 += (q[i]! - v) ** 2;
      }
      if (d2 < best) {
        best = d2;
        bestBranch = c.branch;
        bestT = (k + u) / segs;
      }
    }
  }
  const p = m.polylines[bestBranch]!;
  const k = Math.min(segs - 1, Math.floor(bestT * segs));
  const u = bestT * segs - k;
  for (let i = 0; i < dim; i++) point[i] = p[k * dim + i]! + u * (p[(k + 1) * dim + i]! - p[k * dim + i]!);
  return { distance: Math.sqrt(best), branch: bestBranch, t: bestT, point };
}

/** Distance of each row of `x` to the noiseless manifold. */
export function distancesToManifold(m: Manifold, x: Matrix): Float64Array {
  if (x.cols !== m.dim) throw new ValidationError(expected('points width', `${m.dim} columns for ${m.name}`, x.cols));
  const out = new Float64Array(x.rows);
  for (let r = 0; r < x.rows; r++) out[r] = nearestOnManifold(m, x.data.subarray(r * m.dim, (r + 1) * m.dim)).distance;
  return out;
}

/**
 * A regular grid over the box range^dim with `side` points per axis, the first axis varying
 * fastest (row r is at (x_i, y_j[, z_k]) with r = i + side·j + side²·k).
 */
export function gridPoints(dim: number, side: number, range: readonly [number, number]): Matrix {
  if (!Number.isSafeInteger(dim) || dim < 1 || dim > 3) throw new ValidationError(expected('grid dimension', 'an integer in [1, 3]', dim));
  if (!Number.isSafeInteger(side) || side < 2) throw new ValidationError(expected('grid side', 'an integer >= 2', side));
  const [lo, hi] = range;
  const n = side ** dim;
  const g = matrix(n, dim);
  for (let r = 0; r < n; r++) {
    let rest = r;
    for (let i = 0; i < dim; i++) {
      g.data[r * dim + i] = lo + ((hi - lo) * (rest % side)) / (side - 1);
      rest = Math.floor(rest / side);
    }
  }
  return g;
}

/**
 * A sample as a Dataset for prepareTraining: raw range [-1, 1] in symmetric scaling is the
 * identity, so the model sees the coordinates as they are. A second sample can serve as test rows.
 */
export function manifoldDataset(train: ManifoldSample, test: ManifoldSample | null = null): Dataset {
  const [min, max] = train.manifold.range;
  return { source: train.manifold.name, train: train.x, test: test ? test.x : null, rawRange: { min, max }, image: null };
}
