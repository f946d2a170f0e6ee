// The 8-row packed q4_0 / q8_0 / q4_K / q6_K layouts: packing round-trips,
// every ISA's
// packed kernel matches the reference on the unpacked rows, GEMV and GEMM
// agree bit for bit, and MatMul on packed weights equals MatMul on the
// originals within rounding.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/kernels.h"
#include "kernels/ref/fp16.h"
#include "kernels/ref/matmul_ref.h"
#include "kernels/ref/packed_ref.h"
#include "kernels/ref/quant.h"

namespace facet::kernels {
namespace {

constexpr double kU = 1.0 / (1 << 24);  // f32 unit roundoff

std::vector<uint8_t> RandomRows(DType type, int64_t rows, int64_t cols,
                                std::mt19937* rng) {
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> f(static_cast<size_t>(cols));
  const int64_t rb = RowBytes(type, cols);
  std::vector<uint8_t> out(static_cast<size_t>(rows * rb));
  for (int64_t r = 0; r < rows; ++r) {
    for (float& v : f) v = nd(*rng);
    QuantizeRow(type, f.data(), out.data() + r * rb, cols);
  }
  return out;
}

// Activation rows in the weight type's ActType (q8_0 or q8_K).
std::vector<uint8_t> Acts(DType type, int64_t n, int64_t cols,
                          std::mt19937* rng, int64_t* stride) {
  std::normal_distribution<float> nd(0.f, 1.f);
  const ActType act = ActTypeFor(type);
  *stride = ActRowBytes(act, cols);
  std::vector<uint8_t> a(static_cast<size_t>(n * *stride));
  std::vector<float> x(static_cast<size_t>(cols));
  for (int64_t t = 0; t < n; ++t) {
    for (float& v : x) v = nd(*rng);
    KernelsFor(Isa::kRef)->quantize_act[static_cast<int>(act)](
        x.data(), a.data() + t * *stride, cols);
  }
  return a;
}

std::vector<uint8_t> Packed(DType type, const std::vector<uint8_t>& w,
                            int64_t rows, int64_t cols) {
  std::vector<uint8_t> p(w.size());
  PackRows(type, w.data(), 0, rows, cols, p.data());
  return p;
}

// sum_c |w_c x_c| of a weight row and an activation row (q8_0: d per 32,
// q8_K: d per 256, both after the int8s).
double Mag(DType type, const uint8_t* w, const uint8_t* a, int64_t cols) {
  std::vector<float> wf(static_cast<size_t>(cols));
  DequantizeRow(type, w, wf.data(), cols);
  const int64_t block = ActTypeFor(type) == ActType::kQ8_K ? 256 : 32;
  const int8_t* qs = reinterpret_cast<const int8_t*>(a);
  const float* d = reinterpret_cast<const float*>(a + cols);
  double s = 0;
  for (int64_t c = 0; c < cols; ++c) {
    s += std::fabs(static_cast<double>(wf[c]) * qs[c] * d[c / block]);
  }
  return s;
}

// For q4_K, sum_c (|d sc_c q_c| + |dmin m_c|) |x_c|: the kernel sums the
// two parts separately and subtracts at the end, so its rounding scales
// with them, not with |w x|.
double MagQ4K(const uint8_t* w, const uint8_t* a, int64_t cols) {
  const int8_t* qs = reinterpret_cast<const int8_t*>(a);
  const float* dx = reinterpret_cast<const float*>(a + cols);
  double s = 0;
  for (int64_t b = 0; b < cols / 256; ++b) {
    const uint8_t* blk = w + b * 144;
    const float d = Fp16ToFp32(blk[0] | (blk[1] << 8));
    const float dmin = Fp16ToFp32(blk[2] | (blk[3] << 8));
    const uint8_t* sc = blk + 4;
    for (int j = 0; j < 8; ++j) {
      // ggml's get_scale_min_k4.
      int scale, min;
      if (j < 4) {
        scale = sc[j] & 63;
        min = sc[j + 4] & 63;
      } else {
        scale = (sc[j + 4] & 0xF) | ((sc[j - 4] >> 6) << 4);
        min = (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4);
      }
      for (int k = 0; k < 32; ++k) {
        const int e = 32 * j + k;  // column in the super-block
        const uint8_t byte = blk[16 + 32 * (e / 64) + e % 32];
        const int q = (e % 64) < 32 ? (byte & 0xF) : (byte >> 4);
        const double x = std::fabs(double(qs[b * 256 + e]) * dx[b]);
        s +=
            (std::fabs(double(d) * scale * q) + std::fabs(double(dmin) * min)) *
            x;
      }
    }
  }
  return s;
}

// Columns per block: 256 for the K-quants, 32 for the others.
int64_t BlockCols(DType type) {
  return type == DType::kQ4_K || type == DType::kQ6_K ? 256 : 32;
}

class PackedTest : public ::testing::TestWithParam<DType> {};

TEST_P(PackedTest, CanPackNeedsWholeGroupsAndBlocks) {
  const DType type = GetParam();
  const int64_t blk = BlockCols(type);
  EXPECT_TRUE(CanPack(type, 8, blk));
  EXPECT_TRUE(CanPack(type, 2048, 1536));
  EXPECT_FALSE(CanPack(type, 12, blk));
  EXPECT_FALSE(CanPack(type, 0, blk));
  EXPECT_FALSE(CanPack(type, 8, blk + 16));
  EXPECT_FALSE(CanPack(DType::kQ5_K, 8, 256));
  EXPECT_FALSE(CanPack(DType::kF32, 8, 32));
}

TEST_P(PackedTest, UnpackRowRestoresEveryRow) {
  const DType type = GetParam();
  std::mt19937 rng(7);
  const int64_t rows = 24, cols = BlockCols(type) == 256 ? 512 : 96;
  const int64_t rb = RowBytes(type, cols);
  const std::vector<uint8_t> w = RandomRows(type, rows, cols, &rng);
  const std::vector<uint8_t> p = Packed(type, w, rows, cols);
  EXPECT_NE(p, w);
  std::vector<uint8_t> row(static_cast<size_t>(rb));
  for (int64_t r = 0; r < rows; ++r) {
    ref::UnpackRow(type, p.data() + (r / 8) * 8 * rb, static_cast<int>(r % 8),
                   cols, row.data());
    EXPECT_EQ(0, std::memcmp(row.data(), w.data() + r * rb, rb)) << r;
  }
  // Packing a sub-range writes only that range.
  std::vector<uint8_t> q(w.size(), 0xAB);
  PackRows(type, w.data(), 8, 16, cols, q.data());
  EXPECT_EQ(q[0], 0xAB);
  EXPECT_EQ(q[16 * rb], 0xAB);
  EXPECT_EQ(0, std::memcmp(q.data() + 8 * rb, p.data() + 8 * rb, 8 * rb));
}

// Every ISA's packed kernel against ref::Dot on the original rows, over
// tails of the token tiles and column lengths below, at and above the
// vector widths; n = 1 and n > 1 bit for bit.
TEST_P(PackedTest, EveryIsaMatchesRefAndGemvEqualsGemm) {
  const DType type = GetParam();
  std::mt19937 rng(11 + static_cast<int>(type));
  for (int i = 0; i < kNumIsas; ++i) {
    const KernelTable* k = KernelsFor(static_cast<Isa>(i));
    if (k == nullptr) continue;
    const GemmFn gemm = k->GemmPacked(type);
    ASSERT_NE(gemm, nullptr) << IsaName(k->isa);
    for (int64_t cols : {32, 64, 96, 256, 512, 1536}) {
      if (!CanPack(type, 8, cols)) continue;
      for (int64_t rows : {8, 16, 40}) {
        const int64_t rb = RowBytes(type, cols);
        const std::vector<uint8_t> w = RandomRows(type, rows, cols, &rng);
        const std::vector<uint8_t> p = Packed(type, w, rows, cols);
        for (int64_t n : {1, 2, 3, 4, 5, 6, 7, 8, 9, 13}) {
          int64_t as;
          const std::vector<uint8_t> a = Acts(type, n, cols, &rng, &as);
          std::vector<float> y(static_cast<size_t>(n * rows));
          gemm(p.data(), rb, rows, cols, a.data(), as, n, y.data(), rows);
          for (int64_t t = 0; t < n; ++t) {
            float one[40];
            gemm(p.data(), rb, rows, cols, a.data() + t * as, as, 1, one, rows);
            for (int64_t r = 0; r < rows; ++r) {
              const double want =
                  ref::Dot(type, w.data() + r * rb, a.data() + t * as, cols);
              // Per block a scale product, a convert and an fma round; the
              // integer parts are exact: (blocks + 4) f32 roundings of at
              // most sum |w x| (for q4_K, of its two parts).
              const uint8_t* wr = w.data() + r * rb;
              const uint8_t* ar = a.data() + t * as;
              const double mag = type == DType::kQ4_K ? MagQ4K(wr, ar, cols)
                                                      : Mag(type, wr, ar, cols);
              const double tol = 2 * (cols / 32 + 4) * kU * mag + 1e-30;
              ASSERT_NEAR(y[t * rows + r], want, tol)
                  << IsaName(k->isa) << " cols " << cols << " rows " << rows
                  << " n " << n << " r " << r << " t " << t;
              ASSERT_EQ(y[t * rows + r], one[r])
                  << "GEMV != GEMM " << IsaName(k->isa) << " cols " << cols
                  << " n " << n << " r " << r << " t " << t;
            }
          }
        }
      }
    }
  }
}

// The x86 packed kernels keep one row per 32-bit lane and the same
// per-block integer sums and float steps at every level, so the AVX-512
// and VNNI ones equal the AVX2 ones bit for bit (over group pairs, a lone
// last group and token tails).
TEST_P(PackedTest, X86LevelsEqualAvx2Bits) {
  const KernelTable* base = KernelsFor(Isa::kAvx2);
  if (base == nullptr) GTEST_SKIP() << "no AVX2";
  const DType type = GetParam();
  std::mt19937 rng(21 + static_cast<int>(type));
  const int64_t cols = BlockCols(type) == 256 ? 768 : 224;
  const int64_t rb = RowBytes(type, cols);
  for (int64_t rows : {8, 24, 32}) {
    const std::vector<uint8_t> w = RandomRows(type, rows, cols, &rng);
    const std::vector<uint8_t> p = Packed(type, w, rows, cols);
    for (int64_t n : {1, 3, 6, 11}) {
      int64_t as;
      const std::vector<uint8_t> a = Acts(type, n, cols, &rng, &as);
      std::vector<float> want(static_cast<size_t>(n * rows));
      base->GemmPacked(type)(p.data(), rb, rows, cols, a.data(), as, n,
                             want.data(), rows);
      for (Isa isa : {Isa::kAvx512, Isa::kAvx512Vnni}) {
        const KernelTable* k = KernelsFor(isa);
        if (k == nullptr) continue;
        std::vector<float> got(want.size(), NAN);
        k->GemmPacked(type)(p.data(), rb, rows, cols, a.data(), as, n,
                            got.data(), rows);
        EXPECT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * 4))
            << IsaName(isa) << " rows " << rows << " n " << n;
      }
    }
  }
}

// MatMul end to end: packed and original weights, 1 and 2 threads.
TEST_P(PackedTest, MatMulPackedMatchesUnpacked) {
  const DType type = GetParam();
  std::mt19937 rng(3);
  const int64_t rows = 256, cols = 512, n = 21;
  const std::vector<uint8_t> w = RandomRows(type, rows, cols, &rng);
  const std::vector<uint8_t> p = Packed(type, w, rows, cols);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> x(static_cast<size_t>(n * cols));
  for (float& v : x) v = nd(rng);
  Matrix m{type, w.data(), rows, cols, RowBytes(type, cols)};
  Matrix mp = m;
  mp.data = p.data();
  mp.packed = true;
  std::vector<float> y0(static_cast<size_t>(n * rows)), y1(y0.size()),
      y2(y0.size());
  MatMul(m, x.data(), n, y0.data(), nullptr);
  MatMul(mp, x.data(), n, y1.data(), nullptr);
  std::unique_ptr<ThreadPool> pool = ThreadPool::Create(2);
  MatMul(mp, x.data(), n, y2.data(), pool.get());
  for (size_t i = 0; i < y0.size(); ++i) {
    ASSERT_NEAR(y1[i], y0[i], 1e-4 * (std::fabs(y0[i]) + 1)) << i;
    ASSERT_EQ(y2[i], y1[i]) << i;
  }
}

// q6_Kx8 as documented in kernels/ref/packed_ref.h, where the SIMD kernels
// read it: d of the 8 rows, the scales in 2-byte units, then ql and qh in
// 4-byte units.
TEST(PackedQ6KTest, LayoutIsAsDocumented) {
  std::mt19937 rng(5);
  const int64_t cols = 512, rb = RowBytes(DType::kQ6_K, cols);
  const std::vector<uint8_t> w = RandomRows(DType::kQ6_K, 8, cols, &rng);
  const std::vector<uint8_t> p = Packed(DType::kQ6_K, w, 8, cols);
  for (int64_t b = 0; b < cols / 256; ++b) {
    const uint8_t* pb = p.data() + b * 1680;
    for (int i = 0; i < 8; ++i) {
      const uint8_t* rowb = w.data() + i * rb + b * 210;
      EXPECT_EQ(0, std::memcmp(pb + 2 * i, rowb + 208, 2));
      for (int u = 0; u < 8; ++u) {
        EXPECT_EQ(0,
                  std::memcmp(pb + 16 + 16 * u + 2 * i, rowb + 192 + 2 * u, 2));
      }
      for (int v = 0; v < 32; ++v) {
        EXPECT_EQ(0, std::memcmp(pb + 144 + 32 * v + 4 * i, rowb + 4 * v, 4));
      }
      for (int v = 0; v < 16; ++v) {
        EXPECT_EQ(
            0, std::memcmp(pb + 1168 + 32 * v + 4 * i, rowb + 128 + 4 * v, 4));
      }
    }
  }
}

// q6_K over the whole range of its bytes, which quantized rows rarely
// reach: every 6-bit weight, int8 scales down to -128, and activations of
// +-127 (all weights 63 against all 127 too), where a 16-bit partial sum
// would overflow if the kernels summed more products in one; every level
// against the reference, the x86 levels bit for bit.
TEST(PackedQ6KTest, FullRangeBytes) {
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> byte(0, 255);
  const int64_t rows = 24, cols = 768, rb = RowBytes(DType::kQ6_K, cols);
  for (int pass = 0; pass < 3; ++pass) {
    std::vector<uint8_t> w(static_cast<size_t>(rows * rb));
    for (uint8_t& v : w) v = static_cast<uint8_t>(pass == 2 ? 0xFF : byte(rng));
    for (int64_t off = 0; off < rows * rb; off += 210) {
      if (pass == 1) {
        for (int s = 0; s < 16; ++s) w[off + 192 + s] = s % 2 ? 0x80 : 0x7F;
      }
      const uint16_t d = Fp32ToFp16(0.001f * (1 + byte(rng) % 16));
      std::memcpy(&w[off + 208], &d, 2);
    }
    const std::vector<uint8_t> p = Packed(DType::kQ6_K, w, rows, cols);
    const int64_t n = 7;
    const int64_t as = ActRowBytes(ActType::kQ8_K, cols);
    std::vector<uint8_t> a(static_cast<size_t>(n * as), 0);
    for (int64_t t = 0; t < n; ++t) {
      uint8_t* at = a.data() + t * as;
      int8_t* qs = reinterpret_cast<int8_t*>(at);
      for (int64_t c = 0; c < cols; ++c) {
        qs[c] = t == 0   ? 127
                : t == 1 ? -127
                         : static_cast<int8_t>(byte(rng) % 255 - 127);
      }
      float* dx = reinterpret_cast<float*>(at + cols);
      int16_t* bs = reinterpret_cast<int16_t*>(at + cols + cols / 256 * 4);
      for (int64_t b = 0; b < cols / 256; ++b) dx[b] = 0.01f * (b + 1);
      for (int64_t g = 0; g < cols / 16; ++g) {
        int sum = 0;
        for (int e = 0; e < 16; ++e) sum += qs[16 * g + e];
        bs[g] = static_cast<int16_t>(sum);
      }
    }
    std::vector<float> avx2_y;
    for (int i = 0; i < kNumIsas; ++i) {
      const KernelTable* k = KernelsFor(static_cast<Isa>(i));
      if (k == nullptr) continue;
      std::vector<float> y(static_cast<size_t>(n * rows), NAN);
      k->GemmPacked(DType::kQ6_K)(p.data(), rb, rows, cols, a.data(), as, n,
                                  y.data(), rows);
      for (int64_t t = 0; t < n; ++t) {
        for (int64_t r = 0; r < rows; ++r) {
          const uint8_t* wr = w.data() + r * rb;
          const uint8_t* ar = a.data() + t * as;
          const double want = ref::Dot(DType::kQ6_K, wr, ar, cols);
          const double tol =
              2 * (cols / 32 + 4) * kU * Mag(DType::kQ6_K, wr, ar, cols) +
              1e-30;
          ASSERT_NEAR(y[t * rows + r], want, tol)
              << IsaName(k->isa) << " pass " << pass << " r " << r << " t "
              << t;
        }
      }
      if (k->isa == Isa::kAvx2) avx2_y = y;
      if ((k->isa == Isa::kAvx512 || k->isa == Isa::kAvx512Vnni) &&
          !avx2_y.empty()) {
        EXPECT_EQ(0, std::memcmp(y.data(), avx2_y.data(), y.size() * 4))
            << IsaName(k->isa) << " pass " << pass;
      }
    }
  }
}

// The packable types: the reference's packed entries in
// kernels/kernel_list.inc (every level has a packed kernel for each).
std::vector<DType> PackedTypes() {
  std::vector<DType> out;
#define FACET_PACKED_IMPL(level, dtype, ns, fn, prefer) \
  if (Isa::level == Isa::kRef) out.push_back(DType::dtype);
#include "kernels/kernel_list.inc"
  return out;
}

INSTANTIATE_TEST_SUITE_P(Types, PackedTest, ::testing::ValuesIn(PackedTypes()),
                         [](const ::testing::TestParamInfo<DType>& info) {
                           return std::string(DTypeName(info.param));
                         });

}  // namespace
}  // namespace facet::kernels
