// A loaded Gemma 4 model file: the mapped file(s), the config and the bound
// weights. PackWeights may rebind weights() to packed copies; the engine
// does that once, while it is created, before any session exists. From
// then on the model is not changed, and every session of the engine shares
// it.
#ifndef FACET_MODELS_GEMMA4_MODEL_H_
#define FACET_MODELS_GEMMA4_MODEL_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "facet/status.h"
#include "kernels/parallel.h"
#include "models/gemma4/config.h"
#include "models/gemma4/weights.h"
#include "src/io/gguf.h"
#include "src/io/hf_folder.h"

namespace facet::gemma4 {

enum class SourceFormat { kGguf, kHfFolder };

class Model {
 public:
  // `path` is a .gguf file or a Hugging Face folder (config.json +
  // safetensors).
  static StatusOr<std::unique_ptr<Model>> Load(const std::string& path);

  const Gemma4Config& config() const { return config_; }
  const Weights& weights() const { return weights_; }
  SourceFormat format() const { return format_; }
  const std::string& path() const { return path_; }
  const GgufFile* gguf() const { return gguf_.get(); }
  const HfFolder* hf() const { return hf_.get(); }
  // Every tensor in the file(s), bound or not.
  std::vector<const TensorView*> AllTensors() const;

  // Rewrites the matrix-product weights whose type the active kernels
  // prefer packed (kernels::KernelTable::PreferPacked) into anonymous
  // memory in the packed layout, rebinds weights() to the copies and drops
  // the file pages of the originals from memory. Reports progress as
  // (bytes done, bytes to pack). Without memory for the copies, nothing is
  // packed (the kernels read the file's layout). Call once, before any
  // forward pass.
  void PackWeights(kernels::ThreadPool* pool,
                   const std::function<void(uint64_t, uint64_t)>& progress);
  // True for a file tensor whose packed copy replaced it.
  bool IsPackedSource(const TensorView* t) const {
    return packed_sources_.count(t) != 0;
  }
  uint64_t packed_bytes() const { return arena_bytes_; }

  ~Model();

 private:
  Model() = default;
  std::string path_;
  SourceFormat format_ = SourceFormat::kGguf;
  std::unique_ptr<GgufFile> gguf_;
  std::unique_ptr<HfFolder> hf_;
  std::string hf_prefix_;
  Gemma4Config config_;
  Weights weights_;
  // Packed copies (PackWeights): views into one anonymous mapping.
  std::deque<TensorView> packed_views_;
  std::unordered_set<const TensorView*> packed_sources_;
  void* arena_ = nullptr;
  uint64_t arena_bytes_ = 0;
};

}  // namespace facet::gemma4

#endif  // FACET_MODELS_GEMMA4_MODEL_H_
