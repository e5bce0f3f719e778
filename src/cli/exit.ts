import { constants } from 'node:os';
import { AeError, DivergenceError, InterruptedError } from '../core/errors.js';

export const EXIT_OK = 0;
/** The run itself failed (training diverged, an unexpected error). */
export const EXIT_FAILURE = 1;
/** Bad usage: an unknown flag, a bad value, a missing or corrupt file. */
export const EXIT_USAGE = 2;

/** A usage error raised by the CLI layer itself (flag combinations, output paths). */
export class UsageError extends AeError {
  override name = 'UsageError';
}

/** The one place that decides exit codes: a pure function of the error. */
export function exitCodeFor(err: unknown): number {
  if (err === undefined || err === null) return EXIT_OK;
  if (err instanceof DivergenceError) return EXIT_FAILURE;
  // Stopped by a signal: the shell's convention, 128 + its number (130 for SIGINT, 143 for SIGTERM).
  if (err instanceof InterruptedError) return 128 + ((constants.signals as Record<string, number>)[err.signal] ?? 0);
  if (err instanceof AeError) return EXIT_USAGE;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('commander.')) {
    // `ae` alone prints the help (commander.help): a request for help, not a mistake.
    return code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help' ? EXIT_OK : EXIT_USAGE;
  }
  return EXIT_FAILURE;
}

/** The one line printed for an error (without --debug). */
export function errorLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const [first = '', ...rest] = msg.split('\n');
  // Commander puts its suggestion for a misspelt option or command on a second line: kept, on the same line.
  const hint = rest.find((l) => /^\(Did you mean .*\?\)$/.test(l.trim()));
  return `ae: ${first.replace(/^error: /, '')}${hint ? ` ${hint.trim()}` : ''}`;
}
