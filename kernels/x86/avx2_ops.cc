// AVX2+FMA dot product and GeGLU; this file is compiled with -mavx2 -mfma.
#include <immintrin.h>

#include <cmath>

#include "kernels/x86/avx2_exp.h"
#include "kernels/x86/x86_ops.h"

namespace facet::kernels::avx2 {

float DotF32(const float* a, const float* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 =
        _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8),
                           _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) {
    acc0 =
        _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  }
  acc0 = _mm256_add_ps(acc0, acc1);
  __m128 s =
      _mm_add_ps(_mm256_castps256_ps128(acc0), _mm256_extractf128_ps(acc0, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  float r = _mm_cvtss_f32(s);
  for (; i < n; ++i) r += a[i] * b[i];
  return r;
}

void GeluTanhMul(const float* gate, const float* up, float* out, int64_t n) {
  // 0.5 x (1 + tanh(u)) = x / (1 + e^(-2u)): one exp and one divide, exact
  // in the limits (x -> -inf gives -0, x -> inf gives x).
  const __m256 k2 = _mm256_set1_ps(-2.f * 0.7978845608028654f);
  const __m256 c = _mm256_set1_ps(0.044715f);
  const __m256 one = _mm256_set1_ps(1.f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(gate + i);
    const __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    const __m256 t = _mm256_mul_ps(k2, _mm256_fmadd_ps(c, x3, x));
    const __m256 g = _mm256_div_ps(x, _mm256_add_ps(one, Exp(t)));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(g, _mm256_loadu_ps(up + i)));
  }
  const float k = 0.7978845608028654f;
  for (; i < n; ++i) {
    const float x = gate[i];
    out[i] =
        x / (1.f + std::exp(-2.f * k * (x + 0.044715f * x * x * x))) * up[i];
  }
}

}  // namespace facet::kernels::avx2
