// libFuzzer target: GGUF parsing, then (for a file that parses) the Gemma 4
// config reader, weight binding and dequantization of each tensor's first
// row. Build with -DFACET_FUZZ=ON and clang; see tests/fuzz/CMakeLists.txt.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/dtype.h"
#include "kernels/ref/quant.h"
#include "models/gemma4/config.h"
#include "models/gemma4/weights.h"
#include "src/io/gguf.h"
#include "src/io/tensor_view.h"

namespace {

// Rows longer than this are skipped (inputs are small; this bounds time).
constexpr int64_t kMaxRowElems = int64_t{1} << 16;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = facet::GgufFile::Parse(data, size);
  if (!parsed.ok()) return 0;
  const facet::GgufFile& file = **parsed;

  // Every accessor a loader or `facet info` uses on the metadata.
  for (const auto& kv : file.metadata()) {
    (void)kv.second.DebugString();
    (void)file.GetInt(kv.first);
    (void)file.GetFloat(kv.first);
    (void)file.GetString(kv.first);
    (void)file.GetIntPerLayer(kv.first, 4);
  }

  auto config = facet::gemma4::ConfigFromGguf(file);
  if (config.ok()) {
    auto weights = facet::gemma4::BindWeights(
        *config,
        [&file](const std::string& name) { return file.FindTensor(name); });
    (void)weights;
  }

  std::vector<float> row;
  for (const facet::TensorView& t : file.tensors()) {
    const facet::kernels::DTypeInfo* info =
        facet::kernels::GetDTypeInfo(t.dtype);
    if (info == nullptr || !info->supported) continue;
    const int64_t n = t.dim(0);
    if (n <= 0 || n > kMaxRowElems || n % info->block_elems != 0) continue;
    if (static_cast<uint64_t>(facet::kernels::RowBytes(t.dtype, n)) >
        t.nbytes) {
      continue;
    }
    row.resize(static_cast<size_t>(n));
    facet::kernels::DequantizeRow(t.dtype, t.data, row.data(), n);
  }
  return 0;
}
