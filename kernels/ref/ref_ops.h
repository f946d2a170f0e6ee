// Scalar reference ops: the oracle for every SIMD variant.
#ifndef FACET_KERNELS_REF_REF_OPS_H_
#define FACET_KERNELS_REF_REF_OPS_H_

#include <cstdint>

namespace facet::kernels::ref {

float DotF32(const float* a, const float* b, int64_t n);
void AxpyF32(float alpha, const float* x, float* y, int64_t n);
// out[i] = gelu_tanh(gate[i]) * up[i] (out may be gate).
void GeluTanhMul(const float* gate, const float* up, float* out, int64_t n);

}  // namespace facet::kernels::ref

#endif  // FACET_KERNELS_REF_REF_OPS_H_
