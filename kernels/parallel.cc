#include "kernels/parallel.h"

#include <algorithm>

// pthreadpool is not built with ThreadSanitizer, so TSAN cannot see the
// synchronisation inside it; tell it about the two hand-offs (caller ->
// workers before a job, workers -> caller after it).
#if defined(__SANITIZE_THREAD__)
#define FACET_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FACET_TSAN 1
#endif
#endif
#ifdef FACET_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#define FACET_TSAN_ACQUIRE(p) __tsan_acquire(p)
#define FACET_TSAN_RELEASE(p) __tsan_release(p)
#else
#define FACET_TSAN_ACQUIRE(p) (void)(p)
#define FACET_TSAN_RELEASE(p) (void)(p)
#endif

namespace facet::kernels {
namespace {

struct Ctx {
  const std::function<void(size_t, size_t)>* fn;
  size_t n;
};

void Task(void* p, size_t start, size_t tile) {
  FACET_TSAN_ACQUIRE(p);
  const Ctx* c = static_cast<const Ctx*>(p);
  (*c->fn)(start, std::min(c->n, start + tile));
  FACET_TSAN_RELEASE(p);
}

}  // namespace

void ParallelFor(pthreadpool_t pool, size_t n, size_t tile,
                 const std::function<void(size_t, size_t)>& fn) {
  if (n == 0) return;
  if (tile == 0) tile = 1;
  if (pool == nullptr || pthreadpool_get_threads_count(pool) <= 1 ||
      n <= tile) {
    for (size_t b = 0; b < n; b += tile) fn(b, std::min(n, b + tile));
    return;
  }
  Ctx ctx{&fn, n};
  FACET_TSAN_RELEASE(&ctx);
  pthreadpool_parallelize_1d_tile_1d(pool, Task, &ctx, n, tile, 0);
  FACET_TSAN_ACQUIRE(&ctx);
}

}  // namespace facet::kernels
