#!/usr/bin/env node
// Hostile files through the CLI: mutants of a real model file and of a real codes file, each
// read by an `ae` command in its own process. Every run must end with exit 0 or 2, print no
// stack trace, refuse in one line, and stay within time and memory; the summary gives the
// counts, the exit codes, and the slowest and largest runs.
//
//   node scripts/fuzz-cli.mjs [--mutants N] [--seed S] [--jobs J] [--keep DIR]
//
// N mutants of each file (default 1000), seeded (default 1; the mutations come from a small
// xorshift generator, so a seed gives the same files), J processes at a time (default: the
// cores). Failures are kept in DIR (default: a temp folder, printed) to reproduce by hand.
// Needs `npm run build`; trains a tiny model first (a few seconds). Exit 1 when any run broke
// a rule. Peak memory is the child's maximum resident set (ru_maxrss, via /usr/bin/time when
// present, else not measured).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli', 'main.js');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = args[i + 1];
  if (v === undefined) usage(`${name}: expected a value, received nothing`);
  return v;
};
function usage(msg) {
  process.stderr.write(`fuzz-cli: ${msg}\n`);
  process.exit(2);
}
const int = (name, v, min) => {
  if (!/^\d+$/.test(String(v)) || Number(v) < min) usage(`${name}: expected an integer >= ${min}, received ${v}`);
  return Number(v);
};
const N = int('--mutants', opt('--mutants', '1000'), 1);
const SEED = int('--seed', opt('--seed', '1'), 0);
const JOBS = int('--jobs', opt('--jobs', String(availableParallelism())), 1);
const TIMEOUT_MS = 60_000;
if (!existsSync(MAIN)) usage(`expected the built CLI at ${MAIN}, received nothing there (run npm run build)`);
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

const work = mkdtempSync(join(tmpdir(), 'aekit-fuzz-'));
const keep = opt('--keep', join(work, 'failures'));
mkdirSync(keep, { recursive: true });

// xorshift32: the script's own seeded generator.
let state = (SEED ^ 0x9e3779b9) >>> 0 || 1;
const rand = () => {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 2 ** 32;
};
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const below = (n) => Math.floor(rand() * n);

function cli(argv, { measure = false } = {}) {
  return new Promise((resolve) => {
    const cmd = measure && TIME ? TIME : process.execPath;
    const full = measure && TIME ? ['-f', '@@rss %M', process.execPath, MAIN, ...argv] : [MAIN, ...argv];
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, full, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const m = /@@rss (\d+)\s*$/.exec(err);
      const rssKb = m ? Number(m[1]) : null;
      if (m) err = err.slice(0, m.index);
      // /usr/bin/time adds a line for a failing child: "Command exited with non-zero status N"
      // or, killed, "Command terminated by signal N".
      const ts = /Command terminated by signal (\d+)\s*$/.exec(err);
      if (TIME && measure) err = err.replace(/Command (exited with non-zero status \d+|terminated by signal \d+)\s*$/, '');
      resolve({ code: ts ? null : code, signal: ts ? `signal ${ts[1]}` : signal, ms, rssKb, stderr: err });
    });
  });
}

// --- the seed files -------------------------------------------------------------------------
const model = join(work, 'model.safetensors');
const codes = join(work, 'codes.safetensors');
{
  const r = spawnSync(process.execPath, [MAIN, 'train', '--limit', '500', '--epochs', '1', '--hidden', '16', '--validation-split', '0', '--seed', '3', '--out', join(work, 'run')], { encoding: 'utf8' });
  if (r.status !== 0) usage(`expected the seed model to train, received exit ${r.status}: ${r.stderr.trim().split('\n').pop()}`);
  writeFileSync(model, readFileSync(join(work, 'run', 'model.safetensors')));
  const e = spawnSync(process.execPath, [MAIN, 'encode', '--model', model, '--limit', '40', '--format', 'q8', '--out', codes], { encoding: 'utf8' });
  if (e.status !== 0) usage(`expected the seed codes to encode, received exit ${e.status}: ${e.stderr.trim().split('\n').pop()}`);
}

// --- mutations ------------------------------------------------------------------------------
const HOSTILE = [
  -1, 0, 1e308, -1e308, 2 ** 53, 2 ** 32, 2 ** 31 - 1, 1.5, 'NaN', '', 'x'.repeat(5000), null, true, [], {}, [[[[[[[[1]]]]]]]],
  '../../etc/passwd', 'F64', 'F16', 'U8', 'I64', 'BF16', [1e9, 1e9], [-5, 3], [0, 0], [3, 1],
];

/** Replaces one value somewhere in a JSON tree with a hostile one, or deletes a key. */
function mutateJson(v, depth = 0) {
  if (Array.isArray(v) && v.length && rand() < 0.7) {
    const i = below(v.length);
    v[i] = rand() < 0.25 && depth > 0 ? pick(HOSTILE) : mutateJson(v[i], depth + 1);
    return v;
  }
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const keys = Object.keys(v);
    if (!keys.length) return pick(HOSTILE);
    const k = pick(keys);
    const r = rand();
    if (r < 0.1) delete v[k];
    else if (r < 0.15) v[`${k}_`] = v[k];
    else if (r < 0.45 || v[k] === null || typeof v[k] !== 'object') v[k] = pick(HOSTILE);
    else v[k] = mutateJson(v[k], depth + 1);
    return v;
  }
  return pick(HOSTILE);
}

/** The JSON header's [start, end) in a safetensors file (a model or codes file: u64 length, then the header). */
function headerSpan(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return [8, 8 + Number(dv.getBigUint64(0, true))];
}

function withHeader(bytes, text) {
  const [s, e] = headerSpan(bytes);
  const h = Buffer.from(text, 'utf8');
  const pre = Buffer.alloc(s);
  pre.writeBigUInt64LE(BigInt(h.length), 0);
  return Buffer.concat([pre, h, bytes.subarray(e)]);
}

const MUTATIONS = {
  'flip bytes': (b) => {
    const o = Buffer.from(b);
    for (let i = 1 + below(8); i > 0; i--) o[below(o.length)] ^= 1 << below(8);
    return o;
  },
  'flip header bytes': (b) => {
    const o = Buffer.from(b);
    const [s, e] = headerSpan(b);
    for (let i = 1 + below(4); i > 0; i--) o[s + below(e - s)] = below(256);
    return o;
  },
  truncate: (b) => b.subarray(0, below(b.length)),
  append: (b) => Buffer.concat([b, Buffer.alloc(1 + below(64), below(256))]),
  'length prefix': (b) => {
    const o = Buffer.from(b);
    const v = pick([0, 1, 2, 7, o.length, o.length - 8, 2 ** 31, 2 ** 32 - 1, below(o.length)]);
    o.writeBigUInt64LE(BigInt(pick([v, 2 ** 53, 2 ** 63])), 0);
    return o;
  },
  'header value': (b) => {
    const [s, e] = headerSpan(b);
    const json = JSON.parse(Buffer.from(b.subarray(s, e)).toString('utf8').trimEnd());
    return withHeader(b, JSON.stringify(mutateJson(json)));
  },
  'nested header': (b) => {
    const d = pick([100, 1000, 3000, 20000]);
    return withHeader(b, '['.repeat(d) + ']'.repeat(d));
  },
  'many tensors': (b) => {
    const n = pick([10, 1000, 100000]);
    const h = {};
    for (let i = 0; i < n; i++) h[`t${i}`] = { dtype: 'F32', shape: [0], data_offsets: [0, 0] };
    return withHeader(b, JSON.stringify(h));
  },
  // The magic of .aec, the codes container before safetensors, over the length field.
  'aec magic': (b) => Buffer.concat([Buffer.from('AECODES1', 'latin1'), b.subarray(8)]),
};

function commandFor(kind, path, out) {
  if (kind === 'model') {
    return pick([
      ['eval', '--model', path, '--limit', '50'],
      ['kernels', '--model', path, '--out', join(out, 'k.png')],
      ['reconstruct', '--model', path, '--count', '4', '--out', join(out, 'r.png')],
    ]);
  }
  return ['decode', '--model', model, '--codes', path, '--out', join(out, 'd.csv')];
}

// --- the run --------------------------------------------------------------------------------
const jobs = [];
for (const [kind, file] of [['model', model], ['codes', codes]]) {
  const bytes = readFileSync(file);
  for (let i = 0; i < N; i++) {
    const name = pick(Object.keys(MUTATIONS));
    let mutant;
    try {
      mutant = MUTATIONS[name](bytes, kind);
    } catch {
      mutant = MUTATIONS['flip bytes'](bytes, kind);
    }
    const path = join(work, `${kind}-${i}.safetensors`);
    writeFileSync(path, mutant);
    const out = join(work, `out-${kind}-${i}`);
    mkdirSync(out);
    jobs.push({ kind, i, mutation: name, path, out, argv: commandFor(kind, path, out), bytes: mutant.length });
  }
}

const summary = { mutants: jobs.length, exit: {}, byKind: {}, failures: 0, maxMs: 0, maxMsRun: '', maxRssMb: 0, maxRssRun: '' };
const started = Date.now();
let next = 0;
async function worker() {
  while (next < jobs.length) {
    const j = jobs[next++];
    const r = await cli(j.argv, { measure: true });
    const lines = r.stderr.trimEnd().split('\n').filter(Boolean);
    const code = r.code === null ? r.signal : r.code;
    summary.exit[code] = (summary.exit[code] ?? 0) + 1;
    const k = `${j.kind}: ${j.mutation}`;
    summary.byKind[k] ??= {};
    summary.byKind[k][code] = (summary.byKind[k][code] ?? 0) + 1;
    const what = `${j.argv[0]} on ${j.kind}-${j.i} (${j.mutation}, ${j.bytes} bytes)`;
    if (r.ms > summary.maxMs) [summary.maxMs, summary.maxMsRun] = [r.ms, what];
    if (r.rssKb !== null && r.rssKb / 1024 > summary.maxRssMb) [summary.maxRssMb, summary.maxRssRun] = [r.rssKb / 1024, what];
    const broke = [];
    if (r.code !== 0 && r.code !== 2) broke.push(`exit ${code}`);
    if (/\n\s+at .+:\d+:\d+\)?$/m.test(r.stderr) || /Error: .*\n\s+at /.test(r.stderr)) broke.push('stack trace');
    if (r.code === 2 && lines.length !== 1) broke.push(`${lines.length} lines`);
    if (r.code === 2 && lines[0] && lines[0].length > 600) broke.push(`a ${lines[0].length}-character message`);
    if (broke.length) {
      summary.failures++;
      const f = join(keep, `${j.kind}-${j.i}`);
      writeFileSync(`${f}.bin`, readFileSync(j.path));
      writeFileSync(`${f}.txt`, `ae ${j.argv.join(' ')}\n${broke.join(', ')}\n\n${r.stderr}`);
      process.stderr.write(`FAIL ${what}: ${broke.join(', ')}: ${lines[lines.length - 1] ?? ''}\n`);
    }
    rmSync(j.path, { force: true });
    rmSync(j.out, { recursive: true, force: true });
  }
}
await Promise.all(Array.from({ length: JOBS }, worker));
summary.seconds = Math.round((Date.now() - started) / 100) / 10;
summary.maxMs = Math.round(summary.maxMs);
summary.maxRssMb = Math.round(summary.maxRssMb);
process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
if (summary.failures) process.stdout.write(`failures kept in ${keep}\n`);
else rmSync(work, { recursive: true, force: true });
process.exit(summary.failures ? 1 : 0);
