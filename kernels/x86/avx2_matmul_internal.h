// Helpers shared by the AVX2 matrix kernel files (avx2_matmul.cc,
// avx2_matmul_k.cc), both compiled with the same flags (FACET_AVX2_FLAGS
// in CMakeLists.txt: -mavx2 -mfma -mf16c -ffp-contract=off). Internal
// linkage on purpose: a copy per translation unit, so the linker can never
// merge one with a copy built for another ISA. Include only from files built
// with those flags.
#ifndef FACET_KERNELS_X86_AVX2_MATMUL_INTERNAL_H_
#define FACET_KERNELS_X86_AVX2_MATMUL_INTERNAL_H_

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace facet::kernels::avx2 {

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

static inline int64_t MinI(int64_t a, int64_t b) { return a < b ? a : b; }

static inline float HalfToFloat(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

static inline float Hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

static inline int32_t HsumI(__m256i v) {
  __m128i s =
      _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

static inline __m256i Load256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

// Packs 4 x 8 int32 (each in [-128, 127]) into 32 int8 in order.
static inline __m256i PackI8(__m256i i0, __m256i i1, __m256i i2, __m256i i3) {
  const __m256i a = _mm256_packs_epi32(i0, i1);
  const __m256i b = _mm256_packs_epi32(i2, i3);
  const __m256i c = _mm256_packs_epi16(a, b);
  return _mm256_permutevar8x32_epi32(c,
                                     _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// Tokens per chunk: a multiple of T whose activations fit kActChunkBytes.
static inline int64_t TokenChunk(int64_t as, int T) {
  int64_t c = kActChunkBytes / as / T * T;
  return c < T ? T : c;
}

// The GEMM driver shared by all kinds. n < TG: GEMV blocks of RV rows;
// otherwise RG x TG tiles over token chunks, then token and row tails.
template <template <int, int> class Tile, int RV, int RG, int TG>
static void RunGemm(const uint8_t* w, int64_t rb, int64_t rows, int64_t cols,
                    const uint8_t* a, int64_t as, int64_t n, float* y,
                    int64_t ldy) {
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

// Defines a matrix kernel of x86_ops.h as RunGemm over a tile family.
#define FACET_AVX2_GEMM(Name, TileFamily, RV, RG, TG)                          \
  void Name(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,   \
            const uint8_t* a, int64_t a_stride, int64_t n, float* y,           \
            int64_t ldy) {                                                     \
    RunGemm<TileFamily::Of, RV, RG, TG>(w, row_bytes, rows, cols, a, a_stride, \
                                        n, y, ldy);                            \
  }

}  // namespace facet::kernels::avx2

#endif  // FACET_KERNELS_X86_AVX2_MATMUL_INTERNAL_H_
