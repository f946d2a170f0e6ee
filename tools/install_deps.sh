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

# The Arm64 kernels test (tools/run_arm_tests.sh): the cross compiler,
# qemu-user, and the arm64 libraries the test links (multiarch).
dpkg --add-architecture arm64
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  g++-aarch64-linux-gnu qemu-user libcpuinfo0:arm64 libgtest-dev:arm64
