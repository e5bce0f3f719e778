import { join } from 'node:path';
import type { StudyOutputs } from '../apps/output.js';
import { ensureDir, writeFileAtomic } from './atomic.js';

/**
 * Writes a study's figures and files into `dir` (made if missing), each atomically, and
 * returns the paths written, figures first. Throws ValidationError when `dir` cannot be made.
 */
export function writeOutputs(dir: string, o: Pick<StudyOutputs<unknown>, 'figures' | 'files'>): string[] {
  ensureDir(dir);
  const paths: string[] = [];
  for (const f of o.figures) writeFileAtomic(paths[paths.push(join(dir, f.name)) - 1]!, f.png);
  for (const f of o.files) writeFileAtomic(paths[paths.push(join(dir, f.name)) - 1]!, f.data);
  return paths;
}
