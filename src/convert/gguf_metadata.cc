#include "src/convert/gguf_metadata.h"

#include "src/tokenizer/tokenizer.h"
#include "src/util/status_macros.h"

namespace facet {
namespace {

// llama.cpp's llama_ftype for a file whose matrices are mostly `t`.
uint32_t FileType(kernels::DType t) {
  switch (t) {
    case kernels::DType::kF32:
      return 0;
    case kernels::DType::kF16:
      return 1;
    case kernels::DType::kQ4_0:
      return 2;
    case kernels::DType::kQ4_1:
      return 3;
    case kernels::DType::kQ8_0:
      return 7;
    case kernels::DType::kQ5_0:
      return 8;
    case kernels::DType::kQ5_1:
      return 9;
    case kernels::DType::kQ4_K:
      return 15;
    case kernels::DType::kQ5_K:
      return 17;
    case kernels::DType::kQ6_K:
      return 18;
    case kernels::DType::kBF16:
      return 32;
    default:
      return 0;
  }
}

}  // namespace

void WriteArchitectureMetadata(const gemma4::Gemma4Config& c,
                               const std::string& name,
                               kernels::DType weight_type, GgufWriter* w) {
  const std::string p = "gemma4.";
  const int L = c.num_layers;
  w->AddString("general.architecture", "gemma4");
  w->AddString("general.name", name);
  w->AddString("general.type", "model");
  w->AddUint32("general.quantization_version", 2);
  w->AddUint32("general.file_type", FileType(weight_type));
  w->AddUint32(p + "block_count", L);
  w->AddUint32(p + "context_length",
               static_cast<uint32_t>(c.max_position_embeddings));
  w->AddUint32(p + "embedding_length", c.hidden_size);
  std::vector<int32_t> ffn(L), kv(L);
  std::vector<bool> swa(L);
  bool ffn_varies = false, kv_varies = false;
  for (int l = 0; l < L; ++l) {
    ffn[l] = c.layers[l].ffn_dim;
    kv[l] = c.layers[l].n_kv_heads;
    swa[l] = c.layers[l].kind == gemma4::AttentionKind::kSliding;
    ffn_varies |= ffn[l] != ffn[0];
    kv_varies |= kv[l] != kv[0];
  }
  // Scalars where every layer agrees, per-layer arrays otherwise.
  if (ffn_varies) {
    w->AddInt32Array(p + "feed_forward_length", ffn);
  } else {
    w->AddUint32(p + "feed_forward_length", ffn[0]);
  }
  w->AddUint32(p + "attention.head_count", c.num_heads);
  if (kv_varies) {
    w->AddInt32Array(p + "attention.head_count_kv", kv);
  } else {
    w->AddUint32(p + "attention.head_count_kv", kv[0]);
  }
  w->AddFloat32(p + "attention.layer_norm_rms_epsilon", c.rms_eps);
  w->AddUint32(p + "attention.key_length", c.head_dim_global);
  w->AddUint32(p + "attention.value_length", c.head_dim_global);
  w->AddUint32(p + "attention.key_length_swa", c.head_dim_local);
  w->AddUint32(p + "attention.value_length_swa", c.head_dim_local);
  w->AddFloat32(p + "rope.freq_base", c.rope_theta_global);
  w->AddFloat32(p + "rope.freq_base_swa", c.rope_theta_local);
  w->AddUint32(p + "rope.dimension_count", c.head_dim_global);
  w->AddUint32(p + "rope.dimension_count_swa", c.head_dim_local);
  w->AddUint32(p + "attention.sliding_window", c.sliding_window);
  w->AddBoolArray(p + "attention.sliding_window_pattern", swa);
  w->AddUint32(p + "attention.shared_kv_layers", c.num_kv_shared_layers);
  w->AddUint32(p + "embedding_length_per_layer_input", c.ple_dim);
  w->AddFloat32(p + "final_logit_softcapping", c.final_logit_softcap);
  if (c.is_moe()) {
    w->AddUint32(p + "expert_count", c.num_experts);
    w->AddUint32(p + "expert_used_count", c.top_k_experts);
    w->AddUint32(p + "expert_feed_forward_length", c.moe_ffn_dim);
  }
}

Status WriteTokenizerMetadata(const gemma4::Model& model, GgufWriter* w) {
  StatusOr<std::unique_ptr<Tokenizer>> found =
      Tokenizer::ForModelPath(model.path());
  // A folder without tokenizer files converts to a GGUF without one (it
  // still runs from token ids); a broken tokenizer is an error.
  if (!found.ok() && found.status().code() == StatusCode::kNotFound) {
    return OkStatus();
  }
  if (!found.ok()) return found.status();
  std::unique_ptr<Tokenizer> tok = std::move(found).value();
  const int n = tok->vocab_size();
  if (n != model.config().vocab_size) {
    return InvalidArgument("the tokenizer has " + std::to_string(n) +
                           " tokens but the model's vocabulary is " +
                           std::to_string(model.config().vocab_size));
  }
  std::vector<std::string> pieces(n);
  std::vector<float> scores(n);
  std::vector<int32_t> types(n);
  for (int i = 0; i < n; ++i) {
    pieces[i] = tok->Piece(i);
    scores[i] = tok->Score(i);
    types[i] = static_cast<int32_t>(tok->Type(i));
  }
  std::vector<std::string> merges = tok->MergeList();
  // "gemma4" is llama.cpp's merge-rank BPE; "llama" its score-based
  // sentencepiece tokenizer.
  w->AddString("tokenizer.ggml.model", merges.empty() ? "llama" : "gemma4");
  w->AddStringArray("tokenizer.ggml.tokens", pieces);
  w->AddFloat32Array("tokenizer.ggml.scores", scores);
  w->AddInt32Array("tokenizer.ggml.token_type", types);
  if (!merges.empty()) w->AddStringArray("tokenizer.ggml.merges", merges);
  auto add_id = [&](const char* key, int id) {
    if (id >= 0) w->AddUint32(key, static_cast<uint32_t>(id));
  };
  add_id("tokenizer.ggml.bos_token_id", tok->bos_id());
  add_id("tokenizer.ggml.eos_token_id", tok->eos_id());
  add_id("tokenizer.ggml.unknown_token_id", tok->unk_id());
  add_id("tokenizer.ggml.padding_token_id", tok->pad_id());
  add_id("tokenizer.ggml.eot_token_id", tok->TokenId("<turn|>"));
  w->AddBool("tokenizer.ggml.add_bos_token", true);
  w->AddBool("tokenizer.ggml.add_eos_token", false);
  w->AddBool("tokenizer.ggml.add_space_prefix", false);
  return OkStatus();
}

Status WriteGemma4Metadata(const gemma4::Model& model,
                           kernels::DType weight_type, GgufWriter* w) {
  std::string name = "gemma4";
  if (model.gguf() != nullptr) {
    if (const GgufValue* v = model.gguf()->Find("general.name")) {
      if (v->type == GgufType::kString) name = v->str;
    }
  } else {
    std::string dir = model.path();
    while (!dir.empty() && dir.back() == '/') dir.pop_back();
    name = dir.substr(dir.rfind('/') + 1);
  }
  WriteArchitectureMetadata(model.config(), name, weight_type, w);
  if (model.gguf() != nullptr) {
    for (const auto& [key, value] : model.gguf()->metadata()) {
      if (key.rfind("tokenizer.", 0) == 0) w->AddValue(key, value);
    }
    return OkStatus();
  }
  return WriteTokenizerMetadata(model, w);
}

}  // namespace facet
