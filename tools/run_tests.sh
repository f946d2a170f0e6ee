#!/usr/bin/env bash
# Builds facet once and runs the whole test suite: unit, golden-logit and
# bad-input tests (ctest), then a short smoke run of every fuzz target
# (clang + libFuzzer, in its own build folder).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${FACET_JOBS:-2}
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"
if [ "${FACET_SKIP_FUZZ:-0}" != 1 ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DFACET_FUZZ=ON -DFACET_BUILD_TESTS=OFF -DFACET_BUILD_BENCH=OFF
  cmake --build build-fuzz -j"$jobs"
  ctest --test-dir build-fuzz --output-on-failure
fi
