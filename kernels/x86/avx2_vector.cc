// AVX2 RMSNorm, RoPE, logit softcap and the KV-cache row loads. Compiled with
// -mavx2 -mfma -ffp-contract=off: RMSNorm's scaling and the RoPE rotation round
// as the scalar reference does (no fused a * b - c), so they differ from it
// only through RMSNorm's summation order.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "kernels/x86/avx2_exp.h"
#include "kernels/x86/x86_ops.h"

namespace facet::kernels::avx2 {
namespace {

// Sum of squares of x[n] in double: the squares of floats are exact in
// double, so only the additions round, as in the reference.
double SumSquares(const float* x, int64_t n) {
  __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
  __m256d acc2 = _mm256_setzero_pd(), acc3 = _mm256_setzero_pd();
  int64_t i = 0;
  // Four chains: one would wait on the add latency.
  for (; i + 16 <= n; i += 16) {
    const __m256 v0 = _mm256_loadu_ps(x + i);
    const __m256 v1 = _mm256_loadu_ps(x + i + 8);
    const __m256d a = _mm256_cvtps_pd(_mm256_castps256_ps128(v0));
    const __m256d b = _mm256_cvtps_pd(_mm256_extractf128_ps(v0, 1));
    const __m256d c = _mm256_cvtps_pd(_mm256_castps256_ps128(v1));
    const __m256d d = _mm256_cvtps_pd(_mm256_extractf128_ps(v1, 1));
    acc0 = _mm256_fmadd_pd(a, a, acc0);
    acc1 = _mm256_fmadd_pd(b, b, acc1);
    acc2 = _mm256_fmadd_pd(c, c, acc2);
    acc3 = _mm256_fmadd_pd(d, d, acc3);
  }
  for (; i + 4 <= n; i += 4) {
    const __m256d a = _mm256_cvtps_pd(_mm_loadu_ps(x + i));
    acc0 = _mm256_fmadd_pd(a, a, acc0);
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(_mm256_add_pd(acc0, acc1),
                                       _mm256_add_pd(acc2, acc3)));
  double ss = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  for (; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  return ss;
}

// tanh on 8 floats: sign(y) (1 - t) / (1 + t) with t = e^(-2|y|) <= 1, so
// nothing overflows and large |y| gives exactly +-1. The error is a few
// ulps of 1 (absolute), not of tanh(y): fine for logits, which are
// compared in absolute terms.
__m256 Tanh(__m256 y) {
  const __m256 sign = _mm256_set1_ps(-0.f);
  const __m256 ay = _mm256_andnot_ps(sign, y);
  const __m256 t = Exp(_mm256_mul_ps(_mm256_set1_ps(-2.f), ay));
  const __m256 one = _mm256_set1_ps(1.f);
  const __m256 th = _mm256_div_ps(_mm256_sub_ps(one, t), _mm256_add_ps(one, t));
  return _mm256_or_ps(th, _mm256_and_ps(sign, y));
}

}  // namespace

void RmsNorm(const float* x, const float* w, float* out, int64_t rows,
             int64_t n, float eps) {
  for (int64_t r = 0; r < rows; ++r, x += n, out += n) {
    const float s =
        static_cast<float>(1.0 / std::sqrt(SumSquares(x, n) / n + eps));
    const __m256 vs = _mm256_set1_ps(s);
    int64_t i = 0;
    if (w != nullptr) {
      for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), vs);
        _mm256_storeu_ps(out + i, _mm256_mul_ps(v, _mm256_loadu_ps(w + i)));
      }
      for (; i < n; ++i) out[i] = x[i] * s * w[i];
    } else {
      for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vs));
      }
      for (; i < n; ++i) out[i] = x[i] * s;
    }
  }
}

void Rope(float* x, int64_t rows, int64_t d, int64_t pairs, const float* cs,
          const float* sn) {
  const int64_t half = d / 2;
  for (int64_t r = 0; r < rows; ++r, x += d) {
    int64_t j = 0;
    for (; j + 8 <= pairs; j += 8) {
      const __m256 a = _mm256_loadu_ps(x + j);
      const __m256 b = _mm256_loadu_ps(x + j + half);
      const __m256 c = _mm256_loadu_ps(cs + j);
      const __m256 s = _mm256_loadu_ps(sn + j);
      _mm256_storeu_ps(x + j,
                       _mm256_sub_ps(_mm256_mul_ps(a, c), _mm256_mul_ps(b, s)));
      _mm256_storeu_ps(x + j + half,
                       _mm256_add_ps(_mm256_mul_ps(b, c), _mm256_mul_ps(a, s)));
    }
    for (; j < pairs; ++j) {
      const float a = x[j], b = x[j + half];
      x[j] = a * cs[j] - b * sn[j];
      x[j + half] = b * cs[j] + a * sn[j];
    }
  }
}

void Softcap(float* x, int64_t n, float cap) {
  const __m256 vcap = _mm256_set1_ps(cap);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    // x / cap as the reference divides (not times 1 / cap).
    const __m256 y = _mm256_div_ps(_mm256_loadu_ps(x + i), vcap);
    _mm256_storeu_ps(x + i, _mm256_mul_ps(vcap, Tanh(y)));
  }
  if (i < n) {
    // The tail through the same vector code, so every element of a row
    // rounds alike wherever it falls.
    alignas(32) float buf[8] = {};
    for (int64_t k = i; k < n; ++k) buf[k - i] = x[k];
    const __m256 y = _mm256_div_ps(_mm256_load_ps(buf), vcap);
    _mm256_store_ps(buf, _mm256_mul_ps(vcap, Tanh(y)));
    for (int64_t k = i; k < n; ++k) x[k] = buf[k - i];
  }
}

// KV rows in f16 / q8_0 to f32: F16C converts 8 halves at a time; a q8_0
// block is 32 int8 widened to float and scaled (exact, as the reference).
void LoadKvF16(const uint8_t* const* rows, int count, int64_t d, float* dst) {
  for (int j = 0; j < count; ++j, dst += d) {
    const uint8_t* src = rows[j];
    int64_t c = 0;
    for (; c + 8 <= d; c += 8) {
      const __m128i h =
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * c));
      _mm256_storeu_ps(dst + c, _mm256_cvtph_ps(h));
    }
    for (; c < d; ++c) {
      uint16_t h;
      std::memcpy(&h, src + 2 * c, 2);
      dst[c] = _cvtsh_ss(h);
    }
  }
}

void LoadKvQ8_0(const uint8_t* const* rows, int count, int64_t d, float* dst) {
  for (int j = 0; j < count; ++j, dst += d) {
    const uint8_t* b = rows[j];
    for (int64_t c0 = 0; c0 < d; c0 += 32, b += 34) {
      uint16_t h;
      std::memcpy(&h, b, 2);
      const __m256 scale = _mm256_set1_ps(_cvtsh_ss(h));
      for (int u = 0; u < 4; ++u) {
        const __m128i q =
            _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b + 2 + 8 * u));
        const __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q));
        _mm256_storeu_ps(dst + c0 + 8 * u, _mm256_mul_ps(scale, f));
      }
    }
  }
}

}  // namespace facet::kernels::avx2
