// GGUF v2/v3 reader: metadata of every value type, tensor infos, alignment.
// The file is memory-mapped and tensors point into it (zero-copy).
#ifndef FACET_SRC_IO_GGUF_H_
#define FACET_SRC_IO_GGUF_H_

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

enum class GgufType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

const char* GgufTypeName(GgufType type);

// One metadata value. Scalars use one of the scalar fields; arrays keep
// numbers (all numeric and bool types) in `nums`, strings in `strs`, and
// nested arrays in `items`.
struct GgufValue {
  GgufType type = GgufType::kUint32;
  GgufType elem_type = GgufType::kUint32;  // arrays only
  uint64_t u = 0;                          // unsigned integers, bool
  int64_t i = 0;                           // signed integers
  double f = 0;                            // floats
  std::string str;
  std::vector<double> nums;
  std::vector<std::string> strs;
  std::vector<GgufValue> items;

  bool is_integer() const;
  bool is_number() const;  // integer, float or bool
  double as_double() const;
  int64_t as_int() const;
  size_t array_size() const;
  std::string DebugString(size_t max_items = 8) const;
};

class GgufFile {
 public:
  static StatusOr<std::unique_ptr<GgufFile>> Open(const std::string& path);
  // Parses an in-memory image (used by the fuzzer); `data` must outlive it.
  static StatusOr<std::unique_ptr<GgufFile>> Parse(const uint8_t* data,
                                                   size_t size);

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  const std::string& path() const { return path_; }

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const {
    return kv_;
  }
  const GgufValue* Find(const std::string& key) const;
  // Typed getters with precise errors (missing key, wrong type, range).
  StatusOr<int64_t> GetInt(const std::string& key) const;
  StatusOr<double> GetFloat(const std::string& key) const;
  StatusOr<std::string> GetString(const std::string& key) const;
  // Scalar or per-layer array of integers, expanded to `n` entries.
  StatusOr<std::vector<int64_t>> GetIntPerLayer(const std::string& key,
                                                size_t n) const;

  const std::vector<TensorView>& tensors() const { return tensors_; }
  const TensorView* FindTensor(const std::string& name) const;

 private:
  GgufFile() = default;
  Status ParseImpl(const uint8_t* data, size_t size);

  std::unique_ptr<MappedFile> file_;
  std::string path_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<TensorView> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace facet

#endif  // FACET_SRC_IO_GGUF_H_
