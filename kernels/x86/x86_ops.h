// The x86 kernels: kernel_list.inc registers them and kernel_decls.h
// declares them. Each namespace lives in its own translation units,
// compiled with that ISA's flags (see CMakeLists.txt):
//   avx2        avx2_ops.cc, avx2_attention.cc     -mavx2 -mfma
//               avx2_vector.cc, avx2_matmul.cc,
//               avx2_matmul_k.cc, avx2_packed.cc   (+ -mf16c, no contraction)
//   avx512      avx512_ops.cc (-mavx512f), avx512_matmul.cc,
//               avx512_packed.cc, avx512_attention.cc
//               (+ -mavx512{f,bw,dq,vl})
//   avx512vnni  avx512vnni_matmul.cc, avx512vnni_packed.cc
//               (+ -mavx512vnni)
// (the matmul files share avx512_matmul_impl.inc, the packed ones
// avx512_packed_impl.inc; the *_impl.inc files are also compiled on SIMDe
// by bench/avx512_emulation_check.cc). Every one is tested against the scalar
// reference in kernels/ref/.
#ifndef FACET_KERNELS_X86_X86_OPS_H_
#define FACET_KERNELS_X86_X86_OPS_H_

#include <cstdint>

#include "kernels/kernel_decls.h"

namespace facet::kernels {
// Helpers of the f32 GEMMs, not in the table: one dot product per
// (row, token) pair.
namespace avx2 {
float DotF32(const float* a, const float* b, int64_t n);
}  // namespace avx2
namespace avx512 {
float DotF32(const float* a, const float* b, int64_t n);
}  // namespace avx512
}  // namespace facet::kernels

#endif  // FACET_KERNELS_X86_X86_OPS_H_
