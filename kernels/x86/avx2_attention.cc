// AVX2+FMA attention tile (kernels.h AttendFn); compiled with -mavx2 -mfma
// and, like the other AVX2 files, self-contained.
//
// The same register tiles as the AVX-512 tile (avx512_attention_impl.inc),
// sized for 16 ymm registers:
//   scores: 4 queries x 2 keys, 8 accumulators of 8 columns each, summed
//           across lanes at the end by one shared reduction tree;
//   values: 4 queries x 16 columns, 8 accumulators, each value row loaded
//           once per 4 queries and each weight broadcast from memory.
// Every (query, key) score and every output element takes the same
// operations whatever nq and the query's place in it (short blocks are
// padded with a repeated row and their results dropped), so results depend
// only on how positions are cut into tiles, as AttendFn requires.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/kernels.h"
#include "kernels/x86/avx2_exp.h"
#include "kernels/x86/flush_denormals.h"
#include "kernels/x86/x86_ops.h"

namespace facet::kernels::avx2 {
namespace {

constexpr int kLd = kAttnTile;  // floats per score row

// All-ones lanes for i < live (live in 0..8), for maskload / maskstore.
inline __m256i LiveLanes(int64_t live) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(live)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// [a.lo + a.hi | b.lo + b.hi]
inline __m256 Fold4(__m256 a, __m256 b) {
  return _mm256_add_ps(_mm256_permute2f128_ps(a, b, 0x20),
                       _mm256_permute2f128_ps(a, b, 0x31));
}
// Within each 128-bit half: [a0 + a1, a2 + a3, b0 + b1, b2 + b3].
inline __m256 FoldPairs(__m256 a, __m256 b) {
  return _mm256_add_ps(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
}
// Sums the 8 lanes of each of v[0..7] by one tree (lanes k + k+4, then
// pairs, then pairs); lane (i % 2) * 4 + i / 2 holds v[i]'s sum. With
// v[2 * query + key], lane 4 * key + query.
inline __m256 Reduce8(const __m256* v) {
  __m256 f[4];
  for (int i = 0; i < 4; ++i) f[i] = Fold4(v[2 * i], v[2 * i + 1]);
  return FoldPairs(FoldPairs(f[0], f[1]), FoldPairs(f[2], f[3]));
}

// s[r * kLd + j0 + j] = dot(q_r, k_j) for the 4 queries qr[] and 2 keys
// kr[] (rows may repeat; only rows < nr and keys < nk are stored).
void Scores4x2(const float* const* qr, const float* const* kr, int64_t d,
               float* s, int j0, int nr, int nk) {
  __m256 acc[8];
  for (__m256& a : acc) a = _mm256_setzero_ps();
  int64_t c = 0;
  for (; c + 8 <= d; c += 8) {
    const __m256 k0 = _mm256_loadu_ps(kr[0] + c);
    const __m256 k1 = _mm256_loadu_ps(kr[1] + c);
    for (int r = 0; r < 4; ++r) {
      const __m256 qv = _mm256_loadu_ps(qr[r] + c);
      acc[2 * r] = _mm256_fmadd_ps(qv, k0, acc[2 * r]);
      acc[2 * r + 1] = _mm256_fmadd_ps(qv, k1, acc[2 * r + 1]);
    }
  }
  if (c < d) {  // zero lanes past d add nothing
    const __m256i mk = LiveLanes(d - c);
    const __m256 k0 = _mm256_maskload_ps(kr[0] + c, mk);
    const __m256 k1 = _mm256_maskload_ps(kr[1] + c, mk);
    for (int r = 0; r < 4; ++r) {
      const __m256 qv = _mm256_maskload_ps(qr[r] + c, mk);
      acc[2 * r] = _mm256_fmadd_ps(qv, k0, acc[2 * r]);
      acc[2 * r + 1] = _mm256_fmadd_ps(qv, k1, acc[2 * r + 1]);
    }
  }
  alignas(32) float out[8];
  _mm256_store_ps(out, Reduce8(acc));
  for (int r = 0; r < nr; ++r) {
    for (int j = 0; j < nk; ++j) s[r * kLd + j0 + j] = out[4 * j + r];
  }
}

// acc_r[c0 .. c0 + 16) = acc_r * corr_r + sum_j p_rj v_j for R queries;
// mask[u] selects the live lanes of the u-th 8 columns.
template <int R>
void Values(const float* s, const float* const* v, int count, int64_t c0,
            const __m256i* mask, const float* corr, float* acc, int64_t d) {
  __m256 a[R][2];
  for (int r = 0; r < R; ++r) {
    const __m256 vc = _mm256_set1_ps(corr[r]);
    for (int u = 0; u < 2; ++u) {
      a[r][u] = _mm256_mul_ps(
          _mm256_maskload_ps(acc + r * d + c0 + 8 * u, mask[u]), vc);
    }
  }
  for (int j = 0; j < count; ++j) {
    const __m256 v0 = _mm256_maskload_ps(v[j] + c0, mask[0]);
    const __m256 v1 = _mm256_maskload_ps(v[j] + c0 + 8, mask[1]);
    for (int r = 0; r < R; ++r) {
      const __m256 p = _mm256_broadcast_ss(s + r * kLd + j);
      a[r][0] = _mm256_fmadd_ps(p, v0, a[r][0]);
      a[r][1] = _mm256_fmadd_ps(p, v1, a[r][1]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int u = 0; u < 2; ++u) {
      _mm256_maskstore_ps(acc + r * d + c0 + 8 * u, mask[u], a[r][u]);
    }
  }
}

}  // namespace

void AttendTile(const float* q, int64_t q_stride, int nq, const float* const* k,
                const float* const* v, int count, int64_t d, float scale,
                float* m, float* l, float* acc) {
  alignas(32) float s[kAttnMaxQ * kLd];
  const FlushDenormals flush;  // see flush_denormals.h
  // Scores, 4 x 2 at a time.
  for (int i0 = 0; i0 < nq; i0 += 4) {
    const int nr = std::min(4, nq - i0);
    const float* qr[4];
    for (int r = 0; r < 4; ++r) {
      qr[r] = q + (i0 + std::min(r, nr - 1)) * q_stride;
    }
    for (int j0 = 0; j0 < count; j0 += 2) {
      const int nk = std::min(2, count - j0);
      const float* kr[2] = {k[j0], k[j0 + nk - 1]};
      Scores4x2(qr, kr, d, s + i0 * kLd, j0, nr, nk);
    }
  }
  // Online softmax: rescale what came before by e^(m_old - m_new).
  float corr[kAttnMaxQ];
  for (int i = 0; i < nq; ++i) {
    float* si = s + i * kLd;
    float mt = -INFINITY;
    for (int j = 0; j < count; ++j) {
      si[j] *= scale;
      mt = std::max(mt, si[j]);
    }
    const float m_new = std::max(m[i], mt);
    corr[i] = std::exp(m[i] - m_new);
    const float sum = SoftmaxWeights(si, count, m_new);
    m[i] = m_new;
    l[i] = l[i] * corr[i] + sum;
  }
  // Weighted values, 4 queries x 16 columns at a time.
  for (int64_t c0 = 0; c0 < d; c0 += 16) {
    const __m256i mask[2] = {LiveLanes(std::clamp<int64_t>(d - c0, 0, 8)),
                             LiveLanes(std::clamp<int64_t>(d - c0 - 8, 0, 8))};
    int i = 0;
    for (; i + 4 <= nq; i += 4) {
      Values<4>(s + i * kLd, v, count, c0, mask, corr + i, acc + i * d, d);
    }
    const float* si = s + i * kLd;
    float* ai = acc + i * d;
    switch (nq - i) {
      case 3:
        Values<3>(si, v, count, c0, mask, corr + i, ai, d);
        break;
      case 2:
        Values<2>(si, v, count, c0, mask, corr + i, ai, d);
        break;
      case 1:
        Values<1>(si, v, count, c0, mask, corr + i, ai, d);
        break;
      default:
        break;
    }
  }
}

}  // namespace facet::kernels::avx2
