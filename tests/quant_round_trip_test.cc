// Tests for kernels/ref/quant.h: quantize -> dequantize round trips. Expected
// values are derived here from the GGUF block definitions (ggml-common.h), not
// from the code under test.
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
#include "kernels/ref/quant.h"
#include "tests/quant_util.h"

namespace facet::kernels {
namespace {

using ::facet::kernels::quant_testing::GetU16;
using ::facet::kernels::quant_testing::PutQ4;
using ::facet::kernels::quant_testing::PutQ5;
using ::facet::kernels::quant_testing::PutU16;

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
