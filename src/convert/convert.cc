#include <cmath>

#include "facet/tools.h"
#include "kernels/ref/quant.h"
#include "models/gemma4/model.h"
#include "src/convert/gguf_metadata.h"
#include "src/io/gguf_writer.h"
#include "src/util/status_macros.h"

namespace facet {
namespace {

using kernels::DType;

// llama.cpp keeps these F32 in its quantized files.
bool KeepF32(const std::string& name) {
  return name.find("ffn_gate_inp") != std::string::npos ||
         name == "per_layer_model_proj.weight";
}

}  // namespace

Status ConvertToGguf(const std::string& src, const std::string& dst,
                     const ConvertOptions& options) {
  DType type;
  if (!kernels::ParseDType(options.type.c_str(), &type)) {
    return InvalidArgument("unknown weight type '" + options.type +
                           "' (f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, "
                           "q4_k, q5_k, q6_k)");
  }
  FACET_ASSIGN_OR_RETURN(std::unique_ptr<gemma4::Model> model,
                         gemma4::Model::Load(src));
  const gemma4::Gemma4Config& c = model->config();
  GgufWriter w;
  FACET_RETURN_IF_ERROR(WriteGemma4Metadata(*model, type, &w));

  // Tensors in the canonical order; dead weights of KV-shared layers are
  // kept when the source has them, as llama.cpp's converter does.
  std::vector<std::pair<const TensorView*, std::string>> todo;
  for (const gemma4::TensorSpec& spec : gemma4::ExpectedTensors(c)) {
    const TensorView* t = nullptr;
    if (model->gguf() != nullptr) {
      t = model->gguf()->FindTensor(spec.name);
    } else {
      std::string hf = gemma4::HfNameFor(spec.name);
      for (const char* prefix : {"model.language_model.", "model."}) {
        if (t == nullptr) t = model->hf()->Find(prefix + hf);
      }
    }
    if (t != nullptr) todo.push_back({t, spec.name});
  }
  // Proportional RoPE as llama.cpp's per-pair frequency factors.
  {
    const int half = c.head_dim_global / 2;
    int pairs = 0;
    for (const gemma4::LayerConfig& lc : c.layers) {
      if (lc.kind == gemma4::AttentionKind::kFull) pairs = lc.rope_pairs;
    }
    std::vector<float> freqs(half, 1e30f);
    for (int j = 0; j < pairs && j < half; ++j) freqs[j] = 1.0f;
    FACET_RETURN_IF_ERROR(w.AddTensor("rope_freqs.weight", DType::kF32, {half},
                                      freqs.data(),
                                      freqs.size() * sizeof(float)));
  }
  const int total = static_cast<int>(todo.size());
  int done = 0;
  for (const auto& [t, name] : todo) {
    DType out = type;
    if (t->shape.size() == 1 || KeepF32(name)) {
      out = DType::kF32;
    } else if (t->dim(0) % kernels::GetDTypeInfo(type)->block_elems != 0) {
      out = DType::kF16;
    }
    const TensorView* view = t;
    const std::string tname = name;
    auto produce = [view, out, &done, total, &options,
                    tname](std::string* bytes) -> Status {
      const int64_t cols = view->dim(0);
      const int64_t rows = view->elements() / cols;
      const int64_t in_row = kernels::RowBytes(view->dtype, cols);
      const int64_t out_row = kernels::RowBytes(out, cols);
      bytes->resize(rows * out_row);
      std::vector<float> buf(cols);
      for (int64_t r = 0; r < rows; ++r) {
        kernels::DequantizeRow(view->dtype, view->data + r * in_row, buf.data(),
                               cols);
        for (float v : buf) {
          if (!std::isfinite(v)) {
            return DataLoss("tensor '" + tname + "' holds NaN or Inf");
          }
        }
        kernels::QuantizeRow(out, buf.data(), &(*bytes)[r * out_row], cols);
      }
      if (options.progress) options.progress(++done, total);
      return OkStatus();
    };
    FACET_RETURN_IF_ERROR(w.AddTensorLazy(name, out, t->shape, produce));
  }
  return w.WriteFile(dst);
}

}  // namespace facet
