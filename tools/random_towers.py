#!/usr/bin/python3
"""Writes real-shape Gemma 4 encoder towers with random weights.

For timing and accuracy studies of facet's vision and audio encoders
(docs/encoders.md) without the real checkpoints. Each kind is a Hugging Face
folder laid out as tests/data/multimodal/tiny-{vision,audio}/: config.json
(a Gemma4ForConditionalGeneration config with a vision_config or an
audio_config) and model.safetensors with the tower's tensors under
model.vision_tower.* / model.audio_tower.* and the projector
model.embed_{vision,audio}.embedding_projection.weight, with the shapes of
gemma4-multimodal spec 5.1:

  vision-e2b  768 wide, 16 layers, 12 heads x 64, FFN 3072, clipped linears,
              text hidden 1536 (the E2B/E4B tower, ~167 M parameters)
  vision-31b  1152 wide, 27 layers, 16 heads x 72, FFN 4304, standardize,
              text hidden 5376 (the 26B/31B tower, ~570 M parameters)
  audio-e2b   1024 wide, 12 conformer layers, 8 heads x 128, FFN 4096, SSCP
              channels [128, 32], output_proj 1536, text hidden 1536
              (~305 M parameters)

Weights are drawn once in f32 (numpy, fixed seed) and scaled so that
activations stay O(1): linears N(0, 1/fan_in) (std 1/sqrt(fan_in)), norm
weights 1 + N(0, 0.05), position tables N(0, 0.1^2), and the vision q/k
norm weights head_dim^(-1/4) (1 + N(0, 0.05)) so that the attention logits
(scale 1) are O(1) too. They are written as
--dtype bf16 (round to nearest even; the form of the real checkpoints) or
f32. The same seed gives the same f32 draws for both, so an f32 folder and a
bf16 folder of one kind and seed differ only by the bf16 rounding of the
weights: comparing their encodings measures what a bf16 checkpoint loses.
--bf16-values writes f32 tensors holding the bf16-rounded values (the same
weights as the bf16 folder, so the two differ only in how facet computes).

--gguf TYPE (audio-e2b only) writes, instead of the HF folder, a llama.cpp
style mmproj GGUF (spec 5.2 names) whose matrices are TYPE (q8_0, f16, f32
or bf16; small tensors f32), for the int8 (q8_0) audio tower study.

  /usr/bin/python3 tools/random_towers.py --kind vision-e2b --out /tmp/ve2b
  /usr/bin/python3 tools/random_towers.py --kind audio-e2b --dtype f32 \\
      --out /tmp/ae2b-f32
  /usr/bin/python3 tools/random_towers.py --kind audio-e2b --gguf q8_0 \\
      --out /tmp/ae2b-q8_0.gguf

Needs only numpy; the safetensors and GGUF files are written by hand.
"""

import argparse
import json
import os
import struct
import sys

import numpy as np

KINDS = {
    "vision-e2b": dict(hidden=768, layers=16, heads=12, head_dim=64,
                       ffn=3072, clipped=True, standardize=False,
                       text_hidden=1536),
    "vision-31b": dict(hidden=1152, layers=27, heads=16, head_dim=72,
                       ffn=4304, clipped=False, standardize=True,
                       text_hidden=5376),
    "audio-e2b": dict(hidden=1024, layers=12, heads=8, head_dim=128,
                      ffn=4096, channels=(128, 32), output_dims=1536,
                      text_hidden=1536, clipped=True),
}

POSITION_TABLE = 10240


def to_bf16_bits(a):
    """f32 array -> uint16 bf16 bits, round to nearest even (NaN kept)."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
    rounded = (u + np.uint32(0x7FFF) + ((u >> 16) & np.uint32(1))) >> 16
    return rounded.astype(np.uint16)


def from_bf16_bits(b):
    return (b.astype(np.uint32) << 16).view(np.float32)


class Draw:
    """The tensors of one tower, in a fixed order from one seeded stream."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.tensors = []  # (name, f32 array); 0-d arrays for scalars

    def add(self, name, a):
        self.tensors.append((name, np.asarray(a, dtype=np.float32)))

    def linear(self, name, rows, cols):
        w = self.rng.standard_normal((rows, cols), dtype=np.float32)
        w *= np.float32(1.0 / np.sqrt(cols))
        self.add(name, w)

    def norm(self, name, n):
        self.add(name, 1.0 + 0.05 * self.rng.standard_normal(n,
                                                            dtype=np.float32))

    def normal(self, name, shape, std):
        self.add(name, std * self.rng.standard_normal(shape, dtype=np.float32))

    def bounds(self, base, in_bound, out_bound):
        # Slightly asymmetric, as in the real checkpoints (spec 5.1).
        j = self.rng.uniform(0.9, 1.1, size=4).astype(np.float32)
        self.add(base + ".input_min", np.float32(-in_bound * j[0]))
        self.add(base + ".input_max", np.float32(in_bound * j[1]))
        self.add(base + ".output_min", np.float32(-out_bound * j[2]))
        self.add(base + ".output_max", np.float32(out_bound * j[3]))


def vision_tensors(k, seed):
    d = Draw(seed)
    D, F, hd = k["hidden"], k["ffn"], k["head_dim"]
    Q = k["heads"] * hd
    p = "model.vision_tower."
    # Pixels reach the patch embedding as 2 (p - 0.5) in [-1, 1].
    d.linear(p + "patch_embedder.input_proj.weight", D, 768)
    d.normal(p + "patch_embedder.position_embedding_table",
             (2, POSITION_TABLE, D), 0.1)
    for i in range(k["layers"]):
        b = p + "encoder.layers.%d." % i
        d.norm(b + "input_layernorm.weight", D)
        shapes = {"self_attn.q_proj": (Q, D), "self_attn.k_proj": (Q, D),
                  "self_attn.v_proj": (Q, D), "self_attn.o_proj": (D, Q),
                  "mlp.gate_proj": (F, D), "mlp.up_proj": (F, D),
                  "mlp.down_proj": (D, F)}
        for name, (rows, cols) in shapes.items():
            d.linear(b + name + ".linear.weight", rows, cols)
            if k["clipped"]:
                d.bounds(b + name, 10.0, 20.0)
        # The tower's attention has scale 1 on RMS-normed q and k: with
        # norm weights ~1 its logits would have std sqrt(head_dim) (8 for
        # 64), a near-argmax softmax whose choices flip under any
        # perturbation (a bf16 rounding of the weights changed the E2B
        # embeddings by 68 % rms). Weights ~head_dim^(-1/4) give logits
        # of std ~1, as a trained model's are O(1).
        qk = float(hd) ** -0.25
        d.add(b + "self_attn.q_norm.weight", qk * (1.0 + 0.05 *
              d.rng.standard_normal(hd, dtype=np.float32)))
        d.add(b + "self_attn.k_norm.weight", qk * (1.0 + 0.05 *
              d.rng.standard_normal(hd, dtype=np.float32)))
        d.norm(b + "post_attention_layernorm.weight", D)
        d.norm(b + "pre_feedforward_layernorm.weight", D)
        d.norm(b + "post_feedforward_layernorm.weight", D)
    if k["standardize"]:
        d.normal(p + "std_bias", D, 0.1)
        d.norm(p + "std_scale", D)
    d.linear("model.embed_vision.embedding_projection.weight",
             k["text_hidden"], D)
    return d.tensors


def audio_tensors(k, seed):
    d = Draw(seed)
    H, F, hd = k["hidden"], k["ffn"], k["head_dim"]
    C0, C1 = k["channels"]
    p = "model.audio_tower."
    s = p + "subsample_conv_projection."
    d.normal(s + "layer0.conv.weight", (C0, 1, 3, 3), 1.0 / 3.0)
    d.norm(s + "layer0.norm.weight", C0)
    d.normal(s + "layer1.conv.weight", (C1, C0, 3, 3),
             1.0 / np.sqrt(9.0 * C0))
    d.norm(s + "layer1.norm.weight", C1)
    d.linear(s + "input_proj_linear.weight", H, (C0 // 4) * C1)
    for i in range(k["layers"]):
        b = p + "layers.%d." % i

        def clipped(name, rows, cols):
            d.linear(b + name + ".linear.weight", rows, cols)
            if k["clipped"]:
                d.bounds(b + name, 10.0, 20.0)

        for ff in ("feed_forward1", "feed_forward2"):
            d.norm(b + ff + ".pre_layer_norm.weight", H)
            clipped(ff + ".ffw_layer_1", F, H)
            clipped(ff + ".ffw_layer_2", H, F)
            d.norm(b + ff + ".post_layer_norm.weight", H)
        d.norm(b + "norm_pre_attn.weight", H)
        d.norm(b + "norm_post_attn.weight", H)
        d.norm(b + "norm_out.weight", H)
        for name in ("q_proj", "k_proj", "v_proj", "post"):
            clipped("self_attn." + name, H, H)
        d.linear(b + "self_attn.relative_k_proj.weight", H, H)
        d.normal(b + "self_attn.per_dim_scale", hd, 0.1)
        d.norm(b + "lconv1d.pre_layer_norm.weight", H)
        clipped("lconv1d.linear_start", 2 * H, H)
        d.normal(b + "lconv1d.depthwise_conv1d.weight", (H, 1, 5),
                 1.0 / np.sqrt(5.0))
        d.norm(b + "lconv1d.conv_norm.weight", H)
        clipped("lconv1d.linear_end", H, H)
    d.linear(p + "output_proj.weight", k["output_dims"], H)
    d.normal(p + "output_proj.bias", k["output_dims"], 0.02)
    d.linear("model.embed_audio.embedding_projection.weight",
             k["text_hidden"], k["output_dims"])
    return d.tensors


def config_json(kind, k, dtype):
    root = {
        "architectures": ["Gemma4ForConditionalGeneration"],
        "model_type": "gemma4",
        "torch_dtype": "bfloat16" if dtype == "bf16" else "float32",
        "boi_token_id": 255999, "eoi_token_id": 258882,
        "image_token_id": 258880, "video_token_id": 258884,
        "boa_token_id": 256000, "eoa_token_index": 258883,
        "audio_token_id": 258881, "initializer_range": 0.02,
        "tie_word_embeddings": True,
        "text_config": {"model_type": "gemma4_text",
                        "hidden_size": k["text_hidden"],
                        "rms_norm_eps": 1e-06, "pad_token_id": 0,
                        "bos_token_id": 2, "eos_token_id": 1},
        "vision_config": None,
        "audio_config": None,
    }
    if kind.startswith("vision"):
        root["vision_config"] = {
            "model_type": "gemma4_vision",
            "hidden_size": k["hidden"],
            "intermediate_size": k["ffn"],
            "num_hidden_layers": k["layers"],
            "num_attention_heads": k["heads"],
            "num_key_value_heads": k["heads"],
            "head_dim": k["head_dim"],
            "hidden_activation": "gelu_pytorch_tanh",
            "rms_norm_eps": 1e-06,
            "max_position_embeddings": 131072,
            "attention_bias": False,
            "attention_dropout": 0.0,
            "rope_parameters": {"rope_type": "default", "rope_theta": 100.0},
            "pooling_kernel_size": 3,
            "patch_size": 16,
            "position_embedding_size": POSITION_TABLE,
            "use_clipped_linears": k["clipped"],
            "standardize": k["standardize"],
            "default_output_length": 280,
            "initializer_range": 0.02,
        }
    else:
        root["audio_config"] = {
            "model_type": "gemma4_audio",
            "hidden_size": k["hidden"],
            "num_hidden_layers": k["layers"],
            "num_attention_heads": k["heads"],
            "hidden_act": "silu",
            "subsampling_conv_channels": list(k["channels"]),
            "conv_kernel_size": 5,
            "residual_weight": 0.5,
            "attention_chunk_size": 12,
            "attention_context_left": 13,
            "attention_context_right": 0,
            "attention_logit_cap": 50.0,
            "attention_invalid_logits_value": -1000000000.0,
            "use_clipped_linears": k["clipped"],
            "rms_norm_eps": 1e-06,
            "gradient_clipping": 10000000000.0,
            "output_proj_dims": k["output_dims"],
            "initializer_range": 0.02,
        }
    return root


def write_safetensors(path, tensors, dtype, bf16_values, description):
    """8-byte little-endian header length, the JSON header, the data."""
    header = {"__metadata__": {"format": "pt", "description": description}}
    offset = 0
    blobs = []
    for name, a in tensors:
        if dtype == "bf16":
            data = to_bf16_bits(a).tobytes()
            st = "BF16"
        else:
            v = from_bf16_bits(to_bf16_bits(a)) if bf16_values else a
            data = np.ascontiguousarray(v, dtype="<f4").tobytes()
            st = "F32"
        header[name] = {"dtype": st, "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # data starts 8-aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    return offset


# --- GGUF (llama.cpp mmproj) --------------------------------------------

GGML_F32, GGML_F16, GGML_Q8_0, GGML_BF16 = 0, 1, 8, 30
GGUF_UINT32, GGUF_FLOAT32, GGUF_BOOL, GGUF_STRING = 4, 6, 7, 8
ALIGN = 32


def gguf_str(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def quantize_q8_0(a):
    """ggml's quantize_row_q8_0_ref: per 32 values d = amax / 127 (fp16),
    q = round(x / d); block = fp16 d then 32 int8."""
    x = a.reshape(-1, 32).astype(np.float32)
    amax = np.abs(x).max(axis=1)
    d = amax / 127.0
    idd = np.where(d != 0, 1.0 / np.where(d != 0, d, 1), 0).astype(np.float32)
    v = x * idd[:, None]
    t = np.trunc(v)
    q = np.where(np.abs(v - t) >= 0.5, t + np.sign(v), t)  # roundf
    out = np.empty((x.shape[0], 34), dtype=np.uint8)
    out[:, :2] = d.astype(np.float16).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = np.clip(q, -127, 127).astype(np.int8).view(np.uint8)
    return out.tobytes()


def audio_gguf_tensors(tensors):
    """HF names -> mmproj names (spec 5.2), per_dim_scale softplus'd."""
    out = []
    for name, a in tensors:
        n = name
        if n == "model.embed_audio.embedding_projection.weight":
            out.append(("mm.a.input_projection.weight", a))
            continue
        n = n[len("model.audio_tower."):]
        top = {
            "subsample_conv_projection.layer0.conv.weight": "a.conv1d.0.weight",
            "subsample_conv_projection.layer0.norm.weight":
                "a.conv1d.0.norm.weight",
            "subsample_conv_projection.layer1.conv.weight": "a.conv1d.1.weight",
            "subsample_conv_projection.layer1.norm.weight":
                "a.conv1d.1.norm.weight",
            "subsample_conv_projection.input_proj_linear.weight":
                "a.input_projection.weight",
            "output_proj.weight": "a.pre_encode.out.weight",
            "output_proj.bias": "a.pre_encode.out.bias",
        }
        if n in top:
            out.append((top[n], a))
            continue
        _, i, rest = n.split(".", 2)
        blk = {
            "feed_forward1.pre_layer_norm": "ffn_norm",
            "feed_forward1.ffw_layer_1": "ffn_up",
            "feed_forward1.ffw_layer_2": "ffn_down",
            "feed_forward1.post_layer_norm": "ffn_post_norm",
            "feed_forward2.pre_layer_norm": "ffn_norm_1",
            "feed_forward2.ffw_layer_1": "ffn_up_1",
            "feed_forward2.ffw_layer_2": "ffn_down_1",
            "feed_forward2.post_layer_norm": "ffn_post_norm_1",
            "norm_pre_attn": "attn_pre_norm",
            "norm_post_attn": "attn_post_norm",
            "norm_out": "ln2",
            "self_attn.q_proj": "attn_q",
            "self_attn.k_proj": "attn_k",
            "self_attn.v_proj": "attn_v",
            "self_attn.post": "attn_out",
            "self_attn.relative_k_proj": "attn_k_rel",
            "lconv1d.pre_layer_norm": "conv_norm",
            "lconv1d.conv_norm": "norm_conv",
            "lconv1d.linear_start": "conv_pw1",
            "lconv1d.linear_end": "conv_pw2",
            "lconv1d.depthwise_conv1d": "conv_dw",
        }
        if rest == "self_attn.per_dim_scale":
            out.append(("a.blk.%s.per_dim_scale.weight" % i,
                        np.log1p(np.exp(a)).astype(np.float32)))
            continue
        for suffix in (".linear.weight", ".weight", ".input_min",
                       ".input_max", ".output_min", ".output_max"):
            if rest.endswith(suffix):
                module = rest[: -len(suffix)]
                gs = ".weight" if suffix == ".linear.weight" else suffix
                if module == "lconv1d.depthwise_conv1d":
                    a = a.reshape(a.shape[0], a.shape[2])  # [H, 5]
                if a.ndim == 0:
                    a = a.reshape(1)  # 1-element F32 tensors
                out.append(("a.blk.%s.%s%s" % (i, blk[module], gs), a))
                break
        else:
            raise ValueError("no mmproj name for " + name)
    return out


def write_gguf(path, tensors, k, mtype):
    kv = [
        ("general.architecture", GGUF_STRING, "clip"),
        ("clip.has_vision_encoder", GGUF_BOOL, False),
        ("clip.has_audio_encoder", GGUF_BOOL, True),
        ("clip.audio.projector_type", GGUF_STRING, "gemma4a"),
        ("clip.audio.embedding_length", GGUF_UINT32, k["hidden"]),
        ("clip.audio.feed_forward_length", GGUF_UINT32, k["ffn"]),
        ("clip.audio.block_count", GGUF_UINT32, k["layers"]),
        ("clip.audio.attention.head_count", GGUF_UINT32, k["heads"]),
        ("clip.audio.num_mel_bins", GGUF_UINT32, 128),
        ("clip.audio.projection_dim", GGUF_UINT32, k["text_hidden"]),
        ("clip.audio.attention.layer_norm_epsilon", GGUF_FLOAT32, 1e-5),
        ("general.alignment", GGUF_UINT32, ALIGN),
    ]
    infos, blobs, offset = [], [], 0
    for name, a in tensors:
        # Matrices (2-D, 32-aligned rows) in mtype; the rest f32, as
        # llama.cpp forces conv, norm and bound tensors to F32.
        big = a.ndim == 2 and a.shape[1] % 32 == 0 and not name.endswith(
            "conv_dw.weight")
        t = {"q8_0": GGML_Q8_0, "f16": GGML_F16, "bf16": GGML_BF16,
             "f32": GGML_F32}[mtype] if big else GGML_F32
        if t == GGML_Q8_0:
            data = quantize_q8_0(a)
        elif t == GGML_F16:
            data = a.astype("<f2").tobytes()
        elif t == GGML_BF16:
            data = to_bf16_bits(a).tobytes()
        else:
            data = np.ascontiguousarray(a, dtype="<f4").tobytes()
        pad = -offset % ALIGN
        offset += pad
        blobs.append(b"\0" * pad + data)
        ne = list(reversed(a.shape)) if a.ndim else [1]
        infos.append(gguf_str(name) + struct.pack("<I", len(ne)) +
                     b"".join(struct.pack("<Q", n) for n in ne) +
                     struct.pack("<IQ", t, offset))
        offset += len(data)
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv))
    for key, vt, v in kv:
        head += gguf_str(key) + struct.pack("<I", vt)
        if vt == GGUF_STRING:
            head += gguf_str(v)
        elif vt == GGUF_UINT32:
            head += struct.pack("<I", v)
        elif vt == GGUF_FLOAT32:
            head += struct.pack("<f", v)
        else:
            head += struct.pack("<B", 1 if v else 0)
    head += b"".join(infos)
    head += b"\0" * (-len(head) % ALIGN)
    with open(path, "wb") as f:
        f.write(head)
        for b in blobs:
            f.write(b)
    return offset


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kind", required=True, choices=sorted(KINDS))
    ap.add_argument("--out", required=True,
                    help="output folder (a .gguf file with --gguf)")
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "f32"])
    ap.add_argument("--bf16-values", action="store_true",
                    help="f32 tensors holding the bf16-rounded weights")
    ap.add_argument("--gguf", choices=["q8_0", "f16", "bf16", "f32"],
                    help="write an mmproj GGUF with this matrix type "
                         "(audio-e2b only)")
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    k = KINDS[args.kind]
    vision = args.kind.startswith("vision")
    tensors = (vision_tensors if vision else audio_tensors)(k, args.seed)
    params = sum(a.size for _, a in tensors)
    if args.gguf:
        if vision:
            sys.exit("--gguf is only implemented for audio-e2b")
        nbytes = write_gguf(args.out, audio_gguf_tensors(tensors), k,
                            args.gguf)
        print("wrote %s: %d tensors, %.1f M parameters, %.1f MB (%s)" %
              (args.out, len(tensors), params / 1e6, nbytes / 1e6, args.gguf))
        return
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config_json(args.kind, k, args.dtype), f, indent=2)
        f.write("\n")
    desc = ("random-weight real-shape Gemma 4 %s tower (tools/random_towers.py"
            " seed %d, %s%s)" % (args.kind, args.seed, args.dtype,
                                 ", bf16 values" if args.bf16_values else ""))
    nbytes = write_safetensors(os.path.join(args.out, "model.safetensors"),
                               tensors, args.dtype, args.bf16_values, desc)
    print("wrote %s: %d tensors, %.1f M parameters, %.1f MB (%s)" %
          (args.out, len(tensors), params / 1e6, nbytes / 1e6, args.dtype))


if __name__ == "__main__":
    main()
