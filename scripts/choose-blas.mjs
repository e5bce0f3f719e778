// Chooses OpenBLAS's kernels ("core type") for this machine, after the addon is built (npm ci's
// prepare step, and npm run build:native). OpenBLAS picks its kernels when it loads; for a CPU
// newer than its tables it falls back to generic SSE3 ones (Prescott), several times slower.
// When that happens here, each core type the CPU's flags allow is loaded in a child process
// (OPENBLAS_CORETYPE is read only at load), checked against a float64 reference on this
// project's product shapes (both transposes, NaN and Inf propagation), and timed; the fastest
// correct one is recorded in native/build/Release/blas.json, which the backend loader reads.
//
//   node scripts/choose-blas.mjs            choose and record (quiet unless something changed)
//   node scripts/choose-blas.mjs --all      also try every candidate when OpenBLAS's pick is fine
//   node scripts/choose-blas.mjs --trial    (internal) one child's check and timing, as JSON
//
// AEKIT_NATIVE_ADDON=path: check that addon instead, and write its record beside it.
// AEKIT_BLAS_ASSUME_PICKED=Prescott runs OpenBLAS's own pick as if it had chosen that core type
// (as it does on a CPU it does not know): the fallback path, tested on any machine.
import { spawnSync } from 'node:child_process';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// AEKIT_NATIVE_ADDON names another addon file, as it does for the backend loader; the record goes beside it.
const addonPath = process.env.AEKIT_NATIVE_ADDON ? resolve(process.env.AEKIT_NATIVE_ADDON) : join(root, 'native', 'build', 'Release', 'aekit_native.node');
const recordPath = join(dirname(addonPath), 'blas.json');

// The products of a training step of the notebook's models (batch 256): forward, the input
// gradient and the weight gradient, plus odd sizes that exercise the kernels' edges.
const SHAPES = [
  [256, 30, 784], [256, 784, 30], [30, 784, 256],
  [256, 500, 784], [256, 784, 500], [500, 784, 256],
  [97, 33, 65], [1, 17, 9],
];

function trial() {
  const addon = createRequire(import.meta.url)(addonPath);
  const info = addon.info();
  let seed = 12345;
  const rand = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 31 - 1;
  };
  const fill = (n) => Float32Array.from({ length: n }, rand);
  const at = (x, transposed, rows, cols, i, j) => (transposed ? x[j * rows + i] : x[i * cols + j]);
  const errors = [];
  for (const [m, n, k] of SHAPES) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const a = fill(m * k), b = fill(k * n), c = fill(m * n), c0 = Float32Array.from(c);
        const beta = (m + n + k) % 2;
        addon.matmul(a, ta, b, tb, c, m, n, k, beta);
        // A sample of entries (all of them for small products) against float64.
        const count = Math.min(m * n, 1500);
        for (let s = 0; s < count; s++) {
          const idx = count === m * n ? s : Math.floor(((s * 2654435761) % 2 ** 32) / 2 ** 32 * m * n);
          const i = Math.floor(idx / n), j = idx % n;
          let ref = beta ? c0[idx] : 0, mag = beta ? Math.abs(c0[idx]) : 0;
          for (let p = 0; p < k; p++) {
            const x = at(a, ta, m, k, i, p) * at(b, tb, k, n, p, j);
            ref += x;
            mag += Math.abs(x);
          }
          if (!(Math.abs(c[idx] - ref) <= 1e-5 * mag + 1e-30)) {
            errors.push(`${m}x${n}x${k} transA=${ta} transB=${tb}: C[${i},${j}] = ${c[idx]}, float64 ${ref}`);
            break;
          }
        }
      }
    }
  }
  // NaN and Inf in A must reach every entry of their row of C, and no other row.
  {
    const [m, n, k] = [64, 48, 96];
    const a = fill(m * k), b = fill(k * n), c = new Float32Array(m * n);
    a[3 * k + 5] = NaN;
    a[7 * k + 11] = Infinity;
    addon.matmul(a, false, b, false, c, m, n, k, 0);
    for (let j = 0; j < n; j++) {
      if (!Number.isNaN(c[3 * n + j])) { errors.push(`NaN in A row 3 did not reach C[3,${j}] (${c[3 * n + j]})`); break; }
      if (Number.isFinite(c[7 * n + j])) { errors.push(`Inf in A row 7 did not reach C[7,${j}] (${c[7 * n + j]})`); break; }
    }
    for (let i = 0; i < m; i++) {
      if (i === 3 || i === 7) continue;
      for (let j = 0; j < n; j++) if (!Number.isFinite(c[i * n + j])) { errors.push(`C[${i},${j}] = ${c[i * n + j]} without a NaN or Inf in its row`); i = m; break; }
    }
  }
  // The rate on the denoising model's products (forward, input gradient, weight gradient).
  let gflops;
  if (errors.length === 0) {
    const ops = [[256, 500, 784, false, true], [256, 784, 500, false, false], [500, 784, 256, true, false]];
    const bufs = ops.map(([m, n, k]) => [fill(m * k), fill(k * n), new Float32Array(m * n)]);
    const run = () => ops.forEach(([m, n, k, ta, tb], i) => addon.matmul(bufs[i][0], ta, bufs[i][1], tb, bufs[i][2], m, n, k, 0));
    const flops = ops.reduce((s, [m, n, k]) => s + 2 * m * n * k, 0);
    run();
    let best = Infinity;
    for (let rep = 0; rep < 12; rep++) {
      const t0 = process.hrtime.bigint();
      for (let r = 0; r < 4; r++) run();
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9 / 4);
    }
    gflops = flops / best / 1e9;
  }
  process.stdout.write(JSON.stringify({ reported: info.coretype, threads: info.threads, ok: errors.length === 0, error: errors[0], gflops }) + '\n');
}

function runTrial(coreType) {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  if (coreType) env.OPENBLAS_CORETYPE = coreType;
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--trial'], { env, encoding: 'utf8', timeout: 120000 });
  const line = (r.stdout ?? '').trim().split('\n').pop();
  try {
    return JSON.parse(line);
  } catch {
    const why = r.signal ? `killed by ${r.signal}` : `exit ${r.status}: ${(r.stderr ?? '').trim().split('\n').pop()}`;
    return { reported: '?', ok: false, error: `the check did not finish (${why})` };
  }
}

async function choose() {
  if (!existsSync(addonPath)) return; // no addon: nothing to choose (the js backend is used)
  const coretype = join(root, 'dist', 'backends', 'native', 'coretype.js');
  if (!existsSync(coretype)) {
    // During `npm ci`/`npm install` the addon is built before the TypeScript: npm's prepare step
    // builds dist/ next and runs this script again, so that is news, not a problem.
    if (process.env.npm_lifecycle_event === 'install') console.log('aekit: the BLAS kernels are chosen after the TypeScript build (npm\'s prepare step, next)');
    else console.warn('aekit: dist/ is not built; run npm run build, then node scripts/choose-blas.mjs');
    return;
  }
  const { cpuFeatures, candidateCoreTypes, isFallback, chooseCoreType } = await import(coretype);
  const cpu = cpuFeatures();
  const assumed = process.env.AEKIT_BLAS_ASSUME_PICKED || undefined;
  const own = runTrial(assumed);
  const picked = own.reported;
  const trials = [{ coreType: picked, ...own }];
  if (own.ok === false) console.warn(`aekit: OpenBLAS's own kernels (${picked}) failed the float64 check: ${own.error}`);
  const fallback = isFallback(picked, cpu);
  if (fallback || process.argv.includes('--all')) {
    for (const c of candidateCoreTypes(cpu)) {
      if (c.toLowerCase() === String(picked).toLowerCase()) continue;
      const t = runTrial(c);
      const taken = String(t.reported).toLowerCase() === c.toLowerCase();
      trials.push({ coreType: c, ...t, ...(taken ? {} : { ok: false, error: `OpenBLAS loaded ${t.reported} instead (it does not know ${c})` }) });
    }
  }
  const { coreType, reason } = chooseCoreType(picked, cpu, trials);
  const record = { picked, coreType, reason, cpu: { arch: cpu.arch, model: cpu.model, flags: cpu.flags.filter((f) => /^(sse3|ssse3|sse4_[12]|avx|avx2|fma|avx512\w*|amx\w*|asimd|sve\w*|neon)$/.test(f)) }, trials, ...(assumed ? { assumedPicked: assumed } : {}) };
  const tmp = `${recordPath}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(record, null, 2) + '\n');
  renameSync(tmp, recordPath);
  const rates = trials.map((t) => `${t.coreType} ${t.ok ? `${t.gflops.toFixed(0)} GFLOP/s` : `rejected (${t.error})`}`).join(', ');
  console.log(`aekit: BLAS kernels: ${coreType ?? picked} (${reason}); tried ${rates}`);
}

if (process.argv.includes('--trial')) trial();
else await choose();
