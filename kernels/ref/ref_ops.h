// Scalar reference ops: the oracle for every SIMD variant. Signatures and
// semantics: kernels.h (GeluTanhMulFn, RmsNormFn, RopeFn, SoftcapFn).
#ifndef FACET_KERNELS_REF_REF_OPS_H_
#define FACET_KERNELS_REF_REF_OPS_H_

#include <cstdint>

namespace facet::kernels::ref {

void GeluTanhMul(const float* gate, const float* up, float* out, int64_t n);
void RmsNorm(const float* x, const float* w, float* out, int64_t rows,
             int64_t n, float eps);
void Rope(float* x, int64_t rows, int64_t d, int64_t pairs, const float* cs,
          const float* sn);
void Softcap(float* x, int64_t n, float cap);

}  // namespace facet::kernels::ref

#endif  // FACET_KERNELS_REF_REF_OPS_H_
