#include "kernels/parallel.h"

#include <pthread.h>

#include <algorithm>
#include <thread>

namespace facet::kernels {
namespace {

// A worker polls this many times (about 50-100 us) for the next job before
// it sleeps: decode issues a job every few tens of microseconds, and a
// wake-up through the kernel costs about as much as a small job.
constexpr int kSpins = 2000;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

std::unique_ptr<ThreadPool> ThreadPool::Create(int threads) {
  if (threads < 1) threads = 1;
  std::unique_ptr<ThreadPool> pool(new ThreadPool(threads));
  for (int i = 1; i < threads; ++i) {
    // pthread_create, not std::thread: a failure is an error code here, not
    // an exception.
    pthread_t t;
    auto entry = [](void* p) -> void* {
      static_cast<ThreadPool*>(p)->WorkerLoop();
      return nullptr;
    };
    if (pthread_create(&t, nullptr, entry, pool.get()) != 0) return nullptr;
    pool->workers_.push_back(t);
  }
  return pool;
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (pthread_t t : workers_) pthread_join(t, nullptr);
}

void ThreadPool::Work(Job* job) {
  for (;;) {
    const size_t t = job->next.fetch_add(1);
    if (t >= job->tiles) return;
    const size_t b = t * job->tile;
    (*job->fn)(b, std::min(job->n, b + job->tile));
    job->done.fetch_add(1);
  }
}

void ThreadPool::WorkerLoop() {
  uint64_t seen = 0;
  for (;;) {
    uint64_t g = generation_.load();
    for (int i = 0; g == seen && !stop_.load(); ++i) {
      if (i < kSpins) {
        CpuRelax();
      } else {
        std::unique_lock<std::mutex> lock(wake_mu_);
        sleeping_.fetch_add(1);
        wake_.wait(lock,
                   [&] { return generation_.load() != seen || stop_.load(); });
        sleeping_.fetch_sub(1);
      }
      g = generation_.load();
    }
    if (stop_.load()) return;
    seen = g;
    // Announce first, then look: the caller clears job_ before it waits
    // for in_job_ to drain, so a job seen here outlives this use.
    in_job_.fetch_add(1);
    Job* job = job_.load();
    if (job != nullptr) Work(job);
    in_job_.fetch_sub(1);
  }
}

void ThreadPool::Run(size_t n, size_t tile,
                     const std::function<void(size_t, size_t)>& fn) {
  if (n == 0) return;
  if (tile == 0) tile = 1;
  std::lock_guard<std::mutex> run_lock(run_mu_);
  Job job;
  job.fn = &fn;
  job.n = n;
  job.tile = tile;
  job.tiles = (n + tile - 1) / tile;
  job_.store(&job);
  generation_.fetch_add(1);
  if (sleeping_.load() > 0) {
    // Taking the lock orders this wake-up after a sleeper's last check.
    { std::lock_guard<std::mutex> lock(wake_mu_); }
    wake_.notify_all();
  }
  Work(&job);
  // Only tiles a worker has claimed are waited for.
  for (int i = 0; job.done.load() < job.tiles; ++i) {
    if (i < kSpins) {
      CpuRelax();
    } else {
      std::this_thread::yield();
    }
  }
  job_.store(nullptr);
  for (int i = 0; in_job_.load() > 0; ++i) {
    if (i < kSpins) {
      CpuRelax();
    } else {
      std::this_thread::yield();
    }
  }
}

void ParallelFor(ThreadPool* pool, size_t n, size_t tile,
                 const std::function<void(size_t, size_t)>& fn) {
  if (n == 0) return;
  if (tile == 0) tile = 1;
  if (pool == nullptr || pool->threads() <= 1 || n <= tile) {
    for (size_t b = 0; b < n; b += tile) fn(b, std::min(n, b + tile));
    return;
  }
  pool->Run(n, tile, fn);
}

}  // namespace facet::kernels
