// Armv8 NEON kernels over the 8-row packed q4_0 / q8_0 / q4_K layouts
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
// over the blocks in order (q4_K: minus a second such chain for the
// mins), whatever the tile, as in the x86 packed kernels, so GEMV and GEMM
// agree bit for bit. Integer sums are exact (|q8 x| <= 127 * 127, a
// block's sum well within int32), so the result depends on the row's
// integers and scales alone.
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

// q4_Kx8 super-blocks (256 columns) of 8 rows x T tokens against q8_K
// activations, the AVX2 kernel's integer steps with 4 rows per vector.
// Per super-block and token: a sub-block's nibble products (8 per int16
// lane, at most 8 * 15 * 127) are summed per row and times the row's 6-bit
// scale in int32; the mins meet the activation's sub-block sums (pairs of
// its 16-column bsums) the same way. Then acc += (d_w d_x) isum and accm
// += (dmin_w d_x) msum; the result is acc - accm.
template <int T>
void TileQ4K(const uint8_t* w, int64_t nb, int64_t cols, const uint8_t* a,
             int64_t as, float* y, int64_t ldy) {
  constexpr int64_t kBlock = kGroup * 144;
  const uint8x16_t m4 = vdupq_n_u8(0x0F);
  const uint32x4_t k1 = vdupq_n_u32(0x3f3f3f3f);
  const uint32x4_t k2 = vdupq_n_u32(0x0f0f0f0f);
  const uint32x4_t k3 = vdupq_n_u32(0x03030303);
  float32x4_t acc[T][2], accm[T][2];
  for (int j = 0; j < T; ++j) {
    for (int h = 0; h < 2; ++h) acc[j][h] = accm[j][h] = vdupq_n_f32(0.f);
  }
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = w + b * kBlock;
    // ggml's get_scale_min_k4 on 4 rows at once (rows 4h.. in the lanes of
    // half h): byte s of sc[h][0] / sc[h][1] is scale s / s + 4, of mn[h][]
    // min s / s + 4.
    uint32x4_t sc[2][2], mn[2][2];
    for (int h = 0; h < 2; ++h) {
      const uint32x4_t
          w0 = vld1q_u32(reinterpret_cast<const uint32_t*>(blk + 32 + 16 * h)),
          w1 = vld1q_u32(reinterpret_cast<const uint32_t*>(blk + 64 + 16 * h)),
          w2 = vld1q_u32(reinterpret_cast<const uint32_t*>(blk + 96 + 16 * h));
      sc[h][0] = vandq_u32(w0, k1);
      sc[h][1] = vorrq_u32(vandq_u32(w2, k2),
                           vshlq_n_u32(vandq_u32(vshrq_n_u32(w0, 6), k3), 4));
      mn[h][0] = vandq_u32(w1, k1);
      mn[h][1] = vorrq_u32(vandq_u32(vshrq_n_u32(w2, 4), k2),
                           vshlq_n_u32(vandq_u32(vshrq_n_u32(w1, 6), k3), 4));
    }
    int32x4_t isum[T][2];
    for (int j = 0; j < T; ++j) isum[j][0] = isum[j][1] = vdupq_n_s32(0);
    // Sub-block sb = 2c + hi: the low (hi = 0) or high nibbles of the 8
    // vectors of chunk c, against columns 64c + 32 hi ...
    for (int sb = 0; sb < 8; ++sb) {
      const int c = sb / 2, hi = sb % 2;
      int16x8_t s16[T][4];
      for (int j = 0; j < T; ++j) {
        for (int u = 0; u < 4; ++u) s16[j][u] = vdupq_n_s16(0);
      }
      for (int h = 0; h < 8; ++h) {
        const uint8_t* p = blk + 128 + 256 * c + 32 * h;
        uint8x16_t q03 = vld1q_u8(p), q47 = vld1q_u8(p + 16);
        if (hi) {
          q03 = vshrq_n_u8(q03, 4);
          q47 = vshrq_n_u8(q47, 4);
        } else {
          q03 = vandq_u8(q03, m4);
          q47 = vandq_u8(q47, m4);
        }
        const int8x16_t w03 = vreinterpretq_s8_u8(q03);
        const int8x16_t w47 = vreinterpretq_s8_u8(q47);
        for (int j = 0; j < T; ++j) {
          const int8x16_t xb =
              Bcast4(a + j * as + b * 256 + 64 * c + 32 * hi + 4 * h);
          const int8x8_t xl = vget_low_s8(xb);
          s16[j][0] = vmlal_s8(s16[j][0], vget_low_s8(w03), xl);
          s16[j][1] = vmlal_high_s8(s16[j][1], w03, xb);
          s16[j][2] = vmlal_s8(s16[j][2], vget_low_s8(w47), xl);
          s16[j][3] = vmlal_high_s8(s16[j][3], w47, xb);
        }
      }
      // The rows' scales of sub-block sb, one row per lane.
      const int32x4_t shift = vdupq_n_s32(-8 * (sb % 4));
      const uint32x4_t mask = vdupq_n_u32(0xFF);
      int32x4_t scale[2];
      for (int h = 0; h < 2; ++h) {
        scale[h] = vreinterpretq_s32_u32(
            vandq_u32(vshlq_u32(sc[h][sb / 4], shift), mask));
      }
      for (int j = 0; j < T; ++j) {
        for (int h = 0; h < 2; ++h) {
          const int32x4_t rows = vpaddq_s32(vpaddlq_s16(s16[j][2 * h]),
                                            vpaddlq_s16(s16[j][2 * h + 1]));
          isum[j][h] = vmlaq_s32(isum[j][h], rows, scale[h]);
        }
      }
    }
    // The mins as int16 for row pairs (2k, 2k + 1), k < 4: lanes 0-3 are
    // row 2k's, 4-7 row 2k + 1's (mlo: mins 0-3, mhi: mins 4-7).
    int16x8_t mlo[4], mhi[4];
    for (int h = 0; h < 2; ++h) {
      const uint8x16_t lo = vreinterpretq_u8_u32(mn[h][0]);
      const uint8x16_t hi8 = vreinterpretq_u8_u32(mn[h][1]);
      mlo[2 * h] = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(lo)));
      mlo[2 * h + 1] = vreinterpretq_s16_u16(vmovl_high_u8(lo));
      mhi[2 * h] = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(hi8)));
      mhi[2 * h + 1] = vreinterpretq_s16_u16(vmovl_high_u8(hi8));
    }
    float32x4_t dw[2], dm[2];
    Scales8(blk, &dw[0], &dw[1]);
    Scales8(blk + 16, &dm[0], &dm[1]);
    for (int j = 0; j < T; ++j) {
      const uint8_t* aj = a + j * as;
      const int16_t* bs =
          reinterpret_cast<const int16_t*>(aj + cols + nb * 4) + b * 16;
      // Sub-block activation sums 0..7 (at most 32 * 127: int16).
      const int16x8_t xs = vpaddq_s16(vld1q_s16(bs), vld1q_s16(bs + 8));
      const int16x4_t x03 = vget_low_s16(xs), x47 = vget_high_s16(xs);
      const int16x8_t xx03 = vcombine_s16(x03, x03);
      const int16x8_t xx47 = vcombine_s16(x47, x47);
      // Rows 4h .. 4h + 3 of msum[h]: r[i] holds row 4h + i's 4 products
      // of mins s and s + 4 with their sums.
      int32x4_t msum[2];
      for (int h = 0; h < 2; ++h) {
        int32x4_t r[4];
        for (int e = 0; e < 2; ++e) {
          const int16x8_t lo = mlo[2 * h + e], hi8 = mhi[2 * h + e];
          r[2 * e] = vmlal_s16(vmull_s16(vget_low_s16(lo), x03),
                               vget_low_s16(hi8), x47);
          r[2 * e + 1] = vmlal_high_s16(vmull_high_s16(lo, xx03), hi8, xx47);
        }
        msum[h] = vpaddq_s32(vpaddq_s32(r[0], r[1]), vpaddq_s32(r[2], r[3]));
      }
      const float dx = ActScale(aj, cols, b);
      for (int h = 0; h < 2; ++h) {
        acc[j][h] = vfmaq_f32(acc[j][h], vmulq_n_f32(dw[h], dx),
                              vcvtq_f32_s32(isum[j][h]));
        accm[j][h] = vfmaq_f32(accm[j][h], vmulq_n_f32(dm[h], dx),
                               vcvtq_f32_s32(msum[h]));
      }
    }
  }
  for (int j = 0; j < T; ++j) {
    vst1q_f32(y + j * ldy, vsubq_f32(acc[j][0], accm[j][0]));
    vst1q_f32(y + j * ldy + 4, vsubq_f32(acc[j][1], accm[j][1]));
  }
}

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
// tile; tiles[t - 1] handles t tokens, blocks of block_cols columns.
void RunTiles(const TileFn (&tiles)[4], int64_t block_cols, const uint8_t* w,
              int64_t row_bytes, int64_t rows, int64_t cols, const uint8_t* a,
              int64_t as, int64_t n, float* y, int64_t ldy) {
  const int64_t nb = cols / block_cols;
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
  RunTiles(kTiles, kQK, w, row_bytes, rows, cols, a, a_stride, n, y, ldy);
}

void GemmQ8_0x8(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
                const uint8_t* a, int64_t a_stride, int64_t n, float* y,
                int64_t ldy) {
  static constexpr TileFn kTiles[4] = {Tile<Q8, 1>, Tile<Q8, 2>, Tile<Q8, 3>,
                                       Tile<Q8, 4>};
  RunTiles(kTiles, kQK, w, row_bytes, rows, cols, a, a_stride, n, y, ldy);
}

void GemmQ4_Kx8(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
                const uint8_t* a, int64_t a_stride, int64_t n, float* y,
                int64_t ldy) {
  static constexpr TileFn kTiles[4] = {TileQ4K<1>, TileQ4K<2>, TileQ4K<3>,
                                       TileQ4K<4>};
  RunTiles(kTiles, 256, w, row_bytes, rows, cols, a, a_stride, n, y, ldy);
}

}  // namespace facet::kernels::neon
