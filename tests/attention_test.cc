// The attention tile (kernels.h AttendFn) and the fused GeGLU activation on
// every ISA this CPU has. Check_attend_tile and Check_gelu_tanh_mul are the
// checks of those slots that tests/vector_kernels_test.cc runs for every
// op of kernels/kernel_list.inc at every level: whole attention built from
// tiles against a float64 softmax, over query counts, position counts and
// head widths that hit the tails of each loop, and GeGLU against float64.
// The tests here add that results depend only on the tiling of positions.
// Check_load_kv_f16 and Check_load_kv_q8_0 (the KV cache's reduced
// precisions widened for attend_tile) are here too.
#include <cmath>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/kernels.h"

namespace facet::kernels {
namespace {

struct Case {
  int nq;
  int positions;
  int64_t d;
};

// out[i][c] = softmax_j(scale q_i . k_j) v_j in float64.
std::vector<double> Exact(const std::vector<float>& q, int nq,
                          const std::vector<float>& k,
                          const std::vector<float>& v, int n, int64_t d,
                          float scale) {
  std::vector<double> out(static_cast<size_t>(nq * d), 0.0);
  for (int i = 0; i < nq; ++i) {
    std::vector<double> s(n);
    double mx = -INFINITY;
    for (int j = 0; j < n; ++j) {
      double dot = 0;
      for (int64_t c = 0; c < d; ++c)
        dot += double(q[i * d + c]) * k[j * d + c];
      s[j] = dot * scale;
      mx = std::max(mx, s[j]);
    }
    double sum = 0;
    for (int j = 0; j < n; ++j) sum += (s[j] = std::exp(s[j] - mx));
    for (int j = 0; j < n; ++j) {
      for (int64_t c = 0; c < d; ++c)
        out[i * d + c] += s[j] / sum * v[j * d + c];
    }
  }
  return out;
}

// Attention of nq queries over n positions in tiles of `tile` positions.
std::vector<float> Tiled(const KernelTable& kt, const std::vector<float>& q,
                         int nq, const std::vector<float>& k,
                         const std::vector<float>& v, int n, int64_t d,
                         float scale, int tile) {
  std::vector<float> acc(static_cast<size_t>(nq * d), 0.f), m(nq, -INFINITY),
      l(nq, 0.f);
  const float* kp[kAttnTile];
  const float* vp[kAttnTile];
  for (int j0 = 0; j0 < n; j0 += tile) {
    const int count = std::min(tile, n - j0);
    for (int j = 0; j < count; ++j) {
      kp[j] = k.data() + (j0 + j) * d;
      vp[j] = v.data() + (j0 + j) * d;
    }
    kt.attend_tile(q.data(), d, nq, kp, vp, count, d, scale, m.data(), l.data(),
                   acc.data());
  }
  for (int i = 0; i < nq; ++i) {
    for (int64_t c = 0; c < d; ++c) acc[i * d + c] /= l[i];
  }
  return acc;
}

}  // namespace

// Called by VectorOpsTest (tests/vector_kernels_test.cc) for every level.
void Check_attend_tile(const KernelTable* kt) {
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.f, 1.f);
  // Head widths that are not a multiple of 4 or 16 reach the column
  // tails of the vector loops (13, 50).
  const Case cases[] = {{1, 1, 8},    {1, 7, 16},    {3, 9, 24},
                        {4, 64, 64},  {5, 65, 72},   {8, 130, 256},
                        {9, 200, 40}, {16, 63, 512}, {2, 300, 256},
                        {6, 70, 13},  {3, 37, 50}};
  for (const Case& cs : cases) {
    std::vector<float> q(cs.nq * cs.d), k(cs.positions * cs.d),
        v(cs.positions * cs.d);
    // Gemma 4's q and k are RMS-normalised and the scale is 1: scores of
    // a few units to tens.
    for (float& x : q) x = nd(rng);
    for (float& x : k) x = nd(rng) * 0.5f;
    for (float& x : v) x = nd(rng);
    const std::vector<double> want =
        Exact(q, cs.nq, k, v, cs.positions, cs.d, 1.0f);
    const std::vector<float> got =
        Tiled(*kt, q, cs.nq, k, v, cs.positions, cs.d, 1.0f, kAttnTile);
    for (size_t i = 0; i < want.size(); ++i) {
      // The score error (d roundings of |q||k|) moves the weights by a
      // relative ~d * 2^-24 * |s|; a bound of 1e-4 absolute covers it.
      ASSERT_NEAR(got[i], want[i], 1e-4 + 1e-4 * std::fabs(want[i]))
          << IsaName(kt->isa) << " nq " << cs.nq << " positions "
          << cs.positions << " d " << cs.d << " at " << i;
    }
    // Smaller tiles give the same softmax within rounding.
    const std::vector<float> small =
        Tiled(*kt, q, cs.nq, k, v, cs.positions, cs.d, 1.0f, 5);
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_NEAR(small[i], want[i], 1e-4 + 1e-4 * std::fabs(want[i]));
    }
  }
}

namespace {

// Every level's load_kv_* against the reference bit for bit (the widening
// is exact) and, through the reference, against the formats' meaning.
void CheckLoadKv(const KernelTable* kt, LoadKvFn fn, LoadKvFn ref_fn, bool q8) {
  std::mt19937 rng(17);
  // f16 rows of any length (the tails of the vector loops); q8_0 rows are
  // whole blocks.
  std::vector<int64_t> lengths = {32, 64, 96, 256, 512};
  if (!q8) lengths.insert(lengths.end(), {4, 13});
  for (int64_t d : lengths) {
    for (int count : {1, 3, kAttnTile}) {
      const int64_t row_bytes = q8 ? d / 32 * 34 : 2 * d;
      std::vector<uint8_t> bytes(static_cast<size_t>(count * row_bytes));
      for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
      std::vector<const uint8_t*> rows(count);
      for (int j = 0; j < count; ++j) {
        rows[j] = bytes.data() + j * row_bytes;
        // Finite halves only (scales of q8_0 blocks, every half of f16
        // rows): clear one exponent bit of each.
        for (int64_t c = 0; c < (q8 ? d / 32 : d); ++c) {
          bytes[j * row_bytes + (q8 ? c * 34 : 2 * c) + 1] &= 0xbf;
        }
      }
      std::vector<float> got(count * d), want(count * d);
      fn(rows.data(), count, d, got.data());
      ref_fn(rows.data(), count, d, want.data());
      ASSERT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * 4))
          << IsaName(kt->isa) << " d " << d << " count " << count;
    }
  }
}

}  // namespace

// Called by VectorOpsTest for every level.
void Check_load_kv_f16(const KernelTable* kt) {
  const KernelTable* ref = KernelsFor(Isa::kRef);
  CheckLoadKv(kt, kt->load_kv_f16, ref->load_kv_f16, false);
  // The reference against the format: 1.0, -2.5, the smallest subnormal.
  const uint16_t h[3] = {0x3c00, 0xc100, 0x0001};
  const uint8_t* row = reinterpret_cast<const uint8_t*>(h);
  float out[3];
  ref->load_kv_f16(&row, 1, 3, out);
  EXPECT_EQ(out[0], 1.f);
  EXPECT_EQ(out[1], -2.5f);
  EXPECT_EQ(out[2], std::ldexp(1.f, -24));
}

void Check_load_kv_q8_0(const KernelTable* kt) {
  const KernelTable* ref = KernelsFor(Isa::kRef);
  CheckLoadKv(kt, kt->load_kv_q8_0, ref->load_kv_q8_0, true);
  // One block of scale 0.5 (fp16 0x3800): q * 0.5.
  uint8_t block[34] = {0x00, 0x38};
  for (int c = 0; c < 32; ++c) block[2 + c] = static_cast<uint8_t>(c * 8 - 128);
  const uint8_t* row = block;
  float out[32];
  ref->load_kv_q8_0(&row, 1, 32, out);
  for (int c = 0; c < 32; ++c) EXPECT_EQ(out[c], 0.5f * (c * 8 - 128)) << c;
}

namespace {

// A query row's result does not depend on the other rows in the call:
// alone or in a call of nq rows, in a full block of 4 queries or a short
// last one (nq 6, 7), with head widths that reach the column tails.
TEST(AttentionTest, QueryRowsAreIndependent) {
  std::mt19937 rng(9);
  std::normal_distribution<float> nd(0.f, 1.f);
  const int n = 100;
  const std::pair<int, int64_t> shapes[] = {{8, 256}, {7, 13}, {6, 50}};
  for (const auto& [nq, d] : shapes) {
    std::vector<float> q(nq * d), k(n * d), v(n * d);
    for (float& x : q) x = nd(rng);
    for (float& x : k) x = nd(rng);
    for (float& x : v) x = nd(rng);
    for (int isa = 0; isa < kNumIsas; ++isa) {
      const KernelTable* kt = KernelsFor(static_cast<Isa>(isa));
      if (kt == nullptr) continue;
      const std::vector<float> all = Tiled(*kt, q, nq, k, v, n, d, 1.f, 64);
      for (int i = 0; i < nq; ++i) {
        std::vector<float> qi(q.begin() + i * d, q.begin() + (i + 1) * d);
        const std::vector<float> one = Tiled(*kt, qi, 1, k, v, n, d, 1.f, 64);
        for (int64_t c = 0; c < d; ++c) {
          ASSERT_EQ(one[c], all[i * d + c])
              << IsaName(kt->isa) << " nq " << nq << " d " << d << " " << i;
        }
      }
    }
  }
}

// Every vector level (x86 and Arm) has its own attention tile and KV
// loads, so the checks above test them and not the reference again.
TEST(AttentionTest, VectorLevelsHaveTheirOwnKernels) {
  const KernelTable* ref = KernelsFor(Isa::kRef);
  for (int isa = 1; isa < kNumIsas; ++isa) {
    const KernelTable* kt = KernelsFor(static_cast<Isa>(isa));
    if (kt == nullptr) continue;
    EXPECT_NE(kt->attend_tile, ref->attend_tile) << IsaName(kt->isa);
    EXPECT_NE(kt->load_kv_f16, ref->load_kv_f16) << IsaName(kt->isa);
    EXPECT_NE(kt->load_kv_q8_0, ref->load_kv_q8_0) << IsaName(kt->isa);
  }
}

// Far-below-max scores underflow to exactly zero weight, not NaN, in the
// vector loops (n = 20, 64) as in the scalar tails (n = 3).
TEST(AttentionTest, LargeScoreGapsStayFinite) {
  const int64_t d = 8;
  for (int n : {3, 20, 64}) {
    std::vector<float> q(d, 0.f), k(n * d, 0.f), v(n * d);
    q[0] = 1.f;
    k[0] = 200.f;  // score 200
    for (int j = 1; j < n; j += 2) {
      k[j * d] = -200.f;  // score -200: e^-400 underflows; 0: e^-200 too
    }
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
    for (int isa = 0; isa < kNumIsas; ++isa) {
      const KernelTable* kt = KernelsFor(static_cast<Isa>(isa));
      if (kt == nullptr) continue;
      const std::vector<float> got = Tiled(*kt, q, 1, k, v, n, d, 1.f, 64);
      for (int64_t c = 0; c < d; ++c) {
        EXPECT_EQ(got[c], v[c]) << IsaName(kt->isa) << " n " << n;
      }
    }
  }
}

}  // namespace

// The fused GeGLU activation against the float64 formula, over the range
// where tanh saturates and the tails of the vector loop (called by
// VectorOpsTest for every level).
void Check_gelu_tanh_mul(const KernelTable* kt) {
  std::vector<float> gate, up;
  for (float x = -30.f; x <= 30.f; x += 0.01953125f) {
    gate.push_back(x);
    up.push_back(1.f + 0.001f * x);
  }
  gate.push_back(1e-30f);
  up.push_back(2.f);
  for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{9},
                    static_cast<int64_t>(gate.size())}) {
    std::vector<float> out(static_cast<size_t>(n));
    kt->gelu_tanh_mul(gate.data(), up.data(), out.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const double x = gate[i];
      const double want =
          0.5 * x *
          (1 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))) *
          up[i];
      ASSERT_NEAR(out[i], want, 4e-7 * std::fabs(x * up[i]) + 1e-37)
          << IsaName(kt->isa) << " x " << x;
    }
  }
  // In place (out == gate).
  std::vector<float> g(gate.begin(), gate.begin() + 16), want(16);
  kt->gelu_tanh_mul(g.data(), up.data(), want.data(), 16);
  kt->gelu_tanh_mul(g.data(), up.data(), g.data(), 16);
  EXPECT_EQ(g, want) << IsaName(kt->isa);
}

}  // namespace facet::kernels
