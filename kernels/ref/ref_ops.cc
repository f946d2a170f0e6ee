#include "kernels/ref/ref_ops.h"

namespace facet::kernels::ref {

float DotF32(const float* a, const float* b, int64_t n) {
  // Double accumulation: the reference should be the most exact variant.
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(s);
}

void AxpyF32(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

}  // namespace facet::kernels::ref
