// The legacy-block matrix kernels with the i8mm extension: one smmla
// multiplies a 2x8 int8 block of two weight rows by an 8x2 block of two
// tokens into the 4 int32 sums of those pairs. Used for n >= 2; GEMV and
// the odd row or token go to the neondot kernels, whose per-pair
// operations are the same (arm_matmul_impl.inc), so results agree bit for
// bit. This file alone is compiled with -march=armv8.2-a+dotprod+i8mm
// -ffp-contract=off.
#include <arm_neon.h>

#include <cstring>

#include "kernels/arm/arm_ops.h"

namespace facet::kernels::neoni8mm {
namespace {

#include "kernels/arm/arm_matmul_impl.inc"

#if !defined(__ARM_FEATURE_MATMUL_INT8)
#error "neoni8mm_matmul.cc needs -march=...+i8mm"
#endif

using Gemm = void (*)(const uint8_t* w, int64_t rb, int64_t rows, int64_t cols,
                      const uint8_t* a, int64_t as, int64_t n, float* y,
                      int64_t ldy);

// 64-bit halves: {lo half of a, lo half of b} and {hi of a, hi of b}.
inline int8x16_t Zip1(int8x16_t a, int8x16_t b) {
  return vreinterpretq_s8_s64(
      vzip1q_s64(vreinterpretq_s64_s8(a), vreinterpretq_s64_s8(b)));
}
inline int8x16_t Zip2(int8x16_t a, int8x16_t b) {
  return vreinterpretq_s8_s64(
      vzip2q_s64(vreinterpretq_s64_s8(a), vreinterpretq_s64_s8(b)));
}

// The fp16 at p0 and p1 as lanes {p0, p0, p1, p1}.
inline float32x4_t PairHalves(const uint8_t* p0, const uint8_t* p1) {
  const uint64_t h0 = LoadU16(p0), h1 = LoadU16(p1);
  return HalfToF32(vcreate_u16(h0 | h0 << 16 | h1 << 32 | h1 << 48));
}

// RP row pairs x TP token pairs. acc[q][p] holds, in lanes 0..3, the pairs
// (row 2q, token 2p), (2q, 2p + 1), (2q + 1, 2p), (2q + 1, 2p + 1), with
// the same per-pair steps as TileLegacy.
template <class K, int RP, int TP>
void TileMmla(const uint8_t* w, int64_t rb, const uint8_t* a, int64_t as,
              int64_t cols, float* y, int64_t ldy) {
  const int64_t nb = cols / kQK;
  float32x4_t acc[RP][TP], accm[RP][TP];
  for (int q = 0; q < RP; ++q) {
    for (int p = 0; p < TP; ++p) acc[q][p] = accm[q][p] = vdupq_n_f32(0.0f);
  }
  for (int64_t b = 0; b < nb; ++b) {
    // Each token pair as 4 smmla operands: 8 elements of token 2p, then
    // the same 8 of token 2p + 1.
    int8x16_t xv[TP][4];
    float32x4_t dx[TP];
    int32x4_t sx[TP];
    for (int p = 0; p < TP; ++p) {
      const uint8_t* a0 = a + 2 * p * as;
      const uint8_t* a1 = a0 + as;
      const int8_t* x0 = reinterpret_cast<const int8_t*>(a0) + b * kQK;
      const int8_t* x1 = reinterpret_cast<const int8_t*>(a1) + b * kQK;
      const int8x16_t x0l = vld1q_s8(x0), x0h = vld1q_s8(x0 + 16);
      const int8x16_t x1l = vld1q_s8(x1), x1h = vld1q_s8(x1 + 16);
      xv[p][0] = Zip1(x0l, x1l);
      xv[p][1] = Zip2(x0l, x1l);
      xv[p][2] = Zip1(x0h, x1h);
      xv[p][3] = Zip2(x0h, x1h);
      const float d0 = reinterpret_cast<const float*>(a0 + cols)[b];
      const float d1 = reinterpret_cast<const float*>(a1 + cols)[b];
      const float32x2_t d01 = vset_lane_f32(d1, vdup_n_f32(d0), 1);
      dx[p] = vcombine_f32(d01, d01);
      const int32_t s0 =
          reinterpret_cast<const int32_t*>(a0 + cols + nb * 4)[b];
      const int32_t s1 =
          reinterpret_cast<const int32_t*>(a1 + cols + nb * 4)[b];
      const int32x2_t s01 = vset_lane_s32(s1, vdup_n_s32(s0), 1);
      sx[p] = vcombine_s32(s01, s01);
    }
    for (int q = 0; q < RP; ++q) {
      const uint8_t* w0 = w + 2 * q * rb + b * K::kBytes;
      const uint8_t* w1 = w0 + rb;
      int8x16_t l0, h0, l1, h1;
      K::Load(w0, &l0, &h0);
      K::Load(w1, &l1, &h1);
      const int8x16_t wv[4] = {Zip1(l0, l1), Zip2(l0, l1), Zip1(h0, h1),
                               Zip2(h0, h1)};
      const float32x4_t dw = PairHalves(w0, w1);
      const float32x4_t mw = K::kHasMin ? PairHalves(w0 + 2, w1 + 2) : dw;
      for (int p = 0; p < TP; ++p) {
        int32x4_t s = vmmlaq_s32(vdupq_n_s32(0), wv[0], xv[p][0]);
        s = vmmlaq_s32(s, wv[1], xv[p][1]);
        s = vmmlaq_s32(s, wv[2], xv[p][2]);
        s = vmmlaq_s32(s, wv[3], xv[p][3]);
        if constexpr (K::kOffset != 0) {
          s = vsubq_s32(s, vmulq_n_s32(sx[p], K::kOffset));
        }
        if constexpr (K::kHasMin) {
          accm[q][p] =
              vfmaq_f32(accm[q][p], vmulq_f32(mw, dx[p]), vcvtq_f32_s32(sx[p]));
        }
        acc[q][p] =
            vfmaq_f32(acc[q][p], vmulq_f32(dw, dx[p]), vcvtq_f32_s32(s));
      }
    }
  }
  for (int q = 0; q < RP; ++q) {
    for (int p = 0; p < TP; ++p) {
      float o[4];
      vst1q_f32(o, K::kHasMin ? vaddq_f32(acc[q][p], accm[q][p]) : acc[q][p]);
      float* y0 = y + 2 * p * ldy + 2 * q;
      y0[0] = o[0];
      y0[ldy] = o[1];
      y0[1] = o[2];
      y0[ldy + 1] = o[3];
    }
  }
}

// Tokens [0, n) (n even) of one block of 2 RP rows: tiles of 4 tokens,
// then one of 2.
template <class K, int RP>
void MmlaTokens(const uint8_t* w, int64_t rb, const uint8_t* a, int64_t as,
                int64_t n, int64_t cols, float* y, int64_t ldy) {
  int64_t t = 0;
  for (; t + 4 <= n; t += 4) {
    TileMmla<K, RP, 2>(w, rb, a + t * as, as, cols, y + t * ldy, ldy);
  }
  if (t < n) TileMmla<K, RP, 1>(w, rb, a + t * as, as, cols, y + t * ldy, ldy);
}

// Even rows x even tokens in smmla tiles of 4 rows x 4 tokens (and their
// pair tails); the odd last row and token, and GEMV, by `dot`.
template <class K>
void RunMmla(Gemm dot, const uint8_t* w, int64_t rb, int64_t rows, int64_t cols,
             const uint8_t* a, int64_t as, int64_t n, float* y, int64_t ldy) {
  if (n < 2 || rows < 2) {
    dot(w, rb, rows, cols, a, as, n, y, ldy);
    return;
  }
  const int64_t re = rows & ~int64_t{1}, ne = n & ~int64_t{1};
  const int64_t chunk = TokenChunk(as, 4);  // a multiple of 4
  for (int64_t t0 = 0; t0 < ne; t0 += chunk) {
    const int64_t nt = MinI(ne - t0, chunk);
    const uint8_t* at = a + t0 * as;
    float* yt = y + t0 * ldy;
    int64_t r = 0;
    for (; r + 4 <= re; r += 4) {
      MmlaTokens<K, 2>(w + r * rb, rb, at, as, nt, cols, yt + r, ldy);
    }
    if (r < re) MmlaTokens<K, 1>(w + r * rb, rb, at, as, nt, cols, yt + r, ldy);
  }
  if (re < rows) dot(w + re * rb, rb, 1, cols, a, as, n, y + re, ldy);
  if (ne < n) dot(w, rb, re, cols, a + ne * as, as, 1, y + ne * ldy, ldy);
}

}  // namespace

#define FACET_I8MM_GEMM(Name, Kind)                                           \
  void Name(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,  \
            const uint8_t* a, int64_t a_stride, int64_t n, float* y,          \
            int64_t ldy) {                                                    \
    RunMmla<Kind>(neondot::Name, w, row_bytes, rows, cols, a, a_stride, n, y, \
                  ldy);                                                       \
  }
FACET_I8MM_GEMM(GemmQ8_0, KindQ8_0)
FACET_I8MM_GEMM(GemmQ4_0, KindQ4_0)
FACET_I8MM_GEMM(GemmQ4_1, KindQ4_1)
FACET_I8MM_GEMM(GemmQ5_0, KindQ5_0)
FACET_I8MM_GEMM(GemmQ5_1, KindQ5_1)
#undef FACET_I8MM_GEMM
#undef FACET_ARM_GEMM

}  // namespace facet::kernels::neoni8mm
