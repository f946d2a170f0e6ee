// Armv8 NEON vector ops: GeGLU (gelu_tanh_mul). Compiled with
// -march=armv8-a -ffp-contract=off like neon_matmul.cc.
//
// The same operations as avx2::GeluTanhMul and its Exp (neon_exp.h), in
// the same order, so each lane rounds as the AVX2 kernel does: within the
// test's 4e-7 relative bound of the exact GeGLU.
#include <arm_neon.h>

#include <cmath>

#include "kernels/arm/arm_ops.h"
#include "kernels/arm/neon_exp.h"

namespace facet::kernels::neon {

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
