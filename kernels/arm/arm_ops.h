// Declarations of the Arm64 variants; each namespace lives in its own
// translation units compiled with that level's flags (see CMakeLists.txt):
//   neon      neon_ops.cc, neon_matmul.cc     -march=armv8-a
//   neondot   neondot_matmul.cc               -march=armv8.2-a+dotprod
//   neoni8mm  neoni8mm_matmul.cc              -march=armv8.2-a+dotprod+i8mm
// (the matmul files share arm_matmul_impl.inc). A level uses the kernels of
// the levels below it for the types it has none of; types with no Arm
// kernel at all keep the reference one.
// The activation converters and GemmFns follow kernels.h (QuantizeActFn,
// GemmFn); every one is tested against kernels/ref/matmul_ref.h
// (tools/run_arm_tests.sh runs the tests under qemu-aarch64).
#ifndef FACET_KERNELS_ARM_ARM_OPS_H_
#define FACET_KERNELS_ARM_ARM_OPS_H_

#include <cstdint>

#define FACET_DECLARE_GEMM(Name)                                             \
  void Name(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols, \
            const uint8_t* a, int64_t a_stride, int64_t n, float* y,         \
            int64_t ldy)

namespace facet::kernels {
namespace neon {
float DotF32(const float* a, const float* b, int64_t n);
void AxpyF32(float alpha, const float* x, float* y, int64_t n);
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
}  // namespace neon
namespace neondot {
FACET_DECLARE_GEMM(GemmQ8_0);
FACET_DECLARE_GEMM(GemmQ4_0);
FACET_DECLARE_GEMM(GemmQ4_1);
FACET_DECLARE_GEMM(GemmQ5_0);
FACET_DECLARE_GEMM(GemmQ5_1);
FACET_DECLARE_GEMM(GemmQ4K);
FACET_DECLARE_GEMM(GemmQ5K);
FACET_DECLARE_GEMM(GemmQ6K);
}  // namespace neondot
namespace neoni8mm {
// 2 rows x 2 tokens per smmla; GEMV and the odd row / token use the
// neondot kernels, which compute every (row, token) the same way.
FACET_DECLARE_GEMM(GemmQ8_0);
FACET_DECLARE_GEMM(GemmQ4_0);
FACET_DECLARE_GEMM(GemmQ4_1);
FACET_DECLARE_GEMM(GemmQ5_0);
FACET_DECLARE_GEMM(GemmQ5_1);
}  // namespace neoni8mm
}  // namespace facet::kernels

#undef FACET_DECLARE_GEMM

#endif  // FACET_KERNELS_ARM_ARM_OPS_H_
