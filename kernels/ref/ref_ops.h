// Scalar reference ops: the oracle for every SIMD variant.
#ifndef FACET_KERNELS_REF_REF_OPS_H_
#define FACET_KERNELS_REF_REF_OPS_H_

#include <cstdint>

namespace facet::kernels::ref {

float DotF32(const float* a, const float* b, int64_t n);
void AxpyF32(float alpha, const float* x, float* y, int64_t n);

}  // namespace facet::kernels::ref

#endif  // FACET_KERNELS_REF_REF_OPS_H_
