#include <sys/stat.h>

#include <algorithm>
#include <future>
#include <thread>

#include "facet/facet.h"
#include "src/engine/engine_impl.h"
#include "src/engine/session_file.h"
#include "src/util/no_throw.h"
#include "src/util/status_macros.h"

namespace facet {

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Engine::~Engine() = default;

StatusOr<std::shared_ptr<Engine>> Engine::Create(const EngineOptions& options) {
  return CatchAll("Engine::Create", [&]() -> StatusOr<std::shared_ptr<Engine>> {
    if (options.model_path.empty()) {
      return InvalidArgument("EngineOptions.model_path is empty");
    }
    if (options.num_threads < 0 || options.num_threads > 1024) {
      return InvalidArgument("num_threads must be in 0..1024, got " +
                             std::to_string(options.num_threads));
    }
    auto impl = std::make_unique<Impl>();
    // More threads than cores only adds wake-ups and preemption (the pool's
    // tiles wait for descheduled workers): cap at the cores (Engine::
    // num_threads() reports what was used).
    const int cores =
        static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    int threads = options.num_threads;
    if (threads == 0 || threads > cores) threads = cores;
    impl->num_threads = threads;
    if (threads > 1) {
      impl->pool_owner = kernels::ThreadPool::Create(threads);
      if (impl->pool_owner == nullptr) {
        return Internal("cannot start " + std::to_string(threads - 1) +
                        " worker threads");
      }
      impl->pool = impl->pool_owner.get();
    }
    // The tokenizer (its 262144-piece tables take about 0.4 s to build)
    // is read on a thread of its own while the weights load; the future
    // waits for it on every way out.
    std::future<StatusOr<std::unique_ptr<Tokenizer>>> tokenizer = std::async(
        std::launch::async,
        [path = options.model_path] { return Tokenizer::ForModelPath(path); });
    LoadOptions lo;
    lo.path = options.model_path;
    lo.repack_weights = options.repack_weights;
    lo.prefetch = options.prefetch;
    lo.pool = impl->pool;
    lo.progress = options.on_load_progress;
    FACET_ASSIGN_OR_RETURN(impl->model, LoadLanguageModel(lo));
    if (options.batch_decode) {
      impl->batcher =
          std::make_unique<DecodeBatcher>(impl->model.get(), impl->pool);
    }
    // The encoders: those named, or the model folder's own.
    const bool named = !options.mmproj_path.empty();
    std::string enc_path = options.mmproj_path;
    struct stat st;
    if (!named && ::stat(options.model_path.c_str(), &st) == 0 &&
        S_ISDIR(st.st_mode)) {
      enc_path = options.model_path;
    }
    if (!enc_path.empty()) {
      StatusOr<std::unique_ptr<MediaEncoder>> enc = LoadMediaEncoder(enc_path);
      if (enc.ok()) {
        impl->encoder = std::move(enc).value();
      } else if (named || enc.status().code() != StatusCode::kNotFound) {
        return enc.status();
      }
    }
    if (impl->encoder != nullptr &&
        impl->encoder->text_hidden() != impl->model->hidden_size()) {
      return InvalidArgument("the encoders at " + enc_path + " project to " +
                             std::to_string(impl->encoder->text_hidden()) +
                             " wide embeddings, but the text model is " +
                             std::to_string(impl->model->hidden_size()) +
                             " wide");
    }
    if (!options.draft_model_path.empty()) {
      FACET_ASSIGN_OR_RETURN(
          impl->drafter,
          LoadDraftModel(options.draft_model_path, *impl->model));
    }
    impl->fingerprint = ModelFingerprint(impl->model->info());
    if (options.prefix_cache_bytes > 0) {
      impl->prefix_cache =
          std::make_unique<PrefixCache>(options.prefix_cache_bytes);
    }
    // A model file without a tokenizer still computes logits from ids.
    StatusOr<std::unique_ptr<Tokenizer>> tok = tokenizer.get();
    if (tok.ok()) {
      impl->tokenizer = std::move(tok).value();
    } else if (tok.status().code() != StatusCode::kNotFound) {
      return tok.status();
    }
    return std::shared_ptr<Engine>(new Engine(std::move(impl)));
  });
}

const ModelInfo& Engine::info() const { return impl_->model->info(); }
SamplerOptions Engine::DefaultSampling() const {
  return impl_->model->DefaultSampling();
}

StatusOr<std::vector<int>> Engine::Tokenize(const std::string& text,
                                            bool parse_special,
                                            bool add_bos) const {
  return CatchAll("Tokenize", [&]() -> StatusOr<std::vector<int>> {
    if (impl_->tokenizer == nullptr) {
      return FailedPrecondition("the model file has no tokenizer");
    }
    return impl_->tokenizer->Encode(text, add_bos, parse_special);
  });
}

std::string Engine::Detokenize(const std::vector<int>& ids,
                               bool render_special) const {
  if (impl_->tokenizer == nullptr) return "";
  return impl_->tokenizer->Decode(ids, render_special);
}
int Engine::num_threads() const { return impl_->num_threads; }
bool Engine::has_vision() const {
  return impl_->encoder != nullptr && impl_->encoder->has_vision();
}
bool Engine::has_audio() const {
  return impl_->encoder != nullptr && impl_->encoder->has_audio();
}

}  // namespace facet
