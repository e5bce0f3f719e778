// Builds the native addon (native/) with node-gyp during `npm ci`. A machine without a
// compiler or a BLAS still installs: the build failing is reported, and aekit runs on
// its js backend. `npm run build:native` retries with the full log.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const strict = process.argv.includes('--strict');
if (process.env.AEKIT_SKIP_NATIVE) {
  console.log('aekit: AEKIT_SKIP_NATIVE is set; not building the native backend');
  process.exit(0);
}

// Up to date already (the same sources, node ABI and CPU as the last build, and its kernel
// record in place): nothing to do. `npx ae` from a clone installs the clone as a package and
// reruns this script there; without this check it rebuilt the addon and lost blas.json.
const release = join(root, 'native', 'build', 'Release');
const stampPath = join(release, 'build-stamp.json');
const sourcesTime = () => {
  const dir = join(root, 'native', 'src');
  return Math.max(statSync(join(root, 'native', 'binding.gyp')).mtimeMs, ...readdirSync(dir).map((n) => statSync(join(dir, n)).mtimeMs));
};
// -march=native: a build belongs to its CPU too.
const stamp = { modules: process.versions.modules, arch: process.arch, platform: process.platform, cpu: cpus()[0]?.model ?? 'unknown' };
if (!strict && !process.argv.includes('--force') && existsSync(join(release, 'aekit_native.node')) && existsSync(join(release, 'blas.json')) && existsSync(stampPath)) {
  try {
    const old = JSON.parse(readFileSync(stampPath, 'utf8'));
    if (['modules', 'arch', 'platform', 'cpu'].every((k) => old[k] === stamp[k]) && old.sourcesTime >= sourcesTime()) {
      console.log('aekit: native backend up to date (native/build/Release/aekit_native.node); npm run build:native rebuilds it');
      process.exit(0);
    }
  } catch {
    // An unreadable stamp means: build again.
  }
}

// npm tells its scripts where its own node-gyp is; fall back to the copy npm ships with.
const candidates = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter((p) => p && existsSync(p));
if (candidates.length === 0) {
  console.warn('aekit: node-gyp not found; the native backend is not built (the js backend is used)');
  process.exit(strict ? 1 : 0);
}
// Build against the headers of the node that runs us, when they are installed beside it,
// so no download is needed (npm passes its own nodedir setting the same way).
const prefix = join(dirname(process.execPath), '..');
const nodedir = process.env.npm_config_nodedir || (existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
const args = [candidates[0], 'rebuild', '--directory', join(root, 'native'), ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
const r = spawnSync(process.execPath, args, {
  stdio: strict ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  encoding: 'utf8',
});
if (r.status === 0) {
  writeFileSync(stampPath, JSON.stringify({ ...stamp, sourcesTime: sourcesTime() }) + '\n');
  console.log('aekit: native backend built (native/build/Release/aekit_native.node)');
  // The kernel choice belongs to this build: made again at once, so no later step can forget it.
  const c = spawnSync(process.execPath, [join(root, 'scripts', 'choose-blas.mjs')], { stdio: 'inherit' });
  process.exit(strict ? (c.status ?? 1) : 0);
}
if (!strict) {
  const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-8).join('\n');
  console.warn(`${tail}\naekit: the native backend did not build, so the js backend will be used.\naekit: install a C++ compiler and OpenBLAS (Debian: apt-get install g++ make libopenblas-dev), then run: npm run build:native`);
}
process.exit(strict ? (r.status ?? 1) : 0);
