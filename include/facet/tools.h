// Model-file tools: conversion between formats and weight types.
#ifndef FACET_TOOLS_H_
#define FACET_TOOLS_H_

#include <functional>
#include <string>

#include "facet/status.h"

namespace facet {

struct ConvertOptions {
  // Weight type for 2-D/3-D matrices: "f32", "f16", "bf16", "q8_0",
  // "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k". 1-D tensors
  // stay f32; the PLE projection and the MoE router stay f32, as in
  // llama.cpp's quantized files. Matrices whose rows do not fit the
  // type's block size fall back to f16.
  std::string type = "f16";
  // Called after each tensor with (done, total) tensor counts.
  std::function<void(int, int)> progress;
};

// Writes `src` (a Hugging Face folder or a GGUF file) as a GGUF file with
// the metadata keys and tensor names llama.cpp's gemma4 converter uses,
// including the tokenizer, so other GGUF engines can load it too.
Status ConvertToGguf(const std::string& src, const std::string& dst,
                     const ConvertOptions& options);

}  // namespace facet

#endif  // FACET_TOOLS_H_
