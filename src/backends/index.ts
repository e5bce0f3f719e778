import type { Backend } from '../core/backend.js';
import { check } from '../core/validate.js';
import { JsBackend } from './js/index.js';

export const BACKEND_CHOICES = ['auto', 'js'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface ResolvedBackend {
  backend: Backend;
  /** A one-line notice for the user when `auto` fell back, or null. */
  notice: string | null;
}

/**
 * Picks a backend by name. `auto` takes the fastest one that loaded; today that is the
 * js reference backend, and the native one slots in here without touching model code.
 */
export function resolveBackend(choice: string = 'auto'): ResolvedBackend {
  check('backend', choice, { kind: 'oneOf', choices: BACKEND_CHOICES });
  return { backend: new JsBackend(), notice: null };
}

export { JsBackend };
