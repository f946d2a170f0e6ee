// Tests for kernels/ref/fp16.h and kernels/ref/quant.h. Expected values are
// derived here from the GGUF block definitions (ggml-common.h), not from the
// code under test.
#include "kernels/ref/quant.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "kernels/dtype.h"
#include "kernels/ref/fp16.h"

namespace facet::kernels {
namespace {

uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float FromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
void PutU16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v & 0xFF);
  p[1] = static_cast<uint8_t>(v >> 8);
}
uint16_t GetU16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
// Sets 4-bit value v at nibble `hi` (0 low, 1 high) of byte p.
void PutNibble(uint8_t* p, int hi, int v) {
  *p = static_cast<uint8_t>((*p & (hi ? 0x0F : 0xF0)) | (v << (4 * hi)));
}
// Sets bit `bit` of a little-endian bit array.
void PutBit(uint8_t* p, int bit, int v) {
  if (v) p[bit / 8] |= static_cast<uint8_t>(1 << (bit % 8));
}

// Half bit patterns used below.
constexpr uint16_t kHalf0_125 = 0x3000, kHalf0_25 = 0x3400, kHalf0_5 = 0x3800,
                   kHalf2 = 0x4000, kHalf3 = 0x4200, kHalfM1_5 = 0xBE00,
                   kHalfM2 = 0xC000;

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

#if defined(__FLT16_MAX__)
// Cross-check against the compiler's IEEE _Float16 conversion.
TEST(Fp16Test, MatchesCompilerFloat16) {
  for (uint64_t u = 0; u < (1ull << 32); u += 4093) {
    const float f = FromBits(static_cast<uint32_t>(u));
    if (std::isnan(f)) continue;
    const _Float16 h = static_cast<_Float16>(f);
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

// ---------------------------------------------------------------------------
// Hand-built blocks.

TEST(QuantTest, RowBytes) {
  EXPECT_EQ(RowBytes(DType::kF32, 10), 40);
  EXPECT_EQ(RowBytes(DType::kF16, 10), 20);
  EXPECT_EQ(RowBytes(DType::kBF16, 6), 12);
  EXPECT_EQ(RowBytes(DType::kQ4_0, 64), 36);
  EXPECT_EQ(RowBytes(DType::kQ4_1, 64), 40);
  EXPECT_EQ(RowBytes(DType::kQ5_0, 64), 44);
  EXPECT_EQ(RowBytes(DType::kQ5_1, 64), 48);
  EXPECT_EQ(RowBytes(DType::kQ8_0, 96), 102);
  EXPECT_EQ(RowBytes(DType::kQ4_K, 512), 288);
  EXPECT_EQ(RowBytes(DType::kQ5_K, 512), 352);
  EXPECT_EQ(RowBytes(DType::kQ6_K, 512), 420);
}

TEST(QuantTest, DequantFloatRows) {
  const uint8_t f16[] = {0x00, 0x3C, 0x00, 0xC1, 0xFF, 0x7B, 0x01, 0x80};
  float out[4];
  DequantizeRow(DType::kF16, f16, out, 4);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -2.5f);
  EXPECT_EQ(out[2], 65504.0f);
  EXPECT_EQ(out[3], -std::ldexp(1.0f, -24));
  const uint8_t bf16[] = {0x80, 0x3F, 0x20, 0xC0, 0x49, 0x40, 0x00, 0x00};
  DequantizeRow(DType::kBF16, bf16, out, 4);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -2.5f);
  EXPECT_EQ(out[2], 3.140625f);
  EXPECT_EQ(out[3], 0.0f);
  const float f32[] = {1.5f, -7.25f, 1e30f, -0.0f};
  DequantizeRow(DType::kF32, f32, out, 4);
  EXPECT_EQ(std::memcmp(out, f32, sizeof(f32)), 0);
}

TEST(QuantTest, DequantQ8_0) {
  uint8_t blk[2 * 34] = {};
  const uint16_t ds[2] = {kHalf0_5, kHalfM2};
  const double dv[2] = {0.5, -2.0};
  for (int b = 0; b < 2; ++b) {
    PutU16(blk + 34 * b, ds[b]);
    for (int j = 0; j < 32; ++j) {
      blk[34 * b + 2 + j] = static_cast<uint8_t>(j * 8 + b);  // int8 j*8-128+b
    }
  }
  float out[64];
  DequantizeRow(DType::kQ8_0, blk, out, 64);
  for (int b = 0; b < 2; ++b) {
    for (int j = 0; j < 32; ++j) {
      int q = j * 8 + b;
      if (q >= 128) q -= 256;
      EXPECT_EQ(out[32 * b + j], dv[b] * q) << b << " " << j;
    }
  }
  EXPECT_EQ(out[16], -64.0f);  // byte 128 is int8 -128
  EXPECT_EQ(out[15], 60.0f);   // byte 120
}

// Element e of a 32-element block: nibble in qs[e % 16], low for e < 16.
void PutQ4(uint8_t* qs, int e, int q) {
  PutNibble(qs + e % 16, e / 16, q & 15);
}

TEST(QuantTest, DequantQ4_0) {
  uint8_t blk[2 * 18] = {};
  const uint16_t ds[2] = {kHalf0_5, kHalfM2};
  const double dv[2] = {0.5, -2.0};
  auto qval = [](int b, int e) { return (e * 7 + (e >= 16 ? 5 : 0) + b) % 16; };
  for (int b = 0; b < 2; ++b) {
    PutU16(blk + 18 * b, ds[b]);
    for (int e = 0; e < 32; ++e) PutQ4(blk + 18 * b + 2, e, qval(b, e));
  }
  // Spot check the layout: element 0 is the low nibble of byte 2, element 16
  // its high nibble.
  EXPECT_EQ(blk[2], 0x50);
  float out[64];
  DequantizeRow(DType::kQ4_0, blk, out, 64);
  for (int b = 0; b < 2; ++b) {
    for (int e = 0; e < 32; ++e) {
      EXPECT_EQ(out[32 * b + e], dv[b] * (qval(b, e) - 8)) << b << " " << e;
    }
  }
  EXPECT_EQ(out[0], -4.0f);  // q = 0 -> (0 - 8) * 0.5
}

TEST(QuantTest, DequantQ4_1) {
  uint8_t blk[2 * 20] = {};
  const uint16_t ds[2] = {kHalf0_25, kHalf2}, ms[2] = {kHalfM1_5, kHalf3};
  const double dv[2] = {0.25, 2.0}, mv[2] = {-1.5, 3.0};
  for (int b = 0; b < 2; ++b) {
    PutU16(blk + 20 * b, ds[b]);
    PutU16(blk + 20 * b + 2, ms[b]);
    for (int e = 0; e < 32; ++e) PutQ4(blk + 20 * b + 4, e, (e * 5 + b) % 16);
  }
  float out[64];
  DequantizeRow(DType::kQ4_1, blk, out, 64);
  for (int b = 0; b < 2; ++b) {
    for (int e = 0; e < 32; ++e) {
      EXPECT_EQ(out[32 * b + e], dv[b] * ((e * 5 + b) % 16) + mv[b]) << b << e;
    }
  }
}

// q5: low 4 bits as q4, fifth bit of element e is bit e of the 32-bit qh.
void PutQ5(uint8_t* qh, uint8_t* qs, int e, int q) {
  PutQ4(qs, e, q);
  PutBit(qh, e, q >> 4);
}

TEST(QuantTest, DequantQ5_0) {
  uint8_t blk[2 * 22] = {};
  const uint16_t ds[2] = {kHalf0_5, kHalfM2};
  const double dv[2] = {0.5, -2.0};
  for (int b = 0; b < 2; ++b) {
    uint8_t* p = blk + 22 * b;
    PutU16(p, ds[b]);
    for (int e = 0; e < 32; ++e) PutQ5(p + 2, p + 6, e, (e * 13 + 1 + b) % 32);
  }
  float out[64];
  DequantizeRow(DType::kQ5_0, blk, out, 64);
  for (int b = 0; b < 2; ++b) {
    for (int e = 0; e < 32; ++e) {
      EXPECT_EQ(out[32 * b + e], dv[b] * ((e * 13 + 1 + b) % 32 - 16))
          << b << " " << e;
    }
  }
}

TEST(QuantTest, DequantQ5_1) {
  uint8_t blk[2 * 24] = {};
  const uint16_t ds[2] = {kHalf0_125, kHalf2}, ms[2] = {kHalf3, kHalfM1_5};
  const double dv[2] = {0.125, 2.0}, mv[2] = {3.0, -1.5};
  for (int b = 0; b < 2; ++b) {
    uint8_t* p = blk + 24 * b;
    PutU16(p, ds[b]);
    PutU16(p + 2, ms[b]);
    for (int e = 0; e < 32; ++e) PutQ5(p + 4, p + 8, e, (e * 11 + 7 + b) % 32);
  }
  float out[64];
  DequantizeRow(DType::kQ5_1, blk, out, 64);
  for (int b = 0; b < 2; ++b) {
    for (int e = 0; e < 32; ++e) {
      EXPECT_EQ(out[32 * b + e], dv[b] * ((e * 11 + 7 + b) % 32) + mv[b])
          << b << " " << e;
    }
  }
}

// Sub-block scales and mins used by the K-quant tests, and their 12-byte
// packing worked out by hand: bytes 0-3 hold sc[0..3] in bits 0-5 and the
// top two bits of sc[4..7] in bits 6-7; bytes 4-7 the same for the mins;
// bytes 8-11 hold sc[4..7] & 15 (low nibble) and m[4..7] & 15 (high).
constexpr int kSc[8] = {1, 2, 3, 4, 17, 33, 48, 63};
constexpr int kMn[8] = {5, 6, 7, 8, 20, 40, 62, 16};
constexpr uint8_t kPackedScales[12] = {0x41, 0x82, 0xC3, 0xC4, 0x45, 0x86,
                                       0xC7, 0x48, 0x41, 0x81, 0xE0, 0x0F};

// q4_K/q5_K element e: 64-element chunk c = e / 64 uses qs[32c..32c+31];
// the first 32 of the chunk are low nibbles, the next 32 high nibbles. The
// fifth bit (q5_K) is bit 2c (+1 for the high half) of qh[e % 32].
void PutQK(uint8_t* qh, uint8_t* qs, int e, int q) {
  const int c = e / 64, r = e % 64;
  PutNibble(qs + 32 * c + r % 32, r / 32, q & 15);
  if (qh != nullptr) PutBit(qh + r % 32, 2 * c + r / 32, q >> 4);
}

void CheckKQuant(DType type, int nmax) {
  const bool q5 = type == DType::kQ5_K;
  const int bytes = q5 ? 176 : 144;
  std::vector<uint8_t> blk(2 * bytes, 0);
  const uint16_t ds[2] = {kHalf0_5, kHalf2}, dmins[2] = {kHalf0_25, kHalfM2};
  const double dv[2] = {0.5, 2.0}, dminv[2] = {0.25, -2.0};
  auto qval = [&](int b, int e) {
    return (e * 7 + e / 32 + 3 * b) % (nmax + 1);
  };
  for (int b = 0; b < 2; ++b) {
    uint8_t* p = blk.data() + bytes * b;
    PutU16(p, ds[b]);
    PutU16(p + 2, dmins[b]);
    std::memcpy(p + 4, kPackedScales, 12);
    uint8_t* qh = q5 ? p + 16 : nullptr;
    uint8_t* qs = q5 ? p + 48 : p + 16;
    for (int e = 0; e < 256; ++e) PutQK(qh, qs, e, qval(b, e));
  }
  std::vector<float> out(512);
  DequantizeRow(type, blk.data(), out.data(), 512);
  for (int b = 0; b < 2; ++b) {
    for (int e = 0; e < 256; ++e) {
      const int j = e / 32;
      const double want = dv[b] * kSc[j] * qval(b, e) - dminv[b] * kMn[j];
      ASSERT_EQ(out[256 * b + e], want) << "block " << b << " elem " << e;
    }
  }
}

TEST(QuantTest, DequantQ4K) { CheckKQuant(DType::kQ4_K, 15); }
TEST(QuantTest, DequantQ5K) { CheckKQuant(DType::kQ5_K, 31); }

TEST(QuantTest, DequantQ6K) {
  uint8_t blk[2 * 210] = {};
  const uint16_t ds[2] = {kHalf0_25, kHalfM2};
  const double dv[2] = {0.25, -2.0};
  const int sc[16] = {1,  -1, 2,   -3,  127, -128, 64, 5,
                      -7, 9,  100, -50, 33,  0,    -2, 11};
  auto qval = [](int b, int e) { return (e * 29 + 5 * b + e / 64) % 64; };
  for (int b = 0; b < 2; ++b) {
    uint8_t* p = blk + 210 * b;
    for (int ib = 0; ib < 16; ++ib) p[192 + ib] = static_cast<uint8_t>(sc[ib]);
    PutU16(p + 208, ds[b]);
    // Element e: half h = e / 128; within it group g = (e % 128) / 32 and
    // l = e % 32. Groups 0/1 take the low nibble of ql[l] / ql[l+32], groups
    // 2/3 the high nibble; the top two bits are bits 2g, 2g+1 of qh[l].
    for (int e = 0; e < 256; ++e) {
      const int h = e / 128, g = (e % 128) / 32, l = e % 32, q = qval(b, e);
      PutNibble(p + 64 * h + l + 32 * (g & 1), g / 2, q & 15);
      p[128 + 32 * h + l] |= static_cast<uint8_t>((q >> 4) << (2 * g));
    }
  }
  float out[512];
  DequantizeRow(DType::kQ6_K, blk, out, 512);
  for (int b = 0; b < 2; ++b) {
    for (int e = 0; e < 256; ++e) {
      const double want = dv[b] * sc[e / 16] * (qval(b, e) - 32);
      ASSERT_EQ(out[256 * b + e], want) << "block " << b << " elem " << e;
    }
  }
}

TEST(QuantDeathTest, UnsupportedTypeAborts) {
  float x[256] = {};
  uint8_t buf[1024] = {};
  EXPECT_DEATH(DequantizeRow(DType::kQ2_K, buf, x, 256), "unsupported");
  EXPECT_DEATH(QuantizeRow(DType::kQ8_1, x, buf, 32), "unsupported");
}

// ---------------------------------------------------------------------------
// Quantize -> dequantize.

constexpr int64_t kN = 256 * 12;

// Gaussian data plus blocks with special shapes: all zero, constant, all
// positive, all negative, one big outlier, tiny values, a 32-block whose
// largest magnitude is positive.
std::vector<float> TestData() {
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(kN);
  for (float& v : x) v = normal(rng);
  for (int i = 0; i < 256; ++i) {
    x[256 * 1 + i] = 0.0f;
    x[256 * 2 + i] = -0.75f;
    x[256 * 3 + i] = std::fabs(x[256 * 3 + i]) + 0.5f;
    x[256 * 4 + i] = -std::fabs(x[256 * 4 + i]);
    x[256 * 6 + i] *= 1e-3f;
    x[256 * 7 + i] *= 30.0f;
  }
  x[256 * 5 + 77] = 40.0f;
  x[256 * 5 + 200] = -25.0f;
  x[256 * 8 + 3] = 9.0f;
  return x;
}

std::vector<float> RoundTrip(DType type, const std::vector<float>& x,
                             std::vector<uint8_t>* q) {
  const int64_t n = static_cast<int64_t>(x.size());
  q->assign(static_cast<size_t>(RowBytes(type, n)) + 16, 0xAB);
  QuantizeRow(type, x.data(), q->data(), n);
  // QuantizeRow must not write past RowBytes.
  for (size_t i = q->size() - 16; i < q->size(); ++i) EXPECT_EQ((*q)[i], 0xAB);
  std::vector<float> y(x.size());
  DequantizeRow(type, q->data(), y.data(), n);
  return y;
}

TEST(QuantRoundTripTest, FloatTypes) {
  const std::vector<float> x = TestData();
  std::vector<uint8_t> q;
  std::vector<float> y = RoundTrip(DType::kF32, x, &q);
  EXPECT_EQ(std::memcmp(x.data(), y.data(), x.size() * 4), 0);
  y = RoundTrip(DType::kF16, x, &q);
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_LE(std::fabs(y[i] - x[i]),
              std::max(std::fabs(x[i]) * 0x1p-11f, 0x1p-25f))
        << i;
    ASSERT_EQ(GetU16(q.data() + 2 * i), Fp32ToFp16(x[i]));
  }
  y = RoundTrip(DType::kBF16, x, &q);
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_LE(std::fabs(y[i] - x[i]), std::fabs(x[i]) * 0x1p-8f) << i;
    ASSERT_EQ(GetU16(q.data() + 2 * i), Fp32ToBf16(x[i]));
  }
}

// Straightforward re-implementation of ggml's quantize_row_*_ref for one
// 32-element block: fills the fp16 scale (and min) and 32 codes.
struct LegacyRef {
  float d = 0, m = 0;
  int q[32] = {};
};

LegacyRef RefQuantize(DType type, const float* x) {
  LegacyRef r;
  float amax = 0, smax = 0, mn = x[0], mx = x[0];
  for (int j = 0; j < 32; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      smax = x[j];
    }
    mn = std::min(mn, x[j]);
    mx = std::max(mx, x[j]);
  }
  float id = 0;
  switch (type) {
    case DType::kQ8_0:
      r.d = amax / 127;
      id = r.d != 0 ? 1 / r.d : 0;
      for (int j = 0; j < 32; ++j)
        r.q[j] = static_cast<int>(std::roundf(x[j] * id));
      break;
    case DType::kQ4_0:
    case DType::kQ5_0: {
      const int half = type == DType::kQ4_0 ? 8 : 16;
      r.d = smax / -half;
      id = r.d != 0 ? 1 / r.d : 0;
      for (int j = 0; j < 32; ++j) {
        const float t = x[j] * id + (half + 0.5f);
        r.q[j] = std::min(2 * half - 1, static_cast<int>(std::floor(t)));
      }
      break;
    }
    case DType::kQ4_1:
    case DType::kQ5_1: {
      const int top = type == DType::kQ4_1 ? 15 : 31;
      r.d = (mx - mn) / top;
      r.m = mn;
      id = r.d != 0 ? 1 / r.d : 0;
      for (int j = 0; j < 32; ++j) {
        r.q[j] = std::min(
            top, static_cast<int>(std::floor((x[j] - mn) * id + 0.5f)));
      }
      break;
    }
    default:
      ADD_FAILURE() << "not a legacy type";
  }
  return r;
}

// Expected block bytes from LegacyRef.
std::vector<uint8_t> RefPack(DType type, const LegacyRef& r) {
  std::vector<uint8_t> b(static_cast<size_t>(RowBytes(type, 32)), 0);
  PutU16(b.data(), Fp32ToFp16(r.d));
  switch (type) {
    case DType::kQ8_0:
      for (int j = 0; j < 32; ++j)
        b[2 + j] = static_cast<uint8_t>(r.q[j] & 0xFF);
      break;
    case DType::kQ4_0:
      for (int e = 0; e < 32; ++e) PutQ4(&b[2], e, r.q[e]);
      break;
    case DType::kQ4_1:
      PutU16(&b[2], Fp32ToFp16(r.m));
      for (int e = 0; e < 32; ++e) PutQ4(&b[4], e, r.q[e]);
      break;
    case DType::kQ5_0:
      for (int e = 0; e < 32; ++e) PutQ5(&b[2], &b[6], e, r.q[e]);
      break;
    case DType::kQ5_1:
      PutU16(&b[2], Fp32ToFp16(r.m));
      for (int e = 0; e < 32; ++e) PutQ5(&b[4], &b[8], e, r.q[e]);
      break;
    default:
      break;
  }
  return b;
}

class LegacyQuantTest : public ::testing::TestWithParam<DType> {};

TEST_P(LegacyQuantTest, MatchesReferenceAndErrorBound) {
  const DType type = GetParam();
  const std::vector<float> x = TestData();
  std::vector<uint8_t> q;
  const std::vector<float> y = RoundTrip(type, x, &q);
  const int64_t bb = RowBytes(type, 32);
  for (int64_t b = 0; b < kN / 32; ++b) {
    const float* xb = x.data() + 32 * b;
    const LegacyRef r = RefQuantize(type, xb);
    const std::vector<uint8_t> want = RefPack(type, r);
    ASSERT_EQ(std::memcmp(q.data() + bb * b, want.data(), want.size()), 0)
        << "block " << b;
    // Error bound from the format: half a step inside the grid, up to one
    // step where q4_0/q5_0 clip the top code, plus the fp16 rounding of d
    // (relative 2^-11, times the code) and of m.
    const double d = std::fabs(r.d);
    for (int j = 0; j < 32; ++j) {
      double steps = 0.5, qmax = 0;
      switch (type) {
        case DType::kQ8_0:
          qmax = 127;
          break;
        case DType::kQ4_0:
        case DType::kQ5_0: {
          const int half = type == DType::kQ4_0 ? 8 : 16;
          qmax = half;
          if (r.d != 0) steps = std::max(0.5, double{xb[j]} / r.d - (half - 1));
          break;
        }
        default:
          qmax = type == DType::kQ4_1 ? 15 : 31;
      }
      // fp16 rounding of d and m: relative 2^-11, or 2^-25 absolute once
      // they are subnormal.
      const double bound = d * (steps + 1e-4) +
                           qmax * std::max(d * 0x1p-11, 0x1p-25) +
                           std::max(std::fabs(r.m) * 0x1p-11, 0x1p-25);
      ASSERT_LE(std::fabs(y[32 * b + j] - xb[j]), bound)
          << "block " << b << " elem " << j;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, LegacyQuantTest,
                         ::testing::Values(DType::kQ8_0, DType::kQ4_0,
                                           DType::kQ4_1, DType::kQ5_0,
                                           DType::kQ5_1),
                         [](const auto& info) {
                           return std::string(DTypeName(info.param));
                         });

// Decodes the per-element affine grid (value = a * q - c, q in [qmin, qmax])
// of a K-quant block straight from the format definition.
struct Grid {
  double a, c;
  int qmin, qmax;
};

Grid KGrid(DType type, const uint8_t* blk, int e) {
  if (type == DType::kQ6_K) {
    const double d = Fp16ToFp32(GetU16(blk + 208));
    return {d * static_cast<int8_t>(blk[192 + e / 16]), 0.0, -32, 31};
  }
  const double d = Fp16ToFp32(GetU16(blk)), dmin = Fp16ToFp32(GetU16(blk + 2));
  const uint8_t* s = blk + 4;
  const int j = e / 32;
  int sc, m;
  if (j < 4) {
    sc = s[j] & 63;
    m = s[j + 4] & 63;
  } else {
    sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
    m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
  return {d * sc, dmin * m, 0, type == DType::kQ4_K ? 15 : 31};
}

struct KCase {
  DType type;
  double max_rel_rmse;  // rmse / rms(x) over the Gaussian blocks
};

void PrintTo(const KCase& c, std::ostream* os) { *os << DTypeName(c.type); }

// Measured with this quantizer on N(0,1): q4_K 0.072, q5_K 0.036, q6_K
// 0.018 (the legacy q4_1 / q5_1 reach 0.078 / 0.038).
class KQuantTest : public ::testing::TestWithParam<KCase> {};

TEST_P(KQuantTest, RoundTrip) {
  const DType type = GetParam().type;
  const std::vector<float> x = TestData();
  std::vector<uint8_t> q;
  const std::vector<float> y = RoundTrip(type, x, &q);
  const int64_t bb = RowBytes(type, 256);
  double err2 = 0, x2 = 0;
  for (int64_t b = 0; b < kN / 256; ++b) {
    const uint8_t* blk = q.data() + bb * b;
    float lo = 0, hi = 0;
    for (int i = 0; i < 256; ++i) {
      lo = std::min(lo, x[256 * b + i]);
      hi = std::max(hi, x[256 * b + i]);
    }
    for (int e = 0; e < 256; ++e) {
      const double xv = x[256 * b + e], yv = y[256 * b + e];
      // Each element must decode to the grid point nearest to its input.
      const Grid g = KGrid(type, blk, e);
      double best = std::numeric_limits<double>::infinity();
      for (int k = g.qmin; k <= g.qmax; ++k) {
        best = std::min(best, std::fabs(g.a * k - g.c - xv));
      }
      const double tol =
          1e-5 * (std::fabs(g.a) * 32 + g.c + std::fabs(xv)) + 1e-12;
      ASSERT_LE(std::fabs(yv - xv), best + tol)
          << "block " << b << " elem " << e;
      // And the grid must cover the sub-block: no element further than one
      // step (plus 5% of the block's range for the 6/8-bit scales) away.
      ASSERT_LE(std::fabs(yv - xv), std::fabs(g.a) + 0.05 * (hi - lo) + 1e-7)
          << "block " << b << " elem " << e;
      if (b == 0 || b >= 9) {  // plain Gaussian blocks
        err2 += (yv - xv) * (yv - xv);
        x2 += xv * xv;
      }
    }
  }
  const double rel = std::sqrt(err2 / x2);
  EXPECT_LE(rel, GetParam().max_rel_rmse);
  // Constant and zero blocks come back (almost) exactly.
  for (int i = 0; i < 256; ++i) {
    EXPECT_EQ(y[256 + i], 0.0f);
    EXPECT_NEAR(y[512 + i], -0.75f, 0.75f * 0.02f);
  }
}

INSTANTIATE_TEST_SUITE_P(Types, KQuantTest,
                         ::testing::Values(KCase{DType::kQ4_K, 0.08},
                                           KCase{DType::kQ5_K, 0.04},
                                           KCase{DType::kQ6_K, 0.02}),
                         [](const auto& info) {
                           return std::string(DTypeName(info.param.type));
                         });

// The legacy and K formats reproduce exactly representable inputs: q8_0 on
// integers up to 127, q4_1 on a 16-level ramp.
TEST(QuantRoundTripTest, ExactGrids) {
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j)
    x[j] = static_cast<float>(j * 8 - 127 + (j == 31 ? 6 : 0));
  std::vector<uint8_t> q;
  std::vector<float> y = RoundTrip(DType::kQ8_0, x, &q);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], x[j]) << j;
  for (int j = 0; j < 32; ++j) x[j] = -1.0f + 0.5f * (j % 16);
  y = RoundTrip(DType::kQ4_1, x, &q);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], x[j]) << j;
}

}  // namespace
}  // namespace facet::kernels
