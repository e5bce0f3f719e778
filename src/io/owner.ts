import { readFileSync } from 'node:fs';

/**
 * Whether a process that wrote a file is gone, so the file is stale (a temp file or a lock left
 * by a killed run). Linux's /proc gives each process's start time; a pid that is alive but whose
 * process started after `sinceMs` is a reused pid, not the writer. Without /proc only liveness
 * counts. Never true for this process.
 */
export function writerGone(pid: number, sinceMs: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return true;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  const started = processStartMs(pid);
  // A second of slack: start times are rounded to clock ticks and the boot time to seconds.
  return started !== null && started > sinceMs + 1000;
}

let bootMs: number | null | undefined;

/** When process `pid` started, in ms since the epoch, from /proc (null where there is none). */
export function processStartMs(pid: number): number | null {
  try {
    if (bootMs === undefined) {
      const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
      bootMs = btime ? Number(btime[1]) * 1000 : null;
    }
    if (bootMs === null) return null;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Field 22 (starttime) is the 20th after the name, in clock ticks since boot (USER_HZ, 100 on Linux).
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? bootMs + ticks * 10 : null;
  } catch {
    return null;
  }
}
