#include <algorithm>
#include <thread>

#include "facet/facet.h"
#include "models/gemma4/text.h"
#include "src/engine/engine_impl.h"
#include "src/engine/generation_defaults.h"
#include "src/engine/model_info.h"
#include "src/util/no_throw.h"
#include "src/util/status_macros.h"

namespace facet {
namespace {

// Touches every page of every tensor the forward pass reads from the file
// (packed copies are already in memory), so weights come from memory, not
// disk, on the first forward pass. Reports from `base` to 1.
void Prefetch(const gemma4::Model& model, float base,
              const std::function<void(float)>& progress) {
  std::vector<const TensorView*> tensors;
  for (const TensorView* t : model.AllTensors()) {
    if (!model.IsPackedSource(t)) tensors.push_back(t);
  }
  uint64_t total = 0, done = 0;
  for (const TensorView* t : tensors) total += t->nbytes;
  volatile uint8_t sink = 0;
  float last = -1;
  for (const TensorView* t : tensors) {
    for (uint64_t off = 0; off < t->nbytes; off += 4096) sink += t->data[off];
    done += t->nbytes;
    const float f =
        base + (1 - base) * (total ? static_cast<float>(done) / total : 1.f);
    if (progress && f - last >= 0.01f) {
      progress(f);
      last = f;
    }
  }
  if (progress && last < 1.f) progress(1.f);
  (void)sink;
}

}  // namespace

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
    FACET_ASSIGN_OR_RETURN(impl->model,
                           gemma4::Model::Load(options.model_path));
    impl->info = MakeModelInfo(*impl->model);
    // Packing reads most of the file: the bar shows bytes packed, then
    // bytes prefetched, out of all weight bytes.
    const float all =
        static_cast<float>(std::max<uint64_t>(1, impl->info.weight_bytes));
    if (options.repack_weights) {
      impl->model->PackWeights(impl->pool, [&](uint64_t done, uint64_t) {
        if (options.on_load_progress) {
          options.on_load_progress(
              std::min(1.f, static_cast<float>(done) / all));
        }
      });
    }
    const float pack_share =
        std::min(1.f, static_cast<float>(impl->model->packed_bytes()) / all);
    FACET_ASSIGN_OR_RETURN(impl->decoder,
                           gemma4::TextDecoder::Create(*impl->model));
    if (options.prefetch) {
      Prefetch(*impl->model, pack_share, options.on_load_progress);
    }
    // A model file without a tokenizer still computes logits from ids.
    StatusOr<std::unique_ptr<Tokenizer>> tok =
        Tokenizer::ForModelPath(options.model_path);
    if (tok.ok()) {
      impl->tokenizer = std::move(tok).value();
    } else if (tok.status().code() != StatusCode::kNotFound) {
      return tok.status();
    }
    FACET_RETURN_IF_ERROR(LoadGenerationDefaults(
        *impl->model, &impl->default_sampling, &impl->empty_thought_prefill));
    if (!impl->info.preset.empty() && !impl->empty_thought_prefill) {
      impl->empty_thought_prefill =
          gemma4::PresetPrefillsEmptyThought(impl->info.preset);
    }
    return std::shared_ptr<Engine>(new Engine(std::move(impl)));
  });
}

const ModelInfo& Engine::info() const { return impl_->info; }
SamplerOptions Engine::DefaultSampling() const {
  return impl_->default_sampling;
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

}  // namespace facet
