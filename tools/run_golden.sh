#!/usr/bin/env bash
# Runs every golden case in a golden folder through `facet logits` and
# check.py. usage: tools/run_golden.sh <facet binary> <golden dir> [threads]
set -u
facet=$1; G=$2; threads=${3:-1}
py=/usr/bin/python3
fail=0
cases=$(cd "$G" && for m in */meta.json */s*/meta.json; do dirname "$m"; done | sort -u)
for c in $cases; do
  mf=$($py -c "import json;print(json.load(open('$G/$c/meta.json'))['model_file'])")
  model=$(cd "$G/$c" && realpath "$mf")
  [ -d "$(dirname "$model")" ] && [[ $model == *.safetensors ]] && model=$(dirname "$model")
  toks=$($py -c "import json;print(','.join(map(str,json.load(open('$G/$c/tokens.json'))['tokens'])))")
  dt=$($py -c "import json;print(','.join(map(str,json.load(open('$G/$c/tokens.json'))['greedy_continuation'])))")
  out=$(mktemp -d)
  "$facet" logits -m "$model" --tokens "$toks" --out "$out/p.f32" --decode 20 \
    --decode-out "$out/d.f32" --decode-tokens "$dt" -t "$threads" >/dev/null 2>&1 || { echo "$c: facet failed"; fail=1; continue; }
  res=$($py "$G/check.py" "$G/$c" "$out/p.f32" "$out/d.f32" | tail -1)
  line=$($py "$G/check.py" "$G/$c" "$out/p.f32" "$out/d.f32" | sed -n 2p)
  echo "$c: $res  $line"
  [ "$res" = PASS ] || fail=1
  rm -rf "$out"
done
exit $fail
