// Scalar IEEE half and bfloat16 conversions, done with integer bit
// manipulation only, so the results do not depend on the FPU mode or on
// compiler flags. Fp32ToFp16 matches ggml's GGML_FP32_TO_FP16 reference
// (round to nearest even, subnormals kept, overflow to inf, NaN -> 0x7E00
// with the sign); Fp32ToBf16 matches ggml_compute_fp32_to_bf16.
#ifndef FACET_KERNELS_REF_FP16_H_
#define FACET_KERNELS_REF_FP16_H_

#include <cstdint>
#include <cstring>

namespace facet::kernels {

inline uint32_t FloatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

inline float BitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

inline float Fp16ToFp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  if (exp == 0x1Fu) {  // inf / nan: keep the payload
    return BitsFloat(sign | 0x7F800000u | (mant << 13));
  }
  if (exp != 0) {  // normal: rebias 15 -> 127
    return BitsFloat(sign | ((exp + 112u) << 23) | (mant << 13));
  }
  if (mant == 0) return BitsFloat(sign);  // signed zero
  // Subnormal: value = mant * 2^-24. Normalize so the leading one is bit 10.
  uint32_t e = 113;  // biased fp32 exponent of 2^-14
  while ((mant & 0x400u) == 0) {
    mant <<= 1;
    --e;
  }
  return BitsFloat(sign | (e << 23) | ((mant & 0x3FFu) << 13));
}

inline uint16_t Fp32ToFp16(float f) {
  const uint32_t w = FloatBits(f);
  const uint16_t sign = static_cast<uint16_t>((w >> 16) & 0x8000u);
  const uint32_t a = w & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return sign | 0x7E00u;  // nan
  // 65520 = 0x477FF000 is the tie between 65504 (odd mantissa) and 2^16,
  // so it and everything above rounds to inf.
  if (a >= 0x477FF000u) return sign | 0x7C00u;
  if (a >= 0x38800000u) {  // result is normal (>= 2^-14 before rounding)
    const uint32_t odd = (a >> 13) & 1u;
    const uint32_t r = a + 0xFFFu + odd - (112u << 23);
    return static_cast<uint16_t>(sign | (r >> 13));
  }
  // Result is subnormal or zero, in units of 2^-24. Values up to and
  // including 2^-25 (the tie with the smallest subnormal) become zero.
  if (a <= 0x33000000u) return sign;
  const uint32_t e = a >> 23;  // 102..112
  const uint32_t m = (a & 0x7FFFFFu) | 0x800000u;
  const uint32_t shift = 126u - e;  // 14..24
  const uint32_t q = m >> shift;
  const uint32_t rem = m & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1u);
  const uint32_t rounded =
      q + ((rem > half || (rem == half && (q & 1u))) ? 1u : 0u);
  return static_cast<uint16_t>(sign | rounded);  // may carry into 0x0400
}

inline float Bf16ToFp32(uint16_t h) {
  return BitsFloat(static_cast<uint32_t>(h) << 16);
}

inline uint16_t Fp32ToBf16(float f) {
  const uint32_t u = FloatBits(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) {  // nan: truncate and force quiet
    return static_cast<uint16_t>((u >> 16) | 64u);
  }
  return static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

}  // namespace facet::kernels

#endif  // FACET_KERNELS_REF_FP16_H_
