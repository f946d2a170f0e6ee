// KV cache for the Gemma 4 text decoder. Only KV-owning layers get storage
// (KV-shared layers read their source layer's); sliding layers keep a ring
// of window + chunk - 1 slots, full layers one slot per context position.
// Its size depends on the context length only, never on max-tokens.
#ifndef FACET_MODELS_GEMMA4_KV_CACHE_H_
#define FACET_MODELS_GEMMA4_KV_CACHE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "facet/status.h"
#include "models/gemma4/config.h"

namespace facet::gemma4 {

class KvCache {
 public:
  // `context`: most positions a session may hold; `max_chunk`: most tokens
  // one forward call appends.
  Status Init(const Gemma4Config& c, int64_t context, int max_chunk);

  int64_t context() const { return context_; }
  int max_chunk() const { return max_chunk_; }
  // K and V rows of one position: [n_kv][head_dim] f32 each.
  float* K(int layer, int64_t pos) { return Row(layer, pos, true); }
  float* V(int layer, int64_t pos) { return Row(layer, pos, false); }
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
  // positions [first, n), each [n_kv][head_dim] f32.
  void Export(int64_t n, std::string* out) const;
  // Reads what Export(n) wrote (for the same model, any context >= n and
  // chunk size). Sets *floor to the lowest position a later rollback may
  // reach (what the imported rings cover). kDataLoss on a size mismatch.
  Status Import(int64_t n, const std::string& data, int64_t* floor);

  // Bytes a cache for `context` positions would take (what `facet info`
  // reports), without allocating.
  static uint64_t BytesFor(const Gemma4Config& c, int64_t context,
                           int max_chunk);

 private:
  struct Store {
    std::vector<float> k, v;  // [slots][n_kv * head_dim]
    int64_t slots = 0;
    int64_t row = 0;  // n_kv * head_dim
  };
  float* Row(int layer, int64_t pos, bool key) {
    Store& s = stores_[store_of_[layer]];
    int64_t slot = pos % s.slots;
    return (key ? s.k.data() : s.v.data()) + slot * s.row;
  }
  static int64_t SlotsFor(const Gemma4Config& c, const LayerConfig& lc,
                          int64_t context, int max_chunk);

  int64_t context_ = 0;
  int max_chunk_ = 0;
  int64_t window_ = 0;
  int64_t max_rollback_ = 0;
  std::vector<int> store_of_;  // per layer: index into stores_
  std::vector<Store> stores_;
};

}  // namespace facet::gemma4

#endif  // FACET_MODELS_GEMMA4_KV_CACHE_H_
