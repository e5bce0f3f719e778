#!/usr/bin/env bash
# One-command set-up on a fresh machine: system packages, npm packages, the native addon.
#
#   scripts/setup.sh          what `npm start` needs: a C++ compiler and OpenBLAS for the native
#                             backend (Debian/Ubuntu: apt-get; macOS: nothing, Accelerate is used)
#   scripts/setup.sh --dev    also what `npm test` and `npm run bench` use: Debian's PyTorch (the
#                             interop check and the benchmark's peer)
#
# As root it runs apt-get itself; otherwise through sudo. Without either it says what is missing
# and goes on: everything still runs, on the js backend (about 25x slower) and with the PyTorch
# checks skipped. It ends by printing `ae info`: the backend, BLAS kernels and threads in use.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
for a in "$@"; do
  case "$a" in
    --dev) dev=1 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: expected --dev or --help, received $a" >&2; exit 2 ;;
  esac
done

if ! command -v node >/dev/null 2>&1; then
  echo "setup: Node.js 20 or newer is required (https://nodejs.org, or your system's nodejs package)" >&2
  exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "setup: expected Node.js 20 or newer, received $(node --version)" >&2
  exit 1
fi

if [ "$(uname -s)" = Linux ]; then
  need=()
  have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
  if command -v dpkg-query >/dev/null 2>&1; then
    command -v g++ >/dev/null 2>&1 || need+=(g++)
    command -v make >/dev/null 2>&1 || need+=(make)
    have_pkg libopenblas-dev || need+=(libopenblas-dev)
    if [ "$dev" = 1 ]; then
      /usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || need+=(python3-torch libopenblas0-pthread)
    fi
    if [ ${#need[@]} -gt 0 ]; then
      if [ "$(id -u)" = 0 ]; then as_root=(); elif command -v sudo >/dev/null 2>&1; then as_root=(sudo); else as_root=(none); fi
      if [ "${as_root[*]}" = none ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "setup: cannot install ${need[*]} (not root, no sudo or no apt-get); install them yourself for the native backend and the PyTorch checks" >&2
      else
        echo "setup: installing ${need[*]}"
        export DEBIAN_FRONTEND=noninteractive
        "${as_root[@]}" apt-get update -qq
        "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
      fi
    fi
  else
    echo "setup: not a Debian-like system; install a C++ compiler, make and the OpenBLAS development package (e.g. openblas-devel) for the native backend" >&2
  fi
fi

# npm ci only when the installed packages are not those of the lock file, the node version or the
# addon's sources changed (a pull), or the addon is missing, so that running this again is quick.
stamp=node_modules/.aekit-setup
want="$(node -e '
const c = require("crypto"), f = require("fs"), p = require("path");
const h = c.createHash("sha256").update(f.readFileSync("package-lock.json"));
for (const d of ["native", "native/src"]) for (const n of f.readdirSync(d).sort()) {
  const q = p.join(d, n);
  if (f.statSync(q).isFile()) h.update(q).update(f.readFileSync(q));
}
process.stdout.write(h.digest("hex") + " " + process.version);')"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f native/build/Release/aekit_native.node ] && [ -d dist ]; then
  echo "setup: npm packages and the native addon are up to date"
else
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi
node dist/cli/main.js info
