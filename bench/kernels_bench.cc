// kernels::MatMul on the real Gemma 4 matrix shapes: decode GEMV (n = 1,
// memory bound: bytes/s of weights streamed) and prefill GEMM (n = 16, 128:
// FLOP/s), for the weight types real files use, at 1 and 2 threads.
//
//   facet_kernels_bench [--benchmark_filter=...]   (FACET_ISA=ref|avx2|...
//                                                   picks the kernels,
//                                                   FACET_BENCH_PACKED=0|1
//                                                   the weight layout)
// Counters: bytes_per_second = weight bytes / s; FLOPS = 2 rows cols n / s;
// the label names the ISA in use.
//
// Then every op of kernels/kernel_list.inc at every level the CPU has
// (Op/<slot>/<level>), on one decode step's shapes of E2B: BM_<slot> below,
// registered from the list, so a new op without a benchmark does not link.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/parallel.h"
#include "kernels/ref/fp16.h"
#include "kernels/ref/quant.h"

namespace facet::kernels {
namespace {

struct Shape {
  const char* name;
  int64_t cols;  // input features
  int64_t rows;  // output features
};

// E2B: H = 1536 (FFN 6144, 12288 in the KV-shared layers); E4B: H = 2560;
// 26B-A4B: H = 2816, expert FFN 704; 31B: H = 5376.
constexpr Shape kShapes[] = {
    {"e2b_q", 1536, 2048},         {"e2b_ffn_up", 1536, 6144},
    {"e2b_ffn_down", 6144, 1536},  {"e2b_ffn_down_wide", 12288, 1536},
    {"e2b_lm_head", 1536, 262144}, {"e4b_ffn_up", 2560, 10240},
    {"a4b_expert_up", 2816, 1408}, {"a4b_expert_down", 704, 2816},
    {"31b_ffn_up", 5376, 21504},
};

// Random quant bytes with sane fp16 scales: the kernels' speed does not
// depend on the values, and this builds 300 MB in a fraction of a second.
std::vector<uint8_t> MakeWeights(DType t, int64_t rows, int64_t cols) {
  const DTypeInfo* info = GetDTypeInfo(t);
  const int64_t row_bytes = RowBytes(t, cols);
  std::vector<uint8_t> w(static_cast<size_t>(rows * row_bytes));
  uint64_t s = 0x9E3779B97F4A7C15ull ^ static_cast<uint64_t>(rows * cols);
  for (size_t i = 0; i + 8 <= w.size(); i += 8) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    std::memcpy(&w[i], &s, 8);
  }
  const uint16_t d = Fp32ToFp16(0.01f);
  const int d_off = t == DType::kQ6_K ? 208 : 0;
  for (size_t off = 0; off < w.size();
       off += static_cast<size_t>(info->block_bytes)) {
    std::memcpy(&w[off + d_off], &d, 2);
    if (t == DType::kQ4_K || t == DType::kQ4_1) std::memcpy(&w[off + 2], &d, 2);
  }
  return w;
}

// Weights are built once per (type, shape) and kept for the whole run, in
// enough copies to fill 96 MB (3x the L3 of the machines we measure on):
// iterations cycle through them, so every call streams its weights from
// DRAM as a decode step over a whole model does.
constexpr size_t kStreamBytes = 96u << 20;

// FACET_BENCH_PACKED=1 packs every packable shape whatever the table
// prefers, =0 none, so that both layouts can be timed at one level (the
// measurements behind prefer_packed); unset, as the engine would.
bool Packs(DType t, const Shape& s) {
  const char* force = std::getenv("FACET_BENCH_PACKED");
  const bool want = force != nullptr ? std::strcmp(force, "1") == 0
                                     : Kernels().PreferPacked(t);
  // The LM head is the tied token embedding, which the engine keeps in the
  // file's layout (it is also gathered by row).
  return want && CanPack(t, s.rows, s.cols) &&
         std::strcmp(s.name, "e2b_lm_head") != 0;
}

const std::vector<std::vector<uint8_t>>& Weights(DType t, const Shape& s) {
  static std::map<std::tuple<int, int64_t, int64_t>,
                  std::vector<std::vector<uint8_t>>>
      cache;
  auto key = std::make_tuple(static_cast<int>(t), s.rows, s.cols);
  auto it = cache.find(key);
  if (it == cache.end()) {
    std::vector<std::vector<uint8_t>> copies;
    copies.push_back(MakeWeights(t, s.rows, s.cols));
    if (Packs(t, s)) {
      // As the engine does at load: the layout the active kernels prefer.
      std::vector<uint8_t> packed(copies[0].size());
      PackRows(t, copies[0].data(), 0, s.rows, s.cols, packed.data());
      copies[0].swap(packed);
    }
    while (copies.size() * copies[0].size() < kStreamBytes) {
      copies.push_back(copies[0]);
    }
    it = cache.emplace(key, std::move(copies)).first;
  }
  return it->second;
}

void BM_MatMul(benchmark::State& state, DType type, Shape shape, int64_t n,
               int threads) {
  const std::vector<std::vector<uint8_t>>& w = Weights(type, shape);
  Matrix m;
  m.dtype = type;
  m.rows = shape.rows;
  m.cols = shape.cols;
  m.row_bytes = RowBytes(type, shape.cols);
  m.packed = Packs(type, shape);
  std::vector<float> x(static_cast<size_t>(n * shape.cols));
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<float>((i * 7919) % 2001) / 1000.f - 1.f;
  }
  std::vector<float> y(static_cast<size_t>(n * shape.rows));
  std::unique_ptr<ThreadPool> owner = ThreadPool::Create(threads);
  ThreadPool* pool = owner.get();
  size_t copy = 0;
  for (auto _ : state) {
    m.data = w[copy].data();
    copy = (copy + 1) % w.size();
    MatMul(m, x.data(), n, y.data(), pool);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(w[0].size()));
  state.counters["FLOPS"] =
      benchmark::Counter(2.0 * static_cast<double>(shape.rows * shape.cols * n),
                         benchmark::Counter::kIsIterationInvariantRate,
                         benchmark::Counter::kIs1000);
  state.SetLabel(std::string(IsaName(Kernels().isa)) +
                 (m.packed ? " packed" : ""));
}

// The machine's read bandwidth under the same conditions: a plain sum over
// 96 MB, split across the pool like MatMul's rows. GEMV bytes/s is judged
// against this.
void BM_ReadBandwidth(benchmark::State& state, int threads) {
  static std::vector<uint64_t> buf(kStreamBytes / 8, 1);
  std::unique_ptr<ThreadPool> owner = ThreadPool::Create(threads);
  ThreadPool* pool = owner.get();
  std::vector<uint64_t> sums(4096);
  const size_t chunk = buf.size() / sums.size();
  for (auto _ : state) {
    ParallelFor(pool, sums.size(), 16, [&](size_t b, size_t e) {
      for (size_t c = b; c < e; ++c) {
        uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        const uint64_t* p = buf.data() + c * chunk;
        for (size_t i = 0; i < chunk; i += 4) {
          s0 += p[i];
          s1 += p[i + 1];
          s2 += p[i + 2];
          s3 += p[i + 3];
        }
        sums[c] = s0 + s1 + s2 + s3;
      }
    });
    benchmark::DoNotOptimize(sums.data());
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(buf.size() * 8));
}

// --- The ops of kernel_list.inc, one E2B decode step each (H = 1536,
// 8 query heads of 256, vocab 262144); bytes_per_second counts the floats
// read and written.

std::vector<float> Floats(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) {
    v[i] = scale * (static_cast<float>((i * 7919) % 2001) / 1000.f - 1.f);
  }
  return v;
}

void BM_gelu_tanh_mul(benchmark::State& state, const KernelTable* k) {
  const int64_t n = 6144;  // the FFN width
  std::vector<float> gate = Floats(n, 3.f), up = Floats(n, 1.f), out(n);
  for (auto _ : state) {
    k->gelu_tanh_mul(gate.data(), up.data(), out.data(), n);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * n * 12);
}

void BM_attend_tile(benchmark::State& state, const KernelTable* k) {
  // A prefill block: 16 query rows (E2B's 8 heads of one KV group x 2
  // tokens) against a full tile of 64 positions.
  const int nq = kAttnMaxQ;
  const int64_t d = 256;
  std::vector<float> q = Floats(nq * d, 1.f), kv = Floats(kAttnTile * d, 1.f);
  std::vector<float> acc(nq * d), m(nq), l(nq);
  const float* kp[kAttnTile];
  for (int j = 0; j < kAttnTile; ++j) kp[j] = kv.data() + j * d;
  for (auto _ : state) {
    std::fill(m.begin(), m.end(), -1e30f);
    std::fill(l.begin(), l.end(), 0.f);
    k->attend_tile(q.data(), d, nq, kp, kp, kAttnTile, d, 1.f, m.data(),
                   l.data(), acc.data());
    benchmark::DoNotOptimize(acc.data());
  }
  state.SetBytesProcessed(state.iterations() * 2 * kAttnTile * d * 4);
  // q.k and p.v: 2 flops per multiply-add each.
  state.counters["FLOP/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * 4 * nq * kAttnTile * d,
      benchmark::Counter::kIsRate);
}

// One tile of K rows of E2B's full layers (d = 512) widened to f32.
void BenchLoadKv(benchmark::State& state, LoadKvFn fn, int64_t row_bytes) {
  const int64_t d = 512;
  std::vector<uint8_t> bytes(kAttnTile * row_bytes, 0x11);
  std::vector<float> out(kAttnTile * d);
  const uint8_t* rows[kAttnTile];
  for (int j = 0; j < kAttnTile; ++j) rows[j] = bytes.data() + j * row_bytes;
  for (auto _ : state) {
    fn(rows, kAttnTile, d, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * kAttnTile * row_bytes);
}

void BM_load_kv_f16(benchmark::State& state, const KernelTable* k) {
  BenchLoadKv(state, k->load_kv_f16, 2 * 512);
}

void BM_load_kv_q8_0(benchmark::State& state, const KernelTable* k) {
  BenchLoadKv(state, k->load_kv_q8_0, 512 / 32 * 34);
}

void BM_rms_norm(benchmark::State& state, const KernelTable* k) {
  const int64_t n = 1536;  // one hidden-state row
  std::vector<float> x = Floats(n, 2.f), w = Floats(n, 1.f), out(n);
  for (auto _ : state) {
    k->rms_norm(x.data(), w.data(), out.data(), 1, n, 1e-6f);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * n * 12);
}

void BM_rope(benchmark::State& state, const KernelTable* k) {
  const int64_t rows = 8, d = 256;  // the query heads of one token
  std::vector<float> x = Floats(rows * d, 1.f);
  // A true rotation (position 1000), so that repeating it keeps the values'
  // size: shrinking ones would end in slow subnormals.
  std::vector<float> inv_freq(d / 2), cs(d / 2), sn(d / 2);
  for (int64_t j = 0; j < d / 2; ++j) {
    inv_freq[j] = static_cast<float>(std::pow(1e4, -2.0 * j / d));
  }
  RopeAngles(inv_freq.data(), d / 2, 1000, cs.data(), sn.data());
  for (auto _ : state) {
    k->rope(x.data(), rows, d, d / 2, cs.data(), sn.data());
    benchmark::DoNotOptimize(x.data());
  }
  state.SetBytesProcessed(state.iterations() * rows * d * 8);
}

void BM_softcap(benchmark::State& state, const KernelTable* k) {
  const int64_t n = 262144;  // one token's logits
  const std::vector<float> logits = Floats(n, 40.f);
  std::vector<float> x(n);
  for (auto _ : state) {
    state.PauseTiming();
    x = logits;  // softcap works in place; capped values would be easier
    state.ResumeTiming();
    k->softcap(x.data(), n, 30.f);
    benchmark::DoNotOptimize(x.data());
  }
  state.SetBytesProcessed(state.iterations() * n * 8);
}

// Registered at start-up, so benchmark_main finds them.
int RegisterAll() {
  for (int i = 0; i < kNumIsas; ++i) {
    const KernelTable* k = KernelsFor(static_cast<Isa>(i));
    if (k == nullptr) continue;
    const std::string level = IsaName(k->isa);
#define FACET_OP(slot, FnType)                                               \
  benchmark::RegisterBenchmark(("Op/" #slot "/" + level).c_str(), BM_##slot, \
                               k)                                            \
      ->Unit(benchmark::kMicrosecond);
#include "kernels/kernel_list.inc"
  }
  for (int threads : {1, 2}) {
    benchmark::RegisterBenchmark(
        ("ReadBandwidth/threads:" + std::to_string(threads)).c_str(),
        BM_ReadBandwidth, threads)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
  const DType types[] = {DType::kQ4_0, DType::kQ8_0, DType::kQ4_K,
                         DType::kQ6_K};
  for (const Shape& s : kShapes) {
    const bool lm_head = std::strcmp(s.name, "e2b_lm_head") == 0;
    for (DType t : types) {
      if (s.cols % GetDTypeInfo(t)->block_elems != 0) continue;
      if (lm_head && t != DType::kQ6_K && t != DType::kQ8_0) continue;
      for (int64_t n : {1, 16, 128}) {
        if (lm_head && n > 16) continue;  // logits: the last rows only
        for (int threads : {1, 2}) {
          const std::string name = std::string(n == 1 ? "GEMV/" : "GEMM/") +
                                   s.name + "/" + DTypeName(t) +
                                   "/n:" + std::to_string(n) +
                                   "/threads:" + std::to_string(threads);
          benchmark::RegisterBenchmark(name.c_str(), BM_MatMul, t, s, n,
                                       threads)
              ->UseRealTime()
              ->Unit(benchmark::kMillisecond);
        }
      }
    }
  }
  return 0;
}

const int kRegistered = RegisterAll();

}  // namespace
}  // namespace facet::kernels
