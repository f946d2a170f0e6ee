// AVX2+FMA+F16C activation converters and matrix kernels for the legacy
// 32-element blocks (q8_0, q4_0, q5_0, q4_1, q5_1), f32, f16 and bf16
// weights; the K-quant kernels are in avx2_matmul_k.cc. Both files are
// compiled with -mavx2 -mfma -mf16c and share avx2_matmul_internal.h
// (internal linkage). They use no inline functions or templates from other
// headers with external linkage (the linker may merge such copies across
// translation units compiled for different ISAs).
//
// Every kernel computes one (row, token) result with the same operations
// whatever tile it falls in: a tile of R rows x T tokens only interleaves
// independent per-pair accumulations, so GEMV (n == 1) and GEMM agree bit
// for bit and splitting rows or tokens never changes a result.
#include <immintrin.h>

#include <cstring>

#include "kernels/x86/avx2_matmul_internal.h"
#include "kernels/x86/x86_ops.h"

namespace facet::kernels::avx2 {
namespace {

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

// roundf (half away from zero) of each lane, exact for |v| < 2^23.
inline __m256i RoundAway(__m256 v) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
  const __m256 up = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
  const __m256 one = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1));
  return _mm256_cvtps_epi32(_mm256_add_ps(t, _mm256_and_ps(up, one)));
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

// Tile shapes (GEMV rows for long rows; GEMM rows x tokens) from
// interleaved measurements on Zen 3 (bench/README.md).
FACET_AVX2_GEMM(GemmQ8_0, LegacyTile<KindQ8_0>, 8, 4, 2)
FACET_AVX2_GEMM(GemmQ4_0, LegacyTile<KindQ4_0>, 8, 4, 4)
FACET_AVX2_GEMM(GemmQ5_0, LegacyTile<KindQ5_0>, 8, 4, 4)
FACET_AVX2_GEMM(GemmQ4_1, LegacyTile<KindQ4_1>, 8, 4, 2)
FACET_AVX2_GEMM(GemmQ5_1, LegacyTile<KindQ5_1>, 8, 4, 2)
FACET_AVX2_GEMM(GemmF16, HalfTile<F16Conv>, 8, 4, 2)
FACET_AVX2_GEMM(GemmBF16, HalfTile<BF16Conv>, 8, 4, 2)
#undef FACET_AVX2_GEMM

}  // namespace facet::kernels::avx2
