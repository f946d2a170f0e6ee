// Scalar reference conversion between float rows and the GGUF (ggml) block
// formats facet supports: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1,
// q4_K, q5_K and q6_K. Dequantization is bit-exact with ggml's
// dequantize_row_*. Quantization of the legacy 32-element formats is
// bit-exact with ggml's quantize_row_*_ref; the K-quant quantizers are a
// simplified version of ggml's (valid blocks, similar accuracy, not
// byte-identical).
#ifndef FACET_KERNELS_REF_QUANT_H_
#define FACET_KERNELS_REF_QUANT_H_

#include <cstdint>

#include "kernels/dtype.h"

namespace facet::kernels {

// Bytes taken by n elements of `type`; n must be a multiple of the type's
// block size.
int64_t RowBytes(DType type, int64_t n);

// Decodes n elements (a multiple of the block size) from src into dst.
// Aborts on a type that is not one of the 11 above.
void DequantizeRow(DType type, const void* src, float* dst, int64_t n);

// Encodes n floats (a multiple of the block size) into RowBytes(type, n)
// bytes at dst. Aborts on a type that is not one of the 11 above.
void QuantizeRow(DType type, const float* src, void* dst, int64_t n);

}  // namespace facet::kernels

#endif  // FACET_KERNELS_REF_QUANT_H_
