// Armv8 NEON kernels over the 8-row packed q4_0 / q8_0 layouts
// (kernels/ref/packed_ref.h); compiled with -march=armv8-a
// -ffp-contract=off like neon_matmul.cc, and self-contained like it.
//
// One 16-byte load holds 4 columns of 4 rows; the 4 matching activation
// bytes are broadcast, so a widening multiply (vmull_s8) leaves 4 products
// of rows r and r + 1 in one int16x8 and a pairwise add-accumulate
// (vpadalq_s16) two partial sums per row in int32 lanes. A block's 8 row
// sums are finished by one pairwise add per 4 rows and scaled by the 8 row
// scales at once: no horizontal sum per (row, token).
//
// Every (row, token) result is acc = fma(d_w * d_x, float(isum_b), acc)
// over the blocks in order, whatever the tile, as in the x86 packed
// kernels, so GEMV and GEMM agree bit for bit. Integer sums are exact
// (|q8 x| <= 127 * 127, a block's sum well within int32), so the result
// depends on the row's integers and scales alone.
#include <arm_neon.h>

#include <cstring>

#include "kernels/arm/arm_ops.h"

namespace facet::kernels::neon {
namespace {

constexpr int64_t kQK = 32;
constexpr int kGroup = 8;
// Tokens per chunk are kept within about this many activation bytes so
// they stay in L2 while each 8-row group is reused over them.
constexpr int64_t kActChunkBytes = 192 * 1024;

inline int8x16_t Bcast4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return vreinterpretq_s8_s32(vdupq_n_s32(v));
}

// The 8 fp16 row scales of a block as two float32x4 (rows 0-3, 4-7).
inline void Scales8(const uint8_t* p, float32x4_t* lo, float32x4_t* hi) {
  const uint16x8_t h = vld1q_u16(reinterpret_cast<const uint16_t*>(p));
  *lo = vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(h)));
  *hi = vcvt_f32_f16(vreinterpret_f16_u16(vget_high_u16(h)));
}

// Int32 partial sums of one token against a group: lane pairs of rows
// (0, 1), (2, 3), (4, 5), (6, 7).
struct Sums {
  int32x4_t s[4];
  void Zero() {
    for (int32x4_t& v : s) v = vdupq_n_s32(0);
  }
  // Products of weights w (rows 4k..4k+3, 4 columns each) and x (4
  // activation bytes, broadcast), added pairwise into s[2k], s[2k + 1].
  void Add(int k, int8x16_t w, int8x16_t x) {
    s[2 * k] = vpadalq_s16(s[2 * k], vmull_s8(vget_low_s8(w), vget_low_s8(x)));
    s[2 * k + 1] = vpadalq_s16(s[2 * k + 1], vmull_high_s8(w, x));
  }
  // As Add, for two weight / activation pairs summed in int16 first (q4_0:
  // |(q - 8) x| <= 8 * 127, so two products stay far inside int16).
  void Add2(int k, int8x16_t w0, int8x16_t x0, int8x16_t w1, int8x16_t x1) {
    const int16x8_t lo = vmlal_s8(vmull_s8(vget_low_s8(w0), vget_low_s8(x0)),
                                  vget_low_s8(w1), vget_low_s8(x1));
    const int16x8_t hi = vmlal_high_s8(vmull_high_s8(w0, x0), w1, x1);
    s[2 * k] = vpadalq_s16(s[2 * k], lo);
    s[2 * k + 1] = vpadalq_s16(s[2 * k + 1], hi);
  }
  // acc[0..1] (rows 0-3, 4-7) += (d_w * d_x) * float(row sums).
  void Scale(float32x4_t dlo, float32x4_t dhi, float dx, float32x4_t* acc) {
    const int32x4_t r03 = vpaddq_s32(s[0], s[1]);
    const int32x4_t r47 = vpaddq_s32(s[2], s[3]);
    acc[0] = vfmaq_f32(acc[0], vmulq_n_f32(dlo, dx), vcvtq_f32_s32(r03));
    acc[1] = vfmaq_f32(acc[1], vmulq_n_f32(dhi, dx), vcvtq_f32_s32(r47));
  }
};

inline float ActScale(const uint8_t* a_row, int64_t cols, int64_t b) {
  float d;
  std::memcpy(&d, a_row + cols + 4 * b, 4);
  return d;
}

// q8_0x8 block sums of T tokens (x: token 0's block of activations).
struct Q8 {
  static constexpr int64_t kBlockBytes = kGroup * 34;
  template <int T>
  static void Add(const uint8_t* blk, const uint8_t* x, int64_t as, Sums* s) {
    for (int h = 0; h < 8; ++h) {
      const int8_t* p = reinterpret_cast<const int8_t*>(blk + 16 + 32 * h);
      const int8x16_t w03 = vld1q_s8(p), w47 = vld1q_s8(p + 16);
      for (int j = 0; j < T; ++j) {
        const int8x16_t xb = Bcast4(x + j * as + 4 * h);
        s[j].Add(0, w03, xb);
        s[j].Add(1, w47, xb);
      }
    }
  }
};

// q4_0x8: nibbles q become q - 8 in int8, so the sums need no
// activation-sum correction.
struct Q4 {
  static constexpr int64_t kBlockBytes = kGroup * 18;
  template <int T>
  static void Add(const uint8_t* blk, const uint8_t* x, int64_t as, Sums* s) {
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    const int8x16_t k8 = vdupq_n_s8(8);
    for (int h = 0; h < 4; ++h) {
      int8x16_t lo[2], hi[2];
      for (int k = 0; k < 2; ++k) {
        const uint8x16_t p = vld1q_u8(blk + 16 + 32 * h + 16 * k);
        lo[k] = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(p, m4)), k8);
        hi[k] = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(p, 4)), k8);
      }
      for (int j = 0; j < T; ++j) {
        const uint8_t* xq = x + j * as;
        const int8x16_t xl = Bcast4(xq + 4 * h), xh = Bcast4(xq + 16 + 4 * h);
        s[j].Add2(0, lo[0], xl, hi[0], xh);
        s[j].Add2(1, lo[1], xl, hi[1], xh);
      }
    }
  }
};

// 8 rows x T tokens of packed weights (w: the group) against q8_0
// activations; y: row 0 of token 0's outputs.
template <class B, int T>
void Tile(const uint8_t* w, int64_t nb, int64_t cols, const uint8_t* a,
          int64_t as, float* y, int64_t ldy) {
  float32x4_t acc[T][2];
  for (int j = 0; j < T; ++j) acc[j][0] = acc[j][1] = vdupq_n_f32(0.f);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = w + b * B::kBlockBytes;
    Sums s[T];
    for (int j = 0; j < T; ++j) s[j].Zero();
    B::template Add<T>(blk, a + b * kQK, as, s);
    float32x4_t dlo, dhi;
    Scales8(blk, &dlo, &dhi);
    for (int j = 0; j < T; ++j) {
      s[j].Scale(dlo, dhi, ActScale(a + j * as, cols, b), acc[j]);
    }
  }
  for (int j = 0; j < T; ++j) {
    vst1q_f32(y + j * ldy, acc[j][0]);
    vst1q_f32(y + j * ldy + 4, acc[j][1]);
  }
}

using TileFn = void (*)(const uint8_t*, int64_t, int64_t, const uint8_t*,
                        int64_t, float*, int64_t);

// Tiles of 4 tokens over each group, the last 1-3 tokens in one smaller
// tile; tiles[t - 1] handles t tokens.
void RunTiles(const TileFn (&tiles)[4], const uint8_t* w, int64_t row_bytes,
              int64_t rows, int64_t cols, const uint8_t* a, int64_t as,
              int64_t n, float* y, int64_t ldy) {
  const int64_t nb = cols / kQK;
  int64_t chunk = kActChunkBytes / as / 4 * 4;
  if (chunk < 4) chunk = 4;
  for (int64_t t0 = 0; t0 < n; t0 += chunk) {
    const int64_t t1 = t0 + chunk < n ? t0 + chunk : n;
    for (int64_t r = 0; r < rows; r += kGroup) {
      const uint8_t* g = w + r * row_bytes;
      for (int64_t t = t0; t < t1; t += 4) {
        const int64_t m = t1 - t < 4 ? t1 - t : 4;
        tiles[m - 1](g, nb, cols, a + t * as, as, y + t * ldy + r, ldy);
      }
    }
  }
}

}  // namespace

void GemmQ4_0x8(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
                const uint8_t* a, int64_t a_stride, int64_t n, float* y,
                int64_t ldy) {
  static constexpr TileFn kTiles[4] = {Tile<Q4, 1>, Tile<Q4, 2>, Tile<Q4, 3>,
                                       Tile<Q4, 4>};
  RunTiles(kTiles, w, row_bytes, rows, cols, a, a_stride, n, y, ldy);
}

void GemmQ8_0x8(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
                const uint8_t* a, int64_t a_stride, int64_t n, float* y,
                int64_t ldy) {
  static constexpr TileFn kTiles[4] = {Tile<Q8, 1>, Tile<Q8, 2>, Tile<Q8, 3>,
                                       Tile<Q8, 4>};
  RunTiles(kTiles, w, row_bytes, rows, cols, a, a_stride, n, y, ldy);
}

}  // namespace facet::kernels::neon
