"""Trains the bundled demo model (a toy Gemma 4 text decoder on KJV chat turns).

Run from the repository root (see run_all.sh):
  nice -n 19 /usr/bin/python3 tools/train_demo/train.py
Inputs:  tools/train_demo/out/conversations.jsonl (make_data.py),
         models/demo/tokenizer.model (make_tokenizer.sh)
Outputs: models/demo/{config.json, model.safetensors (bf16), generation_config.json},
         tools/train_demo/out/{train_log.tsv, train_summary.json, ckpt.pt}

Schedule: AdamW, linear warmup then cosine decay to 10 % of the peak. The
schedule's progress is max(step / --steps, elapsed / --budget-min), so the run
always completes its schedule inside the wall-clock budget even when the
machine is busy (on an idle 2-core machine the step count is what ends it).
Seeds are fixed (torch, random); data order is fixed.
"""

import argparse
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from model import Gemma4TextModel, save_safetensors_bf16  # noqa: E402

PAD, EOS, BOS = 0, 1, 2


def text_config(vocab_size):
    """gemma4_text config, keys and order as the golden HF twins' config.json."""
    return {
        "model_type": "gemma4_text",
        "vocab_size": vocab_size,
        "hidden_size": 256,
        "intermediate_size": 512,
        "num_hidden_layers": 6,
        "num_attention_heads": 4,
        "num_key_value_heads": 1,
        "num_global_key_value_heads": None,
        "head_dim": 64,
        "global_head_dim": 128,
        "attention_k_eq_v": False,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "hidden_activation": "gelu_pytorch_tanh",
        "max_position_embeddings": 4096,
        "rms_norm_eps": 1e-06,
        "sliding_window": 64,
        "layer_types": ["sliding_attention", "sliding_attention", "full_attention"] * 2,
        "rope_parameters": {
            "full_attention": {"partial_rotary_factor": 0.25, "rope_theta": 1000000.0,
                               "rope_type": "proportional"},
            "sliding_attention": {"rope_theta": 10000.0, "rope_type": "default"},
        },
        "final_logit_softcapping": 30.0,
        "hidden_size_per_layer_input": 64,
        "vocab_size_per_layer_input": vocab_size,
        "num_kv_shared_layers": 2,
        "use_double_wide_mlp": True,
        "enable_moe_block": False,
        "num_experts": None,
        "top_k_experts": None,
        "moe_intermediate_size": None,
        "use_bidirectional_attention": None,
        "tie_word_embeddings": True,
        "pad_token_id": PAD,
        "bos_token_id": BOS,
        "eos_token_id": EOS,
        "initializer_range": 0.02,
        "use_cache": True,
        "dtype": "bfloat16",
    }


def full_config(tcfg, turn_end_id):
    return {
        "architectures": ["Gemma4ForConditionalGeneration"],
        "model_type": "gemma4",
        "text_config": tcfg,
        "vision_config": None,
        "audio_config": None,
        "boi_token_id": None,
        "eoi_token_id": None,
        "image_token_id": None,
        "video_token_id": None,
        "boa_token_id": None,
        "eoa_token_index": None,
        "audio_token_id": None,
        "bos_token_id": BOS,
        "pad_token_id": PAD,
        "eos_token_id": [EOS, turn_end_id],
        "tie_word_embeddings": True,
        "initializer_range": 0.02,
        "dtype": "bfloat16",
    }


def turn_text(user, model):
    return "<|turn>user\n" + user + "<turn|>\n<|turn>model\n" + model + "<turn|>\n"


def build_windows(sp, conv_path, ctx):
    """Packs whole turns into windows of ctx+1 tokens, each starting with <bos>."""
    n = ctx + 1
    windows, cur = [], [BOS]
    with open(conv_path) as f:
        for line in f:
            for user, model in json.loads(line)["turns"]:
                ids = sp.encode(turn_text(user, model))[: n - 1]
                if len(cur) + len(ids) > n:
                    windows.append(cur + [PAD] * (n - len(cur)))
                    cur = [BOS]
                cur += ids
    if len(cur) > 1:
        windows.append(cur + [PAD] * (n - len(cur)))
    return torch.tensor(windows, dtype=torch.long)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--model-dir", default=os.path.join(ROOT, "models", "demo"))
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--budget-min", type=float, default=40.0, help="wall-clock budget of the schedule")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=60)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1611)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--no-save", action="store_true", help="exploratory run: do not write models/demo")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=os.path.join(args.model_dir, "tokenizer.model"))
    turn_end = sp.piece_to_id("<turn|>")
    assert sp.bos_id() == BOS and sp.eos_id() == EOS and sp.pad_id() == PAD
    assert sp.id_to_piece(turn_end) == "<turn|>"
    tcfg = text_config(sp.get_piece_size())

    t0 = time.time()
    data = build_windows(sp, os.path.join(args.out, "conversations.jsonl"), args.ctx)
    g = torch.Generator().manual_seed(args.seed)
    data = data[torch.randperm(len(data), generator=g)]
    val, train = data[:48], data[48:]
    n_real = int((train[:, 1:] != PAD).sum())
    print("windows: train %d val %d; %.1f%% non-pad targets; tokenized in %.1fs"
          % (len(train), len(val), 100.0 * n_real / train[:, 1:].numel(), time.time() - t0), flush=True)

    model = Gemma4TextModel(tcfg)
    model.init_weights(tcfg["initializer_range"])
    n_params = sum(p.numel() for p in model.parameters())
    dead = sum(p.numel() for n, p in model.named_parameters()
               if any(n.startswith("layers.%d.self_attn.%s" % (i, w))
                      for i in model.donor for w in ("k_proj", "v_proj", "k_norm")))
    print("parameters: %d (of which %d dead K/V weights of KV-shared layers)" % (n_params, dead), flush=True)

    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (decay if p.dim() >= 2 else no_decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)

    def lr_at(progress, step):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        return args.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0))))

    def loss_of(batch):
        logits = model(batch[:, :-1])
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1),
                               ignore_index=PAD)

    def evaluate():
        model.eval()
        with torch.no_grad():
            tot = 0.0
            for i in range(0, len(val), 16):
                tot += float(loss_of(val[i:i + 16])) * len(val[i:i + 16])
        model.train()
        return tot / len(val)

    log = open(os.path.join(args.out, "train_log.tsv"), "w")
    log.write("step\ttokens\telapsed_s\tlr\ttrain_loss\tval_loss\n")
    start = time.time()
    budget = args.budget_min * 60.0
    step, pos, seen, recent = 0, 0, 0, []
    val_loss = float("nan")
    while True:
        elapsed = time.time() - start
        progress = max(step / args.steps, elapsed / budget)
        if progress >= 1.0:
            break
        lr = lr_at(progress, step)
        for grp in opt.param_groups:
            grp["lr"] = lr
        if pos + args.batch > len(train):
            pos = 0
        batch = train[pos: pos + args.batch]
        pos += args.batch
        loss = loss_of(batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        seen += int((batch[:, 1:] != PAD).sum())
        recent.append(float(loss))
        recent = recent[-50:]
        if step % args.eval_every == 0:
            val_loss = evaluate()
        if step % 10 == 0 or step == 1:
            el = time.time() - start
            msg = "step %5d  tok %8d  %6.0fs  lr %.2e  loss %.4f (avg50 %.4f)  val %.4f  %.0f tok/s" % (
                step, seen, el, lr, float(loss), sum(recent) / len(recent), val_loss, seen / max(el, 1e-9))
            print(msg, flush=True)
            log.write("%d\t%d\t%.1f\t%.3e\t%.4f\t%.4f\n" % (step, seen, el, lr, sum(recent) / len(recent), val_loss))
            log.flush()
    wall = time.time() - start
    val_loss = evaluate()
    summary = {
        "steps": step, "tokens_seen": seen, "train_wall_s": round(wall, 1),
        "final_train_loss_avg_last50": round(sum(recent) / len(recent), 4),
        "final_val_loss": round(val_loss, 4), "parameters": n_params, "batch": args.batch,
        "ctx": args.ctx, "peak_lr": args.lr, "threads": args.threads, "seed": args.seed,
        "schedule_steps": args.steps, "budget_min": args.budget_min,
        "ended_by": "steps" if step >= args.steps else "time budget",
    }
    print(json.dumps(summary, indent=1), flush=True)
    with open(os.path.join(args.out, "train_summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    if args.no_save:
        return
    os.makedirs(args.model_dir, exist_ok=True)
    with open(os.path.join(args.model_dir, "config.json"), "w") as f:
        json.dump(full_config(tcfg, turn_end), f, indent=2)
        f.write("\n")
    with open(os.path.join(args.model_dir, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": BOS, "pad_token_id": PAD, "eos_token_id": [EOS, turn_end],
                   "do_sample": True, "temperature": 1.0, "top_k": 64, "top_p": 0.95}, f, indent=2)
        f.write("\n")
    save_safetensors_bf16(model.hf_state_dict(), os.path.join(args.model_dir, "model.safetensors"))
    print("saved to", args.model_dir)


if __name__ == "__main__":
    main()
