// e^x on 4 floats for the kNeon translation units (neon_ops.cc,
// neon_attention.cc, both built with -march=armv8-a -ffp-contract=off).
// Internal linkage on purpose, as kernels/x86/avx2_exp.h: a copy per
// translation unit, so the linker can never merge it with a copy built
// with other flags.
#ifndef FACET_KERNELS_ARM_NEON_EXP_H_
#define FACET_KERNELS_ARM_NEON_EXP_H_

#include <arm_neon.h>

namespace facet::kernels::neon {

// The operations of avx2::Exp in the same order (fused multiply-adds
// where they fuse, round to nearest even), so each lane rounds as the AVX2
// one does. Inputs are clamped to [-87, 88], where e^x is a normal float;
// within 2 ulp there.
static inline float32x4_t Exp(float32x4_t x) {
  x = vminq_f32(vmaxq_f32(x, vdupq_n_f32(-87.f)), vdupq_n_f32(88.f));
  // x = n ln2 + r, |r| <= ln2 / 2, with ln2 split in two for exactness.
  const float32x4_t n =
      vrndnq_f32(vmulq_f32(x, vdupq_n_f32(1.44269504088896341f)));
  float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
  r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
  // e^r by its degree-6 Taylor polynomial (Horner).
  float32x4_t p = vdupq_n_f32(1.f / 720);
  p = vfmaq_f32(vdupq_n_f32(1.f / 120), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.f / 24), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.f / 6), p, r);
  p = vfmaq_f32(vdupq_n_f32(0.5f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.f), p, r);
  // Times 2^n in two factors, so n = 128 stays representable.
  const int32x4_t ni = vcvtq_s32_f32(n);  // n is integral: exact
  const int32x4_t h = vshrq_n_s32(ni, 1);
  const int32x4_t bias = vdupq_n_s32(127);
  const float32x4_t s1 =
      vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(h, bias), 23));
  const float32x4_t s2 =
      vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vsubq_s32(ni, h), bias), 23));
  return vmulq_f32(vmulq_f32(p, s1), s2);
}

// Softmax weights e^x (x <= 0, a score minus the row's maximum), exactly
// zero below -87 (and for x = -inf) as the scalar expf gives there: the
// clamped e^-87 would put ~1e-38 of weight on positions that have none.
static inline float32x4_t SoftmaxWeight(float32x4_t x) {
  const uint32x4_t keep = vcgeq_f32(x, vdupq_n_f32(-87.f));
  return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(Exp(x)), keep));
}

}  // namespace facet::kernels::neon

#endif  // FACET_KERNELS_ARM_NEON_EXP_H_
