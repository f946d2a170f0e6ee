#include <cpuinfo.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "kernels/kernel_decls.h"
#include "kernels/kernels.h"
#include "kernels/parallel.h"
#include "kernels/ref/packed_ref.h"
#include "kernels/ref/quant.h"
#if defined(__aarch64__)
#include <sys/auxv.h>

#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1 << 13)  // Linux's arm64 uapi value, for old headers
#endif
#endif

namespace facet::kernels {
namespace {

bool CpuHas(Isa isa) {
  if (isa == Isa::kRef) return true;
#if defined(__x86_64__)
  if (!cpuinfo_initialize()) return false;
  const bool avx2 = cpuinfo_has_x86_avx2() && cpuinfo_has_x86_fma3() &&
                    cpuinfo_has_x86_f16c();
  const bool avx512 = avx2 && cpuinfo_has_x86_avx512f() &&
                      cpuinfo_has_x86_avx512bw() &&
                      cpuinfo_has_x86_avx512dq() && cpuinfo_has_x86_avx512vl();
  switch (isa) {
    case Isa::kAvx2:
      return avx2;
    case Isa::kAvx512:
      return avx512;
    case Isa::kAvx512Vnni:
      return avx512 && cpuinfo_has_x86_avx512vnni();
    default:
      return false;
  }
#elif defined(__aarch64__)
  // cpuinfo works under qemu-user too (it reads the HWCAP words there).
  if (!cpuinfo_initialize()) return false;
  const bool neon = cpuinfo_has_arm_neon();
  const bool dot = neon && cpuinfo_has_arm_neon_dot();
  switch (isa) {
    case Isa::kNeon:
      return neon;
    case Isa::kNeonDot:
      return dot;
    case Isa::kNeonI8mm:
      // Debian 12's cpuinfo predates cpuinfo_has_arm_i8mm: ask the kernel
      // directly, as cpuinfo does for the other flags.
      return dot && (getauxval(AT_HWCAP2) & HWCAP2_I8MM) != 0;
    default:
      return false;
  }
#else
  return false;
#endif
}

// Whether the kernels listed for `level` fill the table of `isa`: the
// reference ones fill every table, the others those of their level and the
// levels above it on the same architecture.
bool Covers(Isa level, Isa isa) {
  if (level == Isa::kRef) return true;
  const bool level_arm = level >= Isa::kNeon, isa_arm = isa >= Isa::kNeon;
  return isa != Isa::kRef && level_arm == isa_arm && level <= isa;
}

KernelTable MakeTable(Isa isa) {
  KernelTable t;
  t.isa = isa;
#define FACET_OP_IMPL(level, slot, ns, fn) \
  if (Covers(Isa::level, isa)) t.slot = ns::fn;
#define FACET_GEMM_IMPL(level, dtype, ns, fn) \
  if (Covers(Isa::level, isa))                \
    t.gemm[static_cast<uint32_t>(DType::dtype)] = ns::fn;
#define FACET_PACKED_IMPL(level, dtype, ns, fn, prefer)            \
  if (Covers(Isa::level, isa)) {                                   \
    t.gemm_packed[static_cast<uint32_t>(DType::dtype)] = ns::fn;   \
    t.prefer_packed[static_cast<uint32_t>(DType::dtype)] = prefer; \
  }
#define FACET_ACT_IMPL(level, act, ns, fn) \
  if (Covers(Isa::level, isa))             \
    t.quantize_act[static_cast<int>(ActType::act)] = ns::fn;
#include "kernels/kernel_list.inc"
  return t;
}

constexpr Isa kAllIsas[] = {Isa::kRef,        Isa::kAvx2, Isa::kAvx512,
                            Isa::kAvx512Vnni, Isa::kNeon, Isa::kNeonDot,
                            Isa::kNeonI8mm};

Isa BestIsa() {
  const char* env = std::getenv("FACET_ISA");
  if (env != nullptr) {
    for (Isa isa : kAllIsas) {
      if (std::strcmp(env, IsaName(isa)) == 0 && CpuHas(isa)) return isa;
    }
  }
  for (Isa isa : {Isa::kAvx512Vnni, Isa::kAvx512, Isa::kAvx2, Isa::kNeonI8mm,
                  Isa::kNeonDot, Isa::kNeon}) {
    if (CpuHas(isa)) return isa;
  }
  return Isa::kRef;
}

KernelTable& Active() {
  static KernelTable table = MakeTable(BestIsa());
  return table;
}

// A per-thread scratch buffer aligned to 64 bytes.
uint8_t* Scratch(size_t bytes) {
  thread_local std::vector<uint8_t> buf;
  if (buf.size() < bytes + 64) buf.resize(bytes + 64);
  const uintptr_t p = reinterpret_cast<uintptr_t>(buf.data());
  return reinterpret_cast<uint8_t*>((p + 63) & ~static_cast<uintptr_t>(63));
}

}  // namespace

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kRef:
      return "ref";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
    case Isa::kAvx512Vnni:
      return "avx512vnni";
    case Isa::kNeon:
      return "neon";
    case Isa::kNeonDot:
      return "neondot";
    case Isa::kNeonI8mm:
      return "neoni8mm";
  }
  return "?";
}

ActType ActTypeFor(DType weight) {
  switch (weight) {
    case DType::kQ8_0:
    case DType::kQ4_0:
    case DType::kQ4_1:
    case DType::kQ5_0:
    case DType::kQ5_1:
      return ActType::kQ8_0;
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
      return ActType::kQ8_K;
    default:
      return ActType::kF32;
  }
}

int64_t ActRowBytes(ActType act, int64_t cols) {
  int64_t bytes = 0;
  switch (act) {
    case ActType::kF32:
      bytes = cols * 4;
      break;
    case ActType::kQ8_0:
      bytes = cols + cols / 32 * 8;
      break;
    case ActType::kQ8_K:
      bytes = cols + cols / 256 * 4 + cols / 16 * 2;
      break;
  }
  return (bytes + 63) / 64 * 64;
}

const KernelTable& Kernels() { return Active(); }

const KernelTable* KernelsFor(Isa isa) {
  static KernelTable tables[kNumIsas] = {
      MakeTable(Isa::kRef),     MakeTable(Isa::kAvx2),
      MakeTable(Isa::kAvx512),  MakeTable(Isa::kAvx512Vnni),
      MakeTable(Isa::kNeon),    MakeTable(Isa::kNeonDot),
      MakeTable(Isa::kNeonI8mm)};
  if (!CpuHas(isa)) return nullptr;
  return &tables[static_cast<int>(isa)];
}

bool ForceIsa(Isa isa) {
  if (!CpuHas(isa)) return false;
  Active() = MakeTable(isa);
  return true;
}

void RopeAngles(const float* inv_freq, int64_t pairs, int64_t pos, float* cs,
                float* sn) {
  for (int64_t j = 0; j < pairs; ++j) {
    const double angle = static_cast<double>(pos) * inv_freq[j];
    cs[j] = static_cast<float>(std::cos(angle));
    sn[j] = static_cast<float>(std::sin(angle));
  }
}

bool CanPack(DType type, int64_t rows, int64_t cols) {
  return ref::CanPack(type, rows, cols);
}

void PackRows(DType type, const uint8_t* src, int64_t r0, int64_t r1,
              int64_t cols, uint8_t* dst) {
  const int64_t row_bytes = RowBytes(type, cols);
  ref::PackRows(type, src + r0 * row_bytes, r1 - r0, cols,
                dst + r0 * row_bytes);
}

void MatMul(const Matrix& w, const float* x, int64_t n, float* y,
            ThreadPool* pool) {
  // Small products run inline: waking the pool costs more than they do,
  // and a starved worker on a busy machine would stall every call.
  if (static_cast<double>(w.rows) * w.cols * n < 65536.0) pool = nullptr;
  if (n <= 0 || w.rows <= 0) return;
  const KernelTable& k = Kernels();
  // Every supported type has a kernel at every level, packed weights too
  // (DispatchTest checks the table; loaders refuse other types).
  const GemmFn gemm = w.packed ? k.GemmPacked(w.dtype) : k.Gemm(w.dtype);
  const size_t threads =
      pool != nullptr ? static_cast<size_t>(pool->threads()) : 1;
  // Activations: f32 rows are used as they are; the rest are converted once
  // per call into a per-thread buffer.
  const ActType act = ActTypeFor(w.dtype);
  const uint8_t* a = reinterpret_cast<const uint8_t*>(x);
  int64_t a_stride = w.cols * 4;
  if (act != ActType::kF32) {
    a_stride = ActRowBytes(act, w.cols);
    uint8_t* buf = Scratch(static_cast<size_t>(n * a_stride));
    const QuantizeActFn quantize = k.quantize_act[static_cast<int>(act)];
    auto convert = [&](size_t t0, size_t t1) {
      for (size_t t = t0; t < t1; ++t) {
        quantize(x + t * w.cols, buf + t * a_stride, w.cols);
      }
    };
    if (n >= 8 && threads > 1) {
      ParallelFor(pool, static_cast<size_t>(n), 4, convert);
    } else {
      convert(0, static_cast<size_t>(n));
    }
    a = buf;
  }

  // Row tiles: a multiple of 8 (the kernels' row blocks), small enough for
  // about 8 tiles per thread, at most 64 rows.
  size_t tile = static_cast<size_t>(w.rows) / (threads * 8);
  tile = std::max<size_t>(8, std::min<size_t>(64, tile / 8 * 8));
  ParallelFor(pool, static_cast<size_t>(w.rows), tile,
              [&](size_t r0, size_t r1) {
                gemm(w.row(r0), w.row_bytes, static_cast<int64_t>(r1 - r0),
                     w.cols, a, a_stride, n, y + r0, w.rows);
              });
}

}  // namespace facet::kernels
