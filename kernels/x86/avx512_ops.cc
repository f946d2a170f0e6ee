// AVX-512F variants; this file alone is compiled with -mavx512f.
#define FACET_AVX512_NS avx512
#include "kernels/x86/avx512_ops_impl.inc"
