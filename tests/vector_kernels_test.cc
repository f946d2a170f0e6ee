// The ops of kernels/kernel_list.inc other than the matrix products, at
// every kernel level this CPU has: VectorOpsTest runs Check_<slot> for each
// op of the list on each level's table, so a new op without a check does
// not link. Checks compare against float64 over lengths below, at and above
// the vector widths (the tails). Check_attend_tile and Check_gelu_tanh_mul
// live in tests/attention_test.cc.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/kernels.h"

namespace facet::kernels {

// One check per op, named after its slot (it checks one level's table).
#define FACET_OP(slot, FnType) void Check_##slot(const KernelTable* k);
#include "kernels/kernel_list.inc"

namespace {

constexpr double kU = 1.0 / (1 << 24);  // f32 unit roundoff

// Row lengths around the 8- and 16-float vectors and their unrolled loops,
// and the head and hidden sizes of the real models.
const int64_t kLengths[] = {1,  2,  3,  4,  5,  7,   8,   9,   15,  16,
                            17, 31, 32, 33, 63, 100, 256, 259, 512, 1536};

TEST(VectorOpsTest, EveryOpOfTheListAtEveryLevel) {
  for (int i = 0; i < kNumIsas; ++i) {
    const KernelTable* k = KernelsFor(static_cast<Isa>(i));
    if (k == nullptr) continue;
#define FACET_OP(slot, FnType)                              \
  {                                                         \
    SCOPED_TRACE(std::string(IsaName(k->isa)) + " " #slot); \
    ASSERT_NE(k->slot, nullptr);                            \
    Check_##slot(k);                                        \
  }
#include "kernels/kernel_list.inc"
  }
}

// RopeAngles is the one RoPE angle computation (no per-level variant).
TEST(VectorOpsTest, RopeAnglesMatchFloat64) {
  const float inv_freq[] = {1.f, 0.5f, 1e-3f, 1e-6f};
  float cs[4], sn[4];
  for (int64_t pos : {int64_t{0}, int64_t{1}, int64_t{4095}, int64_t{131071}}) {
    RopeAngles(inv_freq, 4, pos, cs, sn);
    for (int j = 0; j < 4; ++j) {
      const double a = static_cast<double>(pos) * inv_freq[j];
      EXPECT_EQ(cs[j], static_cast<float>(std::cos(a))) << pos << " " << j;
      EXPECT_EQ(sn[j], static_cast<float>(std::sin(a))) << pos << " " << j;
    }
  }
}

}  // namespace

// RMSNorm with and without weight against float64: the factor, x * factor
// and * w each round once, so 4 ulps of the result bound the error. Rows
// of zeros stay zero; in place equals out of place.
void Check_rms_norm(const KernelTable* k) {
  std::mt19937 rng(21);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::uniform_real_distribution<float> logscale(-3.f, 3.f);
  const float eps = 1e-6f;
  const int64_t rows = 3;
  for (int64_t n : kLengths) {
    std::vector<float> x(static_cast<size_t>(rows * n)), w(n);
    for (int64_t r = 0; r < rows; ++r) {
      const float scale = r == 2 ? 0.f : std::pow(10.f, logscale(rng));
      for (int64_t i = 0; i < n; ++i) x[r * n + i] = scale * nd(rng);
    }
    for (float& v : w) v = 1.f + 0.5f * nd(rng);
    for (const float* wp : {static_cast<const float*>(w.data()),
                            static_cast<const float*>(nullptr)}) {
      std::vector<float> out(x.size(), NAN);
      k->rms_norm(x.data(), wp, out.data(), rows, n, eps);
      for (int64_t r = 0; r < rows; ++r) {
        double ss = 0;
        for (int64_t i = 0; i < n; ++i) {
          ss += static_cast<double>(x[r * n + i]) * x[r * n + i];
        }
        const double s = 1.0 / std::sqrt(ss / n + eps);
        for (int64_t i = 0; i < n; ++i) {
          const double want = x[r * n + i] * s * (wp ? wp[i] : 1.0);
          ASSERT_NEAR(out[r * n + i], want, 4 * kU * std::fabs(want))
              << "n " << n << " row " << r << " i " << i
              << (wp ? " weighted" : " unweighted");
        }
      }
      std::vector<float> in_place = x;
      k->rms_norm(in_place.data(), wp, in_place.data(), rows, n, eps);
      ASSERT_EQ(std::memcmp(in_place.data(), out.data(), out.size() * 4), 0)
          << "in place, n " << n;
    }
  }
}

// RoPE against the float64 rotation of the same cos / sin: two products
// and a sum, each rounding once. Pairs from `pairs` on and rows' other
// elements pass through bit for bit; full, partial and no rotation.
void Check_rope(const KernelTable* k) {
  std::mt19937 rng(22);
  std::normal_distribution<float> nd(0.f, 1.f);
  const int64_t rows = 3;
  for (int64_t d : {2, 8, 16, 18, 32, 34, 64, 128, 256, 512}) {
    const int64_t half = d / 2;
    std::vector<float> inv_freq(half), cs(half), sn(half);
    for (int64_t j = 0; j < half; ++j) {
      inv_freq[j] = static_cast<float>(std::pow(10000.0, -2.0 * j / d));
    }
    RopeAngles(inv_freq.data(), half, 777, cs.data(), sn.data());
    for (int64_t pairs : {int64_t{0}, int64_t{1}, half / 4, half - 1, half}) {
      pairs = std::max<int64_t>(0, pairs);
      std::vector<float> x(static_cast<size_t>(rows * d));
      for (float& v : x) v = nd(rng);
      std::vector<float> got = x;
      k->rope(got.data(), rows, d, pairs, cs.data(), sn.data());
      for (int64_t r = 0; r < rows; ++r) {
        const float* xr = x.data() + r * d;
        const float* gr = got.data() + r * d;
        for (int64_t j = 0; j < half; ++j) {
          if (j >= pairs) {
            ASSERT_EQ(std::memcmp(gr + j, xr + j, 4), 0) << d << " " << j;
            ASSERT_EQ(std::memcmp(gr + j + half, xr + j + half, 4), 0);
            continue;
          }
          const double a = xr[j], b = xr[j + half], c = cs[j], s = sn[j];
          const double mag = std::fabs(a * c) + std::fabs(b * s);
          const double mag2 = std::fabs(b * c) + std::fabs(a * s);
          ASSERT_NEAR(gr[j], a * c - b * s, 3 * kU * mag)
              << "d " << d << " pairs " << pairs << " j " << j;
          ASSERT_NEAR(gr[j + half], b * c + a * s, 3 * kU * mag2)
              << "d " << d << " pairs " << pairs << " j " << j;
        }
      }
    }
  }
}

// Softcap against float64 tanh, from far below -cap to far above it
// (saturation), zeros and tiny values, over the tail lengths. The error is
// absolute, a few ulps of cap: logits are compared in absolute terms.
void Check_softcap(const KernelTable* k) {
  std::vector<float> base;
  for (float x = -200.f; x <= 200.f; x += 0.0137f) base.push_back(x);
  for (float x : {0.f, -0.f, 1e-30f, -1e-30f, 1e-7f, 1e30f, -1e30f}) {
    base.push_back(x);
  }
  for (float cap : {30.f, 15.f}) {
    std::vector<int64_t> lengths(std::begin(kLengths), std::end(kLengths));
    lengths.push_back(static_cast<int64_t>(base.size()));
    for (int64_t n : lengths) {
      // An offset into the sweep, so short lengths see varied values.
      const int64_t off =
          (n * 977) % (static_cast<int64_t>(base.size()) - n + 1);
      std::vector<float> x(base.begin() + off, base.begin() + off + n);
      k->softcap(x.data(), n, cap);
      for (int64_t i = 0; i < n; ++i) {
        const double v = base[off + i];
        const double want = cap * std::tanh(v / cap);
        ASSERT_NEAR(x[i], want, 10 * kU * cap)
            << "cap " << cap << " n " << n << " x " << v;
        ASSERT_LE(std::fabs(x[i]), cap) << v;
      }
    }
  }
}

}  // namespace facet::kernels
