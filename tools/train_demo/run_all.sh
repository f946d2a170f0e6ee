#!/bin/bash
# Rebuilds the bundled demo model from scratch (about 45 minutes on 2 cores).
# Needs (Debian 12): apt-get install -y python3-torch python3-sentencepiece sentencepiece \
#                    bible-kjv bible-kjv-text libopenblas0-openmp
# (libopenblas0-openmp: Debian's torch otherwise falls back to the reference BLAS, ~10x slower.)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE/../.."
export OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE
PY="nice -n 19 /usr/bin/python3"
$PY tools/train_demo/verify_golden.py            # the torch reference must match the goldens first
$PY tools/train_demo/make_data.py
tools/train_demo/make_tokenizer.sh
$PY tools/train_demo/train.py "$@" 2>&1 | tee tools/train_demo/out/train_stdout.log
$PY tools/train_demo/export_reference.py --samples 2>&1 | tee tools/train_demo/out/reference_stdout.log
du -ab models/demo
