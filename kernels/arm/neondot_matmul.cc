// The quantized matrix kernels with the dotprod extension (sdot: 16 int8
// products into 4 int32 lanes per instruction); this file alone is
// compiled with -march=armv8.2-a+dotprod -ffp-contract=off. The tiles are
// those of neon_matmul.cc (arm_matmul_impl.inc) with DotI8 as sdot.
#include <arm_neon.h>

#include <cstring>

#include "kernels/arm/arm_ops.h"

namespace facet::kernels::neondot {
namespace {

#include "kernels/arm/arm_matmul_impl.inc"

#if !defined(__ARM_FEATURE_DOTPROD)
#error "neondot_matmul.cc needs -march=...+dotprod"
#endif

}  // namespace

FACET_ARM_GEMM(GemmQ8_0, LegacyTile<KindQ8_0>, 4)
FACET_ARM_GEMM(GemmQ4_0, LegacyTile<KindQ4_0>, 4)
FACET_ARM_GEMM(GemmQ4_1, LegacyTile<KindQ4_1>, 4)
FACET_ARM_GEMM(GemmQ5_0, LegacyTile<KindQ5_0>, 4)
FACET_ARM_GEMM(GemmQ5_1, LegacyTile<KindQ5_1>, 4)
FACET_ARM_GEMM(GemmQ4K, Q45KTile<false>, 4)
FACET_ARM_GEMM(GemmQ5K, Q45KTile<true>, 4)
FACET_ARM_GEMM(GemmQ6K, Q6KTile, 4)
#undef FACET_ARM_GEMM

}  // namespace facet::kernels::neondot
