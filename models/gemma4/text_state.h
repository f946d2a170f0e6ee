// The per-session state of the Gemma 4 text decoder behind the engine's
// ModelState seam: its KV cache and scratch buffers. Declared here (not in
// text_model.cc) so that models reading the target's state, such as the
// MTP drafter, can reach it.
#ifndef FACET_MODELS_GEMMA4_TEXT_STATE_H_
#define FACET_MODELS_GEMMA4_TEXT_STATE_H_

#include <map>
#include <string>

#include "models/gemma4/kv_cache.h"
#include "models/gemma4/text.h"
#include "src/engine/language_model.h"
#include "src/util/status_macros.h"

namespace facet::gemma4 {

// After a forward call that produced logits, scratch.logits_h holds the
// final-normed hidden rows they came from ([m][H]: every row with
// all_logits, else the last one), for models that read them (the MTP
// drafter).
class TextState : public ModelState {
 public:
  Status Init(const Gemma4Config& c, int64_t context, int max_chunk,
              bool profile, kernels::DType k_type, kernels::DType v_type) {
    scratch.profile.enabled = profile;
    return cache.Init(c, context, max_chunk, k_type, v_type);
  }
  int64_t context() const override { return cache.context(); }
  int64_t MaxRollback() const override { return cache.MaxRollback(); }
  Status Truncate(int64_t pos) override {
    if (pos < 0 || pos > position_) {
      return InvalidArgument("cannot truncate to position " +
                             std::to_string(pos) + " of " +
                             std::to_string(position_));
    }
    // Position 0 needs nothing of the cache.
    if (pos > 0 && pos < floor_) {
      return FailedPrecondition(
          "position " + std::to_string(pos) +
          " is before what the restored sliding-window cache holds");
    }
    if (pos > 0 && position_ - pos > cache.MaxRollback()) {
      return FailedPrecondition(
          "rolling back " + std::to_string(position_ - pos) +
          " positions goes past what the sliding-window cache keeps (" +
          std::to_string(cache.MaxRollback()) + ")");
    }
    position_ = pos;
    if (pos == 0) floor_ = 0;
    return OkStatus();
  }
  std::map<std::string, double> ProfileSeconds() const override {
    return scratch.profile.seconds;
  }
  void ExportKv(std::string* out) const override {
    cache.Export(position_, out);
  }
  Status ImportKv(int64_t n, const std::string& data) override {
    position_ = 0;
    floor_ = 0;
    int64_t floor = 0;
    FACET_RETURN_IF_ERROR(cache.Import(n, data, &floor));
    position_ = n;
    floor_ = floor;
    return OkStatus();
  }
  std::string kv_type() const override {
    return KvCache::TypeName(cache.k_type(), cache.v_type());
  }
  void Advance(int n) { position_ += n; }

  KvCache cache;
  Scratch scratch;
  int64_t floor_ = 0;  // lowest rollback target after an import
};

}  // namespace facet::gemma4

#endif  // FACET_MODELS_GEMMA4_TEXT_STATE_H_
