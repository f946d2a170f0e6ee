// libFuzzer target: the Hugging Face config.json reader, then what a loader
// and `facet info` derive from an accepted config (expected tensors, KV
// cache size for the default session).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "models/gemma4/config.h"
#include "models/gemma4/kv_cache.h"
#include "models/gemma4/weights.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto config = facet::gemma4::ConfigFromHfJson(text);
  if (!config.ok()) return 0;
  (void)facet::gemma4::ExpectedTensors(*config);
  // SessionOptions defaults: context min(model max, 4096), chunk 256.
  const int64_t context =
      std::min<int64_t>(config->max_position_embeddings, 4096);
  (void)facet::gemma4::KvCache::BytesFor(*config, context, 256);
  return 0;
}
