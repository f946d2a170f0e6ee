#!/usr/bin/env bash
# Installs facet from the build folder into a temporary prefix, builds the
# minimal example (C++) and the C example (C11, the C ABI) out of tree
# against it (CMake package and pkg-config), and runs the four builds on a
# model: all must give the same answer.
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
# The C example: a C-only CMake project, and cc with pkg-config's facet-c
# (which adds the C++ runtime). Same prompt and sampling as the minimal
# example, so the same answer through the C ABI.
cmake -S "$src/examples/c" -B "$tmp/consumer_c" \
  -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$tmp/consumer_c" >/dev/null
out3=$("$tmp/consumer_c/facet_c_chat" "$model" -p "hello" -n 128 -q)
echo "C, cmake package build: $(echo "$out3" | head -c 200)"
cc -std=c11 -Wall -Wextra -pedantic -O1 "$src/examples/c/main.c" -o "$tmp/c_pc" \
  $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs facet-c)
out4=$("$tmp/c_pc" "$model" -p "hello" -n 128 -q)
echo "C, pkg-config build: $(echo "$out4" | head -c 200)"
[ "$out" = "$out3" ] || { echo "the C example answered differently"; exit 1; }
[ "$out" = "$out4" ] || { echo "the pkg-config C build answered differently"; exit 1; }
