// facet random: random-weight GGUF files at the real Gemma 4 shapes.
#include <cmath>
#include <cstring>
#include <random>

#include "facet/tools.h"
#include "kernels/ref/fp16.h"
#include "kernels/ref/quant.h"
#include "models/gemma4/config.h"
#include "models/gemma4/weights.h"
#include "src/convert/gguf_metadata.h"
#include "src/io/gguf_writer.h"
#include "src/util/status_macros.h"

namespace facet {
namespace {

using kernels::DType;

// Picks each matrix's type the way llama-quantize's default mixtures do.
DType TypeFor(const std::string& mix, const std::string& name, DType base) {
  const bool embed =
      name == "token_embd.weight" || name == "per_layer_token_embd.weight";
  if (mix == "q4_0" || mix == "q8_0") return embed ? DType::kQ6_K : base;
  if (mix == "q4_k_m") {
    if (embed || name.find("attn_v.") != std::string::npos ||
        name.find("ffn_down") != std::string::npos) {
      return DType::kQ6_K;
    }
    return DType::kQ4_K;
  }
  return base;
}

// Valid random blocks straight in the packed format: random quant bits and
// scales set so values have roughly the given standard deviation. Much
// faster than quantizing random floats, which matters for 17 GB files.
void RandomRow(DType t, int64_t cols, float stddev, std::mt19937_64* rng,
               uint8_t* out) {
  const int64_t bytes = kernels::RowBytes(t, cols);
  for (int64_t i = 0; i + 8 <= bytes; i += 8) {
    const uint64_t r = (*rng)();
    std::memcpy(out + i, &r, 8);
  }
  for (int64_t i = bytes / 8 * 8; i < bytes; ++i) out[i] = (*rng)() & 0xff;
  auto put16 = [](uint8_t* p, float v) {
    const uint16_t h = kernels::Fp32ToFp16(v);
    std::memcpy(p, &h, 2);
  };
  switch (t) {
    case DType::kQ4_0:
      for (int64_t b = 0; b < bytes; b += 18) put16(out + b, stddev / 4.6f);
      break;
    case DType::kQ8_0:
      for (int64_t b = 0; b < bytes; b += 34) put16(out + b, stddev / 73.f);
      break;
    case DType::kQ4_K:
      for (int64_t b = 0; b < bytes; b += 144) {
        put16(out + b, stddev / 4.6f / 32.f);
        put16(out + b + 2, stddev / 32.f);
      }
      break;
    case DType::kQ5_K:
      for (int64_t b = 0; b < bytes; b += 176) {
        put16(out + b, stddev / 9.f / 32.f);
        put16(out + b + 2, stddev / 32.f);
      }
      break;
    case DType::kQ6_K:
      for (int64_t b = 0; b < bytes; b += 210)
        put16(out + b + 208, stddev / 1700.f);
      break;
    default: {
      // Float and remaining block types: quantize Gaussian values.
      std::normal_distribution<float> g(0.f, stddev);
      std::vector<float> v(cols);
      for (float& x : v) x = g(*rng);
      kernels::QuantizeRow(t, v.data(), out, cols);
    }
  }
}

}  // namespace

Status WriteRandomModel(const std::string& path,
                        const RandomModelOptions& options) {
  FACET_ASSIGN_OR_RETURN(gemma4::Gemma4Config c,
                         gemma4::PresetByName(options.arch));
  const std::string& mix = options.type;
  DType base;
  if (mix == "q4_k_m") {
    base = DType::kQ4_K;
  } else if (!kernels::ParseDType(mix.c_str(), &base)) {
    return InvalidArgument("unknown type '" + mix +
                           "' (q4_0, q8_0, q4_k_m, f32, f16, bf16, q4_1, "
                           "q5_0, q5_1, q4_k, q5_k, q6_k)");
  }
  GgufWriter w;
  WriteArchitectureMetadata(c, "gemma4-random-" + options.arch, base, &w);
  // A synthetic vocabulary of the real size: special tokens, bytes, then
  // filler pieces; score-based so any GGUF engine can tokenize with it.
  {
    const int V = static_cast<int>(c.vocab_size);
    std::vector<std::string> tokens(V);
    std::vector<float> scores(V, 0.f);
    std::vector<int32_t> types(V, 1);
    const char* specials[] = {"<pad>", "<eos>", "<bos>", "<unk>", "<mask>"};
    for (int i = 0; i < 5; ++i) tokens[i] = specials[i], types[i] = 3;
    types[3] = 2;
    // Byte pieces where Gemma's vocabulary has them (238..493).
    for (int i = 5; i < V; ++i) {
      tokens[i] = "\xe2\x96\x81tok" + std::to_string(i);
      scores[i] = -static_cast<float>(i);
    }
    for (int i = 0; i < 256; ++i) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "<0x%02X>", i);
      tokens[238 + i] = buf;
      types[238 + i] = 6;
      scores[238 + i] = 0;
    }
    tokens[105] = "<|turn>", types[105] = 3;
    tokens[106] = "<turn|>", types[106] = 3;
    w.AddString("tokenizer.ggml.model", "llama");
    w.AddStringArray("tokenizer.ggml.tokens", tokens);
    w.AddFloat32Array("tokenizer.ggml.scores", scores);
    w.AddInt32Array("tokenizer.ggml.token_type", types);
    w.AddUint32("tokenizer.ggml.bos_token_id", 2);
    w.AddUint32("tokenizer.ggml.eos_token_id", 1);
    w.AddUint32("tokenizer.ggml.unknown_token_id", 3);
    w.AddUint32("tokenizer.ggml.padding_token_id", 0);
    w.AddBool("tokenizer.ggml.add_bos_token", true);
    w.AddBool("tokenizer.ggml.add_space_prefix", false);
  }
  {
    const int half = c.head_dim_global / 2;
    std::vector<float> freqs(half, 1e30f);
    for (int j = 0; j < c.layers.back().rope_pairs; ++j) freqs[j] = 1.f;
    FACET_RETURN_IF_ERROR(w.AddTensor("rope_freqs.weight", DType::kF32, {half},
                                      freqs.data(), half * 4));
  }
  std::vector<gemma4::TensorSpec> specs = gemma4::ExpectedTensors(c);
  const int total = static_cast<int>(specs.size());
  int done = 0;
  uint64_t index = 0;
  for (const gemma4::TensorSpec& spec : specs) {
    const bool vec = spec.shape.size() == 1;
    DType t = vec || spec.name.find("ffn_gate_inp") != std::string::npos ||
                      spec.name == "per_layer_model_proj.weight"
                  ? DType::kF32
                  : TypeFor(mix, spec.name, base);
    if (spec.shape[0] % kernels::GetDTypeInfo(t)->block_elems != 0) {
      t = DType::kF16;
    }
    const uint64_t seed = options.seed * 1000003 + index++;
    const std::string name = spec.name;
    const std::vector<int64_t> shape = spec.shape;
    auto produce = [=, &done, &options](std::string* bytes) -> Status {
      std::mt19937_64 rng(seed);
      const int64_t cols = shape[0];
      int64_t rows = 1;
      for (size_t d = 1; d < shape.size(); ++d) rows *= shape[d];
      const int64_t rb = kernels::RowBytes(t, cols);
      bytes->resize(rows * rb);
      if (vec) {
        // Norm weights near 1, scales exactly 1.
        std::uniform_real_distribution<float> u(0.9f, 1.1f);
        std::vector<float> v(cols);
        for (float& x : v)
          x = name.find("scale") != std::string::npos ? 1.f : u(rng);
        std::memcpy(&(*bytes)[0], v.data(), cols * 4);
      } else {
        const float stddev = 1.f / std::sqrt(static_cast<float>(cols));
        for (int64_t r = 0; r < rows; ++r) {
          RandomRow(t, cols, stddev, &rng,
                    reinterpret_cast<uint8_t*>(&(*bytes)[r * rb]));
        }
      }
      if (options.progress) options.progress(++done, total);
      return OkStatus();
    };
    FACET_RETURN_IF_ERROR(w.AddTensorLazy(name, t, shape, produce));
  }
  return w.WriteFile(path);
}

}  // namespace facet
