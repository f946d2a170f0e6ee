#include "models/gemma4/text_model.h"

#include <algorithm>
#include <mutex>
#include <vector>

#include "models/gemma4/generation_defaults.h"
#include "models/gemma4/kv_cache.h"
#include "models/gemma4/model.h"
#include "models/gemma4/model_info.h"
#include "models/gemma4/text.h"
#include "models/gemma4/text_state.h"
#include "src/util/status_macros.h"

namespace facet::gemma4 {
namespace {

// Touches every page of every tensor the forward pass reads from the file
// (packed copies are already in memory), so weights come from memory, not
// disk, on the first forward pass. Reports from `base` to 1.
void Prefetch(const Model& model, float base,
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

class Gemma4ChatFormat : public ChatFormat {
 public:
  explicit Gemma4ChatFormat(bool empty_thought_prefill)
      : empty_thought_prefill_(empty_thought_prefill) {}
  Status Validate(const ChatOptions& options) const override {
    return ValidateChatOptions(options);
  }
  Prompt Render(const std::vector<ChatMessage>& messages,
                const ChatOptions& options,
                bool add_generation_prompt) const override {
    return RenderPromptSegments(messages, options, add_generation_prompt);
  }
  StatusOr<Prompt> RenderIncrement(const std::vector<ChatMessage>& history,
                                   const std::vector<ChatMessage>& appended,
                                   const ChatOptions& options,
                                   bool add_generation_prompt) const override {
    return RenderIncrementSegments(history, appended, options,
                                   add_generation_prompt);
  }
  Prompt CloseModelTurn() const override {
    Prompt p;
    p.Mark("<turn|>");
    p += "\n";
    return p;
  }
  std::vector<std::string> EndOfTurnPieces() const override {
    return {"<turn|>", "<eos>", "<|tool_response>", "<|turn>"};
  }
  std::string ToolResponsePiece() const override { return "<|tool_response>"; }
  ChatOptions DefaultOptions() const override {
    ChatOptions o;
    o.empty_thought_prefill = empty_thought_prefill_;
    return o;
  }

 private:
  bool empty_thought_prefill_;
};

class TextModel : public LanguageModel {
 public:
  const ModelInfo& info() const override { return info_; }
  SamplerOptions DefaultSampling() const override { return sampling_; }
  int64_t vocab_size() const override { return model_->config().vocab_size; }
  int64_t max_context() const override {
    return model_->config().max_position_embeddings;
  }
  StatusOr<std::unique_ptr<ModelState>> NewState(
      int64_t context, int max_chunk, bool profile, kernels::DType k_type,
      kernels::DType v_type) const override {
    auto state = std::make_unique<TextState>();
    FACET_RETURN_IF_ERROR(state->Init(model_->config(), context, max_chunk,
                                      profile, k_type, v_type));
    return std::unique_ptr<ModelState>(std::move(state));
  }
  Status Forward(const ForwardBatch& batch, ModelState* state,
                 kernels::ThreadPool* pool, float* logits,
                 bool all_logits) const override {
    TextState* s = static_cast<TextState*>(state);
    SoftInputs soft;
    soft.is_soft = batch.soft;
    soft.embeds = batch.soft_embeds;
    soft.block = batch.block;
    FACET_RETURN_IF_ERROR(
        decoder_->Forward(batch.tokens, batch.n, s->position(), &s->cache,
                          &s->scratch, pool, logits, all_logits, &soft));
    s->Advance(batch.n);
    return OkStatus();
  }
  Status ForwardMany(const ForwardRequest* requests, int count,
                     kernels::ThreadPool* pool) const override {
    if (count == 1) {
      const ForwardRequest& r = requests[0];
      return Forward(r.batch, r.state, pool, r.logits, r.all_logits);
    }
    std::lock_guard<std::mutex> lock(many_mu_);
    std::vector<ForwardPart> parts(count);
    std::vector<SoftInputs> soft(count);
    for (int i = 0; i < count; ++i) {
      const ForwardRequest& r = requests[i];
      TextState* st = static_cast<TextState*>(r.state);
      soft[i].is_soft = r.batch.soft;
      soft[i].embeds = r.batch.soft_embeds;
      soft[i].block = r.batch.block;
      parts[i].tokens = r.batch.tokens;
      parts[i].n = r.batch.n;
      parts[i].pos0 = st->position();
      parts[i].cache = &st->cache;
      parts[i].soft = &soft[i];
      parts[i].logits = r.logits;
      parts[i].all_logits = r.all_logits;
    }
    // The pass runs on a scratch of its own (each state's is sized for
    // that state's chunk alone); its op times go to the first state's
    // profile when that state is profiled.
    many_scratch_.profile.enabled =
        static_cast<TextState*>(requests[0].state)->scratch.profile.enabled;
    FACET_RETURN_IF_ERROR(
        decoder_->ForwardParts(parts.data(), count, &many_scratch_, pool));
    // Each state advances, and keeps its own final-normed rows (what a
    // Forward of it alone leaves in its scratch).
    const int64_t H = model_->config().hidden_size;
    for (int i = 0, r = 0; i < count; ++i) {
      TextState* st = static_cast<TextState*>(requests[i].state);
      st->Advance(requests[i].batch.n);
      if (requests[i].logits == nullptr) continue;
      const int rows = requests[i].all_logits ? requests[i].batch.n : 1;
      const float* src = many_scratch_.logits_h.data() + r * H;
      st->scratch.logits_h.assign(src, src + rows * H);
      r += rows;
    }
    if (many_scratch_.profile.enabled) {
      auto& dst = static_cast<TextState*>(requests[0].state)->scratch.profile;
      for (const auto& [name, sec] : many_scratch_.profile.seconds) {
        dst.seconds[name] += sec;
      }
      many_scratch_.profile.seconds.clear();
    }
    return OkStatus();
  }
  const ChatFormat& chat_format() const override { return *chat_; }
  int64_t hidden_size() const override { return model_->config().hidden_size; }
  bool needs_whole_image_blocks() const override {
    return model_->config().bidirectional_vision;
  }

  // ForwardMany's passes, one at a time.
  mutable std::mutex many_mu_;
  mutable Scratch many_scratch_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<TextDecoder> decoder_;
  std::unique_ptr<Gemma4ChatFormat> chat_;
  ModelInfo info_;
  SamplerOptions sampling_;
};

}  // namespace

StatusOr<std::unique_ptr<LanguageModel>> LoadTextModel(
    const LoadOptions& options) {
  auto m = std::make_unique<TextModel>();
  FACET_ASSIGN_OR_RETURN(m->model_, Model::Load(options.path));
  m->info_ = MakeModelInfo(*m->model_);
  // Packing reads most of the file: the bar shows bytes packed, then
  // bytes prefetched, out of all weight bytes.
  const float all =
      static_cast<float>(std::max<uint64_t>(1, m->info_.weight_bytes));
  if (options.repack_weights) {
    m->model_->PackWeights(options.pool, [&](uint64_t done, uint64_t) {
      if (options.progress) {
        options.progress(std::min(1.f, static_cast<float>(done) / all));
      }
    });
  }
  const float pack_share =
      std::min(1.f, static_cast<float>(m->model_->packed_bytes()) / all);
  FACET_ASSIGN_OR_RETURN(m->decoder_, TextDecoder::Create(*m->model_));
  if (options.prefetch) Prefetch(*m->model_, pack_share, options.progress);
  bool empty_thought_prefill = false;
  FACET_RETURN_IF_ERROR(LoadGenerationDefaults(*m->model_, &m->sampling_,
                                               &empty_thought_prefill));
  if (!m->info_.preset.empty() && !empty_thought_prefill) {
    empty_thought_prefill = PresetPrefillsEmptyThought(m->info_.preset);
  }
  m->chat_ = std::make_unique<Gemma4ChatFormat>(empty_thought_prefill);
  return std::unique_ptr<LanguageModel>(std::move(m));
}

const Model* ModelOf(const LanguageModel& lm) {
  const TextModel* t = dynamic_cast<const TextModel*>(&lm);
  return t == nullptr ? nullptr : t->model_.get();
}

}  // namespace facet::gemma4
