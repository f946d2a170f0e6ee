// GGUF v3 writer, used by the converter, the quantizer and the synthetic
// benchmark-model generator. Tensor data is copied in memory until Write().
#ifndef FACET_SRC_IO_GGUF_WRITER_H_
#define FACET_SRC_IO_GGUF_WRITER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "facet/status.h"
#include "kernels/dtype.h"
#include "src/io/gguf.h"

namespace facet {

class GgufWriter {
 public:
  explicit GgufWriter(uint64_t alignment = 32) : alignment_(alignment) {}

  void AddString(const std::string& key, const std::string& v);
  void AddUint32(const std::string& key, uint32_t v);
  void AddInt32(const std::string& key, int32_t v);
  void AddUint64(const std::string& key, uint64_t v);
  void AddFloat32(const std::string& key, float v);
  void AddBool(const std::string& key, bool v);
  void AddInt32Array(const std::string& key, const std::vector<int32_t>& v);
  void AddFloat32Array(const std::string& key, const std::vector<float>& v);
  void AddBoolArray(const std::string& key, const std::vector<bool>& v);
  void AddStringArray(const std::string& key,
                      const std::vector<std::string>& v);
  // Copies an already-parsed value (e.g. from another GGUF file).
  void AddValue(const std::string& key, const GgufValue& v);

  // `shape` in ggml order; `data` must hold the exact byte size of the
  // tensor in `dtype`. Returns InvalidArgument when it does not.
  Status AddTensor(const std::string& name, kernels::DType dtype,
                   const std::vector<int64_t>& shape, const void* data,
                   size_t nbytes);
  // A tensor whose bytes are produced only while WriteFile streams the
  // file, so converting a large model never holds it all in memory.
  // `produce` must append exactly the tensor's byte size to `out`.
  using Producer = std::function<Status(std::string* out)>;
  Status AddTensorLazy(const std::string& name, kernels::DType dtype,
                       const std::vector<int64_t>& shape, Producer produce);

  // The whole file image (tests and small files; runs the producers).
  StatusOr<std::string> Serialize() const;
  Status WriteFile(const std::string& path) const;

 private:
  struct Tensor {
    std::string name;
    kernels::DType dtype;
    std::vector<int64_t> shape;
    uint64_t nbytes;
    std::string bytes;  // when produce is empty
    Producer produce;
  };
  StatusOr<uint64_t> CheckShape(const std::string& name, kernels::DType dtype,
                                const std::vector<int64_t>& shape) const;
  std::string Header() const;
  // Streams header and data to `sink`.
  Status Emit(const std::function<Status(const std::string&)>& sink) const;
  std::string kv_bytes_;
  uint64_t n_kv_ = 0;
  uint64_t alignment_;
  std::vector<Tensor> tensors_;
};

}  // namespace facet

#endif  // FACET_SRC_IO_GGUF_WRITER_H_
