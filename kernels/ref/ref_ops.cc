#include "kernels/ref/ref_ops.h"

#include <cmath>

namespace facet::kernels::ref {

void GeluTanhMul(const float* gate, const float* up, float* out, int64_t n) {
  const float k = 0.7978845608028654f;  // sqrt(2/pi)
  for (int64_t i = 0; i < n; ++i) {
    const float x = gate[i];
    out[i] =
        0.5f * x * (1.f + std::tanh(k * (x + 0.044715f * x * x * x))) * up[i];
  }
}

void RmsNorm(const float* x, const float* w, float* out, int64_t rows,
             int64_t n, float eps) {
  for (int64_t r = 0; r < rows; ++r, x += n, out += n) {
    // Squares are exact in double, so only the n additions round: the
    // factor is within an ulp or so of exact for any row length.
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
    const float s = static_cast<float>(1.0 / std::sqrt(ss / n + eps));
    if (w != nullptr) {
      for (int64_t i = 0; i < n; ++i) out[i] = x[i] * s * w[i];
    } else {
      for (int64_t i = 0; i < n; ++i) out[i] = x[i] * s;
    }
  }
}

void Rope(float* x, int64_t rows, int64_t d, int64_t pairs, const float* cs,
          const float* sn) {
  const int64_t half = d / 2;
  for (int64_t r = 0; r < rows; ++r, x += d) {
    for (int64_t j = 0; j < pairs; ++j) {
      const float a = x[j], b = x[j + half];
      x[j] = a * cs[j] - b * sn[j];
      x[j + half] = b * cs[j] + a * sn[j];
    }
  }
}

void Softcap(float* x, int64_t n, float cap) {
  for (int64_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

}  // namespace facet::kernels::ref
