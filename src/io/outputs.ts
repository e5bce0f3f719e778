import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { StudyOutputs } from '../apps/output.js';
import { ensureDir, writeFileAtomic } from './atomic.js';

/**
 * Writes a study's figures and files into `dir` (made if missing), each atomically, and
 * returns the paths written, figures first. The files of an earlier study by those names are
 * removed first, so a write cut short leaves some of the new study's files, never a mix of two.
 * Throws ValidationError when `dir` cannot be made.
 */
export function writeOutputs(dir: string, o: Pick<StudyOutputs<unknown>, 'figures' | 'files'>): string[] {
  ensureDir(dir);
  for (const f of [...o.figures, ...o.files]) rmSync(join(dir, f.name), { force: true });
  const paths: string[] = [];
  for (const f of o.figures) writeFileAtomic(paths[paths.push(join(dir, f.name)) - 1]!, f.png);
  for (const f of o.files) writeFileAtomic(paths[paths.push(join(dir, f.name)) - 1]!, f.data);
  return paths;
}
