// Armv8 NEON activation converters and matrix kernels (no dotprod: int8
// dot products by widening multiplies); this file alone is compiled with
// -march=armv8-a -ffp-contract=off. Tiles and the GemmFn contract: see
// arm_matmul_impl.inc.
#include <arm_neon.h>

#include <cmath>
#include <cstring>

#include "kernels/arm/arm_ops.h"

namespace facet::kernels::neon {
namespace {

#include "kernels/arm/arm_matmul_impl.inc"

// ---------------------------------------------------------------------------
// f32 / f16 / bf16 weights against f32 activations: one fma per 4 columns
// and pair into that pair's vector, its lanes summed at the end, then the
// cols % 4 tail in scalar (the same steps in every tile).

struct ConvF32 {
  static constexpr int kSize = 4;
  static float32x4_t Load4(const uint8_t* p) {
    return vld1q_f32(reinterpret_cast<const float*>(p));
  }
  static float One(const uint8_t* p) {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
};

struct ConvF16 {
  static constexpr int kSize = 2;
  static float32x4_t Load4(const uint8_t* p) {
    return HalfToF32(vld1_u16(reinterpret_cast<const uint16_t*>(p)));
  }
  static float One(const uint8_t* p) {
    return vgetq_lane_f32(HalfToF32(vdup_n_u16(LoadU16(p))), 0);
  }
};

struct ConvBF16 {
  static constexpr int kSize = 2;
  static float32x4_t Load4(const uint8_t* p) {
    return vreinterpretq_f32_u32(
        vshll_n_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p)), 16));
  }
  static float One(const uint8_t* p) {
    const uint32_t u = static_cast<uint32_t>(LoadU16(p)) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
};

template <class C, int R, int T>
void TileFloat(const uint8_t* w, int64_t rb, const uint8_t* a, int64_t as,
               int64_t cols, float* y, int64_t ldy) {
  float32x4_t acc[R][T];
  for (int i = 0; i < R; ++i) {
    for (int j = 0; j < T; ++j) acc[i][j] = vdupq_n_f32(0.0f);
  }
  int64_t c = 0;
  for (; c + 4 <= cols; c += 4) {
    float32x4_t xv[T];
    for (int j = 0; j < T; ++j) {
      xv[j] = vld1q_f32(reinterpret_cast<const float*>(a + j * as) + c);
    }
    for (int i = 0; i < R; ++i) {
      const float32x4_t wv = C::Load4(w + i * rb + C::kSize * c);
      for (int j = 0; j < T; ++j) acc[i][j] = vfmaq_f32(acc[i][j], wv, xv[j]);
    }
  }
  for (int i = 0; i < R; ++i) {
    for (int j = 0; j < T; ++j) {
      const float* x = reinterpret_cast<const float*>(a + j * as);
      float r = vaddvq_f32(acc[i][j]);
      for (int64_t k = c; k < cols; ++k) {
        r += C::One(w + i * rb + C::kSize * k) * x[k];
      }
      y[j * ldy + i] = r;
    }
  }
}

template <class C>
struct FloatTile {
  template <int R, int T>
  static void Run(const uint8_t* w, int64_t rb, const uint8_t* a, int64_t as,
                  int64_t cols, float* y, int64_t ldy) {
    TileFloat<C, R, T>(w, rb, a, as, cols, y, ldy);
  }
};

// Packs 4 x 4 int32 (each in [-128, 127]) into 16 int8 in order.
inline int8x16_t PackI8(int32x4_t q0, int32x4_t q1, int32x4_t q2,
                        int32x4_t q3) {
  const int16x8_t lo = vcombine_s16(vqmovn_s32(q0), vqmovn_s32(q1));
  const int16x8_t hi = vcombine_s16(vqmovn_s32(q2), vqmovn_s32(q3));
  return vcombine_s8(vqmovn_s16(lo), vqmovn_s16(hi));
}

// max |x[i]| over 4k floats; maxnm skips NaNs, as the reference's `>` does.
inline float AbsMax(const float* x, int k) {
  float32x4_t m = vdupq_n_f32(0.0f);
  for (int i = 0; i < k; ++i)
    m = vmaxnmq_f32(m, vabsq_f32(vld1q_f32(x + 4 * i)));
  return vmaxnmvq_f32(m);
}

}  // namespace

// ---------------------------------------------------------------------------
// Activation converters: byte-identical to kernels/ref/matmul_ref.cc.

void QuantizeActQ8_0(const float* x, uint8_t* a, int64_t cols) {
  const int64_t nb = cols / kQK;
  float* dd = reinterpret_cast<float*>(a + cols);
  int32_t* sums = reinterpret_cast<int32_t*>(a + cols + nb * 4);
  for (int64_t b = 0; b < nb; ++b, x += kQK) {
    const float amax = AbsMax(x, 8);
    const float d = amax / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    // fcvtn rounds to nearest even, keeps subnormals and overflows to inf
    // (default FPCR), as Fp32ToFp16 does.
    dd[b] = vgetq_lane_f32(vcvt_f32_f16(vcvt_f16_f32(vdupq_n_f32(d))), 0);
    const float32x4_t vid = vdupq_n_f32(id);
    int32x4_t q[8];
    // fcvtas: round half away from zero, as roundf.
    for (int k = 0; k < 8; ++k) {
      q[k] = vcvtaq_s32_f32(vmulq_f32(vld1q_f32(x + 4 * k), vid));
    }
    int32x4_t s = vaddq_s32(vaddq_s32(q[0], q[1]), vaddq_s32(q[2], q[3]));
    s = vaddq_s32(s, vaddq_s32(vaddq_s32(q[4], q[5]), vaddq_s32(q[6], q[7])));
    sums[b] = vaddvq_s32(s);
    int8_t* qs = reinterpret_cast<int8_t*>(a + b * kQK);
    vst1q_s8(qs, PackI8(q[0], q[1], q[2], q[3]));
    vst1q_s8(qs + 16, PackI8(q[4], q[5], q[6], q[7]));
  }
}

void QuantizeActQ8_K(const float* x, uint8_t* a, int64_t cols) {
  const int64_t nb = cols / kQKK;
  float* dd = reinterpret_cast<float*>(a + cols);
  int16_t* bsums = reinterpret_cast<int16_t*>(a + cols + nb * 4);
  for (int64_t b = 0; b < nb; ++b, x += kQKK, bsums += 16) {
    const float amax = AbsMax(x, kQKK / 4);
    int8_t* qs = reinterpret_cast<int8_t*>(a + b * kQKK);
    if (amax == 0.0f) {
      dd[b] = 0.0f;
      std::memset(qs, 0, kQKK);
      std::memset(bsums, 0, 16 * sizeof(int16_t));
      continue;
    }
    // The signed value of the first element reaching amax.
    float max = 0.0f;
    const float32x4_t vamax = vdupq_n_f32(amax);
    for (int k = 0; k < kQKK; k += 4) {
      if (vmaxvq_u32(vceqq_f32(vabsq_f32(vld1q_f32(x + k)), vamax)) != 0) {
        int j = k;
        while (std::fabs(x[j]) != amax) ++j;
        max = x[j];
        break;
      }
    }
    const float iscale = -127.f / max;
    const float32x4_t vs = vdupq_n_f32(iscale);
    const int32x4_t lim = vdupq_n_s32(127);
    for (int g = 0; g < 16; ++g) {
      int32x4_t q[4];
      // fcvtns: round half to even, as lrintf in the default mode.
      for (int k = 0; k < 4; ++k) {
        q[k] = vminq_s32(
            vcvtnq_s32_f32(vmulq_f32(vs, vld1q_f32(x + 16 * g + 4 * k))), lim);
      }
      bsums[g] = static_cast<int16_t>(
          vaddvq_s32(vaddq_s32(vaddq_s32(q[0], q[1]), vaddq_s32(q[2], q[3]))));
      vst1q_s8(qs + 16 * g, PackI8(q[0], q[1], q[2], q[3]));
    }
    dd[b] = 1 / iscale;
  }
}

// ---------------------------------------------------------------------------
// Matrix kernels. Tile shapes (4 rows, TG tokens) are not tuned on Arm
// hardware yet: they keep the register tiles within the 32 vector
// registers.

FACET_ARM_GEMM(GemmF32, FloatTile<ConvF32>, 4)
FACET_ARM_GEMM(GemmF16, FloatTile<ConvF16>, 4)
FACET_ARM_GEMM(GemmBF16, FloatTile<ConvBF16>, 4)
FACET_ARM_GEMM(GemmQ8_0, LegacyTile<KindQ8_0>, 4)
FACET_ARM_GEMM(GemmQ4_0, LegacyTile<KindQ4_0>, 4)
FACET_ARM_GEMM(GemmQ4_1, LegacyTile<KindQ4_1>, 4)
FACET_ARM_GEMM(GemmQ5_0, LegacyTile<KindQ5_0>, 4)
FACET_ARM_GEMM(GemmQ5_1, LegacyTile<KindQ5_1>, 4)
FACET_ARM_GEMM(GemmQ4K, Q45KTile<false>, 4)
FACET_ARM_GEMM(GemmQ5K, Q45KTile<true>, 4)
FACET_ARM_GEMM(GemmQ6K, Q6KTile, 4)
#undef FACET_ARM_GEMM

}  // namespace facet::kernels::neon
