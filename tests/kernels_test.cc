// MatMul kernels: every ISA level this CPU has against the scalar reference
// in kernels/ref/matmul_ref.h, over shapes that hit the row, token and
// column tails, with tolerances derived from the dtype and the reduction
// length; MatMul end to end against a float64 product of the dequantized
// weights, within the bound the activation quantization allows.
#include "kernels/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#if defined(__aarch64__)
#include <sys/auxv.h>
#endif

#include "gtest/gtest.h"
#include "kernels/ref/fp16.h"
#include "kernels/ref/matmul_ref.h"
#include "kernels/ref/quant.h"

namespace facet::kernels {
namespace {

constexpr double kU = 1.0 / (1 << 24);  // f32 unit roundoff

// The types with a matrix kernel: the reference's entries in
// kernels/kernel_list.inc (every level has a kernel for each of them).
std::vector<DType> GemmTypes() {
  std::vector<DType> out;
#define FACET_GEMM_IMPL(level, dtype, ns, fn) \
  if (Isa::level == Isa::kRef) out.push_back(DType::dtype);
#include "kernels/kernel_list.inc"
  return out;
}
const std::vector<DType> kAllTypes = GemmTypes();

int64_t BlockElems(DType t) { return GetDTypeInfo(t)->block_elems; }
int64_t BlockBytes(DType t) { return GetDTypeInfo(t)->block_bytes; }
bool IsK(DType t) { return BlockElems(t) == 256; }
bool IsFloat(DType t) { return BlockElems(t) == 1; }

std::vector<Isa> AvailableIsas() {
  std::vector<Isa> out;
  for (int i = 0; i < kNumIsas; ++i) {
    if (KernelsFor(static_cast<Isa>(i)) != nullptr) {
      out.push_back(static_cast<Isa>(i));
    }
  }
  return out;
}

// Column counts per type: block-size multiples from one block up (any count
// for the float types), and one whose rows pass 4 KB, where the GEMV
// kernels switch from one row at a time to row blocks.
std::vector<int64_t> ColsFor(DType t) {
  if (IsFloat(t)) return {1, 7, 4, 5, 8, 13, 32, 96, 2085};  // [1]: a tail
  const int64_t long_row =
      (4500 / BlockBytes(t) + 1) * BlockElems(t);  // > 4096 bytes
  if (IsK(t)) return {256, 512, 2816, long_row};
  return {32, 64, 96, 256, 512, 2048 + 32, long_row};
}
// 7 = 4 + 2 + 1: a full tile, a pair (the i8mm kernels work on row and
// token pairs) and an odd one.
const int64_t kRows[] = {1, 3, 4, 5, 7, 17, 64};
const int64_t kTokens[] = {1, 2, 3, 4, 5, 7, 8, 17};

void PutHalf(uint8_t* p, float v) {
  const uint16_t h = Fp32ToFp16(v);
  std::memcpy(p, &h, 2);
}

// Offsets of the fp16 scale fields of a block: {d, min-or-dmin or -1}.
void ScaleFields(DType t, int* d, int* m) {
  *m = -1;
  switch (t) {
    case DType::kQ6_K:
      *d = 208;
      return;
    case DType::kQ4_1:
    case DType::kQ5_1:
    case DType::kQ4_K:
    case DType::kQ5_K:
      *d = 0;
      *m = 2;
      return;
    default:
      *d = 0;
  }
}

// Weights of `rows` x `cols` of type t: random bytes (every bit pattern of
// the quants and sub-block scales) with random finite fp16 scales; float
// types from random floats. `small` keeps every integer small and every
// scale 1 (the exact-arithmetic test).
std::vector<uint8_t> RandomWeights(DType t, int64_t rows, int64_t cols,
                                   std::mt19937* rng, bool small = false) {
  const int64_t row_bytes = RowBytes(t, cols);
  std::vector<uint8_t> w(static_cast<size_t>(rows * row_bytes));
  std::uniform_int_distribution<int> byte(0, 255);
  std::normal_distribution<float> normal(0.f, 1.f);
  if (IsFloat(t)) {
    std::vector<float> f(static_cast<size_t>(cols));
    std::uniform_int_distribution<int> small_int(-8, 8);
    for (int64_t r = 0; r < rows; ++r) {
      for (float& v : f) {
        v = small ? static_cast<float>(small_int(*rng)) : 0.05f * normal(*rng);
      }
      QuantizeRow(t, f.data(), w.data() + r * row_bytes, cols);
    }
    return w;
  }
  for (uint8_t& b : w) b = static_cast<uint8_t>(byte(*rng));
  const int64_t bb = BlockBytes(t);
  std::uniform_real_distribution<float> mag(0.001f, 0.02f);
  for (int64_t off = 0; off < static_cast<int64_t>(w.size()); off += bb) {
    uint8_t* blk = w.data() + off;
    int d, m;
    ScaleFields(t, &d, &m);
    if (small) {
      PutHalf(blk + d, 1.0f);
      if (m >= 0)
        PutHalf(blk + m, t == DType::kQ4_1 || t == DType::kQ5_1
                             ? static_cast<float>(byte(*rng) % 9 - 4)
                             : 1.0f);
      if (t == DType::kQ8_0) {
        for (int j = 0; j < 32; ++j) {
          blk[2 + j] = static_cast<uint8_t>(byte(*rng) % 17 - 8);
        }
      }
      if (t == DType::kQ4_K || t == DType::kQ5_K) {
        for (int j = 0; j < 12; ++j) blk[4 + j] &= 0x03;  // scales, mins <= 3
      }
      if (t == DType::kQ6_K) {
        for (int j = 0; j < 16; ++j) {
          blk[192 + j] = static_cast<uint8_t>(byte(*rng) % 9 - 4);
        }
      }
      continue;
    }
    const float sgn = (byte(*rng) & 1) ? -1.f : 1.f;
    PutHalf(blk + d, sgn * mag(*rng));
    if (m >= 0) PutHalf(blk + m, (byte(*rng) & 1 ? -1.f : 1.f) * mag(*rng));
  }
  return w;
}

// Activations [n][cols]: normal values with a per-32-block scale spanning
// 1e-3..10, a few outliers, an all-zero block, and exact ties.
std::vector<float> RandomActs(int64_t n, int64_t cols, std::mt19937* rng) {
  std::vector<float> x(static_cast<size_t>(n * cols));
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_real_distribution<float> logscale(-3.f, 1.f);
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t c0 = 0; c0 < cols; c0 += 32) {
      const float s = std::pow(10.f, logscale(*rng));
      for (int64_t c = c0; c < std::min(cols, c0 + 32); ++c) {
        x[t * cols + c] = s * normal(*rng);
      }
    }
    if (cols >= 64 && t % 3 == 1) {  // one zero block, one outlier
      for (int64_t c = 32; c < 64; ++c) x[t * cols + c] = 0.f;
      x[t * cols + cols - 1] = 40.f;
    }
  }
  return x;
}

// Integer activations with amax 127 in every 256-block (and 32-block): the
// q8_0 scale is exactly 1 and the q8_K scale is +-1.
std::vector<float> IntegerActs(int64_t n, int64_t cols, std::mt19937* rng) {
  std::vector<float> x(static_cast<size_t>(n * cols));
  std::uniform_int_distribution<int> small(-8, 8), sign(0, 1);
  for (int64_t i = 0; i < n * cols; ++i) {
    x[i] = static_cast<float>(small(*rng));
  }
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t c = 0; c < cols; c += 32) {
      x[t * cols + c + (t + c / 32) % std::min<int64_t>(32, cols - c)] =
          sign(*rng) ? 127.f : -127.f;
    }
  }
  return x;
}

// The activation rows of x in the form `type` needs, by the ref converters
// (f32 rows as they are, padded to the row stride).
std::vector<uint8_t> RefActs(DType type, const float* x, int64_t n,
                             int64_t cols, int64_t* stride) {
  const ActType act = ActTypeFor(type);
  *stride = ActRowBytes(act, cols);
  std::vector<uint8_t> a(static_cast<size_t>(n * *stride), 0xCD);
  const QuantizeActFn q =
      KernelsFor(Isa::kRef)->quantize_act[static_cast<int>(act)];
  for (int64_t t = 0; t < n; ++t) {
    if (act == ActType::kF32) {
      std::memcpy(a.data() + t * *stride, x + t * cols, cols * sizeof(float));
    } else {
      q(x + t * cols, a.data() + t * *stride, cols);
    }
  }
  return a;
}

// The values an activation row stands for.
std::vector<double> DequantAct(ActType act, const uint8_t* a, int64_t cols) {
  std::vector<double> v(static_cast<size_t>(cols));
  const int8_t* qs = reinterpret_cast<const int8_t*>(a);
  for (int64_t c = 0; c < cols; ++c) {
    switch (act) {
      case ActType::kF32:
        v[c] = reinterpret_cast<const float*>(a)[c];
        break;
      case ActType::kQ8_0:
        v[c] = static_cast<double>(
                   reinterpret_cast<const float*>(a + cols)[c / 32]) *
               qs[c];
        break;
      case ActType::kQ8_K:
        v[c] = static_cast<double>(
                   reinterpret_cast<const float*>(a + cols)[c / 256]) *
               qs[c];
        break;
    }
  }
  return v;
}

// |A| + |B| per element, where w = A - B splits a row into its scaled quants
// A and its min B (B = 0 for types without a min): bounds the magnitude of
// every partial sum a kernel forms.
std::vector<double> AbsParts(DType t, const uint8_t* row, int64_t cols) {
  std::vector<float> full(static_cast<size_t>(cols)), part(full.size());
  DequantizeRow(t, row, full.data(), cols);
  std::vector<double> out(full.size());
  int d, m;
  ScaleFields(t, &d, &m);
  if (IsFloat(t) || m < 0) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = std::fabs(full[i]);
    return out;
  }
  const int64_t row_bytes = RowBytes(t, cols);
  std::vector<uint8_t> copy(row, row + row_bytes);
  for (int64_t off = 0; off < row_bytes; off += BlockBytes(t)) {
    PutHalf(copy.data() + off + m, 0.f);
  }
  DequantizeRow(t, copy.data(), part.data(), cols);  // A alone
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] =
        std::fabs(part[i]) + std::fabs(static_cast<double>(part[i]) - full[i]);
  }
  return out;
}

// Rounding steps along any one accumulation chain of a kernel: one per
// block (or 8-element step for float types), the scale product, the lane
// and min reductions. gamma(k) * sum|A + B||x| bounds the kernel's error.
double Gamma(DType t, int64_t cols) {
  int64_t k;
  if (t == DType::kF32) {
    k = cols;
  } else if (IsFloat(t)) {
    k = cols / 8 + 8;
  } else {
    k = cols / BlockElems(t);
  }
  k += 16;
  return k * kU / (1 - k * kU);
}

class GemmTest : public ::testing::TestWithParam<DType> {};

// Each ISA's gemm on the ref activations against ref::Dot (double).
TEST_P(GemmTest, MatchesRefWithinRoundingBound) {
  const DType type = GetParam();
  const ActType act = ActTypeFor(type);
  std::mt19937 rng(1234 + static_cast<int>(type));
  for (Isa isa : AvailableIsas()) {
    const GemmFn gemm = KernelsFor(isa)->Gemm(type);
    ASSERT_NE(gemm, nullptr) << IsaName(isa);
    int failures = 0;
    for (int64_t cols : ColsFor(type)) {
      const int64_t rows = 64, n = 17;
      const int64_t rb = RowBytes(type, cols);
      std::vector<uint8_t> w = RandomWeights(type, rows, cols, &rng);
      std::vector<float> x = RandomActs(n, cols, &rng);
      int64_t as;
      std::vector<uint8_t> a = RefActs(type, x.data(), n, cols, &as);
      // The reference and the magnitude sum of every (row, token) pair.
      std::vector<double> want(static_cast<size_t>(rows * n));
      std::vector<double> mag(want.size());
      std::vector<std::vector<double>> xa(n);
      for (int64_t t = 0; t < n; ++t) {
        xa[t] = DequantAct(act, a.data() + t * as, cols);
      }
      for (int64_t r = 0; r < rows; ++r) {
        const uint8_t* wr = w.data() + r * rb;
        std::vector<double> aw = AbsParts(type, wr, cols);
        for (int64_t t = 0; t < n; ++t) {
          want[r * n + t] = ref::Dot(type, wr, a.data() + t * as, cols);
          double s = 0;
          for (int64_t c = 0; c < cols; ++c) s += aw[c] * std::fabs(xa[t][c]);
          mag[r * n + t] = s;
        }
      }
      for (int64_t sub_rows : kRows) {
        for (int64_t sub_n : kTokens) {
          // A sub-block of rows and tokens at an odd offset: tails land
          // at different places of the tiles.
          const int64_t r0 = (rows - sub_rows) / 2, t0 = (n - sub_n) / 3;
          std::vector<float> y(static_cast<size_t>(sub_n * sub_rows), NAN);
          gemm(w.data() + r0 * rb, rb, sub_rows, cols, a.data() + t0 * as, as,
               sub_n, y.data(), sub_rows);
          for (int64_t t = 0; t < sub_n; ++t) {
            for (int64_t r = 0; r < sub_rows; ++r) {
              const size_t k = static_cast<size_t>((r0 + r) * n + t0 + t);
              const double tol = Gamma(type, cols) * mag[k] + 1e-30;
              const float got = y[t * sub_rows + r];
              if (!(std::fabs(got - want[k]) <= tol) && ++failures <= 5) {
                ADD_FAILURE()
                    << IsaName(isa) << " " << DTypeName(type) << " cols "
                    << cols << " rows " << sub_rows << " n " << sub_n << " (r "
                    << r << ", t " << t << "): got " << got << " want "
                    << want[k] << " tol " << tol;
              }
            }
          }
        }
      }
    }
    EXPECT_EQ(failures, 0) << IsaName(isa);
  }
}

// With unit scales and small integers every product and partial sum is an
// integer below 2^24, so float arithmetic is exact in any order: each ISA
// must then equal the integer reference exactly.
TEST_P(GemmTest, IntegerArithmeticIsExact) {
  const DType type = GetParam();
  std::mt19937 rng(99 + static_cast<int>(type));
  for (Isa isa : AvailableIsas()) {
    const GemmFn gemm = KernelsFor(isa)->Gemm(type);
    for (int64_t cols : ColsFor(type)) {
      const int64_t rows = 17, n = 5;
      const int64_t rb = RowBytes(type, cols);
      std::vector<uint8_t> w = RandomWeights(type, rows, cols, &rng, true);
      std::vector<float> x = IntegerActs(n, cols, &rng);
      int64_t as;
      std::vector<uint8_t> a = RefActs(type, x.data(), n, cols, &as);
      std::vector<float> y(static_cast<size_t>(n * rows));
      gemm(w.data(), rb, rows, cols, a.data(), as, n, y.data(), rows);
      for (int64_t t = 0; t < n; ++t) {
        for (int64_t r = 0; r < rows; ++r) {
          std::vector<double> aw = AbsParts(type, w.data() + r * rb, cols);
          std::vector<double> xa =
              DequantAct(ActTypeFor(type), a.data() + t * as, cols);
          double s = 0;
          for (int64_t c = 0; c < cols; ++c) s += aw[c] * std::fabs(xa[c]);
          ASSERT_LT(s, 1 << 24) << "test inputs too large to be exact";
          const double want =
              ref::Dot(type, w.data() + r * rb, a.data() + t * as, cols);
          ASSERT_EQ(want, std::round(want));
          ASSERT_EQ(y[t * rows + r], want)
              << IsaName(isa) << " " << DTypeName(type) << " cols " << cols
              << " r " << r << " t " << t;
        }
      }
    }
  }
}

// A (row, token) result never depends on the tile it fell in: all tokens
// at once equals one token at a time, and one row at a time.
TEST_P(GemmTest, TilingDoesNotChangeBits) {
  const DType type = GetParam();
  std::mt19937 rng(7 + static_cast<int>(type));
  for (Isa isa : AvailableIsas()) {
    const GemmFn gemm = KernelsFor(isa)->Gemm(type);
    for (int64_t cols : {ColsFor(type)[1], ColsFor(type).back()}) {
      const int64_t rows = 19, n = 13;
      const int64_t rb = RowBytes(type, cols);
      std::vector<uint8_t> w = RandomWeights(type, rows, cols, &rng);
      std::vector<float> x = RandomActs(n, cols, &rng);
      int64_t as;
      std::vector<uint8_t> a = RefActs(type, x.data(), n, cols, &as);
      std::vector<float> all(static_cast<size_t>(n * rows));
      gemm(w.data(), rb, rows, cols, a.data(), as, n, all.data(), rows);
      for (int64_t t = 0; t < n; ++t) {
        std::vector<float> one(static_cast<size_t>(rows));
        gemm(w.data(), rb, rows, cols, a.data() + t * as, as, 1, one.data(),
             rows);
        for (int64_t r = 0; r < rows; ++r) {
          ASSERT_EQ(std::memcmp(&one[r], &all[t * rows + r], 4), 0)
              << IsaName(isa) << " " << DTypeName(type) << " r " << r << " t "
              << t;
        }
      }
      for (int64_t r = 0; r < rows; ++r) {
        std::vector<float> col(static_cast<size_t>(n));
        gemm(w.data() + r * rb, rb, 1, cols, a.data(), as, n, col.data(), 1);
        for (int64_t t = 0; t < n; ++t) {
          ASSERT_EQ(std::memcmp(&col[t], &all[t * rows + r], 4), 0)
              << IsaName(isa) << " " << DTypeName(type) << " r " << r << " t "
              << t;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, GemmTest, ::testing::ValuesIn(kAllTypes),
                         [](const ::testing::TestParamInfo<DType>& i) {
                           return std::string(DTypeName(i.param));
                         });

// Each ISA's activation converters are byte-identical to the reference.
TEST(ActQuantTest, EveryIsaMatchesRefBytes) {
  std::mt19937 rng(5);
  for (ActType act : {ActType::kQ8_0, ActType::kQ8_K}) {
    const bool k = act == ActType::kQ8_K;
    for (int64_t cols : k ? std::vector<int64_t>{256, 512, 2816}
                          : std::vector<int64_t>{32, 96, 2080}) {
      std::vector<float> x = RandomActs(3, cols, &rng);
      // Ties: with amax 127 (or max -127) the scale is exactly 1.
      for (int64_t c = 0; c < cols; ++c) {
        x[cols + c] = (c % 2 ? 0.5f : -0.5f) + static_cast<float>(c % 64 - 32);
      }
      for (int64_t c = 0; c < cols; c += k ? 256 : 32) x[cols + c] = -127.f;
      // +-amax in one block: the first one decides the q8_K sign.
      x[2 * cols + 5] = 500.f;
      x[2 * cols + 9] = -500.f;
      const int64_t used =
          k ? cols + cols / 256 * 4 + cols / 16 * 2 : cols + cols / 32 * 8;
      const int64_t stride = ActRowBytes(act, cols);
      std::vector<uint8_t> want(static_cast<size_t>(stride));
      for (int t = 0; t < 3; ++t) {
        KernelsFor(Isa::kRef)->quantize_act[static_cast<int>(act)](
            x.data() + t * cols, want.data(), cols);
        for (Isa isa : AvailableIsas()) {
          std::vector<uint8_t> got(static_cast<size_t>(stride));
          KernelsFor(isa)->quantize_act[static_cast<int>(act)](
              x.data() + t * cols, got.data(), cols);
          EXPECT_EQ(std::memcmp(got.data(), want.data(), used), 0)
              << IsaName(isa) << " act " << static_cast<int>(act) << " cols "
              << cols << " row " << t;
        }
      }
    }
  }
}

// The q8_0 activations are ggml's quantize_row_q8_0_ref: the same bytes as
// QuantizeRow(kQ8_0) (bit-exact with ggml), and q8_K dequantizes to
// within d/2.
TEST(ActQuantTest, RefMatchesGgmlRounding) {
  std::mt19937 rng(6);
  const int64_t cols = 512;
  std::vector<float> x = RandomActs(1, cols, &rng);
  std::vector<uint8_t> a(
      static_cast<size_t>(ActRowBytes(ActType::kQ8_0, cols)));
  ref::QuantizeActQ8_0(x.data(), a.data(), cols);
  std::vector<uint8_t> blocks(
      static_cast<size_t>(RowBytes(DType::kQ8_0, cols)));
  QuantizeRow(DType::kQ8_0, x.data(), blocks.data(), cols);
  for (int64_t b = 0; b < cols / 32; ++b) {
    uint16_t h;
    std::memcpy(&h, blocks.data() + 34 * b, 2);
    EXPECT_EQ(Fp16ToFp32(h), reinterpret_cast<float*>(a.data() + cols)[b]);
    EXPECT_EQ(std::memcmp(blocks.data() + 34 * b + 2, a.data() + 32 * b, 32),
              0);
    int sum = 0;
    for (int j = 0; j < 32; ++j) sum += static_cast<int8_t>(a[32 * b + j]);
    EXPECT_EQ(sum,
              reinterpret_cast<int32_t*>(a.data() + cols + cols / 32 * 4)[b]);
  }
  std::vector<uint8_t> k(
      static_cast<size_t>(ActRowBytes(ActType::kQ8_K, cols)));
  ref::QuantizeActQ8_K(x.data(), k.data(), cols);
  std::vector<double> v = DequantAct(ActType::kQ8_K, k.data(), cols);
  for (int64_t c = 0; c < cols; ++c) {
    const float d = reinterpret_cast<float*>(k.data() + cols)[c / 256];
    EXPECT_LE(std::fabs(v[c] - x[c]), std::fabs(d) * (0.5 + 1e-5)) << c;
  }
  // The element of largest magnitude maps to -127 exactly.
  const int8_t* qs = reinterpret_cast<int8_t*>(k.data());
  for (int64_t b = 0; b < cols / 256; ++b) {
    int lo = 0;
    for (int j = 0; j < 256; ++j) lo = std::min<int>(lo, qs[256 * b + j]);
    EXPECT_EQ(lo, -127);
  }
}

// Per-element bound on |x - x'| for x' the activation form of x.
double ActError(ActType act, const uint8_t* a, int64_t cols, int64_t c) {
  switch (act) {
    case ActType::kF32:
      return 0;
    case ActType::kQ8_0: {
      // d = amax/127 rounded to fp16 after q = round(x * (1/d)).
      const double d = reinterpret_cast<const float*>(a + cols)[c / 32];
      return d * (1 + std::ldexp(1.0, -10)) *
                 (0.5 + 127 * std::ldexp(1.0, -11) + 300 * kU) +
             127 * std::ldexp(1.0, -25);
    }
    case ActType::kQ8_K: {
      const double d = reinterpret_cast<const float*>(a + cols)[c / 256];
      return std::fabs(d) * (0.5 + 300 * kU);
    }
  }
  return 0;
}

class MatMulTest : public ::testing::TestWithParam<DType> {};

// Restores the ISA MatMul used before a test forced others.
class IsaGuard {
 public:
  IsaGuard() : isa_(Kernels().isa) {}
  ~IsaGuard() { ForceIsa(isa_); }

 private:
  Isa isa_;
};

// MatMul end to end, 1 and 2 threads, on every ISA: bit-identical to the
// table's gemm on the ref activations (the converters are byte-exact), and
// within the activation-quantization plus rounding bound of a float64
// product of the dequantized weights with the original x.
TEST_P(MatMulTest, MatchesFloat64Reference) {
  const DType type = GetParam();
  const ActType act = ActTypeFor(type);
  IsaGuard guard;
  std::mt19937 rng(77 + static_cast<int>(type));
  std::unique_ptr<ThreadPool> pool2 = ThreadPool::Create(2);
  for (int64_t cols : ColsFor(type)) {
    for (int64_t n : {int64_t{1}, int64_t{5}, int64_t{17}}) {
      const int64_t rows = cols > 1000 ? 67 : 133;
      Matrix m;
      m.dtype = type;
      m.rows = rows;
      m.cols = cols;
      m.row_bytes = RowBytes(type, cols);
      std::vector<uint8_t> w = RandomWeights(type, rows, cols, &rng);
      m.data = w.data();
      std::vector<float> x = RandomActs(n, cols, &rng);
      int64_t as;
      std::vector<uint8_t> a = RefActs(type, x.data(), n, cols, &as);
      if (act == ActType::kF32) {
        a.assign(reinterpret_cast<const uint8_t*>(x.data()),
                 reinterpret_cast<const uint8_t*>(x.data() + n * cols));
        as = cols * 4;
      }
      // The float64 product and its bound, once for all ISAs (emulated
      // runs spend most of their time here).
      std::vector<double> want(static_cast<size_t>(n * rows));
      std::vector<double> tol(want.size());
      std::vector<float> wr(static_cast<size_t>(cols));
      for (int64_t r = 0; r < rows; ++r) {
        DequantizeRow(type, w.data() + r * m.row_bytes, wr.data(), cols);
        std::vector<double> aw =
            AbsParts(type, w.data() + r * m.row_bytes, cols);
        for (int64_t t = 0; t < n; ++t) {
          const float* xt = x.data() + t * cols;
          double sum = 0, qerr = 0, s = 0;
          for (int64_t c = 0; c < cols; ++c) {
            sum += static_cast<double>(wr[c]) * xt[c];
            const double e = ActError(act, a.data() + t * as, cols, c);
            qerr += std::fabs(wr[c]) * e;
            s += aw[c] * (std::fabs(xt[c]) + e);
          }
          want[t * rows + r] = sum;
          tol[t * rows + r] = qerr + Gamma(type, cols) * s + 1e-30;
        }
      }
      for (Isa isa : AvailableIsas()) {
        ASSERT_TRUE(ForceIsa(isa));
        ASSERT_EQ(Kernels().isa, isa);
        std::vector<float> y1(static_cast<size_t>(n * rows));
        std::vector<float> y2(y1.size());
        MatMul(m, x.data(), n, y1.data(), nullptr);
        MatMul(m, x.data(), n, y2.data(), pool2.get());
        ASSERT_EQ(std::memcmp(y1.data(), y2.data(), y1.size() * 4), 0)
            << IsaName(isa) << " " << DTypeName(type) << ": threads differ";
        std::vector<float> yg(y1.size());
        Kernels().Gemm(type)(w.data(), m.row_bytes, rows, cols, a.data(), as, n,
                             yg.data(), rows);
        ASSERT_EQ(std::memcmp(y1.data(), yg.data(), y1.size() * 4), 0)
            << IsaName(isa) << " " << DTypeName(type) << ": MatMul != gemm";
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t t = 0; t < n; ++t) {
            const size_t k = static_cast<size_t>(t * rows + r);
            ASSERT_LE(std::fabs(y1[k] - want[k]), tol[k])
                << IsaName(isa) << " " << DTypeName(type) << " cols " << cols
                << " n " << n << " r " << r << " t " << t;
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, MatMulTest, ::testing::ValuesIn(kAllTypes),
                         [](const ::testing::TestParamInfo<DType>& i) {
                           return std::string(DTypeName(i.param));
                         });

// Every ISA the CPU has can be forced and names itself; the ones it lacks
// are refused; every table has a gemm and converter for every type and a
// kernel in every op slot of kernels/kernel_list.inc.
TEST(DispatchTest, ForceIsaCoversEveryLevel) {
  IsaGuard guard;
  const Isa best = Kernels().isa;
  for (int i = 0; i < kNumIsas; ++i) {
    const Isa isa = static_cast<Isa>(i);
    const KernelTable* k = KernelsFor(isa);
    EXPECT_EQ(ForceIsa(isa), k != nullptr) << IsaName(isa);
    if (k == nullptr) continue;
    EXPECT_EQ(Kernels().isa, isa);
    EXPECT_EQ(k->isa, isa);
    for (DType t : kAllTypes) {
      EXPECT_NE(k->Gemm(t), nullptr) << IsaName(isa) << " " << DTypeName(t);
      if (ActTypeFor(t) != ActType::kF32) {
        EXPECT_NE(k->quantize_act[static_cast<int>(ActTypeFor(t))], nullptr);
      }
    }
#define FACET_OP(slot, FnType) \
  EXPECT_NE(k->slot, nullptr) << IsaName(isa) << " " #slot;
#include "kernels/kernel_list.inc"
  }
  EXPECT_TRUE(ForceIsa(best));
  EXPECT_STREQ(IsaName(Isa::kAvx512Vnni), "avx512vnni");
  EXPECT_STREQ(IsaName(Isa::kNeonI8mm), "neoni8mm");
  EXPECT_NE(KernelsFor(Isa::kRef), nullptr);
}

// The levels this CPU offers, read from the operating system rather than
// from cpuinfo (which dispatch uses), so that the two are checked against
// each other: /proc/cpuinfo flags on x86-64, the HWCAP words on Arm64 (which
// qemu-user emulates; its /proc/cpuinfo is the host's).
std::vector<Isa> OsReportedIsas() {
  std::vector<Isa> out = {Isa::kRef};
#if defined(__x86_64__)
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  std::set<std::string> flags;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    for (std::string w; words >> w;) flags.insert(w);
    break;
  }
  auto has = [&](std::initializer_list<const char*> names) {
    for (const char* n : names) {
      if (flags.count(n) == 0) return false;
    }
    return true;
  };
  if (!has({"avx2", "fma", "f16c"})) return out;
  out.push_back(Isa::kAvx2);
  if (!has({"avx512f", "avx512bw", "avx512dq", "avx512vl"})) return out;
  out.push_back(Isa::kAvx512);
  if (has({"avx512_vnni"})) out.push_back(Isa::kAvx512Vnni);
#elif defined(__aarch64__)
  const unsigned long hwcap = getauxval(AT_HWCAP);
  const unsigned long hwcap2 = getauxval(AT_HWCAP2);
  if ((hwcap & (1ul << 1)) == 0) return out;  // HWCAP_ASIMD
  out.push_back(Isa::kNeon);
  if ((hwcap & (1ul << 20)) == 0) return out;  // HWCAP_ASIMDDP
  out.push_back(Isa::kNeonDot);
  if ((hwcap2 & (1ul << 13)) != 0) out.push_back(Isa::kNeonI8mm);  // I8MM
#endif
  return out;
}

// Dispatch offers exactly the levels the OS reports, and the table picked at
// startup is the best of them, or the one FACET_ISA names when the CPU has
// it. FACET_EXPECT_ISA overrides the expectation (tools/run_arm_tests.sh
// sets it per emulated CPU model, whose HWCAP words qemu may round).
TEST(DispatchTest, PicksTheExpectedIsa) {
  const std::vector<Isa> have = OsReportedIsas();
  std::string want = IsaName(have.back());
  if (const char* env = std::getenv("FACET_ISA")) {
    for (Isa isa : have) {
      if (std::string(IsaName(isa)) == env) want = env;
    }
  }
  if (const char* expect = std::getenv("FACET_EXPECT_ISA")) {
    want = expect;
  } else {
    for (int i = 0; i < kNumIsas; ++i) {
      const Isa isa = static_cast<Isa>(i);
      const bool os = std::find(have.begin(), have.end(), isa) != have.end();
      EXPECT_EQ(KernelsFor(isa) != nullptr, os) << IsaName(isa);
    }
  }
  EXPECT_EQ(IsaName(Kernels().isa), want);
}

}  // namespace
}  // namespace facet::kernels
