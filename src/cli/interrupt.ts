import { removeLiveTemps } from '../io/atomic.js';
import { releaseAllLocks } from '../io/lock.js';

/** The signals a run stops on cleanly. */
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Runs `work` with SIGINT and SIGTERM turned into an abort of the signal it receives: a
 * training loop that passes the signal on (fitAsync) stops at the next batch boundary and
 * rejects with InterruptedError, after which the CLI exits 130 or 143 with its folder holding
 * the last completed epoch, its lock released and no temp file left. A second signal exits at
 * once, after removing this process's temp files and locks. The handlers are removed when
 * `work` settles, so a command's other phases keep the default behaviour (an immediate exit).
 */
export async function withInterrupts<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (name: (typeof SIGNALS)[number]) => {
    if (controller.signal.aborted) {
      removeLiveTemps();
      releaseAllLocks();
      process.exit(name === 'SIGINT' ? 130 : 143);
    }
    controller.abort(name);
  };
  const handlers = SIGNALS.map((name) => [name, () => onSignal(name)] as const);
  for (const [name, h] of handlers) process.on(name, h);
  try {
    return await work(controller.signal);
  } finally {
    for (const [name, h] of handlers) process.off(name, h);
    removeLiveTemps();
  }
}
