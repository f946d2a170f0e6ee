// AVX-512 F/BW/DQ/VL matrix kernels; this file alone is compiled with
// -mavx512f -mavx512bw -mavx512dq -mavx512vl (plus the AVX2 flags).
#define FACET_VNNI 0
#define FACET_AVX512_NS avx512
#include "kernels/x86/avx512_matmul_impl.inc"
