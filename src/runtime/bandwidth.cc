// A built-in memory read-bandwidth probe, so benchmarks can say what
// fraction of the machine's bandwidth decode reaches.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "facet/tools.h"

namespace facet {
namespace {

uint64_t SumRange(const uint64_t* p, size_t n) {
  uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    a0 += p[i];
    a1 += p[i + 1];
    a2 += p[i + 2];
    a3 += p[i + 3];
    a4 += p[i + 4];
    a5 += p[i + 5];
    a6 += p[i + 6];
    a7 += p[i + 7];
  }
  for (; i < n; ++i) a0 += p[i];
  return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}

}  // namespace

double MeasureReadBandwidth(int threads) {
  threads = std::max(1, threads);
  // 512 MiB: far beyond any last-level cache.
  const size_t n = (size_t{512} << 20) / sizeof(uint64_t);
  std::vector<uint64_t> buf(n);
  for (size_t i = 0; i < n; i += 512) buf[i] = i;  // touch every page
  std::memset(buf.data(), 1, n * sizeof(uint64_t));
  double best = 0;
  volatile uint64_t sink = 0;
  for (int pass = 0; pass < 3; ++pass) {
    std::vector<uint64_t> sums(threads);
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    const size_t chunk = n / threads;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        const size_t len = t + 1 == threads ? n - t * chunk : chunk;
        sums[t] = SumRange(buf.data() + t * chunk, len);
      });
    }
    for (std::thread& th : pool) th.join();
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    for (uint64_t v : sums) sink += v;
    best = std::max(best, n * sizeof(uint64_t) / s);
  }
  (void)sink;
  return best;
}

}  // namespace facet
