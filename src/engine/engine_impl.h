// Private state behind facet::Engine and facet::Session. The engine holds
// a model only through the seam of src/engine/language_model.h.
#ifndef FACET_SRC_ENGINE_ENGINE_IMPL_H_
#define FACET_SRC_ENGINE_ENGINE_IMPL_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "facet/facet.h"
#include "kernels/parallel.h"
#include "src/engine/language_model.h"
#include "src/tokenizer/tokenizer.h"

namespace facet {

struct Engine::Impl {
  std::unique_ptr<LanguageModel> model;
  std::unique_ptr<Tokenizer> tokenizer;  // null when the file has none
  int num_threads = 1;
  // Shared by all sessions; the pool runs one job at a time. Null with
  // one thread.
  std::unique_ptr<kernels::ThreadPool> pool_owner;
  kernels::ThreadPool* pool = nullptr;
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
  std::atomic<bool> cancel{false};
  Stats stats;
};

}  // namespace facet

#endif  // FACET_SRC_ENGINE_ENGINE_IMPL_H_
