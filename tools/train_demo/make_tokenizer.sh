#!/bin/bash
# Trains the demo sentencepiece BPE tokenizer with Debian's spm_train.
# Input: out/spm_input.txt from make_data.py. Output: models/demo/tokenizer.model
# Ids: <pad> 0, <eos> 1, <bos> 2, <unk> 3, then the Gemma 4 special tokens and
# "\n" as user-defined symbols (always one token each): <|turn> 4, <turn|> 5, ...
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${OUT:-$HERE/out}"
VOCAB="${VOCAB:-4096}"
NL=$'\n'
SYMS="<|turn>,<turn|>,<|think|>,<|channel>,<channel|>,<|tool>,<tool|>,<|tool_call>,<tool_call|>,<|tool_response>,<tool_response|>,<|\"|>,<|image>,<|image|>,<image|>,<|audio>,<|audio|>,<audio|>,<|video|>,<mask>,${NL}"
mkdir -p "$ROOT/models/demo"
nice -n 19 spm_train \
  --input="$OUT/spm_input.txt" \
  --model_prefix="$OUT/demo_spm" \
  --model_type=bpe --vocab_size="$VOCAB" \
  --byte_fallback=true --split_digits=true --character_coverage=1.0 \
  --normalization_rule_name=identity --add_dummy_prefix=false --remove_extra_whitespaces=false \
  --pad_id=0 --eos_id=1 --bos_id=2 --unk_id=3 \
  --pad_piece='<pad>' --eos_piece='<eos>' --bos_piece='<bos>' --unk_piece='<unk>' \
  --user_defined_symbols="$SYMS" \
  --num_threads=2 --minloglevel=1
cp "$OUT/demo_spm.model" "$ROOT/models/demo/tokenizer.model"
ls -l "$ROOT/models/demo/tokenizer.model"
