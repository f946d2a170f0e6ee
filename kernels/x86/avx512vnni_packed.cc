// AVX-512 VNNI kernels over the packed layouts (vpdpbusd); this file alone
// is compiled with the AVX-512 flags plus -mavx512vnni.
#define FACET_VNNI 1
#define FACET_AVX512_NS avx512vnni
#include "kernels/x86/avx512_packed_impl.inc"
