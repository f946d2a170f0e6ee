#!/usr/bin/env bash
# Installs everything facet needs to build and test, from Debian 12 packages
# only. Re-runs itself through sudo when not root.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then exec sudo "$0" "$@"; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  cmake g++ make pkg-config \
  libcpuinfo-dev \
  libsentencepiece-dev sentencepiece nlohmann-json3-dev \
  libgtest-dev libgmock-dev libbenchmark-dev \
  clang libclang-rt-14-dev \
  python3 python3-numpy tmux libsimde-dev \
  libjpeg62-turbo-dev libpng-dev libstb-dev libsndfile1-dev libsoxr-dev \
  libkissfft-dev \
  libcpp-httplib-dev
# The chat page's browser test (tests/server_browser_test.py): headless
# chromium driven through chromedriver by selenium.
apt-get install -y -qq --no-install-recommends \
  chromium chromium-driver python3-selenium
# Node.js + npm fetch the tokenizer parity data and the openai client of
# the server test; keep an existing install.
command -v npm >/dev/null || apt-get install -y -qq --no-install-recommends nodejs npm

# The Arm64 cross build (tools/run_arm_tests.sh): the cross compiler,
# qemu-user, and the arm64 libraries facet links (multiarch, next to the
# amd64 ones; the headers are shared).
dpkg --add-architecture arm64
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  g++-aarch64-linux-gnu qemu-user libcpuinfo0:arm64 libgtest-dev:arm64 \
  libjpeg62-turbo-dev:arm64 libpng-dev:arm64 libsndfile1-dev:arm64 \
  libsoxr-dev:arm64 libkissfft-dev:arm64 libstdc++6:arm64 \
  libcpp-httplib-dev:arm64
# libsentencepiece0 is not Multi-Arch: same (installing the arm64 one
# removes the amd64 library and its -dev package): unpack the arm64 shared
# library where dpkg does not look and the arm64 loader does.
spm_dir=/usr/local/lib/aarch64-linux-gnu
if [ ! -e "$spm_dir/libsentencepiece.so.0" ]; then
  tmp=$(mktemp -d)
  chown _apt "$tmp" 2>/dev/null || true  # apt downloads as _apt
  (cd "$tmp" && apt-get download -qq libsentencepiece0:arm64)
  dpkg-deb -x "$tmp"/libsentencepiece0_*_arm64.deb "$tmp/x"
  install -d "$spm_dir"
  cp -a "$tmp"/x/usr/lib/aarch64-linux-gnu/libsentencepiece.so.0* "$spm_dir/"
  rm -rf "$tmp"
fi
