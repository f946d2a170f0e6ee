#include <cpuinfo.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/parallel.h"
#include "kernels/ref/quant.h"
#include "kernels/ref/ref_ops.h"
#if defined(__x86_64__)
#include "kernels/x86/x86_ops.h"
#endif

namespace facet::kernels {
namespace {

KernelTable MakeRef() {
  KernelTable t;
  t.isa = Isa::kRef;
  t.dot_f32 = ref::DotF32;
  t.axpy_f32 = ref::AxpyF32;
  return t;
}

bool CpuHas(Isa isa) {
  if (isa == Isa::kRef) return true;
#if defined(__x86_64__)
  if (!cpuinfo_initialize()) return false;
  if (isa == Isa::kAvx2) {
    return cpuinfo_has_x86_avx2() && cpuinfo_has_x86_fma3();
  }
  if (isa == Isa::kAvx512) {
    return cpuinfo_has_x86_avx512f() && cpuinfo_has_x86_avx2() &&
           cpuinfo_has_x86_fma3();
  }
#endif
  return false;
}

KernelTable MakeTable(Isa isa) {
  KernelTable t = MakeRef();
#if defined(__x86_64__)
  if (isa == Isa::kAvx2) {
    t.isa = isa;
    t.dot_f32 = avx2::DotF32;
    t.axpy_f32 = avx2::AxpyF32;
  } else if (isa == Isa::kAvx512) {
    t.isa = isa;
    t.dot_f32 = avx512::DotF32;
    t.axpy_f32 = avx512::AxpyF32;
  }
#endif
  return t;
}

Isa BestIsa() {
  const char* env = std::getenv("FACET_ISA");
  if (env != nullptr) {
    for (Isa isa : {Isa::kRef, Isa::kAvx2, Isa::kAvx512}) {
      if (std::strcmp(env, IsaName(isa)) == 0 && CpuHas(isa)) return isa;
    }
  }
  for (Isa isa : {Isa::kAvx512, Isa::kAvx2}) {
    if (CpuHas(isa)) return isa;
  }
  return Isa::kRef;
}

KernelTable& Active() {
  static KernelTable table = MakeTable(BestIsa());
  return table;
}

}  // namespace

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kRef: return "ref";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
  }
  return "?";
}

const KernelTable& Kernels() { return Active(); }

const KernelTable* KernelsFor(Isa isa) {
  static KernelTable tables[3] = {MakeTable(Isa::kRef), MakeTable(Isa::kAvx2),
                                  MakeTable(Isa::kAvx512)};
  if (!CpuHas(isa)) return nullptr;
  return &tables[static_cast<int>(isa)];
}

bool ForceIsa(Isa isa) {
  if (!CpuHas(isa)) return false;
  Active() = MakeTable(isa);
  return true;
}

void MatMul(const Matrix& w, const float* x, int64_t n, float* y,
            pthreadpool_t pool) {
  const KernelTable& k = Kernels();
  // Rows per task: enough work to amortise dispatch, small enough to
  // balance across threads.
  const size_t tile = w.rows >= 256 ? 32 : 8;
  ParallelFor(pool, static_cast<size_t>(w.rows), tile,
              [&](size_t r0, size_t r1) {
                thread_local std::vector<float> buf;
                if (static_cast<int64_t>(buf.size()) < w.cols) {
                  buf.resize(w.cols);
                }
                for (size_t r = r0; r < r1; ++r) {
                  const float* row;
                  if (w.dtype == DType::kF32) {
                    row = reinterpret_cast<const float*>(w.row(r));
                  } else {
                    DequantizeRow(w.dtype, w.row(r), buf.data(), w.cols);
                    row = buf.data();
                  }
                  for (int64_t t = 0; t < n; ++t) {
                    y[t * w.rows + r] = k.dot_f32(row, x + t * w.cols, w.cols);
                  }
                }
              });
}

}  // namespace facet::kernels
