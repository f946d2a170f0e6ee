#!/usr/bin/env bash
# Installs facet from the build folder into a temporary prefix, builds the
# minimal example out of tree against it (CMake package and pkg-config),
# and runs both builds on a model.
# usage: install_test.sh <build dir> <source dir> <model>
set -euo pipefail
build=$1; src=$2; model=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S "$src/examples/minimal" -B "$tmp/consumer" \
  -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$tmp/consumer" >/dev/null
out=$("$tmp/consumer/facet_minimal" "$model" "hello")
echo "cmake package build: $(echo "$out" | head -c 200)"
pcdir=$(dirname "$(find "$tmp/prefix" -name facet.pc)")
PKG_CONFIG_PATH=$pcdir g++ -O1 "$src/examples/minimal/main.cc" -o "$tmp/minimal_pc" \
  $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs facet)
out2=$("$tmp/minimal_pc" "$model" "hello")
echo "pkg-config build: $(echo "$out2" | head -c 200)"
[ "$out" = "$out2" ] || { echo "the two builds answered differently"; exit 1; }
