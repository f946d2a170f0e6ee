// Model::PackWeights: load-time repacking of matrix-product weights into
// the layout the active kernels stream fastest (kernels/ref/packed_ref.h).
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <unordered_map>

#include "kernels/kernels.h"
#include "kernels/parallel.h"
#include "kernels/ref/quant.h"
#include "models/gemma4/model.h"

namespace facet::gemma4 {
namespace {

// Every slot the forward pass reads through kernels::MatMul. The token
// embedding (also the LM head) and the per-layer table are gathered by row
// as well, so they keep the file's layout.
std::vector<const TensorView**> MatMulSlots(Weights* w) {
  std::vector<const TensorView**> out;
  auto add = [&out](const TensorView*& t) {
    if (t != nullptr) out.push_back(&t);
  };
  add(w->ple_model_proj);
  for (LayerWeights& l : w->layers) {
    add(l.q);
    add(l.k);
    add(l.v);
    add(l.o);
    add(l.gate);
    add(l.up);
    add(l.down);
    add(l.ple_gate);
    add(l.ple_proj);
    add(l.gate_up_exps);
    add(l.down_exps);
  }
  return out;
}

// Drops the whole pages inside [p, p + n) from this process's memory; the
// file mapping re-reads them if they are ever touched again.
void DropPages(const uint8_t* p, uint64_t n) {
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t b = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
  const uintptr_t e = (reinterpret_cast<uintptr_t>(p) + n) & ~(page - 1);
  if (e > b) ::madvise(reinterpret_cast<void*>(b), e - b, MADV_DONTNEED);
}

}  // namespace

Model::~Model() {
  if (arena_ != nullptr) ::munmap(arena_, arena_bytes_);
}

void Model::PackWeights(
    kernels::ThreadPool* pool,
    const std::function<void(uint64_t, uint64_t)>& progress) {
  if (arena_ != nullptr) return;
  const kernels::KernelTable& k = kernels::Kernels();
  std::vector<const TensorView**> slots = MatMulSlots(&weights_);
  // The distinct tensors to pack, in file order of first use.
  std::vector<const TensorView*> todo;
  std::unordered_map<const TensorView*, size_t> index;
  uint64_t total = 0;
  for (const TensorView** s : slots) {
    const TensorView* t = *s;
    if (index.count(t) != 0) continue;
    const int64_t cols = t->dim(0), rows = t->dim(1) * t->dim(2);
    // Expert slices are packed as one matrix: groups of 8 rows never cross
    // an expert when each expert's rows are a multiple of 8.
    if (!k.PreferPacked(t->dtype) ||
        !kernels::CanPack(t->dtype, t->dim(1), cols) ||
        t->nbytes !=
            static_cast<uint64_t>(rows * kernels::RowBytes(t->dtype, cols))) {
      continue;
    }
    index[t] = todo.size();
    todo.push_back(t);
    total += (t->nbytes + 63) / 64 * 64;  // each copy starts on a cache line
  }
  if (todo.empty()) return;
  const uint64_t align = 2u << 20;
  const uint64_t bytes = (total + align - 1) / align * align;
  void* arena = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (arena == MAP_FAILED) return;  // the file's layout works too
#ifdef MADV_HUGEPAGE
  ::madvise(arena, bytes, MADV_HUGEPAGE);  // fewer faults and TLB misses
#endif
  arena_ = arena;
  arena_bytes_ = bytes;
  uint8_t* dst = static_cast<uint8_t*>(arena);
  uint64_t done = 0;
  std::vector<const TensorView*> packed(todo.size());
  for (size_t i = 0; i < todo.size(); ++i) {
    const TensorView* t = todo[i];
    const int64_t cols = t->dim(0), rows = t->dim(1) * t->dim(2);
    const size_t groups = static_cast<size_t>(rows / 8);
    kernels::ParallelFor(pool, groups, 64, [&](size_t g0, size_t g1) {
      kernels::PackRows(t->dtype, t->data, static_cast<int64_t>(g0 * 8),
                        static_cast<int64_t>(g1 * 8), cols, dst);
    });
    DropPages(t->data, t->nbytes);
    TensorView v = *t;
    v.data = dst;
    v.packed = true;
    packed_views_.push_back(std::move(v));
    packed[i] = &packed_views_.back();
    packed_sources_.insert(t);
    dst += (t->nbytes + 63) / 64 * 64;
    done += (t->nbytes + 63) / 64 * 64;
    if (progress) progress(done, total);
  }
  for (const TensorView** s : slots) {
    auto it = index.find(*s);
    if (it != index.end()) *s = packed[it->second];
  }
}

}  // namespace facet::gemma4
