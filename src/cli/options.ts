import { Option } from 'commander';
import { BACKEND_CHOICES } from '../backends/index.js';
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

/**
 * Shared flag declarations (commander Options). Each parses and checks its value as commander
 * reads it, so a bad value stops the command before any work with one line and exit code 2,
 * and every command declares the same flag the same way.
 */
function longOf(flags: string): string {
  return /--[\w-]+/.exec(flags)![0];
}

/** An integer flag, at least `min` (default 1), checked by intFlag. */
export function intOption(flags: string, description: string, o: { default?: number; min?: number } = {}): Option {
  const opt = new Option(flags, description).argParser((v: string) => intFlag(longOf(flags), v, o.min ?? 1));
  return o.default === undefined ? opt : opt.default(o.default);
}

/** --backend auto|native|js (default auto; AEKIT_BACKEND applies to auto). */
export function backendOption(): Option {
  return new Option('--backend <name>', BACKEND_CHOICES.join('|')).default('auto').argParser((v: string) => choiceFlag('--backend', v, BACKEND_CHOICES));
}

/** --limit N: the first N training rows (and at most N test rows). */
export function limitOption(description = 'use only the first N training rows (and at most N test rows)'): Option {
  return intOption('--limit <n>', description);
}

/** --seed N (>= 0, default 0). */
export function seedOption(description: string): Option {
  return intOption('--seed <n>', description, { default: 0, min: 0 });
}

/** --show N: pictures drawn in a figure. */
export function showOption(def: number, description = 'digits drawn in the figure'): Option {
  return intOption('--show <n>', description, { default: def });
}

/** A number flag checked against `rule` (said in the error) by `valid`. */
export function numberOption(flags: string, description: string, rule: string, valid: (n: number) => boolean, def?: number): Option {
  const opt = new Option(flags, description).argParser((v: string) => numberFlag(longOf(flags), v, rule, valid));
  return def === undefined ? opt : opt.default(def);
}

/** A flag taking one of `choices`. */
export function choiceOption<T extends string>(flags: string, description: string, choices: readonly T[], def?: T): Option {
  const opt = new Option(flags, description).argParser((v: string) => choiceFlag(longOf(flags), v, choices));
  return def === undefined ? opt : opt.default(def);
}

/** A list of sizes, e.g. --layers 784,128,30. */
export function listOption(flags: string, description: string): Option {
  return new Option(flags, description).argParser((v: string) => listFlag(longOf(flags), v));
}
