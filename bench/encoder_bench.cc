// facet's vision and audio encoders at the real Gemma 4 tower shapes
// (docs/encoders.md): end-to-end encode times, the towers' matrix products
// through kernels::MatMul against Eigen and XNNPACK, the machine's measured
// FMA peak, and the embedding difference between two towers.
//
//   facet_encoder_bench peak [--threads T]
//   facet_encoder_bench gemm --kind vision-e2b|vision-31b|audio-e2b
//                            [--n N] [--attn-n2 N2] [--threads T] [--runs R]
//   (gemm: the tower's matrix shapes at n rows, and for vision one layer's
//   attention at n and N2 patches, every way in interleaved rounds)
//   facet_encoder_bench vision DIR [--image PNG] [--budgets 70,140,...]
//                                  [--runs R] [--threads T]
//   facet_encoder_bench audio DIR [--seconds 1,10,30] [--runs R] [--threads T]
//   (vision / audio: --max-load L waits before each timed run until the
//   1-minute load average is below L; --config DIR2 takes the FLOP counts
//   from DIR2/config.json, for an mmproj GGUF)
//   facet_encoder_bench compare DIR_A DIR_B [--image PNG --budget B |
//                                            --seconds S] [--threads T]
//
// Towers with random weights at the real shapes come from
// tools/random_towers.py. Times are medians over R runs after one warm-up
// run (R = 1: the single run, no warm-up). The FMA peak is the best of 5
// runs of independent fused multiply-add chains; on a shared machine the
// fractions are given against a short sample of it taken next to each
// measurement ("peak now"), as others' jobs change the share we get.
//
// This file is compiled twice: normally (the program) and, with
// FACET_ENCODER_BENCH_EIGEN_TU and the AVX-512 flags, into the two
// functions EigenGemm and EigenAttention below, so that Eigen gets AVX-512
// code while the rest of the program (and the facet headers it includes)
// stays baseline x86-64 (Eigen runs only on AVX-512 CPUs).
#if defined(FACET_ENCODER_BENCH_EIGEN_TU)

// GCC 12's AVX-512 headers use self-initialized _mm512_undefined_*()
// values, which -W(maybe-)uninitialized reports at every inlined call.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <Eigen/Dense>
#include <cstdint>

namespace facet_bench {

// y[n][m] = x[n][k] * w[m][k]^T (row-major, all f32), single-threaded.
void EigenGemm(const float* x, const float* w, float* y, int64_t n, int64_t k,
               int64_t m) {
  using RowMajor =
      Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const RowMajor> X(x, n, k);
  Eigen::Map<const RowMajor> W(w, m, k);
  Eigen::Map<RowMajor> Y(y, n, m);
  Y.noalias() = X * W.transpose();
}

const char* EigenSimd() { return Eigen::SimdInstructionSetsInUse(); }

// Bidirectional attention of heads [h0, h1) as the vision tower computes it
// (scale 1, no mask), by blocks of 256 queries: S = Q K^T, a row softmax,
// O = P V / sum. q, k, v, out: [n][stride], head h at columns h * d.
// scratch: 256 * n floats.
void EigenAttention(const float* q, const float* k, const float* v, float* out,
                    int64_t n, int64_t d, int64_t stride, int64_t h0,
                    int64_t h1, float* scratch) {
  using RowMajor =
      Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Strided = Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>>;
  using StridedOut = Eigen::Map<RowMajor, 0, Eigen::OuterStride<>>;
  for (int64_t h = h0; h < h1; ++h) {
    Strided K(k + h * d, n, d, Eigen::OuterStride<>(stride));
    Strided V(v + h * d, n, d, Eigen::OuterStride<>(stride));
    for (int64_t q0 = 0; q0 < n; q0 += 256) {
      const int64_t nb = n - q0 < 256 ? n - q0 : 256;
      Strided Q(q + q0 * stride + h * d, nb, d, Eigen::OuterStride<>(stride));
      Eigen::Map<RowMajor> S(scratch, nb, n);
      S.noalias() = Q * K.transpose();
      Eigen::VectorXf sums(nb);
      for (int64_t i = 0; i < nb; ++i) {
        const float m = S.row(i).maxCoeff();
        S.row(i) = (S.row(i).array() - m).exp();
        sums(i) = S.row(i).sum();
      }
      StridedOut O(out + q0 * stride + h * d, nb, d,
                   Eigen::OuterStride<>(stride));
      O.noalias() = S * V;
      for (int64_t i = 0; i < nb; ++i) O.row(i) /= sums(i);
    }
  }
}

}  // namespace facet_bench

#else  // the program

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "facet/encoder.h"
#include "facet/facet.h"
#include "kernels/kernels.h"
#include "kernels/parallel.h"
#include "kernels/ref/fp16.h"

#if defined(FACET_BENCH_XNNPACK)
#include <pthreadpool.h>
#include <xnnpack.h>
#endif

namespace facet_bench {
void EigenGemm(const float* x, const float* w, float* y, int64_t n, int64_t k,
               int64_t m);
const char* EigenSimd();
void EigenAttention(const float* q, const float* k, const float* v, float* out,
                    int64_t n, int64_t d, int64_t stride, int64_t h0,
                    int64_t h1, float* scratch);
}  // namespace facet_bench

#if defined(FACET_BENCH_PROTOTYPE)
// kernels/x86/avx512_gemm_f32.cc: the cache-friendly AVX-512 GEMM
// prototype (not in facet's dispatch; compiled into this program only).
namespace facet::kernels::avx512_gemm {
void GemmF32(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
             const uint8_t* a, int64_t a_stride, int64_t n, float* y,
             int64_t ldy);
void GemmBF16(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
              const uint8_t* a, int64_t a_stride, int64_t n, float* y,
              int64_t ldy);
void GemmF32x(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
              const uint8_t* a, int64_t a_stride, int64_t n, float* y,
              int64_t ldy);
void GemmBF16Dp(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
                const uint8_t* a, int64_t a_stride, int64_t n, float* y,
                int64_t ldy);
}  // namespace facet::kernels::avx512_gemm
#endif

namespace facet {
namespace {

using Clock = std::chrono::steady_clock;
using kernels::DType;
using kernels::Matrix;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

double LoadAverage() {
  std::ifstream f("/proc/loadavg");
  double l = -1;
  f >> l;
  return l;
}

// With max_load > 0, waits (up to 20 min) until the 1-minute load average
// is below it: on a shared machine others' builds come and go.
double g_max_load = 0;
double g_worst_load = 0;  // the highest load a timed run started at
// FMA peak samples (GFLOP/s at g_peak_threads) taken right before each
// timed run when g_peak_threads > 0: the machine's speed at that moment.
int g_peak_threads = 0;
std::vector<double> g_peaks;
void WaitForQuiet() {
  if (g_max_load <= 0) return;
  for (int i = 0; i < 240 && LoadAverage() >= g_max_load; ++i) {
    std::this_thread::sleep_for(std::chrono::seconds(5));
  }
}

double SamplePeak(int threads);

// Seconds per call of fn: one warm-up call, then `runs` timed calls (with
// runs == 1 just one cold call), each started when the machine is quiet
// (WaitForQuiet).
std::vector<double> TimeRuns(const std::function<bool()>& fn, int runs) {
  std::vector<double> t;
  if (runs > 1 && !fn()) return t;
  for (int i = 0; i < runs; ++i) {
    WaitForQuiet();
    g_worst_load = std::max(g_worst_load, LoadAverage());
    if (g_peak_threads > 0) g_peaks.push_back(SamplePeak(g_peak_threads));
    const auto a = Clock::now();
    if (!fn()) return {};
    t.push_back(Seconds(a, Clock::now()));
  }
  return t;
}

std::string CpuName() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t c = line.find(':');
      return c == std::string::npos ? line : line.substr(c + 2);
    }
  }
  return "unknown CPU";
}

// --- Arguments -----------------------------------------------------------

struct Args {
  std::vector<std::string> pos;
  std::vector<std::pair<std::string, std::string>> opts;

  std::string Get(const std::string& k, const std::string& def) const {
    for (const auto& o : opts) {
      if (o.first == k) return o.second;
    }
    return def;
  }
  int Int(const std::string& k, int def) const {
    const std::string v = Get(k, "");
    return v.empty() ? def : std::atoi(v.c_str());
  }
  std::vector<int> Ints(const std::string& k, const std::string& def) const {
    std::vector<int> out;
    std::stringstream ss(Get(k, def));
    std::string item;
    while (std::getline(ss, item, ',')) {
      if (!item.empty()) out.push_back(std::atoi(item.c_str()));
    }
    return out;
  }
};

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 2; i < argc; ++i) {
    const std::string s = argv[i];
    if (s.rfind("--", 0) == 0 && i + 1 < argc) {
      a.opts.emplace_back(s, argv[++i]);
    } else {
      a.pos.push_back(s);
    }
  }
  return a;
}

// --- FMA peak --------------------------------------------------------------

#if defined(__x86_64__)
// 12 independent chains of fused multiply-adds: enough to cover the FMA
// latency (4 cycles) on two ports. Returns a sum so nothing is dropped.
__attribute__((target("avx512f"))) float FmaChains512(int64_t iters) {
  __m512 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(1.f + 0.001f * i);
  const __m512 m = _mm512_set1_ps(0.99999f), c = _mm512_set1_ps(1e-6f);
  for (int64_t it = 0; it < iters; ++it) {
    for (int i = 0; i < 12; ++i) a[i] = _mm512_fmadd_ps(a[i], m, c);
  }
  __m512 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, a[i]);
  alignas(64) float l[16];
  _mm512_store_ps(l, s);
  return l[0] + l[15];
}

__attribute__((target("avx2,fma"))) float FmaChains256(int64_t iters) {
  __m256 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(1.f + 0.001f * i);
  const __m256 m = _mm256_set1_ps(0.99999f), c = _mm256_set1_ps(1e-6f);
  for (int64_t it = 0; it < iters; ++it) {
    for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
  }
  __m256 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, a[i]);
  alignas(32) float l[8];
  _mm256_store_ps(l, s);
  return l[0] + l[7];
}

#endif  // __x86_64__

// GFLOP/s of `threads` threads each running the chains, best of `reps`
// (20 M iterations: ~0.1-0.3 s).
double FmaPeak(bool avx512, int threads, int64_t iters = 20000000,
               int reps = 5) {
  const double flops_per_iter = 12.0 * (avx512 ? 16 : 8) * 2;
  double best = 0;
  for (int rep = 0; rep < reps; ++rep) {
    std::vector<float> sink(static_cast<size_t>(threads));
    const auto a = Clock::now();
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&, t] {
#if defined(__x86_64__)
        sink[t] = avx512 ? FmaChains512(iters) : FmaChains256(iters);
#else
        (void)avx512;
        sink[t] = 0.f;
#endif
      });
    }
    for (auto& t : ts) t.join();
    const double s = Seconds(a, Clock::now());
    best = std::max(best, flops_per_iter * iters * threads / s / 1e9);
    if (sink[0] == 12345.f) std::printf(" ");
  }
  return best;
}

bool HasAvx512() {
#if defined(__x86_64__)
  return __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}

// Eigen is built for AVX-512 (see the top of the file) when found.
bool HasEigen() {
#if defined(FACET_BENCH_EIGEN)
  return HasAvx512();
#else
  return false;
#endif
}

// The f32 FMA peak (GFLOP/s) at `threads` threads, AVX-512 when present.
double MeasuredPeak(int threads) { return FmaPeak(HasAvx512(), threads); }
// A short (~20 ms) sample of it.
double SamplePeak(int threads) {
  return FmaPeak(HasAvx512(), threads, 2000000, 1);
}

int RunPeak(const Args& args) {
  const int threads = args.Int("--threads", 2);
  std::printf("CPU: %s, load average %.2f\n", CpuName().c_str(), LoadAverage());
  std::printf("| vector | threads | GFLOP/s (best of 5) |\n|---|---|---|\n");
  for (bool wide : {false, true}) {
    if (wide && !HasAvx512()) continue;
    for (int t = 1; t <= threads; ++t) {
      std::printf("| %s | %d | %.1f |\n", wide ? "AVX-512 (16 lanes)" : "AVX2",
                  t, FmaPeak(wide, t));
    }
  }
  return 0;
}

// --- GEMM ------------------------------------------------------------------

struct GemmShape {
  const char* name;
  int64_t out, in;  // W [out][in]
  int per_layer;    // matrices of this shape per layer (or in all, layers 0)
  bool pooled;      // runs on the n / 9 pooled rows (vision projector)
};

struct TowerShapes {
  int layers;
  int heads, head_dim;  // vision: the attention's shape; audio: 0
  std::vector<GemmShape> shapes;
  int64_t default_n;  // patches at budget 280 / frames of 30 s
};

bool TowerKind(const std::string& kind, TowerShapes* t) {
  if (kind == "vision-e2b") {
    *t = {16,
          12,
          64,
          {{"patch 768->768", 768, 768, 0, false},
           {"q/k/v/o 768->768", 768, 768, 4, false},
           {"gate/up 768->3072", 3072, 768, 2, false},
           {"down 3072->768", 768, 3072, 1, false},
           {"embed 768->1536", 1536, 768, 0, true}},
          2520};
  } else if (kind == "vision-31b") {
    *t = {27,
          16,
          72,
          {{"patch 768->1152", 1152, 768, 0, false},
           {"q/k/v/o 1152->1152", 1152, 1152, 4, false},
           {"gate/up 1152->4304", 4304, 1152, 2, false},
           {"down 4304->1152", 1152, 4304, 1, false},
           {"embed 1152->5376", 5376, 1152, 0, true}},
          2520};
  } else if (kind == "audio-e2b") {
    *t = {12,
          0,
          0,
          {{"q/k/v/post/lconv_end 1024->1024", 1024, 1024, 5, false},
           {"ffw_1 1024->4096", 4096, 1024, 2, false},
           {"ffw_2 4096->1024", 1024, 4096, 2, false},
           {"lconv_start 1024->2048", 2048, 1024, 1, false},
           {"output_proj 1024->1536", 1536, 1024, 0, false}},
          750};
  } else {
    return false;
  }
  return true;
}

std::vector<float> RandomFloats(size_t n, float scale, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

struct GemmResult {
  double facet_f32 = 0, facet_bf16 = 0, eigen = 0, xnnpack = 0;
  double proto_f32 = 0, proto_f32x = 0, proto_bf16 = 0, proto_bf16dp = 0;
  double peak = 0;  // the FMA peak sampled between the rounds (median)
  // The prototypes' outputs against MatMul's: bit-identical (f32, bf16),
  // and the relative rms error of the bf16 x bf16 products.
  bool same_f32 = false, same_bf16 = false, same_f32x_avx2 = false;
  double dp_rel_rms = 0;
};

double RelRms(const std::vector<float>& ref, const std::vector<float>& y) {
  double se = 0, sr = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    se += (double(y[i]) - ref[i]) * (double(y[i]) - ref[i]);
    sr += double(ref[i]) * ref[i];
  }
  return std::sqrt(se / (sr + 1e-300));
}

// GFLOP/s of y = x W^T for one shape, each way, at `threads` threads.
GemmResult BenchShape(int64_t n, int64_t out, int64_t in, int threads,
                      int runs) {
  GemmResult r;
  const double flops = 2.0 * n * out * in;
  std::vector<float> x = RandomFloats(static_cast<size_t>(n * in), 1.f, 1);
  std::vector<float> w = RandomFloats(static_cast<size_t>(out * in),
                                      1.f / std::sqrt(float(in)), 2);
  std::vector<uint16_t> wb(w.size());
  for (size_t i = 0; i < w.size(); ++i) wb[i] = kernels::Fp32ToBf16(w[i]);
  std::vector<float> y(static_cast<size_t>(n * out));
  auto pool = kernels::ThreadPool::Create(threads);
  kernels::ThreadPool* p = threads > 1 ? pool.get() : nullptr;

  Matrix mf;
  mf.dtype = DType::kF32;
  mf.data = reinterpret_cast<const uint8_t*>(w.data());
  mf.rows = out;
  mf.cols = in;
  mf.row_bytes = in * 4;
  Matrix mb = mf;
  mb.dtype = DType::kBF16;
  mb.data = reinterpret_cast<const uint8_t*>(wb.data());
  mb.row_bytes = in * 2;

  struct Variant {
    double* gflops;
    std::function<void()> fn;
    std::vector<double> times;
  };
  std::vector<Variant> vs;
  vs.push_back({&r.facet_f32,
                [&] { kernels::MatMul(mf, x.data(), n, y.data(), p); },
                {}});
  vs.push_back({&r.facet_bf16,
                [&] { kernels::MatMul(mb, x.data(), n, y.data(), p); },
                {}});
  vs.back().fn();
  const std::vector<float> y_bf16 = y;
  vs[0].fn();
  const std::vector<float> y_f32 = y;
#if defined(FACET_BENCH_EIGEN)
  if (HasEigen()) {
    // Tokens split evenly over the threads, one Eigen GEMM each.
    vs.push_back({&r.eigen,
                  [&] {
                    std::vector<std::thread> ts;
                    const int64_t per = (n + threads - 1) / threads;
                    for (int t = 0; t < threads; ++t) {
                      const int64_t t0 = t * per, t1 = std::min(n, t0 + per);
                      if (t0 >= t1) break;
                      auto job = [&, t0, t1] {
                        facet_bench::EigenGemm(x.data() + t0 * in, w.data(),
                                               y.data() + t0 * out, t1 - t0, in,
                                               out);
                      };
                      if (t + 1 == threads) {
                        job();
                      } else {
                        ts.emplace_back(job);
                      }
                    }
                    for (auto& th : ts) th.join();
                  },
                  {}});
  }
#endif
#if defined(FACET_BENCH_XNNPACK)
  static bool xnn_ok = xnn_initialize(nullptr) == xnn_status_success;
  pthreadpool_t tp = threads > 1 ? pthreadpool_create(threads) : nullptr;
  xnn_operator_t op = nullptr;
  if (xnn_ok &&
      xnn_create_fully_connected_nc_f32(in, out, in, out, w.data(), nullptr,
                                        -INFINITY, INFINITY, 0,
                                        &op) == xnn_status_success &&
      xnn_setup_fully_connected_nc_f32(op, n, x.data(), y.data(), tp) ==
          xnn_status_success) {
    vs.push_back({&r.xnnpack, [&] { xnn_run_operator(op, tp); }, {}});
  }
#endif
#if defined(FACET_BENCH_PROTOTYPE)
  // As MatMul drives a gemm: row tiles over the pool.
  auto proto = [&](kernels::GemmFn fn, const Matrix& m) {
    const size_t tile = std::max<size_t>(
        8,
        std::min<size_t>(64, static_cast<size_t>(m.rows) /
                                 (static_cast<size_t>(threads) * 8) / 8 * 8));
    kernels::ParallelFor(
        p, static_cast<size_t>(m.rows), tile, [&](size_t r0, size_t r1) {
          fn(m.row(r0), m.row_bytes, static_cast<int64_t>(r1 - r0), m.cols,
             reinterpret_cast<const uint8_t*>(x.data()), in * 4, n,
             y.data() + r0, m.rows);
        });
  };
  if (HasAvx512()) {
    namespace pg = kernels::avx512_gemm;
    proto(pg::GemmF32, mf);
    r.same_f32 = y == y_f32;
    const kernels::KernelTable* avx2 = kernels::KernelsFor(kernels::Isa::kAvx2);
    proto(avx2->Gemm(DType::kF32), mf);
    const std::vector<float> y_avx2 = y;
    proto(pg::GemmF32x, mf);
    r.same_f32x_avx2 = y == y_avx2;
    proto(pg::GemmBF16, mb);
    r.same_bf16 = y == y_bf16;
    vs.push_back({&r.proto_f32, [&] { proto(pg::GemmF32, mf); }, {}});
    vs.push_back({&r.proto_f32x, [&] { proto(pg::GemmF32x, mf); }, {}});
    vs.push_back({&r.proto_bf16, [&] { proto(pg::GemmBF16, mb); }, {}});
    if (__builtin_cpu_supports("avx512bf16")) {
      proto(pg::GemmBF16Dp, mb);
      r.dp_rel_rms = RelRms(y_bf16, y);
      vs.push_back({&r.proto_bf16dp, [&] { proto(pg::GemmBF16Dp, mb); }, {}});
    }
  }
#endif
  // Rounds: every variant once per round, in the same order, with a short
  // FMA-peak sample, so that all see the same machine (others' jobs come
  // and go); medians per variant.
  for (Variant& v : vs) v.fn();  // warm-up
  std::vector<double> peaks;
  for (int rep = 0; rep < runs; ++rep) {
    peaks.push_back(FmaPeak(HasAvx512(), threads, 2000000, 1));
    for (Variant& v : vs) {
      const auto a = Clock::now();
      v.fn();
      v.times.push_back(Seconds(a, Clock::now()));
    }
  }
  for (Variant& v : vs) *v.gflops = flops / Median(v.times) / 1e9;
  r.peak = Median(peaks);
#if defined(FACET_BENCH_XNNPACK)
  if (op != nullptr) xnn_delete_operator(op);
  if (tp != nullptr) pthreadpool_destroy(tp);
#endif
  return r;
}

// The vision tower's Attention (models/gemma4/vision_tower.cc), as it
// drives kernels' attend_tile: per head, blocks of kAttnMaxQ queries over
// kAttnTile-key tiles with an online softmax.
void FacetAttention(const float* q, const float* k, const float* v, float* out,
                    int64_t n, int64_t d, int64_t heads,
                    kernels::ThreadPool* pool) {
  const kernels::KernelTable& kt = kernels::Kernels();
  const int64_t stride = heads * d;
  const int64_t blocks = (n + kernels::kAttnMaxQ - 1) / kernels::kAttnMaxQ;
  kernels::ParallelFor(
      pool, static_cast<size_t>(heads * blocks), 1, [&](size_t b, size_t e) {
        std::vector<float> acc(kernels::kAttnMaxQ * d);
        const float* kp[kernels::kAttnTile];
        const float* vp[kernels::kAttnTile];
        float m[kernels::kAttnMaxQ], l[kernels::kAttnMaxQ];
        for (size_t task = b; task < e; ++task) {
          const int64_t h = static_cast<int64_t>(task) / blocks;
          const int64_t t0 =
              static_cast<int64_t>(task) % blocks * kernels::kAttnMaxQ;
          const int nq =
              static_cast<int>(std::min<int64_t>(kernels::kAttnMaxQ, n - t0));
          std::fill(acc.begin(), acc.end(), 0.f);
          std::fill(m, m + nq, -INFINITY);
          std::fill(l, l + nq, 0.f);
          for (int64_t j0 = 0; j0 < n; j0 += kernels::kAttnTile) {
            const int count =
                static_cast<int>(std::min<int64_t>(kernels::kAttnTile, n - j0));
            for (int j = 0; j < count; ++j) {
              kp[j] = k + (j0 + j) * stride + h * d;
              vp[j] = v + (j0 + j) * stride + h * d;
            }
            kt.attend_tile(q + t0 * stride + h * d, stride, nq, kp, vp, count,
                           d, 1.0f, m, l, acc.data());
          }
          for (int i = 0; i < nq; ++i) {
            float* o = out + (t0 + i) * stride + h * d;
            for (int64_t c = 0; c < d; ++c) o[c] = acc[i * d + c] / l[i];
          }
        }
      });
}

// One layer's attention at n patches: facet's tiles against Eigen's GEMMs
// (GFLOP/s over 4 n^2 d per head), medians of interleaved rounds.
void BenchAttention(int64_t n, int64_t d, int64_t heads, int threads,
                    int runs) {
  const int64_t stride = heads * d;
  // RMS-normed q and k (the tower normalizes them): entries ~N(0, 1).
  std::vector<float> q = RandomFloats(static_cast<size_t>(n * stride), 1.f, 3);
  std::vector<float> k = RandomFloats(static_cast<size_t>(n * stride), 1.f, 4);
  std::vector<float> v = RandomFloats(static_cast<size_t>(n * stride), 1.f, 5);
  std::vector<float> o1(q.size()), o2(q.size());
  auto pool = kernels::ThreadPool::Create(threads);
  kernels::ThreadPool* p = threads > 1 ? pool.get() : nullptr;
  std::vector<std::vector<float>> scratch(static_cast<size_t>(threads),
                                          std::vector<float>(256 * n));
  auto facet = [&] {
    FacetAttention(q.data(), k.data(), v.data(), o1.data(), n, d, heads, p);
  };
  auto eigen = [&] {
    std::vector<std::thread> ts;
    const int64_t per = (heads + threads - 1) / threads;
    for (int t = 0; t < threads; ++t) {
      const int64_t h0 = t * per, h1 = std::min(heads, h0 + per);
      if (h0 >= h1) break;
      auto job = [&, t, h0, h1] {
#if defined(FACET_BENCH_EIGEN)
        facet_bench::EigenAttention(q.data(), k.data(), v.data(), o2.data(), n,
                                    d, stride, h0, h1, scratch[t].data());
#else
        (void)t;
#endif
      };
      if (t + 1 == threads) {
        job();
      } else {
        ts.emplace_back(job);
      }
    }
    for (auto& th : ts) th.join();
  };
  facet();
  const bool eig = HasEigen();
  if (eig) eigen();
  std::vector<double> tf, te, peaks;
  for (int rep = 0; rep < runs; ++rep) {
    peaks.push_back(FmaPeak(HasAvx512(), threads, 2000000, 1));
    auto a = Clock::now();
    facet();
    tf.push_back(Seconds(a, Clock::now()));
    if (eig) {
      a = Clock::now();
      eigen();
      te.push_back(Seconds(a, Clock::now()));
    }
  }
  const double flops = 4.0 * n * n * d * heads;
  const double peak = Median(peaks);
  const double gf = flops / Median(tf) / 1e9;
  const double ge = eig ? flops / Median(te) / 1e9 : 0;
  std::printf(
      "| attention n=%lld, %lld heads x %lld | %.0f | %.1f ms, %.1f GFLOP/s "
      "(%.0f%%) | %.1f ms, %.1f GFLOP/s (%.0f%%) | rel rms %.2g |\n",
      static_cast<long long>(n), static_cast<long long>(heads),
      static_cast<long long>(d), peak, 1e3 * Median(tf), gf, 100 * gf / peak,
      eig ? 1e3 * Median(te) : 0.0, ge, 100 * ge / peak,
      eig ? RelRms(o1, o2) : 0.0);
  std::fflush(stdout);
}

int RunGemm(const Args& args) {
  TowerShapes t;
  const std::string kind = args.Get("--kind", "vision-e2b");
  if (!TowerKind(kind, &t)) {
    std::fprintf(stderr, "unknown --kind %s\n", kind.c_str());
    return 2;
  }
  const int threads = args.Int("--threads", 2);
  const int runs = args.Int("--runs", 5);
  const int64_t n = args.Int("--n", static_cast<int>(t.default_n));
  const double load0 = LoadAverage();
  const double peak = MeasuredPeak(threads);
  std::printf(
      "%s GEMM shapes, n = %lld (vision projector: n / 9), %d threads, median "
      "of "
      "%d; measured f32 FMA peak %.1f GFLOP/s; Eigen SIMD: %s; load "
      "average %.2f\n",
      kind.c_str(), static_cast<long long>(n), threads, runs, peak,
#if defined(FACET_BENCH_EIGEN)
      HasEigen() ? facet_bench::EigenSimd() : "(skipped)",
#else
      "(not built)",
#endif
      load0);
  std::printf(
      "| shape (in->out) | FMA peak now | facet f32 | facet bf16 | Eigen f32 "
      "| XNNPACK f32 | proto f32 | proto f32x | proto bf16 | proto bf16 "
      "dpbf16 |\n|---|---|---|---|---|---|---|---|---|---|\n");
  double peak_now = peak;
  auto cell = [&](double g) {
    char b[64];
    if (g <= 0) return std::string("-");
    std::snprintf(b, sizeof(b), "%.1f (%.0f%%)", g, 100.0 * g / peak_now);
    return std::string(b);
  };
  std::string checks;
  for (const GemmShape& s : t.shapes) {
    const int64_t rows = s.pooled ? std::max<int64_t>(1, n / 9) : n;
    const GemmResult r = BenchShape(rows, s.out, s.in, threads, runs);
    // The peak sampled between this shape's rounds: on a shared machine
    // it moves.
    peak_now = r.peak;
    std::printf("| %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                s.name, peak_now, cell(r.facet_f32).c_str(),
                cell(r.facet_bf16).c_str(), cell(r.eigen).c_str(),
                cell(r.xnnpack).c_str(), cell(r.proto_f32).c_str(),
                cell(r.proto_f32x).c_str(), cell(r.proto_bf16).c_str(),
                cell(r.proto_bf16dp).c_str());
    std::fflush(stdout);
    checks += std::string("  ") + s.name + ": proto f32 " +
              (r.same_f32 ? "bit-identical" : "DIFFERS") + ", proto f32x " +
              (r.same_f32x_avx2 ? "bit-identical to the AVX2 level"
                                : "DIFFERS from the AVX2 level") +
              ", proto bf16 " + (r.same_bf16 ? "bit-identical" : "DIFFERS") +
              " to MatMul; dpbf16 relative rms error " +
              std::to_string(r.dp_rel_rms) + "\n";
  }
  if (t.heads > 0) {
    std::printf(
        "\n| one layer's attention | FMA peak now | facet (attend_tile) | "
        "Eigen (blocked GEMM + softmax) | Eigen vs facet output |\n"
        "|---|---|---|---|---|\n");
    for (int64_t an : {n, static_cast<int64_t>(args.Int("--attn-n2", 0))}) {
      if (an > 0) BenchAttention(an, t.head_dim, t.heads, threads, runs);
    }
  }
  std::printf(
      "GFLOP/s (%% of the %d-thread FMA peak sampled between the "
      "shape's rounds: FMA peak now); load "
      "average after: %.2f\n%s",
      threads, LoadAverage(), checks.c_str());
  return 0;
}

// --- Towers ----------------------------------------------------------------

// Matrix-product and attention FLOPs of one encode, from config.json (0
// when the folder has none, e.g. an mmproj GGUF).
struct Flops {
  double linear = 0, attention = 0;
};

bool ReadConfig(const std::string& dir, nlohmann::json* out) {
  std::ifstream f(dir + "/config.json");
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  *out = nlohmann::json::parse(ss.str(), nullptr, false);
  return !out->is_discarded();
}

Flops VisionFlops(const nlohmann::json& c, int64_t n) {
  Flops f;
  const auto& v = c["vision_config"];
  if (!v.is_object()) return f;
  const double D = v.value("hidden_size", 0),
               F = v.value("intermediate_size", 0);
  const double L = v.value("num_hidden_layers", 0);
  const double Q = v.value("num_attention_heads", 0) * v.value("head_dim", 0);
  const double T = c["text_config"].value("hidden_size", 0);
  const double dn = static_cast<double>(n);
  f.linear = 2 * dn * (768 * D + L * (3 * D * Q + Q * D + 3 * D * F)) +
             2 * (dn / 9) * D * T;
  f.attention = 4 * L * dn * dn * Q;
  return f;
}

Flops AudioFlops(const nlohmann::json& c, int64_t n) {
  Flops f;
  const auto& a = c["audio_config"];
  if (!a.is_object()) return f;
  const double H = a.value("hidden_size", 0),
               L = a.value("num_hidden_layers", 0);
  const double O = a.value("output_proj_dims", 0);
  const double T = c["text_config"].value("hidden_size", 0);
  const double dn = static_cast<double>(n);
  // SSCP second conv (32 out, 128 in, 3x3, 32 x n outputs) and
  // input_proj; per layer 2 FFNs (H->4H->H), q/k/v/post, lconv
  // start (H->2H) and end; output_proj and the projector.
  const double sscp = 2 * dn * 32 * 32 * 128 * 9 + 2 * dn * 1024 * H;
  f.linear = sscp + 2 * dn * L * (2 * 8 * H * H + 4 * H * H + 3 * H * H) +
             2 * dn * (H * O + O * T);
  f.attention = 4 * L * dn * 24 * H;  // 12-frame chunks over 24 keys
  return f;
}

StatusOr<std::unique_ptr<Encoder>> Open(const std::string& dir, int threads) {
  EncoderOptions o;
  o.path = dir;
  o.num_threads = threads;
  return Encoder::Create(o);
}

int RunVision(const Args& args) {
  if (args.pos.empty()) {
    std::fprintf(stderr, "vision needs a tower folder\n");
    return 2;
  }
  const std::string dir = args.pos[0];
  const int threads = args.Int("--threads", 2);
  const int runs = args.Int("--runs", 3);
  const std::string image = args.Get(
      "--image", "tests/data/multimodal/inputs/img_gradient_640x480.png");
  const auto budgets = args.Ints("--budgets", "70,140,280,560,1120");
  auto enc = Open(dir, threads);
  if (!enc.ok()) {
    std::fprintf(stderr, "%s\n", enc.status().ToString().c_str());
    return 1;
  }
  nlohmann::json cfg;
  // FLOPs from config.json (--config: another folder's, e.g. for a GGUF).
  const bool have_cfg = ReadConfig(args.Get("--config", dir), &cfg);
  WaitForQuiet();
  const double peak = MeasuredPeak(threads);
  std::printf(
      "%s: %s, %d threads, median of %d (after 1 warm-up when > 1); FMA peak "
      "%.1f GFLOP/s; load average %.2f\n",
      dir.c_str(), image.c_str(), threads, runs, peak, LoadAverage());
  std::printf(
      "| budget | soft tokens | patches | ms per image (median) | min ms | "
      "linear GFLOP | attention GFLOP | GFLOP/s | FMA peak now | %% of peak "
      "now | max load |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (int b : budgets) {
    Part part = Part::ImageFile(image);
    part.image_budget = b;
    int tokens = 0;
    g_worst_load = 0;
    g_peaks.clear();
    g_peak_threads = threads;
    const std::vector<double> t = TimeRuns(
        [&] {
          auto e = (*enc)->Encode(part);
          if (!e.ok()) {
            std::fprintf(stderr, "%s\n", e.status().ToString().c_str());
            return false;
          }
          tokens = e->soft_tokens;
          return true;
        },
        runs);
    if (t.empty()) return 1;
    const int64_t n = 9 * static_cast<int64_t>(tokens);
    const Flops f = have_cfg ? VisionFlops(cfg, n) : Flops{};
    const double s = Median(t);
    const double g = (f.linear + f.attention) / s / 1e9;
    const double pk = Median(g_peaks);
    std::printf(
        "| %d | %d | %lld | %.0f | %.0f | %.0f | %.0f | %.1f | %.0f | %.0f%% "
        "| %.1f |\n",
        b, tokens, static_cast<long long>(n), 1e3 * s,
        1e3 * *std::min_element(t.begin(), t.end()), f.linear / 1e9,
        f.attention / 1e9, g, pk, 100 * g / pk, g_worst_load);
    std::fflush(stdout);
  }
  std::printf("load average after: %.2f\n", LoadAverage());
  return 0;
}

// A synthetic 16 kHz clip: a gliding tone, a second harmonic, noise.
std::vector<float> Signal(double seconds) {
  const int rate = 16000;
  const size_t n = static_cast<size_t>(seconds * rate);
  std::vector<float> s(n);
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.f, 0.02f);
  double phase = 0;
  for (size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / rate;
    const double f = 220 + 180 * std::sin(2 * M_PI * 0.3 * t);
    phase += 2 * M_PI * f / rate;
    s[i] =
        static_cast<float>(0.3 * std::sin(phase) + 0.1 * std::sin(2 * phase)) +
        noise(rng);
  }
  return s;
}

int RunAudio(const Args& args) {
  if (args.pos.empty()) {
    std::fprintf(stderr, "audio needs a tower folder\n");
    return 2;
  }
  const std::string dir = args.pos[0];
  const int threads = args.Int("--threads", 2);
  const int runs = args.Int("--runs", 3);
  const auto secs = args.Ints("--seconds", "1,10,30");
  auto enc = Open(dir, threads);
  if (!enc.ok()) {
    std::fprintf(stderr, "%s\n", enc.status().ToString().c_str());
    return 1;
  }
  nlohmann::json cfg;
  // FLOPs from config.json (--config: another folder's, e.g. for a GGUF).
  const bool have_cfg = ReadConfig(args.Get("--config", dir), &cfg);
  WaitForQuiet();
  const double peak = MeasuredPeak(threads);
  std::printf(
      "%s: synthetic 16 kHz signal, %d threads, median of %d; FMA peak %.1f "
      "GFLOP/s; load average %.2f\n",
      dir.c_str(), threads, runs, peak, LoadAverage());
  std::printf(
      "| audio s | soft tokens | ms (median) | min ms | ms per s of audio | x "
      "real time | GFLOP | GFLOP/s | FMA peak now | %% of peak now | max load "
      "|\n|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (int sec : secs) {
    const Part part = Part::AudioSamples(Signal(sec), 16000);
    int tokens = 0;
    g_worst_load = 0;
    g_peaks.clear();
    g_peak_threads = threads;
    const std::vector<double> t = TimeRuns(
        [&] {
          auto e = (*enc)->Encode(part);
          if (!e.ok()) {
            std::fprintf(stderr, "%s\n", e.status().ToString().c_str());
            return false;
          }
          tokens = e->soft_tokens;
          return true;
        },
        runs);
    if (t.empty()) return 1;
    const double s = Median(t);
    const Flops f = have_cfg ? AudioFlops(cfg, tokens) : Flops{};
    const double g = (f.linear + f.attention) / s / 1e9;
    const double pk = Median(g_peaks);
    std::printf(
        "| %d | %d | %.0f | %.0f | %.1f | %.1f | %.1f | %.1f | %.0f | %.0f%% | "
        "%.1f |\n",
        sec, tokens, 1e3 * s, 1e3 * *std::min_element(t.begin(), t.end()),
        1e3 * s / sec, sec / s, (f.linear + f.attention) / 1e9, g, pk,
        100 * g / pk, g_worst_load);
    std::fflush(stdout);
  }
  std::printf("load average after: %.2f\n", LoadAverage());
  return 0;
}

// Embedding differences of tower B against tower A on the same input.
int RunCompare(const Args& args) {
  if (args.pos.size() != 2) {
    std::fprintf(stderr, "compare needs two tower folders\n");
    return 2;
  }
  const int threads = args.Int("--threads", 2);
  auto a = Open(args.pos[0], threads);
  auto b = Open(args.pos[1], threads);
  if (!a.ok() || !b.ok()) {
    std::fprintf(stderr, "%s\n",
                 (!a.ok() ? a.status() : b.status()).ToString().c_str());
    return 1;
  }
  Part part;
  std::string what;
  if ((*a)->has_vision()) {
    part = Part::ImageFile(args.Get(
        "--image", "tests/data/multimodal/inputs/img_gradient_640x480.png"));
    part.image_budget = args.Int("--budget", 280);
    what =
        "image " + part.path + ", budget " + std::to_string(part.image_budget);
  } else {
    const int sec = args.Int("--seconds", 10);
    part = Part::AudioSamples(Signal(sec), 16000);
    what = std::to_string(sec) + " s synthetic audio";
  }
  auto ea = (*a)->Encode(part);
  auto eb = (*b)->Encode(part);
  if (!ea.ok() || !eb.ok()) {
    std::fprintf(stderr, "%s\n",
                 (!ea.ok() ? ea.status() : eb.status()).ToString().c_str());
    return 1;
  }
  if (ea->embeddings.size() != eb->embeddings.size() || ea->width == 0) {
    std::fprintf(stderr, "the towers' outputs differ in shape\n");
    return 1;
  }
  const int64_t w = ea->width, rows = ea->soft_tokens;
  double max_abs = 0, se = 0, sa = 0, cos_min = 1, cos_sum = 0;
  for (int64_t r = 0; r < rows; ++r) {
    double dot = 0, na = 0, nb = 0;
    for (int64_t c = 0; c < w; ++c) {
      const double x = ea->embeddings[r * w + c], y = eb->embeddings[r * w + c];
      max_abs = std::max(max_abs, std::fabs(x - y));
      se += (x - y) * (x - y);
      sa += x * x;
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    const double cs = dot / std::sqrt(na * nb + 1e-300);
    cos_min = std::min(cos_min, cs);
    cos_sum += cs;
  }
  const double n = static_cast<double>(rows * w);
  std::printf(
      "A %s\nB %s\n%s: %lld soft tokens x %lld\n"
      "| max abs diff | rms diff | rms of A | rms diff / rms A | min row "
      "cosine | mean row cosine |\n|---|---|---|---|---|---|\n"
      "| %.3g | %.3g | %.3g | %.3g | %.7f | %.7f |\n",
      args.pos[0].c_str(), args.pos[1].c_str(), what.c_str(),
      static_cast<long long>(rows), static_cast<long long>(w), max_abs,
      std::sqrt(se / n), std::sqrt(sa / n), std::sqrt(se / sa), cos_min,
      cos_sum / static_cast<double>(rows));
  return 0;
}

int Main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  const Args args = Parse(argc, argv);
  g_max_load = std::atof(args.Get("--max-load", "0").c_str());
  if (cmd == "peak") return RunPeak(args);
  if (cmd == "gemm") return RunGemm(args);
  if (cmd == "vision") return RunVision(args);
  if (cmd == "audio") return RunAudio(args);
  if (cmd == "compare") return RunCompare(args);
  std::fprintf(stderr,
               "usage: facet_encoder_bench peak|gemm|vision|audio|compare "
               "... (see bench/encoder_bench.cc)\n");
  return 2;
}

}  // namespace
}  // namespace facet

int main(int argc, char** argv) { return facet::Main(argc, argv); }

#endif  // FACET_ENCODER_BENCH_EIGEN_TU
