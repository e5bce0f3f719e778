import type { Backend } from '../core/backend.js';
import { ValidationError, expected } from '../core/errors.js';
import type { Matrix } from '../core/matrix.js';
import type { Rng } from '../core/rng.js';

/**
 * A corruption model for denoising: it writes a corrupted copy of a clean batch, drawn
 * afresh for every batch from the run's seeded generator.
 */
export interface Corruption {
  /** The normalised spec, e.g. "dropout:0.5". */
  readonly spec: string;
  apply(clean: Matrix, out: Matrix, rng: Rng, backend: Backend): void;
}

export const NOISE_KINDS = ['dropout', 'mask', 'gaussian', 'saltpepper', 'patch'] as const;
export type NoiseKind = (typeof NOISE_KINDS)[number];

export interface NoiseSpec {
  kind: NoiseKind;
  value: number;
}

/** What some corruptions need to know of the data: the scaled range, and the picture shape. */
export interface NoiseContext {
  range: readonly [number, number];
  image: { width: number; height: number } | null;
}

const RULES: Record<NoiseKind, { arg: string; rule: string; ok: (v: number) => boolean }> = {
  dropout: { arg: 'p', rule: 'a probability p in [0, 1)', ok: (v) => v >= 0 && v < 1 },
  mask: { arg: 'p', rule: 'a probability p in [0, 1)', ok: (v) => v >= 0 && v < 1 },
  saltpepper: { arg: 'p', rule: 'a probability p in [0, 1)', ok: (v) => v >= 0 && v < 1 },
  gaussian: { arg: 'sigma', rule: 'a standard deviation sigma >= 0', ok: (v) => v >= 0 },
  patch: { arg: 'k', rule: 'a patch side k, a positive integer', ok: (v) => Number.isInteger(v) && v >= 1 },
};

/** Checks the syntax of a spec like "dropout:0.5"; the data-dependent checks come in makeCorruption. */
export function parseNoiseSpec(spec: string): NoiseSpec {
  const [kind, arg, ...rest] = spec.split(':');
  if (rest.length > 0 || !(NOISE_KINDS as readonly string[]).includes(kind ?? '')) {
    throw new ValidationError(expected('noise', `one of ${NOISE_KINDS.map((k) => `${k}:${RULES[k].arg}`).join(', ')}`, spec));
  }
  const r = RULES[kind as NoiseKind];
  const v = arg === undefined || arg.trim() === '' ? NaN : Number(arg);
  if (!Number.isFinite(v) || !r.ok(v)) throw new ValidationError(expected(`noise ${kind}`, r.rule, arg ?? ''));
  return { kind: kind as NoiseKind, value: v };
}

/**
 * Builds the corruption a spec names:
 *   dropout:p     nn.Dropout, the notebook's: zero each value with probability p, scale the rest by 1/(1−p)
 *   mask:p        zero each value with probability p, without scaling
 *   gaussian:s    add N(0, s²) to each value (not clipped)
 *   saltpepper:p  with probability p set a value to the range's minimum or maximum, evenly
 *   patch:k       a k×k square of mid-grey at a uniformly random place in each image (Fig. 10)
 * "Zero" is zero in the model's scaled space: black in unit scaling, mid-grey in symmetric.
 */
export function makeCorruption(spec: string, ctx: NoiseContext): Corruption {
  const { kind, value } = parseNoiseSpec(spec);
  const norm = `${kind}:${value}`;
  const [lo, hi] = ctx.range;
  switch (kind) {
    case 'dropout':
    case 'mask': {
      const scale = kind === 'dropout' ? 1 / (1 - value) : 1;
      // One draw from the run's generator seeds the batch's mask; every backend expands it the same way.
      return { spec: norm, apply: (clean, out, rng, backend) => backend.dropout(clean, out, value, scale, rng.nextUint32()) };
    }
    case 'gaussian':
      return {
        spec: norm,
        apply: (clean, out, rng) => {
          const x = clean.data;
          const o = out.data;
          for (let i = 0; i < clean.rows * clean.cols; i++) o[i] = x[i]! + value * rng.normal();
        },
      };
    case 'saltpepper':
      return {
        spec: norm,
        apply: (clean, out, rng) => {
          const x = clean.data;
          const o = out.data;
          for (let i = 0; i < clean.rows * clean.cols; i++) {
            const u = rng.random();
            // u < p hits; the hit's half decides salt or pepper, so one draw serves both.
            o[i] = u < value ? (u < value / 2 ? lo : hi) : x[i]!;
          }
        },
      };
    case 'patch': {
      const img = ctx.image;
      if (img === null) throw new ValidationError(expected('noise patch', 'image data (rows that are square pictures)', 'rows that are not images'));
      if (value > Math.min(img.width, img.height)) {
        throw new ValidationError(expected('noise patch', `a side k <= ${Math.min(img.width, img.height)} for ${img.width}x${img.height} images`, value));
      }
      const grey = (lo + hi) / 2;
      return {
        spec: norm,
        apply: (clean, out, rng) => {
          out.data.set(clean.data.subarray(0, clean.rows * clean.cols));
          for (let r = 0; r < clean.rows; r++) {
            const top = rng.int(img.height - value + 1);
            const left = rng.int(img.width - value + 1);
            const base = r * clean.cols;
            for (let y = top; y < top + value; y++) out.data.fill(grey, base + y * img.width + left, base + y * img.width + left + value);
          }
        },
      };
    }
  }
}

/** A corrupted copy of a whole set, with its own generator: the same seed gives the same test corruption. */
export function corruptAll(x: Matrix, corruption: Corruption, rng: Rng, backend: Backend): Matrix {
  const out = { rows: x.rows, cols: x.cols, data: new Float32Array(x.rows * x.cols) };
  corruption.apply(x, out, rng, backend);
  return out;
}
