#include "kernels/dtype.h"

#include <cstdio>
#include <cstring>

namespace facet::kernels {
namespace {

struct Entry {
  uint32_t id;
  DTypeInfo info;
};

// Block sizes are the GGUF definitions (ggml-common.h), QK_K = 256.
constexpr Entry kTypes[] = {
    {0, {"f32", 1, 4, true}},          {1, {"f16", 1, 2, true}},
    {2, {"q4_0", 32, 18, true}},       {3, {"q4_1", 32, 20, true}},
    {6, {"q5_0", 32, 22, true}},       {7, {"q5_1", 32, 24, true}},
    {8, {"q8_0", 32, 34, true}},       {9, {"q8_1", 32, 36, false}},
    {10, {"q2_k", 256, 84, false}},    {11, {"q3_k", 256, 110, false}},
    {12, {"q4_k", 256, 144, true}},    {13, {"q5_k", 256, 176, true}},
    {14, {"q6_k", 256, 210, true}},    {15, {"q8_k", 256, 292, false}},
    {16, {"iq2_xxs", 256, 66, false}}, {17, {"iq2_xs", 256, 74, false}},
    {18, {"iq3_xxs", 256, 98, false}}, {19, {"iq1_s", 256, 50, false}},
    {20, {"iq4_nl", 32, 18, false}},   {21, {"iq3_s", 256, 110, false}},
    {22, {"iq2_s", 256, 82, false}},   {23, {"iq4_xs", 256, 136, false}},
    {24, {"i8", 1, 1, false}},         {25, {"i16", 1, 2, false}},
    {26, {"i32", 1, 4, false}},        {27, {"i64", 1, 8, false}},
    {28, {"f64", 1, 8, false}},        {29, {"iq1_m", 256, 56, false}},
    {30, {"bf16", 1, 2, true}},        {34, {"tq1_0", 256, 54, false}},
    {35, {"tq2_0", 256, 66, false}},   {39, {"mxfp4", 32, 17, false}},
};

}  // namespace

const DTypeInfo* GetDTypeInfo(uint32_t ggml_type) {
  for (const Entry& e : kTypes) {
    if (e.id == ggml_type) return &e.info;
  }
  return nullptr;
}

const char* DTypeName(uint32_t ggml_type) {
  const DTypeInfo* info = GetDTypeInfo(ggml_type);
  if (info != nullptr) return info->name;
  thread_local char buf[32];
  std::snprintf(buf, sizeof(buf), "type#%u", ggml_type);
  return buf;
}

bool ParseDType(const char* name, DType* out) {
  for (const Entry& e : kTypes) {
    if (std::strcmp(e.info.name, name) == 0 && e.info.supported) {
      *out = static_cast<DType>(e.id);
      return true;
    }
  }
  return false;
}

}  // namespace facet::kernels
