#!/usr/bin/env bash
# Fuzzing campaign over facet's libFuzzer targets (tests/fuzz).
#
#   tools/fuzz_campaign.sh [SECONDS_PER_TARGET=600] [TARGET...]
#
# TARGET is a short name (tokenizer_json, the <name> of tests/fuzz/
# <name>_fuzz.cc) or the executable name (facet_fuzz_tokenizer_json); the
# default is every target. The script configures and builds the targets in
# build-fuzz (clang, ASan + UBSan + libFuzzer coverage: -DFACET_FUZZ=ON),
# then runs each one for SECONDS_PER_TARGET on a working corpus in
# build-fuzz/campaign/<name>/corpus: the seeds of tests/fuzz/corpus/<name>
# are copied in (the committed corpus is never written), and what a
# previous campaign found there is kept. Crash, leak, timeout and OOM
# inputs go to build-fuzz/campaign/<name>/findings/ (those of an earlier
# run are moved to findings.<time>/ first); the fuzzer's output is in
# build-fuzz/campaign/<name>/fuzz.log.
#
# Prints one line per target: executions, executions per second, coverage
# (cov: of the last status line), corpus files and findings. Exits 1 when
# any target has a finding (or stopped with an error), 0 otherwise.
#
# Environment:
#   FUZZ_JOBS=N        run N targets at a time (default 1)
#   FUZZ_BUILD_JOBS=N  parallel compile jobs (default 1)
#   FUZZ_NO_BUILD=1    use the executables already in build-fuzz
#   FUZZ_ARGS="..."    extra libFuzzer flags (e.g. -max_len=65536)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-fuzz"
seconds=${1:-600}
if [[ $# -gt 0 ]]; then shift; fi
jobs=${FUZZ_JOBS:-1}
build_jobs=${FUZZ_BUILD_JOBS:-1}

if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -eq 0 ]]; then
  echo "usage: $0 [SECONDS_PER_TARGET=600] [TARGET...]" >&2
  exit 2
fi
if ! [[ "$jobs" =~ ^[0-9]+$ ]] || [[ "$jobs" -eq 0 ]]; then
  echo "FUZZ_JOBS must be a positive integer, got '$jobs'" >&2
  exit 2
fi

# --- targets ---------------------------------------------------------------
all=()
for src in "$root"/tests/fuzz/*_fuzz.cc; do
  name=$(basename "$src" _fuzz.cc)
  all+=("$name")
done
targets=()
if [[ $# -eq 0 ]]; then
  targets=("${all[@]}")
else
  for t in "$@"; do
    t=${t#facet_fuzz_}
    if [[ ! -f "$root/tests/fuzz/${t}_fuzz.cc" ]]; then
      echo "unknown fuzz target '$t' (known: ${all[*]})" >&2
      exit 2
    fi
    targets+=("$t")
  done
fi

# --- build -----------------------------------------------------------------
if [[ "${FUZZ_NO_BUILD:-0}" != 1 ]]; then
  if [[ ! -f "$build/CMakeCache.txt" ]]; then
    CC=clang CXX=clang++ cmake -S "$root" -B "$build" \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFACET_FUZZ=ON \
      -DFACET_BUILD_TESTS=ON -DFACET_BUILD_BENCH=OFF
  elif ! grep -q '^FACET_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
    echo "$build exists but is not a FACET_FUZZ=ON build" >&2
    exit 2
  fi
  build_targets=()
  for t in "${targets[@]}"; do build_targets+=(--target "facet_fuzz_$t"); done
  cmake --build "$build" -j"$build_jobs" "${build_targets[@]}"
fi
for t in "${targets[@]}"; do
  if [[ ! -x "$build/tests/fuzz/facet_fuzz_$t" ]]; then
    echo "missing $build/tests/fuzz/facet_fuzz_$t (build it first)" >&2
    exit 2
  fi
done

# --- run -------------------------------------------------------------------
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
stamp=$(date +%Y%m%d-%H%M%S)

run_target() {
  local t=$1
  local dir="$build/campaign/$t"
  mkdir -p "$dir/corpus"
  if [[ -d "$dir/findings" ]] && [[ -n "$(ls -A "$dir/findings")" ]]; then
    mv "$dir/findings" "$dir/findings.$stamp"
  fi
  mkdir -p "$dir/findings"
  if [[ -d "$root/tests/fuzz/corpus/$t" ]]; then
    cp -f "$root/tests/fuzz/corpus/$t"/* "$dir/corpus/" 2>/dev/null || true
    chmod -R u+w "$dir/corpus"
  fi
  local rc=0
  # shellcheck disable=SC2086  # FUZZ_ARGS is a list of flags
  (cd "$dir" && "$build/tests/fuzz/facet_fuzz_$t" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$dir/findings/" \
    ${FUZZ_ARGS:-} "$dir/corpus") >"$dir/fuzz.log" 2>&1 || rc=$?
  echo "$rc" >"$dir/exit_code"
}

pids=()
for t in "${targets[@]}"; do
  while [[ $(jobs -rp | wc -l) -ge $jobs ]]; do wait -n || true; done
  echo "fuzzing $t for ${seconds}s (log: build-fuzz/campaign/$t/fuzz.log)" >&2
  run_target "$t" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done

# --- report ----------------------------------------------------------------
stat() {  # stat NAME LOG: a -print_final_stats value
  sed -n "s/^stat::$1: *//p" "$2" | tail -n 1
}

status=0
printf '%-22s %12s %9s %8s %8s %9s\n' target execs exec/s cov corpus findings
for t in "${targets[@]}"; do
  dir="$build/campaign/$t"
  log="$dir/fuzz.log"
  rc=$(cat "$dir/exit_code" 2>/dev/null || echo 1)
  execs=$(stat number_of_executed_units "$log")
  speed=$(stat average_exec_per_sec "$log")
  cov=$(grep -o ' cov: [0-9]*' "$log" | tail -n 1 | tr -dc 0-9)
  corpus=$(find "$dir/corpus" -type f | wc -l)
  findings=$(find "$dir/findings" -maxdepth 1 -type f \
    \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
    -o -name 'oom-*' \) | wc -l)
  note=""
  if [[ "$findings" -gt 0 ]]; then
    note="  see build-fuzz/campaign/$t/findings/"
    status=1
  elif [[ "$rc" -ne 0 ]]; then
    # Stopped without an artifact (e.g. it could not start): count it.
    findings="err:$rc"
    note="  see build-fuzz/campaign/$t/fuzz.log"
    status=1
  fi
  printf '%-22s %12s %9s %8s %8s %9s%s\n' "$t" "${execs:--}" "${speed:--}" \
    "${cov:--}" "$corpus" "$findings" "$note"
done
exit "$status"
