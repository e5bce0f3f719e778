import type { Backend } from '../core/backend.js';
import { ValidationError, expected } from '../core/errors.js';
import type { Matrix } from '../core/matrix.js';
import type { Rng } from '../core/rng.js';

/**
 * A corruption model for denoising: it writes a corrupted copy of a clean batch. It is
 * drawn afresh for every batch from the run's seeded generator.
 */
export interface Corruption {
  /** The spec it was parsed from, e.g. "dropout:0.5". */
  readonly spec: string;
  apply(clean: Matrix, out: Matrix, rng: Rng, backend: Backend): void;
}

export const NOISE_KINDS = ['dropout', 'mask'] as const;

function probability(spec: string, text: string | undefined): number {
  const p = text === undefined || text.trim() === '' ? NaN : Number(text);
  if (!Number.isFinite(p) || p < 0 || p >= 1) throw new ValidationError(expected(`noise ${spec}`, 'a probability p in [0, 1)', text ?? ''));
  return p;
}

/**
 * Parses a noise spec:
 *   dropout:p  nn.Dropout, the notebook's corruption: zero with probability p, scale the rest by 1/(1−p)
 *   mask:p     zero with probability p, without scaling
 */
export function parseNoise(spec: string): Corruption {
  const [kind, arg, ...rest] = spec.split(':');
  if (rest.length > 0 || !(NOISE_KINDS as readonly string[]).includes(kind ?? '')) {
    throw new ValidationError(expected('noise', `one of ${NOISE_KINDS.map((k) => `${k}:p`).join(', ')}`, spec));
  }
  const p = probability(spec, arg);
  const scale = kind === 'dropout' ? 1 / (1 - p) : 1;
  return {
    spec: `${kind}:${p}`,
    // One draw from the run's generator seeds the batch's mask; every backend expands it the same way.
    apply: (clean, out, rng, backend) => backend.dropout(clean, out, p, scale, rng.nextUint32()),
  };
}
