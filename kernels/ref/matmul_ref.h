// Scalar reference of MatMul's pieces: the activation converters (one per
// quantized ActType, see kernels.h for the row layouts) and one dot product per
// weight type against its activation form. These are the oracle every SIMD
// variant is tested against: integer block sums are exact and the per-block
// terms are accumulated in double.
#ifndef FACET_KERNELS_REF_MATMUL_REF_H_
#define FACET_KERNELS_REF_MATMUL_REF_H_

#include <cstdint>

#include "kernels/dtype.h"

namespace facet::kernels::ref {

// Activation converters (QuantizeActFn); cols a multiple of the block size
// (32 for q8_0, 256 for q8_K).
void QuantizeActQ8_0(const float* x, uint8_t* a, int64_t cols);
void QuantizeActQ8_K(const float* x, uint8_t* a, int64_t cols);

// dot(weight row w of `type`, activation row a in ActTypeFor(type)).
double Dot(DType type, const uint8_t* w, const uint8_t* a, int64_t cols);

// GemmFn for each weight type (loops Dot over rows and tokens).
void GemmF32(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
             const uint8_t* a, int64_t a_stride, int64_t n, float* y,
             int64_t ldy);
void GemmF16(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
             const uint8_t* a, int64_t a_stride, int64_t n, float* y,
             int64_t ldy);
void GemmBF16(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
              const uint8_t* a, int64_t a_stride, int64_t n, float* y,
              int64_t ldy);
void GemmQ8_0(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
              const uint8_t* a, int64_t a_stride, int64_t n, float* y,
              int64_t ldy);
void GemmQ4_0(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
              const uint8_t* a, int64_t a_stride, int64_t n, float* y,
              int64_t ldy);
void GemmQ4_1(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
              const uint8_t* a, int64_t a_stride, int64_t n, float* y,
              int64_t ldy);
void GemmQ5_0(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
              const uint8_t* a, int64_t a_stride, int64_t n, float* y,
              int64_t ldy);
void GemmQ5_1(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
              const uint8_t* a, int64_t a_stride, int64_t n, float* y,
              int64_t ldy);
void GemmQ4K(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
             const uint8_t* a, int64_t a_stride, int64_t n, float* y,
             int64_t ldy);
void GemmQ5K(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
             const uint8_t* a, int64_t a_stride, int64_t n, float* y,
             int64_t ldy);
void GemmQ6K(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
             const uint8_t* a, int64_t a_stride, int64_t n, float* y,
             int64_t ldy);

}  // namespace facet::kernels::ref

#endif  // FACET_KERNELS_REF_MATMUL_REF_H_
