// AVX2+FMA+F16C activation converters and matrix kernels; this file alone is
// compiled with -mavx2 -mfma -mf16c. It uses no inline functions or
// templates from other headers (the linker may merge such copies across
// translation units compiled for different ISAs).
//
// Every kernel computes one (row, token) result with the same operations
// whatever tile it falls in: a tile of R rows x T tokens only interleaves
// independent per-pair accumulations, so GEMV (n == 1) and GEMM agree bit
// for bit and splitting rows or tokens never changes a result.
#include <immintrin.h>

#include <cstring>

#include "kernels/x86/x86_ops.h"

namespace facet::kernels::avx2 {
namespace {

constexpr int kQK = 32;
constexpr int kQKK = 256;
// Activations processed together are kept within about this many bytes so
// they stay in L2 while a row block is reused over them.
constexpr int64_t kActChunkBytes = 192 * 1024;
// GEMV rows at least this long are read in blocks of several rows (which
// reuses the activations); shorter ones one at a time, in memory order:
// interleaving 8 rows of 1536 q4_0 columns (864 bytes) streamed ~2x slower
// from DRAM, while 8 rows of 5376 q8_0 columns streamed faster.
constexpr int64_t kLongRowBytes = 4096;

inline int64_t MinI(int64_t a, int64_t b) { return a < b ? a : b; }

inline float HalfToFloat(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

inline float Hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float Hsum128(__m128 s) {
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline int32_t HsumI(__m256i v) {
  __m128i s =
      _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// 16 bytes of packed nibbles -> 32 bytes 0..15: low nibbles first. The
// 16 bytes are broadcast to both lanes by the load; the high lane is
// shifted right by 4.
inline __m256i Nibbles(const uint8_t* qs) {
  const __m256i v = _mm256_broadcastsi128_si256(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
  return _mm256_and_si256(_mm256_srlv_epi64(v, _mm256_set_epi64x(4, 4, 0, 0)),
                          _mm256_set1_epi8(0x0F));
}

// Byte j is 0x10 where bit j of the 32-bit word at p is set, else 0.
inline __m256i HighBits(const uint8_t* p) {
  uint32_t x;
  std::memcpy(&x, p, 4);
  const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                         0x0101010101010101, 0);
  __m256i bytes =
      _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(x)), shuf);
  bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
  bytes = _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1));
  return _mm256_and_si256(bytes, _mm256_set1_epi8(0x10));
}

inline __m256i Load256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

// roundf (half away from zero) of each lane, exact for |v| < 2^23.
inline __m256i RoundAway(__m256 v) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
  const __m256 up = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
  const __m256 one = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1));
  return _mm256_cvtps_epi32(_mm256_add_ps(t, _mm256_and_ps(up, one)));
}

// Packs 4 x 8 int32 (each in [-128, 127]) into 32 int8 in order.
inline __m256i PackI8(__m256i i0, __m256i i1, __m256i i2, __m256i i3) {
  const __m256i a = _mm256_packs_epi32(i0, i1);
  const __m256i b = _mm256_packs_epi32(i2, i3);
  const __m256i c = _mm256_packs_epi16(a, b);
  return _mm256_permutevar8x32_epi32(c,
                                     _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// ---------------------------------------------------------------------------
// Legacy 32-element blocks against q8_0 activations.
//
// A "kind" says how one weight block is loaded (Load), how a token's 32
// activation bytes are prepared once for all rows (PrepX) and how one
// (row, token) block pair becomes 8 int32 partial sums (PairDot). The
// per-pair float work is the same for every kind: acc += (dw * dx) * isum,
// plus m * (dx * sum_x) for kinds with a min.

// q8_0: signed weights; |w| * (x with w's sign) keeps maddubs exact.
struct KindQ8_0 {
  static constexpr int kBytes = 34;
  static constexpr bool kHasMin = false;
  struct W {
    __m256i aw, sw;
    __m256 d;
    float m;
  };
  static W Load(const uint8_t* blk) {
    W w;
    w.sw = Load256(blk + 2);
    w.aw = _mm256_abs_epi8(w.sw);
    w.d = _mm256_set1_ps(HalfToFloat(blk));
    w.m = 0;
    return w;
  }
  using X = __m256i;
  static X PrepX(__m256i x) { return x; }
  static __m256i PairDot(const W& w, __m256i x) {
    return _mm256_madd_epi16(
        _mm256_maddubs_epi16(w.aw, _mm256_sign_epi8(x, w.sw)),
        _mm256_set1_epi16(1));
  }
};

// q4_0 / q5_0: unsigned quants q in [0, 31] stand for q - offset. One
// maddubs gives q * x; offset * x (from maddubs with the offset, once per
// token and block for all rows) is subtracted in int16.
template <int kOffset, bool kFive>
struct KindSmall {
  static constexpr int kBytes = kFive ? 22 : 18;
  static constexpr bool kHasMin = false;
  struct W {
    __m256i q;
    __m256 d;
    float m;
  };
  struct X {
    __m256i x, off;
  };
  static W Load(const uint8_t* blk) {
    W w;
    w.q = kFive ? _mm256_or_si256(Nibbles(blk + 6), HighBits(blk + 2))
                : Nibbles(blk + 2);
    w.d = _mm256_set1_ps(HalfToFloat(blk));
    w.m = 0;
    return w;
  }
  static X PrepX(__m256i x) {
    return {x, _mm256_maddubs_epi16(_mm256_set1_epi8(kOffset), x)};
  }
  static __m256i PairDot(const W& w, const X& x) {
    return _mm256_madd_epi16(
        _mm256_sub_epi16(_mm256_maddubs_epi16(w.q, x.x), x.off),
        _mm256_set1_epi16(1));
  }
};
using KindQ4_0 = KindSmall<8, false>;
using KindQ5_0 = KindSmall<16, true>;

// q4_1 / q5_1: unsigned weights 0..31 and a min m.
template <bool kFive>
struct KindMin {
  static constexpr int kBytes = kFive ? 24 : 20;
  static constexpr bool kHasMin = true;
  struct W {
    __m256i q;
    __m256 d;
    float m;
  };
  static W Load(const uint8_t* blk) {
    W w;
    w.q = kFive ? _mm256_or_si256(Nibbles(blk + 8), HighBits(blk + 4))
                : Nibbles(blk + 4);
    w.d = _mm256_set1_ps(HalfToFloat(blk));
    w.m = HalfToFloat(blk + 2);
    return w;
  }
  using X = __m256i;
  static X PrepX(__m256i x) { return x; }
  static __m256i PairDot(const W& w, __m256i x) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(w.q, x),
                             _mm256_set1_epi16(1));
  }
};
using KindQ4_1 = KindMin<false>;
using KindQ5_1 = KindMin<true>;

// R rows x T tokens, all of cols. w: first row; a: first activation row.
template <class K, int R, int T>
void TileLegacy(const uint8_t* w, int64_t rb, const uint8_t* a, int64_t as,
                int64_t cols, float* y, int64_t ldy) {
  const int64_t nb = cols / kQK;
  const float* dx[T];
  const int32_t* sx[T];
  for (int j = 0; j < T; ++j) {
    dx[j] = reinterpret_cast<const float*>(a + j * as + cols);
    sx[j] = reinterpret_cast<const int32_t*>(a + j * as + cols + nb * 4);
  }
  __m256 acc[R][T];
  float accm[R][T];
  for (int i = 0; i < R; ++i) {
    for (int j = 0; j < T; ++j) {
      acc[i][j] = _mm256_setzero_ps();
      accm[i][j] = 0;
    }
  }
  for (int64_t b = 0; b < nb; ++b) {
    typename K::X xv[T];
    __m256 dxv[T];
    for (int j = 0; j < T; ++j) {
      xv[j] = K::PrepX(Load256(a + j * as + b * kQK));
      dxv[j] = _mm256_broadcast_ss(dx[j] + b);
    }
    for (int i = 0; i < R; ++i) {
      const typename K::W wv = K::Load(w + i * rb + b * K::kBytes);
      for (int j = 0; j < T; ++j) {
        const __m256i p = K::PairDot(wv, xv[j]);
        acc[i][j] = _mm256_fmadd_ps(_mm256_mul_ps(wv.d, dxv[j]),
                                    _mm256_cvtepi32_ps(p), acc[i][j]);
        if (K::kHasMin) {
          accm[i][j] += wv.m * (dx[j][b] * static_cast<float>(sx[j][b]));
        }
      }
    }
  }
  for (int i = 0; i < R; ++i) {
    for (int j = 0; j < T; ++j) {
      float r = Hsum(acc[i][j]);
      if (K::kHasMin) r += accm[i][j];
      y[j * ldy + i] = r;
    }
  }
}

// Tokens per chunk: a multiple of T whose activations fit kActChunkBytes.
inline int64_t TokenChunk(int64_t as, int T) {
  int64_t c = kActChunkBytes / as / T * T;
  return c < T ? T : c;
}

// The GEMM driver shared by all kinds. n < TG: GEMV blocks of RV rows;
// otherwise RG x TG tiles over token chunks, then token and row tails.
template <template <int, int> class Tile, int RV, int RG, int TG>
void RunGemm(const uint8_t* w, int64_t rb, int64_t rows, int64_t cols,
             const uint8_t* a, int64_t as, int64_t n, float* y, int64_t ldy) {
  if (n < TG) {
    // Blocks of RV rows only for long rows; short ones stream one at a
    // time, in memory order.
    const int64_t rv = rb >= kLongRowBytes ? RV : 1;
    for (int64_t t = 0; t < n; ++t) {
      int64_t r = 0;
      for (; rv > 1 && r + RV <= rows; r += RV) {
        Tile<RV, 1>::Run(w + r * rb, rb, a + t * as, as, cols, y + t * ldy + r,
                         ldy);
      }
      if (RV > 4 && rv > 1) {
        for (; r + 4 <= rows; r += 4) {
          Tile<4, 1>::Run(w + r * rb, rb, a + t * as, as, cols, y + t * ldy + r,
                          ldy);
        }
      }
      for (; r < rows; ++r) {
        Tile<1, 1>::Run(w + r * rb, rb, a + t * as, as, cols, y + t * ldy + r,
                        ldy);
      }
    }
    return;
  }
  const int64_t chunk = TokenChunk(as, TG);
  for (int64_t t0 = 0; t0 < n; t0 += chunk) {
    const int64_t t1 = MinI(n, t0 + chunk);
    int64_t r = 0;
    for (; r + RG <= rows; r += RG) {
      int64_t t = t0;
      for (; t + TG <= t1; t += TG) {
        Tile<RG, TG>::Run(w + r * rb, rb, a + t * as, as, cols, y + t * ldy + r,
                          ldy);
      }
      for (; t < t1; ++t) {
        Tile<RG, 1>::Run(w + r * rb, rb, a + t * as, as, cols, y + t * ldy + r,
                         ldy);
      }
    }
    for (; r < rows; ++r) {
      int64_t t = t0;
      for (; t + TG <= t1; t += TG) {
        Tile<1, TG>::Run(w + r * rb, rb, a + t * as, as, cols, y + t * ldy + r,
                         ldy);
      }
      for (; t < t1; ++t) {
        Tile<1, 1>::Run(w + r * rb, rb, a + t * as, as, cols, y + t * ldy + r,
                        ldy);
      }
    }
  }
}

template <class K>
struct LegacyTile {
  template <int R, int T>
  struct Of {
    static void Run(const uint8_t* w, int64_t rb, const uint8_t* a, int64_t as,
                    int64_t cols, float* y, int64_t ldy) {
      TileLegacy<K, R, T>(w, rb, a, as, cols, y, ldy);
    }
  };
};

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

// ---------------------------------------------------------------------------
// f16 / bf16 weights against f32 activations: 8 lanes per pair, one fma
// per 8 columns, then a scalar tail for cols % 8.

struct F16Conv {
  static __m256 Load8(const uint8_t* p) {
    return _mm256_cvtph_ps(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static float One(const uint8_t* p) { return HalfToFloat(p); }
};

struct BF16Conv {
  static __m256 Load8(const uint8_t* p) {
    const __m256i v = _mm256_cvtepu16_epi32(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
  }
  static float One(const uint8_t* p) {
    const uint32_t u = static_cast<uint32_t>(p[0] | (p[1] << 8)) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
};

template <class C, int R, int T>
void TileHalf(const uint8_t* w, int64_t rb, const uint8_t* a, int64_t as,
              int64_t cols, float* y, int64_t ldy) {
  __m256 acc[R][T];
  for (int i = 0; i < R; ++i) {
    for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_ps();
  }
  int64_t c = 0;
  for (; c + 8 <= cols; c += 8) {
    __m256 xv[T];
    for (int j = 0; j < T; ++j) {
      xv[j] = _mm256_loadu_ps(reinterpret_cast<const float*>(a + j * as) + c);
    }
    for (int i = 0; i < R; ++i) {
      const __m256 wv = C::Load8(w + i * rb + 2 * c);
      for (int j = 0; j < T; ++j) {
        acc[i][j] = _mm256_fmadd_ps(wv, xv[j], acc[i][j]);
      }
    }
  }
  for (int i = 0; i < R; ++i) {
    for (int j = 0; j < T; ++j) {
      float r = Hsum(acc[i][j]);
      for (int64_t k = c; k < cols; ++k) {
        r += C::One(w + i * rb + 2 * k) *
             reinterpret_cast<const float*>(a + j * as)[k];
      }
      y[j * ldy + i] = r;
    }
  }
}

template <class C>
struct HalfTile {
  template <int R, int T>
  struct Of {
    static void Run(const uint8_t* w, int64_t rb, const uint8_t* a, int64_t as,
                    int64_t cols, float* y, int64_t ldy) {
      TileHalf<C, R, T>(w, rb, a, as, cols, y, ldy);
    }
  };
};

}  // namespace

// ---------------------------------------------------------------------------
// Activation converters.

void QuantizeActQ8_0(const float* x, uint8_t* a, int64_t cols) {
  const int64_t nb = cols / kQK;
  float* dd = reinterpret_cast<float*>(a + cols);
  int32_t* sums = reinterpret_cast<int32_t*>(a + cols + nb * 4);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t b = 0; b < nb; ++b, x += kQK) {
    __m256 v[4];
    __m256 mx = _mm256_setzero_ps();
    for (int k = 0; k < 4; ++k) {
      v[k] = _mm256_loadu_ps(x + 8 * k);
      mx = _mm256_max_ps(mx, _mm256_andnot_ps(sign, v[k]));
    }
    __m128 m =
        _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float amax = _mm_cvtss_f32(m);
    const float d = amax / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    dd[b] = _cvtsh_ss(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT));
    const __m256 vid = _mm256_set1_ps(id);
    __m256i q[4];
    for (int k = 0; k < 4; ++k) q[k] = RoundAway(_mm256_mul_ps(v[k], vid));
    sums[b] = HsumI(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]),
                                     _mm256_add_epi32(q[2], q[3])));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(a + b * kQK),
                        PackI8(q[0], q[1], q[2], q[3]));
  }
}

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

void GemmF32(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
             const uint8_t* a, int64_t a_stride, int64_t n, float* y,
             int64_t ldy) {
  // One DotF32 per pair, as MatMul always did for f32 weights.
  for (int64_t r = 0; r < rows; ++r) {
    const float* wr = reinterpret_cast<const float*>(w + r * row_bytes);
    for (int64_t t = 0; t < n; ++t) {
      y[t * ldy + r] =
          DotF32(wr, reinterpret_cast<const float*>(a + t * a_stride), cols);
    }
  }
}

#define FACET_AVX2_GEMM(Name, TileFamily, RV, RG, TG)                          \
  void Name(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,   \
            const uint8_t* a, int64_t a_stride, int64_t n, float* y,           \
            int64_t ldy) {                                                     \
    RunGemm<TileFamily::Of, RV, RG, TG>(w, row_bytes, rows, cols, a, a_stride, \
                                        n, y, ldy);                            \
  }

// Tile shapes (GEMV rows for long rows; GEMM rows x tokens) from
// interleaved measurements on Zen 3 (bench/README.md).
FACET_AVX2_GEMM(GemmQ8_0, LegacyTile<KindQ8_0>, 8, 4, 2)
FACET_AVX2_GEMM(GemmQ4_0, LegacyTile<KindQ4_0>, 8, 4, 4)
FACET_AVX2_GEMM(GemmQ5_0, LegacyTile<KindQ5_0>, 8, 4, 4)
FACET_AVX2_GEMM(GemmQ4_1, LegacyTile<KindQ4_1>, 8, 4, 2)
FACET_AVX2_GEMM(GemmQ5_1, LegacyTile<KindQ5_1>, 8, 4, 2)
FACET_AVX2_GEMM(GemmQ4K, Q45KTile<false>, 8, 4, 4)
FACET_AVX2_GEMM(GemmQ5K, Q45KTile<true>, 8, 4, 4)
// q6_k GEMV: one row at a time streams faster at every width measured.
FACET_AVX2_GEMM(GemmQ6K, Q6KTile, 1, 4, 4)
FACET_AVX2_GEMM(GemmF16, HalfTile<F16Conv>, 8, 4, 2)
FACET_AVX2_GEMM(GemmBF16, HalfTile<BF16Conv>, 8, 4, 2)
#undef FACET_AVX2_GEMM

}  // namespace facet::kernels::avx2
