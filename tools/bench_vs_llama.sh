#!/usr/bin/env bash
# facet against llama.cpp on the same machine, the same files and the same
# settings: writes the random-weight GGUFs at the real Gemma 4 shapes once
# (facet random, into a cache folder; a model whose file would not fit the
# free disk is skipped), runs llama-bench and facet bench on each with the
# same threads, -p, -n, -r (and -d), and prints one markdown table of
# speeds, ratios (facet / llama.cpp), peak RSS (/usr/bin/time -v) and
# start-up times.
#
# Usage: LLAMA_BENCH=/path/to/llama-bench tools/bench_vs_llama.sh \
#          [facet_build_dir] [models...]
#   facet_build_dir  holds the facet binary (default: build)
#   models           e2b-q4_0 e2b-q4_k_m e4b-q4_0 26b-a4b-q4_0 31b-q4_0
#                    (the default: all five)
# Environment:
#   LLAMA_BENCH  llama-bench (default: the one ../shared/tools/llama-cpp.sh
#                builds, /root/.cache/llama-cpp-ref/llama.cpp/build/bin)
#   CACHE_DIR    where the model files are kept (~/.cache/facet-bench)
#   THREADS (2), PROMPT (512), GEN (128), REPS (3), DEPTH (0): both engines
#   BIG_PROMPT (128), BIG_GEN (32), BIG_REPS (1): the same for 26B-A4B and
#                31B, as in issue 15's measurements
#   CTK, CTV     KV cache types given to both (-ctk/-ctv); unset: each
#                engine's default (facet f32, llama.cpp f16)
#   FACET_ARGS   more arguments for facet bench (e.g. --no-repack)
#
# Start-up is the wall time of a run that loads the model and evaluates one
# token (-p 1 -n 1 -r 1 for facet; llama-bench -p 0 -n 1 -r 1, whose warm-up
# adds a second token); facet's own load time (facet bench's load_s, from
# the page cache) is in the table too. Each engine runs once untimed first
# so that both read the file from the page cache.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
models=("$@")
[ ${#models[@]} -eq 0 ] &&
  models=(e2b-q4_0 e2b-q4_k_m e4b-q4_0 26b-a4b-q4_0 31b-q4_0)
llama=${LLAMA_BENCH:-/root/.cache/llama-cpp-ref/llama.cpp/build/bin/llama-bench}
cache=${CACHE_DIR:-$HOME/.cache/facet-bench}
threads=${THREADS:-2} depth=${DEPTH:-0}
facet="$build/facet"
for f in "$llama" "$facet" /usr/bin/time; do
  if [ ! -x "$f" ]; then
    echo "bench_vs_llama: $f is missing (LLAMA_BENCH: ../shared/tools/llama-cpp.sh builds it)" >&2
    exit 2
  fi
done
kv_facet=() kv_llama=()
[ -n "${CTK:-}" ] && kv_facet+=(-ctk "$CTK") && kv_llama+=(-ctk "$CTK")
[ -n "${CTV:-}" ] && kv_facet+=(-ctv "$CTV") && kv_llama+=(-ctv "$CTV")
mkdir -p "$cache"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# File sizes in GB (facet random at the real shapes), for the disk check.
size_gb() {
  case $1 in
    e2b-q4_0) echo 3.4 ;; e2b-q4_k_m) echo 3.7 ;; e4b-q4_0) echo 5.5 ;;
    26b-a4b-q4_0) echo 15.5 ;; 31b-q4_0) echo 18 ;; *) echo 20 ;;
  esac
}

# Peak RSS (KiB) and elapsed seconds from /usr/bin/time -v output.
rss_kib() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }
wall_s() {
  awk -F': ' '/Elapsed \(wall clock\)/ {
    n = split($2, p, ":"); s = 0
    for (i = 1; i <= n; i++) s = s * 60 + p[i]
    print s }' "$1"
}

rows=()
for m in "${models[@]}"; do
  arch=${m%-*} type=${m##*-}
  file="$cache/$m.gguf"
  if [ ! -f "$file" ]; then
    need=$(size_gb "$m")
    free_gb=$(df -Pk "$cache" | awk 'NR == 2 {printf "%.1f", $4 / 1048576}')
    if awk -v f="$free_gb" -v n="$need" 'BEGIN {exit !(f < n + 2)}'; then
      echo "== $m: skipped, needs ~$need GB and $free_gb GB are free" >&2
      rows+=("| $m | skipped: needs ~$need GB of disk, $free_gb GB free | | | | | | |")
      continue
    fi
    echo "== $m: writing $file" >&2
    "$facet" random --arch "$arch" --type "$type" -o "$file.tmp" >&2
    mv "$file.tmp" "$file"
  fi
  p=${PROMPT:-512} n=${GEN:-128} r=${REPS:-3}
  case $m in 26b* | 31b*) p=${BIG_PROMPT:-128} n=${BIG_GEN:-32} r=${BIG_REPS:-1} ;; esac
  echo "== $m: -t $threads -p $p -n $n -r $r -d $depth ${kv_facet[*]}" >&2
  # Page cache warm-up and start-up times.
  "$llama" -m "$file" -t "$threads" -p 0 -n 1 -r 1 -o json >/dev/null 2>&1 || true
  /usr/bin/time -v "$llama" -m "$file" -t "$threads" -p 0 -n 1 -r 1 -o json \
    >/dev/null 2>"$tmp/llama_start"
  "$facet" bench -m "$file" -t "$threads" -p 1 -n 1 -r 1 --json >/dev/null 2>&1
  /usr/bin/time -v "$facet" bench -m "$file" -t "$threads" -p 1 -n 1 -r 1 \
    --json >"$tmp/facet_start.json" 2>"$tmp/facet_start"
  # The measured runs.
  /usr/bin/time -v "$llama" -m "$file" -t "$threads" -p "$p" -n "$n" \
    -r "$r" -d "$depth" "${kv_llama[@]}" -o json >"$tmp/llama.json" \
    2>"$tmp/llama_time"
  # shellcheck disable=SC2086
  /usr/bin/time -v "$facet" bench -m "$file" -t "$threads" -p "$p" -n "$n" \
    -r "$r" -d "$depth" "${kv_facet[@]}" ${FACET_ARGS:-} --json \
    >"$tmp/facet.json" 2>"$tmp/facet_time"
  row=$(python3 - "$tmp" "$m" "$p" "$n" "$r" \
    "$(rss_kib "$tmp/llama_time")" "$(rss_kib "$tmp/facet_time")" \
    "$(wall_s "$tmp/llama_start")" "$(wall_s "$tmp/facet_start")" <<'EOF'
import json, sys
tmp, m, p, n, r, lr, fr, ls, fs = sys.argv[1:]
llama = json.load(open(tmp + "/llama.json"))
pp = next((t["avg_ts"] for t in llama if t["n_gen"] == 0), 0.0)
tg = next((t["avg_ts"] for t in llama if t["n_prompt"] == 0), 0.0)
kv = "%s/%s" % (llama[0].get("type_k", "?"), llama[0].get("type_v", "?"))
f = json.loads(open(tmp + "/facet.json").read().strip().splitlines()[-1])
fload = json.loads(open(tmp + "/facet_start.json").read().strip().splitlines()[-1])["load_s"]
fp, ft = f["prefill_tok_s"], f["decode_tok_s"]
ratio = lambda a, b: "%.2fx" % (a / b) if b else "-"
gib = lambda kib: "%.2f" % (int(kib) / 1048576.0)
print("| %s | pp%s tg%s r%s | %.1f / %.1f | %.1f / %.1f | %s / %s | %s / %s GiB "
      "| %.1f / %.1f s (facet load %.2f s) | %s / %s |" % (
          m, p, n, r, pp, tg, fp, ft, ratio(fp, pp), ratio(ft, tg),
          gib(fr), gib(lr), float(fs), float(ls), fload,
          f.get("cache_type_k", "f32") + "/" + f.get("cache_type_v", "f32"),
          kv))
EOF
)
  echo "$row" >&2
  rows+=("$row")
done

cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
echo
echo "$cpu, $threads threads, depth $depth, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| file | test | llama.cpp prefill / decode tok/s | facet prefill / decode tok/s | facet / llama.cpp prefill / decode | peak RSS facet / llama.cpp | start-up facet / llama.cpp | KV facet / llama.cpp |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
