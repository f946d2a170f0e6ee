#include "models/gemma4/config.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "src/io/gguf.h"
#include "src/util/json_brief.h"
#include "src/util/status_macros.h"

namespace facet::gemma4 {
namespace {

using json = nlohmann::json;

std::string LayerPrefix(int l) { return "layer " + std::to_string(l) + ": "; }

// Reads an optional integer field; null counts as missing.
Status JsonInt(const json& obj, const char* key, bool required, int64_t* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required)
      return InvalidArgument(std::string("config.json: '") + key +
                             "' is missing");
    return OkStatus();
  }
  if (!it->is_number_integer()) {
    return InvalidArgument(std::string("config.json: '") + key +
                           "' must be an integer, got " + BriefJson(*it));
  }
  *out = it->get<int64_t>();
  return OkStatus();
}

Status JsonInt32(const json& obj, const char* key, bool required, int* out) {
  int64_t v = *out;
  FACET_RETURN_IF_ERROR(JsonInt(obj, key, required, &v));
  if (v < INT32_MIN || v > INT32_MAX) {
    return InvalidArgument(std::string("config.json: '") + key +
                           "' is out of range");
  }
  *out = static_cast<int>(v);
  return OkStatus();
}

Status JsonFloat(const json& obj, const char* key, float* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return OkStatus();
  if (!it->is_number()) {
    return InvalidArgument(std::string("config.json: '") + key +
                           "' must be a number, got " + BriefJson(*it));
  }
  *out = it->get<float>();
  return OkStatus();
}

Status JsonBool(const json& obj, const char* key, bool* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return OkStatus();
  if (!it->is_boolean()) {
    return InvalidArgument(std::string("config.json: '") + key +
                           "' must be true or false, got " + BriefJson(*it));
  }
  *out = it->get<bool>();
  return OkStatus();
}

}  // namespace

int Gemma4Config::kv_layers() const {
  int n = 0;
  for (int l = 0; l < static_cast<int>(layers.size()); ++l) {
    n += layers[l].owns_kv(l);
  }
  return n;
}

Status BuildLayers(Gemma4Config* c, const std::vector<bool>& sliding,
                   const std::vector<int>& ffn_dims) {
  if (c->num_layers <= 0 || c->num_layers > 1024) {
    return InvalidArgument("num_hidden_layers must be in 1..1024, got " +
                           std::to_string(c->num_layers));
  }
  if (static_cast<int>(sliding.size()) != c->num_layers) {
    return InvalidArgument("layer_types has " + std::to_string(sliding.size()) +
                           " entries but num_hidden_layers is " +
                           std::to_string(c->num_layers));
  }
  if (static_cast<int>(ffn_dims.size()) != c->num_layers) {
    return InvalidArgument(
        "per-layer FFN widths: " + std::to_string(ffn_dims.size()) +
        " entries for " + std::to_string(c->num_layers) + " layers");
  }
  if (c->num_kv_shared_layers < 0 || c->num_kv_shared_layers >= c->num_layers) {
    return InvalidArgument("num_kv_shared_layers must be in 0.." +
                           std::to_string(c->num_layers - 1) + ", got " +
                           std::to_string(c->num_kv_shared_layers));
  }
  const int first_shared = c->first_shared_layer();
  c->layers.assign(c->num_layers, LayerConfig());
  for (int l = 0; l < c->num_layers; ++l) {
    LayerConfig& lc = c->layers[l];
    const bool full = !sliding[l];
    lc.kind = full ? AttentionKind::kFull : AttentionKind::kSliding;
    lc.head_dim = full ? c->head_dim_global : c->head_dim_local;
    lc.n_kv_heads = full ? c->kv_heads_global : c->kv_heads_local;
    lc.k_eq_v = full && c->attention_k_eq_v;
    lc.ffn_dim = ffn_dims[l];
    lc.rope_theta = full ? c->rope_theta_global : c->rope_theta_local;
    lc.rope_pairs =
        full ? static_cast<int>(c->partial_rotary_global * lc.head_dim / 2.0f +
                                1e-4f)
             : lc.head_dim / 2;
    lc.kv_source = l;
    if (l >= first_shared) {
      // Shared layers read the last KV-owning layer of their own kind.
      lc.kv_source = -1;
      for (int s = first_shared - 1; s >= 0; --s) {
        if (sliding[s] == sliding[l]) {
          lc.kv_source = s;
          break;
        }
      }
      if (lc.kv_source < 0) {
        return InvalidArgument(LayerPrefix(l) +
                               "KV-shared layer has no earlier layer of its "
                               "attention type to read K/V from");
      }
    }
  }
  return OkStatus();
}

Status Gemma4Config::Validate() const {
  auto bad = [](const std::string& m) { return InvalidArgument(m); };
  if (vocab_size <= 0) return bad("vocab_size must be positive");
  if (hidden_size <= 0) return bad("hidden_size must be positive");
  if (num_heads <= 0) return bad("num_attention_heads must be positive");
  if (num_layers <= 0 || num_layers > 1024) {
    return bad("num_hidden_layers must be in 1..1024");
  }
  if (static_cast<int>(layers.size()) != num_layers) {
    return bad("per-layer plan has " + std::to_string(layers.size()) +
               " layers, expected " + std::to_string(num_layers));
  }
  if (!(rms_eps > 0 && std::isfinite(rms_eps))) {
    return bad("rms_norm_eps must be positive");
  }
  if (!(final_logit_softcap >= 0 && std::isfinite(final_logit_softcap))) {
    return bad("final_logit_softcapping must be >= 0");
  }
  if (ple_dim < 0) return bad("hidden_size_per_layer_input must be >= 0");
  if (max_position_embeddings <= 0) {
    return bad("max_position_embeddings must be positive");
  }
  if (is_moe()) {
    if (top_k_experts <= 0 || top_k_experts > num_experts) {
      return bad("top_k_experts must be in 1..num_experts (" +
                 std::to_string(num_experts) + "), got " +
                 std::to_string(top_k_experts));
    }
    if (moe_ffn_dim <= 0) return bad("moe_intermediate_size must be positive");
  } else if (num_experts < 0) {
    return bad("num_experts must be >= 0");
  }
  for (int id : {bos_id, eos_id, pad_id}) {
    if (id < 0 || id >= vocab_size) {
      return bad("special token id " + std::to_string(id) +
                 " is outside the vocabulary");
    }
  }
  bool any_sliding = false;
  for (int l = 0; l < num_layers; ++l) {
    const LayerConfig& lc = layers[l];
    const std::string p = LayerPrefix(l);
    if (lc.head_dim <= 0 || lc.head_dim % 2 != 0) {
      return bad(p + "head_dim must be positive and even, got " +
                 std::to_string(lc.head_dim));
    }
    if (lc.n_kv_heads <= 0 || num_heads % lc.n_kv_heads != 0) {
      return bad(p + "num_attention_heads (" + std::to_string(num_heads) +
                 ") must be a multiple of the KV head count (" +
                 std::to_string(lc.n_kv_heads) + ")");
    }
    if (lc.ffn_dim <= 0) {
      return bad(p + "intermediate_size must be positive");
    }
    if (lc.rope_pairs < 0 || lc.rope_pairs > lc.head_dim / 2) {
      return bad(p + "rotated RoPE pairs " + std::to_string(lc.rope_pairs) +
                 " exceed head_dim/2");
    }
    if (!(lc.rope_theta > 0)) return bad(p + "rope_theta must be positive");
    if (lc.kv_source < 0 || lc.kv_source > l) {
      return bad(p + "KV source layer " + std::to_string(lc.kv_source) +
                 " is not an earlier layer");
    }
    const LayerConfig& src = layers[lc.kv_source];
    if (lc.kv_source != l) {
      if (!src.owns_kv(lc.kv_source)) {
        return bad(p + "KV source layer " + std::to_string(lc.kv_source) +
                   " does not own a KV cache");
      }
      if (src.kind != lc.kind || src.head_dim != lc.head_dim ||
          src.n_kv_heads != lc.n_kv_heads) {
        return bad(p + "KV source layer " + std::to_string(lc.kv_source) +
                   " has a different attention type or KV shape");
      }
    }
    any_sliding |= lc.kind == AttentionKind::kSliding;
  }
  if (any_sliding && sliding_window <= 0) {
    return bad("sliding_window must be positive when sliding layers exist");
  }
  return OkStatus();
}

Gemma4Config MakePreset(Preset p) {
  Gemma4Config c;
  c.vocab_size = 262144;
  c.head_dim_local = 256;
  c.head_dim_global = 512;
  int period = 6;
  int ffn = 0;
  int ffn_shared = 0;
  switch (p) {
    case Preset::kE2B:
      c.name = "e2b";
      c.hidden_size = 1536, c.num_layers = 35, c.num_heads = 8;
      c.kv_heads_local = c.kv_heads_global = 1;
      c.sliding_window = 512, c.ple_dim = 256, c.num_kv_shared_layers = 20;
      period = 5, ffn = 6144, ffn_shared = 12288;  // double-wide MLP
      break;
    case Preset::kE4B:
      c.name = "e4b";
      c.hidden_size = 2560, c.num_layers = 42, c.num_heads = 8;
      c.kv_heads_local = c.kv_heads_global = 2;
      c.sliding_window = 512, c.ple_dim = 256, c.num_kv_shared_layers = 18;
      ffn = ffn_shared = 10240;
      break;
    case Preset::k26BA4B:
      c.name = "26b-a4b";
      c.hidden_size = 2816, c.num_layers = 30, c.num_heads = 16;
      c.kv_heads_local = 8, c.kv_heads_global = 2;
      c.sliding_window = 1024, c.attention_k_eq_v = true;
      c.bidirectional_vision = true;
      c.num_experts = 128, c.top_k_experts = 8, c.moe_ffn_dim = 704;
      c.max_position_embeddings = 262144;
      ffn = ffn_shared = 2112;
      break;
    case Preset::k31B:
      c.name = "31b";
      c.hidden_size = 5376, c.num_layers = 60, c.num_heads = 32;
      c.kv_heads_local = 16, c.kv_heads_global = 4;
      c.sliding_window = 1024, c.attention_k_eq_v = true;
      c.bidirectional_vision = true;
      c.max_position_embeddings = 262144;
      ffn = ffn_shared = 21504;
      break;
    case Preset::k12B:
      c.name = "12b";
      c.hidden_size = 3840, c.num_layers = 48, c.num_heads = 16;
      c.kv_heads_local = 8, c.kv_heads_global = 1;
      c.sliding_window = 1024, c.attention_k_eq_v = true;
      c.bidirectional_vision = true;
      c.max_position_embeddings = 262144;
      ffn = ffn_shared = 15360;
      break;
  }
  std::vector<bool> sliding(c.num_layers);
  std::vector<int> ffn_dims(c.num_layers);
  for (int l = 0; l < c.num_layers; ++l) {
    sliding[l] = (l % period) != period - 1 && l != c.num_layers - 1;
    ffn_dims[l] = l >= c.first_shared_layer() ? ffn_shared : ffn;
  }
  Status s = BuildLayers(&c, sliding, ffn_dims);
  (void)s;  // Presets are static data covered by tests.
  return c;
}

StatusOr<Gemma4Config> PresetByName(const std::string& name) {
  if (name == "e2b") return MakePreset(Preset::kE2B);
  if (name == "e4b") return MakePreset(Preset::kE4B);
  if (name == "26b-a4b") return MakePreset(Preset::k26BA4B);
  if (name == "31b") return MakePreset(Preset::k31B);
  if (name == "12b") return MakePreset(Preset::k12B);
  return InvalidArgument("unknown preset '" + name +
                         "' (known: e2b, e4b, 26b-a4b, 31b, 12b)");
}

StatusOr<Gemma4Config> ConfigFromHfJson(const std::string& json_text) {
  json root = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded())
    return InvalidArgument("config.json is not valid JSON");
  if (!root.is_object()) {
    return InvalidArgument("config.json must hold a JSON object");
  }
  const json* tc = &root;
  auto it = root.find("text_config");
  if (it != root.end() && !it->is_null()) {
    if (!it->is_object()) {
      return InvalidArgument("config.json: 'text_config' must be an object");
    }
    tc = &*it;
  }
  auto read_type = [](const json& o) -> std::string {
    auto i = o.find("model_type");
    return (i != o.end() && i->is_string()) ? i->get<std::string>() : "";
  };
  std::string model_type = read_type(*tc);
  if (model_type.empty()) model_type = read_type(root);
  if (model_type != "gemma4_text" && model_type != "gemma4" &&
      model_type != "gemma4_unified_text") {
    return Unimplemented("unsupported model_type '" + model_type +
                         "' (facet runs Gemma 4: gemma4 / gemma4_text)");
  }
  const json& t = *tc;
  Gemma4Config c;
  FACET_RETURN_IF_ERROR(JsonInt(t, "vocab_size", true, &c.vocab_size));
  FACET_RETURN_IF_ERROR(JsonInt32(t, "hidden_size", true, &c.hidden_size));
  FACET_RETURN_IF_ERROR(JsonInt32(t, "num_hidden_layers", true, &c.num_layers));
  FACET_RETURN_IF_ERROR(
      JsonInt32(t, "num_attention_heads", true, &c.num_heads));
  FACET_RETURN_IF_ERROR(JsonInt32(t, "head_dim", true, &c.head_dim_local));
  c.head_dim_global = c.head_dim_local;
  FACET_RETURN_IF_ERROR(
      JsonInt32(t, "global_head_dim", false, &c.head_dim_global));
  FACET_RETURN_IF_ERROR(
      JsonInt32(t, "num_key_value_heads", true, &c.kv_heads_local));
  c.kv_heads_global = c.kv_heads_local;
  FACET_RETURN_IF_ERROR(
      JsonInt32(t, "num_global_key_value_heads", false, &c.kv_heads_global));
  FACET_RETURN_IF_ERROR(
      JsonInt32(t, "sliding_window", false, &c.sliding_window));
  FACET_RETURN_IF_ERROR(
      JsonInt32(t, "hidden_size_per_layer_input", false, &c.ple_dim));
  FACET_RETURN_IF_ERROR(
      JsonInt32(t, "num_kv_shared_layers", false, &c.num_kv_shared_layers));
  FACET_RETURN_IF_ERROR(JsonBool(t, "attention_k_eq_v", &c.attention_k_eq_v));
  {
    // null (E2B/E4B: causal) or "vision" (26B/31B).
    auto b = t.find("use_bidirectional_attention");
    if (b != t.end() && !b->is_null()) {
      if (!b->is_string() || *b != "vision") {
        return InvalidArgument(
            "config.json: use_bidirectional_attention must be null or "
            "\"vision\"");
      }
      c.bidirectional_vision = true;
    }
  }
  FACET_RETURN_IF_ERROR(JsonFloat(t, "rms_norm_eps", &c.rms_eps));
  FACET_RETURN_IF_ERROR(
      JsonFloat(t, "final_logit_softcapping", &c.final_logit_softcap));
  FACET_RETURN_IF_ERROR(
      JsonInt(t, "max_position_embeddings", false, &c.max_position_embeddings));
  FACET_RETURN_IF_ERROR(JsonInt32(t, "bos_token_id", false, &c.bos_id));
  FACET_RETURN_IF_ERROR(JsonInt32(t, "pad_token_id", false, &c.pad_id));
  {
    auto e = t.find("eos_token_id");
    if (e != t.end() && e->is_number_integer()) c.eos_id = e->get<int>();
  }
  bool moe = false;
  FACET_RETURN_IF_ERROR(JsonBool(t, "enable_moe_block", &moe));
  if (moe) {
    FACET_RETURN_IF_ERROR(JsonInt32(t, "num_experts", true, &c.num_experts));
    FACET_RETURN_IF_ERROR(
        JsonInt32(t, "top_k_experts", true, &c.top_k_experts));
    FACET_RETURN_IF_ERROR(
        JsonInt32(t, "moe_intermediate_size", true, &c.moe_ffn_dim));
  }
  auto hact = t.find("hidden_activation");
  if (hact != t.end() && hact->is_string() &&
      hact->get<std::string>() != "gelu_pytorch_tanh") {
    return Unimplemented("hidden_activation '" + hact->get<std::string>() +
                         "' (Gemma 4 uses gelu_pytorch_tanh)");
  }
  // RoPE parameters per attention type.
  auto rp = t.find("rope_parameters");
  if (rp != t.end() && rp->is_object()) {
    auto full = rp->find("full_attention");
    if (full != rp->end() && full->is_object()) {
      FACET_RETURN_IF_ERROR(
          JsonFloat(*full, "rope_theta", &c.rope_theta_global));
      c.partial_rotary_global = 1.0f;
      FACET_RETURN_IF_ERROR(
          JsonFloat(*full, "partial_rotary_factor", &c.partial_rotary_global));
      auto type = full->find("rope_type");
      if (type != full->end() && type->is_string()) {
        std::string rt = type->get<std::string>();
        if (rt != "proportional" && rt != "default") {
          return Unimplemented("rope_type '" + rt + "' for full attention");
        }
      }
    }
    auto sl = rp->find("sliding_attention");
    if (sl != rp->end() && sl->is_object()) {
      FACET_RETURN_IF_ERROR(JsonFloat(*sl, "rope_theta", &c.rope_theta_local));
    }
  }
  if (!(c.partial_rotary_global > 0 && c.partial_rotary_global <= 1)) {
    return InvalidArgument("partial_rotary_factor must be in (0, 1]");
  }
  if (c.num_layers <= 0 || c.num_layers > 1024) {
    return InvalidArgument("num_hidden_layers must be in 1..1024, got " +
                           std::to_string(c.num_layers));
  }
  // layer_types is read explicitly, not recomputed from a pattern.
  auto lt = t.find("layer_types");
  if (lt == t.end() || !lt->is_array()) {
    return InvalidArgument("config.json: 'layer_types' must be an array");
  }
  std::vector<bool> sliding;
  for (const json& v : *lt) {
    if (!v.is_string()) {
      return InvalidArgument(
          "config.json: layer_types entries must be strings");
    }
    std::string s = v.get<std::string>();
    if (s == "sliding_attention") {
      sliding.push_back(true);
    } else if (s == "full_attention") {
      sliding.push_back(false);
    } else {
      return InvalidArgument("config.json: unknown layer type '" + s + "'");
    }
  }
  int ffn = 0;
  FACET_RETURN_IF_ERROR(JsonInt32(t, "intermediate_size", true, &ffn));
  if (ffn <= 0 || ffn > (1 << 28)) {
    return InvalidArgument("intermediate_size must be in 1.." +
                           std::to_string(1 << 28) + ", got " +
                           std::to_string(ffn));
  }
  bool double_wide = false;
  FACET_RETURN_IF_ERROR(JsonBool(t, "use_double_wide_mlp", &double_wide));
  std::vector<int> ffn_dims(c.num_layers, ffn);
  if (double_wide) {
    for (int l = c.num_layers - c.num_kv_shared_layers; l < c.num_layers; ++l) {
      if (l >= 0) ffn_dims[l] = 2 * ffn;
    }
  }
  FACET_RETURN_IF_ERROR(BuildLayers(&c, sliding, ffn_dims));
  FACET_RETURN_IF_ERROR(c.Validate());
  return c;
}

StatusOr<Gemma4Config> ConfigFromGguf(const GgufFile& g) {
  FACET_ASSIGN_OR_RETURN(std::string arch, g.GetString("general.architecture"));
  if (arch != "gemma4") {
    return Unimplemented("unsupported GGUF architecture '" + arch +
                         "' (facet runs gemma4)");
  }
  const std::string p = "gemma4.";
  Gemma4Config c;
  auto get_int = [&](const std::string& key, int* out) -> Status {
    FACET_ASSIGN_OR_RETURN(int64_t v, g.GetInt(p + key));
    if (v < 0 || v > INT32_MAX) {
      return InvalidArgument("GGUF '" + p + key +
                             "' is out of range: " + std::to_string(v));
    }
    *out = static_cast<int>(v);
    return OkStatus();
  };
  auto opt_int = [&](const std::string& key, int* out) -> Status {
    if (g.Find(p + key) == nullptr) return OkStatus();
    return get_int(key, out);
  };
  auto opt_float = [&](const std::string& key, float* out) -> Status {
    if (g.Find(p + key) == nullptr) return OkStatus();
    FACET_ASSIGN_OR_RETURN(double v, g.GetFloat(p + key));
    *out = static_cast<float>(v);
    return OkStatus();
  };
  FACET_RETURN_IF_ERROR(get_int("block_count", &c.num_layers));
  FACET_RETURN_IF_ERROR(get_int("embedding_length", &c.hidden_size));
  FACET_RETURN_IF_ERROR(get_int("attention.head_count", &c.num_heads));
  FACET_RETURN_IF_ERROR(get_int("attention.key_length", &c.head_dim_global));
  c.head_dim_local = c.head_dim_global;
  FACET_RETURN_IF_ERROR(opt_int("attention.key_length_swa", &c.head_dim_local));
  FACET_RETURN_IF_ERROR(opt_int("attention.sliding_window", &c.sliding_window));
  FACET_RETURN_IF_ERROR(
      opt_int("attention.shared_kv_layers", &c.num_kv_shared_layers));
  FACET_RETURN_IF_ERROR(
      opt_int("embedding_length_per_layer_input", &c.ple_dim));
  // llama.cpp's GGUF has no key for the mask policy: the family decides
  // (E2B/E4B, the sizes with per-layer inputs, are causal).
  c.bidirectional_vision = c.ple_dim == 0;
  FACET_RETURN_IF_ERROR(opt_int("expert_count", &c.num_experts));
  FACET_RETURN_IF_ERROR(opt_int("expert_used_count", &c.top_k_experts));
  FACET_RETURN_IF_ERROR(opt_int("expert_feed_forward_length", &c.moe_ffn_dim));
  FACET_RETURN_IF_ERROR(
      opt_float("attention.layer_norm_rms_epsilon", &c.rms_eps));
  FACET_RETURN_IF_ERROR(
      opt_float("final_logit_softcapping", &c.final_logit_softcap));
  FACET_RETURN_IF_ERROR(opt_float("rope.freq_base", &c.rope_theta_global));
  FACET_RETURN_IF_ERROR(opt_float("rope.freq_base_swa", &c.rope_theta_local));
  int ctx = 0;
  FACET_RETURN_IF_ERROR(opt_int("context_length", &ctx));
  if (ctx > 0) c.max_position_embeddings = ctx;
  if (c.num_layers <= 0 || c.num_layers > 1024) {
    return InvalidArgument("gemma4.block_count must be in 1..1024, got " +
                           std::to_string(c.num_layers));
  }
  const size_t n = static_cast<size_t>(c.num_layers);

  std::vector<bool> sliding(n, false);
  if (const GgufValue* v = g.Find(p + "attention.sliding_window_pattern")) {
    if (v->type != GgufType::kArray || v->nums.size() != n) {
      return InvalidArgument(
          "gemma4.attention.sliding_window_pattern must be an array with one "
          "entry per layer (" +
          std::to_string(n) + ")");
    }
    for (size_t l = 0; l < n; ++l) sliding[l] = v->nums[l] != 0;
  } else {
    return NotFound(
        "GGUF metadata key 'gemma4.attention.sliding_window_pattern' "
        "missing");
  }
  FACET_ASSIGN_OR_RETURN(std::vector<int64_t> kv,
                         g.GetIntPerLayer(p + "attention.head_count_kv", n));
  for (int64_t k : kv) {
    if (k <= 0 || k > 4096) {
      return InvalidArgument(
          "gemma4.attention.head_count_kv is out of range: " +
          std::to_string(k));
    }
  }
  c.kv_heads_local = c.kv_heads_global = static_cast<int>(kv[0]);
  for (size_t l = 0; l < n; ++l) {
    (sliding[l] ? c.kv_heads_local : c.kv_heads_global) =
        static_cast<int>(kv[l]);
  }
  for (size_t l = 0; l < n; ++l) {
    int want = sliding[l] ? c.kv_heads_local : c.kv_heads_global;
    if (kv[l] != want) {
      return InvalidArgument(
          "gemma4.attention.head_count_kv differs between "
          "layers of the same attention type");
    }
  }
  FACET_ASSIGN_OR_RETURN(std::vector<int64_t> ff,
                         g.GetIntPerLayer(p + "feed_forward_length", n));
  std::vector<int> ffn_dims(n);
  for (size_t l = 0; l < n; ++l) {
    if (ff[l] <= 0 || ff[l] > INT32_MAX) {
      return InvalidArgument("gemma4.feed_forward_length must be positive");
    }
    ffn_dims[l] = static_cast<int>(ff[l]);
  }
  const TensorView* emb = g.FindTensor("token_embd.weight");
  if (emb == nullptr) return NotFound("tensor 'token_embd.weight' missing");
  c.vocab_size = emb->dim(1);
  for (auto [key, out] :
       {std::pair<const char*, int*>{"tokenizer.ggml.bos_token_id", &c.bos_id},
        {"tokenizer.ggml.eos_token_id", &c.eos_id},
        {"tokenizer.ggml.padding_token_id", &c.pad_id}}) {
    if (g.Find(key) == nullptr) continue;
    FACET_ASSIGN_OR_RETURN(int64_t id, g.GetInt(key));
    if (id < 0 || id >= c.vocab_size) {
      return InvalidArgument(std::string(key) + " " + std::to_string(id) +
                             " is out of range (vocabulary of " +
                             std::to_string(c.vocab_size) + ")");
    }
    *out = static_cast<int>(id);
  }
  // Proportional RoPE is stored as llama.cpp's rope_freqs factors: 1.0 for
  // rotated pairs, a huge divisor (no rotation) for the rest.
  if (const TensorView* rf = g.FindTensor("rope_freqs.weight")) {
    if (rf->dtype != kernels::DType::kF32 ||
        rf->elements() != c.head_dim_global / 2) {
      return InvalidArgument("rope_freqs.weight must be F32 with head_dim/2 (" +
                             std::to_string(c.head_dim_global / 2) +
                             ") entries, got " + ShapeString(rf->shape));
    }
    const float* f = reinterpret_cast<const float*>(rf->data);
    int pairs = 0;
    while (pairs < rf->elements() && f[pairs] == 1.0f) ++pairs;
    for (int64_t k = pairs; k < rf->elements(); ++k) {
      if (!(f[k] > 1e6f)) {
        return Unimplemented(
            "rope_freqs.weight holds general frequency "
            "factors; only proportional RoPE is supported");
      }
    }
    c.partial_rotary_global =
        static_cast<float>(2 * pairs) / static_cast<float>(c.head_dim_global);
  }
  // K=V layers have no attn_v on full-attention layers.
  for (size_t l = 0; l < n; ++l) {
    if (!sliding[l] && static_cast<int>(l) < c.first_shared_layer()) {
      c.attention_k_eq_v = g.FindTensor("blk." + std::to_string(l) +
                                        ".attn_v.weight") == nullptr;
      break;
    }
  }
  FACET_RETURN_IF_ERROR(BuildLayers(&c, sliding, ffn_dims));
  FACET_RETURN_IF_ERROR(c.Validate());
  return c;
}

}  // namespace facet::gemma4
