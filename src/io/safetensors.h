// Reader for one .safetensors file (Hugging Face format), memory-mapped so
// tensor data is used in place.
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON, then the
// data section. Each JSON entry is
//   "name": {"dtype": "BF16", "shape": [out, in], "data_offsets": [b, e]}
// with offsets relative to the start of the data section, plus an optional
// "__metadata__" object of string values.
#ifndef FACET_SRC_IO_SAFETENSORS_H_
#define FACET_SRC_IO_SAFETENSORS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "facet/status.h"
#include "src/io/mapped_file.h"
#include "src/io/tensor_view.h"

namespace facet {

class SafetensorsFile {
 public:
  // Largest accepted JSON header (the reference implementation's limit).
  static constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

  // Maps and validates `path`. Errors: kNotFound (no such file), kDataLoss
  // (truncated or corrupt header / offsets), kUnimplemented (a dtype other
  // than BF16, F16, F32; the message names the tensor and the dtype).
  static StatusOr<std::unique_ptr<SafetensorsFile>> Open(
      const std::string& path);

  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  // All tensors, ordered by their position in the data section. Shapes are in
  // ggml order (PyTorch [out, in] becomes {in, out}); a 0-d tensor has shape
  // {} and one element.
  const std::vector<TensorView>& tensors() const { return tensors_; }
  // The tensor called `name`, or nullptr.
  const TensorView* Find(const std::string& name) const;
  // The "__metadata__" entries (empty when the header has none).
  const std::map<std::string, std::string>& metadata() const {
    return metadata_;
  }
  const std::string& path() const { return file_->path(); }

 private:
  SafetensorsFile() = default;

  std::unique_ptr<MappedFile> file_;
  std::vector<TensorView> tensors_;
  std::unordered_map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace facet

#endif  // FACET_SRC_IO_SAFETENSORS_H_
