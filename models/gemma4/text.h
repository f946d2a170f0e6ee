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
      ple_a, logits_h, rope, kv_row, logits_all;
  // Rows of one pass: the part each belongs to and its position; the token
  // id, or the embedding row of a soft token (null for ids).
  std::vector<int> row_part, row_token;
  std::vector<int64_t> row_pos;
  std::vector<const float*> row_embed;
  std::vector<int> last_key;  // [n], bidirectional image blocks
  // Attention: rows ordered by part and tile phase, where each block
  // starts and which part it belongs to.
  std::vector<int> att_order, att_block, att_block_part;
};

// Soft tokens of one forward call: positions whose input is an encoder's
// embedding row instead of a token id (gemma4-multimodal spec 2.6).
struct SoftInputs {
  const uint8_t* is_soft = nullptr;  // [n]: 1 = soft token
  const float* embeds = nullptr;     // [n][H]; rows read where is_soft
  // [n] or null: positions with the same nonzero id form one image (or
  // video frame); on models with bidirectional_vision they attend to each
  // other both ways on the sliding layers. A block must not be split
  // across forward calls.
  const int32_t* block = nullptr;
};

// One session's share of a forward pass that several sessions take
// together (batched decode): its tokens at positions pos0.., appended to
// its own cache.
struct ForwardPart {
  const int* tokens = nullptr;  // [n]
  int n = 0;
  int64_t pos0 = 0;
  KvCache* cache = nullptr;
  const SoftInputs* soft = nullptr;  // may be null
  float* logits = nullptr;           // null: none
  bool all_logits = false;           // [n][vocab], else the last row's
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
  // non-null). Soft tokens (`soft`, may be null) enter unscaled, with the
  // pad row's per-layer embedding.
  Status Forward(const int* tokens, int n, int64_t pos0, KvCache* cache,
                 Scratch* s, kernels::ThreadPool* pool, float* logits,
                 bool all_logits, const SoftInputs* soft = nullptr) const;

  // Runs the parts (each on its own cache, caches distinct) as one pass:
  // their rows are stacked, so every matrix is read once for all of them,
  // and each row attends only to its own cache. Each part gets the logits
  // (bit for bit) that a Forward of it alone would give. s->logits_h then
  // holds the final-normed rows the logits came from, part after part.
  Status ForwardParts(const ForwardPart* parts, int count, Scratch* s,
                      kernels::ThreadPool* pool) const;

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

  // `last_key` ([n] or null): the last batch index token t attends to on
  // sliding layers (t itself when causal, the block's end inside an image).
  // Rows s->row_* of `parts`.
  void Attention(int l, int n, const ForwardPart* parts, Scratch* s,
                 kernels::ThreadPool* pool, const int* last_key) const;
  void FeedForward(int l, int n, Scratch* s, kernels::ThreadPool* pool) const;
  void MoE(int l, int n, Scratch* s, kernels::ThreadPool* pool) const;

  const Model& model_;
  std::vector<LayerVecs> layers_;
  std::vector<float> output_norm_, ple_proj_norm_;
  float embed_scale_ = 1.f;
};

}  // namespace facet::gemma4

#endif  // FACET_MODELS_GEMMA4_TEXT_H_
