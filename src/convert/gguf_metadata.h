// The GGUF metadata of a Gemma 4 model, with llama.cpp's key names.
#ifndef FACET_SRC_CONVERT_GGUF_METADATA_H_
#define FACET_SRC_CONVERT_GGUF_METADATA_H_

#include "facet/status.h"
#include "kernels/dtype.h"
#include "models/gemma4/config.h"
#include "models/gemma4/model.h"
#include "src/io/gguf_writer.h"

namespace facet {

// general.*, gemma4.* (architecture) keys for `c`; `weight_type` sets
// general.file_type.
void WriteArchitectureMetadata(const gemma4::Gemma4Config& c,
                               const std::string& name,
                               kernels::DType weight_type, GgufWriter* w);

// Architecture keys plus the tokenizer (copied from a GGUF source, or
// exported from a Hugging Face folder's tokenizer).
Status WriteGemma4Metadata(const gemma4::Model& model,
                           kernels::DType weight_type, GgufWriter* w);

// tokenizer.ggml.* keys from the model's tokenizer (merges when it has
// them, sentencepiece scores otherwise).
Status WriteTokenizerMetadata(const gemma4::Model& model, GgufWriter* w);

}  // namespace facet

#endif  // FACET_SRC_CONVERT_GGUF_METADATA_H_
