// AVX2 kernels over the 8-row packed q4_0 / q8_0 / q4_K / q6_K layouts
// (kernels/ref/packed_ref.h); compiled with -mavx2 -mfma -mf16c like
// avx2_matmul.cc, and like it self-contained (no inline code shared with
// translation units built for other ISAs).
//
// One 32-byte weight load holds 4 columns of 8 rows; the 4 matching
// activation bytes are broadcast, so maddubs + madd leave row i's partial
// sum in 32-bit lane i. A block's integer sum is finished in the lanes and
// scaled by the 8 row scales at once: one convert, multiply and fma per 8
// (row, token) pairs instead of per pair, and no horizontal sums.
//
// Every (row, token) result is acc = fma(d_w * d_x, float(isum_b), acc)
// over the blocks in order, whatever the tile, so GEMV and GEMM agree bit
// for bit.
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "kernels/x86/x86_ops.h"

namespace facet::kernels::avx2 {
namespace {

constexpr int64_t kQK = 32;
constexpr int kGroup = 8;
// Tokens per chunk are kept within about this many activation bytes so
// they stay in L2 while each 8-row group is reused over them.
constexpr int64_t kActChunkBytes = 192 * 1024;

inline __m256i Bcast4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

inline __m256i Load256(const uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

inline __m256 Scales8(const uint8_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// 8 rows x T tokens of q4_0x8 weights (w: the group) against q8_0
// activations; y: row 0 of token 0's outputs.
template <int T>
void TileQ4(const uint8_t* w, int64_t nb, int64_t cols, const uint8_t* a,
            int64_t as, float* y, int64_t ldy) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[T];
  for (int j = 0; j < T; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = w + b * (kGroup * 18);
    __m256i s16[T];
    for (int j = 0; j < T; ++j) s16[j] = _mm256_setzero_si256();
    // Each int16 lane sums 16 products of a 4-bit weight (0..15) and an
    // activation (|x| <= 127): at most 30480, no overflow.
    for (int h = 0; h < 4; ++h) {
      const __m256i p = Load256(blk + 16 + 32 * h);
      const __m256i lo = _mm256_and_si256(p, m4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(p, 4), m4);
      for (int j = 0; j < T; ++j) {
        const uint8_t* xq = a + j * as + b * kQK;
        const __m256i pl = _mm256_maddubs_epi16(lo, Bcast4(xq + 4 * h));
        const __m256i ph = _mm256_maddubs_epi16(hi, Bcast4(xq + 16 + 4 * h));
        s16[j] = _mm256_add_epi16(s16[j], _mm256_add_epi16(pl, ph));
      }
    }
    const __m256 dw = Scales8(blk);
    for (int j = 0; j < T; ++j) {
      const uint8_t* aj = a + j * as;
      const float dx = reinterpret_cast<const float*>(aj + cols)[b];
      const int32_t sx =
          reinterpret_cast<const int32_t*>(aj + cols + nb * 4)[b];
      // sum (q - 8) x = sum q x - 8 sum x.
      const __m256i isum = _mm256_sub_epi32(_mm256_madd_epi16(s16[j], ones),
                                            _mm256_set1_epi32(8 * sx));
      acc[j] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(dx)),
                               _mm256_cvtepi32_ps(isum), acc[j]);
    }
  }
  for (int j = 0; j < T; ++j) _mm256_storeu_ps(y + j * ldy, acc[j]);
}

// 8 rows x T tokens of q8_0x8 weights: |w| * (x with w's sign) keeps
// maddubs exact (each pair sum at most 2 * 127 * 127).
template <int T>
void TileQ8(const uint8_t* w, int64_t nb, int64_t cols, const uint8_t* a,
            int64_t as, float* y, int64_t ldy) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[T];
  for (int j = 0; j < T; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = w + b * (kGroup * 34);
    __m256i s32[T];
    for (int j = 0; j < T; ++j) s32[j] = _mm256_setzero_si256();
    for (int h = 0; h < 8; ++h) {
      const __m256i sw = Load256(blk + 16 + 32 * h);
      const __m256i aw = _mm256_abs_epi8(sw);
      for (int j = 0; j < T; ++j) {
        const __m256i x = Bcast4(a + j * as + b * kQK + 4 * h);
        const __m256i p = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(x, sw));
        s32[j] = _mm256_add_epi32(s32[j], _mm256_madd_epi16(p, ones));
      }
    }
    const __m256 dw = Scales8(blk);
    for (int j = 0; j < T; ++j) {
      const float dx = reinterpret_cast<const float*>(a + j * as + cols)[b];
      acc[j] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(dx)),
                               _mm256_cvtepi32_ps(s32[j]), acc[j]);
    }
  }
  for (int j = 0; j < T; ++j) _mm256_storeu_ps(y + j * ldy, acc[j]);
}

// 8 rows x T tokens of q4_Kx8 weights against q8_K activations. Per
// super-block and token: the 8 sub-block sums of q * x finish in 16-bit
// lanes (8 maddubs, at most 30480), one madd with the sub-block scale
// (duplicated in both 16-bit halves of a row's lane) makes them 32-bit;
// the mins meet the activation's 16-element sums the same way. Then
// acc += (d_w d_x) isum and accm += (dmin_w d_x) msum; the result is
// acc - accm.
template <int T>
void TileQ4K(const uint8_t* w, int64_t nb, int64_t cols, const uint8_t* a,
             int64_t as, float* y, int64_t ldy) {
  constexpr int64_t kBlock = kGroup * 144;
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i k1 = _mm256_set1_epi32(0x3f3f3f3f);
  const __m256i k2 = _mm256_set1_epi32(0x0f0f0f0f);
  const __m256i k3 = _mm256_set1_epi32(0x03030303);
  const __m256i lo8 = _mm256_set1_epi32(0xFF);
  __m256 acc[T], accm[T];
  for (int j = 0; j < T; ++j) acc[j] = accm[j] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = w + b * kBlock;
    // The 6-bit scales and mins of 8 rows, one row per 32-bit lane, as in
    // ggml's get_scale_min_k4: u0/u1 scales 0-3/4-7, u2/u3 mins 0-3/4-7.
    const __m256i w0 = Load256(blk + 32), w1 = Load256(blk + 64),
                  w2 = Load256(blk + 96);
    __m256i u[4];
    u[0] = _mm256_and_si256(w0, k1);
    u[1] = _mm256_or_si256(
        _mm256_and_si256(w2, k2),
        _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(w0, 6), k3), 4));
    u[2] = _mm256_and_si256(w1, k1);
    u[3] = _mm256_or_si256(
        _mm256_and_si256(_mm256_srli_epi32(w2, 4), k2),
        _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(w1, 6), k3), 4));
    // Byte s of the scales (or mins) in both 16-bit halves of each lane.
    auto dup = [&](__m256i v, int s) {
      const __m256i x =
          _mm256_and_si256(_mm256_srli_epi32(v, 8 * (s & 3)), lo8);
      return _mm256_or_si256(x, _mm256_slli_epi32(x, 16));
    };
    __m256i s32[T];
    for (int j = 0; j < T; ++j) s32[j] = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      __m256i sl[T], sh[T];
      for (int j = 0; j < T; ++j) sl[j] = sh[j] = _mm256_setzero_si256();
      for (int h = 0; h < 8; ++h) {
        const __m256i p = Load256(blk + 128 + 256 * c + 32 * h);
        const __m256i lo = _mm256_and_si256(p, m4);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(p, 4), m4);
        for (int j = 0; j < T; ++j) {
          const uint8_t* xq = a + j * as + b * 256 + 64 * c;
          sl[j] = _mm256_add_epi16(
              sl[j], _mm256_maddubs_epi16(lo, Bcast4(xq + 4 * h)));
          sh[j] = _mm256_add_epi16(
              sh[j], _mm256_maddubs_epi16(hi, Bcast4(xq + 32 + 4 * h)));
        }
      }
      const __m256i scl = dup(u[(2 * c) / 4], 2 * c);
      const __m256i sch = dup(u[(2 * c + 1) / 4], 2 * c + 1);
      for (int j = 0; j < T; ++j) {
        s32[j] = _mm256_add_epi32(
            s32[j], _mm256_add_epi32(_mm256_madd_epi16(sl[j], scl),
                                     _mm256_madd_epi16(sh[j], sch)));
      }
    }
    const __m256 dw = Scales8(blk), dmin = Scales8(blk + 16);
    for (int j = 0; j < T; ++j) {
      const uint8_t* aj = a + j * as;
      const float dx = reinterpret_cast<const float*>(aj + cols)[b];
      // Sub-block s's activation sum is bsums[2s] + bsums[2s + 1]: one
      // madd of (m_s, m_s) with that pair.
      const uint8_t* bs = aj + cols + nb * 4 + b * 32;
      __m256i ms = _mm256_setzero_si256();
      for (int sb = 0; sb < 8; ++sb) {
        ms = _mm256_add_epi32(
            ms, _mm256_madd_epi16(dup(u[2 + sb / 4], sb), Bcast4(bs + 4 * sb)));
      }
      const __m256 vdx = _mm256_set1_ps(dx);
      acc[j] = _mm256_fmadd_ps(_mm256_mul_ps(dw, vdx),
                               _mm256_cvtepi32_ps(s32[j]), acc[j]);
      accm[j] = _mm256_fmadd_ps(_mm256_mul_ps(dmin, vdx),
                                _mm256_cvtepi32_ps(ms), accm[j]);
    }
  }
  for (int j = 0; j < T; ++j) {
    _mm256_storeu_ps(y + j * ldy, _mm256_sub_ps(acc[j], accm[j]));
  }
}

// The 6-bit weights of q6_Kx8 columns 128h + 32K + 4j.. (h < 2, K < 4,
// j < 8) of the 8 rows at super-block blk, one row per 32-bit lane, 0..63:
// the low (K < 2) or high nibble of ql vector 16h + 8 (K % 2) + j and
// bits 2K, 2K + 1 of qh vector 8h + j moved to bits 4-5. The 16-bit shifts
// carry bits across the bytes of a pair only where the masks drop them.
template <int K>
inline __m256i Q6Weights(const uint8_t* blk, int h, int j) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i m30 = _mm256_set1_epi8(0x30);
  const __m256i ql = Load256(blk + 144 + 32 * (16 * h + 8 * (K & 1) + j));
  const __m256i qh = Load256(blk + 1168 + 32 * (8 * h + j));
  const __m256i lo = K < 2 ? _mm256_and_si256(ql, m4)
                           : _mm256_and_si256(_mm256_srli_epi16(ql, 4), m4);
  __m256i hi = qh;
  if constexpr (K == 0) hi = _mm256_slli_epi16(qh, 4);
  if constexpr (K == 1) hi = _mm256_slli_epi16(qh, 2);
  if constexpr (K == 3) hi = _mm256_srli_epi16(qh, 2);
  return _mm256_or_si256(lo, _mm256_and_si256(hi, m30));
}

// 8 rows x T tokens of q6_Kx8 weights against q8_K activations. Per
// super-block and token the integer sum is sum_s sc_s (sum q x over
// sub-block s) - 32 sum_s sc_s bsum_s (the -32 offset of q6_K, from the
// activation's 16-element sums): maddubs of the 0..63 weights, two of
// them summed in 16-bit lanes (at most 2 x 2 x 63 x 128 = 32256), then one
// madd with sc_s in both halves of each row's lane. Then
// acc += (d_w d_x) isum, as for the other types.
template <int T>
void TileQ6K(const uint8_t* w, int64_t nb, int64_t cols, const uint8_t* a,
             int64_t as, float* y, int64_t ldy) {
  constexpr int64_t kBlock = kGroup * 210;
  // vpshufb patterns (bytes within each 128-bit lane) turning row i's
  // (sc[2u], sc[2u + 1]) int16 pair into (sc[2u], sc[2u]) or
  // (sc[2u + 1], sc[2u + 1]).
  const __m256i even =
      _mm256_setr_epi32(0x01000100, 0x05040504, 0x09080908, 0x0D0C0D0C,
                        0x01000100, 0x05040504, 0x09080908, 0x0D0C0D0C);
  const __m256i odd = _mm256_add_epi8(even, _mm256_set1_epi8(2));
  __m256 acc[T];
  for (int j = 0; j < T; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = w + b * kBlock;
    // GEMV is bound by how fast the rows stream, and the hardware
    // prefetchers follow a block's out-of-order reads poorly (the
    // file-layout q6_K kernels prefetch too): fetch the next block.
    if (T <= 2) {
      const char* pf = reinterpret_cast<const char*>(blk + kBlock);
      for (int off = 0; off < kBlock; off += 64) {
        _mm_prefetch(pf + off, _MM_HINT_T0);
      }
    }
    auto pair = [&](int u) {
      return _mm256_cvtepi8_epi16(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 16 + 16 * u)));
    };
    __m256i isum[T];
    {
      __m256i c[T];
      for (int j = 0; j < T; ++j) c[j] = _mm256_setzero_si256();
      for (int u = 0; u < 8; ++u) {
        const __m256i sc = pair(u);
        for (int j = 0; j < T; ++j) {
          const uint8_t* bs = a + j * as + cols + nb * 4 + b * 32;
          c[j] =
              _mm256_add_epi32(c[j], _mm256_madd_epi16(sc, Bcast4(bs + 4 * u)));
        }
      }
      for (int j = 0; j < T; ++j) {
        isum[j] = _mm256_sub_epi32(_mm256_setzero_si256(),
                                   _mm256_slli_epi32(c[j], 5));
      }
    }
    // Sub-block 8h + 2k + q: columns 128h + 32k + 4j.., j = 4q..4q+3. k and
    // q are compile-time (the shifts take immediates).
    auto sub_block = [&](int h, auto kc, auto qc) {
      constexpr int k = decltype(kc)::value, q = decltype(qc)::value;
      const __m256i scd =
          _mm256_shuffle_epi8(pair(4 * h + k), q == 1 ? odd : even);
      for (int jp = 4 * q; jp < 4 * q + 4; jp += 2) {
        const __m256i w0 = Q6Weights<k>(blk, h, jp);
        const __m256i w1 = Q6Weights<k>(blk, h, jp + 1);
        for (int j = 0; j < T; ++j) {
          const uint8_t* xq = a + j * as + b * 256 + 128 * h + 32 * k;
          const __m256i p = _mm256_add_epi16(
              _mm256_maddubs_epi16(w0, Bcast4(xq + 4 * jp)),
              _mm256_maddubs_epi16(w1, Bcast4(xq + 4 * jp + 4)));
          isum[j] = _mm256_add_epi32(isum[j], _mm256_madd_epi16(p, scd));
        }
      }
    };
    using I0 = std::integral_constant<int, 0>;
    using I1 = std::integral_constant<int, 1>;
    using I2 = std::integral_constant<int, 2>;
    using I3 = std::integral_constant<int, 3>;
    for (int h = 0; h < 2; ++h) {
      sub_block(h, I0(), I0());
      sub_block(h, I0(), I1());
      sub_block(h, I1(), I0());
      sub_block(h, I1(), I1());
      sub_block(h, I2(), I0());
      sub_block(h, I2(), I1());
      sub_block(h, I3(), I0());
      sub_block(h, I3(), I1());
    }
    const __m256 dw = Scales8(blk);
    for (int j = 0; j < T; ++j) {
      const float dx = reinterpret_cast<const float*>(a + j * as + cols)[b];
      acc[j] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(dx)),
                               _mm256_cvtepi32_ps(isum[j]), acc[j]);
    }
  }
  for (int j = 0; j < T; ++j) _mm256_storeu_ps(y + j * ldy, acc[j]);
}

template <template <int> class Tile, int TG, int64_t kElems = kQK>
void Run(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
         const uint8_t* a, int64_t as, int64_t n, float* y, int64_t ldy) {
  const int64_t nb = cols / kElems;
  const int64_t group_bytes = kGroup * row_bytes;
  int64_t chunk = kActChunkBytes / as / TG * TG;
  if (chunk < TG) chunk = TG;
  for (int64_t t0 = 0; t0 < n; t0 += chunk) {
    const int64_t t1 = t0 + chunk < n ? t0 + chunk : n;
    for (int64_t r = 0; r < rows; r += kGroup) {
      const uint8_t* g = w + (r / kGroup) * group_bytes;
      int64_t t = t0;
      for (; t + TG <= t1; t += TG) {
        Tile<TG>::Run(g, nb, cols, a + t * as, as, y + t * ldy + r, ldy);
      }
      switch (t1 - t) {
        case 3:
          Tile<3>::Run(g, nb, cols, a + t * as, as, y + t * ldy + r, ldy);
          break;
        case 2:
          Tile<2>::Run(g, nb, cols, a + t * as, as, y + t * ldy + r, ldy);
          break;
        case 1:
          Tile<1>::Run(g, nb, cols, a + t * as, as, y + t * ldy + r, ldy);
          break;
        default:
          break;
      }
    }
  }
}

template <int T>
struct Q4 {
  static void Run(const uint8_t* w, int64_t nb, int64_t cols, const uint8_t* a,
                  int64_t as, float* y, int64_t ldy) {
    TileQ4<T>(w, nb, cols, a, as, y, ldy);
  }
};
template <int T>
struct Q8 {
  static void Run(const uint8_t* w, int64_t nb, int64_t cols, const uint8_t* a,
                  int64_t as, float* y, int64_t ldy) {
    TileQ8<T>(w, nb, cols, a, as, y, ldy);
  }
};

template <int T>
struct Q4K {
  static void Run(const uint8_t* w, int64_t nb, int64_t cols, const uint8_t* a,
                  int64_t as, float* y, int64_t ldy) {
    TileQ4K<T>(w, nb, cols, a, as, y, ldy);
  }
};

template <int T>
struct Q6K {
  static void Run(const uint8_t* w, int64_t nb, int64_t cols, const uint8_t* a,
                  int64_t as, float* y, int64_t ldy) {
    TileQ6K<T>(w, nb, cols, a, as, y, ldy);
  }
};

}  // namespace

void GemmQ4_0x8(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
                const uint8_t* a, int64_t a_stride, int64_t n, float* y,
                int64_t ldy) {
  Run<Q4, 4>(w, row_bytes, rows, cols, a, a_stride, n, y, ldy);
}

void GemmQ8_0x8(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
                const uint8_t* a, int64_t a_stride, int64_t n, float* y,
                int64_t ldy) {
  Run<Q8, 4>(w, row_bytes, rows, cols, a, a_stride, n, y, ldy);
}

void GemmQ4_Kx8(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
                const uint8_t* a, int64_t a_stride, int64_t n, float* y,
                int64_t ldy) {
  Run<Q4K, 4, 256>(w, row_bytes, rows, cols, a, a_stride, n, y, ldy);
}

void GemmQ6_Kx8(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
                const uint8_t* a, int64_t a_stride, int64_t n, float* y,
                int64_t ldy) {
  Run<Q6K, 4, 256>(w, row_bytes, rows, cols, a, a_stride, n, y, ldy);
}

}  // namespace facet::kernels::avx2
