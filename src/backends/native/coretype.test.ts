import assert from 'node:assert/strict';
import { test } from 'node:test';
import { candidateCoreTypes, canRun, chooseCoreType, coreTypeToSet, cpuFeatures, isFallback, type CoreTypeRecord, type CoreTypeTrial } from './coretype.js';

// Flags as /proc/cpuinfo lists them (abridged), for the CPUs this choice is about.
const SSE = 'fpu sse sse2 pni ssse3 sse4_1 sse4_2';
const AVX2 = `${SSE} avx avx2 fma f16c`;
const AVX512 = `${AVX2} avx512f avx512dq avx512cd avx512bw avx512vl`;
const cpuinfo = (model: string, flags: string) => `processor\t: 0\nvendor_id\t: x\nmodel name\t: ${model}\nflags\t\t: ${flags}\n\nprocessor\t: 1\nmodel name\t: ${model}\nflags\t\t: ${flags}\n`;

const emerald = cpuFeatures(cpuinfo('INTEL(R) XEON(R) PLATINUM 8581C CPU @ 2.10GHz', `${AVX512} avx512_bf16 amx_bf16 amx_tile`), 'x64');
const skylake = cpuFeatures(cpuinfo('Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz', AVX512), 'x64');
const zen3 = cpuFeatures(cpuinfo('AMD EPYC 7B13 64-Core Processor', AVX2), 'x64');
const old = cpuFeatures(cpuinfo('Intel(R) Core(TM)2 Duo', SSE), 'x64');
const graviton = cpuFeatures('processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp\nCPU part\t: 0xd0c\n', 'arm64');

test('cpuFeatures reads the model and flags, and knows Linux calls SSE3 "pni"', () => {
  assert.equal(emerald.model, 'INTEL(R) XEON(R) PLATINUM 8581C CPU @ 2.10GHz');
  assert.ok(emerald.flags.includes('avx512_bf16') && emerald.flags.includes('sse3'));
  assert.ok(graviton.flags.includes('asimd'));
  assert.deepEqual(cpuFeatures('', 'x64').flags, []);
});

test('candidates follow the flags: best tier first, Zen only on AMD, nothing unknown', () => {
  assert.deepEqual(candidateCoreTypes(emerald), ['SkylakeX', 'Cooperlake', 'Haswell', 'Sandybridge']);
  assert.deepEqual(candidateCoreTypes(skylake), ['SkylakeX', 'Haswell', 'Sandybridge']);
  assert.deepEqual(candidateCoreTypes(zen3), ['Haswell', 'Zen', 'Sandybridge']);
  assert.deepEqual(candidateCoreTypes(old), []);
  assert.deepEqual(candidateCoreTypes(graviton), ['NEOVERSEN1']);
  assert.deepEqual(candidateCoreTypes({ arch: 'riscv64', model: '', flags: [] }), []);
  assert.equal(canRun('Cooperlake', skylake), false, 'no BF16 on Skylake');
  assert.equal(canRun('SkylakeX', zen3), false);
  assert.equal(canRun('NoSuchCore', emerald), false);
});

test('a fallback is a pick below what the flags allow', () => {
  assert.equal(isFallback('Prescott', emerald), true, 'what OpenBLAS 0.3.21 does on family 6 model 207');
  assert.equal(isFallback('Haswell', emerald), true);
  assert.equal(isFallback('SkylakeX', emerald), false);
  assert.equal(isFallback('Cooperlake', emerald), false);
  assert.equal(isFallback('Zen', zen3), false);
  assert.equal(isFallback('Prescott', old), false, 'generic kernels are right for a generic CPU');
  assert.equal(isFallback('SomeFutureCore', zen3), true, 'an unknown name on a CPU with better kernels');
  assert.equal(isFallback('ARMV8', graviton), true);
});

const trial = (coreType: string, gflops: number | undefined, ok = true, reported = coreType): CoreTypeTrial => ({ coreType, reported, ok, ...(gflops === undefined ? {} : { gflops }) });

test('the choice: OpenBLAS left alone when its pick is right; otherwise the fastest verified core type', () => {
  assert.equal(chooseCoreType('SkylakeX', skylake, [trial('SkylakeX', 300), trial('Haswell', 320)]).coreType, null);
  const c = chooseCoreType('Prescott', emerald, [trial('Prescott', 65), trial('SkylakeX', 300), trial('Cooperlake', 290), trial('Haswell', 250)]);
  assert.equal(c.coreType, 'SkylakeX');
  assert.match(c.reason, /generic Prescott kernels \(65 GFLOP\/s\); SkylakeX passed the float64 checks and was fastest \(300 GFLOP\/s\)/);
  // A candidate that failed the float64 check, or that OpenBLAS did not take, never wins.
  assert.equal(chooseCoreType('Prescott', emerald, [trial('Prescott', 65), trial('SkylakeX', 900, false), trial('Cooperlake', 800, true, 'Prescott'), trial('Haswell', 250)]).coreType, 'Haswell');
  // Within 3%, the higher tier wins: timings that close are noise.
  assert.equal(chooseCoreType('Prescott', emerald, [trial('Prescott', 65), trial('Haswell', 302), trial('SkylakeX', 300)]).coreType, 'SkylakeX');
  assert.equal(chooseCoreType('Prescott', emerald, [trial('Prescott', 65), trial('Haswell', 340), trial('SkylakeX', 300)]).coreType, 'Haswell');
  // Nothing better: keep OpenBLAS's pick, and say why.
  const none = chooseCoreType('Prescott', emerald, [trial('Prescott', 65), trial('SkylakeX', undefined, false)]);
  assert.equal(none.coreType, null);
  assert.match(none.reason, /no better core type passed/);
  assert.equal(chooseCoreType('Prescott', emerald, [trial('Prescott', 65), trial('Haswell', 60)]).coreType, null);
});

test('the loader sets the recorded core type only when the user did not and this CPU can run it', () => {
  const record: CoreTypeRecord = { picked: 'Prescott', coreType: 'SkylakeX', reason: '', cpu: emerald, trials: [] };
  assert.equal(coreTypeToSet(record, {}, emerald), 'SkylakeX');
  assert.equal(coreTypeToSet(record, { OPENBLAS_CORETYPE: 'Haswell' }, emerald), null, "the user's setting wins");
  assert.equal(coreTypeToSet(record, {}, zen3), null, 'a build folder copied to a CPU without AVX-512');
  assert.equal(coreTypeToSet({ ...record, coreType: null }, {}, emerald), null);
  assert.equal(coreTypeToSet(null, {}, emerald), null);
});
