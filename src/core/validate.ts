import { ValidationError, expected } from './errors.js';

/**
 * One table of constraints, so every parameter error reads the same way:
 * `<name>: expected <rule>, received <value>`.
 */
export type Constraint =
  | { kind: 'int'; min?: number; max?: number }
  | { kind: 'number'; min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean }
  | { kind: 'oneOf'; choices: readonly string[] }
  | { kind: 'boolean' };

export function describe(c: Constraint): string {
  switch (c.kind) {
    case 'int':
      if (c.min !== undefined && c.max !== undefined) return `an integer in [${c.min}, ${c.max}]`;
      if (c.min !== undefined) return c.min === 1 ? 'a positive integer' : `an integer >= ${c.min}`;
      return 'an integer';
    case 'number': {
      const lo = c.min === undefined ? '' : c.minExclusive ? `> ${c.min}` : `>= ${c.min}`;
      const hi = c.max === undefined ? '' : c.maxExclusive ? `< ${c.max}` : `<= ${c.max}`;
      return `a finite number${lo || hi ? ' ' + [lo, hi].filter(Boolean).join(' and ') : ''}`;
    }
    case 'oneOf':
      return `one of ${c.choices.join(', ')}`;
    case 'boolean':
      return 'true or false';
  }
}

export function check<T>(name: string, value: unknown, c: Constraint): T {
  let ok: boolean;
  switch (c.kind) {
    case 'int':
      ok = typeof value === 'number' && Number.isSafeInteger(value) && (c.min === undefined || value >= c.min) && (c.max === undefined || value <= c.max);
      break;
    case 'number':
      ok =
        typeof value === 'number' &&
        Number.isFinite(value) &&
        (c.min === undefined || (c.minExclusive ? value > c.min : value >= c.min)) &&
        (c.max === undefined || (c.maxExclusive ? value < c.max : value <= c.max));
      break;
    case 'oneOf':
      ok = typeof value === 'string' && c.choices.includes(value);
      break;
    case 'boolean':
      ok = typeof value === 'boolean';
      break;
  }
  if (!ok) throw new ValidationError(expected(name, describe(c), value));
  return value as T;
}
