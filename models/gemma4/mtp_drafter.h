// The Gemma 4 MTP drafter ("assistant" checkpoints, spec
// gemma4-mtp-drafter.md): a small decoder whose layers have no K/V of their
// own but attend to the K/V the target stored for its last KV-owning layer
// of each attention type. One step proposes one token from (token, hidden
// state); a round of k steps drafts k tokens for speculative decoding.
#ifndef FACET_MODELS_GEMMA4_MTP_DRAFTER_H_
#define FACET_MODELS_GEMMA4_MTP_DRAFTER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "facet/status.h"
#include "kernels/kernels.h"
#include "models/gemma4/config.h"
#include "models/gemma4/kv_cache.h"
#include "models/gemma4/model.h"
#include "src/engine/language_model.h"
#include "src/io/hf_folder.h"

namespace facet::gemma4 {

class TextState;

// Which cached target keys a sliding drafter layer sees for a round at
// query position q (spec 9.2; the target holds positions 0..q-1).
enum class DraftWindow {
  kHf,      // q-W-1 .. q-1 (W+1 keys): Hugging Face, the reference
  kCausal,  // q-W+1 .. q-1 (W-1 keys): llama.cpp's causal SWA at q
  kNone,    // every cached key
};

struct MtpDrafterOptions {
  DraftWindow window = DraftWindow::kHf;
  // RoPE position of the query: q, the newest token's (HF, llama.cpp), or
  // q-1, the last cached one (vLLM) (spec 9.1); either way it sees the
  // keys before its position.
  bool query_at_last_cached = false;
  // The full tied head even where the checkpoint has the centroid head
  // (what runtimes without it, such as llama.cpp, draft with).
  bool dense_head = false;
};

// What config.json describes (top level and text_config).
struct MtpDrafterConfig {
  int backbone_hidden = 0;  // Hb, the target's hidden size
  int hidden = 0;           // Hd
  int num_layers = 0;
  int num_heads = 0;
  int ffn_dim = 0;
  int64_t vocab_size = 0;
  float rms_eps = 1e-6f;
  int sliding_window = 0;
  std::vector<AttentionKind> kinds;  // per layer
  bool ordered_embeddings = false;   // centroid-masked head
  int num_centroids = 0;
  int centroid_top_k = 0;
};

class MtpDrafter {
 public:
  // Loads the Hugging Face folder `dir` (config.json with model_type
  // gemma4_assistant, model.safetensors) for `target`. kInvalidArgument for
  // a malformed folder (bad config, missing or misshapen tensors, a
  // token_ordering that is not a permutation), kFailedPrecondition when it
  // does not fit the target (spec 2.2), kNotFound for missing files.
  static StatusOr<std::unique_ptr<MtpDrafter>> Load(
      const std::string& dir, const Model& target,
      const MtpDrafterOptions& options = {});

  const MtpDrafterConfig& config() const { return config_; }
  const MtpDrafterOptions& options() const { return options_; }
  // Target layers the sliding and full drafter layers read.
  int source_layer(AttentionKind kind) const {
    return kind == AttentionKind::kSliding ? src_sliding_ : src_full_;
  }

  // One draft step (spec 4) for a round whose newest token sits at
  // position `q` (the target cache holds 0..q-1; keys below `floor` are
  // gone). `token`: the round's token or the previous draft; `h` [Hb]: the
  // target's final-normed hidden state or the previous step's h_out.
  // Writes h_out [Hb] (may alias h), the drafted token, and optionally
  // logits [V] (centroid head: candidates get their logit, the rest the
  // candidates' minimum - 1, as HF) and the centroid scores [NC].
  Status Step(const KvCache& cache, int64_t q, int64_t floor, int token,
              const float* h, kernels::ThreadPool* pool, float* h_out,
              int* draft, float* logits = nullptr,
              float* centroid_scores = nullptr) const;

  // A round (spec 5): up to k greedy drafts after `token`, from the
  // target's final-normed hidden row `hidden` [Hb] of the position before
  // it and the target's cache in `state`.
  Status Draft(const TextState& state, const float* hidden, int token, int k,
               kernels::ThreadPool* pool, std::vector<int>* out) const;

 private:
  struct Layer {
    AttentionKind kind = AttentionKind::kSliding;
    int head_dim = 0;
    int n_kv = 0;
    int src = 0;  // target layer whose cache it reads
    kernels::Matrix q, o, gate, up, down;
    std::vector<float> attn_norm, q_norm, post_attn_norm, ffn_norm,
        post_ffw_norm, rope_inv_freq;
    int rope_pairs = 0;
    float scalar = 1.f;
  };
  MtpDrafter(const Model& target) : target_(target) {}
  Status Bind(const HfFolder& folder);
  void Attend(const Layer& L, const KvCache& cache, int64_t q, int64_t floor,
              const float* qv, float* out) const;

  const Model& target_;
  MtpDrafterConfig config_;
  MtpDrafterOptions options_;
  std::unique_ptr<HfFolder> folder_;
  std::vector<Layer> layers_;
  kernels::Matrix pre_, post_, centroids_;
  kernels::Matrix head_;  // [V][Hd]; rows by token_ordering when ordered
  std::vector<uint8_t> ordered_head_;  // the permuted copy head_ points to
  std::vector<int32_t> row_token_;     // head_ row -> token id
  std::vector<float> final_norm_;
  float embed_scale_ = 1.f;
  int src_sliding_ = -1, src_full_ = -1;
};

// The drafter behind the engine seam (src/engine/language_model.h).
StatusOr<std::unique_ptr<DraftModel>> LoadMtpDraftModel(
    const std::string& dir, const LanguageModel& target);

}  // namespace facet::gemma4

#endif  // FACET_MODELS_GEMMA4_MTP_DRAFTER_H_
