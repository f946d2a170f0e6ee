// Gemma 4 weight naming (GGUF and Hugging Face) and binding of the tensors
// a model file holds to the slots the forward pass reads, with shape checks.
#ifndef FACET_MODELS_GEMMA4_WEIGHTS_H_
#define FACET_MODELS_GEMMA4_WEIGHTS_H_

#include <functional>
#include <string>
#include <vector>

#include "facet/status.h"
#include "models/gemma4/config.h"
#include "src/io/tensor_view.h"

namespace facet::gemma4 {

struct LayerWeights {
  const TensorView* attn_norm = nullptr;       // [H]
  const TensorView* q = nullptr;               // {H, n_h*d}
  const TensorView* k = nullptr;               // {H, n_kv*d} (owning layers)
  const TensorView* v = nullptr;               // {H, n_kv*d} (absent if K=V)
  const TensorView* o = nullptr;               // {n_h*d, H}
  const TensorView* q_norm = nullptr;          // [d]
  const TensorView* k_norm = nullptr;          // [d]
  const TensorView* post_attn_norm = nullptr;  // [H]
  const TensorView* ffn_norm = nullptr;        // [H] pre_feedforward_layernorm
  const TensorView* gate = nullptr;            // {H, F}
  const TensorView* up = nullptr;              // {H, F}
  const TensorView* down = nullptr;            // {F, H}
  const TensorView* post_ffw_norm = nullptr;   // [H]
  // MoE (26B-A4B).
  const TensorView* pre_ffw_norm_2 = nullptr;   // [H]
  const TensorView* post_ffw_norm_1 = nullptr;  // [H]
  const TensorView* post_ffw_norm_2 = nullptr;  // [H]
  const TensorView* router = nullptr;           // {H, X}
  const TensorView* router_scale = nullptr;     // [H]
  const TensorView* gate_up_exps = nullptr;     // {H, 2Fe, X}
  const TensorView* down_exps = nullptr;        // {Fe, H, X}
  const TensorView* expert_scale = nullptr;     // [X]
  // Per-layer embeddings (E2B/E4B).
  const TensorView* ple_gate = nullptr;       // {H, P}
  const TensorView* ple_proj = nullptr;       // {P, H}
  const TensorView* ple_post_norm = nullptr;  // [H]
  const TensorView* layer_scale = nullptr;    // [1]
};

struct Weights {
  const TensorView* token_embd = nullptr;      // {H, V}
  const TensorView* output_norm = nullptr;     // [H]
  const TensorView* ple_token_embd = nullptr;  // {L*P, V}
  const TensorView* ple_model_proj = nullptr;  // {H, L*P}
  const TensorView* ple_proj_norm = nullptr;   // [P]
  std::vector<LayerWeights> layers;
};

// One tensor a config calls for, by canonical (GGUF) name.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;  // ggml order
  bool required = true;        // false: dead weights that may be present
};

std::vector<TensorSpec> ExpectedTensors(const Gemma4Config& c);

// Maps a canonical GGUF name to the Hugging Face name without prefix
// ("blk.3.attn_q.weight" -> "layers.3.self_attn.q_proj.weight").
std::string HfNameFor(const std::string& gguf_name);

using TensorLookup = std::function<const TensorView*(const std::string&)>;

// Binds every expected tensor, checking presence, shape and type support.
StatusOr<Weights> BindWeights(const Gemma4Config& c,
                              const TensorLookup& lookup);

}  // namespace facet::gemma4

#endif  // FACET_MODELS_GEMMA4_WEIGHTS_H_
