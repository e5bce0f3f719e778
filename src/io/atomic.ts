import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ValidationError } from '../core/errors.js';
import { constants as osConstants } from 'node:os';
import { unnamedFileCalls } from '../backends/native/index.js';
import { writerGone } from './owner.js';

/**
 * Whether saves write an unnamed file first (Linux's O_TMPFILE, through the native addon).
 * `AEKIT_NAMED_TEMPS=1` turns it off, so tests can exercise the named-temp path that other
 * systems and file systems use.
 */
function unnamedTemps(): boolean {
  return process.platform === 'linux' && process.env.AEKIT_NAMED_TEMPS !== '1';
}

/** A Node-style error (`code`, `errno`, `syscall`, `path`) for an errno the addon returned. */
function errnoError(errno: number, syscall: string, path: string): NodeJS.ErrnoException {
  const code = Object.entries(osConstants.errno).find(([, v]) => v === errno)?.[0] ?? `errno ${errno}`;
  const e: NodeJS.ErrnoException = new Error(`${code}: ${syscall} '${path}'`);
  e.code = code;
  e.errno = -errno;
  e.syscall = syscall;
  e.path = path;
  return e;
}

/**
 * Distinguishes temp files made by this process. Together with the pid and a high-resolution
 * clock it makes collisions practically impossible without any randomness, which library code
 * must not use (runs have to be reproducible from their seed).
 */
let tempCounter = 0;

/**
 * The temp files' names: `.<target name, at most 64 units>.<pid>.<counter>.<hrtime>.tmp`, so a
 * leftover can be told from a user's file and traced to the process that wrote it.
 */
export const TEMP_NAME = /^\..*\.(\d+)\.\d+\.\d+\.tmp$/;

/** Temp files this process is writing now: removeLiveTemps deletes them (a signal handler's job). */
const liveTemps = new Set<string>();

/** Folders already swept of stale temp files by this process. */
const swept = new Set<string>();

/**
 * Removes the temp files in `dir` left by writers that are gone (killed during a save): names
 * matching TEMP_NAME whose pid is not running, or is running but started after the file was
 * last written (a reused pid). A live writer's temp file is never touched. Returns the names
 * removed. Errors (an unreadable folder, a file removed meanwhile) are ignored: sweeping is
 * housekeeping, never a reason to fail a save.
 */
export function removeStaleTemps(dir: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m) continue;
    const path = join(dir, name);
    try {
      if (liveTemps.has(path) || !writerGone(Number(m[1]), statSync(path).mtimeMs)) continue;
      unlinkSync(path);
      removed.push(name);
    } catch {
      // Gone already, or not ours to remove.
    }
  }
  return removed;
}

/** Deletes the temp files this process has open (for SIGINT/SIGTERM handlers, before exiting). */
export function removeLiveTemps(): void {
  for (const path of liveTemps) {
    try {
      unlinkSync(path);
    } catch {
      // Already renamed into place or removed.
    }
  }
  liveTemps.clear();
}

/**
 * Writes `data` to `path` so that readers see either the old file or the complete new one.
 *
 * The bytes go to a temp file in the same directory (a rename is atomic only within one file
 * system), are fsynced (so a crash after the rename cannot expose an empty or partial file),
 * and the temp file is then renamed over the target. On any failure the temp file is removed
 * and the original error is rethrown, leaving the target as it was. On Linux with the native
 * addon the temp file is unnamed (O_TMPFILE) until complete, so a writer killed by SIGKILL
 * leaves nothing unless killed between naming and renaming it (microseconds). The first write
 * into a folder also removes stale temp files there (removeStaleTemps): a write killed by
 * SIGKILL elsewhere leaves its named temp file, and the next write cleans it up.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string | Iterable<Uint8Array | string>): void {
  const target = resolve(path);
  const dir = dirname(target);
  // The base is shortened so a long (but valid) target name cannot push the temp name past
  // the file system's 255-byte limit; 64 UTF-16 units stay under it even at 3 bytes each.
  const base = basename(target).slice(0, 64);
  if (!swept.has(dir)) {
    // The first write into a folder clears what killed writers left there.
    swept.add(dir);
    removeStaleTemps(dir);
  }
  tempCounter += 1;
  const temp = join(dir, `.${base}.${process.pid}.${tempCounter}.${process.hrtime.bigint()}.tmp`);

  // Where the kernel allows, the bytes go to an unnamed file (O_TMPFILE) that is given the temp
  // name only once complete, just before the rename: a writer killed by SIGKILL mid-save then
  // leaves nothing behind, not even a stale temp file. Elsewhere a named temp file is used;
  // 'wx' refuses to reuse an existing file, so two writers can never share one.
  const calls = unnamedTemps() ? unnamedFileCalls() : null;
  let fd = calls ? calls.openUnnamed(dir) : -1;
  const unnamed = fd >= 0;
  if (!unnamed) {
    try {
      fd = openSync(temp, 'wx');
    } catch (err) {
      // The folder is missing or not writable: the user's path, named in one line.
      const code = (err as NodeJS.ErrnoException).code ?? 'an error';
      throw new ValidationError(`${path}: expected a file in a folder that exists and can be written, received ${code} for the folder ${dir}`);
    }
    liveTemps.add(temp);
  }
  let fdOpen = true;
  try {
    // Parts (a safetensors file's header and tensors, a CSV's chunks) are written one after another, never joined.
    const parts: Iterable<Uint8Array | string> = typeof data === 'string' || data instanceof Uint8Array ? [data] : data;
    for (const part of parts) {
      const bytes = typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
      // writeSync may write fewer bytes than asked (large buffers, some file systems).
      let written = 0;
      while (written < bytes.byteLength) {
        written += writeSync(fd, bytes, written, bytes.byteLength - written);
      }
    }
    fsyncSync(fd);
    if (unnamed) {
      liveTemps.add(temp);
      const r = calls!.linkUnnamed(fd, temp);
      if (r < 0) throw errnoError(-r, 'link', temp);
    }
    fdOpen = false;
    closeSync(fd);
    renameSync(temp, target);
    liveTemps.delete(temp);
  } catch (err) {
    if (fdOpen) {
      try {
        closeSync(fd);
      } catch {
        // The original error matters more than a failed close.
      }
    }
    try {
      unlinkSync(temp);
    } catch {
      // Already gone (or never named), or the directory became unwritable.
    }
    liveTemps.delete(temp);
    throw err;
  }
  syncDirectory(dir);
}

/**
 * Creates `path` and any missing parents, one level at a time. Not mkdirSync's `recursive`
 * option: on Linux that loops forever under /proc (mkdir there fails with ENOENT, which
 * the recursive walk takes for a missing parent and retries). Throws ValidationError, one
 * line naming the path and the system's code (ENOENT, EACCES, ENOTDIR, EEXIST for a file in
 * the way), when a level cannot be made.
 */
export function ensureDir(path: string): void {
  try {
    makeDirs(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message.split('\n')[0];
    throw new ValidationError(`${path}: expected a folder that exists or can be created, received ${code} (${(err as Error).message.split('\n')[0]})`);
  }
}

function makeDirs(path: string): void {
  const missing: string[] = [];
  let p = resolve(path);
  for (;;) {
    try {
      if (statSync(p).isDirectory()) break;
      const err = new Error(`EEXIST: file already exists, mkdir '${p}'`) as NodeJS.ErrnoException;
      err.code = 'EEXIST';
      throw err;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    missing.push(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  for (const dir of missing.reverse()) mkdirSync(dir);
}

/**
 * Persists the directory entry created by the rename. Best effort: some platforms (Windows)
 * cannot open or fsync a directory, and the file itself is complete either way.
 */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // See above: durability of the rename is a bonus, not a requirement.
  } finally {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // Nothing useful to do.
      }
    }
  }
}
