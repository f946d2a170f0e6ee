// One parallel-for over pthreadpool (the pool XNNPACK uses too), so facet
// never runs two pools against each other. A null pool runs inline.
#ifndef FACET_KERNELS_PARALLEL_H_
#define FACET_KERNELS_PARALLEL_H_

#include <pthreadpool.h>

#include <cstddef>
#include <functional>

namespace facet::kernels {

// Calls fn(begin, end) over [0, n) in tiles of `tile` items.
void ParallelFor(pthreadpool_t pool, size_t n, size_t tile,
                 const std::function<void(size_t, size_t)>& fn);

}  // namespace facet::kernels

#endif  // FACET_KERNELS_PARALLEL_H_
