// KV cache for the Gemma 4 text decoder. Only KV-owning layers get storage
// (KV-shared layers read their source layer's); sliding layers keep a ring
// of window + chunk - 1 slots, full layers one slot per context position.
// Its size depends on the context length only, never on max-tokens.
// K and V rows are kept in f32 (the default), f16 or q8_0 (ggml's blocks
// of 32, one scale per block: head_dim a multiple of 32), chosen apart for
// K and V as llama.cpp's --cache-type-k / --cache-type-v.
#ifndef FACET_MODELS_GEMMA4_KV_CACHE_H_
#define FACET_MODELS_GEMMA4_KV_CACHE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "facet/status.h"
#include "kernels/dtype.h"
#include "models/gemma4/config.h"

namespace facet::gemma4 {

class KvCache {
 public:
  // `context`: most positions a session may hold; `max_chunk`: most tokens
  // one forward call appends; `k_type`, `v_type`: kF32, kF16 or kQ8_0
  // (kInvalidArgument for others, and for q8_0 when a head_dim is not a
  // multiple of 32).
  Status Init(const Gemma4Config& c, int64_t context, int max_chunk,
              kernels::DType k_type = kernels::DType::kF32,
              kernels::DType v_type = kernels::DType::kF32);

  int64_t context() const { return context_; }
  int max_chunk() const { return max_chunk_; }
  kernels::DType k_type() const { return k_type_; }
  kernels::DType v_type() const { return v_type_; }
  // K and V rows of one position: [n_kv][head_dim] elements each, in
  // k_type() / v_type() (head h starts RowBytes(type, h * head_dim) in).
  uint8_t* KRow(int layer, int64_t pos) { return Row(layer, pos, true); }
  uint8_t* VRow(int layer, int64_t pos) { return Row(layer, pos, false); }
  // The same rows as floats, for f32 caches only.
  float* K(int layer, int64_t pos) {
    return reinterpret_cast<float*>(KRow(layer, pos));
  }
  float* V(int layer, int64_t pos) {
    return reinterpret_cast<float*>(VRow(layer, pos));
  }
  // Read-only rows, for models that read the target's cache (the MTP
  // drafter); Row only computes an address.
  const uint8_t* KRow(int layer, int64_t pos) const {
    return const_cast<KvCache*>(this)->Row(layer, pos, true);
  }
  const uint8_t* VRow(int layer, int64_t pos) const {
    return const_cast<KvCache*>(this)->Row(layer, pos, false);
  }
  uint64_t bytes() const;
  // How many positions back a rollback is always safe: a ring of S slots
  // for a window of W keeps the W - 1 keys that the next chunk needs as
  // long as it goes back at most S - W + 1 positions; full layers (and
  // rings as long as the context) keep everything.
  int64_t MaxRollback() const { return max_rollback_; }

  // The K/V rows a continuation at position n needs, appended to `out`:
  // per KV-owning layer, every held position of [0, n) (all of them on
  // full layers, the ring's last slots on sliding layers).
  // Format: per store, int64 first position, then K rows and V rows of
  // positions [first, n), each [n_kv][head_dim] in k_type() / v_type()
  // (the caller records the types: rows of f32 caches are as they were
  // before other types existed).
  void Export(int64_t n, std::string* out) const;
  // Reads what Export(n) wrote (for the same model and K/V types, any
  // context >= n and chunk size). Sets *floor to the lowest position a later
  // rollback may reach (what the imported rings cover). kDataLoss on a size
  // mismatch.
  Status Import(int64_t n, const std::string& data, int64_t* floor);

  // Bytes a cache for `context` positions would take (what `facet info`
  // reports), without allocating.
  static uint64_t BytesFor(const Gemma4Config& c, int64_t context,
                           int max_chunk,
                           kernels::DType k_type = kernels::DType::kF32,
                           kernels::DType v_type = kernels::DType::kF32);

  // "f32", "f16", "q8_0" when K and V share a type, else "k=f16,v=q8_0":
  // what saved KV files record (and must match to be read back).
  static std::string TypeName(kernels::DType k_type, kernels::DType v_type);

 private:
  struct Store {
    // [slots][k_bytes] and [slots][v_bytes]; floats for f32 (aligned).
    std::vector<float> k, v;
    int64_t slots = 0;
    int64_t k_bytes = 0;  // one position's K row: n_kv * head_dim elements
    int64_t v_bytes = 0;
  };
  uint8_t* Row(int layer, int64_t pos, bool key) {
    Store& s = stores_[store_of_[layer]];
    int64_t slot = pos % s.slots;
    return reinterpret_cast<uint8_t*>(key ? s.k.data() : s.v.data()) +
           slot * (key ? s.k_bytes : s.v_bytes);
  }
  static int64_t SlotsFor(const Gemma4Config& c, const LayerConfig& lc,
                          int64_t context, int max_chunk);

  int64_t context_ = 0;
  int max_chunk_ = 0;
  int64_t window_ = 0;
  int64_t max_rollback_ = 0;
  kernels::DType k_type_ = kernels::DType::kF32;
  kernels::DType v_type_ = kernels::DType::kF32;
  std::vector<int> store_of_;  // per layer: index into stores_
  std::vector<Store> stores_;
};

}  // namespace facet::gemma4

#endif  // FACET_MODELS_GEMMA4_KV_CACHE_H_
