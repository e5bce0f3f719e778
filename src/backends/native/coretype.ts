/**
 * Which OpenBLAS kernels ("core types") suit this CPU.
 *
 * Debian's OpenBLAS is built with DYNAMIC_ARCH: at load it picks kernels for the CPU it
 * recognises, and falls back to generic ones (Prescott, SSE3) for a CPU newer than its own
 * tables — 0.3.21 does so on Intel's family 6 model 207, where sgemm then runs at a fifth of the
 * speed. `OPENBLAS_CORETYPE`, read when the library loads, forces a core type. This module
 * decides, from the CPU's flags alone, which core types the CPU can run and whether OpenBLAS's
 * own pick is a fallback; the install step (scripts/build-native.mjs) verifies and times them.
 *
 * Pure functions of their inputs, so the choice is tested from faked flags and core names.
 */
import { readFileSync } from 'node:fs';

/** The CPU as far as the choice of kernels goes. */
export interface CpuFeatures {
  /** `process.arch`: x64, arm64, … */
  arch: string;
  /** The model name (/proc/cpuinfo "model name"), or '' when unknown. */
  model: string;
  /** Lower-case feature flags (/proc/cpuinfo "flags" on x86, "Features" on ARM). */
  flags: string[];
}

/**
 * The instruction-set tier a core type's kernels need, and so the CPU flags it requires.
 * Tiers order the kernels: a pick below what the CPU's flags allow is a fallback.
 */
interface CoreTypeSpec {
  tier: number;
  needs: readonly string[];
}

const AVX2 = ['avx', 'avx2', 'fma'];
const AVX512 = [...AVX2, 'avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'avx512cd'];

/**
 * OpenBLAS 0.3.x core type names (as `openblas_get_corename()` prints them, compared without
 * case) and what each needs. Only the ones worth choosing between are listed; older names count
 * as the generic tier.
 */
const X86_CORES: Record<string, CoreTypeSpec> = {
  prescott: { tier: 0, needs: ['sse3'] },
  core2: { tier: 0, needs: ['ssse3'] },
  penryn: { tier: 0, needs: ['sse4_1'] },
  dunnington: { tier: 0, needs: ['sse4_1'] },
  nehalem: { tier: 0, needs: ['sse4_2'] },
  atom: { tier: 0, needs: ['ssse3'] },
  barcelona: { tier: 0, needs: ['sse3'] },
  opteron: { tier: 0, needs: [] },
  sandybridge: { tier: 1, needs: ['avx'] },
  bulldozer: { tier: 1, needs: ['avx'] },
  piledriver: { tier: 1, needs: ['avx', 'fma'] },
  steamroller: { tier: 1, needs: ['avx', 'fma'] },
  excavator: { tier: 2, needs: AVX2 },
  haswell: { tier: 2, needs: AVX2 },
  zen: { tier: 2, needs: AVX2 },
  skylakex: { tier: 3, needs: AVX512 },
  cooperlake: { tier: 3, needs: [...AVX512, 'avx512_bf16'] },
  sapphirerapids: { tier: 3, needs: [...AVX512, 'avx512_bf16', 'amx_bf16'] },
};

const ARM_CORES: Record<string, CoreTypeSpec> = {
  armv8: { tier: 0, needs: [] },
  cortexa53: { tier: 0, needs: [] },
  cortexa57: { tier: 1, needs: ['asimd'] },
  cortexa72: { tier: 1, needs: ['asimd'] },
  neoversen1: { tier: 1, needs: ['asimd'] },
  neoversev1: { tier: 2, needs: ['asimd', 'sve'] },
  neoversen2: { tier: 2, needs: ['asimd', 'sve', 'sve2'] },
};

/** The spelling OPENBLAS_CORETYPE takes for each name we may set. */
const SPELLING: Record<string, string> = {
  prescott: 'Prescott',
  sandybridge: 'Sandybridge',
  haswell: 'Haswell',
  zen: 'Zen',
  skylakex: 'SkylakeX',
  cooperlake: 'Cooperlake',
  armv8: 'ARMV8',
  neoversen1: 'NEOVERSEN1',
  neoversev1: 'NEOVERSEV1',
};

function table(arch: string): Record<string, CoreTypeSpec> | null {
  if (arch === 'x64') return X86_CORES;
  if (arch === 'arm64') return ARM_CORES;
  return null;
}

/** Reads the CPU's model and flags (Linux: /proc/cpuinfo); other systems give no flags. */
export function cpuFeatures(cpuinfo?: string, arch: string = process.arch): CpuFeatures {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      text = '';
    }
  }
  const field = (name: string): string => {
    const m = new RegExp(`^${name}\\s*:\\s*(.*)$`, 'mi').exec(text ?? '');
    return m ? m[1]!.trim() : '';
  };
  const flags = (field('flags') || field('Features')).toLowerCase().split(/\s+/).filter(Boolean);
  // Linux calls SSE3 "pni" (Prescott New Instructions).
  if (flags.includes('pni') && !flags.includes('sse3')) flags.push('sse3');
  return { arch, model: field('model name') || field('CPU part'), flags };
}

/** Whether this CPU has every flag the core type's kernels need; unknown names are not runnable. */
export function canRun(coreType: string, cpu: CpuFeatures): boolean {
  const spec = table(cpu.arch)?.[coreType.toLowerCase()];
  if (!spec) return false;
  const have = new Set(cpu.flags);
  return spec.needs.every((f) => have.has(f));
}

/** The highest tier of kernels the CPU's flags allow (-1 when the architecture is not known here). */
export function cpuTier(cpu: CpuFeatures): number {
  const t = table(cpu.arch);
  if (!t) return -1;
  let best = -1;
  for (const [name, spec] of Object.entries(t)) if (spec.tier > best && canRun(name, cpu)) best = spec.tier;
  return best;
}

/**
 * The core types worth trying on this CPU, best tier first, each spelled as OPENBLAS_CORETYPE
 * takes it: for an AVX-512 x86 CPU with BF16, Cooperlake, SkylakeX, Haswell (and Zen on AMD).
 */
export function candidateCoreTypes(cpu: CpuFeatures): string[] {
  const t = table(cpu.arch);
  if (!t) return [];
  return Object.keys(SPELLING)
    .filter((name) => t[name] && canRun(name, cpu) && t[name]!.tier > 0)
    .filter((name) => name !== 'zen' || /amd/i.test(cpu.model))
    .sort((a, b) => t[b]!.tier - t[a]!.tier)
    .map((name) => SPELLING[name]!);
}

/**
 * Whether OpenBLAS's own pick (its core name, e.g. "Prescott") is a fallback: kernels of a
 * lower tier than this CPU's flags allow, or a name this table does not know while better
 * kernels exist.
 */
export function isFallback(picked: string, cpu: CpuFeatures): boolean {
  const t = table(cpu.arch);
  if (!t) return false;
  const spec = t[picked.toLowerCase()];
  const tier = cpuTier(cpu);
  return spec ? spec.tier < tier : tier > 0;
}

/** One core type's result at install: verified against float64 and timed. */
export interface CoreTypeTrial {
  coreType: string;
  /** The core name OpenBLAS reported while this was set (a different name: it was not taken). */
  reported: string;
  ok: boolean;
  /** Why it was rejected, when it was. */
  error?: string;
  /** sgemm rate on this project's product shapes (GFLOP/s), when it ran. */
  gflops?: number;
}

/** The record scripts/build-native.mjs writes next to the addon (native/build/Release/blas.json). */
export interface CoreTypeRecord {
  /** What OpenBLAS picks with no OPENBLAS_CORETYPE set. */
  picked: string;
  /** The core type to set, or null to leave OpenBLAS's own pick. */
  coreType: string | null;
  reason: string;
  cpu: CpuFeatures;
  trials: CoreTypeTrial[];
}

/**
 * The choice from the trials: keep OpenBLAS's pick unless it is a fallback; then the fastest
 * trial that was verified and really took effect, if it beats the pick.
 */
export function chooseCoreType(picked: string, cpu: CpuFeatures, trials: readonly CoreTypeTrial[]): { coreType: string | null; reason: string } {
  if (!isFallback(picked, cpu)) {
    return { coreType: null, reason: `OpenBLAS's own pick (${picked}) matches what the CPU offers` };
  }
  const good = trials.filter((t) => t.coreType.toLowerCase() !== picked.toLowerCase() && t.ok && t.reported.toLowerCase() === t.coreType.toLowerCase() && t.gflops !== undefined);
  const base = trials.find((t) => t.coreType.toLowerCase() === picked.toLowerCase());
  if (good.length === 0) {
    return { coreType: null, reason: `OpenBLAS picked the generic ${picked} kernels; no better core type passed the checks (${trials.filter((t) => t.coreType.toLowerCase() !== picked.toLowerCase()).map((t) => `${t.coreType}: ${t.error ?? 'not taken'}`).join('; ') || 'none tried'})` };
  }
  // The fastest, except that a higher tier within 3% of it wins: timings this close are noise.
  const tierOf = (t: CoreTypeTrial) => table(cpu.arch)?.[t.coreType.toLowerCase()]?.tier ?? -1;
  const fastest = Math.max(...good.map((t) => t.gflops!));
  const best = good.filter((t) => t.gflops! >= 0.97 * fastest).reduce((a, b) => (tierOf(b) > tierOf(a) || (tierOf(b) === tierOf(a) && b.gflops! > a.gflops!) ? b : a));
  if (base?.gflops !== undefined && best.gflops! <= base.gflops) {
    return { coreType: null, reason: `OpenBLAS picked the generic ${picked} kernels, and none of the others was faster here` };
  }
  const rate = (g?: number) => (g === undefined ? '?' : g.toFixed(0));
  return {
    coreType: best.coreType,
    reason: `OpenBLAS picked the generic ${picked} kernels (${rate(base?.gflops)} GFLOP/s); ${best.coreType} passed the float64 checks and was fastest (${rate(best.gflops)} GFLOP/s)`,
  };
}

/**
 * The OPENBLAS_CORETYPE to set before the addon loads, or null: none when the user set one
 * (theirs wins), when the record chose none, or when this CPU cannot run the recorded kernels
 * (a build folder copied to another machine).
 */
export function coreTypeToSet(record: CoreTypeRecord | null, env: NodeJS.ProcessEnv, cpu: CpuFeatures): string | null {
  if (env.OPENBLAS_CORETYPE) return null;
  if (!record?.coreType) return null;
  return canRun(record.coreType, cpu) ? record.coreType : null;
}

/** The tier of a core type's kernels (0 generic … 3 AVX-512 on x86), or -1 for a name not known here. */
export function coreTypeTier(coreType: string, arch: string = process.arch): number {
  return table(arch)?.[coreType.toLowerCase()]?.tier ?? -1;
}
