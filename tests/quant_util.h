// Helpers shared by the fp16 and quantization tests (tests/quant_*_test.cc):
// float and half bit patterns and byte-level block writers.
#ifndef FACET_TESTS_QUANT_UTIL_H_
#define FACET_TESTS_QUANT_UTIL_H_

#include <cstdint>
#include <cstring>

namespace facet::kernels::quant_testing {

inline uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float FromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline void PutU16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v & 0xFF);
  p[1] = static_cast<uint8_t>(v >> 8);
}
inline uint16_t GetU16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
// Sets 4-bit value v at nibble `hi` (0 low, 1 high) of byte p.
inline void PutNibble(uint8_t* p, int hi, int v) {
  *p = static_cast<uint8_t>((*p & (hi ? 0x0F : 0xF0)) | (v << (4 * hi)));
}
// Sets bit `bit` of a little-endian bit array.
inline void PutBit(uint8_t* p, int bit, int v) {
  if (v) p[bit / 8] |= static_cast<uint8_t>(1 << (bit % 8));
}

// Half bit patterns used below.
inline constexpr uint16_t kHalf0_125 = 0x3000, kHalf0_25 = 0x3400,
                          kHalf0_5 = 0x3800, kHalf2 = 0x4000, kHalf3 = 0x4200,
                          kHalfM1_5 = 0xBE00, kHalfM2 = 0xC000;

// Element e of a 32-element block: nibble in qs[e % 16], low for e < 16.
inline void PutQ4(uint8_t* qs, int e, int q) {
  PutNibble(qs + e % 16, e / 16, q & 15);
}

// q5: low 4 bits as q4, fifth bit of element e is bit e of the 32-bit qh.
inline void PutQ5(uint8_t* qh, uint8_t* qs, int e, int q) {
  PutQ4(qs, e, q);
  PutBit(qh, e, q >> 4);
}

}  // namespace facet::kernels::quant_testing

#endif  // FACET_TESTS_QUANT_UTIL_H_
