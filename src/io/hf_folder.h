// A Hugging Face model folder: config.json plus safetensors weights, either
// one model.safetensors, shards listed by model.safetensors.index.json, or
// (without an index) model-0000x-of-0000y.safetensors files.
#ifndef FACET_SRC_IO_HF_FOLDER_H_
#define FACET_SRC_IO_HF_FOLDER_H_

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "facet/status.h"
#include "src/io/safetensors.h"
#include "src/io/tensor_view.h"

namespace facet {

class HfFolder {
 public:
  // Opens `dir`. Errors: kNotFound (no directory, no config.json, no weights,
  // a shard listed in the index or numbered by the shard names is missing;
  // the message names the file), kDataLoss (corrupt index, a tensor of the
  // index absent from its shard, a tensor name present in two shards, or a
  // corrupt shard), kUnimplemented (unsupported dtype in a shard).
  static StatusOr<std::unique_ptr<HfFolder>> Open(const std::string& dir);

  HfFolder(const HfFolder&) = delete;
  HfFolder& operator=(const HfFolder&) = delete;

  // The folder as given (without a trailing '/').
  const std::string& dir() const { return dir_; }
  // The raw text of config.json.
  const std::string& config_json() const { return config_json_; }

  // All tensors of all shards, shard by shard (shards in file-name order).
  std::vector<const TensorView*> tensors() const;
  // The tensor called `name`, or nullptr.
  const TensorView* Find(const std::string& name) const;
  // The safetensors files, in the order their tensors are listed.
  const std::vector<std::unique_ptr<SafetensorsFile>>& shards() const {
    return shards_;
  }

  // Full paths of the optional side files, or "" when the file is absent.
  std::string tokenizer_model_path() const;    // tokenizer.model
  std::string tokenizer_json_path() const;     // tokenizer.json
  std::string tokenizer_config_path() const;   // tokenizer_config.json
  std::string generation_config_path() const;  // generation_config.json

 private:
  HfFolder() = default;
  std::string PathIfExists(const char* name) const;

  std::string dir_;
  std::string config_json_;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  std::unordered_map<std::string, const TensorView*> index_;
};

}  // namespace facet

#endif  // FACET_SRC_IO_HF_FOLDER_H_
