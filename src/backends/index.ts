import type { Backend } from '../core/backend.js';
import { BackendError } from '../core/errors.js';
import { check } from '../core/validate.js';
import { JsBackend } from './js/index.js';
import { NativeBackend } from './native/index.js';

export const BACKEND_CHOICES = ['auto', 'native', 'js'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface ResolvedBackend {
  backend: Backend;
  /** A one-line notice for the user when `auto` fell back to js, or null. */
  notice: string | null;
}

/**
 * Picks a backend by name. `auto` is native when the addon loads, otherwise js with a
 * one-line notice saying why. `native` insists: a missing addon is a BackendError that
 * names where it looked and the command that rebuilds it.
 *
 * The environment variable `AEKIT_BACKEND` (auto|native|js), when set, replaces `auto`, so a
 * whole program or test suite can be run on one backend; an explicit `native` or `js` wins.
 */
export function resolveBackend(choice: string = 'auto', opts: { threads?: number } = {}): ResolvedBackend {
  check('backend', choice, { kind: 'oneOf', choices: BACKEND_CHOICES });
  const env = process.env.AEKIT_BACKEND;
  if (choice === 'auto' && env !== undefined && env !== '') {
    check('AEKIT_BACKEND', env, { kind: 'oneOf', choices: BACKEND_CHOICES });
    choice = env;
  }
  if (choice === 'js') return { backend: new JsBackend(), notice: null };
  if (choice === 'native') return { backend: new NativeBackend(opts), notice: null };
  try {
    return { backend: new NativeBackend(opts), notice: null };
  } catch (err) {
    if (!(err instanceof BackendError)) throw err;
    return { backend: new JsBackend(), notice: `using the js backend: ${err.message}` };
  }
}

export { JsBackend, NativeBackend };
