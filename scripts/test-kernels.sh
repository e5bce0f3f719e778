#!/usr/bin/env bash
# The kernel-independence run: the backend conformance suite and the tests that assert a training
# outcome, once per OpenBLAS core type this CPU runs (OPENBLAS_CORETYPE set, which the native
# backend leaves alone), and once on the js backend. A result that depends on one kernel's
# rounding fails here. One line per configuration; exits 1 if any failed.
#
#   scripts/test-kernels.sh          (after npm ci / npm run build; CI runs it after npm test)
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d dist ] || npm run build >/dev/null

# The conformance suite, and every test file that trains a model and checks what it learned.
native_files=(dist/backends/conformance.test.js dist/apps/*.test.js dist/train/*.test.js dist/nn/*.test.js)
# On js (20-60x slower) the conformance suite and the studies most sensitive to rounding.
js_files=(dist/backends/conformance.test.js dist/apps/manifold.test.js dist/nn/autoencoder.test.js dist/train/trainer.test.js)

configs=()
if [ "$(uname -m)" = x86_64 ] && [ -f native/build/Release/aekit_native.node ]; then
  flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
  has() { for f in "$@"; do [[ " $flags " == *" $f "* ]] || return 1; done; }
  configs+=(Prescott)
  if has avx2 fma; then configs+=(Haswell); fi
  if has avx512f avx512bw avx512vl avx512dq; then
    configs+=(SkylakeX)
    if has avx512_bf16; then configs+=(Cooperlake); fi
  fi
else
  echo "test-kernels: no OpenBLAS core types to try here ($(uname -m), addon $( [ -f native/build/Release/aekit_native.node ] && echo present || echo missing )); the js run only"
fi
configs+=(js)

failed=0
summary=()
for c in "${configs[@]}"; do
  start=$(date +%s)
  if [ "$c" = js ]; then
    files=("${js_files[@]}"); env_set=(AEKIT_BACKEND=js)
  else
    files=("${native_files[@]}"); env_set=(OPENBLAS_CORETYPE="$c" AEKIT_BACKEND=native)
  fi
  log=$(mktemp)
  if env "${env_set[@]}" node --test --test-timeout=600000 "${files[@]}" >"$log" 2>&1; then status=ok; else status=FAILED; failed=1; fi
  pass=$(grep -E '^# pass' "$log" | awk '{print $3}')
  fail=$(grep -E '^# fail' "$log" | awk '{print $3}')
  line="$c: $status, ${pass:-?} passed, ${fail:-?} failed, $(( $(date +%s) - start )) s"
  echo "test-kernels: $line"
  summary+=("$line")
  if [ "$status" = FAILED ]; then grep -E '^not ok|^ +not ok|# Subtest' "$log" | grep -B1 'not ok' | head -20; fi
  rm -f "$log"
done
echo "test-kernels: ${#configs[@]} configurations; $( [ $failed = 0 ] && echo 'all passed' || echo 'FAILURES above')"
exit $failed
