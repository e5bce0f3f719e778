/**
 * One writer per output: a lock file beside the output (`.<name>.aekit.lock` in its parent
 * folder, or `.aekit.lock` inside an output folder whose parent cannot be written), created with
 * O_EXCL and naming its holder's pid, host, start time and command.
 *
 * Why not proper-lockfile: it tells a dead holder from a live one by an mtime the holder
 * refreshes on a timer, and training runs synchronously for minutes between event-loop turns,
 * so the timer does not fire. Tried with proper-lockfile 4.1.2: a second process took the lock
 * of a live holder 13 s into a 16 s synchronous loop. Here a lock is stale only when its holder's
 * pid is gone on this host (or was reused: the process started after the lock was written),
 * which a SIGKILL leaves and the next writer then takes over.
 */
import { accessSync, closeSync, constants, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ValidationError } from '../core/errors.js';
import { writerGone } from './owner.js';

/** A held lock; release() is idempotent and also runs when the process exits. */
export interface OutputLock {
  /** The lock file. */
  readonly path: string;
  release(): void;
}

interface Owner {
  pid: number;
  host: string;
  /** When the holder took the lock, ISO 8601. */
  since: string;
  command: string;
}

const held = new Set<OutputLock>();
let exitHook = false;

/** Where the lock for output `target` (a file or a folder) lives. */
export function lockPathFor(target: string): string {
  const abs = resolve(target);
  const parent = dirname(abs);
  if (parent === abs) return join(abs, '.aekit.lock');
  try {
    accessSync(parent, constants.W_OK);
  } catch {
    // A parent we cannot write (an output folder in a read-only place): the lock goes inside.
    if (isDir(abs)) return join(abs, '.aekit.lock');
  }
  return join(parent, `.${basename(abs)}.aekit.lock`);
}

/**
 * Takes the lock for writing `target` (an output file or folder; it need not exist, its missing
 * parent folders are made and removed again on release when still empty). Throws ValidationError
 * (one line naming `flag`, the path and the other process) when a live process holds it; takes
 * over a lock whose holder is gone.
 */
export function lockOutput(target: string, flag = '--out'): OutputLock {
  const created = makeParents(dirname(resolve(target)), flag, target);
  const path = lockPathFor(target);
  const me: Owner = { pid: process.pid, host: hostname(), since: new Date().toISOString(), command: commandLine() };
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' || attempt >= 3) {
        removeEmpty(created);
        throw new ValidationError(`${flag}: expected an output that can be locked for writing, received "${target}" (${code ?? 'an error'} creating ${path})`);
      }
      const owner = readOwner(path);
      if (owner === 'stale') {
        takeOver(path);
        continue;
      }
      removeEmpty(created);
      const who = owner ? `process ${owner.pid}${owner.host === me.host ? '' : ` on ${owner.host}`} (${owner.command}) has been writing it since ${owner.since}` : 'another process is writing it';
      throw new ValidationError(`${flag}: expected an output no other run is writing, received "${target}": ${who}; wait for it, or delete ${path} if that process is gone`);
    }
    try {
      writeSync(fd, JSON.stringify(me) + '\n');
    } finally {
      closeSync(fd);
    }
    break;
  }
  let released = false;
  const lock: OutputLock = {
    path,
    release() {
      if (released) return;
      released = true;
      held.delete(lock);
      const owner = readOwner(path);
      // Only our own lock is removed (a lock taken over after ours went stale is not).
      if (owner && owner !== 'stale' && owner.pid === me.pid && owner.since === me.since) {
        try {
          unlinkSync(path);
        } catch {
          // Already gone.
        }
      }
      removeEmpty(created);
    },
  };
  held.add(lock);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', releaseAllLocks);
  }
  return lock;
}

/** Releases every lock this process holds (the exit hook; signal handlers call it before exiting). */
export function releaseAllLocks(): void {
  for (const lock of [...held]) lock.release();
}

/** The holder named in a lock file, 'stale' when it is gone, null when the file cannot be read as a lock (being written now). */
function readOwner(path: string): Owner | 'stale' | null {
  let text: string;
  let mtimeMs: number;
  try {
    mtimeMs = statSync(path).mtimeMs;
    text = readFileSync(path, 'utf8');
  } catch {
    // Removed meanwhile: free, so stale (the next attempt creates it).
    return 'stale';
  }
  let o: Partial<Owner>;
  try {
    o = JSON.parse(text) as Partial<Owner>;
  } catch {
    // A holder killed between creating the file and writing it leaves it empty; a live one fills it within microseconds.
    return Date.now() - mtimeMs > 10_000 ? 'stale' : null;
  }
  if (typeof o.pid !== 'number' || typeof o.host !== 'string') return Date.now() - mtimeMs > 10_000 ? 'stale' : null;
  const owner: Owner = { pid: o.pid, host: o.host, since: String(o.since ?? ''), command: String(o.command ?? '').slice(0, 120) };
  // A holder on another host cannot be checked from here: it holds the lock until someone deletes it.
  if (owner.host === hostname() && writerGone(owner.pid, mtimeMs)) return 'stale';
  return owner;
}

/** Removes a stale lock: renamed away first, so two processes taking over race on one atomic rename, not on an unlink. */
function takeOver(path: string): void {
  const aside = `${path}.${process.pid}.stale`;
  try {
    renameSync(path, aside);
    unlinkSync(aside);
  } catch {
    // Another process took it over first; the next attempt sees its lock.
  }
}

/** What the holder runs, for the refusal: `ae` and its arguments (a library caller's script and its arguments). */
function commandLine(): string {
  const script = basename(process.argv[1] ?? 'node');
  const args = process.argv.slice(2).join(' ');
  return `${script === 'main.js' ? 'ae' : script} ${args}`.trim().slice(0, 120);
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Makes the missing folders above an output; returns them, deepest first, for removeEmpty. */
function makeParents(dir: string, flag: string, target: string): string[] {
  const missing: string[] = [];
  let p = dir;
  while (!isDir(p)) {
    missing.push(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  const made: string[] = [];
  for (const d of [...missing].reverse()) {
    try {
      mkdirSync(d);
      made.unshift(d);
    } catch (err) {
      removeEmpty(made);
      const code = (err as NodeJS.ErrnoException).code ?? 'an error';
      throw new ValidationError(`${flag}: expected a path whose folder exists or can be created, received "${target}" (${code} for ${d})`);
    }
  }
  return made;
}

/** Removes folders this lock made, deepest first, while they are empty. */
function removeEmpty(dirs: string[]): void {
  for (const d of dirs) {
    try {
      if (readdirSync(d).length > 0) return;
      rmdirSync(d);
    } catch {
      return;
    }
  }
}
