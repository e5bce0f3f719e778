/**
 * `npm run bench`: training speed on full MNIST, batch 256, Adam, side by side with peers in
 * the same run, for the notebook's two models:
 *   standard   784→30→784
 *   denoising  784→500→784 with the notebook's dropout corruption (p = 0.5)
 *
 * Peers: each aekit backend; PyTorch running the notebook's loop when /usr/bin/python3 has
 * torch, at its best: OpenBLAS's default kernels and each AVX2-or-better core type this CPU
 * runs, at 1 and N threads (the fastest is compared against); TF.js on its WASM backend. Each measurement runs in a
 * process of its own so its peak resident memory is its own. Slow peers time a prefix of
 * an epoch and are extrapolated (marked so). Also measured: the BLAS's sgemm rate on the
 * products an epoch runs, and the time the arithmetic alone would take.
 *
 *   npm run bench [-- --json] [-- --epochs 3] [-- --only standard|denoising] [-- --skip js,pytorch,tfjs]
 *                 [-- --threads 1,2,4]   native at each thread count, and a scaling table
 *
 * It starts by printing what `ae info` prints: the backend, BLAS kernels, threads and CPU.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { backendInfo, formatBackendInfo } from '../backends/info.js';
import { candidateCoreTypes, coreTypeTier, cpuFeatures } from '../backends/native/coretype.js';
import { checkThreads, defaultThreads } from '../backends/native/index.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..');
const PYTHON = '/usr/bin/python3';

interface Config {
  name: string;
  hidden: number;
  noise: string;
  /** Batches the js backend and TF.js time before extrapolating. */
  slowBatches: number;
}

const CONFIGS: Config[] = [
  { name: 'standard', hidden: 30, noise: 'none', slowBatches: 60 },
  { name: 'denoising', hidden: 500, noise: 'dropout:0.5', slowBatches: 12 },
];

interface Row {
  config: string;
  peer: string;
  secondsPerEpoch: number | null;
  samplesPerSecond: number | null;
  peakRssMB: number | null;
  note: string;
  raw?: unknown;
}

function runJson(cmd: string, args: string[], timeoutMs: number, env: Record<string, string | undefined> = {}): { ok: true; value: Record<string, unknown> } | { ok: false; why: string } {
  const e: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete e[k]; else e[k] = v;
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 1 << 24, env: e });
  if (r.error) return { ok: false, why: r.error.message };
  if (r.status !== 0) return { ok: false, why: (r.stderr || `exit ${r.status}`).trim().split('\n').pop() ?? '' };
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return { ok: true, value: JSON.parse(line) as Record<string, unknown> };
  } catch {
    return { ok: false, why: `no JSON in output: ${line.slice(0, 80)}` };
  }
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

const USAGE = 'usage: npm run bench [-- --json] [-- --epochs N] [-- --only standard|denoising] [-- --skip js,pytorch,tfjs,native] [-- --threads 1,2,4]';

/** Exits 2 with one line naming what was expected and what was received, before any work. */
function usageError(message: string): never {
  process.stderr.write(`bench: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function main(): void {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        json: { type: 'boolean', default: false },
        epochs: { type: 'string', default: '3' },
        only: { type: 'string' },
        skip: { type: 'string', default: '' },
        threads: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    usageError((e as Error).message.split('\n')[0]!);
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!/^[1-9][0-9]*$/.test(values.epochs ?? '')) usageError(`--epochs: expected a whole number ≥ 1, got '${values.epochs}'`);
  if (values.only !== undefined && !CONFIGS.some((c) => c.name === values.only)) usageError(`--only: expected standard or denoising, got '${values.only}'`);
  const peers = ['js', 'pytorch', 'tfjs', 'native'];
  for (const p of (values.skip ?? '').split(',').filter(Boolean)) if (!peers.includes(p)) usageError(`--skip: expected a comma-separated list of ${peers.join(', ')}, got '${p}'`);
  let threadList: number[];
  try {
    threadList = values.threads === undefined ? [defaultThreads().threads] : values.threads.split(',').map((t) => checkThreads('--threads', t));
  } catch (e) {
    usageError((e as Error).message.split('\n')[0]!);
  }
  const info = backendInfo('auto');
  const nThreads = availableParallelism();
  // PyTorch's OpenBLAS settings to try: its default, then each core type of the top tiers (AVX2 and up) this CPU runs.
  const cpu = cpuFeatures();
  const torchCoreTypes: (string | undefined)[] = [undefined, ...candidateCoreTypes(cpu).filter((c) => coreTypeTier(c, cpu.arch) >= 2)];
  const torchThreads = [...new Set([1, nThreads])];
  const skip = new Set((values.skip ?? '').split(',').filter(Boolean));
  const epochs = values.epochs ?? '3';
  const configs = CONFIGS.filter((c) => !values.only || c.name === values.only);
  const worker = join(ROOT, 'dist', 'bench', 'worker.js');
  const tfPeer = join(ROOT, 'dist', 'bench', 'tfjs-peer.js');
  const log = (s: string) => process.stderr.write(s + '\n');
  for (const line of formatBackendInfo(info)) log(`bench: ${line}`);
  const scaling: { config: string; threads: number; secondsPerEpoch: number | null }[] = [];
  const rows: Row[] = [];
  const bounds: Record<string, Record<string, unknown>> = {};
  const torchProbe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  const haveTorch = torchProbe.status === 0;

  for (const c of configs) {
    const tag = `${c.name} 784→${c.hidden}→784${c.noise === 'none' ? '' : ` + ${c.noise}`}`;
    log(`bench: ${tag}`);
    const base = ['--hidden', String(c.hidden), '--noise', c.noise];

    // aekit backends
    const runs = [...threadList.map((t) => ({ backend: 'native', threads: t })), { backend: 'js', threads: 1 }];
    for (const { backend, threads } of runs) {
      if (skip.has(backend)) continue;
      const slow = backend === 'js';
      const args = [worker, 'train', '--backend', backend, ...base, ...(slow ? ['--batches', String(c.slowBatches), '--epochs', '2'] : ['--epochs', epochs])];
      const label = backend === 'native' ? `aekit native, ${threads} thread${threads === 1 ? '' : 's'}` : `aekit ${backend}`;
      log(`  ${label}…`);
      const r = runJson(process.execPath, args, 30 * 60_000, { AEKIT_THREADS: String(threads) });
      if (backend === 'native') scaling.push({ config: c.name, threads, secondsPerEpoch: r.ok ? num(r.value.secondsPerEpoch) : null });
      if (!r.ok) {
        rows.push({ config: c.name, peer: `aekit ${backend}`, secondsPerEpoch: null, samplesPerSecond: null, peakRssMB: null, note: `failed: ${r.why}` });
        continue;
      }
      // With several thread counts, the table's row is the default count (or the fastest when it is not among them).
      if (backend === 'native' && threadList.length > 1) {
        const prev = rows.find((x) => x.config === c.name && x.peer === 'aekit native');
        const isDefault = threads === defaultThreads().threads;
        const faster = prev && (num(r.value.secondsPerEpoch) ?? Infinity) < (prev.secondsPerEpoch ?? Infinity);
        if (prev && !isDefault && !(faster && !threadList.includes(defaultThreads().threads))) continue;
        if (prev) rows.splice(rows.indexOf(prev), 1);
      }
      const v = r.value;
      if (v.backend !== backend) {
        rows.push({ config: c.name, peer: `aekit ${backend}`, secondsPerEpoch: null, samplesPerSecond: null, peakRssMB: null, note: `not available (got ${String(v.backend)})` });
        continue;
      }
      const from = num(v.extrapolatedFromBatches);
      rows.push({
        config: c.name,
        peer: `aekit ${backend}`,
        secondsPerEpoch: num(v.secondsPerEpoch),
        samplesPerSecond: num(v.samplesPerSecond),
        peakRssMB: num(v.peakRssMB),
        note: from ? `extrapolated from ${from} batches` : `${String((v.blas as { threads?: number } | undefined)?.threads ?? '?')} threads, ${String((v.blas as { coretype?: string } | undefined)?.coretype ?? '?')} kernels; best of ${epochs} epochs`,
        raw: v,
      });
    }

    // PyTorch, the notebook's loop, at its best: each OpenBLAS setting at 1 and N threads
    if (!skip.has('pytorch')) {
      if (!haveTorch) {
        rows.push({ config: c.name, peer: 'PyTorch', secondsPerEpoch: null, samplesPerSecond: null, peakRssMB: null, note: `skipped: ${PYTHON} cannot import torch` });
      } else {
        const runs: Record<string, unknown>[] = [];
        const dropout = c.noise === 'none' ? '0' : c.noise.split(':')[1]!;
        for (const coreType of torchCoreTypes) {
          for (const threads of torchThreads) {
            const kernels = coreType ?? 'default kernels';
            log(`  PyTorch, ${kernels}, ${threads} thread(s)…`);
            const r = runJson(PYTHON, [join(ROOT, 'python', 'aekit_torch.py'), 'bench', '--hidden', String(c.hidden), '--dropout', dropout, '--epochs', epochs, '--threads', String(threads)], 30 * 60_000, { OPENBLAS_CORETYPE: coreType });
            if (r.ok) runs.push({ ...r.value, kernels });
            else log(`  PyTorch ${kernels}, ${threads} thread(s) failed: ${r.why}`);
          }
        }
        const best = runs.reduce<Record<string, unknown> | null>((b, v) => (b === null || (num(v.secondsPerEpoch) ?? Infinity) < (num(b.secondsPerEpoch) ?? Infinity) ? v : b), null);
        rows.push(
          best
            ? {
                config: c.name,
                peer: `PyTorch ${String(best.torch)}`,
                secondsPerEpoch: num(best.secondsPerEpoch),
                samplesPerSecond: num(best.samplesPerSecond),
                peakRssMB: num(best.peakRssMB),
                note: `best of ${runs.length} settings: ${String(best.kernels)}, ${String(best.threads)} thread(s) (${runs.map((v) => `${String(v.kernels).replace(' kernels', '')} ${String(v.threads)}t ${(num(v.secondsPerEpoch) ?? NaN).toFixed(2)} s`).join(', ')}); best of ${epochs} epochs`,
                raw: runs,
              }
            : { config: c.name, peer: 'PyTorch', secondsPerEpoch: null, samplesPerSecond: null, peakRssMB: null, note: 'failed' },
        );
      }
    }

    // TF.js on WASM
    if (!skip.has('tfjs')) {
      if (!existsSync(tfPeer)) {
        rows.push({ config: c.name, peer: 'TF.js wasm', secondsPerEpoch: null, samplesPerSecond: null, peakRssMB: null, note: 'skipped: dist/bench/tfjs-peer.js missing' });
      } else {
        log('  TF.js wasm…');
        const r = runJson(process.execPath, [tfPeer, ...base, '--batches', String(c.slowBatches)], 20 * 60_000);
        rows.push(
          r.ok
            ? {
                config: c.name,
                peer: 'TF.js wasm',
                secondsPerEpoch: num(r.value.secondsPerEpoch),
                samplesPerSecond: num(r.value.samplesPerSecond),
                peakRssMB: num(r.value.peakRssMB),
                note: `extrapolated from ${String(r.value.batchesTimed)} batches; ${String(r.value.threads)} thread(s), simd ${String(r.value.simd)}`,
                raw: r.value,
              }
            : { config: c.name, peer: 'TF.js wasm', secondsPerEpoch: null, samplesPerSecond: null, peakRssMB: null, note: `failed: ${r.why}` },
        );
      }
    }

    // The BLAS bound, measured in this run
    if (!skip.has('native')) {
      log('  sgemm rate…');
      const r = runJson(process.execPath, [worker, 'gemm', '--hidden', String(c.hidden)], 5 * 60_000);
      if (r.ok) bounds[c.name] = r.value;
    }
  }

  const torchOf = (config: string) => rows.find((r) => r.config === config && r.peer.startsWith('PyTorch') && r.secondsPerEpoch !== null)?.secondsPerEpoch ?? null;
  const table = rows.map((r) => {
    const t = torchOf(r.config);
    return { ...r, ratioToPyTorch: t !== null && r.secondsPerEpoch !== null ? r.secondsPerEpoch / t : null };
  });

  if (values.json) {
    process.stdout.write(JSON.stringify({ date: new Date().toISOString(), node: process.version, info, rows: table, scaling, bounds }, null, 2) + '\n');
    return;
  }
  const f = (v: number | null, d: number) => (v === null ? '—' : v.toFixed(d));
  const lines = [
    ...formatBackendInfo(info).map((l) => `${l}  `),
    '',
    '| model | peer | s / epoch | samples / s | × PyTorch time | peak RSS (MB) | note |',
    '|---|---|---:|---:|---:|---:|---|',
    ...table.map((r) => `| ${r.config} | ${r.peer} | ${f(r.secondsPerEpoch, 2)} | ${r.samplesPerSecond === null ? '—' : Math.round(r.samplesPerSecond)} | ${f(r.ratioToPyTorch, 2)} | ${f(r.peakRssMB, 0)} | ${r.note} |`),
  ];
  for (const [name, b] of Object.entries(bounds)) {
    const native = table.find((r) => r.config === name && r.peer === 'aekit native')?.secondsPerEpoch ?? null;
    const arith = num(b.arithmeticSeconds);
    lines.push(
      '',
      `${name}: ${f(num(b.epochGflop), 1)} GFLOP of sgemm per epoch; ${String((b.blas as { blas?: string })?.blas ?? '')}, ` +
        `${String((b.blas as { threads?: number })?.threads ?? '?')} threads (BLAS itself ${String((b.blas as { blasThreads?: number })?.blasThreads ?? '?')} per part), ${String((b.blas as { coretype?: string })?.coretype ?? '?')} kernels: ` +
        `${f(num(b.gflopsTrainingShapes), 0)} GFLOP/s on the epoch's own products (${f(num(b.gflopsSquare2048), 0)} GFLOP/s on 2048² squares); ` +
        `arithmetic alone ${f(arith, 2)} s (${f(num(b.arithmeticSecondsAtSquareRate), 2)} s at the square rate); native epoch = ${native !== null && arith !== null ? (native / arith).toFixed(2) : '—'} × arithmetic alone.`,
    );
  }
  if (threadList.length > 1) {
    lines.push('', '| model | threads | s / epoch | speed-up over 1 thread |', '|---|---:|---:|---:|');
    for (const r of scaling) {
      const one = scaling.find((x) => x.config === r.config && x.threads === 1)?.secondsPerEpoch ?? null;
      lines.push(`| ${r.config} | ${r.threads} | ${f(r.secondsPerEpoch, 3)} | ${one !== null && r.secondsPerEpoch !== null ? (one / r.secondsPerEpoch).toFixed(2) : '—'} |`);
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
}

main();
