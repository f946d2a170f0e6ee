// AVX-512 F/BW/DQ/VL kernels over the packed layouts; this file alone is
// compiled with the AVX-512 flags (plus the AVX2 ones).
#define FACET_VNNI 0
#define FACET_AVX512_NS avx512
#include "kernels/x86/avx512_packed_impl.inc"
