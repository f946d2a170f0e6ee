#include "models/gemma4/model_info.h"

#include "models/gemma4/kv_cache.h"
#include "src/util/status_macros.h"

namespace facet {
namespace {

// The released size whose shape this config has, or "".
std::string MatchPreset(const gemma4::Gemma4Config& c) {
  for (gemma4::Preset p :
       {gemma4::Preset::kE2B, gemma4::Preset::kE4B, gemma4::Preset::k26BA4B,
        gemma4::Preset::k31B, gemma4::Preset::k12B}) {
    gemma4::Gemma4Config ref = gemma4::MakePreset(p);
    if (ref.hidden_size == c.hidden_size && ref.num_layers == c.num_layers &&
        ref.num_heads == c.num_heads && ref.num_experts == c.num_experts &&
        ref.ple_dim == c.ple_dim) {
      return ref.name;
    }
  }
  return "";
}

}  // namespace

uint64_t ModelInfo::KvCacheBytes(int64_t context_length, int prefill_chunk,
                                 const std::string& cache_type_k,
                                 const std::string& cache_type_v) const {
  kernels::DType k_type = kernels::DType::kF32, v_type = kernels::DType::kF32;
  kernels::ParseDType(cache_type_k.c_str(), &k_type);
  kernels::ParseDType(cache_type_v.c_str(), &v_type);
  // Rebuild the minimal config the cache layout depends on.
  gemma4::Gemma4Config c;
  c.num_layers = num_layers;
  c.sliding_window = sliding_window;
  for (const LayerInfo& li : layers) {
    gemma4::LayerConfig lc;
    lc.kind = li.sliding ? gemma4::AttentionKind::kSliding
                         : gemma4::AttentionKind::kFull;
    lc.head_dim = li.head_dim;
    lc.n_kv_heads = li.num_kv_heads;
    lc.kv_source = li.kv_source;
    c.layers.push_back(lc);
  }
  return gemma4::KvCache::BytesFor(c, context_length, prefill_chunk, k_type,
                                   v_type);
}

ModelInfo MakeModelInfo(const gemma4::Model& model) {
  const gemma4::Gemma4Config& c = model.config();
  ModelInfo info;
  info.path = model.path();
  info.format = model.format() == gemma4::SourceFormat::kGguf ? "gguf" : "hf";
  info.architecture = "gemma4";
  info.preset = MatchPreset(c);
  info.vocab_size = c.vocab_size;
  info.hidden_size = c.hidden_size;
  info.num_layers = c.num_layers;
  info.num_heads = c.num_heads;
  info.sliding_window = c.sliding_window;
  info.per_layer_input_dim = c.ple_dim;
  info.num_kv_shared_layers = c.num_kv_shared_layers;
  info.num_experts = c.num_experts;
  info.top_k_experts = c.top_k_experts;
  info.expert_ffn_dim = c.moe_ffn_dim;
  info.max_context = c.max_position_embeddings;
  info.final_logit_softcap = c.final_logit_softcap;
  for (const gemma4::LayerConfig& lc : c.layers) {
    LayerInfo li;
    li.sliding = lc.kind == gemma4::AttentionKind::kSliding;
    li.head_dim = lc.head_dim;
    li.num_kv_heads = lc.n_kv_heads;
    li.kv_source = lc.kv_source;
    li.ffn_dim = lc.ffn_dim;
    li.k_eq_v = lc.k_eq_v;
    li.rope_pairs = lc.rope_pairs;
    li.rope_theta = lc.rope_theta;
    info.layers.push_back(li);
  }
  const gemma4::Weights& w = model.weights();
  auto add = [&](const TensorView* t, double fraction = 1.0) {
    if (t != nullptr) info.decode_weight_bytes += t->nbytes * fraction;
  };
  add(w.token_embd);
  add(w.output_norm);
  add(w.ple_model_proj);
  add(w.ple_proj_norm);
  if (w.ple_token_embd != nullptr) add(w.ple_token_embd, 1.0 / c.vocab_size);
  const double expert_share =
      c.is_moe() ? static_cast<double>(c.top_k_experts) / c.num_experts : 1.0;
  for (const gemma4::LayerWeights& lw : w.layers) {
    for (const TensorView* t : {lw.attn_norm,
                                lw.q,
                                lw.k,
                                lw.v,
                                lw.o,
                                lw.q_norm,
                                lw.k_norm,
                                lw.post_attn_norm,
                                lw.ffn_norm,
                                lw.gate,
                                lw.up,
                                lw.down,
                                lw.post_ffw_norm,
                                lw.pre_ffw_norm_2,
                                lw.post_ffw_norm_1,
                                lw.post_ffw_norm_2,
                                lw.router,
                                lw.router_scale,
                                lw.expert_scale,
                                lw.ple_gate,
                                lw.ple_proj,
                                lw.ple_post_norm,
                                lw.layer_scale}) {
      add(t);
    }
    add(lw.gate_up_exps, expert_share);
    add(lw.down_exps, expert_share);
  }
  for (const TensorView* t : model.AllTensors()) {
    info.parameter_count += t->elements();
    info.weight_bytes += t->nbytes;
    info.tensor_types[kernels::DTypeName(t->dtype)]++;
  }
  return info;
}

StatusOr<ModelInfo> InspectModel(const std::string& model_path) {
  FACET_ASSIGN_OR_RETURN(std::unique_ptr<gemma4::Model> model,
                         gemma4::Model::Load(model_path));
  return MakeModelInfo(*model);
}

}  // namespace facet
