// The AVX-512 attention tile; this file is compiled with the AVX-512 flags.
#define FACET_AVX512_NS avx512
#include "kernels/x86/avx512_attention_impl.inc"
