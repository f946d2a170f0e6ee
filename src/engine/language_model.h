// The seam between the engine and a model. The engine (Engine, Session,
// generation) reaches a model only through these interfaces: load it,
// make per-conversation state, forward a batch of positions (token ids or
// soft-token embeddings from an encoder), roll the state back, and render
// prompts / parse answers in the model's chat format. The Gemma 4 text
// decoder implements them (models/gemma4/text_model.h); a drafter model
// or an encoder plugs in the same way.
#ifndef FACET_SRC_ENGINE_LANGUAGE_MODEL_H_
#define FACET_SRC_ENGINE_LANGUAGE_MODEL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "facet/facet.h"
#include "kernels/dtype.h"
#include "models/gemma4/chat.h"
#include "models/gemma4/prompt.h"

namespace facet {

namespace kernels {
class ThreadPool;
}  // namespace kernels

// Per-conversation state of a model (its KV cache and scratch buffers).
class ModelState {
 public:
  virtual ~ModelState() = default;
  // Positions [0, position()) have been forwarded.
  int64_t position() const { return position_; }
  // Most positions the state can hold.
  virtual int64_t context() const = 0;
  // Forgets positions [pos, position()), so that the next forward starts at
  // `pos`. kFailedPrecondition when a sliding-window ring has already
  // overwritten what position `pos` still needs (see MaxRollback).
  virtual Status Truncate(int64_t pos) = 0;
  // How far back Truncate can always go from the current position.
  virtual int64_t MaxRollback() const = 0;
  // The KV entries that continuing at position() needs, as bytes (for
  // the prefix cache and saved sessions).
  virtual void ExportKv(std::string* out) const = 0;
  // Makes this state hold the `n` positions `data` (ExportKv of a state of
  // the same model) describes. kDataLoss when it does not fit; the state
  // is then empty (position 0).
  virtual Status ImportKv(int64_t n, const std::string& data) = 0;
  // The KV cache's element types, as saved files record them ("f32",
  // "f16", "q8_0", or "k=f16,v=q8_0" when K and V differ).
  virtual std::string kv_type() const = 0;
  // Seconds per op category, when profiling was asked for.
  virtual std::map<std::string, double> ProfileSeconds() const = 0;

 protected:
  int64_t position_ = 0;
};

// One forward call: n consecutive positions starting at the state's
// position. Each is a token id, or (where `soft` is set) a soft token whose
// embedding row an encoder computed.
struct ForwardBatch {
  const int* tokens = nullptr;  // [n]
  int n = 0;
  const uint8_t* soft = nullptr;       // [n] or null: 1 = soft token
  const float* soft_embeds = nullptr;  // [n][hidden] rows used where soft
  // [n] or null: the same nonzero id on the soft tokens of one image or
  // video frame (models that attend within an image both ways need the
  // whole block in one call).
  const int32_t* block = nullptr;
};

// The model's chat format: messages to prompt segments, and the parser of
// its answers (types of the Gemma 4 format, the only one facet runs).
class ChatFormat {
 public:
  virtual ~ChatFormat() = default;
  virtual Status Validate(const gemma4::ChatOptions& options) const = 0;
  virtual gemma4::Prompt Render(
      const std::vector<gemma4::ChatMessage>& messages,
      const gemma4::ChatOptions& options, bool add_generation_prompt) const = 0;
  // Only what `appended` adds after `history` (kFailedPrecondition when
  // the history itself would render differently).
  virtual StatusOr<gemma4::Prompt> RenderIncrement(
      const std::vector<gemma4::ChatMessage>& history,
      const std::vector<gemma4::ChatMessage>& appended,
      const gemma4::ChatOptions& options, bool add_generation_prompt) const = 0;
  // What closes a model turn that ended on a token not fed back.
  virtual gemma4::Prompt CloseModelTurn() const = 0;
  // The pieces of tokens that end a model turn.
  virtual std::vector<std::string> EndOfTurnPieces() const = 0;
  // The piece of the token after which the model waits for a tool result.
  virtual std::string ToolResponsePiece() const = 0;
  // Default options for this model (e.g. the template variant).
  virtual gemma4::ChatOptions DefaultOptions() const = 0;
};

struct LoadOptions {
  std::string path;
  bool repack_weights = true;
  bool prefetch = true;
  kernels::ThreadPool* pool = nullptr;  // for packing
  std::function<void(float)> progress;  // 0..1
};

// One state's share of a forward pass that several states take together.
struct ForwardRequest {
  ForwardBatch batch;
  ModelState* state = nullptr;
  float* logits = nullptr;  // as Forward's
  bool all_logits = false;
};

class LanguageModel {
 public:
  virtual ~LanguageModel() = default;
  virtual const ModelInfo& info() const = 0;
  virtual SamplerOptions DefaultSampling() const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual int64_t max_context() const = 0;
  // K and V are kept as `k_type` / `v_type` (f32, f16 or q8_0).
  virtual StatusOr<std::unique_ptr<ModelState>> NewState(
      int64_t context, int max_chunk, bool profile,
      kernels::DType k_type = kernels::DType::kF32,
      kernels::DType v_type = kernels::DType::kF32) const = 0;
  // Forwards `batch` (batch.n <= the state's max_chunk) at the state's
  // position and advances it. `logits` gets [n][vocab] when `all_logits`,
  // else the last row's [vocab]; null for none.
  virtual Status Forward(const ForwardBatch& batch, ModelState* state,
                         kernels::ThreadPool* pool, float* logits,
                         bool all_logits) const = 0;
  // Forwards every request's batch at its state (states distinct) in one
  // pass, so the weights are read once for all of them (batched decode
  // across sessions). Each state advances and gets the logits, bit for
  // bit, that Forward of its batch alone would give. Calls from several
  // threads run one after another. The default forwards them one by one.
  virtual Status ForwardMany(const ForwardRequest* requests, int count,
                             kernels::ThreadPool* pool) const;
  virtual const ChatFormat& chat_format() const = 0;
  // Width of a soft-token embedding row (the text hidden size).
  virtual int64_t hidden_size() const = 0;
  // True when an image's soft tokens must reach Forward in one call
  // (they attend to each other both ways).
  virtual bool needs_whole_image_blocks() const = 0;
};

// Loads the model at `options.path` (a GGUF file or a Hugging Face folder)
// with the implementation its architecture names.
StatusOr<std::unique_ptr<LanguageModel>> LoadLanguageModel(
    const LoadOptions& options);

// A drafter for speculative decoding that reads the target's own state
// (the Gemma 4 MTP drafter attends to the target's KV cache and starts
// from its last hidden state). It keeps no state between calls.
class DraftModel {
 public:
  virtual ~DraftModel() = default;
  // Up to `k` tokens expected after `token`, the target's newest token
  // (not yet forwarded: it goes at target.position()), into *out.
  // `hidden_row`: which row of the target's last Forward call with logits
  // `token` was sampled from (0 when the call kept only the last row).
  // *out stays empty when the state lacks what the drafter needs.
  virtual Status Draft(const ModelState& target, int hidden_row, int token,
                       int k, kernels::ThreadPool* pool,
                       std::vector<int>* out) const = 0;
};

// Loads the drafter at `path` for `target`; kFailedPrecondition when it
// was not made for that model.
StatusOr<std::unique_ptr<DraftModel>> LoadDraftModel(
    const std::string& path, const LanguageModel& target);

}  // namespace facet

#endif  // FACET_SRC_ENGINE_LANGUAGE_MODEL_H_
