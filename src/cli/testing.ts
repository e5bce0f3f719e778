/**
 * Test support for the `ae` command (used by the CLI test files; not part of the library):
 * runs the built CLI in a child process, and checks the bad-usage contract.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function ae(...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Bad usage: exit code 2 and exactly one line on stderr, matching `pattern`. */
export function usage(args: string[], pattern: RegExp): CliResult {
  const r = ae(...args);
  assert.equal(r.code, 2, `exit code for ${args.join(' ')}: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line expected, got: ${r.stderr}`);
  assert.match(lines[0]!, pattern);
  return r;
}
