// Builds the native addon (native/) with node-gyp during `npm ci`. A machine without a
// compiler or a BLAS still installs: the build failing is reported, and aekit runs on
// its js backend. `npm run build:native` retries with the full log.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const strict = process.argv.includes('--strict');
if (process.env.AEKIT_SKIP_NATIVE) {
  console.log('aekit: AEKIT_SKIP_NATIVE is set; not building the native backend');
  process.exit(0);
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
  console.log('aekit: native backend built (native/build/Release/aekit_native.node)');
  process.exit(0);
}
if (!strict) {
  const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-8).join('\n');
  console.warn(`${tail}\naekit: the native backend did not build, so the js backend will be used.\naekit: install a C++ compiler and OpenBLAS (Debian: apt-get install g++ make libopenblas-dev), then run: npm run build:native`);
}
process.exit(strict ? (r.status ?? 1) : 0);
