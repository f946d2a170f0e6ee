#include "kernels/ref/ref_ops.h"

#include <cmath>

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

void GeluTanhMul(const float* gate, const float* up, float* out, int64_t n) {
  const float k = 0.7978845608028654f;  // sqrt(2/pi)
  for (int64_t i = 0; i < n; ++i) {
    const float x = gate[i];
    out[i] =
        0.5f * x * (1.f + std::tanh(k * (x + 0.044715f * x * x * x))) * up[i];
  }
}

}  // namespace facet::kernels::ref
