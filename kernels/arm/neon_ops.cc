// Armv8 NEON vector ops: GeGLU (gelu_tanh_mul). Compiled with
// -march=armv8-a -ffp-contract=off like neon_matmul.cc.
//
// The same operations as avx2::GeluTanhMul and its Exp, in the same order
// (fused multiply-adds where they fuse, round to nearest even), so each
// lane rounds as the AVX2 kernel does: within the test's 4e-7 relative
// bound of the exact GeGLU, and e^x within 2 ulp on [-87, 88].
#include <arm_neon.h>

#include <cmath>

#include "kernels/arm/arm_ops.h"

namespace facet::kernels::neon {
namespace {

// e^x, inputs clamped to [-87, 88] (a normal float result).
inline float32x4_t Exp(float32x4_t x) {
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

}  // namespace

void GeluTanhMul(const float* gate, const float* up, float* out, int64_t n) {
  // 0.5 x (1 + tanh(u)) = x / (1 + e^(-2u)): one exp and one divide, exact
  // in the limits (x -> -inf gives -0, x -> inf gives x).
  const float32x4_t k2 = vdupq_n_f32(-2.f * 0.7978845608028654f);
  const float32x4_t c = vdupq_n_f32(0.044715f);
  const float32x4_t one = vdupq_n_f32(1.f);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const float32x4_t x = vld1q_f32(gate + i);
    const float32x4_t x3 = vmulq_f32(vmulq_f32(x, x), x);
    const float32x4_t t = vmulq_f32(k2, vfmaq_f32(x, c, x3));
    const float32x4_t g = vdivq_f32(x, vaddq_f32(one, Exp(t)));
    vst1q_f32(out + i, vmulq_f32(g, vld1q_f32(up + i)));
  }
  const float k = 0.7978845608028654f;
  for (; i < n; ++i) {
    const float x = gate[i];
    out[i] =
        x / (1.f + std::exp(-2.f * k * (x + 0.044715f * x * x * x))) * up[i];
  }
}

}  // namespace facet::kernels::neon
