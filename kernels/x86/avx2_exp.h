// e^x on 8 floats for the AVX2 translation units (avx2_ops.cc,
// avx2_attention.cc, avx2_vector.cc, all built with -mavx2 -mfma). Internal
// linkage on purpose: a copy per translation unit, so the linker can never
// merge it with a copy built for another ISA.
#ifndef FACET_KERNELS_X86_AVX2_EXP_H_
#define FACET_KERNELS_X86_AVX2_EXP_H_

#include <immintrin.h>

namespace facet::kernels::avx2 {

// Inputs are clamped to [-87, 88], where e^x is a normal float (so far
// negative scores get weight ~1e-38, not 0); within 2 ulp there.
static inline __m256 Exp(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.f)),
                    _mm256_set1_ps(88.f));
  // x = n ln2 + r, |r| <= ln2 / 2, with ln2 split in two for exactness.
  const __m256 n =
      _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  // e^r by its degree-6 Taylor polynomial (Horner).
  __m256 p = _mm256_set1_ps(1.f / 720);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f));
  // Times 2^n in two factors, so n = 128 stays representable.
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i h = _mm256_srai_epi32(ni, 1);
  const __m256 s1 = _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(h, _mm256_set1_epi32(127)), 23));
  const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(
      _mm256_add_epi32(_mm256_sub_epi32(ni, h), _mm256_set1_epi32(127)), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

// Softmax weights e^x (x <= 0, a score minus the row's maximum), exactly
// zero below -87 where the scalar expf underflows too: the clamped e^-87
// would put ~1e-38 of weight on positions that have none, and its products
// with values are denormals.
static inline __m256 SoftmaxWeight(__m256 x) {
  return _mm256_and_ps(Exp(x),
                       _mm256_cmp_ps(x, _mm256_set1_ps(-87.f), _CMP_GE_OQ));
}

// One attention row's scores s[0..count) (count <= 64; s has room up to the
// next multiple of 8) become their softmax weights against the row's
// running maximum m, in place; returns the weights' sum. Lanes past count
// get weight 0. Shared by the AVX2 and AVX-512 attention tiles, so both
// sum in the same order.
static inline float SoftmaxWeights(float* s, int count, float m) {
  const __m256 vm = _mm256_set1_ps(m);
  const __m256 lane = _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7);
  __m256 sum8 = _mm256_setzero_ps();
  for (int j = 0; j < count; j += 8) {
    __m256 p = SoftmaxWeight(_mm256_sub_ps(_mm256_loadu_ps(s + j), vm));
    if (j + 8 > count) {
      p = _mm256_and_ps(
          p, _mm256_cmp_ps(lane, _mm256_set1_ps(static_cast<float>(count - j)),
                           _CMP_LT_OQ));
    }
    _mm256_storeu_ps(s + j, p);
    sum8 = _mm256_add_ps(sum8, p);
  }
  __m128 h =
      _mm_add_ps(_mm256_castps256_ps128(sum8), _mm256_extractf128_ps(sum8, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_movehdup_ps(h));
  return _mm_cvtss_f32(h);
}

}  // namespace facet::kernels::avx2

#endif  // FACET_KERNELS_X86_AVX2_EXP_H_
