// libFuzzer target: SafetensorsFile::Open on the input bytes (as a
// memory file, tests/fuzz/memory_file.h).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/dtype.h"
#include "kernels/ref/quant.h"
#include "src/io/safetensors.h"
#include "src/io/tensor_view.h"
#include "tests/fuzz/memory_file.h"

namespace {

constexpr int64_t kMaxRowElems = int64_t{1} << 16;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  facet::fuzz::MemoryFile file("facet_safetensors_fuzz", data, size);
  if (file.ok()) {
    auto st = facet::SafetensorsFile::Open(file.path());
    if (st.ok()) {
      std::vector<float> row;
      for (const facet::TensorView& t : (*st)->tensors()) {
        (void)(*st)->Find(t.name);
        if (t.nbytes == 0) continue;
        // Both ends of every tensor must lie inside the mapping.
        volatile uint8_t edge = t.data[0] ^ t.data[t.nbytes - 1];
        (void)edge;
        // Index tensors (I32 / I64) load but have no row functions; the
        // model loaders refuse them as weights (bad_input_hf_test.cc).
        const facet::kernels::DTypeInfo* info =
            facet::kernels::GetDTypeInfo(t.dtype);
        if (info == nullptr || !info->supported) continue;
        const int64_t n = t.dim(0);
        if (n <= 0 || n > kMaxRowElems) continue;
        if (static_cast<uint64_t>(facet::kernels::RowBytes(t.dtype, n)) >
            t.nbytes) {
          continue;
        }
        row.resize(static_cast<size_t>(n));
        facet::kernels::DequantizeRow(t.dtype, t.data, row.data(), n);
      }
      for (const auto& kv : (*st)->metadata()) (void)kv.second.size();
    }
  }
  return 0;
}
