// Element types of weight tensors, numbered as in GGUF (ggml_type), so a
// GGUF type id maps to a DType without a table.
#ifndef FACET_KERNELS_DTYPE_H_
#define FACET_KERNELS_DTYPE_H_

#include <cstddef>
#include <cstdint>

namespace facet::kernels {

enum class DType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  // Integer index tensors (safetensors I32 / I64, e.g. the MTP drafter's
  // token_ordering): stored and read, never computed with.
  kI32 = 26,
  kI64 = 27,
  kBF16 = 30,
};

struct DTypeInfo {
  const char* name;     // "q4_0", as llama.cpp spells it
  int64_t block_elems;  // elements per block (1 for float types)
  int64_t block_bytes;  // bytes per block
  bool supported;       // facet can dequantize and compute with it
};

// Info for a GGUF type id, or nullptr when the id is unknown to facet.
const DTypeInfo* GetDTypeInfo(uint32_t ggml_type);
inline const DTypeInfo* GetDTypeInfo(DType t) {
  return GetDTypeInfo(static_cast<uint32_t>(t));
}
// "q4_0", or "type#N" for unknown ids (static storage for known ones).
const char* DTypeName(uint32_t ggml_type);
inline const char* DTypeName(DType t) {
  return DTypeName(static_cast<uint32_t>(t));
}
// Parses "q8_0", "f32", "bf16", ... ; returns false when unknown.
bool ParseDType(const char* name, DType* out);

}  // namespace facet::kernels

#endif  // FACET_KERNELS_DTYPE_H_
