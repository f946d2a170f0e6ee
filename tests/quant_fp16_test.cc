// Tests for kernels/ref/fp16.h: fp16 and bf16 conversions, checked against
// exact bit patterns derived here, not from the code under test.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "kernels/ref/fp16.h"
#include "tests/quant_util.h"

namespace facet::kernels {
namespace {

using ::facet::kernels::quant_testing::Bits;
using ::facet::kernels::quant_testing::FromBits;

// ---------------------------------------------------------------------------
// fp16 / bf16.

TEST(Fp16Test, Fp32ToFp16ExactCases) {
  struct Case {
    float in;
    uint16_t out;
  };
  const float sub = std::ldexp(1.0f, -24);  // smallest half subnormal
  const Case cases[] = {
      {0.0f, 0x0000},
      {-0.0f, 0x8000},
      {1.0f, 0x3C00},
      {-2.5f, 0xC100},
      {0.5f, 0x3800},
      {65504.0f, 0x7BFF},
      {-65504.0f, 0xFBFF},
      {65519.99f, 0x7BFF},              // just below the tie with 65536
      {65520.0f, 0x7C00},               // tie, 0x7BFF is odd -> rounds to inf
      {1e10f, 0x7C00},                  // overflow
      {std::ldexp(1.0f, -14), 0x0400},  // smallest normal
      {1023 * sub, 0x03FF},             // largest subnormal
      {sub, 0x0001},
      {-sub, 0x8001},
      {0.5f * sub, 0x0000},  // tie between 0 and 1 sub -> even (0)
      {std::nextafter(0.5f * sub, 1.0f), 0x0001},
      {1.5f * sub, 0x0002},     // tie between 1 and 2 -> 2
      {2.5f * sub, 0x0002},     // tie between 2 and 3 -> 2
      {3.5f * sub, 0x0004},     // tie between 3 and 4 -> 4
      {1023.5f * sub, 0x0400},  // tie, rounds up into the normal range
      {1e-10f, 0x0000},
      {1.0f + std::ldexp(1.0f, -11), 0x3C00},      // tie -> even (1.0)
      {1.0f + 3 * std::ldexp(1.0f, -11), 0x3C02},  // tie -> even (up)
      {std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f), 0x3C01},
      {2047.0f / 1024.0f + std::ldexp(1.0f, -11), 0x4000},  // carry to exp
      {0.1f, 0x2E66},
      {std::numeric_limits<float>::infinity(), 0x7C00},
      {-std::numeric_limits<float>::infinity(), 0xFC00},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Fp32ToFp16(c.in), c.out) << "input " << c.in;
  }
  // NaN stays NaN (ggml: 0x7E00 with the sign).
  EXPECT_EQ(Fp32ToFp16(std::numeric_limits<float>::quiet_NaN()), 0x7E00);
  EXPECT_EQ(Fp32ToFp16(FromBits(0xFF800001u)), 0xFE00);
}

TEST(Fp16Test, Fp16ToFp32ExactCases) {
  EXPECT_EQ(Fp16ToFp32(0x3C00), 1.0f);
  EXPECT_EQ(Fp16ToFp32(0xC100), -2.5f);
  EXPECT_EQ(Fp16ToFp32(0x7BFF), 65504.0f);
  EXPECT_EQ(Fp16ToFp32(0x3555), 0.333251953125f);
  EXPECT_EQ(Fp16ToFp32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(Fp16ToFp32(0x03FF), 1023 * std::ldexp(1.0f, -24));
  EXPECT_EQ(Fp16ToFp32(0x0200), std::ldexp(1.0f, -15));
  EXPECT_EQ(Fp16ToFp32(0x0400), std::ldexp(1.0f, -14));
  EXPECT_EQ(Bits(Fp16ToFp32(0x8000)), 0x80000000u);
  EXPECT_EQ(Fp16ToFp32(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(Fp16ToFp32(0xFC00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(Fp16ToFp32(0x7E00)));
  EXPECT_TRUE(std::isnan(Fp16ToFp32(0xFC01)));
}

// Every finite half converts to the float with the same value (checked
// against the format definition) and back to itself.
TEST(Fp16Test, AllHalvesRoundTrip) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const int exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
    const float f = Fp16ToFp32(static_cast<uint16_t>(h));
    if (exp == 0x1F) {
      EXPECT_EQ(std::isnan(f), mant != 0) << h;
      continue;
    }
    const double mag =
        exp == 0 ? std::ldexp(mant, -24) : std::ldexp(1024 + mant, exp - 25);
    ASSERT_EQ(static_cast<double>(f), (h & 0x8000) ? -mag : mag) << h;
    ASSERT_EQ(Fp32ToFp16(f), h) << h;
  }
}

// For every pair of adjacent positive halves, the float midpoint rounds to
// the even one and anything just off the midpoint to the nearer one.
TEST(Fp16Test, MidpointsRoundToNearestEven) {
  for (uint32_t h = 0; h < 0x7BFF; ++h) {
    const float lo = Fp16ToFp32(static_cast<uint16_t>(h));
    const float hi = Fp16ToFp32(static_cast<uint16_t>(h + 1));
    const float mid = 0.5f * (lo + hi);  // exact: halves have 11 bits
    const uint16_t even =
        (h & 1) ? static_cast<uint16_t>(h + 1) : static_cast<uint16_t>(h);
    ASSERT_EQ(Fp32ToFp16(mid), even) << h;
    ASSERT_EQ(Fp32ToFp16(std::nextafter(mid, 0.0f)), h) << h;
    ASSERT_EQ(Fp32ToFp16(std::nextafter(mid, 1e9f)), h + 1) << h;
    ASSERT_EQ(Fp32ToFp16(-mid), even | 0x8000) << h;
  }
}

// Cross-check against the compiler's IEEE half conversion: __fp16 on Arm64
// (GCC 12 has no _Float16 in C++ there), _Float16 elsewhere.
#if defined(__aarch64__)
#define FACET_COMPILER_HALF __fp16
#elif defined(__FLT16_MAX__)
#define FACET_COMPILER_HALF _Float16
#endif
#if defined(FACET_COMPILER_HALF)
TEST(Fp16Test, MatchesCompilerFloat16) {
  for (uint64_t u = 0; u < (1ull << 32); u += 4093) {
    const float f = FromBits(static_cast<uint32_t>(u));
    if (std::isnan(f)) continue;
    const FACET_COMPILER_HALF h = static_cast<FACET_COMPILER_HALF>(f);
    uint16_t hb;
    std::memcpy(&hb, &h, 2);
    ASSERT_EQ(Fp32ToFp16(f), hb) << std::hex << u;
  }
}
#endif

TEST(Bf16Test, ExactCases) {
  EXPECT_EQ(Fp32ToBf16(1.0f), 0x3F80);
  EXPECT_EQ(Fp32ToBf16(-2.5f), 0xC020);
  EXPECT_EQ(Fp32ToBf16(FromBits(0x3F808000u)), 0x3F80);  // tie -> even
  EXPECT_EQ(Fp32ToBf16(FromBits(0x3F818000u)), 0x3F82);  // tie -> even (up)
  EXPECT_EQ(Fp32ToBf16(FromBits(0x3F808001u)), 0x3F81);
  EXPECT_EQ(Fp32ToBf16(FromBits(0x3F807FFFu)), 0x3F80);
  EXPECT_EQ(Fp32ToBf16(FromBits(0x00018000u)), 0x0002);  // subnormal tie
  EXPECT_EQ(Fp32ToBf16(FromBits(0x7F7FFFFFu)), 0x7F80);  // overflow -> inf
  EXPECT_EQ(Fp32ToBf16(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_EQ(Fp32ToBf16(-std::numeric_limits<float>::infinity()), 0xFF80);
  EXPECT_EQ(Fp32ToBf16(FromBits(0x7FC00000u)), 0x7FC0);
  // A NaN whose payload sits only in the low 16 bits must stay NaN.
  EXPECT_EQ(Fp32ToBf16(FromBits(0x7F800001u)), 0x7FC0);
  EXPECT_EQ(Fp32ToBf16(FromBits(0xFF800001u)), 0xFFC0);
  EXPECT_EQ(Bf16ToFp32(0x3F80), 1.0f);
  EXPECT_EQ(Bf16ToFp32(0xC020), -2.5f);
  EXPECT_EQ(Bits(Bf16ToFp32(0x8001)), 0x80010000u);
  EXPECT_TRUE(std::isnan(Bf16ToFp32(0x7FC0)));
}

}  // namespace
}  // namespace facet::kernels
