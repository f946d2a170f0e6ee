// The 8-row packed q4_0 / q8_0 layout: packing round-trips, every ISA's
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

std::vector<uint8_t> Acts(int64_t n, int64_t cols, std::mt19937* rng,
                          int64_t* stride) {
  std::normal_distribution<float> nd(0.f, 1.f);
  *stride = ActRowBytes(ActType::kQ8_0, cols);
  std::vector<uint8_t> a(static_cast<size_t>(n * *stride));
  std::vector<float> x(static_cast<size_t>(cols));
  for (int64_t t = 0; t < n; ++t) {
    for (float& v : x) v = nd(*rng);
    ref::QuantizeActQ8_0(x.data(), a.data() + t * *stride, cols);
  }
  return a;
}

std::vector<uint8_t> Packed(DType type, const std::vector<uint8_t>& w,
                            int64_t rows, int64_t cols) {
  std::vector<uint8_t> p(w.size());
  PackRows(type, w.data(), 0, rows, cols, p.data());
  return p;
}

// sum_c |w_c x_c| of a weight row and a q8_0 activation row.
double Mag(DType type, const uint8_t* w, const uint8_t* a, int64_t cols) {
  std::vector<float> wf(static_cast<size_t>(cols));
  DequantizeRow(type, w, wf.data(), cols);
  const int8_t* qs = reinterpret_cast<const int8_t*>(a);
  const float* d = reinterpret_cast<const float*>(a + cols);
  double s = 0;
  for (int64_t c = 0; c < cols; ++c) {
    s += std::fabs(static_cast<double>(wf[c]) * qs[c] * d[c / 32]);
  }
  return s;
}

class PackedTest : public ::testing::TestWithParam<DType> {};

TEST_P(PackedTest, CanPackNeedsWholeGroupsAndBlocks) {
  const DType type = GetParam();
  EXPECT_TRUE(CanPack(type, 8, 32));
  EXPECT_TRUE(CanPack(type, 2048, 1536));
  EXPECT_FALSE(CanPack(type, 12, 32));
  EXPECT_FALSE(CanPack(type, 0, 32));
  EXPECT_FALSE(CanPack(type, 8, 48));
  EXPECT_FALSE(CanPack(DType::kQ4_K, 8, 256));
  EXPECT_FALSE(CanPack(DType::kF32, 8, 32));
}

TEST_P(PackedTest, UnpackRowRestoresEveryRow) {
  const DType type = GetParam();
  std::mt19937 rng(7);
  const int64_t rows = 24, cols = 96, rb = RowBytes(type, cols);
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
    for (int64_t cols : {32, 64, 96, 256, 1536}) {
      for (int64_t rows : {8, 16, 40}) {
        const int64_t rb = RowBytes(type, cols);
        const std::vector<uint8_t> w = RandomRows(type, rows, cols, &rng);
        const std::vector<uint8_t> p = Packed(type, w, rows, cols);
        for (int64_t n : {1, 2, 3, 4, 5, 7, 9, 13}) {
          int64_t as;
          const std::vector<uint8_t> a = Acts(n, cols, &rng, &as);
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
              // most sum |w x|.
              const double tol =
                  2 * (cols / 32 + 4) * kU *
                      Mag(type, w.data() + r * rb, a.data() + t * as, cols) +
                  1e-30;
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

INSTANTIATE_TEST_SUITE_P(Types, PackedTest,
                         ::testing::Values(DType::kQ4_0, DType::kQ8_0),
                         [](const ::testing::TestParamInfo<DType>& info) {
                           return std::string(DTypeName(info.param));
                         });

}  // namespace
}  // namespace facet::kernels
