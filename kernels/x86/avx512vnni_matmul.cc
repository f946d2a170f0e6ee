// AVX-512 VNNI matrix kernels (vpdpbusd); this file alone is compiled with
// the AVX-512 flags plus -mavx512vnni.
#define FACET_VNNI 1
#define FACET_AVX512_NS avx512vnni
#include "kernels/x86/avx512_matmul_impl.inc"
