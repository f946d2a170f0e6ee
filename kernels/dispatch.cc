#include <cpuinfo.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/parallel.h"
#include "kernels/ref/attention_ref.h"
#include "kernels/ref/matmul_ref.h"
#include "kernels/ref/packed_ref.h"
#include "kernels/ref/quant.h"
#include "kernels/ref/ref_ops.h"
#if defined(__x86_64__)
#include "kernels/x86/x86_ops.h"
#endif
#if defined(__aarch64__)
#include <sys/auxv.h>

#include "kernels/arm/arm_ops.h"
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1 << 13)  // Linux's arm64 uapi value, for old headers
#endif
#endif

namespace facet::kernels {
namespace {

void SetGemm(KernelTable* t, DType type, GemmFn fn) {
  t->gemm[static_cast<uint32_t>(type)] = fn;
}
void SetPacked(KernelTable* t, DType type, GemmFn fn, bool prefer) {
  t->gemm_packed[static_cast<uint32_t>(type)] = fn;
  t->prefer_packed[static_cast<uint32_t>(type)] = prefer;
}
void SetAct(KernelTable* t, ActType act, QuantizeActFn fn) {
  t->quantize_act[static_cast<int>(act)] = fn;
}

KernelTable MakeRef() {
  KernelTable t;
  t.isa = Isa::kRef;
  t.dot_f32 = ref::DotF32;
  t.axpy_f32 = ref::AxpyF32;
  t.attend_tile = ref::AttendTile;
  t.gelu_tanh_mul = ref::GeluTanhMul;
  t.quantize_act[static_cast<int>(ActType::kF32)] = ref::QuantizeActF32;
  t.quantize_act[static_cast<int>(ActType::kQ8_0)] = ref::QuantizeActQ8_0;
  t.quantize_act[static_cast<int>(ActType::kQ8_K)] = ref::QuantizeActQ8_K;
  SetGemm(&t, DType::kF32, ref::GemmF32);
  SetGemm(&t, DType::kF16, ref::GemmF16);
  SetGemm(&t, DType::kBF16, ref::GemmBF16);
  SetGemm(&t, DType::kQ8_0, ref::GemmQ8_0);
  SetGemm(&t, DType::kQ4_0, ref::GemmQ4_0);
  SetGemm(&t, DType::kQ4_1, ref::GemmQ4_1);
  SetGemm(&t, DType::kQ5_0, ref::GemmQ5_0);
  SetGemm(&t, DType::kQ5_1, ref::GemmQ5_1);
  SetGemm(&t, DType::kQ4_K, ref::GemmQ4K);
  SetGemm(&t, DType::kQ5_K, ref::GemmQ5K);
  SetGemm(&t, DType::kQ6_K, ref::GemmQ6K);
  // Packed weights always have a kernel, but the reference gains nothing
  // from packing.
  SetPacked(&t, DType::kQ4_0, ref::GemmQ4_0x8, false);
  SetPacked(&t, DType::kQ8_0, ref::GemmQ8_0x8, false);
  SetPacked(&t, DType::kQ4_K, ref::GemmQ4_Kx8, false);
  return t;
}

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

KernelTable MakeTable(Isa isa) {
  KernelTable t = MakeRef();
#if defined(__x86_64__)
  if (isa == Isa::kRef || isa >= Isa::kNeon) return t;  // not x86 levels
  // Every x86 level starts from AVX2 and overrides what it has.
  t.isa = isa;
  t.dot_f32 = avx2::DotF32;
  t.axpy_f32 = avx2::AxpyF32;
  t.attend_tile = avx2::AttendTile;
  t.gelu_tanh_mul = avx2::GeluTanhMul;
  SetAct(&t, ActType::kQ8_0, avx2::QuantizeActQ8_0);
  SetAct(&t, ActType::kQ8_K, avx2::QuantizeActQ8_K);
  SetGemm(&t, DType::kF32, avx2::GemmF32);
  SetGemm(&t, DType::kF16, avx2::GemmF16);
  SetGemm(&t, DType::kBF16, avx2::GemmBF16);
  SetGemm(&t, DType::kQ8_0, avx2::GemmQ8_0);
  SetGemm(&t, DType::kQ4_0, avx2::GemmQ4_0);
  SetGemm(&t, DType::kQ4_1, avx2::GemmQ4_1);
  SetGemm(&t, DType::kQ5_0, avx2::GemmQ5_0);
  SetGemm(&t, DType::kQ5_1, avx2::GemmQ5_1);
  SetGemm(&t, DType::kQ4_K, avx2::GemmQ4K);
  SetGemm(&t, DType::kQ5_K, avx2::GemmQ5K);
  SetGemm(&t, DType::kQ6_K, avx2::GemmQ6K);
  SetPacked(&t, DType::kQ4_0, avx2::GemmQ4_0x8, true);
  SetPacked(&t, DType::kQ8_0, avx2::GemmQ8_0x8, true);
  SetPacked(&t, DType::kQ4_K, avx2::GemmQ4_Kx8, true);
  if (isa == Isa::kAvx512 || isa == Isa::kAvx512Vnni) {
    t.dot_f32 = avx512::DotF32;
    t.axpy_f32 = avx512::AxpyF32;
    SetGemm(&t, DType::kF32, avx512::GemmF32);
    SetGemm(&t, DType::kQ8_0, avx512::GemmQ8_0);
    SetGemm(&t, DType::kQ4_0, avx512::GemmQ4_0);
  }
  if (isa == Isa::kAvx512Vnni) {
    SetGemm(&t, DType::kQ8_0, avx512vnni::GemmQ8_0);
    SetGemm(&t, DType::kQ4_0, avx512vnni::GemmQ4_0);
    // vpdpbusd does maddubs + madd in one instruction on the file's own
    // layout; the packed AVX2 kernels stay available for packed weights.
    t.prefer_packed[static_cast<uint32_t>(DType::kQ4_0)] = false;
    t.prefer_packed[static_cast<uint32_t>(DType::kQ8_0)] = false;
  }
#elif defined(__aarch64__)
  if (isa < Isa::kNeon) return t;  // the reference; x86 levels never apply
  // Every Arm level starts from NEON and overrides what it has. The packed
  // layouts, attention and GeGLU keep the reference kernels (no Arm
  // variants yet; prefer_packed stays false, so loaders do not pack).
  t.isa = isa;
  t.dot_f32 = neon::DotF32;
  t.axpy_f32 = neon::AxpyF32;
  SetAct(&t, ActType::kQ8_0, neon::QuantizeActQ8_0);
  SetAct(&t, ActType::kQ8_K, neon::QuantizeActQ8_K);
  SetGemm(&t, DType::kF32, neon::GemmF32);
  SetGemm(&t, DType::kF16, neon::GemmF16);
  SetGemm(&t, DType::kBF16, neon::GemmBF16);
  SetGemm(&t, DType::kQ8_0, neon::GemmQ8_0);
  SetGemm(&t, DType::kQ4_0, neon::GemmQ4_0);
  SetGemm(&t, DType::kQ4_1, neon::GemmQ4_1);
  SetGemm(&t, DType::kQ5_0, neon::GemmQ5_0);
  SetGemm(&t, DType::kQ5_1, neon::GemmQ5_1);
  SetGemm(&t, DType::kQ4_K, neon::GemmQ4K);
  SetGemm(&t, DType::kQ5_K, neon::GemmQ5K);
  SetGemm(&t, DType::kQ6_K, neon::GemmQ6K);
  if (isa == Isa::kNeonDot || isa == Isa::kNeonI8mm) {
    SetGemm(&t, DType::kQ8_0, neondot::GemmQ8_0);
    SetGemm(&t, DType::kQ4_0, neondot::GemmQ4_0);
    SetGemm(&t, DType::kQ4_1, neondot::GemmQ4_1);
    SetGemm(&t, DType::kQ5_0, neondot::GemmQ5_0);
    SetGemm(&t, DType::kQ5_1, neondot::GemmQ5_1);
    SetGemm(&t, DType::kQ4_K, neondot::GemmQ4K);
    SetGemm(&t, DType::kQ5_K, neondot::GemmQ5K);
    SetGemm(&t, DType::kQ6_K, neondot::GemmQ6K);
  }
  if (isa == Isa::kNeonI8mm) {
    SetGemm(&t, DType::kQ8_0, neoni8mm::GemmQ8_0);
    SetGemm(&t, DType::kQ4_0, neoni8mm::GemmQ4_0);
    SetGemm(&t, DType::kQ4_1, neoni8mm::GemmQ4_1);
    SetGemm(&t, DType::kQ5_0, neoni8mm::GemmQ5_0);
    SetGemm(&t, DType::kQ5_1, neoni8mm::GemmQ5_1);
  }
#endif
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
  // Packed weights always have a kernel (every table has one per packable
  // type).
  const GemmFn gemm = w.packed ? k.GemmPacked(w.dtype) : k.Gemm(w.dtype);
  const size_t threads =
      pool != nullptr ? static_cast<size_t>(pool->threads()) : 1;
  if (gemm == nullptr) {
    // No kernel for this type: dequantize rows and use dot_f32.
    const size_t tile = w.rows >= 256 ? 32 : 8;
    ParallelFor(
        pool, static_cast<size_t>(w.rows), tile, [&](size_t r0, size_t r1) {
          thread_local std::vector<float> buf;
          if (static_cast<int64_t>(buf.size()) < w.cols) {
            buf.resize(w.cols);
          }
          for (size_t r = r0; r < r1; ++r) {
            DequantizeRow(w.dtype, w.row(r), buf.data(), w.cols);
            for (int64_t t = 0; t < n; ++t) {
              y[t * w.rows + r] = k.dot_f32(buf.data(), x + t * w.cols, w.cols);
            }
          }
        });
    return;
  }

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
