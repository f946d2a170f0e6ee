// AVX2+FMA attention tile (kernels.h AttendFn); compiled with -mavx2 -mfma
// and, like the other AVX2 files, self-contained.
//
// Each key row is read once for up to 4 queries (the queries of a KV group
// share it), exp runs 8 scores at a time, and each value row is folded
// into the accumulators 64 columns at a time, so the tile's K and V rows
// come from L1 after their first use.
#include <immintrin.h>

#include <cmath>

#include "kernels/kernels.h"
#include "kernels/x86/avx2_exp.h"
#include "kernels/x86/flush_denormals.h"
#include "kernels/x86/x86_ops.h"

namespace facet::kernels::avx2 {
namespace {

inline float Hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// s[i * ld + j] = dot(q_i, k_j) for R queries against one key row.
template <int R>
void Dots(const float* q, int64_t q_stride, const float* kj, int64_t d,
          float* s, int ld, int j) {
  __m256 acc[R];
  for (int i = 0; i < R; ++i) acc[i] = _mm256_setzero_ps();
  int64_t c = 0;
  for (; c + 8 <= d; c += 8) {
    const __m256 kv = _mm256_loadu_ps(kj + c);
    for (int i = 0; i < R; ++i) {
      acc[i] =
          _mm256_fmadd_ps(_mm256_loadu_ps(q + i * q_stride + c), kv, acc[i]);
    }
  }
  for (int i = 0; i < R; ++i) {
    float r = Hsum(acc[i]);
    for (int64_t t = c; t < d; ++t) r += q[i * q_stride + t] * kj[t];
    s[i * ld + j] = r;
  }
}

}  // namespace

void AttendTile(const float* q, int64_t q_stride, int nq, const float* const* k,
                const float* const* v, int count, int64_t d, float scale,
                float* m, float* l, float* acc) {
  constexpr int kLd = kAttnTile;
  alignas(32) float s[kAttnMaxQ * kLd];
  const FlushDenormals flush;  // see flush_denormals.h
  for (int j = 0; j < count; ++j) {
    int i = 0;
    for (; i + 4 <= nq; i += 4) {
      Dots<4>(q + i * q_stride, q_stride, k[j], d, s + i * kLd, kLd, j);
    }
    for (; i < nq; ++i) {
      Dots<1>(q + i * q_stride, q_stride, k[j], d, s + i * kLd, kLd, j);
    }
  }
  // Online softmax: rescale what came before by e^(m_old - m_new).
  float corr[kAttnMaxQ];
  for (int i = 0; i < nq; ++i) {
    float* si = s + i * kLd;
    float mt = -INFINITY;
    for (int j = 0; j < count; ++j) {
      si[j] *= scale;
      mt = std::fmax(mt, si[j]);
    }
    const float m_new = std::fmax(m[i], mt);
    corr[i] = std::exp(m[i] - m_new);
    const __m256 vm = _mm256_set1_ps(m_new);
    __m256 sum8 = _mm256_setzero_ps();
    int j = 0;
    for (; j + 8 <= count; j += 8) {
      const __m256 p =
          SoftmaxWeight(_mm256_sub_ps(_mm256_loadu_ps(si + j), vm));
      _mm256_storeu_ps(si + j, p);
      sum8 = _mm256_add_ps(sum8, p);
    }
    float sum = Hsum(sum8);
    for (; j < count; ++j) {
      si[j] = std::exp(si[j] - m_new);
      sum += si[j];
    }
    m[i] = m_new;
    l[i] = l[i] * corr[i] + sum;
  }
  // acc_i = acc_i * corr_i + sum_j p_ij v_j, 64 columns at a time.
  int64_t c = 0;
  for (; c + 64 <= d; c += 64) {
    for (int i = 0; i < nq; ++i) {
      float* ai = acc + i * d + c;
      const float* si = s + i * kLd;
      const __m256 vc = _mm256_set1_ps(corr[i]);
      __m256 a[8];
      for (int u = 0; u < 8; ++u) {
        a[u] = _mm256_mul_ps(_mm256_loadu_ps(ai + 8 * u), vc);
      }
      for (int j = 0; j < count; ++j) {
        const __m256 p = _mm256_set1_ps(si[j]);
        const float* vj = v[j] + c;
        for (int u = 0; u < 8; ++u) {
          a[u] = _mm256_fmadd_ps(p, _mm256_loadu_ps(vj + 8 * u), a[u]);
        }
      }
      for (int u = 0; u < 8; ++u) _mm256_storeu_ps(ai + 8 * u, a[u]);
    }
  }
  for (; c + 8 <= d; c += 8) {
    for (int i = 0; i < nq; ++i) {
      float* ai = acc + i * d + c;
      const float* si = s + i * kLd;
      __m256 a = _mm256_mul_ps(_mm256_loadu_ps(ai), _mm256_set1_ps(corr[i]));
      for (int j = 0; j < count; ++j) {
        a = _mm256_fmadd_ps(_mm256_set1_ps(si[j]), _mm256_loadu_ps(v[j] + c),
                            a);
      }
      _mm256_storeu_ps(ai, a);
    }
  }
  for (; c < d; ++c) {
    for (int i = 0; i < nq; ++i) {
      float a = acc[i * d + c] * corr[i];
      for (int j = 0; j < count; ++j) a += s[i * kLd + j] * v[j][c];
      acc[i * d + c] = a;
    }
  }
}

}  // namespace facet::kernels::avx2
