import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { resolveBackend } from '../backends/index.js';
import type { Backend } from '../core/backend.js';
import type { Dataset } from '../data/dataset.js';
import { evalDataset, type EvalSource } from '../data/recorded.js';
import { readOptionsFrom, type ReadFlags } from './data-flags.js';
import { loadModel, type LoadedModel } from '../io/model-file.js';
import { UsageError } from './exit.js';
import { intFlag } from './options.js';

/** Resolves --backend (auto's fallback to js is announced by main's warning before the command runs). */
export function backendFrom(choice: string): Backend {
  return resolveBackend(choice).backend;
}

export function loadModelFlag(path: string, backendChoice: string): LoadedModel {
  return loadModel(path, backendFrom(backendChoice));
}

export { trainingRecord, readOptionsFor, matchColumns, checkRecord, modelImage, type EvalSource } from '../data/recorded.js';

/** evalDataset with the flags as given: --limit checked here, the read flags turned into options. */
export async function evalData(
  loaded: LoadedModel,
  dataFlag: string | undefined,
  limitFlag: string | number | undefined,
  read: ReadFlags = {},
  flag = '--data',
): Promise<Dataset & { evalSource: EvalSource }> {
  const limit = typeof limitFlag === 'string' ? intFlag('--limit', limitFlag) : limitFlag;
  return evalDataset(loaded, dataFlag, limit, readOptionsFrom(read), flag);
}

/**
 * Checks a file output before any work: the extension, not a directory, and not an existing
 * file unless `force` (every command's --force), so nothing is replaced by accident.
 */
export function checkFileOutput(flag: string, path: string, ext: string, force = false): void {
  if (!path.toLowerCase().endsWith(ext)) throw new UsageError(`${flag}: expected a path ending in ${ext}, received "${path}"`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`${flag}: expected a file path, received the directory "${path}"`);
  if (existsSync(path) && !force) throw new UsageError(`${flag}: expected a path that does not exist yet (pass --force to replace it), received the existing file "${path}"`);
}

/**
 * Checks a folder output before any work: not a file, and none of the `files` the command
 * writes there already present unless `force`, so one run never silently replaces another's.
 */
export function checkOutputFolder(flag: string, dir: string, files: readonly string[], force = false): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UsageError(`${flag}: expected a folder, received the file "${dir}"`);
  if (force) return;
  const present = files.filter((f) => existsSync(join(dir, f)));
  if (present.length > 0) throw new UsageError(`${flag}: expected a folder without ${present.join(', ')} (pass --force to replace them), received "${dir}" which has them`);
}
