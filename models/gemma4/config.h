// Gemma4Config: one description of every Gemma 4 text decoder size, with
// per-layer vectors, built from a Hugging Face config.json, a GGUF file, or
// a preset for a released size. Model variants are data, not code paths.
#ifndef FACET_MODELS_GEMMA4_CONFIG_H_
#define FACET_MODELS_GEMMA4_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "facet/status.h"

namespace facet {
class GgufFile;
}

namespace facet::gemma4 {

enum class AttentionKind { kSliding, kFull };

struct LayerConfig {
  AttentionKind kind = AttentionKind::kSliding;
  int head_dim = 0;     // 256 sliding / 512 full in released sizes
  int n_kv_heads = 0;   // KV heads of the cache this layer reads
  int kv_source = 0;    // layer that owns the K/V read here (== own index
                        // unless KV-shared)
  int ffn_dim = 0;      // dense MLP width
  bool k_eq_v = false;  // V is the raw K projection (no v_proj)
  float rope_theta = 10000.f;
  int rope_pairs = 0;  // rotated (j, j + head_dim/2) pairs; rest pass through
  bool owns_kv(int self) const { return kv_source == self; }
};

struct Gemma4Config {
  std::string name = "custom";
  int64_t vocab_size = 0;
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int head_dim_local = 0;
  int head_dim_global = 0;
  int kv_heads_local = 0;
  int kv_heads_global = 0;
  int sliding_window = 0;
  float rope_theta_local = 10000.f;
  float rope_theta_global = 1000000.f;
  float partial_rotary_global = 0.25f;
  int ple_dim = 0;  // per-layer input width (E2B/E4B: 256), 0 = none
  int num_kv_shared_layers = 0;
  bool attention_k_eq_v = false;
  int num_experts = 0;
  int top_k_experts = 0;
  int moe_ffn_dim = 0;
  float rms_eps = 1e-6f;
  float final_logit_softcap = 30.f;
  int64_t max_position_embeddings = 131072;
  int bos_id = 2;
  int eos_id = 1;
  int pad_id = 0;
  // Image soft tokens attend to each other both ways on the sliding
  // layers (26B-A4B, 31B: use_bidirectional_attention = "vision"); E2B
  // and E4B are causal everywhere (gemma4-multimodal spec 2.6).
  bool bidirectional_vision = false;
  std::vector<LayerConfig> layers;

  bool is_moe() const { return num_experts > 0; }
  int first_shared_layer() const { return num_layers - num_kv_shared_layers; }

  // Checks every field and cross-field rule; the message names the field.
  Status Validate() const;
  // Number of KV-owning layers.
  int kv_layers() const;
};

// Fills `layers` from the scalar fields, a per-layer sliding flag and a
// per-layer FFN width (KV sources follow the Gemma 4 sharing rule).
Status BuildLayers(Gemma4Config* c, const std::vector<bool>& sliding,
                   const std::vector<int>& ffn_dims);

// Presets for the released sizes (gemma4-text spec section 1).
enum class Preset { kE2B, kE4B, k26BA4B, k31B, k12B };
Gemma4Config MakePreset(Preset p);
// "e2b", "e4b", "26b-a4b", "31b", "12b".
StatusOr<Gemma4Config> PresetByName(const std::string& name);

StatusOr<Gemma4Config> ConfigFromHfJson(const std::string& json_text);
// `rope_pairs_global` comes from the rope_freqs tensor when present.
StatusOr<Gemma4Config> ConfigFromGguf(const GgufFile& gguf);

}  // namespace facet::gemma4

#endif  // FACET_MODELS_GEMMA4_CONFIG_H_
