// AVX2+FMA+F16C K-quant kernels (q4_K, q5_K, q6_K against q8_K
// activations) and the q8_K activation converter; compiled with the same
// flags as avx2_matmul.cc (see the notes there), with which it shares
// avx2_matmul_internal.h.
#include <immintrin.h>

#include <cstring>

#include "kernels/x86/avx2_matmul_internal.h"
#include "kernels/x86/x86_ops.h"

namespace facet::kernels::avx2 {
namespace {

inline float Hsum128(__m128 s) {
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// ---------------------------------------------------------------------------
// q4_K / q5_K against q8_K activations (ggml's AVX2 scheme): per 64-element
// chunk, maddubs of the 4/5-bit weights with the activations, madd with the
// sub-block scale; the mins meet the activation block sums.

// The 8 six-bit scales and mins of a super-block as 16 int16: scales then
// mins.
inline __m256i ScalesMinsK4(const uint8_t* s) {
  uint32_t u[4];
  std::memcpy(u, s, 12);
  constexpr uint32_t kM1 = 0x3f3f3f3f, kM2 = 0x0f0f0f0f, kM3 = 0x03030303;
  u[3] = ((u[2] >> 4) & kM2) | (((u[1] >> 6) & kM3) << 4);
  const uint32_t aux = u[1] & kM1;
  u[1] = (u[2] & kM2) | (((u[0] >> 6) & kM3) << 4);
  u[2] = aux;
  u[0] &= kM1;
  return _mm256_cvtepu8_epi16(
      _mm_set_epi32(static_cast<int>(u[3]), static_cast<int>(u[2]),
                    static_cast<int>(u[1]), static_cast<int>(u[0])));
}

// pshufb pattern broadcasting int16 element k of each 128-bit lane.
inline __m256i BcastI16(int k) {
  return _mm256_set1_epi16(static_cast<int16_t>((2 * k) | ((2 * k + 1) << 8)));
}

template <bool kFive, int R, int T>
void TileQ45K(const uint8_t* w, int64_t rb, const uint8_t* a, int64_t as,
              int64_t cols, float* y, int64_t ldy) {
  const int64_t nb = cols / kQKK;
  constexpr int kBytes = kFive ? 176 : 144;
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i one = _mm256_set1_epi8(1);
  __m256 acc[R][T];
  __m128 accm[R][T];
  for (int i = 0; i < R; ++i) {
    for (int j = 0; j < T; ++j) {
      acc[i][j] = _mm256_setzero_ps();
      accm[i][j] = _mm_setzero_ps();
    }
  }
  for (int64_t b = 0; b < nb; ++b) {
    float dy[T];
    __m128i q8s[T];
    for (int j = 0; j < T; ++j) {
      const uint8_t* aj = a + j * as;
      dy[j] = reinterpret_cast<const float*>(aj + cols)[b];
      const __m256i bs = Load256(aj + cols + nb * 4 + b * 32);
      q8s[j] = _mm_hadd_epi16(_mm256_castsi256_si128(bs),
                              _mm256_extracti128_si256(bs, 1));
    }
    __m256i scales[R];
    __m256i sumi[R][T];
    for (int i = 0; i < R; ++i) {
      const uint8_t* blk = w + i * rb + b * kBytes;
      const __m256i ms = ScalesMinsK4(blk + 4);
      const __m128i sc = _mm256_castsi256_si128(ms);
      scales[i] = _mm256_set_m128i(sc, sc);
      const __m128i mins = _mm256_extracti128_si256(ms, 1);
      const float dmin = HalfToFloat(blk + 2);
      for (int j = 0; j < T; ++j) {
        const __m128i prod = _mm_madd_epi16(mins, q8s[j]);
        accm[i][j] = _mm_fmadd_ps(_mm_set1_ps(dmin * dy[j]),
                                  _mm_cvtepi32_ps(prod), accm[i][j]);
        sumi[i][j] = _mm256_setzero_si256();
      }
    }
    for (int c = 0; c < 4; ++c) {
      __m256i xl[T], xh[T];
      for (int j = 0; j < T; ++j) {
        const uint8_t* q8 = a + j * as + b * kQKK + 64 * c;
        xl[j] = Load256(q8);
        xh[j] = Load256(q8 + 32);
      }
      for (int i = 0; i < R; ++i) {
        const uint8_t* blk = w + i * rb + b * kBytes;
        const __m256i bits = Load256(blk + (kFive ? 48 : 16) + 32 * c);
        __m256i lo = _mm256_and_si256(bits, m4);
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
        if (kFive) {
          const __m256i qh = Load256(blk + 16);
          lo = _mm256_or_si256(
              lo, _mm256_slli_epi16(
                      _mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4));
          hi = _mm256_or_si256(
              hi,
              _mm256_slli_epi16(
                  _mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4));
        }
        const __m256i sl = _mm256_shuffle_epi8(scales[i], BcastI16(2 * c));
        const __m256i sh = _mm256_shuffle_epi8(scales[i], BcastI16(2 * c + 1));
        for (int j = 0; j < T; ++j) {
          const __m256i pl =
              _mm256_madd_epi16(sl, _mm256_maddubs_epi16(lo, xl[j]));
          const __m256i ph =
              _mm256_madd_epi16(sh, _mm256_maddubs_epi16(hi, xh[j]));
          sumi[i][j] = _mm256_add_epi32(sumi[i][j], _mm256_add_epi32(pl, ph));
        }
      }
    }
    for (int i = 0; i < R; ++i) {
      const float d = HalfToFloat(w + i * rb + b * kBytes);
      for (int j = 0; j < T; ++j) {
        acc[i][j] = _mm256_fmadd_ps(_mm256_set1_ps(d * dy[j]),
                                    _mm256_cvtepi32_ps(sumi[i][j]), acc[i][j]);
      }
    }
  }
  for (int i = 0; i < R; ++i) {
    for (int j = 0; j < T; ++j) {
      y[j * ldy + i] = Hsum(acc[i][j]) - Hsum128(accm[i][j]);
    }
  }
}

template <bool kFive>
struct Q45KTile {
  template <int R, int T>
  struct Of {
    static void Run(const uint8_t* w, int64_t rb, const uint8_t* a, int64_t as,
                    int64_t cols, float* y, int64_t ldy) {
      TileQ45K<kFive, R, T>(w, rb, a, as, cols, y, ldy);
    }
  };
};

// ---------------------------------------------------------------------------
// q6_K against q8_K: maddubs of the unsigned 6-bit weights (0..63) with the
// activations, madd with the int8 sub-block scales; the -32 offset is
// 32 * sum_s scale_s * bsum_s, from the activation block sums.

template <int R, int T>
void TileQ6K(const uint8_t* w, int64_t rb, const uint8_t* a, int64_t as,
             int64_t cols, float* y, int64_t ldy) {
  const int64_t nb = cols / kQKK;
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i m2 = _mm256_set1_epi8(0x03);
  __m256 acc[R][T];
  for (int i = 0; i < R; ++i) {
    for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_ps();
  }
  for (int64_t b = 0; b < nb; ++b) {
    // Each block is read out of order (scales first), which the hardware
    // prefetchers follow poorly: fetch two blocks ahead.
    for (int i = 0; i < R; ++i) {
      const char* p = reinterpret_cast<const char*>(w + i * rb + (b + 2) * 210);
      for (int off = 0; off < 210; off += 64) {
        _mm_prefetch(p + off, _MM_HINT_T0);
      }
      _mm_prefetch(p + 209, _MM_HINT_T0);
    }
    __m256i sumi[R][T];
    for (int i = 0; i < R; ++i) {
      const uint8_t* blk = w + i * rb + b * 210;
      const __m256i sc16 = _mm256_cvtepi8_epi16(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192)));
      for (int j = 0; j < T; ++j) {
        const __m256i bs = Load256(a + j * as + cols + nb * 4 + b * 32);
        sumi[i][j] =
            _mm256_sub_epi32(_mm256_setzero_si256(),
                             _mm256_slli_epi32(_mm256_madd_epi16(sc16, bs), 5));
      }
    }
    for (int h = 0; h < 2; ++h) {
      for (int k = 0; k < 4; ++k) {
        __m256i xv[T];
        for (int j = 0; j < T; ++j) {
          xv[j] = Load256(a + j * as + b * kQKK + 128 * h + 32 * k);
        }
        for (int i = 0; i < R; ++i) {
          const uint8_t* blk = w + i * rb + b * 210;
          const __m256i ql = Load256(blk + 64 * h + 32 * (k & 1));
          const __m256i qh = Load256(blk + 128 + 32 * h);
          const __m256i lo4 =
              (k < 2) ? _mm256_and_si256(ql, m4)
                      : _mm256_and_si256(_mm256_srli_epi16(ql, 4), m4);
          const __m256i hi2 = _mm256_slli_epi16(
              _mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), m2), 4);
          const __m256i q = _mm256_or_si256(lo4, hi2);
          // Scales of sub-blocks 8h + 2k (first 16) and 8h + 2k + 1.
          const __m128i s8 =
              _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192));
          const int s = 8 * h + 2 * k;
          const __m128i pat = _mm_set_epi64x(0x0101010101010101LL * (s + 1),
                                             0x0101010101010101LL * s);
          const __m256i scale = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(s8, pat));
          for (int j = 0; j < T; ++j) {
            sumi[i][j] = _mm256_add_epi32(
                sumi[i][j],
                _mm256_madd_epi16(scale, _mm256_maddubs_epi16(q, xv[j])));
          }
        }
      }
    }
    for (int i = 0; i < R; ++i) {
      const float d = HalfToFloat(w + i * rb + b * 210 + 208);
      for (int j = 0; j < T; ++j) {
        const float dy = reinterpret_cast<const float*>(a + j * as + cols)[b];
        acc[i][j] = _mm256_fmadd_ps(_mm256_set1_ps(d * dy),
                                    _mm256_cvtepi32_ps(sumi[i][j]), acc[i][j]);
      }
    }
  }
  for (int i = 0; i < R; ++i) {
    for (int j = 0; j < T; ++j) y[j * ldy + i] = Hsum(acc[i][j]);
  }
}

struct Q6KTile {
  template <int R, int T>
  struct Of {
    static void Run(const uint8_t* w, int64_t rb, const uint8_t* a, int64_t as,
                    int64_t cols, float* y, int64_t ldy) {
      TileQ6K<R, T>(w, rb, a, as, cols, y, ldy);
    }
  };
};

}  // namespace

// ---------------------------------------------------------------------------
// Activation converter.

void QuantizeActQ8_K(const float* x, uint8_t* a, int64_t cols) {
  const int64_t nb = cols / kQKK;
  float* dd = reinterpret_cast<float*>(a + cols);
  int16_t* bsums = reinterpret_cast<int16_t*>(a + cols + nb * 4);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t b = 0; b < nb; ++b, x += kQKK, bsums += 16) {
    __m256 mx = _mm256_setzero_ps();
    for (int k = 0; k < 32; ++k) {
      mx =
          _mm256_max_ps(mx, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * k)));
    }
    __m128 m =
        _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float amax = _mm_cvtss_f32(m);
    int8_t* qs = reinterpret_cast<int8_t*>(a + b * kQKK);
    if (amax == 0.0f) {
      dd[b] = 0.0f;
      std::memset(qs, 0, kQKK);
      std::memset(bsums, 0, 16 * sizeof(int16_t));
      continue;
    }
    // The signed value of the first element reaching amax.
    float max = 0.0f;
    const __m256 vamax = _mm256_set1_ps(amax);
    for (int k = 0; k < 32; ++k) {
      const __m256 ax = _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * k));
      const int hit = _mm256_movemask_ps(_mm256_cmp_ps(ax, vamax, _CMP_EQ_OQ));
      if (hit != 0) {
        max = x[8 * k + __builtin_ctz(static_cast<unsigned>(hit))];
        break;
      }
    }
    const float iscale = -127.f / max;
    const __m256 vs = _mm256_set1_ps(iscale);
    const __m256i lim = _mm256_set1_epi32(127);
    for (int g = 0; g < 8; ++g) {
      __m256i q[4];
      for (int k = 0; k < 4; ++k) {
        q[k] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(
                                    vs, _mm256_loadu_ps(x + 32 * g + 8 * k))),
                                lim);
      }
      bsums[2 * g] = static_cast<int16_t>(HsumI(_mm256_add_epi32(q[0], q[1])));
      bsums[2 * g + 1] =
          static_cast<int16_t>(HsumI(_mm256_add_epi32(q[2], q[3])));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs + 32 * g),
                          PackI8(q[0], q[1], q[2], q[3]));
    }
    dd[b] = 1 / iscale;
  }
}

// ---------------------------------------------------------------------------
// Matrix kernels.

// Tile shapes as in avx2_matmul.cc (bench/README.md).
FACET_AVX2_GEMM(GemmQ4K, Q45KTile<false>, 8, 4, 4)
FACET_AVX2_GEMM(GemmQ5K, Q45KTile<true>, 8, 4, 4)
// q6_k GEMV: one row at a time streams faster at every width measured.
FACET_AVX2_GEMM(GemmQ6K, Q6KTile, 1, 4, 4)
#undef FACET_AVX2_GEMM

}  // namespace facet::kernels::avx2
