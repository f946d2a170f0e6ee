#include <pthreadpool.h>

#include <algorithm>
#include <thread>

#include "facet/facet.h"
#include "models/gemma4/text.h"
#include "src/engine/engine_impl.h"
#include "src/engine/model_info.h"
#include "src/util/status_macros.h"

namespace facet {

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Engine::~Engine() {
  if (impl_ && impl_->pool != nullptr) pthreadpool_destroy(impl_->pool);
}

StatusOr<std::shared_ptr<Engine>> Engine::Create(const EngineOptions& options) {
  if (options.model_path.empty()) {
    return InvalidArgument("EngineOptions.model_path is empty");
  }
  if (options.num_threads < 0 || options.num_threads > 1024) {
    return InvalidArgument("num_threads must be in 0..1024, got " +
                           std::to_string(options.num_threads));
  }
  auto impl = std::make_unique<Impl>();
  FACET_ASSIGN_OR_RETURN(impl->model, gemma4::Model::Load(options.model_path));
  FACET_ASSIGN_OR_RETURN(impl->decoder,
                         gemma4::TextDecoder::Create(*impl->model));
  impl->info = MakeModelInfo(*impl->model);
  int threads = options.num_threads;
  if (threads == 0) {
    threads = std::max(1u, std::thread::hardware_concurrency());
  }
  impl->num_threads = threads;
  if (threads > 1) {
    impl->pool = pthreadpool_create(static_cast<size_t>(threads));
    if (impl->pool == nullptr) {
      return Internal("cannot create a pool of " + std::to_string(threads) +
                      " threads");
    }
  }
  return std::shared_ptr<Engine>(new Engine(std::move(impl)));
}

const ModelInfo& Engine::info() const { return impl_->info; }
int Engine::num_threads() const { return impl_->num_threads; }

}  // namespace facet
