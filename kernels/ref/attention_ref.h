// Scalar reference of the attention tile (kernels.h AttendFn).
#ifndef FACET_KERNELS_REF_ATTENTION_REF_H_
#define FACET_KERNELS_REF_ATTENTION_REF_H_

#include <cstdint>

namespace facet::kernels::ref {

void AttendTile(const float* q, int64_t q_stride, int nq, const float* const* k,
                const float* const* v, int count, int64_t d, float scale,
                float* m, float* l, float* acc);

}  // namespace facet::kernels::ref

#endif  // FACET_KERNELS_REF_ATTENTION_REF_H_
