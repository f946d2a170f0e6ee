#include "models/gemma4/kv_cache.h"

#include <algorithm>
#include <cstring>
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
  window_ = c.sliding_window;
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

namespace {

template <typename T>
void Put(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(v));
}

}  // namespace

void KvCache::Export(int64_t n, std::string* out) const {
  for (const Store& s : stores_) {
    const int64_t first = std::max<int64_t>(0, n - s.slots);
    Put<int64_t>(out, first);
    for (const std::vector<float>* src : {&s.k, &s.v}) {
      for (int64_t pos = first; pos < n; ++pos) {
        const float* row = src->data() + (pos % s.slots) * s.row;
        out->append(reinterpret_cast<const char*>(row), s.row * sizeof(float));
      }
    }
  }
}

Status KvCache::Import(int64_t n, const std::string& data, int64_t* floor) {
  if (n < 0 || n > context_) {
    return InvalidArgument("cannot restore " + std::to_string(n) +
                           " positions into a context of " +
                           std::to_string(context_));
  }
  size_t at = 0;
  *floor = 0;
  for (Store& s : stores_) {
    int64_t first = 0;
    if (data.size() - at < sizeof(first)) return DataLoss("KV data truncated");
    std::memcpy(&first, data.data() + at, sizeof(first));
    at += sizeof(first);
    if (first < 0 || first > n) return DataLoss("KV data is corrupt");
    const uint64_t rows = static_cast<uint64_t>(n - first);
    const uint64_t bytes = rows * s.row * sizeof(float);
    if ((data.size() - at) / 2 < bytes) return DataLoss("KV data truncated");
    // This cache keeps at most s.slots of them.
    const int64_t keep_from = std::max<int64_t>(first, n - s.slots);
    if (keep_from > 0) {
      // Positions before keep_from are gone (only sliding rings drop
      // any): the token after a rollback to p needs keys from p - W + 1.
      *floor = std::max<int64_t>(*floor, keep_from + window_ - 1);
    }
    for (std::vector<float>* dst : {&s.k, &s.v}) {
      for (int64_t pos = first; pos < n; ++pos) {
        if (pos >= keep_from) {
          std::memcpy(dst->data() + (pos % s.slots) * s.row, data.data() + at,
                      s.row * sizeof(float));
        }
        at += s.row * sizeof(float);
      }
    }
  }
  if (at != data.size()) return DataLoss("KV data has trailing bytes");
  return OkStatus();
}

uint64_t KvCache::bytes() const {
  uint64_t b = 0;
  for (const Store& s : stores_) b += (s.k.size() + s.v.size()) * sizeof(float);
  return b;
}

}  // namespace facet::gemma4
