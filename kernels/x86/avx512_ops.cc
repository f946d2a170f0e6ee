// AVX-512F variants; this file alone is compiled with -mavx512f.
#include <immintrin.h>

#include "kernels/x86/x86_ops.h"

namespace facet::kernels::avx512 {

float DotF32(const float* a, const float* b, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 =
        _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16),
                           _mm512_loadu_ps(b + i + 16), acc1);
  }
  if (i < n) {
    // Masked tail: no scalar loop, every size takes the same path.
    int64_t rem = n - i;
    __mmask16 m0 = rem >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << rem) - 1);
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, a + i),
                           _mm512_maskz_loadu_ps(m0, b + i), acc0);
    if (rem > 16) {
      __mmask16 m1 = static_cast<__mmask16>((1u << (rem - 16)) - 1);
      acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, a + i + 16),
                             _mm512_maskz_loadu_ps(m1, b + i + 16), acc1);
    }
  }
  // Reduced through memory: GCC 12's extract/reduce intrinsics trip
  // -Wuninitialized inside its own headers.
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, _mm512_add_ps(acc0, acc1));
  float r = 0.f;
  for (int k = 0; k < 8; ++k) r += lanes[k] + lanes[k + 8];
  return r;
}

void AxpyF32(float alpha, const float* x, float* y, int64_t n) {
  const __m512 va = _mm512_set1_ps(alpha);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i),
                                            _mm512_loadu_ps(y + i)));
  }
  if (i < n) {
    __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, m,
                          _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i),
                                          _mm512_maskz_loadu_ps(m, y + i)));
  }
}

// One DotF32 per pair, as MatMul always did for f32 weights.
void GemmF32(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
             const uint8_t* a, int64_t a_stride, int64_t n, float* y,
             int64_t ldy) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* wr = reinterpret_cast<const float*>(w + r * row_bytes);
    for (int64_t t = 0; t < n; ++t) {
      y[t * ldy + r] =
          DotF32(wr, reinterpret_cast<const float*>(a + t * a_stride), cols);
    }
  }
}

}  // namespace facet::kernels::avx512
