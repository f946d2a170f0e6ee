// Runs the AVX-512 and AVX-512 VNNI q8_0 / q4_0 / q6_K kernels, the packed
// q4_0 / q8_0 / q4_K / q6_K ones (against the AVX2 packed kernels, bit for
// bit) and the AVX-512 dot product and f32 GEMM of avx512_ops_impl.inc on a
// CPU without AVX-512: avx512_matmul_impl.inc and avx512_packed_impl.inc are
// compiled here on SIMDe's portable AVX-512 (libsimde-dev) and checked
// against the scalar reference, with the checks of tests/kernels_test.cc:
// the rounding bound over shape sweeps, exact results on integer inputs,
// and bit-identical results whatever the tiling. The real kernels run in
// facet_tests on AVX-512 machines; this covers their logic everywhere
// else. Prints "N passed, M failed".
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/ref/fp16.h"
#include "kernels/ref/matmul_ref.h"
#include "kernels/ref/quant.h"

#define FACET_KERNELS_SIMDE 1
#define FACET_VNNI 0
#define FACET_AVX512_NS avx512_emu
#include "kernels/x86/avx512_matmul_impl.inc"
#undef FACET_VNNI
#undef FACET_AVX512_NS
#define FACET_VNNI 1
#define FACET_AVX512_NS avx512vnni_emu
#include "kernels/x86/avx512_matmul_impl.inc"
#include "kernels/x86/avx512_packed_impl.inc"
#undef FACET_AVX512_NS
#undef FACET_VNNI
#define FACET_VNNI 0
#define FACET_AVX512_NS avx512_emu
#include "kernels/x86/avx512_attention_impl.inc"
#include "kernels/x86/avx512_ops_impl.inc"
#include "kernels/x86/avx512_packed_impl.inc"

namespace facet::kernels {
namespace {

struct Variant {
  const char* name;
  DType type;
  GemmFn gemm;
};

int g_passed = 0, g_failed = 0;

void Check(bool ok, const char* what, const Variant& v, int64_t cols,
           int64_t rows, int64_t n) {
  if (ok) {
    ++g_passed;
    return;
  }
  if (++g_failed <= 20) {
    std::printf("FAIL %s %s %s cols %lld rows %lld n %lld\n", what, v.name,
                DTypeName(v.type), static_cast<long long>(cols),
                static_cast<long long>(rows), static_cast<long long>(n));
  }
}

std::vector<uint8_t> Weights(DType t, int64_t rows, int64_t cols,
                             std::mt19937* rng, bool small) {
  const int64_t bytes = RowBytes(t, cols) * rows;
  const int64_t bb = GetDTypeInfo(t)->block_bytes;
  std::vector<uint8_t> w(static_cast<size_t>(bytes));
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> mag(0.001f, 0.02f);
  for (uint8_t& b : w) b = static_cast<uint8_t>(byte(*rng));
  for (int64_t off = 0; off < bytes; off += bb) {
    const float d = small ? 1.f : (byte(*rng) & 1 ? -1.f : 1.f) * mag(*rng);
    const uint16_t h = Fp32ToFp16(d);
    std::memcpy(&w[off], &h, 2);
    if (small && t == DType::kQ8_0) {
      for (int j = 0; j < 32; ++j) {
        w[off + 2 + j] = static_cast<uint8_t>(byte(*rng) % 17 - 8);
      }
    }
  }
  return w;
}

std::vector<uint8_t> Acts(int64_t n, int64_t cols, std::mt19937* rng,
                          bool integer, int64_t* stride) {
  std::vector<float> x(static_cast<size_t>(n * cols));
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_int_distribution<int> small(-8, 8);
  for (int64_t i = 0; i < n * cols; ++i) {
    x[i] = integer ? static_cast<float>(small(*rng))
                   : std::pow(10.f, static_cast<float>(i / 32 % 5) - 2) *
                         normal(*rng);
    if (integer && i % 32 == 3) x[i] = (i / 32) % 2 ? 127.f : -127.f;
  }
  *stride = ActRowBytes(ActType::kQ8_0, cols);
  std::vector<uint8_t> a(static_cast<size_t>(n * *stride));
  for (int64_t t = 0; t < n; ++t) {
    ref::QuantizeActQ8_0(x.data() + t * cols, a.data() + t * *stride, cols);
  }
  return a;
}

// Sum over the row of |w| |x| (both dequantized), for the error bound.
double Magnitude(DType t, const uint8_t* w, const uint8_t* a, int64_t cols) {
  std::vector<float> wf(static_cast<size_t>(cols));
  DequantizeRow(t, w, wf.data(), cols);
  const int8_t* qs = reinterpret_cast<const int8_t*>(a);
  const float* d = reinterpret_cast<const float*>(a + cols);
  double s = 0;
  for (int64_t c = 0; c < cols; ++c) {
    s += std::fabs(static_cast<double>(wf[c]) * d[c / 32] * qs[c]);
  }
  return s;
}

void Run(const Variant& v) {
  std::mt19937 rng(static_cast<unsigned>(v.type) * 31 + 7);
  const double u = 1.0 / (1 << 24);
  for (int64_t cols : {32, 64, 96, 256, 512, 2048 + 32}) {
    const int64_t k = cols / 32 + 16;
    const double gamma = k * u / (1 - k * u);
    for (bool integer : {false, true}) {
      const int64_t rows = 64, n = 17;
      const int64_t rb = RowBytes(v.type, cols);
      std::vector<uint8_t> w = Weights(v.type, rows, cols, &rng, integer);
      int64_t as;
      std::vector<uint8_t> a = Acts(n, cols, &rng, integer, &as);
      std::vector<float> all(static_cast<size_t>(rows * n));
      v.gemm(w.data(), rb, rows, cols, a.data(), as, n, all.data(), rows);
      for (int64_t sub_rows : {1, 3, 4, 5, 17, 64}) {
        for (int64_t sub_n : {1, 2, 3, 4, 5, 8, 17}) {
          const int64_t r0 = (rows - sub_rows) / 2, t0 = (n - sub_n) / 3;
          std::vector<float> y(static_cast<size_t>(sub_rows * sub_n));
          v.gemm(w.data() + r0 * rb, rb, sub_rows, cols, a.data() + t0 * as, as,
                 sub_n, y.data(), sub_rows);
          bool in_bound = true, same_bits = true;
          for (int64_t t = 0; t < sub_n; ++t) {
            for (int64_t r = 0; r < sub_rows; ++r) {
              const uint8_t* wr = w.data() + (r0 + r) * rb;
              const uint8_t* at = a.data() + (t0 + t) * as;
              const double want = ref::Dot(v.type, wr, at, cols);
              const float got = y[t * sub_rows + r];
              const double tol =
                  integer ? 0 : gamma * Magnitude(v.type, wr, at, cols);
              in_bound &= std::fabs(got - want) <= tol;
              same_bits &=
                  std::memcmp(&got, &all[(t0 + t) * rows + r0 + r], 4) == 0;
            }
          }
          Check(in_bound, integer ? "exact" : "bound", v, cols, sub_rows,
                sub_n);
          Check(same_bits, "tiling", v, cols, sub_rows, sub_n);
        }
      }
    }
  }
}

}  // namespace
}  // namespace facet::kernels

namespace facet::kernels {
namespace {

// The dot product and the f32 GEMM against float64 over lengths below, at and
// above the 16-lane vectors (the masked tails).
void RunVectorOps() {
  std::mt19937 rng(99);
  std::normal_distribution<float> nd(0.f, 1.f);
  const double u = 1.0 / (1 << 24);
  for (int64_t n : {1, 7, 15, 16, 17, 31, 32, 33, 100, 1000}) {
    std::vector<float> a(n), b(n);
    for (int64_t i = 0; i < n; ++i) {
      a[i] = nd(rng);
      b[i] = nd(rng);
    }
    double want = 0, mag = 0;
    for (int64_t i = 0; i < n; ++i) {
      want += double(a[i]) * b[i];
      mag += std::fabs(double(a[i]) * b[i]);
    }
    const double tol = (n + 8) * u * mag + 1e-30;
    const float got = avx512_emu::DotF32(a.data(), b.data(), n);
    const Variant v{"avx512(simde) dot/gemm", DType::kF32, nullptr};
    Check(std::fabs(got - want) <= tol, "dot_f32", v, n, 1, 1);
    // 3 rows x 2 tokens of f32: the GEMM is DotF32 per pair.
    std::vector<float> w(3 * n), out(6);
    for (float& x : w) x = nd(rng);
    avx512_emu::GemmF32(reinterpret_cast<const uint8_t*>(w.data()), n * 4, 3, n,
                        reinterpret_cast<const uint8_t*>(a.data()), 0, 2,
                        out.data(), 3);
    bool ok = true;
    for (int r = 0; r < 3; ++r) {
      const float d = avx512_emu::DotF32(w.data() + r * n, a.data(), n);
      ok = ok && out[r] == d && out[3 + r] == d;
    }
    Check(ok, "gemm_f32", v, n, 3, 2);
  }
}

// The attention tile against the scalar reference (rounding tolerance)
// over query counts, position counts and head widths that hit every tail,
// and each query row's bits unchanged when it is computed alone.
void RunAttention() {
  std::mt19937 rng(23);
  std::normal_distribution<float> nd(0.f, 1.f);
  const Variant v{"avx512(simde) attention", DType::kF32, nullptr};
  struct Case {
    int nq, count;
    int64_t d;
  };
  for (const Case& cs : {Case{1, 1, 8}, Case{3, 9, 24}, Case{5, 64, 72},
                         Case{16, 63, 256}, Case{7, 33, 512}}) {
    std::vector<float> q(cs.nq * cs.d), kv(2 * cs.count * cs.d);
    for (float& x : q) x = nd(rng);
    for (float& x : kv) x = nd(rng) * 0.5f;
    const float* kp[kAttnTile];
    const float* vp[kAttnTile];
    for (int j = 0; j < cs.count; ++j) {
      kp[j] = kv.data() + j * cs.d;
      vp[j] = kv.data() + (cs.count + j) * cs.d;
    }
    auto run = [&](auto fn, int i0, int nq, std::vector<float>* out) {
      out->assign(nq * cs.d + 2 * nq, 0.f);
      float* m = out->data() + nq * cs.d;
      float* l = m + nq;
      std::fill(m, m + nq, -INFINITY);
      fn(q.data() + i0 * cs.d, cs.d, nq, kp, vp, cs.count, cs.d, 1.0f, m, l,
         out->data());
    };
    std::vector<float> got, want, one;
    run(avx512_emu::AttendTile, 0, cs.nq, &got);
    run(ref::AttendTile, 0, cs.nq, &want);
    bool close = true;
    for (size_t i = 0; i < got.size(); ++i) {
      close = close &&
              std::fabs(got[i] - want[i]) <= 1e-4 + 1e-4 * std::fabs(want[i]);
    }
    Check(close, "attend_tile vs ref", v, cs.d, cs.nq, cs.count);
    bool same = true;
    for (int i = 0; i < cs.nq; ++i) {
      run(avx512_emu::AttendTile, i, 1, &one);
      same = same && std::memcmp(one.data(), got.data() + i * cs.d,
                                 cs.d * sizeof(float)) == 0;
    }
    Check(same, "attend_tile rows alone", v, cs.d, cs.nq, cs.count);
  }
}

}  // namespace
}  // namespace facet::kernels

namespace facet::kernels {
namespace {

std::vector<uint8_t> QuantRows(DType t, int64_t rows, int64_t cols,
                               std::mt19937* rng) {
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> f(static_cast<size_t>(cols));
  const int64_t rb = RowBytes(t, cols);
  std::vector<uint8_t> out(static_cast<size_t>(rows * rb));
  for (int64_t r = 0; r < rows; ++r) {
    for (float& v : f) v = nd(*rng);
    QuantizeRow(t, f.data(), out.data() + r * rb, cols);
  }
  return out;
}

std::vector<uint8_t> ActsFor(DType t, int64_t n, int64_t cols,
                             std::mt19937* rng, int64_t* stride) {
  std::normal_distribution<float> nd(0.f, 1.f);
  const ActType act = ActTypeFor(t);
  *stride = ActRowBytes(act, cols);
  std::vector<uint8_t> a(static_cast<size_t>(n * *stride));
  std::vector<float> x(static_cast<size_t>(cols));
  for (int64_t k = 0; k < n; ++k) {
    for (float& v : x) v = nd(*rng);
    KernelsFor(Isa::kRef)->quantize_act[static_cast<int>(act)](
        x.data(), a.data() + k * *stride, cols);
  }
  return a;
}

// The packed kernels equal the AVX2 ones bit for bit (see
// avx512_packed_impl.inc): group pairs, a lone last group, token tails.
void RunPacked(const Variant& v) {
  std::mt19937 rng(static_cast<unsigned>(v.type) * 17 + 3);
  const GemmFn want_fn = KernelsFor(Isa::kAvx2)->GemmPacked(v.type);
  for (int64_t cols : {256, 768}) {
    const int64_t rb = RowBytes(v.type, cols);
    for (int64_t rows : {8, 16, 24, 40}) {
      const std::vector<uint8_t> w = QuantRows(v.type, rows, cols, &rng);
      std::vector<uint8_t> p(w.size());
      PackRows(v.type, w.data(), 0, rows, cols, p.data());
      for (int64_t n : {1, 2, 5, 6, 7, 13}) {
        int64_t as;
        const std::vector<uint8_t> a = ActsFor(v.type, n, cols, &rng, &as);
        std::vector<float> want(static_cast<size_t>(rows * n)),
            got(want.size());
        want_fn(p.data(), rb, rows, cols, a.data(), as, n, want.data(), rows);
        v.gemm(p.data(), rb, rows, cols, a.data(), as, n, got.data(), rows);
        Check(std::memcmp(want.data(), got.data(), want.size() * 4) == 0,
              "packed == avx2", v, cols, rows, n);
      }
    }
  }
}

// q6_K (file layout) against ref::Dot within the rounding bound, and the
// same bits whatever the tiling.
void RunQ6K(const Variant& v) {
  std::mt19937 rng(61);
  const double u = 1.0 / (1 << 24);
  for (int64_t cols : {256, 512, 1536}) {
    const int64_t rows = 19, n = 9, rb = RowBytes(v.type, cols);
    const std::vector<uint8_t> w = QuantRows(v.type, rows, cols, &rng);
    int64_t as;
    const std::vector<uint8_t> a = ActsFor(v.type, n, cols, &rng, &as);
    std::vector<float> all(static_cast<size_t>(rows * n)), one(rows);
    v.gemm(w.data(), rb, rows, cols, a.data(), as, n, all.data(), rows);
    bool in_bound = true, same_bits = true;
    std::vector<float> wf(static_cast<size_t>(cols));
    for (int64_t t = 0; t < n; ++t) {
      const uint8_t* at = a.data() + t * as;
      v.gemm(w.data(), rb, rows, cols, at, as, 1, one.data(), rows);
      for (int64_t r = 0; r < rows; ++r) {
        const uint8_t* wr = w.data() + r * rb;
        DequantizeRow(v.type, wr, wf.data(), cols);
        double mag = 0;
        for (int64_t c = 0; c < cols; ++c) {
          mag +=
              std::fabs(double(wf[c]) * reinterpret_cast<const int8_t*>(at)[c] *
                        reinterpret_cast<const float*>(at + cols)[c / 256]);
        }
        const double k = cols / 16.0 + 16;
        const double want = ref::Dot(v.type, wr, at, cols);
        in_bound &= std::fabs(all[t * rows + r] - want) <= k * u * mag * 4;
        same_bits &= std::memcmp(&one[r], &all[t * rows + r], 4) == 0;
      }
    }
    Check(in_bound, "bound", v, cols, rows, n);
    Check(same_bits, "tiling", v, cols, rows, n);
  }
}

}  // namespace
}  // namespace facet::kernels

int main() {
  using namespace facet::kernels;  // NOLINT: a small check program
  RunVectorOps();
  RunAttention();
  const Variant packed[] = {
      {"avx512(simde) packed", DType::kQ4_0, avx512_emu::GemmQ4_0x8},
      {"avx512(simde) packed", DType::kQ8_0, avx512_emu::GemmQ8_0x8},
      {"avx512(simde) packed", DType::kQ4_K, avx512_emu::GemmQ4_Kx8},
      {"avx512vnni(simde) packed", DType::kQ4_0, avx512vnni_emu::GemmQ4_0x8},
      {"avx512vnni(simde) packed", DType::kQ8_0, avx512vnni_emu::GemmQ8_0x8},
      {"avx512vnni(simde) packed", DType::kQ4_K, avx512vnni_emu::GemmQ4_Kx8},
      {"avx512(simde) packed", DType::kQ6_K, avx512_emu::GemmQ6_Kx8},
      {"avx512vnni(simde) packed", DType::kQ6_K, avx512vnni_emu::GemmQ6_Kx8},
  };
  for (const Variant& v : packed) RunPacked(v);
  RunQ6K({"avx512(simde)", DType::kQ6_K, avx512_emu::GemmQ6K});
  RunQ6K({"avx512vnni(simde)", DType::kQ6_K, avx512vnni_emu::GemmQ6K});
  const Variant variants[] = {
      {"avx512(simde)", DType::kQ8_0, avx512_emu::GemmQ8_0},
      {"avx512(simde)", DType::kQ4_0, avx512_emu::GemmQ4_0},
      {"avx512vnni(simde)", DType::kQ8_0, avx512vnni_emu::GemmQ8_0},
      {"avx512vnni(simde)", DType::kQ4_0, avx512vnni_emu::GemmQ4_0},
  };
  for (const Variant& v : variants) Run(v);
  std::printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
