// facet's one thread pool and its parallel-for.
//
// A job is cut into tiles that the calling thread and the workers claim
// from a shared counter; the caller never waits for a worker that has not
// started, only for tiles a worker has claimed. pthreadpool (which facet
// used first) makes the caller wait until every worker has checked in to
// every job, so on a machine whose other cores are busy each call waited
// for a descheduled worker: measured on 2 cores with one busy, 2 threads
// decoded 23x slower than 1 thread (26B-A4B: 0.16 vs 3.68 tok/s).
#ifndef FACET_KERNELS_PARALLEL_H_
#define FACET_KERNELS_PARALLEL_H_

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace facet::kernels {

class ThreadPool {
 public:
  // `threads` counts the calling thread: threads - 1 workers start. Null
  // when a worker thread cannot be started (those started are joined).
  static std::unique_ptr<ThreadPool> Create(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }
  // Calls fn(begin, end) for the tiles of [0, n), `tile` items each, on
  // this thread and the workers; returns when all are done. Jobs from
  // several threads run one after another.
  void Run(size_t n, size_t tile,
           const std::function<void(size_t, size_t)>& fn);

 private:
  struct Job {
    const std::function<void(size_t, size_t)>* fn = nullptr;
    size_t n = 0, tile = 1, tiles = 0;
    std::atomic<size_t> next{0};
    std::atomic<size_t> done{0};
  };
  explicit ThreadPool(int threads) : threads_(threads) {}
  static void Work(Job* job);
  void WorkerLoop();

  const int threads_;
  std::vector<pthread_t> workers_;
  std::mutex run_mu_;                    // one job at a time
  std::atomic<Job*> job_{nullptr};       // the job being run, if any
  std::atomic<uint64_t> generation_{0};  // bumped per job
  std::atomic<int> in_job_{0};           // workers that may hold job_
  std::atomic<int> sleeping_{0};         // workers blocked on wake_
  std::atomic<bool> stop_{false};
  std::mutex wake_mu_;
  std::condition_variable wake_;
};

// Calls fn(begin, end) over [0, n) in tiles of `tile` items, on `pool`, or
// inline when pool is null or has one thread.
void ParallelFor(ThreadPool* pool, size_t n, size_t tile,
                 const std::function<void(size_t, size_t)>& fn);

}  // namespace facet::kernels

#endif  // FACET_KERNELS_PARALLEL_H_
