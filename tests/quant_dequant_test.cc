// Tests for kernels/ref/quant.h: row sizes and dequantization of hand-built
// blocks. Expected values are derived here from the GGUF block definitions
// (ggml-common.h), not from the code under test.
#include "kernels/ref/quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/dtype.h"
#include "kernels/ref/fp16.h"
#include "tests/quant_util.h"

namespace facet::kernels {
namespace {

using ::facet::kernels::quant_testing::kHalf0_125;
using ::facet::kernels::quant_testing::kHalf0_25;
using ::facet::kernels::quant_testing::kHalf0_5;
using ::facet::kernels::quant_testing::kHalf2;
using ::facet::kernels::quant_testing::kHalf3;
using ::facet::kernels::quant_testing::kHalfM1_5;
using ::facet::kernels::quant_testing::kHalfM2;
using ::facet::kernels::quant_testing::PutBit;
using ::facet::kernels::quant_testing::PutNibble;
using ::facet::kernels::quant_testing::PutQ4;
using ::facet::kernels::quant_testing::PutQ5;
using ::facet::kernels::quant_testing::PutU16;

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

}  // namespace
}  // namespace facet::kernels
