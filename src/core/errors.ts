/**
 * Typed errors. Every message has the form `<what>: expected <rule>, received <value>`
 * so the CLI can print it as one line and callers can branch on the class.
 */

/** Base class of every error this library throws on purpose. */
export class AeError extends Error {
  override name = 'AeError';
}

/** A caller passed a value outside the documented rules (bad option, bad shape). */
export class ValidationError extends AeError {
  override name = 'ValidationError';
}

/** A data file (IDX, CSV) is malformed. */
export class DataFormatError extends AeError {
  override name = 'DataFormatError';
}

/** A model file (safetensors) is malformed or does not describe a valid model. */
export class ModelFormatError extends AeError {
  override name = 'ModelFormatError';
}

/** Training diverged: the loss or a weight became NaN or Inf. */
export class DivergenceError extends AeError {
  override name = 'DivergenceError';
  constructor(message: string, readonly epoch: number, readonly batch: number) {
    super(message);
  }
}

/**
 * The run was stopped by a signal (SIGINT, SIGTERM) at a batch boundary. `epoch` is the last
 * completed epoch, whose files a run folder keeps; the CLI exits as the signal would (130, 143).
 */
export class InterruptedError extends AeError {
  override name = 'InterruptedError';
  constructor(readonly signal: string, readonly epoch: number, detail?: string) {
    super(`interrupted by ${signal} after epoch ${epoch}${detail ? `: ${detail}` : ''}`);
  }
}

/** A backend could not be loaded or does not support an operation. */
export class BackendError extends AeError {
  override name = 'BackendError';
}

/** Renders any value for an error message, briefly. */
export function show(value: unknown, depth = 0): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? value.slice(0, 57) + '...' : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  // Values can come from untrusted files: nesting is cut at a few levels and the text at 80
  // characters, so a header nested thousands deep cannot overflow the stack or the line.
  if (Array.isArray(value)) {
    if (depth >= 3) return '[...]';
    const s = `[${value.slice(0, 8).map((v) => show(v, depth + 1)).join(',')}${value.length > 8 ? ',...' : ''}]`;
    return s.length > 80 ? s.slice(0, 77) + '...' : s;
  }
  try {
    const s = JSON.stringify(value);
    return s.length > 80 ? s.slice(0, 77) + '...' : s;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** `what: expected rule, received value` */
export function expected(what: string, rule: string, received: unknown): string {
  return `${what}: expected ${rule}, received ${show(received)}`;
}
