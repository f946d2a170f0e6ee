#!/usr/bin/env bash
# Cross-compiles the kernels and tests/kernels_test.cc for Arm64 (nothing
# else: FACET_KERNEL_TESTS_ONLY) into build-arm64/ and runs them under
# qemu-aarch64:
#  1. -cpu max (NEON, dotprod, i8mm): every Arm level against the
#     reference, and the best one picked;
#  2. dispatch on CPU models that lack i8mm (neoverse-n1) or dotprod too
#     (cortex-a57): the best level falls back, a FACET_ISA the CPU lacks is
#     ignored, and the tests of the kernels the CPU runs pass again there.
# Needs tools/install_deps.sh (g++-aarch64-linux-gnu, qemu-user, arm64
# libraries).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${FACET_JOBS:-2}
arm_lib=/usr/lib/aarch64-linux-gnu
for need in aarch64-linux-gnu-g++ qemu-aarch64 "$arm_lib/libcpuinfo.so.0" \
  "$arm_lib/libgtest_main.a"; do
  if ! command -v "$need" >/dev/null && [ ! -e "$need" ]; then
    echo "run_arm_tests.sh: $need missing; run tools/install_deps.sh" >&2
    exit 1
  fi
done

start=$SECONDS
cmake -S . -B build-arm64 -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
  -DFACET_KERNEL_TESTS_ONLY=ON \
  -DCPUINFO_LIBRARY="$arm_lib/libcpuinfo.so.0" >/dev/null
cmake --build build-arm64 -j"$jobs" --target facet_kernels_test
echo "arm64 build: $((SECONDS - start)) s"

# The cross toolchain's glibc, next to the dynamic loader -L gives: the
# arm64 libc6 that multiarch packages pull in is another build, and a libc
# that does not match its loader hangs in pthread_create.
cross_lib=/usr/aarch64-linux-gnu/lib
run() {  # run CPU FACET_ISA-or-"" EXPECTED-ISA [gtest args...]
  local cpu=$1 isa=$2 want=$3
  shift 3
  echo "== qemu-aarch64 -cpu $cpu, FACET_ISA=${isa:-unset}: expect $want"
  env ${isa:+FACET_ISA=$isa} FACET_EXPECT_ISA="$want" \
    qemu-aarch64 -L /usr/aarch64-linux-gnu -E "LD_LIBRARY_PATH=$cross_lib" \
    -cpu "$cpu" \
    build-arm64/facet_kernels_test --gtest_brief=1 "$@"
}
run max "" neoni8mm
# The fallback CPUs rerun the kernels they can (every level they have,
# exact and tiling checks; no illegal instruction), not the full sweep.
quick='DispatchTest.*:ActQuantTest.*:VectorOpsTest.*'
quick+=':*IntegerArithmeticIsExact*:*TilingDoesNotChangeBits*'
run neoverse-n1 "" neondot --gtest_filter="$quick"
run cortex-a57 "" neon --gtest_filter="$quick"
run cortex-a57 neoni8mm neon --gtest_filter='DispatchTest.*'
run max neon neon --gtest_filter='DispatchTest.*'
echo "run_arm_tests.sh: all passed in $((SECONDS - start)) s"
