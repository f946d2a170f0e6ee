// Private state behind facet::Engine and facet::Session. The engine holds
// a model only through the seam of src/engine/language_model.h.
#ifndef FACET_SRC_ENGINE_ENGINE_IMPL_H_
#define FACET_SRC_ENGINE_ENGINE_IMPL_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "facet/facet.h"
#include "kernels/parallel.h"
#include "src/engine/decode_batcher.h"
#include "src/engine/language_model.h"
#include "src/engine/media_encoder.h"
#include "src/engine/prefix_cache.h"
#include "src/engine/prompt_ids.h"
#include "src/sampling/grammar_constraint.h"
#include "src/sampling/token_mask.h"
#include "src/tokenizer/tokenizer.h"

namespace facet {

struct Engine::Impl {
  std::unique_ptr<LanguageModel> model;
  // SpeculativeMode::kDraft's drafter (null: none). It reads `model`:
  // declared after it, it is destroyed before it.
  std::unique_ptr<DraftModel> drafter;
  std::unique_ptr<Tokenizer> tokenizer;       // null when the file has none
  std::unique_ptr<MediaEncoder> encoder;      // null: text only
  std::unique_ptr<PrefixCache> prefix_cache;  // null: off
  std::string fingerprint;                    // ModelFingerprint of the model
  int num_threads = 1;
  // Shared by all sessions; the pool runs one job at a time. Null with
  // one thread.
  std::unique_ptr<kernels::ThreadPool> pool_owner;
  kernels::ThreadPool* pool = nullptr;
  // Decode steps of concurrent sessions, run together (null: off).
  std::unique_ptr<DecodeBatcher> batcher;
  // The vocabulary as constrained decoding sees it (token trie, string
  // classes), built by the first constrained Generate: ConstraintVocab().
  mutable std::once_flag constraint_vocab_once;
  mutable std::unique_ptr<TokenVocab> constraint_vocab;
};

struct Session::Impl {
  // Shared: a session keeps the model alive after its Engine is destroyed.
  std::shared_ptr<const Engine::Impl> engine;
  SessionOptions options;
  std::unique_ptr<ModelState> state;  // KV cache; its position()
  // Chat state: the token stream held by the KV cache, the messages it
  // renders, turns queued for the next Generate, and whether the last
  // model turn still needs closing (it ended on a token that was not fed
  // back).
  std::vector<int> tokens;
  std::vector<gemma4::ChatMessage> history;
  std::vector<gemma4::ChatMessage> pending;
  bool close_model_turn = false;
  gemma4::ChatOptions chat;
  // Encoded media of the queued turns by ChatPart::media; dropped once
  // prefilled.
  std::map<int, EncodedMedia> media;
  int next_media = 0;
  std::atomic<bool> cancel{false};
  // In Generate's token loop: its steps go through the engine's batcher.
  bool batching = false;
  Stats stats;
  // The declared tools compiled for constrained tool calls (null: no
  // tools, or SessionOptions::constrain_tool_calls is off).
  std::shared_ptr<const Grammar> tool_grammar;
};

// Most soft tokens of one image (the largest budget): a model that needs
// whole image blocks in one forward call gets chunks at least this long.
inline constexpr int kMaxImageSoftTokens = 1120;

// Forwards `ids` at the session's position in chunks of prefill_chunk,
// filling the soft-token `spans` with the rows of s->media (an image span
// is never split across chunks on models that attend within images both
// ways). `logits` gets [n][vocab] or the last row's [vocab].
// A turn's prompt: PrefillPositions with the prefix cache and the prompt
// cache file. When the session is empty, the longest cached prefix of
// `ids` is imported instead of computed; `boundary` (0 = none) is where
// the system turn ends: that prefix is added to the cache. Returns the
// number of positions taken from a cache.
StatusOr<int64_t> PrefillPrompt(
    Session::Impl* s, const std::vector<int>& ids,
    const std::vector<SoftSpan>& spans, size_t boundary,
    std::vector<float>* logits,
    const std::function<void(int64_t, int64_t)>& progress);

Status PrefillPositions(Session::Impl* s, const std::vector<int>& ids,
                        const std::vector<SoftSpan>& spans,
                        std::vector<float>* logits, bool all_logits,
                        const std::function<void(int64_t, int64_t)>& progress);

}  // namespace facet

#endif  // FACET_SRC_ENGINE_ENGINE_IMPL_H_
