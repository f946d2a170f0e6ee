// Model-file tools: conversion between formats and weight types.
#ifndef FACET_TOOLS_H_
#define FACET_TOOLS_H_

#include <cstdint>
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

struct RandomModelOptions {
  // Released size whose shapes to use: "e2b", "e4b", "26b-a4b", "31b",
  // "12b".
  std::string arch = "e2b";
  // Weight mixture, as llama-quantize makes them: "q4_0" and "q8_0"
  // (token embeddings q6_k, other matrices q4_0 / q8_0), "q4_k_m" (q4_k
  // with q6_k for embeddings and the attention V / FFN down projections),
  // or a single type: "f32", "f16", "bf16", "q4_k", "q6_k", ...
  std::string type = "q4_0";
  uint64_t seed = 1;
  std::function<void(int, int)> progress;
};

// Writes a random-weight Gemma 4 GGUF at the real shapes of a released
// size, with the metadata keys and tensor names of real files (and a
// synthetic vocabulary), so other GGUF engines can load the same file for
// side-by-side speed comparisons. Output is not meaningful text.
Status WriteRandomModel(const std::string& path,
                        const RandomModelOptions& options);

// Reads a whole text file (a prompt, a tools declaration) for an app or the
// CLI: only regular files are read (a FIFO, device or folder is refused at
// once, never waited on), and a file over `max_bytes` is refused with
// kResourceExhausted before it is read.
StatusOr<std::string> ReadTextFile(const std::string& path, int64_t max_bytes);

// Measured read bandwidth of this machine in bytes/s, with `threads`
// threads streaming a buffer much larger than the last-level cache (best
// of a few passes).
double MeasureReadBandwidth(int threads);

}  // namespace facet

#endif  // FACET_TOOLS_H_
