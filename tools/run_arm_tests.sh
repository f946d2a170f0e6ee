#!/usr/bin/env bash
# Cross-compiles the whole library, the facet CLI and the unit tests below
# (facet_arm_tests) for Arm64 (Debian's g++-aarch64-linux-gnu, cmake/aarch64-linux-gnu.cmake)
# into build-arm64-full/ and runs them under qemu-aarch64:
#  1. -cpu max (NEON, dotprod, i8mm): every Arm kernel level against the
#     reference (the kernel, packed, attention and vector tests) and, at
#     the best level, the golden-logit, engine, model-load, tokenizer,
#     bad-input and demo tests;
#  2. `facet run` of models/demo (greedy) at each Arm level, its answer
#     compared with the x86 build's (build/facet, when tools/run_tests.sh
#     has built it);
#  3. dispatch on CPU models that lack i8mm (neoverse-n1) or dotprod too
#     (cortex-a57): the best level falls back, a FACET_ISA the CPU lacks is
#     ignored, and the tests of the kernels the CPU runs pass again there.
# The rest of the unit binary (media encoders, constrained output, ...)
# takes tens of minutes under emulation and is left to the x86 runs.
# Needs tools/install_deps.sh (g++-aarch64-linux-gnu, qemu-user, arm64
# libraries).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${FACET_JOBS:-2}
build=build-arm64-full
arm_lib=/usr/lib/aarch64-linux-gnu
for need in aarch64-linux-gnu-g++ qemu-aarch64 "$arm_lib/libcpuinfo.so.0" \
  "$arm_lib/libgtest_main.a" "$arm_lib/libjpeg.so" "$arm_lib/libsndfile.so" \
  /usr/local/lib/aarch64-linux-gnu/libsentencepiece.so.0; do
  if ! command -v "$need" >/dev/null && [ ! -e "$need" ]; then
    echo "run_arm_tests.sh: $need missing; run tools/install_deps.sh" >&2
    exit 1
  fi
done

start=$SECONDS
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
  -DFACET_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
cmake --build "$build" -j"$jobs" --target facet_cli facet_arm_tests
echo "arm64 build: $((SECONDS - start)) s"

# The cross toolchain's glibc, next to the dynamic loader -L gives: the
# arm64 libc6 that multiarch packages pull in is another build, and a libc
# that does not match its loader hangs in pthread_create.
cross_lib=/usr/aarch64-linux-gnu/lib
qemu() {  # qemu CPU FACET_ISA-or-"" BINARY [args...]
  local cpu=$1 isa=$2
  shift 2
  env ${isa:+FACET_ISA=$isa} \
    qemu-aarch64 -L /usr/aarch64-linux-gnu -E "LD_LIBRARY_PATH=$cross_lib" \
    -cpu "$cpu" "$@"
}
run() {  # run CPU FACET_ISA-or-"" EXPECTED-ISA [gtest args...]
  local cpu=$1 isa=$2 want=$3
  shift 3
  echo "== qemu-aarch64 -cpu $cpu, FACET_ISA=${isa:-unset}: expect $want"
  FACET_EXPECT_ISA="$want" qemu "$cpu" "$isa" \
    "$build/tests/facet_arm_tests" --gtest_brief=1 "$@"
}
# The kernels at every level (the per-level Check_ tests compare each with
# the reference), then the model-level tests at the best level.
kernels='DispatchTest.*:ActQuantTest.*:VectorOpsTest.*:AttentionTest.*'
kernels+=':Types/MatMulTest.*:Types/GemmTest.*:Types/PackedTest.*'
kernels+=':Types/LegacyQuantTest.*:Types/KQuantTest.*:Fp16Test.*:Bf16Test.*'
model='All/GoldenTest.*:Variants/ConsistencyTest.*:EngineTest.*'
model+=':ModelLoadTest.*:Files/DemoTest.*:TokenizerGolden.*:Tokenizer.*'
model+=':BadInput/BadInputTest.*:BadInputTableTest.*:SafetensorsGoldenTest.*'
run max "" neoni8mm --gtest_filter="$kernels:$model"

# Greedy demo answers: one per level, all equal to x86's (each level's
# kernels are exact integer arithmetic plus the same fp32 rounding).
prompt="Read me a verse about light"
want=""
if [ -x build/facet ]; then
  want=$(build/facet run -m models/demo -p "$prompt" -n 16 --temp 0 2>/dev/null)
  echo "x86 (build/facet): $want"
fi
for level in max:neoni8mm neoverse-n1:neondot cortex-a57:neon; do
  got=$(qemu "${level%%:*}" "" "$build/facet" run -m models/demo \
    -p "$prompt" -n 16 --temp 0 2>/dev/null)
  echo "arm64 ${level#*:} (-cpu ${level%%:*}): $got"
  if [ -z "$got" ] || { [ -n "$want" ] && [ "$got" != "$want" ]; }; then
    echo "run_arm_tests.sh: facet run on Arm64 differs from x86" >&2
    exit 1
  fi
done

# The fallback CPUs rerun the kernels they can (every level they have,
# exact and tiling checks; no illegal instruction), not the full sweep.
quick='DispatchTest.*:ActQuantTest.*:VectorOpsTest.*'
quick+=':*IntegerArithmeticIsExact*:*TilingDoesNotChangeBits*'
run neoverse-n1 "" neondot --gtest_filter="$quick"
run cortex-a57 "" neon --gtest_filter="$quick"
run cortex-a57 neoni8mm neon --gtest_filter='DispatchTest.*'
run max neon neon --gtest_filter='DispatchTest.*'
echo "run_arm_tests.sh: all passed in $((SECONDS - start)) s"
