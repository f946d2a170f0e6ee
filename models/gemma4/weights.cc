#include "models/gemma4/weights.h"

#include <cstring>
#include <utility>

#include "kernels/dtype.h"
#include "src/util/status_macros.h"

namespace facet::gemma4 {
namespace {

// GGUF suffix -> Hugging Face suffix, for tensors inside a layer.
constexpr std::pair<const char*, const char*> kLayerNames[] = {
    {"attn_norm.weight", "input_layernorm.weight"},
    {"attn_q.weight", "self_attn.q_proj.weight"},
    {"attn_k.weight", "self_attn.k_proj.weight"},
    {"attn_v.weight", "self_attn.v_proj.weight"},
    {"attn_output.weight", "self_attn.o_proj.weight"},
    {"attn_q_norm.weight", "self_attn.q_norm.weight"},
    {"attn_k_norm.weight", "self_attn.k_norm.weight"},
    {"post_attention_norm.weight", "post_attention_layernorm.weight"},
    {"ffn_norm.weight", "pre_feedforward_layernorm.weight"},
    {"ffn_gate.weight", "mlp.gate_proj.weight"},
    {"ffn_up.weight", "mlp.up_proj.weight"},
    {"ffn_down.weight", "mlp.down_proj.weight"},
    {"post_ffw_norm.weight", "post_feedforward_layernorm.weight"},
    {"pre_ffw_norm_2.weight", "pre_feedforward_layernorm_2.weight"},
    {"post_ffw_norm_1.weight", "post_feedforward_layernorm_1.weight"},
    {"post_ffw_norm_2.weight", "post_feedforward_layernorm_2.weight"},
    {"ffn_gate_inp.weight", "router.proj.weight"},
    {"ffn_gate_inp.scale", "router.scale"},
    {"ffn_gate_up_exps.weight", "experts.gate_up_proj"},
    {"ffn_down_exps.weight", "experts.down_proj"},
    {"ffn_down_exps.scale", "router.per_expert_scale"},
    {"inp_gate.weight", "per_layer_input_gate.weight"},
    {"proj.weight", "per_layer_projection.weight"},
    {"post_norm.weight", "post_per_layer_input_norm.weight"},
    {"layer_output_scale.weight", "layer_scalar"},
};

constexpr std::pair<const char*, const char*> kGlobalNames[] = {
    {"token_embd.weight", "embed_tokens.weight"},
    {"output_norm.weight", "norm.weight"},
    {"per_layer_token_embd.weight", "embed_tokens_per_layer.weight"},
    {"per_layer_model_proj.weight", "per_layer_model_projection.weight"},
    {"per_layer_proj_norm.weight", "per_layer_projection_norm.weight"},
};

std::string Blk(int l, const char* suffix) {
  return "blk." + std::to_string(l) + "." + suffix;
}

}  // namespace

std::string HfNameFor(const std::string& gguf_name) {
  for (const auto& p : kGlobalNames) {
    if (gguf_name == p.first) return p.second;
  }
  if (gguf_name.rfind("blk.", 0) == 0) {
    size_t dot = gguf_name.find('.', 4);
    if (dot != std::string::npos) {
      std::string layer = gguf_name.substr(4, dot - 4);
      std::string suffix = gguf_name.substr(dot + 1);
      for (const auto& p : kLayerNames) {
        if (suffix == p.first) return "layers." + layer + "." + p.second;
      }
    }
  }
  return "";
}

std::vector<TensorSpec> ExpectedTensors(const Gemma4Config& c) {
  const int64_t H = c.hidden_size, V = c.vocab_size, L = c.num_layers;
  const int64_t P = c.ple_dim;
  std::vector<TensorSpec> out;
  out.push_back({"token_embd.weight", {H, V}});
  out.push_back({"output_norm.weight", {H}});
  if (P > 0) {
    out.push_back({"per_layer_token_embd.weight", {L * P, V}});
    out.push_back({"per_layer_model_proj.weight", {H, L * P}});
    out.push_back({"per_layer_proj_norm.weight", {P}});
  }
  for (int l = 0; l < L; ++l) {
    const LayerConfig& lc = c.layers[l];
    const int64_t d = lc.head_dim, q_dim = c.num_heads * d;
    const int64_t kv_dim = lc.n_kv_heads * d;
    const bool owns = lc.owns_kv(l);
    auto add = [&](const char* s, std::vector<int64_t> shape,
                   bool required = true) {
      out.push_back({Blk(l, s), std::move(shape), required});
    };
    add("attn_norm.weight", {H});
    add("attn_q.weight", {H, q_dim});
    add("attn_k.weight", {H, kv_dim}, owns);
    if (!lc.k_eq_v) add("attn_v.weight", {H, kv_dim}, owns);
    add("attn_output.weight", {q_dim, H});
    add("attn_q_norm.weight", {d});
    add("attn_k_norm.weight", {d}, owns);
    add("post_attention_norm.weight", {H});
    add("ffn_norm.weight", {H});
    add("ffn_gate.weight", {H, lc.ffn_dim});
    add("ffn_up.weight", {H, lc.ffn_dim});
    add("ffn_down.weight", {lc.ffn_dim, H});
    add("post_ffw_norm.weight", {H});
    if (c.is_moe()) {
      const int64_t X = c.num_experts, Fe = c.moe_ffn_dim;
      add("pre_ffw_norm_2.weight", {H});
      add("post_ffw_norm_1.weight", {H});
      add("post_ffw_norm_2.weight", {H});
      add("ffn_gate_inp.weight", {H, X});
      add("ffn_gate_inp.scale", {H});
      add("ffn_gate_up_exps.weight", {H, 2 * Fe, X});
      add("ffn_down_exps.weight", {Fe, H, X});
      add("ffn_down_exps.scale", {X});
    }
    if (P > 0) {
      add("inp_gate.weight", {H, P});
      add("proj.weight", {P, H});
      add("post_norm.weight", {H});
    }
    add("layer_output_scale.weight", {1});
  }
  return out;
}

StatusOr<Weights> BindWeights(const Gemma4Config& c,
                              const TensorLookup& lookup) {
  Weights w;
  w.layers.resize(c.num_layers);
  for (const TensorSpec& spec : ExpectedTensors(c)) {
    const TensorView* t = lookup(spec.name);
    if (t == nullptr) {
      if (!spec.required) continue;
      std::string hf = HfNameFor(spec.name);
      return NotFound("tensor '" + spec.name + "'" +
                      (hf.empty() ? "" : " (Hugging Face: '" + hf + "')") +
                      " is missing from the model file");
    }
    // 1-D shapes may come as {n} or {n, 1}; compare element layout.
    std::vector<int64_t> got = t->shape;
    while (got.size() > spec.shape.size() && got.back() == 1) got.pop_back();
    if (got != spec.shape) {
      return InvalidArgument(
          "tensor '" + spec.name + "' has shape " + ShapeString(t->shape) +
          ", expected " + ShapeString(spec.shape) + " for this configuration");
    }
    // Index tensors (safetensors I32 / I64) and types facet cannot compute
    // with must stop here: the kernels have no row functions for them.
    const kernels::DTypeInfo* info = kernels::GetDTypeInfo(t->dtype);
    if (info == nullptr || !info->supported) {
      return Unimplemented("tensor '" + spec.name + "' has type " +
                           kernels::DTypeName(t->dtype) +
                           ", which facet cannot compute with");
    }
    const bool is_vector = spec.shape.size() == 1;
    if (is_vector && t->dtype != kernels::DType::kF32 &&
        t->dtype != kernels::DType::kF16 && t->dtype != kernels::DType::kBF16) {
      return Unimplemented("tensor '" + spec.name + "' has type " +
                           kernels::DTypeName(t->dtype) +
                           "; 1-D tensors must be f32, f16 or bf16");
    }
    if (!spec.required) continue;  // dead weights are checked, not bound
    const std::string& n = spec.name;
    if (n == "token_embd.weight") {
      w.token_embd = t;
    } else if (n == "output_norm.weight") {
      w.output_norm = t;
    } else if (n == "per_layer_token_embd.weight") {
      w.ple_token_embd = t;
    } else if (n == "per_layer_model_proj.weight") {
      w.ple_model_proj = t;
    } else if (n == "per_layer_proj_norm.weight") {
      w.ple_proj_norm = t;
    } else {
      size_t dot = n.find('.', 4);
      int l = std::stoi(n.substr(4, dot - 4));
      std::string s = n.substr(dot + 1);
      LayerWeights& lw = w.layers[l];
      const std::pair<const char*, const TensorView**> slots[] = {
          {"attn_norm.weight", &lw.attn_norm},
          {"attn_q.weight", &lw.q},
          {"attn_k.weight", &lw.k},
          {"attn_v.weight", &lw.v},
          {"attn_output.weight", &lw.o},
          {"attn_q_norm.weight", &lw.q_norm},
          {"attn_k_norm.weight", &lw.k_norm},
          {"post_attention_norm.weight", &lw.post_attn_norm},
          {"ffn_norm.weight", &lw.ffn_norm},
          {"ffn_gate.weight", &lw.gate},
          {"ffn_up.weight", &lw.up},
          {"ffn_down.weight", &lw.down},
          {"post_ffw_norm.weight", &lw.post_ffw_norm},
          {"pre_ffw_norm_2.weight", &lw.pre_ffw_norm_2},
          {"post_ffw_norm_1.weight", &lw.post_ffw_norm_1},
          {"post_ffw_norm_2.weight", &lw.post_ffw_norm_2},
          {"ffn_gate_inp.weight", &lw.router},
          {"ffn_gate_inp.scale", &lw.router_scale},
          {"ffn_gate_up_exps.weight", &lw.gate_up_exps},
          {"ffn_down_exps.weight", &lw.down_exps},
          {"ffn_down_exps.scale", &lw.expert_scale},
          {"inp_gate.weight", &lw.ple_gate},
          {"proj.weight", &lw.ple_proj},
          {"post_norm.weight", &lw.ple_post_norm},
          {"layer_output_scale.weight", &lw.layer_scale},
      };
      for (const auto& slot : slots) {
        if (s == slot.first) *slot.second = t;
      }
    }
  }
  return w;
}

}  // namespace facet::gemma4
