#include "kernels/parallel.h"

#include <algorithm>

namespace facet::kernels {
namespace {

struct Ctx {
  const std::function<void(size_t, size_t)>* fn;
  size_t n;
};

void Task(void* p, size_t start, size_t tile) {
  const Ctx* c = static_cast<const Ctx*>(p);
  (*c->fn)(start, std::min(c->n, start + tile));
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
  pthreadpool_parallelize_1d_tile_1d(pool, Task, &ctx, n, tile, 0);
}

}  // namespace facet::kernels
