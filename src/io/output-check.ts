/**
 * Every command's output check, made once before any work: the output (a file or a folder of
 * files) is of the right kind, in a place that can be written, writes over none of the
 * command's inputs, replaces nothing without `force`, and is locked for this process
 * (io/lock.ts) until its files are written. Missing parent folders are made (and removed again
 * on release while still empty), as `ae train` always did; a parent that cannot be made is
 * refused. Every refusal is one ValidationError line naming the flag and the user's path (exit
 * 2 in the CLI), never a temp file's name.
 */
import { accessSync, constants, lstatSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { ValidationError } from '../core/errors.js';
import { lockOutput, type OutputLock } from './lock.js';

/** An input of the command: its flag (or what names it in a message) and its path; missing paths and "mnist" are skipped. */
export interface InputPath {
  flag: string;
  path: string | null | undefined;
}

export interface OutputSpec {
  /** The flag naming the output in messages; default --out. */
  flag?: string;
  path: string;
  kind: 'file' | 'folder';
  /** A file's extension(s), lower case with the dot (.png). */
  ext?: string | readonly string[];
  /** A folder's files the command writes (paths relative to it, subfolders allowed: standard/kernels.png). */
  files?: readonly string[];
  /** Other names in the folder that belong to the command (anomaly's detector-holdout-K.safetensors): present ones count as its files. */
  also?: (name: string) => boolean;
  /** Replace existing outputs (the command's --force). */
  force?: boolean;
  inputs?: readonly InputPath[];
}

export interface OutputClaim {
  readonly path: string;
  /** The lock on the output, held until release(). */
  readonly lock: OutputLock;
  /** A folder's files of the command already there (to remove before writing the new ones, so two runs never mix). */
  readonly present: readonly string[];
  release(): void;
}

/**
 * Checks an output and locks it: see the module comment. Call once, before reading data or
 * training; release() (or the process's exit) frees the lock. Throws ValidationError.
 */
export function claimOutputs(spec: OutputSpec): OutputClaim {
  checkPlace(spec);
  const flag = spec.flag ?? '--out';
  const lock = lockOutput(spec.path, flag);
  try {
    // Under the lock, so no other writer can add files between this check and the writes (and a
    // run writing the output now is named as such, not as files already there).
    const present = checkExisting(spec);
    return { path: spec.path, lock, present, release: () => lock.release() };
  } catch (err) {
    lock.release();
    throw err;
  }
}

/** The checks of claimOutputs without taking the lock: kind, place, inputs, and existing files unless `force`. Writes nothing. */
export function checkOutputs(spec: OutputSpec): void {
  checkPlace(spec);
  checkExisting(spec);
}

/** Kind, place and inputs: everything but the files already there. */
function checkPlace(spec: OutputSpec): void {
  const flag = spec.flag ?? '--out';
  const { path, kind } = spec;
  if (kind === 'file' && spec.ext !== undefined) {
    const exts = typeof spec.ext === 'string' ? [spec.ext] : spec.ext;
    if (!exts.some((e) => path.toLowerCase().endsWith(e))) throw new ValidationError(`${flag}: expected a path ending in ${exts.join(' or ')}, received "${path}"`);
  }
  const st = statOf(path, flag);
  if (st !== null) {
    if (kind === 'file' && st.isDirectory()) throw new ValidationError(`${flag}: expected a file path, received the directory "${path}"`);
    if (kind === 'file' && !st.isFile()) throw new ValidationError(`${flag}: expected a regular file path, received "${path}", which is ${what(st)}`);
    if (kind === 'folder' && !st.isDirectory()) throw new ValidationError(`${flag}: expected a folder, received the file "${path}"`);
  } else if (isLink(path)) {
    if (kind === 'folder') throw new ValidationError(`${flag}: expected a folder, received "${path}", a link to a path that does not exist`);
  }
  // Where new entries are made: the folder itself, a file's folder, or the nearest existing folder above (the missing ones are made there).
  const base = kind === 'folder' ? path : dirname(path);
  const near = nearestExisting(base, flag);
  if (!near.st.isDirectory()) {
    throw new ValidationError(`${flag}: expected a path whose folders exist or can be made, received "${path}", under the file "${shown(near.path)}"`);
  }
  try {
    accessSync(near.path, constants.W_OK);
  } catch (err) {
    throw new ValidationError(`${flag}: expected a path in a folder this user can write, received "${path}" (${(err as NodeJS.ErrnoException).code ?? 'an error'} for the folder "${shown(near.path)}")`);
  }
  if (kind === 'folder') checkFolderShape(spec, flag);
  checkInputs(spec, spec.inputs ?? []);
}

/**
 * Refuses an output that is one of `inputs` (the same file after links: equal real paths, or
 * equal device and inode, so hard links count), a folder output whose files would replace an
 * input, and files written straight into an input folder (the data would change under the
 * next read). Also for inputs known only later (a model's recorded training data).
 */
export function checkInputs(spec: OutputSpec, inputs: readonly InputPath[]): void {
  const flag = spec.flag ?? '--out';
  const known = inputs.flatMap((i) => {
    if (typeof i.path !== 'string' || i.path === '' || i.path === 'mnist') return [];
    let st: Stats;
    let real: string;
    try {
      st = statSync(i.path);
      real = realpathSync(i.path);
    } catch {
      return []; // Its own reader names the problem.
    }
    return [{ flag: i.flag, path: i.path, st, real }];
  });
  if (known.length === 0) return;
  for (const name of writtenNames(spec)) {
    const target = spec.kind === 'file' ? spec.path : join(spec.path, name);
    const tst = statOrNull(target);
    const treal = realOf(target);
    const parentReal = realOf(dirname(target));
    for (const k of known) {
      const same = treal === k.real || (tst !== null && tst.dev === k.st.dev && tst.ino === k.st.ino);
      if (same && spec.kind === 'file') throw new ValidationError(`${flag}: expected a path other than the input ${k.flag} "${k.path}", received the same file`);
      if (same) throw new ValidationError(`${flag}: expected a folder whose files are not inputs, received "${spec.path}", whose ${name} is the input ${k.flag} "${k.path}"`);
      if (k.st.isDirectory() && parentReal === k.real) {
        if (spec.kind === 'folder' && !name.includes('/')) throw new ValidationError(`${flag}: expected a folder other than the input folder ${k.flag} "${k.path}", received the same folder "${spec.path}"`);
        throw new ValidationError(`${flag}: expected a path outside the input folder ${k.flag} "${k.path}", received "${target}"`);
      }
    }
  }
}

/** The names written (a file: its own; a folder: its files and the present names it owns). */
function writtenNames(spec: OutputSpec): string[] {
  if (spec.kind === 'file') return [basename(spec.path)];
  const names = [...(spec.files ?? [])];
  if (spec.also) for (const n of listDir(spec.path)) if (spec.also(n) && !names.includes(n)) names.push(n);
  return names;
}

/** A folder's files of the command already present; throws unless `force`. */
function checkExisting(spec: OutputSpec): string[] {
  const flag = spec.flag ?? '--out';
  if (spec.kind === 'file') {
    if (!spec.force && (statOrNull(spec.path) !== null || isLink(spec.path))) {
      throw new ValidationError(`${flag}: expected a path that does not exist yet (pass --force to replace it), received the existing file "${spec.path}"`);
    }
    return [];
  }
  const listed = (spec.files ?? []).filter((f) => exists(join(spec.path, f)));
  const extra = spec.also ? listDir(spec.path).filter((n) => spec.also!(n) && !listed.includes(n) && !(spec.files ?? []).includes(n)).sort() : [];
  const present = [...listed, ...extra];
  if (present.length > 0 && !spec.force) {
    throw new ValidationError(`${flag}: expected a folder without ${present.join(', ')} (pass --force to replace them), received "${spec.path}" which has them`);
  }
  return present;
}

/** Each file's place in the folder: its subfolders folders, itself a file (or absent), whatever --force says. */
function checkFolderShape(spec: OutputSpec, flag: string): void {
  for (const f of writtenNames(spec)) {
    const parts = f.split('/');
    for (let i = 1; i < parts.length; i++) {
      const sub = join(spec.path, ...parts.slice(0, i));
      const st = statOrNull(sub);
      if (st !== null && !st.isDirectory()) throw new ValidationError(`${flag}: expected "${sub}" to be a folder (for ${parts.slice(i).join('/')}), received a file`);
    }
    const p = join(spec.path, f);
    const st = statOrNull(p);
    if (st !== null && !st.isFile()) throw new ValidationError(`${flag}: expected "${p}" to be a file it can replace, received ${what(st)}`);
  }
}

function what(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a pipe';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** The path as the user would read it: relative to the working folder when under it. */
function shown(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel === '' ? '.' : rel.startsWith('..') || rel.startsWith(sep) ? abs : rel;
}

function statOrNull(p: string): Stats | null {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

/** stat, null for a path that is not there (ENOENT, or under a file: ENOTDIR); other failures are refused. */
function statOf(p: string, flag: string): Stats | null {
  try {
    return statSync(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new ValidationError(`${flag}: expected a path that can be looked at, received "${p}" (${code ?? 'an error'})`);
  }
}

function exists(p: string): boolean {
  return statOrNull(p) !== null || isLink(p);
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

function listDir(p: string): string[] {
  try {
    return readdirSync(p);
  } catch {
    return [];
  }
}

/** The nearest path at or above `p` that exists (the root always does). */
function nearestExisting(p: string, flag: string): { path: string; st: Stats } {
  let q = resolve(p);
  for (;;) {
    const st = statOf(q, flag);
    if (st !== null) return { path: q, st };
    const up = dirname(q);
    if (up === q) throw new ValidationError(`${flag}: expected a path on a file system that exists, received "${p}"`);
    q = up;
  }
}

/** The real path of `p`, whether or not it exists: the nearest existing folder's, resolved, and the rest. */
function realOf(p: string): string {
  const abs = resolve(p);
  let q = abs;
  for (;;) {
    try {
      const real = realpathSync(q);
      return q === abs ? real : join(real, relative(q, abs));
    } catch {
      const up = dirname(q);
      if (up === q) return abs;
      q = up;
    }
  }
}
