#!/usr/bin/env bash
# Installs the official `openai` npm package (the client the server test
# tests/server_openai_test.mjs drives against `facet serve`) into <out_dir>.
#
# Usage: tools/fetch_openai_client.sh [out_dir]   (default: build/openai-client)
# Needs node (>= 18) and npm with access to the npm registry. The test reads
# FACET_OPENAI_CLIENT (default <build dir>/openai-client) and skips when the
# package is absent.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/build/openai-client}"
pkg="openai"
version="5.23.2"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
pkg_dir="$out/node_modules/$pkg"
installed=""
if [ -f "$pkg_dir/package.json" ]; then
  installed="$(node -p "require('$pkg_dir/package.json').version" 2>/dev/null || true)"
fi
if [ "$installed" != "$version" ]; then
  echo "fetch_openai_client: installing $pkg@$version into $out"
  npm install --no-save --no-audit --no-fund --loglevel=error \
    --prefix "$out" "$pkg@$version"
else
  echo "fetch_openai_client: $pkg@$version already in $out"
fi
test -f "$pkg_dir/index.mjs"
