// The compute kernels facet uses, with no model knowledge. One table of
// function pointers, filled once from cpuinfo; a scalar reference of each
// op in kernels/ref/ is the oracle the per-ISA variants are tested against.
#ifndef FACET_KERNELS_KERNELS_H_
#define FACET_KERNELS_KERNELS_H_

#include <pthreadpool.h>

#include <cstddef>
#include <cstdint>

#include "kernels/dtype.h"

namespace facet::kernels {

// A row-major weight matrix of `rows` rows, each `cols` elements of dtype
// (block-quantized rows are `row_bytes` long).
struct Matrix {
  DType dtype = DType::kF32;
  const uint8_t* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t row_bytes = 0;
  const uint8_t* row(int64_t r) const { return data + r * row_bytes; }
};

enum class Isa { kRef = 0, kAvx2 = 1, kAvx512 = 2 };
const char* IsaName(Isa isa);

struct KernelTable {
  Isa isa = Isa::kRef;
  // sum_i a[i] * b[i]
  float (*dot_f32)(const float* a, const float* b, int64_t n) = nullptr;
  // y[i] += alpha * x[i]
  void (*axpy_f32)(float alpha, const float* x, float* y, int64_t n) = nullptr;
};

// The table for the best ISA this CPU supports, or the one forced by the
// FACET_ISA environment variable ("ref", "avx2", "avx512") or ForceIsa().
const KernelTable& Kernels();
// Table for one ISA; returns nullptr when the CPU lacks it.
const KernelTable* KernelsFor(Isa isa);
// Forces an ISA for debugging and tests; false if the CPU lacks it.
bool ForceIsa(Isa isa);

// y[t][r] = sum_c x[t][c] * W[r][c] for t < n, r < rows.
// x: [n][cols] f32, y: [n][rows] f32.
void MatMul(const Matrix& w, const float* x, int64_t n, float* y,
            pthreadpool_t pool);

}  // namespace facet::kernels

#endif  // FACET_KERNELS_KERNELS_H_
