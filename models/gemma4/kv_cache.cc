#include "models/gemma4/kv_cache.h"

#include <algorithm>
#include <new>

#include "src/util/status_macros.h"

namespace facet::gemma4 {

int64_t KvCache::SlotsFor(const Gemma4Config& c, const LayerConfig& lc,
                          int64_t context, int max_chunk) {
  if (lc.kind == AttentionKind::kFull) return context;
  // A chunk of n tokens still needs the W-1 keys before its first token.
  return std::min<int64_t>(
      context, static_cast<int64_t>(c.sliding_window) + max_chunk - 1);
}

uint64_t KvCache::BytesFor(const Gemma4Config& c, int64_t context,
                           int max_chunk) {
  uint64_t total = 0;
  for (int l = 0; l < c.num_layers; ++l) {
    const LayerConfig& lc = c.layers[l];
    if (!lc.owns_kv(l)) continue;
    total += 2ull * SlotsFor(c, lc, context, max_chunk) * lc.n_kv_heads *
             lc.head_dim * sizeof(float);
  }
  return total;
}

Status KvCache::Init(const Gemma4Config& c, int64_t context, int max_chunk) {
  if (context <= 0 || max_chunk <= 0) {
    return InvalidArgument("context and chunk size must be positive");
  }
  context_ = context;
  max_chunk_ = max_chunk;
  max_rollback_ = context;
  store_of_.assign(c.num_layers, -1);
  stores_.clear();
  for (int l = 0; l < c.num_layers; ++l) {
    const LayerConfig& lc = c.layers[l];
    if (!lc.owns_kv(l)) {
      store_of_[l] = store_of_[lc.kv_source];
      continue;
    }
    Store s;
    s.slots = SlotsFor(c, lc, context, max_chunk);
    if (s.slots < context) {
      max_rollback_ =
          std::min<int64_t>(max_rollback_, s.slots - c.sliding_window + 1);
    }
    s.row = static_cast<int64_t>(lc.n_kv_heads) * lc.head_dim;
    // Refuse sizes that overflow or that no machine could hold, before
    // asking the allocator.
    int64_t elems = 0;
    if (__builtin_mul_overflow(s.slots, s.row, &elems) ||
        elems > (int64_t{1} << 40) / static_cast<int64_t>(sizeof(float))) {
      return Status(StatusCode::kResourceExhausted,
                    "the KV cache for " + std::to_string(context) +
                        " positions is too large");
    }
    try {
      s.k.resize(s.slots * s.row);
      s.v.resize(s.slots * s.row);
    } catch (const std::exception&) {
      return Status(StatusCode::kResourceExhausted,
                    "cannot allocate the KV cache for " +
                        std::to_string(context) + " positions");
    }
    store_of_[l] = static_cast<int>(stores_.size());
    stores_.push_back(std::move(s));
  }
  return OkStatus();
}

uint64_t KvCache::bytes() const {
  uint64_t b = 0;
  for (const Store& s : stores_) b += (s.k.size() + s.v.size()) * sizeof(float);
  return b;
}

}  // namespace facet::gemma4
