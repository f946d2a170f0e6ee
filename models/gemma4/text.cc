#include "models/gemma4/text.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "kernels/parallel.h"
#include "kernels/ref/fp16.h"
#include "kernels/ref/quant.h"
#include "src/io/tensor_matrix.h"
#include "src/util/status_macros.h"

namespace facet::gemma4 {
namespace {

using kernels::Matrix;

Matrix Mat(const TensorView* t, int64_t index = 0) {
  return MatrixOf(t, index);
}
std::vector<float> ToF32(const TensorView* t) { return TensorToF32(t); }

// RMSNorm of `rows` rows of n floats (kernels.h RmsNormFn; w == nullptr:
// no weight), in place when out == x.
void RmsNormRows(const float* x, const float* w, float* out, int64_t rows,
                 int64_t n, float eps) {
  kernels::Kernels().rms_norm(x, w, out, rows, n, eps);
}

// gate = gelu_tanh(gate) * up over n elements, across the pool when large.
void GeluMul(float* gate, const float* up, int64_t n,
             kernels::ThreadPool* pool) {
  const auto fn = kernels::Kernels().gelu_tanh_mul;
  constexpr int64_t kTile = 4096;
  if (n < 8 * kTile) pool = nullptr;
  kernels::ParallelFor(pool, static_cast<size_t>((n + kTile - 1) / kTile), 1,
                       [&](size_t b, size_t e) {
                         const int64_t i0 = static_cast<int64_t>(b) * kTile;
                         const int64_t i1 = std::min<int64_t>(
                             n, static_cast<int64_t>(e) * kTile);
                         fn(gate + i0, up + i0, gate + i0, i1 - i0);
                       });
}

// Adds the time of a scope to one profile category (when profiling).
class Timed {
 public:
  Timed(OpProfile* p, const char* name)
      : p_(p->enabled ? p : nullptr), name_(name) {
    if (p_) t0_ = std::chrono::steady_clock::now();
  }
  ~Timed() { Stop(); }
  void Stop() {
    if (p_) {
      p_->seconds[name_] +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_)
              .count();
    }
    p_ = nullptr;
  }

 private:
  OpProfile* p_;
  const char* name_;
  std::chrono::steady_clock::time_point t0_;
};

void Resize(std::vector<float>* v, size_t n) {
  if (v->size() < n) v->resize(n);
}

}  // namespace

StatusOr<std::unique_ptr<TextDecoder>> TextDecoder::Create(const Model& m) {
  std::unique_ptr<TextDecoder> d(new TextDecoder(m));
  const Gemma4Config& c = m.config();
  const Weights& w = m.weights();
  d->output_norm_ = ToF32(w.output_norm);
  d->ple_proj_norm_ = ToF32(w.ple_proj_norm);
  // Hugging Face multiplies by sqrt(H) cast to the weight dtype; with bf16
  // embeddings that is bf16(sqrt(H)) (spec 2.3). GGUF engines use fp32.
  d->embed_scale_ = std::sqrt(static_cast<float>(c.hidden_size));
  if (w.token_embd->dtype == kernels::DType::kBF16) {
    d->embed_scale_ = kernels::Bf16ToFp32(kernels::Fp32ToBf16(d->embed_scale_));
  }
  d->layers_.resize(c.num_layers);
  for (int l = 0; l < c.num_layers; ++l) {
    const LayerWeights& lw = w.layers[l];
    const LayerConfig& lc = c.layers[l];
    LayerVecs& v = d->layers_[l];
    v.attn_norm = ToF32(lw.attn_norm);
    v.q_norm = ToF32(lw.q_norm);
    v.k_norm = ToF32(lw.k_norm);
    v.post_attn_norm = ToF32(lw.post_attn_norm);
    v.ffn_norm = ToF32(lw.ffn_norm);
    v.post_ffw_norm = ToF32(lw.post_ffw_norm);
    v.pre_ffw_norm_2 = ToF32(lw.pre_ffw_norm_2);
    v.post_ffw_norm_1 = ToF32(lw.post_ffw_norm_1);
    v.post_ffw_norm_2 = ToF32(lw.post_ffw_norm_2);
    v.router_scale = ToF32(lw.router_scale);
    v.expert_scale = ToF32(lw.expert_scale);
    v.ple_post_norm = ToF32(lw.ple_post_norm);
    v.layer_scale = ToF32(lw.layer_scale)[0];
    // Proportional RoPE on full layers: the exponent's denominator is the
    // whole head dim, and only the first rope_pairs pairs rotate.
    v.rope_inv_freq.assign(lc.head_dim / 2, 0.f);
    for (int j = 0; j < lc.rope_pairs; ++j) {
      v.rope_inv_freq[j] = static_cast<float>(
          std::pow(static_cast<double>(lc.rope_theta),
                   -2.0 * j / static_cast<double>(lc.head_dim)));
    }
  }
  return d;
}

Status TextDecoder::Forward(const int* tokens, int n, int64_t pos0,
                            KvCache* cache, Scratch* s,
                            kernels::ThreadPool* pool, float* logits,
                            bool all_logits, const SoftInputs* soft) const {
  ForwardPart part;
  part.tokens = tokens;
  part.n = n;
  part.pos0 = pos0;
  part.cache = cache;
  part.soft = soft;
  part.logits = logits;
  part.all_logits = all_logits;
  return ForwardParts(&part, 1, s, pool);
}

Status TextDecoder::ForwardParts(const ForwardPart* parts, int count,
                                 Scratch* s, kernels::ThreadPool* pool) const {
  const Gemma4Config& c = config();
  const Weights& w = model_.weights();
  const int64_t H = c.hidden_size, V = c.vocab_size;
  if (count <= 0) return InvalidArgument("no tokens to evaluate");
  int n = 0;
  for (int i = 0; i < count; ++i) {
    const ForwardPart& p = parts[i];
    if (p.n <= 0 || p.tokens == nullptr || p.cache == nullptr) {
      return InvalidArgument("no tokens to evaluate");
    }
    for (int j = 0; j < i; ++j) {
      if (parts[j].cache == p.cache) {
        return InvalidArgument("two parts of one forward pass share a cache");
      }
    }
    if (p.n > p.cache->max_chunk()) {
      return InvalidArgument("chunk of " + std::to_string(p.n) +
                             " tokens exceeds the session's chunk size " +
                             std::to_string(p.cache->max_chunk()));
    }
    if (p.pos0 < 0 || p.pos0 + p.n > p.cache->context()) {
      return OutOfRange("positions " + std::to_string(p.pos0) + ".." +
                        std::to_string(p.pos0 + p.n - 1) +
                        " exceed the context length " +
                        std::to_string(p.cache->context()));
    }
    for (int t = 0; t < p.n; ++t) {
      if (p.tokens[t] < 0 || p.tokens[t] >= V) {
        return InvalidArgument("token id " + std::to_string(p.tokens[t]) +
                               " is outside the vocabulary (0.." +
                               std::to_string(V - 1) + ")");
      }
    }
    if (p.soft != nullptr && p.soft->is_soft != nullptr &&
        p.soft->embeds == nullptr &&
        std::any_of(p.soft->is_soft, p.soft->is_soft + p.n,
                    [](uint8_t b) { return b; })) {
      return InvalidArgument("soft tokens without embeddings");
    }
    n += p.n;
  }
  // The rows of all parts, stacked: part, position, token or soft row.
  s->row_part.resize(n);
  s->row_pos.resize(n);
  s->row_token.resize(n);
  s->row_embed.resize(n);
  s->last_key.resize(n);
  bool any_block = false;
  for (int i = 0, t0 = 0; i < count; t0 += parts[i].n, ++i) {
    const ForwardPart& p = parts[i];
    const SoftInputs* soft = p.soft;
    for (int j = 0; j < p.n; ++j) {
      const int t = t0 + j;
      s->row_part[t] = i;
      s->row_pos[t] = p.pos0 + j;
      s->row_token[t] = p.tokens[j];
      const bool is_soft =
          soft != nullptr && soft->is_soft != nullptr && soft->is_soft[j] != 0;
      s->row_embed[t] = is_soft ? soft->embeds + j * H : nullptr;
    }
    // Bidirectional image blocks: on sliding layers a token of a block
    // also sees the block's later tokens (all in this part).
    const bool blocks =
        c.bidirectional_vision && soft != nullptr && soft->block != nullptr;
    any_block = any_block || blocks;
    for (int j = p.n - 1; j >= 0; --j) {
      const bool joins_next = blocks && soft->block[j] != 0 && j + 1 < p.n &&
                              soft->block[j + 1] == soft->block[j];
      s->last_key[t0 + j] = joins_next ? s->last_key[t0 + j + 1] : t0 + j;
    }
  }
  const int* last_key = any_block ? s->last_key.data() : nullptr;
  auto is_soft = [&](int t) { return s->row_embed[t] != nullptr; };

  // x: [n][H] residual stream.
  Timed timed_embed(&s->profile, "embeddings");
  Resize(&s->x, n * H);
  const Matrix emb = Mat(w.token_embd);
  for (int t = 0; t < n; ++t) {
    float* xt = s->x.data() + t * H;
    if (is_soft(t)) {
      // Encoder rows enter unscaled (spec 2.4).
      std::copy(s->row_embed[t], s->row_embed[t] + H, xt);
      continue;
    }
    kernels::DequantizeRow(emb.dtype, emb.row(s->row_token[t]), xt, H);
    for (int64_t i = 0; i < H; ++i) xt[i] *= embed_scale_;
  }

  // Per-layer inputs Q: [n][L*P] (spec 3.2).
  const int64_t P = c.ple_dim, LP = c.num_layers * P;
  if (P > 0) {
    Resize(&s->ple, n * LP);
    Resize(&s->ple_a, LP);
    kernels::MatMul(Mat(w.ple_model_proj), s->x.data(), n, s->ple.data(), pool);
    const float inv_sqrt_h = 1.f / std::sqrt(static_cast<float>(H));
    const float inv_sqrt2 = 1.f / std::sqrt(2.f);
    const float sqrt_p = std::sqrt(static_cast<float>(P));  // 16 for P=256
    const Matrix ple_emb = Mat(w.ple_token_embd);
    for (int t = 0; t < n; ++t) {
      float* q = s->ple.data() + t * LP;
      for (int64_t i = 0; i < LP; ++i) q[i] *= inv_sqrt_h;
      RmsNormRows(q, ple_proj_norm_.data(), q, c.num_layers, P, c.rms_eps);
      // Soft tokens take the pad row's identity part (spec 2.6).
      const int id = is_soft(t) ? c.pad_id : s->row_token[t];
      kernels::DequantizeRow(ple_emb.dtype, ple_emb.row(id), s->ple_a.data(),
                             LP);
      for (int64_t i = 0; i < LP; ++i) {
        q[i] = (q[i] + s->ple_a[i] * sqrt_p) * inv_sqrt2;
      }
    }
  }

  timed_embed.Stop();
  for (int l = 0; l < c.num_layers; ++l) {
    Attention(l, n, parts, s, pool, last_key);
    {
      Timed timed(&s->profile, c.is_moe() ? "ffn (dense + experts)" : "ffn");
      FeedForward(l, n, s, pool);
    }
    Timed timed_ple(&s->profile, "per-layer input, layer scale");
    const LayerVecs& v = layers_[l];
    if (P > 0) {
      // h += RMSNorm(gelu(h Wg^T) * Q[l] Wp^T)   gate: [n][P], proj: [n][H]
      const LayerWeights& lw = w.layers[l];
      Resize(&s->gate, n * P);
      Resize(&s->tmp, n * H);
      kernels::MatMul(Mat(lw.ple_gate), s->x.data(), n, s->gate.data(), pool);
      for (int t = 0; t < n; ++t) {
        float* g = s->gate.data() + t * P;
        const float* q = s->ple.data() + t * LP + l * P;
        kernels::Kernels().gelu_tanh_mul(g, q, g, P);
      }
      kernels::MatMul(Mat(lw.ple_proj), s->gate.data(), n, s->tmp.data(), pool);
      RmsNormRows(s->tmp.data(), v.ple_post_norm.data(), s->tmp.data(), n, H,
                  c.rms_eps);
      for (int64_t i = 0; i < n * H; ++i) s->x[i] += s->tmp[i];
    }
    for (int64_t i = 0; i < n * H; ++i) s->x[i] *= v.layer_scale;
  }

  // The rows that want logits, part after part: [m][H] normed, then the
  // LM head once for all of them.
  int m = 0;
  for (int i = 0; i < count; ++i) {
    if (parts[i].logits != nullptr) m += parts[i].all_logits ? parts[i].n : 1;
  }
  if (m == 0) return OkStatus();
  Timed timed_head(&s->profile, "final norm, lm head, softcap");
  Resize(&s->logits_h, m * H);
  for (int i = 0, t0 = 0, r = 0; i < count; t0 += parts[i].n, ++i) {
    const ForwardPart& p = parts[i];
    if (p.logits == nullptr) continue;
    const int first = p.all_logits ? 0 : p.n - 1;
    RmsNormRows(s->x.data() + (t0 + first) * H, output_norm_.data(),
                s->logits_h.data() + r * H, p.n - first, H, c.rms_eps);
    r += p.n - first;
  }
  // One part writes straight into its logits; several share a buffer.
  float* out = parts[0].logits;
  if (count > 1) {
    Resize(&s->logits_all, static_cast<size_t>(m) * V);
    out = s->logits_all.data();
  }
  kernels::MatMul(emb, s->logits_h.data(), m, out, pool);
  if (c.final_logit_softcap > 0) {
    kernels::Kernels().softcap(out, m * V, c.final_logit_softcap);
  }
  if (count > 1) {
    for (int i = 0, r = 0; i < count; ++i) {
      const ForwardPart& p = parts[i];
      if (p.logits == nullptr) continue;
      const int rows = p.all_logits ? p.n : 1;
      std::copy(out + static_cast<int64_t>(r) * V,
                out + static_cast<int64_t>(r + rows) * V, p.logits);
      r += rows;
    }
  }
  return OkStatus();
}

void TextDecoder::Attention(int l, int n, const ForwardPart* parts, Scratch* s,
                            kernels::ThreadPool* pool,
                            const int* last_key) const {
  const Gemma4Config& c = config();
  const LayerConfig& lc = c.layers[l];
  const LayerWeights& lw = model_.weights().layers[l];
  const LayerVecs& v = layers_[l];
  const int64_t H = c.hidden_size, d = lc.head_dim, nh = c.num_heads;
  const int64_t nkv = lc.n_kv_heads, q_dim = nh * d, kv_dim = nkv * d;
  const float eps = c.rms_eps;

  Timed timed_qkv(&s->profile, "attention q/k/v, norms, rope");
  Resize(&s->a, n * H);
  RmsNormRows(s->x.data(), v.attn_norm.data(), s->a.data(), n, H, eps);
  // q: [n][nh][d]
  Resize(&s->q, n * q_dim);
  kernels::MatMul(Mat(lw.q), s->a.data(), n, s->q.data(), pool);
  // Rotation angles per token: [n][cos d/2 | sin d/2], of which the first
  // `pairs` of each half are used (the other pairs do not rotate).
  const kernels::KernelTable& kt = kernels::Kernels();
  const int64_t pairs = lc.rope_pairs;
  std::vector<float>& rope = s->rope;
  Resize(&rope, n * d);
  for (int t = 0; t < n; ++t) {
    kernels::RopeAngles(v.rope_inv_freq.data(), pairs, s->row_pos[t],
                        rope.data() + t * d, rope.data() + t * d + d / 2);
  }
  // Every head of every token: q_norm over [n * nh][d], then RoPE per token.
  kt.rms_norm(s->q.data(), v.q_norm.data(), s->q.data(), n * nh, d, eps);
  for (int t = 0; t < n; ++t) {
    const float* cs = rope.data() + t * d;
    kt.rope(s->q.data() + t * q_dim, nh, d, pairs, cs, cs + d / 2);
  }
  if (lc.owns_kv(l)) {
    // k, v: [n][nkv][d]. On K=V layers V is the raw K projection, taken
    // before k_norm and RoPE.
    Resize(&s->k, n * kv_dim);
    Resize(&s->v, n * kv_dim);
    kernels::MatMul(Mat(lw.k), s->a.data(), n, s->k.data(), pool);
    if (lc.k_eq_v) {
      std::copy(s->k.begin(), s->k.begin() + n * kv_dim, s->v.begin());
    } else {
      kernels::MatMul(Mat(lw.v), s->a.data(), n, s->v.data(), pool);
    }
    // Per token, its [nkv][d] heads go straight into an f32 cache row, or
    // through kv_row into an f16 / q8_0 one.
    Resize(&s->kv_row, kv_dim);
    for (int t = 0; t < n; ++t) {
      KvCache* cache = parts[s->row_part[t]].cache;
      const int64_t pos = s->row_pos[t];
      const kernels::DType kty = cache->k_type(), vty = cache->v_type();
      float* kc =
          kty == kernels::DType::kF32 ? cache->K(l, pos) : s->kv_row.data();
      const float* cs = rope.data() + t * d;
      kt.rms_norm(s->k.data() + t * kv_dim, v.k_norm.data(), kc, nkv, d, eps);
      kt.rope(kc, nkv, d, pairs, cs, cs + d / 2);
      if (kty != kernels::DType::kF32) {
        kernels::QuantizeRow(kty, kc, cache->KRow(l, pos), kv_dim);
      }
      float* vc =
          vty == kernels::DType::kF32 ? cache->V(l, pos) : s->kv_row.data();
      kt.rms_norm(s->v.data() + t * kv_dim, nullptr, vc, nkv, d, eps);
      if (vty != kernels::DType::kF32) {
        kernels::QuantizeRow(vty, vc, cache->VRow(l, pos), kv_dim);
      }
    }
  }

  timed_qkv.Stop();
  Timed timed_scores(&s->profile, "attention scores, softmax, values");
  // Scores use scale 1.0 (q/k norms replace 1/sqrt(d)); masks by position.
  Resize(&s->att, n * q_dim);
  const int src = lc.kv_source;
  const int64_t group = nh / nkv;
  const bool sliding = lc.kind == AttentionKind::kSliding;
  // Token t attends to positions [lo, hi]: from the window's first
  // position, up to itself, or to its image block's end on sliding layers
  // of bidirectional models (written above for the batch).
  const int64_t* pos = s->row_pos.data();
  auto lo_of = [&](int64_t t) -> int64_t {
    return sliding ? std::max<int64_t>(0, pos[t] - c.sliding_window + 1) : 0;
  };
  auto hi_of = [&](int64_t t) -> int64_t {
    return sliding && last_key != nullptr ? pos[last_key[t]] : pos[t];
  };
  // Each token's positions are cut into tiles of kAttnTile counted from
  // its lo, the same in every chunking. Tokens whose lo agree modulo the
  // tile share the cuts, so one K/V tile serves several of them: a block
  // is up to kAttnMaxQ / per_task such tokens (consecutive ones on full
  // layers and inside the first window, every kAttnTile-th on sliding
  // layers past it). A task is a block and up to 4 query heads of one KV
  // group, which read the same K/V rows (two tasks per group in decode
  // keep both threads busy on E2B's single KV head). Each query row gets
  // the same tiles, in the same order, as alone, so results do not depend
  // on the blocks.
  const int64_t per_task = std::min<int64_t>(group, 4);
  const int64_t subs = (group + per_task - 1) / per_task;
  const int max_block = static_cast<int>(kernels::kAttnMaxQ / per_task);
  // Per part, its rows by tile phase (ascending within a phase), cut into
  // blocks: a block reads one cache.
  std::vector<int>& order = s->att_order;
  std::vector<int>& block_start = s->att_block;
  std::vector<int>& block_part = s->att_block_part;
  order.resize(n);
  block_start.clear();
  block_part.clear();
  double work = 0;
  for (int t0 = 0; t0 < n;) {
    const int part = s->row_part[t0];
    int t1 = t0;
    while (t1 < n && s->row_part[t1] == part) ++t1;
    int counts[kernels::kAttnTile] = {};
    for (int t = t0; t < t1; ++t) ++counts[lo_of(t) % kernels::kAttnTile];
    int fill[kernels::kAttnTile];
    for (int ph = 0, at = t0; ph < kernels::kAttnTile; ++ph) {
      fill[ph] = at;
      for (int b = 0; b < counts[ph]; b += max_block) {
        block_start.push_back(at + b);
        block_part.push_back(part);
      }
      at += counts[ph];
    }
    for (int t = t0; t < t1; ++t) {
      order[fill[lo_of(t) % kernels::kAttnTile]++] = t;
    }
    const int64_t end = pos[t1 - 1] + 1;
    work += static_cast<double>(t1 - t0) * nh * d *
            (sliding ? std::min<int64_t>(end, c.sliding_window) : end);
    t0 = t1;
  }
  block_start.push_back(n);
  const size_t blocks = block_start.size() - 1;
  kernels::ParallelFor(
      work < 65536.0 ? nullptr : pool, blocks * nkv * subs, 1,
      [&](size_t b, size_t e) {
        thread_local std::vector<float> acc, qb, kbuf, vbuf;
        const float* kp[kernels::kAttnTile];
        const float* vp[kernels::kAttnTile];
        const uint8_t* raw[kernels::kAttnTile];
        float m[kernels::kAttnMaxQ], l[kernels::kAttnMaxQ];
        int64_t lo[kernels::kAttnMaxQ], hi[kernels::kAttnMaxQ];
        for (size_t task = b; task < e; ++task) {
          const size_t blk = task / (nkv * subs);
          KvCache* cache = parts[block_part[blk]].cache;
          const kernels::DType kty = cache->k_type(), vty = cache->v_type();
          const bool k_f32 = kty == kernels::DType::kF32;
          const bool v_f32 = vty == kernels::DType::kF32;
          const kernels::LoadKvFn load_k =
              kty == kernels::DType::kF16 ? kt.load_kv_f16 : kt.load_kv_q8_0;
          const kernels::LoadKvFn load_v =
              vty == kernels::DType::kF16 ? kt.load_kv_f16 : kt.load_kv_q8_0;
          const int64_t k_head_bytes = k_f32 ? 0 : kernels::RowBytes(kty, d);
          const int64_t v_head_bytes = v_f32 ? 0 : kernels::RowBytes(vty, d);
          if (!k_f32) Resize(&kbuf, kernels::kAttnTile * d);
          if (!v_f32) Resize(&vbuf, kernels::kAttnTile * d);
          const int64_t g = task / subs % nkv;
          const int64_t h0 = g * group + task % subs * per_task;
          const int nq = static_cast<int>(
              std::min<int64_t>(per_task, (g + 1) * group - h0));
          const int b0 = block_start[blk], b1 = block_start[blk + 1];
          const int nt = b1 - b0;
          const int rows = nt * nq;
          // The block's query rows, packed [token][head][d].
          Resize(&qb, rows * d);
          Resize(&acc, rows * d);
          int64_t first = lo_of(order[b0]), last = -1;
          for (int r = 0; r < nt; ++r) {
            const int t = order[b0 + r];
            std::copy_n(s->q.data() + t * q_dim + h0 * d, nq * d,
                        qb.data() + r * nq * d);
            lo[r] = lo_of(t);
            hi[r] = hi_of(t);
            first = std::min(first, lo[r]);
            last = std::max(last, hi[r]);
          }
          std::fill(acc.begin(), acc.begin() + rows * d, 0.f);
          std::fill(m, m + rows, -INFINITY);
          std::fill(l, l + rows, 0.f);
          for (int64_t j0 = first; j0 <= last; j0 += kernels::kAttnTile) {
            const int count = static_cast<int>(
                std::min<int64_t>(kernels::kAttnTile, last + 1 - j0));
            // Pointers to the tile's K (or V) rows of group g: in the
            // cache when f32, else widened into buf.
            auto tile = [&](bool key, const float** p,
                            std::vector<float>& buf) {
              const bool f32 = key ? k_f32 : v_f32;
              const int64_t head_bytes = key ? k_head_bytes : v_head_bytes;
              for (int j = 0; j < count; ++j) {
                if (f32) {
                  p[j] = (key ? cache->K(src, j0 + j) : cache->V(src, j0 + j)) +
                         g * d;
                } else {
                  raw[j] = (key ? cache->KRow(src, j0 + j)
                                : cache->VRow(src, j0 + j)) +
                           g * head_bytes;
                  p[j] = buf.data() + j * d;
                }
              }
              if (!f32) (key ? load_k : load_v)(raw, count, d, buf.data());
            };
            tile(true, kp, kbuf);
            tile(false, vp, vbuf);
            // Runs of tokens that take this tile with the same count go
            // in one call.
            auto count_of = [&](int r) {
              if (lo[r] > j0 || hi[r] < j0) return 0;
              return static_cast<int>(
                  std::min<int64_t>(kernels::kAttnTile, hi[r] + 1 - j0));
            };
            for (int r = 0; r < nt;) {
              const int cr = count_of(r);
              int r1 = r + 1;
              while (r1 < nt && count_of(r1) == cr) ++r1;
              if (cr > 0) {
                kt.attend_tile(qb.data() + r * nq * d, d, (r1 - r) * nq, kp, vp,
                               cr, d, 1.0f, m + r * nq, l + r * nq,
                               acc.data() + r * nq * d);
              }
              r = r1;
            }
          }
          for (int r = 0; r < nt; ++r) {
            const int t = order[b0 + r];
            for (int i = 0; i < nq; ++i) {
              float* out = s->att.data() + t * q_dim + (h0 + i) * d;
              const float inv = 1.0f / l[r * nq + i];
              const float* a = acc.data() + (r * nq + i) * d;
              for (int64_t c2 = 0; c2 < d; ++c2) out[c2] = a[c2] * inv;
            }
          }
        }
      });
  timed_scores.Stop();
  Timed timed_o(&s->profile, "attention output projection");
  Resize(&s->o, n * H);
  kernels::MatMul(Mat(lw.o), s->att.data(), n, s->o.data(), pool);
  RmsNormRows(s->o.data(), v.post_attn_norm.data(), s->o.data(), n, H, eps);
  for (int64_t i = 0; i < n * H; ++i) s->x[i] += s->o[i];
}

void TextDecoder::FeedForward(int l, int n, Scratch* s,
                              kernels::ThreadPool* pool) const {
  const Gemma4Config& c = config();
  const LayerConfig& lc = c.layers[l];
  const LayerWeights& lw = model_.weights().layers[l];
  const LayerVecs& v = layers_[l];
  const int64_t H = c.hidden_size, F = lc.ffn_dim;
  const float eps = c.rms_eps;
  // u: [n][H], gate/up: [n][F], ffn: [n][H]
  Resize(&s->a, n * H);
  RmsNormRows(s->x.data(), v.ffn_norm.data(), s->a.data(), n, H, eps);
  Resize(&s->gate, n * F);
  Resize(&s->up, n * F);
  kernels::MatMul(Mat(lw.gate), s->a.data(), n, s->gate.data(), pool);
  kernels::MatMul(Mat(lw.up), s->a.data(), n, s->up.data(), pool);
  GeluMul(s->gate.data(), s->up.data(), n * F, pool);
  Resize(&s->ffn, n * H);
  kernels::MatMul(Mat(lw.down), s->gate.data(), n, s->ffn.data(), pool);
  if (c.is_moe()) {
    // Dense branch and expert branch run in parallel from the same residual.
    RmsNormRows(s->ffn.data(), v.post_ffw_norm_1.data(), s->ffn.data(), n, H,
                eps);
    MoE(l, n, s, pool);
    for (int64_t i = 0; i < n * H; ++i) s->ffn[i] += s->f2[i];
  }
  RmsNormRows(s->ffn.data(), v.post_ffw_norm.data(), s->ffn.data(), n, H, eps);
  for (int64_t i = 0; i < n * H; ++i) s->x[i] += s->ffn[i];
}

void TextDecoder::MoE(int l, int n, Scratch* s,
                      kernels::ThreadPool* pool) const {
  const Gemma4Config& c = config();
  const LayerWeights& lw = model_.weights().layers[l];
  const LayerVecs& v = layers_[l];
  const int64_t H = c.hidden_size, X = c.num_experts, Fe = c.moe_ffn_dim;
  const int K = c.top_k_experts;
  const float eps = c.rms_eps;

  // Router on the un-normalised residual: z = rms(h) * scale / sqrt(H).
  Resize(&s->a, n * H);
  Resize(&s->tmp, n * X);
  const float inv_sqrt_h = 1.f / std::sqrt(static_cast<float>(H));
  RmsNormRows(s->x.data(), nullptr, s->a.data(), n, H, eps);
  for (int t = 0; t < n; ++t) {
    float* z = s->a.data() + t * H;
    for (int64_t i = 0; i < H; ++i) z[i] *= v.router_scale[i] * inv_sqrt_h;
  }
  kernels::MatMul(Mat(lw.router), s->a.data(), n, s->tmp.data(), pool);

  // Per expert: the tokens that chose it and their weights.
  std::vector<std::vector<std::pair<int, float>>> chosen(X);
  std::vector<int> idx(X);
  for (int t = 0; t < n; ++t) {
    const float* lg = s->tmp.data() + t * X;
    const float mx = *std::max_element(lg, lg + X);
    std::vector<double> p(X);
    double sum = 0;
    for (int64_t e = 0; e < X; ++e) sum += (p[e] = std::exp(lg[e] - mx));
    std::iota(idx.begin(), idx.end(), 0);
    std::partial_sort(
        idx.begin(), idx.begin() + K, idx.end(),
        [&](int a, int b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
    double top = 0;
    for (int k = 0; k < K; ++k) top += p[idx[k]];
    for (int k = 0; k < K; ++k) {
      const int e = idx[k];
      chosen[e].push_back(
          {t, static_cast<float>(p[e] / top) * v.expert_scale[e]});
    }
    (void)sum;  // softmax normaliser cancels in the top-k renormalisation
  }

  // u2 = RMSNorm(h, pre_ffw_norm_2): [n][H]
  RmsNormRows(s->x.data(), v.pre_ffw_norm_2.data(), s->a.data(), n, H, eps);
  Resize(&s->f2, n * H);
  std::fill(s->f2.begin(), s->f2.begin() + n * H, 0.f);
  std::vector<float> in, gu, act, out;
  for (int64_t e = 0; e < X; ++e) {
    const auto& list = chosen[e];
    if (list.empty()) continue;  // unselected experts are never read
    const int m = static_cast<int>(list.size());
    in.resize(m * H);
    for (int r = 0; r < m; ++r) {
      std::copy_n(s->a.data() + list[r].first * H, H, in.data() + r * H);
    }
    gu.resize(m * 2 * Fe);  // [m][gate Fe | up Fe]
    kernels::MatMul(Mat(lw.gate_up_exps, e), in.data(), m, gu.data(), pool);
    act.resize(m * Fe);
    for (int r = 0; r < m; ++r) {
      kernels::Kernels().gelu_tanh_mul(gu.data() + r * 2 * Fe,
                                       gu.data() + r * 2 * Fe + Fe,
                                       act.data() + r * Fe, Fe);
    }
    out.resize(m * H);
    kernels::MatMul(Mat(lw.down_exps, e), act.data(), m, out.data(), pool);
    for (int r = 0; r < m; ++r) {
      float* dst = s->f2.data() + list[r].first * H;
      const float wgt = list[r].second;
      for (int64_t i = 0; i < H; ++i) dst[i] += wgt * out[r * H + i];
    }
  }
  RmsNormRows(s->f2.data(), v.post_ffw_norm_2.data(), s->f2.data(), n, H, eps);
}

}  // namespace facet::gemma4
