import { ValidationError, expected, show } from '../core/errors.js';

/**
 * Input scaling. The model config stores it, so inference scales inputs exactly as
 * training did, and outputs can be mapped back to raw values or to [0, 1] for pictures.
 *
 *   symmetric: [min, max] -> [-1, 1]  (PyTorch's ToTensor then Normalize(0.5, 0.5): 2x/255 - 1 for MNIST)
 *   unit:      [min, max] -> [0, 1]   (ToTensor alone)
 *
 * The maps are linear and do not clamp: a value outside [min, max] lands outside the range.
 */
export const SCALINGS = ['symmetric', 'unit'] as const;
export type ScaleKind = (typeof SCALINGS)[number];

/** `min` and `max` are the raw data range (MNIST: 0 and 255). */
export interface Scaling {
  kind: ScaleKind;
  min: number;
  max: number;
}

const CHOICES = SCALINGS.map((k) => show(k)).join(', ');

function isScaleKind(kind: unknown): kind is ScaleKind {
  return typeof kind === 'string' && (SCALINGS as readonly string[]).includes(kind);
}

/** The range of the scaled space, [lo, hi]. */
export function rangeOf(kind: ScaleKind): [number, number] {
  switch (kind) {
    case 'symmetric':
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

/** Raw values -> the scaled space. `out` may be `raw` itself (in place). */
export function scaleInto(raw: Float32Array, s: Scaling, out?: Float32Array): Float32Array {
  const [lo, hi] = rangeOf(s.kind);
  const span = hi - lo;
  const width = s.max - s.min;
  const dst = output('scaleInto', raw.length, out);
  for (let i = 0; i < raw.length; i++) dst[i] = lo + ((raw[i]! - s.min) * span) / width;
  return dst;
}

/** Scaled values -> raw values; the inverse of scaleInto. `out` may be `scaled` itself. */
export function unscaleInto(scaled: Float32Array, s: Scaling, out?: Float32Array): Float32Array {
  const [lo, hi] = rangeOf(s.kind);
  const span = hi - lo;
  const width = s.max - s.min;
  const dst = output('unscaleInto', scaled.length, out);
  for (let i = 0; i < scaled.length; i++) dst[i] = s.min + ((scaled[i]! - lo) * width) / span;
  return dst;
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
  return { kind, min, max };
}

/** Builds a validated Scaling, e.g. scalingFor('symmetric', 0, 255) for MNIST. */
export function scalingFor(kind: string, min: number, max: number): Scaling {
  return validateScaling({ kind, min, max });
}
