/**
 * Every command that writes checks its output before any work (issue 11, items 3, 4 and 7):
 * an output that is an input (also through a symbolic or a hard link), of the wrong kind,
 * under a file, or locked by another process is refused with exit 2 in one line, before any
 * data is read or model trained, and the input is left as it was.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { encodeIdx } from '../data/idx.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const MAIN = join(HERE, 'main.js');
const LOCK = join(HERE, '..', 'io', 'lock.js');
const dir = mkdtempSync(join(tmpdir(), 'aekit-outchk-'));
const p = (...parts: string[]) => join(dir, ...parts);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: readonly string[]): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** Runs every case, a few at a time. */
async function runAll<T>(cases: readonly T[], args: (c: T) => readonly string[]): Promise<Array<{ c: T; r: Run }>> {
  const results: Array<{ c: T; r: Run }> = new Array(cases.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < cases.length; i = next++) results[i] = { c: cases[i]!, r: await run(args(cases[i]!)) };
  };
  await Promise.all(Array.from({ length: Math.min(8, 2 * availableParallelism()) }, worker));
  return results;
}

/** The refusal contract: exit 2, one line on stderr matching `pattern`, no temp name, no training progress, nothing on stdout. Returns what is wrong, or null. */
function refusal(r: Run, pattern: RegExp, what: string): string | null {
  const err = r.stderr.trimEnd();
  const show = `${what}: exit ${r.code}, stderr: ${err.split('\n').slice(0, 3).join(' | ').slice(0, 400)}`;
  if (r.code !== 2) return `${show} (exit 2 expected)`;
  if (err.split('\n').length !== 1) return `${show} (one line expected)`;
  if (!pattern.test(err)) return `${show} (expected ${pattern})`;
  if (/\.tmp\b/.test(err)) return `${show} (a temp name)`;
  if (/epoch|training/.test(err)) return `${show} (refused only after training)`;
  if (r.stdout !== '') return `${show} (stdout: ${r.stdout.slice(0, 100)})`;
  return null;
}

/** Every case's problems at once, so one failing command does not hide another's. */
function noProblems(problems: ReadonlyArray<string | null>): void {
  const found = problems.filter((x): x is string => x !== null);
  assert.deepEqual(found, [], `${found.length} of ${problems.length} cases:\n${found.join('\n')}`);
}

function refused(r: Run, pattern: RegExp, what: string): void {
  noProblems([refusal(r, pattern, what)]);
}

const M = p('run', 'model.safetensors');
const DET = p('det', 'detector.safetensors');
const CODES = p('codes.safetensors');
const CSV = p('t.csv');
const STATE_DICT = join(HERE, '..', '..', 'test', 'fixtures', 'cases', 'torch-state-dict', 'notebook-nometa.safetensors');

/**
 * Every command that writes, with flags that keep it tiny, and its output: a file (with the
 * extension it needs) or a folder. All refusals below come before the inputs are read.
 */
const COMMANDS: ReadonlyArray<{ name: string; args: () => string[]; kind: 'file' | 'folder'; ext?: string }> = [
  { name: 'train', args: () => ['train', '--data', CSV, '--hidden', '2', '--epochs', '1'], kind: 'folder' },
  { name: 'reconstruct', args: () => ['reconstruct', '--model', M, '--count', '2'], kind: 'file', ext: '.png' },
  { name: 'kernels', args: () => ['kernels', '--model', M], kind: 'file', ext: '.png' },
  { name: 'export', args: () => ['export', '--model', M], kind: 'file', ext: '.onnx' },
  { name: 'import', args: () => ['import', '--in', STATE_DICT], kind: 'file', ext: '.safetensors' },
  { name: 'interpolate', args: () => ['interpolate', '--model', M], kind: 'file', ext: '.png' },
  { name: 'encode', args: () => ['encode', '--model', M], kind: 'file', ext: '.safetensors' },
  { name: 'decode', args: () => ['decode', '--model', M, '--codes', CODES], kind: 'file', ext: '.csv' },
  { name: 'inpaint', args: () => ['inpaint', '--model', M, '--count', '5', '--show', '2'], kind: 'folder' },
  { name: 'energy-inpaint', args: () => ['energy-inpaint', '--model', M, '--count', '5', '--steps', '1', '--show', '2'], kind: 'folder' },
  { name: 'anomaly', args: () => ['anomaly', '--data', CSV, '--epochs', '1'], kind: 'folder' },
  { name: 'score', args: () => ['score', '--model', DET, '--data', CSV], kind: 'folder' },
  { name: 'rd', args: () => ['rd', '--dims', '8', '--epochs', '1', '--limit', '100'], kind: 'folder' },
  { name: 'superres', args: () => ['superres', '--factor', '2', '--hidden', '8', '--epochs', '1', '--limit', '100', '--show', '2'], kind: 'folder' },
  { name: 'lab', args: () => ['lab', '--only', 'pca', '--epochs', '1', '--limit', '100'], kind: 'folder' },
  { name: 'manifold', args: () => ['manifold', '--epochs', '1', '--grid', '3'], kind: 'folder' },
  { name: 'notebook', args: () => ['notebook', '--epochs', '1', '--limit', '100', '--count', '5'], kind: 'folder' },
];

before(async () => {
  const rows = ['a,b,c,d'];
  for (let i = 0; i < 40; i++) rows.push([0, 1, 2, 3].map((j) => (((i * 7 + j * 3) % 11) / 10).toFixed(2)).join(','));
  writeFileSync(CSV, rows.join('\n') + '\n');
  const trained = await run(['train', '--data', CSV, '--hidden', '2', '--epochs', '1', '--out', p('run')]);
  assert.equal(trained.code, 0, trained.stderr);
  const [enc, det] = await Promise.all([run(['encode', '--model', M, '--out', CODES]), run(['anomaly', '--data', CSV, '--epochs', '1', '--out', p('det')])]);
  assert.equal(enc.code, 0, enc.stderr);
  assert.equal(det.code, 0, det.stderr);
  writeFileSync(p('file'), 'a plain file\n');
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('an output that is an input, directly, through a symbolic link or a hard link, is refused (exit 2, one line) and the input is kept byte for byte', async () => {
  /** Each case: the command with the input at `input` (a copy of a real one) and --out naming it, or its folder. */
  interface Case {
    name: string;
    how: 'same path' | 'symlink' | 'hard link';
    args: string[];
    input: string;
    pattern: RegExp;
  }
  const cases: Case[] = [];
  // Each command's main input through all three; its other inputs (links: false) by their path.
  const fileCases: Array<{ name: string; flag: string; source: string; ext: string; links: boolean; args: (input: string) => string[] }> = [
    { name: 'encode', flag: '--model', source: M, ext: '.safetensors', links: true, args: (i) => ['encode', '--model', i] },
    { name: 'encode', flag: '--in', source: CSV, ext: '.safetensors', links: false, args: (i) => ['encode', '--model', M, '--in', i] },
    { name: 'decode', flag: '--codes', source: CODES, ext: '.csv', links: true, args: (i) => ['decode', '--model', M, '--codes', i] },
    { name: 'decode', flag: '--model', source: M, ext: '.csv', links: false, args: (i) => ['decode', '--model', i, '--codes', CODES] },
    { name: 'reconstruct', flag: '--model', source: M, ext: '.png', links: true, args: (i) => ['reconstruct', '--model', i, '--count', '2'] },
    { name: 'reconstruct', flag: '--data', source: CSV, ext: '.png', links: false, args: (i) => ['reconstruct', '--model', M, '--data', i, '--count', '2'] },
    { name: 'kernels', flag: '--model', source: M, ext: '.png', links: true, args: (i) => ['kernels', '--model', i] },
    { name: 'export', flag: '--model', source: M, ext: '.onnx', links: true, args: (i) => ['export', '--model', i] },
    { name: 'import', flag: '--in', source: STATE_DICT, ext: '.safetensors', links: true, args: (i) => ['import', '--in', i] },
    { name: 'interpolate', flag: '--model', source: M, ext: '.png', links: true, args: (i) => ['interpolate', '--model', i] },
  ];
  let n = 0;
  for (const f of fileCases) {
    const input = p('in', `${n++}-${f.name}${f.ext}`);
    mkdirSync(dirname(input), { recursive: true });
    copyFileSync(f.source, input);
    const link = input.replace(f.ext, `-link${f.ext}`);
    symlinkSync(input, link);
    const hard = input.replace(f.ext, `-hard${f.ext}`);
    linkSync(input, hard);
    const pattern = new RegExp(`^ae: --out: expected a path other than the input ${f.flag} ".*", received the same file$`);
    cases.push({ name: f.name, how: 'same path', args: [...f.args(input), '--out', input, '--force'], input, pattern });
    if (!f.links) continue;
    cases.push({ name: f.name, how: 'symlink', args: [...f.args(input), '--out', link, '--force'], input, pattern });
    cases.push({ name: f.name, how: 'hard link', args: [...f.args(input), '--out', hard, '--force'], input, pattern });
  }
  // Folder outputs: one of the files the command writes there is the input.
  const folderCases: Array<{ name: string; flag: string; source: string; file: string; links: boolean; args: (input: string) => string[] }> = [
    { name: 'energy-inpaint', flag: '--model', source: M, file: 'energy.json', links: true, args: (i) => ['energy-inpaint', '--model', i, '--count', '5', '--steps', '1', '--show', '2'] },
    { name: 'inpaint', flag: '--model', source: M, file: 'inpainting.json', links: true, args: (i) => ['inpaint', '--model', i, '--count', '5', '--show', '2'] },
    { name: 'score', flag: '--data', source: CSV, file: 'scores.csv', links: true, args: (i) => ['score', '--model', DET, '--data', i] },
    { name: 'score', flag: '--model', source: DET, file: 'roc.png', links: false, args: (i) => ['score', '--model', i, '--data', CSV] },
    { name: 'anomaly', flag: '--data', source: CSV, file: 'scores.csv', links: true, args: (i) => ['anomaly', '--data', i, '--epochs', '1'] },
    { name: 'anomaly', flag: '--test-data', source: CSV, file: 'scores.csv', links: false, args: (i) => ['anomaly', '--data', CSV, '--test-data', i, '--epochs', '1'] },
  ];
  for (const f of folderCases) {
    const out = p('in', `${n++}-${f.name}`);
    mkdirSync(out, { recursive: true });
    const input = join(out, f.file);
    copyFileSync(f.source, input);
    const link = p('in', `${n}-${f.name}-link`);
    symlinkSync(input, link);
    const hard = p('in', `${n}-${f.name}-hard`);
    linkSync(input, hard);
    const pattern = new RegExp(`^ae: --out: expected a folder whose files are not inputs, received ".*", whose ${f.file.replace('.', '\\.')} is the input ${f.flag} ".*"$`);
    cases.push({ name: f.name, how: 'same path', args: [...f.args(input), '--out', out, '--force'], input, pattern });
    if (!f.links) continue;
    cases.push({ name: f.name, how: 'symlink', args: [...f.args(link), '--out', out, '--force'], input, pattern });
    cases.push({ name: f.name, how: 'hard link', args: [...f.args(hard), '--out', out, '--force'], input, pattern });
  }
  // A data folder as the output folder: train would write its model among the data.
  const idx = p('in', 'idx');
  mkdirSync(idx, { recursive: true });
  writeFileSync(join(idx, 'train-images-idx3-ubyte'), encodeIdx({ type: 'u8', dims: [20, 2, 2], data: Uint8Array.from({ length: 80 }, (_, i) => (i * 37) % 256) }));
  const idxLink = p('in', 'idx-link');
  symlinkSync(idx, idxLink);
  const idxFile = join(idx, 'train-images-idx3-ubyte');
  cases.push({ name: 'train', how: 'same path', args: ['train', '--data', idx, '--hidden', '2', '--epochs', '1', '--out', idx, '--force'], input: idxFile, pattern: /^ae: --out: expected a folder other than the input folder --data ".*idx", received the same folder ".*idx"$/ });
  cases.push({ name: 'train', how: 'symlink', args: ['train', '--data', idxLink, '--hidden', '2', '--epochs', '1', '--out', idx, '--force'], input: idxFile, pattern: /^ae: --out: expected a folder other than the input folder --data ".*idx-link", received the same folder/ });
  cases.push({ name: 'reconstruct', how: 'same path', args: ['reconstruct', '--model', M, '--data', idx, '--out', join(idx, 'r.png')], input: idxFile, pattern: /^ae: --out: expected a path outside the input folder --data ".*idx", received ".*idx\/r\.png"$/ });

  const before = new Map(cases.map((c) => [c.input, readFileSync(c.input)]));
  const problems: Array<string | null> = [];
  for (const { c, r } of await runAll(cases, (c) => c.args)) {
    const what = `ae ${c.name} (${c.how}): ${c.args.join(' ')}`;
    const changed = readFileSync(c.input).equals(before.get(c.input)!) ? null : `${what}: the input was changed`;
    const refused = refusal(r, c.pattern, what);
    problems.push(refused && changed ? `${refused}; the input was changed` : refused ?? changed);
  }
  noProblems(problems);
});

test('every writing command: a folder where a file is expected, a file where a folder is, and a path under a file are refused at once (exit 2, one line)', async () => {
  interface Case {
    name: string;
    args: string[];
    pattern: RegExp;
  }
  const cases: Case[] = [];
  for (const c of COMMANDS) {
    if (c.kind === 'file') {
      const folder = p('kind', `${c.name}${c.ext}`);
      mkdirSync(folder, { recursive: true });
      cases.push({ name: c.name, args: [...c.args(), '--out', folder, '--force'], pattern: /^ae: --out: expected a file path, received the directory ".*"$/ });
      cases.push({ name: c.name, args: [...c.args(), '--out', join(p('file'), 'deeper', `x${c.ext}`), '--force'], pattern: /^ae: --out: expected a path whose folders exist or can be made, received ".*file\/deeper\/x\.\w+", under the file ".*file"$/ });
    } else {
      cases.push({ name: c.name, args: [...c.args(), '--out', p('file'), '--force'], pattern: /^ae: --out: expected a folder, received the file ".*file"$/ });
      cases.push({ name: c.name, args: [...c.args(), '--out', join(p('file'), 'x'), '--force'], pattern: /^ae: --out: expected a path whose folders exist or can be made, received ".*file\/x", under the file ".*file"$/ });
    }
    // Under /proc nothing can be made, even by root (the same code path for every command: a few of them).
    if (['kernels', 'notebook'].includes(c.name)) cases.push({ name: c.name, args: [...c.args(), '--out', `/proc/aekit-nowhere/x${c.ext ?? ''}`], pattern: /^ae: --out: expected a path (whose folder exists or can be created, received "\/proc\/aekit-nowhere\/x(\.\w+)?" \(ENOENT for \/proc\/aekit-nowhere\)|in a folder this user can write, .*)$/ });
  }
  // The notebook's own files: a folder in the way of one of them.
  mkdirSync(p('nb', 'index.md'), { recursive: true });
  cases.push({ name: 'notebook', args: [...COMMANDS.find((c) => c.name === 'notebook')!.args(), '--out', p('nb'), '--force'], pattern: /^ae: --out: expected ".*nb\/index\.md" to be a file it can replace, received a folder$/ });
  writeFileSync(p('file-in-the-way'), 'x');
  mkdirSync(p('nb2'));
  writeFileSync(p('nb2', 'inpainting'), 'not a folder');
  cases.push({ name: 'notebook', args: [...COMMANDS.find((c) => c.name === 'notebook')!.args(), '--out', p('nb2'), '--force'], pattern: /^ae: --out: expected ".*nb2\/inpainting" to be a folder \(for inpainting\.\w+\), received a file$/ });
  noProblems((await runAll(cases, (c) => c.args)).map(({ c, r }) => refusal(r, c.pattern, `ae ${c.name}: ${c.args.join(' ')}`)));
  assert.equal(readFileSync(p('file'), 'utf8'), 'a plain file\n');
});

test('ae lab checks its output before training any study, and a missing parent folder is made', async () => {
  const r = await run(['lab', '--only', 'pca', '--epochs', '1', '--limit', '100', '--out', join(p('file'), 'lab')]);
  refused(r, /^ae: --out: expected a path whose folders exist or can be made/, 'ae lab under a file');
  assert.doesNotMatch(r.stderr, /ae lab:/, 'no study started');
  // Missing parents are made, as ae train always did.
  const ok = await run(['reconstruct', '--model', M, '--count', '2', '--out', p('made', 'a', 'b', 'r.png')]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(readFileSync(p('made', 'a', 'b', 'r.png')).length > 0);
});

test('every writing command refuses an output another live process has locked, naming its pid (exit 2, one line)', async () => {
  const targets = COMMANDS.map((c) => ({ c, out: p('locked', `${c.name}${c.kind === 'file' ? c.ext : ''}`) }));
  const holder: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', `const { lockOutput } = await import(${JSON.stringify(LOCK)}); for (const t of ${JSON.stringify(targets.map((t) => t.out))}) lockOutput(t); console.log('locked'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [line] = (await once(holder.stdout!, 'data')) as [Buffer];
    assert.equal(line.toString().trim(), 'locked');
    const results = await runAll(targets, (t) => [...t.c.args(), '--out', t.out, '--force']);
    noProblems(results.map(({ c, r }) => refusal(r, new RegExp(`^ae: --out: expected an output no other run is writing, received ".*locked/${c.c.name}(\\.\\w+)?": process ${holder.pid} \\(.*\\) has been writing it since `), `ae ${c.c.name} with a held lock`)));
  } finally {
    holder.kill('SIGKILL');
    await once(holder, 'exit');
  }
});
