// Private state behind facet::Engine and facet::Session.
#ifndef FACET_SRC_ENGINE_ENGINE_IMPL_H_
#define FACET_SRC_ENGINE_ENGINE_IMPL_H_

#include <pthreadpool.h>

#include <memory>

#include "facet/facet.h"
#include "models/gemma4/kv_cache.h"
#include "models/gemma4/model.h"
#include "models/gemma4/text.h"

namespace facet {

struct Engine::Impl {
  std::unique_ptr<gemma4::Model> model;
  std::unique_ptr<gemma4::TextDecoder> decoder;
  ModelInfo info;
  int num_threads = 1;
  // Shared by all sessions; pthreadpool serialises concurrent jobs.
  pthreadpool_t pool = nullptr;
};

struct Session::Impl {
  const Engine::Impl* engine = nullptr;
  SessionOptions options;
  gemma4::KvCache cache;
  gemma4::Scratch scratch;
  int64_t position = 0;
};

}  // namespace facet

#endif  // FACET_SRC_ENGINE_ENGINE_IMPL_H_
