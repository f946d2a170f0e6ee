"""Writes the parity-test reference of the demo model, from the SAVED bf16 weights.

  nice -n 19 /usr/bin/python3 tools/train_demo/export_reference.py [--samples]

Reloads models/demo/model.safetensors (bf16 -> exact f32), runs model.py in
float32 (embedding scale bf16(sqrt(H)) = 16 and PLE scale bf16(sqrt(P)) = 8,
both exact for H = 256, P = 64) and writes models/demo/reference/:
  prompt_tokens.json  the chat prompt, its text and token ids
  logits.f32          little-endian float32 [n_tokens][vocab], every prompt position
                      (row i = logits after token i, predicting token i+1; softcap applied)
  greedy.json         the 32-token greedy continuation (no early stop), its top-1
                      margins (top1 - top2 logit) and decoded text
  decode_logits.f32   little-endian float32 [32][vocab]: row 0 = last prompt row,
                      row k = logits after appending greedy token k-1 (what a KV-cache
                      decode must produce; computed here by full recomputation)
With --samples also prints greedy answers to a few prompts (stopping at <turn|>).
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from model import load_hf_model  # noqa: E402

PROMPT_USER = "Recite Genesis 1:1"
N_GEN = 32
SAMPLE_PROMPTS = ["Recite Genesis 1:1", "Quote John 3:16", "Give me a verse from Psalms",
                  "Read me a verse about light", "Recite Psalms 23:1", "What does Exodus 20:3 say?"]


def chat_prompt(user):
    return "<bos><|turn>user\n" + user + "<turn|>\n<|turn>model\n"


def encode_prompt(sp, text):
    assert text.startswith("<bos>")
    return [sp.bos_id()] + sp.encode(text[len("<bos>"):])  # <bos> is a control token


def greedy(model, ids, n, stop=None):
    toks, margins, rows = [], [], []
    cur = list(ids)
    with torch.no_grad():
        for _ in range(n):
            row = model(torch.tensor([cur]))[0, -1]
            top2 = torch.topk(row, 2).values
            t = int(row.argmax())
            rows.append(row.numpy().astype("<f4"))
            toks.append(t)
            margins.append(float(top2[0] - top2[1]))
            cur.append(t)
            if stop is not None and t in stop:
                break
    return toks, margins, rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", default=os.path.join(ROOT, "models", "demo"))
    ap.add_argument("--samples", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(2)
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=os.path.join(args.model_dir, "tokenizer.model"))
    model, cfg = load_hf_model(args.model_dir)
    V = cfg["text_config"]["vocab_size"]
    turn_end = sp.piece_to_id("<turn|>")
    text = chat_prompt(PROMPT_USER)
    ids = encode_prompt(sp, text)
    with torch.no_grad():
        logits = model(torch.tensor([ids]))[0].numpy().astype("<f4")
    assert logits.shape == (len(ids), V)
    toks, margins, rows = greedy(model, ids, N_GEN)
    assert np.abs(rows[0] - logits[-1]).max() == 0.0
    first_stop = next((i for i, t in enumerate(toks) if t in (sp.eos_id(), turn_end)), None)
    if not args.no_write:
        ref = os.path.join(args.model_dir, "reference")
        os.makedirs(ref, exist_ok=True)
        with open(os.path.join(ref, "prompt_tokens.json"), "w") as f:
            json.dump({
                "text": text,
                "note": "<bos> is the control token id 2; the rest is sentencepiece-encoded "
                        "(user-defined symbols <|turn>, <turn|>, \\n are single tokens)",
                "tokens": ids,
                "pieces": [sp.id_to_piece(i) for i in ids],
                "n_tokens": len(ids), "n_vocab": V,
                "model": "../model.safetensors (bf16, upcast exactly to f32)",
                "computed_by": "tools/train_demo/model.py in float32, embed scale bf16(sqrt(256)) = 16, "
                               "PLE scale bf16(sqrt(64)) = 8",
            }, f, indent=1)
        logits.tofile(os.path.join(ref, "logits.f32"))
        np.stack(rows).astype("<f4").tofile(os.path.join(ref, "decode_logits.f32"))
        with open(os.path.join(ref, "greedy.json"), "w") as f:
            json.dump({
                "prompt_tokens": ids, "n_gen": N_GEN, "greedy_continuation": toks,
                "greedy_top1_margins": [round(m, 6) for m in margins],
                "min_margin": round(min(margins), 6),
                "first_stop_index": first_stop,
                "pieces": [sp.id_to_piece(t) for t in toks],
                "text": sp.decode(toks),
                "note": "argmax over the float32 logits at each step, exactly 32 tokens (generation does "
                        "not stop at <turn|>); first_stop_index = index of the first <eos>/<turn|>",
                "logits_layout": "logits.f32: little-endian float32 [n_tokens][n_vocab]; row i = logits "
                                 "after prompt token i; softcap 30 applied",
                "decode_logits_layout": "decode_logits.f32: little-endian float32 [n_gen][n_vocab]; row 0 = "
                                        "last prompt row, row k = logits after feeding greedy token k-1",
            }, f, indent=1)
    print("prompt %d tokens; greedy: %r" % (len(ids), sp.decode(toks)))
    print("min top-1 margin %.4f; first stop at %s" % (min(margins), first_stop))
    if args.samples:
        for p in SAMPLE_PROMPTS:
            t, _, _ = greedy(model, encode_prompt(sp, chat_prompt(p)), 120, stop={sp.eos_id(), turn_end})
            print("USER: %s\nMODEL: %s\n" % (p, sp.decode([x for x in t if x != turn_end])), flush=True)


if __name__ == "__main__":
    main()
