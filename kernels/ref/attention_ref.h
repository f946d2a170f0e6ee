// Scalar reference of the attention tile (kernels.h AttendFn).
#ifndef FACET_KERNELS_REF_ATTENTION_REF_H_
#define FACET_KERNELS_REF_ATTENTION_REF_H_

#include <cstdint>

namespace facet::kernels::ref {

void AttendTile(const float* q, int64_t q_stride, int nq, const float* const* k,
                const float* const* v, int count, int64_t d, float scale,
                float* m, float* l, float* acc);
// KV rows in f16 / q8_0 to f32 (kernels.h LoadKvFn).
void LoadKvF16(const uint8_t* const* rows, int count, int64_t d, float* dst);
void LoadKvQ8_0(const uint8_t* const* rows, int count, int64_t d, float* dst);

}  // namespace facet::kernels::ref

#endif  // FACET_KERNELS_REF_ATTENTION_REF_H_
