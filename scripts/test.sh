#!/usr/bin/env bash
# Installs what is missing, builds fieldmesh with AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build=${FM_TEST_BUILD:-build-test}
cmake -S . -B "$build" -DFM_SANITIZE=ON -DFM_WERROR=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build" --output-on-failure -j2

# The whole tree builds warning-free with clang too (the suite above ran
# the gcc build); nothing is run from this one.
CC=clang cmake -S . -B "${FM_CLANG_BUILD:-build-clang}" -DFM_WERROR=ON \
  -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "${FM_CLANG_BUILD:-build-clang}" -j"$(nproc)"

# Fuzz each decoder briefly with libFuzzer (clang, ASan, UBSan): its seed
# corpus, then 10 s of new inputs.  `scripts/fuzz.sh 600` is the long run.
fuzz=${FM_FUZZ_BUILD:-build-fuzz}
CC=clang cmake -S . -B "$fuzz" -DFM_FUZZ=ON -DFM_WERROR=ON -DFM_FUZZ_SECONDS=10 \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$fuzz" -j"$(nproc)" --target fuzz_all
ctest --test-dir "$fuzz" -L libfuzzer --output-on-failure -j2
