import { ValidationError, expected, show } from '../core/errors.js';
import type { Matrix } from '../core/matrix.js';

/**
 * Input scaling. The model config stores it, so inference scales inputs exactly as
 * training did, and outputs can be mapped back to raw values or to [0, 1] for pictures.
 *
 *   symmetric: [min, max] -> [-1, 1]  (PyTorch's ToTensor then Normalize(0.5, 0.5): 2x/255 - 1 for MNIST)
 *   unit:      [min, max] -> [0, 1]   (ToTensor alone)
 *
 * The maps are linear and do not clamp: a value outside [min, max] lands outside the range.
 *
 * One range serves images, whose pixels share a unit. A table's columns do not (a column in
 * 0..1 beside one in 5000..6000), so a table's Scaling carries a range per feature as well
 * (scikit-learn's MinMaxScaler): feature j maps [featureMin[j], featureMax[j]] to the range,
 * and min/max are then the smallest and largest of them, for reports.
 *
 *   standard:  (x - mean) / std       (scikit-learn's StandardScaler, population std)
 *
 * Standardisation is the same affine map with [mean - std, mean + std] as the "range"
 * mapped to [-1, 1], so one code path scales and unscales every kind; its values are not
 * bounded, so a standardised model's output layer defaults to linear.
 */
export const SCALINGS = ['symmetric', 'unit', 'standard'] as const;
export type ScaleKind = (typeof SCALINGS)[number];

/** `min` and `max` are the raw data range (MNIST: 0 and 255). */
export interface Scaling {
  kind: ScaleKind;
  min: number;
  max: number;
  /** Per-feature raw ranges, one entry per input feature (tables). Absent: one range for all. */
  featureMin?: number[];
  featureMax?: number[];
}

const CHOICES = SCALINGS.map((k) => show(k)).join(', ');

function isScaleKind(kind: unknown): kind is ScaleKind {
  return typeof kind === 'string' && (SCALINGS as readonly string[]).includes(kind);
}

/** The range of the scaled space, [lo, hi]. */
export function rangeOf(kind: ScaleKind): [number, number] {
  switch (kind) {
    case 'symmetric':
    case 'standard':
      return [-1, 1];
    case 'unit':
      return [0, 1];
    default:
      throw new ValidationError(expected('scaling kind', `one of ${CHOICES}`, kind));
  }
}

function output(what: string, length: number, out: Float32Array | undefined): Float32Array {
  if (out === undefined) return new Float32Array(length);
  if (out.length !== length) throw new ValidationError(expected(`${what} output`, `${length} values`, out.length));
  return out;
}

/*
 * The maps are written as lo + (x - a) * span / width rather than x * k + c: with span
 * 1 or 2 (a power of two) the endpoints come out exact (255 -> 1, not 0.99999994),
 * which keeps round trips and reported ranges clean.
 */

/** The raw ranges as flat arrays of the features' count (1 when the range is global). */
function ranges(s: Scaling, length: number, what: string): { mins: ArrayLike<number>; maxs: ArrayLike<number>; n: number } {
  if (s.featureMin === undefined || s.featureMax === undefined) return { mins: [s.min], maxs: [s.max], n: 1 };
  const n = s.featureMin.length;
  if (length % n !== 0) throw new ValidationError(expected(`${what} length`, `a multiple of the ${n} features the scaling was fitted on`, length));
  return { mins: s.featureMin, maxs: s.featureMax, n };
}

/**
 * Raw values -> the scaled space, row-major rows of the scaling's features. `out` may be
 * `raw` itself (in place). Throws ValidationError when a per-feature scaling meets rows of
 * another width.
 */
export function scaleInto(raw: Float32Array, s: Scaling, out?: Float32Array): Float32Array {
  const [lo, hi] = rangeOf(s.kind);
  const span = hi - lo;
  const dst = output('scaleInto', raw.length, out);
  const { mins, maxs, n } = ranges(s, raw.length, 'scaleInto input');
  for (let j = 0; j < n; j++) {
    const a = mins[j]!;
    const width = maxs[j]! - a;
    for (let i = j; i < raw.length; i += n) dst[i] = lo + ((raw[i]! - a) * span) / width;
  }
  return dst;
}

/** Scaled values -> raw values; the inverse of scaleInto. `out` may be `scaled` itself. */
export function unscaleInto(scaled: Float32Array, s: Scaling, out?: Float32Array): Float32Array {
  const [lo, hi] = rangeOf(s.kind);
  const span = hi - lo;
  const dst = output('unscaleInto', scaled.length, out);
  const { mins, maxs, n } = ranges(s, scaled.length, 'unscaleInto input');
  for (let j = 0; j < n; j++) {
    const a = mins[j]!;
    const width = maxs[j]! - a;
    for (let i = j; i < scaled.length; i += n) dst[i] = a + ((scaled[i]! - lo) * width) / span;
  }
  return dst;
}

/**
 * How many raw values lie outside the range a min–max scaling was fitted on (test data
 * beyond the training range is allowed; commands report this count). A standard scaling
 * has no such range: null.
 */
export function countOutOfRange(raw: Float32Array, s: Scaling): number | null {
  if (s.kind === 'standard') return null;
  const { mins, maxs, n } = ranges(s, raw.length, 'data');
  let count = 0;
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i]!;
    if (v < mins[i % n]! || v > maxs[i % n]!) count++;
  }
  return count;
}

/**
 * The largest magnitude a value may have once scaled: 1e15, where the training range maps to
 * [-1, 1] or [0, 1] (a standard scaling: 1e15 standard deviations). Test values past the
 * training range are allowed, a little or a million times its width (countOutOfRange counts
 * them); one beyond this is almost surely a unit or sentinel mistake, and its squared error
 * (1e30 here) nears what the float32 sums of a loss can hold (3.4e38; the native backend's
 * overflow to Infinity), so an evaluation would blame the model ("training diverged", "a model
 * whose reconstructions are not finite") for the data. checkScalable refuses it instead.
 */
export const MAX_SCALED_MAGNITUDE = 1e15;

/** A number from data for messages: six significant digits, no trailing zeros (1e+30, 0.99). */
function brief(v: number): string {
  const p = +v.toPrecision(6);
  return Math.abs(p) >= 1e6 || (p !== 0 && Math.abs(p) < 1e-4) ? p.toExponential() : String(p);
}

/**
 * Throws ValidationError naming the first raw value (row and column, 0-based, with the
 * column's name when known) that `s` scales past ±MAX_SCALED_MAGNITUDE, and the training
 * range it was scaled from. `what` names the rows ("test data", a path).
 */
export function checkScalable(raw: Matrix, s: Scaling, what: string, columns?: readonly string[] | null): void {
  const [lo, hi] = rangeOf(s.kind);
  const span = hi - lo;
  const { mins, maxs, n } = ranges(s, raw.data.length, what);
  const data = raw.data;
  for (let i = 0; i < data.length; i++) {
    const j = i % n;
    const a = mins[j]!;
    const width = maxs[j]! - a;
    const v = data[i]!;
    // In double, so the check itself cannot overflow; NaN fails it too.
    if (Math.abs(lo + ((v - a) * span) / width) <= MAX_SCALED_MAGNITUDE) continue;
    const col = i % raw.cols;
    const name = columns?.[col];
    const where = `${what} row ${Math.floor(i / raw.cols)}, column ${col}${name !== undefined && name !== '' ? ` (${show(name)})` : ''}`;
    const perFeature = s.featureMin !== undefined;
    const range = perFeature ? 'its training range' : 'the training range';
    const rule =
      s.kind === 'standard'
        ? `a value near the training data (${perFeature ? 'this column\'s ' : ''}mean ${brief(a + width / 2)}, standard deviation ${brief(width / 2)}; at most ${MAX_SCALED_MAGNITUDE.toExponential()} standard deviations away)`
        : `a value near ${range} [${brief(a)}, ${brief(a + width)}] (scaled to [${lo}, ${hi}], at most ±${MAX_SCALED_MAGNITUDE.toExponential()} after scaling)`;
    throw new ValidationError(`${where}: expected ${rule}, received ${brief(v)}`);
  }
}

/** Mean and population standard deviation of a column (or of everything when cols = 1), in double. */
function meanStd(data: Float32Array, cols: number, j: number): [number, number] {
  let sum = 0;
  let count = 0;
  for (let i = j; i < data.length; i += cols) {
    sum += data[i]!;
    count++;
  }
  const mean = sum / count;
  let ss = 0;
  for (let i = j; i < data.length; i += cols) ss += (data[i]! - mean) ** 2;
  return [mean, Math.sqrt(ss / count)];
}

function checkRows(data: Float32Array, cols: number): void {
  if (!Number.isSafeInteger(cols) || cols < 1 || data.length % cols !== 0 || data.length === 0) {
    throw new ValidationError(expected('rows to fit a scaling on', `a non-empty multiple of ${cols} values`, data.length));
  }
}

/**
 * A per-feature Scaling fitted on rows of `cols` features: each feature's own min..max
 * (scikit-learn's MinMaxScaler), or for 'standard' its mean ± one standard deviation
 * (StandardScaler). A constant feature gets the range [v, v + 1] (min–max) or a standard
 * deviation of 1 (StandardScaler's choice), so it maps to a finite value instead of 0/0.
 * Throws ValidationError when data is empty or not a multiple of cols.
 */
export function fitFeatureScaling(kind: ScaleKind, data: Float32Array, cols: number): Scaling {
  checkRows(data, cols);
  const featureMin = new Array<number>(cols).fill(Infinity);
  const featureMax = new Array<number>(cols).fill(-Infinity);
  if (kind === 'standard') {
    for (let j = 0; j < cols; j++) {
      const [mean, sd] = meanStd(data, cols, j);
      const s = sd > 0 && Number.isFinite(mean + sd) && mean + sd > mean - sd ? sd : 1;
      featureMin[j] = mean - s;
      featureMax[j] = mean + s;
    }
  } else {
    for (let i = 0; i < data.length; i++) {
      const j = i % cols;
      const v = data[i]!;
      if (v < featureMin[j]!) featureMin[j] = v;
      if (v > featureMax[j]!) featureMax[j] = v;
    }
    for (let j = 0; j < cols; j++) if (!(featureMax[j]! > featureMin[j]!)) featureMax[j] = featureMin[j]! + 1;
  }
  let min = Infinity;
  let max = -Infinity;
  for (let j = 0; j < cols; j++) {
    min = Math.min(min, featureMin[j]!);
    max = Math.max(max, featureMax[j]!);
  }
  return validateScaling({ kind, min, max, featureMin, featureMax });
}

/**
 * One Scaling for values that share a unit (pixels): min–max kinds map the given raw range
 * (0..255 for uint8 images); 'standard' uses the mean and standard deviation of all values.
 */
export function fitSharedScaling(kind: ScaleKind, data: Float32Array, rawRange: { min: number; max: number }): Scaling {
  if (kind !== 'standard') return validateScaling({ kind, min: rawRange.min, max: rawRange.max });
  checkRows(data, 1);
  const [mean, sd] = meanStd(data, 1, 0);
  const s = sd > 0 ? sd : 1;
  return validateScaling({ kind, min: mean - s, max: mean + s });
}

/**
 * Scaled values -> [0, 1], for PSNR and pictures. Unlike scaleInto this clamps, because
 * a reconstruction may overshoot the range (a linear output layer), and both a pixel and
 * PSNR's peak of 1 assume [0, 1].
 */
export function toUnit(scaled: Float32Array, s: Scaling, out?: Float32Array): Float32Array {
  const [lo, hi] = rangeOf(s.kind);
  const span = hi - lo;
  const dst = output('toUnit', scaled.length, out);
  for (let i = 0; i < scaled.length; i++) {
    const u = (scaled[i]! - lo) / span;
    dst[i] = u < 0 ? 0 : u > 1 ? 1 : u; // NaN falls through unchanged, so it is not hidden
  }
  return dst;
}

/** Checks an untrusted object (a model config field, say) and returns a clean Scaling. */
export function validateScaling(obj: unknown): Scaling {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new ValidationError(expected('scaling', 'an object {kind, min, max}', obj));
  }
  const { kind, min, max } = obj as Record<string, unknown>;
  if (!isScaleKind(kind)) throw new ValidationError(expected('scaling.kind', `one of ${CHOICES}`, kind));
  if (typeof min !== 'number' || !Number.isFinite(min)) {
    throw new ValidationError(expected('scaling.min', 'a finite number', min));
  }
  if (typeof max !== 'number' || !Number.isFinite(max)) {
    throw new ValidationError(expected('scaling.max', 'a finite number', max));
  }
  if (!(min < max)) throw new ValidationError(expected('scaling.max', `a number greater than min (${min})`, max));
  // max - min can still overflow to Infinity (e.g. -1e308 .. 1e308), which would scale everything to lo.
  if (!Number.isFinite(max - min)) {
    throw new ValidationError(expected('scaling range max - min', 'a finite number', max - min));
  }
  const { featureMin, featureMax } = obj as Record<string, unknown>;
  if (featureMin === undefined && featureMax === undefined) return { kind, min, max };
  const list = (name: string, v: unknown): number[] => {
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new ValidationError(expected(`scaling.${name}`, 'a non-empty array of finite numbers', Array.isArray(v) ? `an array of ${v.length}` : v));
    }
    return v as number[];
  };
  const fmin = list('featureMin', featureMin);
  const fmax = list('featureMax', featureMax);
  if (fmin.length !== fmax.length) throw new ValidationError(expected('scaling.featureMax', `${fmin.length} values as in featureMin`, fmax.length));
  for (let j = 0; j < fmin.length; j++) {
    if (!(fmax[j]! > fmin[j]!) || !Number.isFinite(fmax[j]! - fmin[j]!)) {
      throw new ValidationError(expected(`scaling feature ${j} range`, 'max > min, finite', `${fmin[j]}..${fmax[j]}`));
    }
  }
  return { kind, min, max, featureMin: [...fmin], featureMax: [...fmax] };
}

/** Builds a validated Scaling, e.g. scalingFor('symmetric', 0, 255) for MNIST. */
export function scalingFor(kind: string, min: number, max: number): Scaling {
  return validateScaling({ kind, min, max });
}
