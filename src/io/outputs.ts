import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { StudyOutputs } from '../apps/output.js';
import { ensureDir, writeFileAtomic } from './atomic.js';

/** One file of a folder output; `data` is read only when the file is written. */
export interface FolderFile {
  readonly name: string;
  readonly data: string | Uint8Array;
}

/**
 * Writes `files` into `dir` (made if missing), each atomically, and returns the paths written.
 * The files by those names, and the `replaced` ones (an earlier run's files of the same
 * command, as claimOutputs found them), are removed first, so a write cut short leaves some of
 * the new run's files, never a mix of two. Throws ValidationError when `dir` cannot be made.
 */
export function writeFolder(dir: string, files: readonly FolderFile[], replaced: readonly string[] = []): string[] {
  ensureDir(dir);
  for (const name of new Set([...replaced, ...files.map((f) => f.name)])) rmSync(join(dir, name), { force: true });
  const paths: string[] = [];
  for (const f of files) writeFileAtomic(paths[paths.push(join(dir, f.name)) - 1]!, f.data);
  return paths;
}

/** writeFolder for a study's figures and files, figures first. */
export function writeOutputs(dir: string, o: Pick<StudyOutputs<unknown>, 'figures' | 'files'>, replaced: readonly string[] = []): string[] {
  const figures: FolderFile[] = o.figures.map((f) => ({ name: f.name, data: f.png }));
  return writeFolder(dir, [...figures, ...o.files], replaced);
}

/** [name, data] pairs as folder files. */
export function folderFiles(pairs: ReadonlyArray<readonly [string, string | Uint8Array]>): FolderFile[] {
  return pairs.map(([name, data]) => ({ name, data }));
}
