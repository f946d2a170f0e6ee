#!/usr/bin/env bash
# Writes random-weight GGUFs at the real Gemma 4 shapes (facet random) and
# runs `facet bench` on each: the table in docs/performance.md. Needs a
# built tree (build/facet) and, for 26B-A4B and 31B, about 32 GB of disk.
# Usage: tools/bench_models.sh [out_dir] [models...]
#   models: e2b-q4_0 e2b-q8_0 e4b-q4_0 e4b-q8_0 26b-a4b-q4_0 31b-q4_0
# Environment: THREADS (2), PROMPT (512), GEN (128), REPS (3).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-tools/out/models}
shift || true
models=("$@")
[ ${#models[@]} -eq 0 ] && models=(e2b-q4_0 e2b-q8_0 e4b-q4_0 e4b-q8_0)
threads=${THREADS:-2} prompt=${PROMPT:-512} gen=${GEN:-128} reps=${REPS:-3}
mkdir -p "$out"
for m in "${models[@]}"; do
  arch=${m%-*} type=${m##*-}
  file="$out/$m.gguf"
  [ -f "$file" ] || build/facet random --arch "$arch" --type "$type" -o "$file"
  echo "== $m: build/facet bench -m $file -p $prompt -n $gen -t $threads -r $reps --json"
  build/facet bench -m "$file" -p "$prompt" -n "$gen" -t "$threads" -r "$reps" --json
done
