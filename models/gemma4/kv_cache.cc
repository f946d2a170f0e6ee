#include "models/gemma4/kv_cache.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "kernels/ref/quant.h"
#include "src/util/status_macros.h"

namespace facet::gemma4 {
namespace {

using kernels::DType;

bool KvTypeOk(DType t) {
  return t == DType::kF32 || t == DType::kF16 || t == DType::kQ8_0;
}

}  // namespace

std::string KvCache::TypeName(DType k_type, DType v_type) {
  if (k_type == v_type) return kernels::DTypeName(k_type);
  return std::string("k=") + kernels::DTypeName(k_type) +
         ",v=" + kernels::DTypeName(v_type);
}

int64_t KvCache::SlotsFor(const Gemma4Config& c, const LayerConfig& lc,
                          int64_t context, int max_chunk) {
  if (lc.kind == AttentionKind::kFull) return context;
  // A chunk of n tokens still needs the W-1 keys before its first token.
  return std::min<int64_t>(
      context, static_cast<int64_t>(c.sliding_window) + max_chunk - 1);
}

uint64_t KvCache::BytesFor(const Gemma4Config& c, int64_t context,
                           int max_chunk, DType k_type, DType v_type) {
  uint64_t total = 0;
  for (int l = 0; l < c.num_layers; ++l) {
    const LayerConfig& lc = c.layers[l];
    if (!lc.owns_kv(l)) continue;
    const int64_t row = static_cast<int64_t>(lc.n_kv_heads) * lc.head_dim;
    total += static_cast<uint64_t>(SlotsFor(c, lc, context, max_chunk)) *
             (kernels::RowBytes(k_type, row) + kernels::RowBytes(v_type, row));
  }
  return total;
}

Status KvCache::Init(const Gemma4Config& c, int64_t context, int max_chunk,
                     DType k_type, DType v_type) {
  if (context <= 0 || max_chunk <= 0) {
    return InvalidArgument("context and chunk size must be positive");
  }
  for (DType t : {k_type, v_type}) {
    if (!KvTypeOk(t)) {
      return InvalidArgument(std::string("KV cache type ") +
                             kernels::DTypeName(t) +
                             " is not supported (f32, f16 or q8_0)");
    }
    if (t == DType::kQ8_0) {
      for (const LayerConfig& lc : c.layers) {
        if (lc.head_dim % 32 != 0) {
          return InvalidArgument(
              "a q8_0 KV cache needs head dims that are multiples of 32; "
              "this model has " +
              std::to_string(lc.head_dim));
        }
      }
    }
  }
  k_type_ = k_type;
  v_type_ = v_type;
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
    const int64_t row = static_cast<int64_t>(lc.n_kv_heads) * lc.head_dim;
    s.k_bytes = kernels::RowBytes(k_type, row);
    s.v_bytes = kernels::RowBytes(v_type, row);
    // Refuse sizes that overflow or that no machine could hold, before
    // asking the allocator.
    int64_t bytes = 0;
    if (__builtin_mul_overflow(s.slots, s.k_bytes + s.v_bytes, &bytes) ||
        bytes > (int64_t{1} << 41)) {
      return Status(StatusCode::kResourceExhausted,
                    "the KV cache for " + std::to_string(context) +
                        " positions is too large");
    }
    try {
      // Whole floats: q8_0 rows are 34 bytes per 32 elements.
      s.k.resize((s.slots * s.k_bytes + 3) / 4);
      s.v.resize((s.slots * s.v_bytes + 3) / 4);
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
    for (bool key : {true, false}) {
      const char* base =
          reinterpret_cast<const char*>(key ? s.k.data() : s.v.data());
      const int64_t row = key ? s.k_bytes : s.v_bytes;
      for (int64_t pos = first; pos < n; ++pos) {
        out->append(base + (pos % s.slots) * row, row);
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
    const uint64_t bytes = rows * (s.k_bytes + s.v_bytes);
    if (data.size() - at < bytes) return DataLoss("KV data truncated");
    // This cache keeps at most s.slots of them.
    const int64_t keep_from = std::max<int64_t>(first, n - s.slots);
    if (keep_from > 0) {
      // Positions before keep_from are gone (only sliding rings drop
      // any): the token after a rollback to p needs keys from p - W + 1.
      *floor = std::max<int64_t>(*floor, keep_from + window_ - 1);
    }
    for (bool key : {true, false}) {
      char* base = reinterpret_cast<char*>(key ? s.k.data() : s.v.data());
      const int64_t row = key ? s.k_bytes : s.v_bytes;
      for (int64_t pos = first; pos < n; ++pos) {
        if (pos >= keep_from) {
          std::memcpy(base + (pos % s.slots) * row, data.data() + at, row);
        }
        at += row;
      }
    }
  }
  if (at != data.size()) return DataLoss("KV data has trailing bytes");
  return OkStatus();
}

uint64_t KvCache::bytes() const {
  uint64_t b = 0;
  for (const Store& s : stores_) b += s.slots * (s.k_bytes + s.v_bytes);
  return b;
}

}  // namespace facet::gemma4
