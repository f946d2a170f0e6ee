// Declarations of the x86 variants; each namespace lives in its own
// translation unit compiled with that ISA's flags.
#ifndef FACET_KERNELS_X86_X86_OPS_H_
#define FACET_KERNELS_X86_X86_OPS_H_

#include <cstdint>

namespace facet::kernels {
namespace avx2 {
float DotF32(const float* a, const float* b, int64_t n);
void AxpyF32(float alpha, const float* x, float* y, int64_t n);
}  // namespace avx2
namespace avx512 {
float DotF32(const float* a, const float* b, int64_t n);
void AxpyF32(float alpha, const float* x, float* y, int64_t n);
}  // namespace avx512
}  // namespace facet::kernels

#endif  // FACET_KERNELS_X86_X86_OPS_H_
