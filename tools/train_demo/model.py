"""A small, self-contained PyTorch reference of the Gemma 4 text decoder.

Written from /work/shared/spec/gemma4-text.md (sections 2-5), independently of
the C++ engine, so that it can serve as a second reference for parity tests.

Supported: sliding/full layer pattern from `layer_types`, q/k norms with
weight, weightless v norm, attention scale 1.0, half-split RoPE (default on
sliding layers, "proportional" on full layers), sliding-window causal mask,
KV sharing (last `num_kv_shared_layers` layers reuse the K/V of the last
non-shared layer of the same type), per-layer embeddings (PLE), double-wide
MLP on KV-shared layers, optional K=V on full layers, layer_scalar, final
norm, tied LM head, final logit softcap. Not supported: MoE (raises).

Parameter names are the Hugging Face ones without the `model.language_model.`
prefix, so `state_dict()` maps 1:1 onto a Gemma4ForConditionalGeneration
checkpoint.
"""

import json
import math
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HF_PREFIX = "model.language_model."


def bf16_round(x: float) -> float:
    """Round a python float to the nearest bfloat16 value (as a float)."""
    return float(torch.tensor(x, dtype=torch.float32).to(torch.bfloat16).float())


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))


def rms(x, eps):
    # eps inside the root, computed in float32
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype)


class RMSNorm(nn.Module):
    """Gemma 4 RMSNorm: plain weight (NOT 1 + w); no weight when with_scale=False."""

    def __init__(self, n, eps=1e-6, with_scale=True):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(n)) if with_scale else None

    def forward(self, x):
        y = rms(x, self.eps)
        return y * self.weight if self.weight is not None else y


def rope_inv_freq(head_dim, params):
    """inv_freq of length head_dim/2 for one layer type (pairs j, j + head_dim/2)."""
    theta = float(params.get("rope_theta", 10000.0))
    half = head_dim // 2
    j = torch.arange(half, dtype=torch.float64)
    inv = theta ** (-2.0 * j / head_dim)  # denominator: the full head dim
    if params.get("rope_type", "default") == "proportional":
        rotated = int(float(params.get("partial_rotary_factor", 1.0)) * head_dim / 2)
        inv[rotated:] = 0.0
    elif params.get("rope_type", "default") != "default":
        raise ValueError("unsupported rope_type %r" % params.get("rope_type"))
    return inv.float()


def apply_rope(x, cos, sin):
    """x [B, T, n, d]; cos/sin [T, d/2]. Half-split (NeoX) layout."""
    d2 = x.shape[-1] // 2
    x1, x2 = x[..., :d2], x[..., d2:]
    c = cos[None, :, None, :]
    s = sin[None, :, None, :]
    return torch.cat([x1 * c - x2 * s, x2 * c + x1 * s], dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg, layer_idx, is_full, shared):
        super().__init__()
        H = cfg["hidden_size"]
        self.n_heads = cfg["num_attention_heads"]
        self.is_full = is_full
        self.shared = shared
        self.head_dim = cfg["global_head_dim"] if is_full else cfg["head_dim"]
        n_kv = cfg["num_key_value_heads"]
        if is_full and cfg.get("num_global_key_value_heads"):
            n_kv = cfg["num_global_key_value_heads"]
        self.n_kv = n_kv
        self.k_eq_v = bool(cfg.get("attention_k_eq_v")) and is_full
        eps = cfg["rms_norm_eps"]
        d = self.head_dim
        self.q_proj = nn.Linear(H, self.n_heads * d, bias=False)
        # Shared layers still carry (dead) k/v projections and k_norm in the
        # released checkpoints; keep them so the tensor layout matches.
        self.k_proj = nn.Linear(H, n_kv * d, bias=False)
        if not self.k_eq_v:
            self.v_proj = nn.Linear(H, n_kv * d, bias=False)
        self.o_proj = nn.Linear(self.n_heads * d, H, bias=False)
        self.q_norm = RMSNorm(d, eps)
        self.k_norm = RMSNorm(d, eps)
        self.eps = eps

    def compute_kv(self, a, cos, sin):
        B, T, _ = a.shape
        k_raw = self.k_proj(a).view(B, T, self.n_kv, self.head_dim)
        v_raw = k_raw if self.k_eq_v else self.v_proj(a).view(B, T, self.n_kv, self.head_dim)
        k = apply_rope(self.k_norm(k_raw), cos, sin)
        v = rms(v_raw, self.eps)  # weightless v norm
        return k, v

    def forward(self, a, cos, sin, mask, kv):
        B, T, _ = a.shape
        q = self.q_proj(a).view(B, T, self.n_heads, self.head_dim)
        q = apply_rope(self.q_norm(q), cos, sin)
        k, v = kv
        group = self.n_heads // k.shape[2]
        q = q.transpose(1, 2)  # [B, nh, T, d]
        k = k.transpose(1, 2).repeat_interleave(group, dim=1)  # consecutive heads share
        v = v.transpose(1, 2).repeat_interleave(group, dim=1)
        s = torch.matmul(q.float(), k.float().transpose(-1, -2))  # scale 1.0
        s = s.masked_fill(~mask, float("-inf"))
        p = torch.softmax(s, dim=-1).to(v.dtype)
        o = torch.matmul(p, v).transpose(1, 2).reshape(B, T, self.n_heads * self.head_dim)
        return self.o_proj(o)


class MLP(nn.Module):
    def __init__(self, H, inter):
        super().__init__()
        self.gate_proj = nn.Linear(H, inter, bias=False)
        self.up_proj = nn.Linear(H, inter, bias=False)
        self.down_proj = nn.Linear(inter, H, bias=False)

    def forward(self, x):
        return self.down_proj(gelu_tanh(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg, idx, is_full, shared, inter):
        super().__init__()
        H = cfg["hidden_size"]
        eps = cfg["rms_norm_eps"]
        P = cfg.get("hidden_size_per_layer_input") or 0
        self.idx = idx
        self.is_full = is_full
        self.shared = shared
        self.input_layernorm = RMSNorm(H, eps)
        self.self_attn = Attention(cfg, idx, is_full, shared)
        self.post_attention_layernorm = RMSNorm(H, eps)
        self.pre_feedforward_layernorm = RMSNorm(H, eps)
        self.mlp = MLP(H, inter)
        self.post_feedforward_layernorm = RMSNorm(H, eps)
        self.P = P
        if P:
            self.per_layer_input_gate = nn.Linear(H, P, bias=False)
            self.per_layer_projection = nn.Linear(P, H, bias=False)
            self.post_per_layer_input_norm = RMSNorm(H, eps)
        self.layer_scalar = nn.Parameter(torch.ones(1))

    def forward(self, h, cos, sin, mask, kv_store, donor, ple_q):
        a = self.input_layernorm(h)
        if self.shared:
            kv = kv_store[donor]
        else:
            kv = self.self_attn.compute_kv(a, cos, sin)
            kv_store[self.idx] = kv
        h = h + self.post_attention_layernorm(self.self_attn(a, cos, sin, mask, kv))
        h = h + self.post_feedforward_layernorm(self.mlp(self.pre_feedforward_layernorm(h)))
        if self.P:
            g = gelu_tanh(self.per_layer_input_gate(h)) * ple_q
            h = h + self.post_per_layer_input_norm(self.per_layer_projection(g))
        return h * self.layer_scalar


class Gemma4TextModel(nn.Module):
    """cfg: the `text_config` dict of a Gemma 4 config.json.

    embed_scale / ple_scale: multipliers of the two embedding lookups. Default
    (None) follows the Hugging Face reference for bf16 checkpoints:
    bf16(sqrt(H)) and bf16(sqrt(P)).
    """

    def __init__(self, cfg, embed_scale=None, ple_scale=None):
        super().__init__()
        if cfg.get("enable_moe_block"):
            raise NotImplementedError("MoE is not supported by this reference")
        self.cfg = cfg
        H = cfg["hidden_size"]
        V = cfg["vocab_size"]
        L = cfg["num_hidden_layers"]
        P = cfg.get("hidden_size_per_layer_input") or 0
        self.H, self.V, self.L, self.P = H, V, L, P
        self.eps = cfg["rms_norm_eps"]
        self.layer_types = list(cfg["layer_types"])
        assert len(self.layer_types) == L
        n_shared = cfg.get("num_kv_shared_layers") or 0
        self.first_shared = L - n_shared
        # donor of each shared layer: last non-shared layer of the same type
        self.donor = {}
        for i in range(self.first_shared, L):
            cands = [j for j in range(self.first_shared) if self.layer_types[j] == self.layer_types[i]]
            if not cands:
                raise ValueError("no KV donor for shared layer %d" % i)
            self.donor[i] = cands[-1]
        self.embed_tokens = nn.Embedding(V, H)
        if P:
            Vp = cfg.get("vocab_size_per_layer_input") or V
            self.embed_tokens_per_layer = nn.Embedding(Vp, L * P)
            self.per_layer_model_projection = nn.Linear(H, L * P, bias=False)
            self.per_layer_projection_norm = RMSNorm(P, self.eps)
        layers = []
        inter = cfg["intermediate_size"]
        for i in range(L):
            is_full = self.layer_types[i] == "full_attention"
            shared = i >= self.first_shared
            it = inter[i] if isinstance(inter, list) else inter
            if shared and cfg.get("use_double_wide_mlp"):
                it = 2 * it
            layers.append(DecoderLayer(cfg, i, is_full, shared, it))
        self.layers = nn.ModuleList(layers)
        self.norm = RMSNorm(H, self.eps)
        self.embed_scale = bf16_round(math.sqrt(H)) if embed_scale is None else float(embed_scale)
        self.ple_scale = (bf16_round(math.sqrt(P)) if ple_scale is None else float(ple_scale)) if P else 0.0
        rp = cfg["rope_parameters"]
        self.register_buffer("inv_freq_local", rope_inv_freq(cfg["head_dim"], rp["sliding_attention"]), persistent=False)
        self.register_buffer("inv_freq_global", rope_inv_freq(cfg["global_head_dim"], rp["full_attention"]), persistent=False)
        self.softcap = cfg.get("final_logit_softcapping")

    def init_weights(self, std=0.02):
        for name, p in self.named_parameters():
            if name.endswith("layer_scalar") or "norm" in name:
                nn.init.ones_(p)
            else:
                nn.init.normal_(p, 0.0, std)

    def forward(self, ids, positions=None):
        """ids [B, T] (long). Returns logits [B, T, V] (softcapped), float."""
        B, T = ids.shape
        if positions is None:
            positions = torch.arange(T, device=ids.device)
        x0 = self.embed_tokens(ids) * self.embed_scale
        ple = None
        if self.P:
            L, P = self.L, self.P
            tok = (self.embed_tokens_per_layer(ids) * self.ple_scale).view(B, T, L, P)
            ctx = (self.per_layer_model_projection(x0) * (1.0 / math.sqrt(self.H))).view(B, T, L, P)
            ctx = self.per_layer_projection_norm(ctx)
            ple = (ctx + tok) * (1.0 / math.sqrt(2.0))
        pos = positions.float()
        ang_l = pos[:, None] * self.inv_freq_local[None, :]
        ang_g = pos[:, None] * self.inv_freq_global[None, :]
        rope = {False: (ang_l.cos(), ang_l.sin()), True: (ang_g.cos(), ang_g.sin())}
        pq = positions[:, None]
        pk = positions[None, :]
        causal = pk <= pq
        W = self.cfg["sliding_window"]
        masks = {True: causal, False: causal & (pk > pq - W)}
        h = x0
        kv_store = {}
        for i, layer in enumerate(self.layers):
            cos, sin = rope[layer.is_full]
            h = layer(h, cos, sin, masks[layer.is_full], kv_store, self.donor.get(i),
                      ple[:, :, i, :] if ple is not None else None)
        h = self.norm(h)
        logits = F.linear(h, self.embed_tokens.weight)
        if self.softcap:
            logits = self.softcap * torch.tanh(logits / self.softcap)
        return logits

    # ---- Hugging Face checkpoint I/O ------------------------------------
    def hf_state_dict(self):
        return {HF_PREFIX + k: v for k, v in self.state_dict().items()}

    def load_hf_state_dict(self, tensors):
        own = self.state_dict()
        missing = [k for k in own if HF_PREFIX + k not in tensors]
        extra = [k for k in tensors if k.startswith(HF_PREFIX) and k[len(HF_PREFIX):] not in own]
        if missing or extra:
            raise KeyError("checkpoint mismatch: missing %s extra %s" % (missing[:5], extra[:5]))
        with torch.no_grad():
            for k, p in own.items():
                t = tensors[HF_PREFIX + k]
                if tuple(t.shape) != tuple(p.shape):
                    raise ValueError("%s: shape %s vs %s" % (k, tuple(t.shape), tuple(p.shape)))
                p.copy_(t.to(p.dtype))


# ---- minimal safetensors reader/writer (no extra dependency) ----------------

_ST_DTYPES = {"F32": (np.float32, 4), "BF16": (np.uint16, 2), "F16": (np.float16, 2)}


def load_safetensors(path):
    """Returns {name: float32 torch tensor} (BF16 widened exactly)."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt, _ = _ST_DTYPES[info["dtype"]]
        a, b = info["data_offsets"]
        arr = np.frombuffer(data[base + a: base + b], dtype=dt)
        if info["dtype"] == "BF16":
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        out[name] = torch.from_numpy(arr.astype(np.float32).reshape(info["shape"]).copy())
    return out


def save_safetensors_bf16(tensors, path):
    """tensors: {name: tensor}; all written as BF16 (round to nearest even), names sorted."""
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    off = 0
    for name in sorted(tensors):
        t = tensors[name].detach().float().contiguous().to(torch.bfloat16)
        raw = t.view(torch.int16).numpy().astype("<i2").tobytes()
        header[name] = {"dtype": "BF16", "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for raw in blobs:
            f.write(raw)


def load_hf_model(folder, embed_scale=None, ple_scale=None):
    """Loads config.json + model.safetensors of a Gemma 4 HF folder into f32."""
    with open(folder + "/config.json") as f:
        cfg = json.load(f)
    tcfg = cfg.get("text_config", cfg)
    model = Gemma4TextModel(tcfg, embed_scale=embed_scale, ple_scale=ple_scale)
    model.load_hf_state_dict(load_safetensors(folder + "/model.safetensors"))
    model.eval()
    return model, cfg
