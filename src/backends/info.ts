/**
 * What runs the numbers, and why: the backend, the BLAS build and its kernels, the threads and
 * the CPU. `ae info` prints it; the benchmark records it beside its timings.
 */
import { availableParallelism, cpus } from 'node:os';
import { BACKEND_CHOICES, type BackendChoice } from './index.js';
import { check } from '../core/validate.js';
import { addonStatus, coreTypeChoice, defaultThreads, loadAddon, REBUILD_COMMAND } from './native/index.js';
import { cpuFeatures, isFallback } from './native/coretype.js';

/** How much slower the js backend trains than native, by `npm run bench` (standard and denoising models). */
export const JS_SLOWDOWN = '20–60×';
/** The commands that give a machine the native backend. */
export const FIX_COMMAND = `scripts/setup.sh (Debian/Ubuntu), or install a C++ compiler and OpenBLAS and run ${REBUILD_COMMAND}`;

export interface BackendInfo {
  backend: 'native' | 'js';
  /** Why this backend: the choice made and, for auto, whether the addon loaded. */
  backendReason: string;
  /** Where the addon failed to load (null when it loaded or was not asked for). */
  addonError: string | null;
  blas: { build: string; coreType: string; source: string; reason: string; fallback: boolean } | null;
  threads: { threads: number; source: string; available: number };
  cpu: { model: string; arch: string; logicalCores: number; flags: string[] };
}

const FLAGS_OF_INTEREST = /^(sse3|avx|avx2|fma|avx512f|avx512bw|avx512vl|avx512dq|avx512_bf16|amx_bf16|asimd|sve|sve2)$/;

/**
 * Resolves `choice` (auto|native|js; AEKIT_BACKEND replaces auto) as resolveBackend does and
 * describes the result. Loads the addon when native may be used.
 * @throws ValidationError for a bad choice, AEKIT_BACKEND or AEKIT_THREADS.
 */
export function backendInfo(choice: string = 'auto'): BackendInfo {
  check('backend', choice, { kind: 'oneOf', choices: BACKEND_CHOICES });
  let effective = choice as BackendChoice;
  let why = choice === 'auto' ? 'auto' : `--backend ${choice}`;
  const env = process.env.AEKIT_BACKEND;
  if (choice === 'auto' && env) {
    effective = check<BackendChoice>('AEKIT_BACKEND', env, { kind: 'oneOf', choices: BACKEND_CHOICES });
    why = `AEKIT_BACKEND=${env}`;
  }
  const threads = { ...defaultThreads(), available: availableParallelism() };
  const f = cpuFeatures();
  const cpu = { model: f.model || cpus()[0]?.model || 'unknown', arch: f.arch, logicalCores: cpus().length, flags: f.flags.filter((x) => FLAGS_OF_INTEREST.test(x)) };
  const status = effective === 'js' ? null : addonStatus();
  if (effective === 'native' && status && !status.ok) throw status.error;
  if (!status || !status.ok) {
    const addonError = status && !status.ok ? status.error.message : null;
    const backendReason = effective === 'js' ? `${why}: the js backend was asked for` : `${why}: the native addon did not load, so the js backend (${JS_SLOWDOWN} slower) is used`;
    return { backend: 'js', backendReason, addonError, blas: null, threads, cpu };
  }
  const info = loadAddon().info();
  const c = coreTypeChoice();
  const source = c?.source === 'user' ? 'OPENBLAS_CORETYPE' : c?.source === 'install' ? 'chosen at install (native/build/Release/blas.json)' : "OpenBLAS's own pick";
  const blas = { build: info.blas, coreType: info.coretype, source, reason: c?.reason ?? '', fallback: c?.source === 'openblas' && isFallback(info.coretype, f) };
  return { backend: 'native', backendReason: `${why}: the native addon loaded`, addonError: null, blas, threads, cpu };
}

/** The same as lines of text, for `ae info` and the benchmark's header. */
export function formatBackendInfo(i: BackendInfo): string[] {
  const lines = [`backend: ${i.backend} (${i.backendReason})`];
  if (i.addonError) lines.push(`  ${i.addonError}`, `  fix: ${FIX_COMMAND}`);
  if (i.blas) {
    lines.push(`BLAS: ${i.blas.build}`);
    lines.push(`BLAS kernels: ${i.blas.coreType}, ${i.blas.source}${i.blas.reason ? ` — ${i.blas.reason}` : ''}`);
    if (i.blas.fallback) lines.push(`  warning: these are generic kernels while the CPU offers better; set OPENBLAS_CORETYPE or rerun ${REBUILD_COMMAND}`);
  }
  lines.push(`threads: ${i.threads.threads} (${i.threads.source}; this process may use ${i.threads.available})`);
  lines.push(`CPU: ${i.cpu.model}, ${i.cpu.arch}, ${i.cpu.logicalCores} logical cores; flags: ${i.cpu.flags.join(' ') || 'none of interest'}`);
  return lines;
}
