// The Gemma 4 text decoder forward pass (gemma4-text spec section 3),
// driven by Gemma4Config: one code path for E2B, E4B, 26B-A4B and 31B.
#ifndef FACET_MODELS_GEMMA4_TEXT_H_
#define FACET_MODELS_GEMMA4_TEXT_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "facet/status.h"
#include "kernels/kernels.h"
#include "models/gemma4/kv_cache.h"
#include "models/gemma4/model.h"

namespace facet::gemma4 {

// Seconds spent per op category, when enabled (facet bench --profile).
struct OpProfile {
  bool enabled = false;
  std::map<std::string, double> seconds;
};

// Per-session activations, reused between calls.
struct Scratch {
  OpProfile profile;
  std::vector<float> x, a, q, k, v, att, o, gate, up, ffn, f1, f2, tmp, ple,
      ple_a, logits_h, rope;
};

class TextDecoder {
 public:
  // Prepares f32 copies of the small vectors (norms, scales) and the RoPE
  // frequencies. The matrices are read where the model holds them: in the
  // mapped file, or in the packed copies Model::PackWeights made at load.
  static StatusOr<std::unique_ptr<TextDecoder>> Create(const Model& model);

  const Gemma4Config& config() const { return model_.config(); }

  // Runs `n` tokens at positions pos0 .. pos0+n-1 through the stack,
  // appending their K/V to `cache`. Writes logits [n][vocab] when
  // `all_logits`, else only the last token's [vocab], into `logits` (if
  // non-null).
  Status Forward(const int* tokens, int n, int64_t pos0, KvCache* cache,
                 Scratch* s, kernels::ThreadPool* pool, float* logits,
                 bool all_logits) const;

 private:
  struct LayerVecs {
    std::vector<float> attn_norm, q_norm, k_norm, post_attn_norm, ffn_norm,
        post_ffw_norm, pre_ffw_norm_2, post_ffw_norm_1, post_ffw_norm_2,
        router_scale, expert_scale, ple_post_norm;
    float layer_scale = 1.f;
    // [head_dim/2]; only the first LayerConfig::rope_pairs rotate (the
    // rest are 0 and unused).
    std::vector<float> rope_inv_freq;
  };
  explicit TextDecoder(const Model& m) : model_(m) {}

  void Attention(int l, int n, int64_t pos0, KvCache* cache, Scratch* s,
                 kernels::ThreadPool* pool) const;
  void FeedForward(int l, int n, Scratch* s, kernels::ThreadPool* pool) const;
  void MoE(int l, int n, Scratch* s, kernels::ThreadPool* pool) const;

  const Model& model_;
  std::vector<LayerVecs> layers_;
  std::vector<float> output_norm_, ple_proj_norm_;
  float embed_scale_ = 1.f;
};

}  // namespace facet::gemma4

#endif  // FACET_MODELS_GEMMA4_TEXT_H_
