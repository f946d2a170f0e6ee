// Private state behind facet::Engine and facet::Session.
#ifndef FACET_SRC_ENGINE_ENGINE_IMPL_H_
#define FACET_SRC_ENGINE_ENGINE_IMPL_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "facet/facet.h"
#include "models/gemma4/chat.h"
#include "models/gemma4/kv_cache.h"
#include "models/gemma4/model.h"
#include "models/gemma4/text.h"
#include "src/tokenizer/tokenizer.h"

namespace facet {

struct Engine::Impl {
  std::unique_ptr<gemma4::Model> model;
  std::unique_ptr<gemma4::TextDecoder> decoder;
  std::unique_ptr<Tokenizer> tokenizer;  // null when the file has none
  ModelInfo info;
  SamplerOptions default_sampling;
  bool empty_thought_prefill = false;  // 26B/31B/12B chat template
  int num_threads = 1;
  // Shared by all sessions; the pool runs one job at a time. Null with
  // one thread.
  std::unique_ptr<kernels::ThreadPool> pool_owner;
  kernels::ThreadPool* pool = nullptr;
};

struct Session::Impl {
  const Engine::Impl* engine = nullptr;
  SessionOptions options;
  gemma4::KvCache cache;
  gemma4::Scratch scratch;
  int64_t position = 0;
  // Chat state: the token stream held by the KV cache, the messages it
  // renders, turns queued for the next Generate, and text to feed first
  // (the close of the last model turn).
  std::vector<int> tokens;
  std::vector<gemma4::ChatMessage> history;
  std::vector<gemma4::ChatMessage> pending;
  std::string pending_close;
  gemma4::ChatOptions chat;
  std::atomic<bool> cancel{false};
  Stats stats;
};

}  // namespace facet

#endif  // FACET_SRC_ENGINE_ENGINE_IMPL_H_
