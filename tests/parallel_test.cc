// kernels::ThreadPool: every tile runs exactly once, results written by
// workers are visible to the caller, jobs from several threads serialise,
// and a pool of one thread runs inline.
#include "kernels/parallel.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace facet::kernels {
namespace {

TEST(ThreadPoolTest, EveryItemOnceForManyShapes) {
  for (int threads : {1, 2, 3, 8}) {
    std::unique_ptr<ThreadPool> pool = ThreadPool::Create(threads);
    ASSERT_NE(pool, nullptr);
    EXPECT_EQ(pool->threads(), threads);
    for (size_t n : {1, 2, 7, 64, 1000, 4097}) {
      for (size_t tile : {0, 1, 3, 64, 5000}) {
        std::vector<int> hits(n, 0);
        ParallelFor(pool.get(), n, tile, [&](size_t b, size_t e) {
          ASSERT_LT(b, e);
          ASSERT_LE(e, n);
          for (size_t i = b; i < e; ++i) ++hits[i];
        });
        for (size_t i = 0; i < n; ++i) {
          ASSERT_EQ(hits[i], 1)
              << threads << " " << n << " " << tile << " " << i;
        }
      }
    }
  }
}

TEST(ThreadPoolTest, JobsFromSeveralThreadsAllComplete) {
  std::unique_ptr<ThreadPool> pool = ThreadPool::Create(2);
  std::atomic<long> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int job = 0; job < 200; ++job) {
        std::vector<long> part(16, 0);
        pool->Run(16, 1, [&](size_t b, size_t e) {
          for (size_t i = b; i < e; ++i) part[i] = static_cast<long>(i);
        });
        long s = 0;
        for (long v : part) s += v;
        total += s;
      }
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(total.load(), 4L * 200 * (15 * 16 / 2));
}

TEST(ThreadPoolTest, NullOrSingleThreadPoolRunsInline) {
  const std::thread::id me = std::this_thread::get_id();
  std::unique_ptr<ThreadPool> one = ThreadPool::Create(1);
  for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), one.get()}) {
    size_t seen = 0;
    ParallelFor(p, 10, 3, [&](size_t b, size_t e) {
      EXPECT_EQ(std::this_thread::get_id(), me);
      seen += e - b;
    });
    EXPECT_EQ(seen, 10u);
  }
}

// Workers asleep after a pause wake up for the next job.
TEST(ThreadPoolTest, WorkersWakeAfterSleeping) {
  std::unique_ptr<ThreadPool> pool = ThreadPool::Create(3);
  for (int round = 0; round < 3; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::atomic<int> count{0};
    pool->Run(100, 1,
              [&](size_t b, size_t e) { count += static_cast<int>(e - b); });
    EXPECT_EQ(count.load(), 100);
  }
}

}  // namespace
}  // namespace facet::kernels
