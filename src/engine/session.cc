#include <algorithm>

#include "facet/facet.h"
#include "src/engine/constrained_output.h"
#include "src/engine/engine_impl.h"
#include "src/engine/session_file.h"
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
    kernels::DType kv_types[2];
    const std::string* kv_names[2] = {&o.cache_type_k, &o.cache_type_v};
    for (int i = 0; i < 2; ++i) {
      if (!kernels::ParseDType(kv_names[i]->c_str(), &kv_types[i]) ||
          (kv_types[i] != kernels::DType::kF32 &&
           kv_types[i] != kernels::DType::kF16 &&
           kv_types[i] != kernels::DType::kQ8_0)) {
        return InvalidArgument("KV cache type \"" + *kv_names[i] +
                               "\" is not one of f32, f16, q8_0");
      }
    }
    FACET_ASSIGN_OR_RETURN(
        impl->state, model.NewState(o.context_length, max_chunk, o.profile,
                                    kv_types[0], kv_types[1]));
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
    if (s->batching && e.batcher != nullptr && !any_soft) {
      ForwardRequest request;
      request.batch = batch;
      request.state = &state;
      request.logits = out;
      request.all_logits = all_logits;
      int sessions = 1;
      FACET_RETURN_IF_ERROR(e.batcher->Forward(request, &sessions));
      if (sessions > 1) {
        ++s->stats.batched_steps;
        s->stats.batched_rows += sessions;
      }
    } else {
      FACET_RETURN_IF_ERROR(
          e.model->Forward(batch, &state, e.pool, out, all_logits));
    }
    b += m;
    if (progress) progress(b, n);
  }
  return OkStatus();
}

namespace {

// Positions [b, e) of `ids` through PrefillPositions, with their spans.
Status PrefillRange(Session::Impl* s, const std::vector<int>& ids,
                    const std::vector<SoftSpan>& spans, size_t b, size_t e,
                    std::vector<float>* logits,
                    const std::function<void(int64_t, int64_t)>& progress) {
  std::vector<int> part(ids.begin() + b, ids.begin() + e);
  std::vector<SoftSpan> moved;
  for (SoftSpan sp : spans) {
    if (sp.start >= e || sp.start + sp.count <= b) continue;
    if (sp.start < b || sp.start + sp.count > e) {
      return Internal("a soft-token span crosses a prefill boundary");
    }
    sp.start -= b;
    moved.push_back(sp);
  }
  const int64_t total = static_cast<int64_t>(ids.size());
  std::function<void(int64_t, int64_t)> shifted;
  if (progress) {
    shifted = [&](int64_t done, int64_t) { progress(b + done, total); };
  }
  return PrefillPositions(s, part, moved, logits, false, shifted);
}

// Imports a cached prefix of `tokens`; when it covers all of `ids`, the
// last position is dropped again so that prefill computes its logits.
int64_t ImportPrefix(Session::Impl* s, const std::vector<int>& tokens,
                     const std::string& kv, size_t n_ids) {
  ModelState& state = *s->state;
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0 || n > state.context() || !state.ImportKv(n, kv).ok()) {
    (void)state.Truncate(0);
    return 0;
  }
  if (static_cast<size_t>(n) == n_ids && !state.Truncate(n - 1).ok()) {
    (void)state.Truncate(0);
    return 0;
  }
  return state.position();
}

}  // namespace

StatusOr<int64_t> PrefillPrompt(
    Session::Impl* s, const std::vector<int>& ids,
    const std::vector<SoftSpan>& spans, size_t boundary,
    std::vector<float>* logits,
    const std::function<void(int64_t, int64_t)>& progress) {
  const Engine::Impl& e = *s->engine;
  ModelState& state = *s->state;
  if (state.position() != 0 || ids.empty()) {
    FACET_RETURN_IF_ERROR(
        PrefillPositions(s, ids, spans, logits, false, progress));
    return 0;
  }
  // A cached prefix must end before the first soft token.
  size_t limit = ids.size();
  for (const SoftSpan& sp : spans) limit = std::min(limit, sp.start);
  size_t start = 0;
  std::shared_ptr<const PrefixCache::Entry> hit;
  if (e.prefix_cache != nullptr) {
    hit = e.prefix_cache->Lookup(ids, limit, state.kv_type());
  }
  KvFile file;
  bool file_hit = false;
  const std::string& cache_path = s->options.prompt_cache_path;
  if (!cache_path.empty()) {
    StatusOr<KvFile> f =
        ReadKvFile(cache_path, "prompt", e.fingerprint, state.kv_type());
    if (f.ok() && f->tokens.size() <= limit &&
        std::equal(f->tokens.begin(), f->tokens.end(), ids.begin()) &&
        (hit == nullptr || f->tokens.size() > hit->tokens.size())) {
      file = std::move(f).value();
      file_hit = true;
    }
  }
  if (file_hit) {
    start = ImportPrefix(s, file.tokens, file.kv, ids.size());
  } else if (hit != nullptr) {
    start = ImportPrefix(s, hit->tokens, hit->kv, ids.size());
  }
  const int64_t cached = static_cast<int64_t>(start);
  if (e.prefix_cache != nullptr && boundary > start && boundary < limit) {
    // The system turn first, kept for later sessions.
    FACET_RETURN_IF_ERROR(
        PrefillRange(s, ids, spans, start, boundary, nullptr, progress));
    std::string kv;
    state.ExportKv(&kv);
    e.prefix_cache->Insert(
        std::vector<int>(ids.begin(), ids.begin() + boundary), std::move(kv),
        state.kv_type());
    start = boundary;
  }
  FACET_RETURN_IF_ERROR(
      PrefillRange(s, ids, spans, start, ids.size(), logits, progress));
  if (!cache_path.empty() && !(file_hit && file.tokens.size() == ids.size())) {
    KvFile out;
    out.kind = "prompt";
    out.fingerprint = e.fingerprint;
    out.model = e.model->info().path;
    out.context = state.context();
    out.tokens = ids;
    out.kv_type = state.kv_type();
    state.ExportKv(&out.kv);
    FACET_RETURN_IF_ERROR(WriteKvFile(cache_path, out));
  }
  return cached;
}

Status Session::Save(const std::string& path) const {
  return CatchAll("Session::Save", [&]() -> Status {
    const Impl& s = *impl_;
    if (!s.pending.empty()) {
      return FailedPrecondition(
          "turns are queued but not generated from; Generate first");
    }
    KvFile f;
    f.kind = "session";
    f.fingerprint = s.engine->fingerprint;
    f.model = s.engine->model->info().path;
    f.context = s.state->context();
    f.tokens = s.tokens;
    if (static_cast<int64_t>(s.tokens.size()) != s.state->position()) {
      return FailedPrecondition(
          "the session holds positions that are not chat tokens (Prefill "
          "on raw ids); only chat sessions can be saved");
    }
    f.chat = {{"history", HistoryToJson(s.history)},
              {"close_model_turn", s.close_model_turn},
              {"enable_thinking", s.chat.enable_thinking},
              {"empty_thought_prefill", s.chat.empty_thought_prefill},
              {"tools", s.chat.tools}};
    f.kv_type = s.state->kv_type();
    s.state->ExportKv(&f.kv);
    return WriteKvFile(path, f);
  });
}

StatusOr<std::unique_ptr<Session>> Engine::RestoreSession(
    const std::string& path, const SessionOptions& options) const {
  return CatchAll(
      "RestoreSession", [&]() -> StatusOr<std::unique_ptr<Session>> {
        FACET_ASSIGN_OR_RETURN(KvFile f,
                               ReadKvFile(path, "session", impl_->fingerprint,
                                          /*kv_type=*/""));
        if (!f.chat.is_object()) return DataLoss(path + ": no chat state");
        SessionOptions o = options;
        o.system_prompt.clear();  // the history has it
        o.tools_json.clear();
        if (o.context_length == 0) o.context_length = f.context;
        const int64_t n = static_cast<int64_t>(f.tokens.size());
        if (o.context_length < n) {
          return InvalidArgument(
              "context_length " + std::to_string(o.context_length) +
              " cannot hold the " + std::to_string(n) + " saved positions");
        }
        FACET_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, NewSession(o));
        Session::Impl& s = *session->impl_;
        FACET_RETURN_IF_ERROR(CheckKvType(path, f, s.state->kv_type()));
        FACET_ASSIGN_OR_RETURN(s.history, HistoryFromJson(f.chat["history"]));
        const nlohmann::json& c = f.chat;
        auto flag = [&](const char* k) {
          return c.contains(k) && c[k].is_boolean() && c[k].get<bool>();
        };
        s.close_model_turn = flag("close_model_turn");
        s.chat.enable_thinking = flag("enable_thinking");
        s.chat.empty_thought_prefill = flag("empty_thought_prefill");
        s.chat.tools = c.contains("tools") ? c["tools"] : nlohmann::json();
        FACET_RETURN_IF_ERROR(impl_->model->chat_format().Validate(s.chat));
        const int64_t V = impl_->model->vocab_size();
        for (int t : f.tokens) {
          if (t < 0 || t >= V) return DataLoss(path + ": token out of range");
        }
        Status st = s.state->ImportKv(n, f.kv);
        if (!st.ok()) return Status(st.code(), path + ": " + st.message());
        s.tokens = std::move(f.tokens);
        s.pending.clear();
        return session;
      });
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
