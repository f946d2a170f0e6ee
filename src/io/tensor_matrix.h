// A model file's weight tensor as the kernels read it.
#ifndef FACET_SRC_IO_TENSOR_MATRIX_H_
#define FACET_SRC_IO_TENSOR_MATRIX_H_

#include <cstdint>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/ref/quant.h"
#include "src/io/tensor_view.h"

namespace facet {

// A PyTorch [out, in] matrix (ggml shape {in, out}) as rows of `in`
// elements; `index` picks the matrix of a 3-D stack (an expert).
inline kernels::Matrix MatrixOf(const TensorView* t, int64_t index = 0) {
  kernels::Matrix m;
  m.dtype = t->dtype;
  m.cols = t->dim(0);
  m.rows = t->dim(1);
  m.row_bytes = kernels::RowBytes(t->dtype, m.cols);
  m.packed = t->packed;
  m.data = t->data + index * m.rows * m.row_bytes;
  return m;
}

// All elements as f32 (empty for a null tensor).
inline std::vector<float> TensorToF32(const TensorView* t) {
  if (t == nullptr) return {};
  std::vector<float> out(t->elements());
  kernels::DequantizeRow(t->dtype, t->data, out.data(), t->elements());
  return out;
}

}  // namespace facet

#endif  // FACET_SRC_IO_TENSOR_MATRIX_H_
