// A named, typed, read-only view of one weight tensor inside a model file.
#ifndef FACET_SRC_IO_TENSOR_VIEW_H_
#define FACET_SRC_IO_TENSOR_VIEW_H_

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/dtype.h"

namespace facet {

struct TensorView {
  std::string name;
  kernels::DType dtype = kernels::DType::kF32;
  // ggml order: shape[0] is the innermost (contiguous) dimension, so a
  // PyTorch [out, in] matrix has shape {in, out}.
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  uint64_t nbytes = 0;
  // Rows rewritten at load into the kernels' 8-row packed layout
  // (kernels::PackRows); only matrix-product weights are ever packed.
  bool packed = false;

  int64_t dim(size_t i) const { return i < shape.size() ? shape[i] : 1; }
  int64_t elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// "[128, 512]" in ggml order.
std::string ShapeString(const std::vector<int64_t>& shape);

}  // namespace facet

#endif  // FACET_SRC_IO_TENSOR_VIEW_H_
