#include <algorithm>

#include "facet/facet.h"
#include "src/engine/constrained_output.h"
#include "src/engine/engine_impl.h"
#include "src/util/no_throw.h"
#include "src/util/status_macros.h"

namespace facet {

StatusOr<std::unique_ptr<Session>> Engine::NewSession(
    const SessionOptions& options) const {
  return CatchAll("NewSession", [&]() -> StatusOr<std::unique_ptr<Session>> {
    const LanguageModel& model = *impl_->model;
    const int64_t max_context = model.max_context();
    SessionOptions o = options;
    if (o.context_length < 0) {
      return InvalidArgument("context_length must be >= 0");
    }
    if (o.context_length == 0) {
      o.context_length = std::min<int64_t>(max_context, 4096);
    }
    if (o.context_length > max_context) {
      return InvalidArgument(
          "context_length " + std::to_string(o.context_length) +
          " exceeds the model's maximum " + std::to_string(max_context));
    }
    if (o.prefill_chunk <= 0 || o.prefill_chunk > 8192) {
      return InvalidArgument("prefill_chunk must be in 1..8192, got " +
                             std::to_string(o.prefill_chunk));
    }
    auto impl = std::make_unique<Session::Impl>();
    impl->engine = impl_;
    impl->options = o;
    // An image must reach a bidirectional model in one forward call.
    int max_chunk = o.prefill_chunk;
    if (impl_->encoder != nullptr && impl_->encoder->has_vision() &&
        model.needs_whole_image_blocks()) {
      max_chunk = std::max(max_chunk, kMaxImageSoftTokens);
    }
    FACET_ASSIGN_OR_RETURN(
        impl->state, model.NewState(o.context_length, max_chunk, o.profile));
    impl->chat = model.chat_format().DefaultOptions();
    impl->chat.enable_thinking = o.enable_thinking;
    if (!o.tools_json.empty()) {
      impl->chat.tools = nlohmann::json::parse(o.tools_json, nullptr, false);
      if (impl->chat.tools.is_discarded()) {
        return InvalidArgument("SessionOptions.tools_json is not valid JSON");
      }
    }
    FACET_RETURN_IF_ERROR(model.chat_format().Validate(impl->chat));
    FACET_RETURN_IF_ERROR(CompileSessionTools(impl.get()));
    if (!o.system_prompt.empty()) {
      gemma4::ChatMessage m;
      m.role = gemma4::ChatMessage::kSystem;
      m.content = o.system_prompt;
      impl->pending.push_back(std::move(m));
    }
    return std::unique_ptr<Session>(new Session(std::move(impl)));
  });
}

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

Status Session::Prefill(const std::vector<int>& tokens,
                        std::vector<float>* logits, bool all_logits) {
  return CatchAll("Prefill", [&]() {
    return PrefillWithProgress(tokens, logits, all_logits, nullptr);
  });
}

Status Session::PrefillWithProgress(
    const std::vector<int>& tokens, std::vector<float>* logits, bool all_logits,
    const std::function<void(int64_t, int64_t)>& progress) {
  return PrefillPositions(impl_.get(), tokens, {}, logits, all_logits,
                          progress);
}

Status PrefillPositions(Session::Impl* s, const std::vector<int>& tokens,
                        const std::vector<SoftSpan>& spans,
                        std::vector<float>* logits, bool all_logits,
                        const std::function<void(int64_t, int64_t)>& progress) {
  const Engine::Impl& e = *s->engine;
  ModelState& state = *s->state;
  const int64_t V = e.model->vocab_size();
  const int64_t H = e.model->hidden_size();
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) return InvalidArgument("Prefill: no tokens");
  if (state.position() + n > state.context()) {
    return OutOfRange(
        "prompt of " + std::to_string(n) + " tokens at position " +
        std::to_string(state.position()) + " does not fit the context length " +
        std::to_string(state.context()));
  }
  for (int t : tokens) {
    if (t < 0 || t >= V) {
      return InvalidArgument("token id " + std::to_string(t) +
                             " is outside the vocabulary (0.." +
                             std::to_string(V - 1) + ")");
    }
  }
  for (const SoftSpan& sp : spans) {
    auto it = s->media.find(sp.media);
    if (it == s->media.end() || it->second.soft_tokens != sp.count ||
        it->second.embeddings.size() != static_cast<size_t>(sp.count) * H ||
        sp.start + sp.count > tokens.size()) {
      return Internal("soft-token span without matching embeddings");
    }
  }
  const bool whole_images = e.model->needs_whole_image_blocks();
  if (logits != nullptr) logits->assign(all_logits ? n * V : V, 0.f);
  const int chunk = s->options.prefill_chunk;
  // Per chunk: soft flags [m], rows [m][H], image block ids [m].
  std::vector<uint8_t> soft;
  std::vector<float> rows;
  std::vector<int32_t> block;
  for (int64_t b = 0; b < n;) {
    int64_t m = std::min<int64_t>(chunk, n - b);
    if (whole_images) {
      for (const SoftSpan& sp : spans) {
        const int64_t s0 = static_cast<int64_t>(sp.start), s1 = s0 + sp.count;
        if (!sp.image || s0 >= b + m || s1 <= b + m) continue;
        // The chunk would cut this image: end before it, or take it whole.
        m = s0 > b ? s0 - b : s1 - b;
        break;
      }
    }
    const bool last = b + m == n;
    float* out = nullptr;
    if (logits != nullptr && all_logits) out = logits->data() + b * V;
    if (logits != nullptr && !all_logits && last) out = logits->data();
    ForwardBatch batch;
    batch.tokens = tokens.data() + b;
    batch.n = static_cast<int>(m);
    bool any_soft = false;
    for (const SoftSpan& sp : spans) {
      const int64_t s0 = static_cast<int64_t>(sp.start), s1 = s0 + sp.count;
      const int64_t lo = std::max(s0, b), hi = std::min(s1, b + m);
      if (lo >= hi) continue;
      if (!any_soft) {
        soft.assign(m, 0);
        rows.assign(m * H, 0.f);
        block.assign(m, 0);
        any_soft = true;
      }
      const float* src = s->media.at(sp.media).embeddings.data();
      for (int64_t i = lo; i < hi; ++i) {
        soft[i - b] = 1;
        std::copy(src + (i - s0) * H, src + (i - s0 + 1) * H,
                  rows.data() + (i - b) * H);
        if (sp.image) block[i - b] = sp.media + 1;
      }
    }
    if (any_soft) {
      batch.soft = soft.data();
      batch.soft_embeds = rows.data();
      batch.block = block.data();
    }
    FACET_RETURN_IF_ERROR(
        e.model->Forward(batch, &state, e.pool, out, all_logits));
    b += m;
    if (progress) progress(b, n);
  }
  return OkStatus();
}

Status Session::Decode(int token, std::vector<float>* logits) {
  return Prefill({token}, logits, false);
}

void Session::Reset() {
  // Position 0 needs nothing of the cache, so this always succeeds.
  (void)impl_->state->Truncate(0);
  impl_->tokens.clear();
  impl_->history.clear();
  impl_->pending.clear();
  impl_->media.clear();
  impl_->close_model_turn = false;
  impl_->stats = Stats();
  if (!impl_->options.system_prompt.empty()) {
    gemma4::ChatMessage m;
    m.role = gemma4::ChatMessage::kSystem;
    m.content = impl_->options.system_prompt;
    impl_->pending.push_back(std::move(m));
  }
}
int64_t Session::position() const { return impl_->state->position(); }
int64_t Session::context_length() const { return impl_->state->context(); }
const std::vector<int>& Session::tokens() const { return impl_->tokens; }

}  // namespace facet
