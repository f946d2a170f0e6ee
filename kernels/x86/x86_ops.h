// Declarations of the x86 variants; each namespace lives in its own
// translation units compiled with that ISA's flags (see CMakeLists.txt):
//   avx2        avx2_ops.cc, avx2_matmul.cc       -mavx2 -mfma -mf16c
//   avx512      avx512_ops.cc (-mavx512f), avx512_matmul.cc
//               (+ -mavx512{f,bw,dq,vl})
//   avx512vnni  avx512vnni_matmul.cc (+ -mavx512vnni)
// (the last two share avx512_matmul_impl.inc). Types without an AVX-512
// kernel use the AVX2 ones at the AVX-512 levels.
// The activation converters and GemmFns follow kernels.h (QuantizeActFn,
// GemmFn); every one is tested against kernels/ref/matmul_ref.h.
#ifndef FACET_KERNELS_X86_X86_OPS_H_
#define FACET_KERNELS_X86_X86_OPS_H_

#include <cstdint>

#define FACET_DECLARE_GEMM(Name)                                             \
  void Name(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols, \
            const uint8_t* a, int64_t a_stride, int64_t n, float* y,         \
            int64_t ldy)

namespace facet::kernels {
namespace avx2 {
float DotF32(const float* a, const float* b, int64_t n);
void AxpyF32(float alpha, const float* x, float* y, int64_t n);
void GeluTanhMul(const float* gate, const float* up, float* out, int64_t n);
// avx2_attention.cc (kernels.h AttendFn).
void AttendTile(const float* q, int64_t q_stride, int nq, const float* const* k,
                const float* const* v, int count, int64_t d, float scale,
                float* m, float* l, float* acc);
void QuantizeActQ8_0(const float* x, uint8_t* a, int64_t cols);
void QuantizeActQ8_K(const float* x, uint8_t* a, int64_t cols);
FACET_DECLARE_GEMM(GemmF32);
FACET_DECLARE_GEMM(GemmF16);
FACET_DECLARE_GEMM(GemmBF16);
FACET_DECLARE_GEMM(GemmQ8_0);
FACET_DECLARE_GEMM(GemmQ4_0);
FACET_DECLARE_GEMM(GemmQ4_1);
FACET_DECLARE_GEMM(GemmQ5_0);
FACET_DECLARE_GEMM(GemmQ5_1);
FACET_DECLARE_GEMM(GemmQ4K);
FACET_DECLARE_GEMM(GemmQ5K);
FACET_DECLARE_GEMM(GemmQ6K);
// Packed 8-row layouts (kernels/ref/packed_ref.h); avx2_packed.cc.
FACET_DECLARE_GEMM(GemmQ4_0x8);
FACET_DECLARE_GEMM(GemmQ8_0x8);
FACET_DECLARE_GEMM(GemmQ4_Kx8);
}  // namespace avx2
namespace avx512 {
float DotF32(const float* a, const float* b, int64_t n);
void AxpyF32(float alpha, const float* x, float* y, int64_t n);
FACET_DECLARE_GEMM(GemmF32);  // in avx512_ops.cc
FACET_DECLARE_GEMM(GemmQ8_0);
FACET_DECLARE_GEMM(GemmQ4_0);
}  // namespace avx512
namespace avx512vnni {
FACET_DECLARE_GEMM(GemmQ8_0);
FACET_DECLARE_GEMM(GemmQ4_0);
}  // namespace avx512vnni
}  // namespace facet::kernels

#undef FACET_DECLARE_GEMM

#endif  // FACET_KERNELS_X86_X86_OPS_H_
