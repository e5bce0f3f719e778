import { ValidationError, expected } from '../core/errors.js';

/** Strict integer parsing for flags: "1.5", "10x" and "" are errors, not 1 or 10. */
export function intFlag(name: string, text: string, min = 1): number {
  const ok = /^[+-]?\d+$/.test(text.trim());
  const n = ok ? Number(text) : NaN;
  if (!ok || !Number.isSafeInteger(n) || n < min) {
    throw new ValidationError(expected(name, min === 1 ? 'a positive integer' : `an integer >= ${min}`, text));
  }
  return n;
}

export function numberFlag(name: string, text: string, rule: string, valid: (n: number) => boolean): number {
  const n = text.trim() === '' ? NaN : Number(text);
  if (!Number.isFinite(n) || !valid(n)) throw new ValidationError(expected(name, rule, text));
  return n;
}

export function choiceFlag<T extends string>(name: string, text: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) throw new ValidationError(expected(name, `one of ${choices.join(', ')}`, text));
  return text as T;
}

/** "784,128,30" -> [784, 128, 30] */
export function listFlag(name: string, text: string): number[] {
  const parts = text.split(',');
  if (parts.length < 2) throw new ValidationError(expected(name, 'at least two comma-separated sizes, e.g. 784,128,30', text));
  return parts.map((p, i) => intFlag(`${name}[${i}]`, p));
}
