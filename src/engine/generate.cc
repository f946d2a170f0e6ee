// Chat turns and generation on a Session, in three parts: the queued turns
// to token ids (rendered as segments by the Gemma 4 chat format), the token
// loop (prefill, sample, decode), and the answer stream (AnswerStream:
// pieces, parser, stop strings, events).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "facet/facet.h"
#include "src/engine/answer_stream.h"
#include "src/engine/constrained_output.h"
#include "src/engine/engine_impl.h"
#include "src/engine/media_input.h"
#include "src/engine/prompt_ids.h"
#include "src/engine/speculative.h"
#include "src/sampling/sampler.h"
#include "src/util/no_throw.h"
#include "src/util/status_macros.h"

namespace facet {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

StatusOr<gemma4::ChatMessage::Role> ChatRole(Role role) {
  switch (role) {
    case Role::kSystem:
      return gemma4::ChatMessage::kSystem;
    case Role::kUser:
      return gemma4::ChatMessage::kUser;
    case Role::kModel:
      return gemma4::ChatMessage::kModel;
    case Role::kTool:
      break;
  }
  return InvalidArgument("use AddToolResponse for tool results");
}

}  // namespace

Part Part::Text(std::string text) {
  Part p;
  p.text = std::move(text);
  return p;
}
Part Part::ImageFile(std::string path) {
  Part p;
  p.kind = Kind::kImage;
  p.path = std::move(path);
  return p;
}
Part Part::ImageData(std::string encoded) {
  Part p;
  p.kind = Kind::kImage;
  p.data = std::move(encoded);
  return p;
}
Part Part::ImagePixels(std::vector<uint8_t> rgb, int width, int height) {
  Part p;
  p.kind = Kind::kImage;
  p.rgb = std::move(rgb);
  p.width = width;
  p.height = height;
  return p;
}
Part Part::AudioFile(std::string path) {
  Part p;
  p.kind = Kind::kAudio;
  p.path = std::move(path);
  return p;
}
Part Part::AudioData(std::string encoded) {
  Part p;
  p.kind = Kind::kAudio;
  p.data = std::move(encoded);
  return p;
}
Part Part::Video(std::vector<Part> frames, std::vector<double> seconds) {
  Part p;
  p.kind = Kind::kVideo;
  p.frames = std::move(frames);
  p.frame_seconds = std::move(seconds);
  return p;
}
Part Part::AudioSamples(std::vector<float> samples, int sample_rate) {
  Part p;
  p.kind = Kind::kAudio;
  p.samples = std::move(samples);
  p.sample_rate = sample_rate;
  return p;
}

Status Session::AddMessage(Role role, const std::string& content) {
  return AddMessage(role, std::vector<Part>{Part::Text(content)});
}

Status Session::AddMessage(Role role, const std::vector<Part>& parts) {
  FACET_ASSIGN_OR_RETURN(gemma4::ChatMessage::Role chat_role, ChatRole(role));
  if (role == Role::kSystem &&
      (!impl_->history.empty() || !impl_->pending.empty())) {
    return FailedPrecondition(
        "a system message must come first; set SessionOptions.system_prompt "
        "or add it before any other turn");
  }
  gemma4::ChatMessage m;
  m.role = chat_role;
  bool any_media = false;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Part& p = parts[i];
    if (p.kind == Part::Kind::kText) continue;
    any_media = true;
    FACET_RETURN_IF_ERROR(CheckMediaPart(p, "part " + std::to_string(i)));
    if (role != Role::kUser) {
      return InvalidArgument("images, video and audio go in user turns");
    }
    const Engine::Impl& e = *impl_->engine;
    const bool image = p.kind != Part::Kind::kAudio;
    if (image ? e.encoder == nullptr || !e.encoder->has_vision()
              : e.encoder == nullptr || !e.encoder->has_audio()) {
      const std::string model = e.model->info().preset.empty()
                                    ? e.model->info().path
                                    : "Gemma 4 " + e.model->info().preset;
      return FailedPrecondition(
          std::string(image ? "image" : "audio") + " input: " + model +
          " is loaded without " + (image ? "a vision" : "an audio") +
          " encoder (set EngineOptions::mmproj_path / --mmproj to a folder "
          "or mmproj GGUF that has one" +
          (image ? "" : "; only E2B and E4B take audio") + ")");
    }
  }
  // Encode the media now (the turn's token count depends on it); the rows
  // wait in the session until the turn is prefilled.
  std::map<int, EncodedMedia> encoded;
  int next = impl_->next_media;
  auto encode = [&](const Part& p, int default_budget) -> StatusOr<int> {
    const Engine::Impl& e = *impl_->engine;
    FACET_ASSIGN_OR_RETURN(
        EncodedMedia em,
        EncodeMediaPart(p, default_budget, *e.encoder, e.pool, false));
    encoded[next] = std::move(em);
    return next++;
  };
  if (parts.size() == 1 && !any_media) {
    // One text part is the plain form the template renders.
    m.content = parts[0].text;
  } else {
    for (size_t i = 0; i < parts.size(); ++i) {
      const Part& p = parts[i];
      const std::string where = "part " + std::to_string(i) + ": ";
      gemma4::ChatPart cp;
      auto failed = [&](const Status& st) {
        return Status(st.code(), where + st.message());
      };
      switch (p.kind) {
        case Part::Kind::kText:
          cp.text = p.text;
          break;
        case Part::Kind::kImage:
        case Part::Kind::kAudio: {
          StatusOr<int> id = encode(p, media::kDefaultImageBudget);
          if (!id.ok()) return failed(id.status());
          cp.kind = p.kind == Part::Kind::kImage ? gemma4::ChatPart::kImage
                                                 : gemma4::ChatPart::kAudio;
          cp.media = *id;
          cp.soft_tokens = encoded[*id].soft_tokens;
          break;
        }
        case Part::Kind::kVideo: {
          cp.kind = gemma4::ChatPart::kVideo;
          for (size_t f = 0; f < p.frames.size(); ++f) {
            // Video frames default to the smallest budget (the processor's
            // max_soft_tokens = 70 for video).
            StatusOr<int> id = encode(p.frames[f], 70);
            if (!id.ok()) return failed(id.status());
            gemma4::ChatVideoFrame vf;
            vf.seconds = p.frame_seconds[f];
            vf.media = *id;
            vf.soft_tokens = encoded[*id].soft_tokens;
            cp.frames.push_back(vf);
          }
          break;
        }
      }
      m.parts.push_back(std::move(cp));
    }
  }
  for (auto& [id, em] : encoded) impl_->media[id] = std::move(em);
  impl_->next_media = next;
  impl_->pending.push_back(std::move(m));
  return OkStatus();
}

Status Session::AddModelToolCalls(const std::string& text,
                                  const std::vector<ToolCall>& calls,
                                  const std::string& thinking) {
  gemma4::ChatMessage m;
  m.role = gemma4::ChatMessage::kModel;
  m.content = text;
  m.thinking = thinking;
  for (size_t i = 0; i < calls.size(); ++i) {
    gemma4::ToolCall tc;
    tc.name = calls[i].name;
    if (tc.name.empty()) {
      return InvalidArgument("tool call " + std::to_string(i) + " has no name");
    }
    tc.arguments =
        nlohmann::json::parse(calls[i].arguments_json, nullptr, false);
    if (!tc.arguments.is_object()) {
      return InvalidArgument("tool call " + std::to_string(i) + " ('" +
                             tc.name + "'): arguments must be a JSON object");
    }
    m.tool_calls.push_back(std::move(tc));
  }
  impl_->pending.push_back(std::move(m));
  return OkStatus();
}

Status Session::AddToolResponse(const std::string& tool_name,
                                const std::string& response_json) {
  nlohmann::json v = nlohmann::json::parse(response_json, nullptr, false);
  if (v.is_discarded()) {
    return InvalidArgument("tool response for '" + tool_name +
                           "' is not valid JSON");
  }
  gemma4::ChatMessage m;
  m.role = gemma4::ChatMessage::kTool;
  m.tool_name = tool_name;
  m.response = std::move(v);
  impl_->pending.push_back(std::move(m));
  return OkStatus();
}

void Session::Cancel() { impl_->cancel.store(true); }
Stats Session::stats() const {
  Stats st = impl_->stats;
  st.position = impl_->state->position();
  st.op_seconds = impl_->state->ProfileSeconds();
  return st;
}

StatusOr<Response> Session::Generate(const GenerateOptions& options,
                                     const StreamCallback& on_event) {
  Impl& s = *impl_;
  const int64_t position = s.state->position();
  const size_t tokens = s.tokens.size();
  StatusOr<Response> r =
      CatchAll("Generate", [&]() { return GenerateTurn(options, on_event); });
  if (!r.ok() && s.tokens.size() == tokens) {
    // Nothing was appended to the conversation: drop the queued turns (a
    // turn that does not fit would otherwise ride along with every later
    // one) and rewind a prefill that failed part way.
    s.pending.clear();
    s.media.clear();
    if (s.state->position() != position) {
      Status back = s.state->Truncate(position);
      if (!back.ok()) {
        // Keep the first error; say the cache can no longer be rewound.
        return Status(r.status().code(), r.status().message() +
                                             "; and the session cannot be "
                                             "rewound: " +
                                             back.message());
      }
    }
  }
  return r;
}

namespace {

// The ids of the queued turns (and the close of the last model turn),
// with their soft-token spans.
StatusOr<std::vector<int>> AppendedIds(const Session::Impl& s,
                                       std::vector<SoftSpan>* spans,
                                       size_t* boundary) {
  *boundary = 0;
  const Tokenizer& tok = *s.engine->tokenizer;
  const ChatFormat& format = s.engine->model->chat_format();
  const int64_t position = s.state->position();
  const int64_t context = s.state->context();
  // Refuse turns that cannot fit before tokenizing them: a token covers at
  // most max_piece_bytes() bytes of text, so a text of b bytes needs at
  // least b / max_piece_bytes() tokens (a 5 MB paste is refused at once).
  int64_t min_tokens = 0;
  for (const gemma4::ChatMessage& m : s.pending) {
    size_t bytes = m.content.size();
    for (const gemma4::ChatPart& p : m.parts) bytes += p.text.size();
    min_tokens +=
        static_cast<int64_t>(bytes) / std::max(1, tok.max_piece_bytes());
    for (const gemma4::ChatPart& p : m.parts) {
      min_tokens += p.soft_tokens;
      for (const gemma4::ChatVideoFrame& f : p.frames) {
        min_tokens += f.soft_tokens;
      }
    }
  }
  if (position + min_tokens > context) {
    return OutOfRange(
        "the new turns need at least " + std::to_string(min_tokens) +
        " tokens at position " + std::to_string(position) +
        ", more than the context length " + std::to_string(context));
  }
  // The close of the last model turn, then the queued turns and the
  // generation prompt.
  gemma4::Prompt prompt;
  if (s.history.empty() && s.tokens.empty()) {
    prompt = format.Render(s.pending, s.chat, true);
  } else {
    StatusOr<gemma4::Prompt> inc =
        format.RenderIncrement(s.history, s.pending, s.chat, true);
    if (!inc.ok() && inc.status().code() == StatusCode::kFailedPrecondition) {
      // The template would re-render the history differently (it drops
      // thoughts of earlier tool-calling turns and moves their text); the
      // cache keeps what was generated, so render the new turns after a
      // history without those parts.
      std::vector<gemma4::ChatMessage> plain = s.history;
      for (gemma4::ChatMessage& m : plain) {
        m.thinking.clear();
        if (!m.tool_calls.empty()) m.content.clear();
      }
      inc = format.RenderIncrement(plain, s.pending, s.chat, true);
    }
    if (!inc.ok()) return inc.status();
    if (s.close_model_turn) prompt = format.CloseModelTurn();
    prompt.Append(*inc);
  }
  std::vector<int> ids;
  FACET_RETURN_IF_ERROR(AppendPromptIds(prompt, tok, &ids, spans));
  if (ids.empty()) return FailedPrecondition("nothing to generate from");
  if (s.history.empty() && s.tokens.empty()) {
    // Where the system turn (system prompt, tool declarations) ends: the
    // prefix sessions share, for the prefix cache.
    std::vector<gemma4::ChatMessage> head;
    if (!s.pending.empty() &&
        s.pending[0].role == gemma4::ChatMessage::kSystem) {
      head.push_back(s.pending[0]);
    }
    std::vector<int> head_ids;
    if (AppendPromptIds(format.Render(head, s.chat, false), tok, &head_ids)
            .ok() &&
        head_ids.size() > 1 && head_ids.size() < ids.size() &&
        std::equal(head_ids.begin(), head_ids.end(), ids.begin())) {
      *boundary = head_ids.size();
    }
  }
  return ids;
}

// Marks the session as in its token loop for the engine's batcher.
class BatchingScope {
 public:
  explicit BatchingScope(Session::Impl* s) : s_(s) {
    if (s_->engine->batcher == nullptr) return;
    s_->engine->batcher->Join();
    s_->batching = true;
  }
  ~BatchingScope() {
    if (!s_->batching) return;
    s_->batching = false;
    s_->engine->batcher->Leave();
  }
  BatchingScope(const BatchingScope&) = delete;
  BatchingScope& operator=(const BatchingScope&) = delete;

 private:
  Session::Impl* s_;
};

}  // namespace

StatusOr<Response> Session::GenerateTurn(const GenerateOptions& options,
                                         const StreamCallback& on_event) {
  Impl& s = *impl_;
  const Engine::Impl& e = *s.engine;
  if (e.tokenizer == nullptr) {
    return FailedPrecondition("the model file has no tokenizer");
  }
  FACET_RETURN_IF_ERROR(ValidateSamplerOptions(options.sampling));
  if (options.max_tokens <= 0) {
    return InvalidArgument("max_tokens must be positive");
  }
  for (const std::string& stop : options.stop_strings) {
    if (stop.empty()) return InvalidArgument("empty stop string");
  }
  FACET_RETURN_IF_ERROR(ValidateSpeculativeOptions(options.speculative));
  if (options.speculative.mode == SpeculativeMode::kDraft &&
      e.drafter == nullptr) {
    return FailedPrecondition(
        "speculative mode kDraft needs a drafter model "
        "(EngineOptions::draft_model_path)");
  }
  FACET_ASSIGN_OR_RETURN(GenerateConstraint constrained,
                         MakeGenerateConstraint(s, options));
  const Tokenizer& tok = *e.tokenizer;
  s.cancel.store(false);
  const auto t_start = Clock::now();

  // 1. The queued turns as token ids, then prefill.
  std::vector<SoftSpan> spans;
  size_t boundary = 0;
  FACET_ASSIGN_OR_RETURN(std::vector<int> ids,
                         AppendedIds(s, &spans, &boundary));
  std::vector<float> logits;
  FACET_ASSIGN_OR_RETURN(const int64_t cached,
                         PrefillPrompt(&s, ids, spans, boundary, &logits,
                                       options.on_prefill_progress));
  s.media.clear();
  s.tokens.insert(s.tokens.end(), ids.begin(), ids.end());
  for (gemma4::ChatMessage& m : s.pending) s.history.push_back(std::move(m));
  s.pending.clear();
  s.close_model_turn = false;
  const auto t_prefill = Clock::now();

  // 2. The token loop: sample, hand the token to the answer stream, and
  //    feed it back unless the turn, a stop string or a limit ends it (the
  //    token that ends it stays out of the cache). With speculation, the
  //    token is fed back together with drafted tokens after it, in one
  //    forward pass; each drafted token is then sampled from the logits
  //    row before it (Sampler::SampleDraft) until one is not accepted,
  //    and the cache forgets the drafted tokens after that one.
  Sampler sampler(options.sampling);
  AnswerStream answer(tok, options.stop_strings, on_event);
  const ChatFormat& format = e.model->chat_format();
  const int tool_response = tok.TokenId(format.ToolResponsePiece());
  std::vector<int> end_ids;  // masked by ignore_eos
  for (const std::string& piece : format.EndOfTurnPieces()) {
    if (tok.TokenId(piece) >= 0) end_ids.push_back(tok.TokenId(piece));
  }
  if (tok.eos_id() >= 0) end_ids.push_back(tok.eos_id());
  const int64_t V = e.model->vocab_size();
  StopReason stop = StopReason::kMaxTokens;
  int generated = 0;
  int last = -1;
  Clock::time_point t_first = t_prefill;
  SpeculativeDecoder spec(s, options.speculative,
                          constrained.constraint == nullptr);
  // The loop's forward passes meet those of other sessions generating now.
  s.stats.batched_steps = 0;
  s.stats.batched_rows = 0;
  BatchingScope batching(&s);
  while (true) {
    if (s.cancel.load() || answer.cancelled()) {
      stop = StopReason::kCancelled;
      break;
    }
    if (generated >= options.max_tokens) break;
    if (options.ignore_eos) {
      for (int id : end_ids) {
        if (id < V) logits[id] = -INFINITY;
      }
    }
    int next = -1;
    bool accepted = false;
    if (spec.checking()) {
      next = sampler.SampleDraft(logits.data(), static_cast<int>(V), s.tokens,
                                 spec.draft_token(), &accepted);
    } else {
      FACET_ASSIGN_OR_RETURN(
          next, SampleNext(&sampler, constrained.constraint.get(), &logits, V,
                           s.tokens));
    }
    if (next < 0) {  // ignore_eos masked all a constraint allows
      stop = StopReason::kEndOfTurn;
      break;
    }
    if (generated == 0) t_first = Clock::now();
    ++generated;
    last = next;
    answer.Push(next);
    if (answer.ended()) {
      stop = StopReason::kEndOfTurn;
      break;
    }
    if (answer.stop_found()) {
      stop = StopReason::kStopString;
      break;
    }
    if (accepted) {
      // The drafted token is in the cache already; its row is next.
      spec.Accept(&logits);
      s.tokens.push_back(next);
      last = -1;
      continue;
    }
    FACET_RETURN_IF_ERROR(spec.Reject());
    if (s.state->position() + 1 > s.state->context()) {
      stop = StopReason::kContextFull;
      break;
    }
    FACET_RETURN_IF_ERROR(
        spec.Feed(next, options.max_tokens - generated, &logits));
    s.tokens.push_back(next);
    last = -1;
  }
  // Drafted tokens past where the answer ended leave the cache.
  FACET_RETURN_IF_ERROR(spec.Reject());

  // 3. The answer: flush the stream and record the model's turn; the next
  //    Generate first closes it unless the model waits for a tool response.
  const Status parse = answer.Finish();
  Response response = std::move(answer.response());
  response.stop_reason = stop;
  if (!parse.ok() && stop == StopReason::kEndOfTurn) return parse;
  gemma4::ChatMessage m;
  m.role = gemma4::ChatMessage::kModel;
  m.content = response.text;
  m.thinking = response.thinking;
  for (const ToolCall& c : response.tool_calls) {
    gemma4::ToolCall tc;
    tc.name = c.name;
    tc.arguments = nlohmann::json::parse(c.arguments_json, nullptr, false);
    m.tool_calls.push_back(std::move(tc));
  }
  s.history.push_back(std::move(m));
  s.close_model_turn = !(last == tool_response && tool_response >= 0);

  const auto t_end = Clock::now();
  s.stats.prompt_tokens = static_cast<int64_t>(ids.size());
  s.stats.cached_prompt_tokens = cached;
  s.stats.generated_tokens = generated;
  s.stats.time_to_first_token_s = Seconds(t_start, t_first);
  s.stats.prefill_tokens_per_s =
      ids.size() / std::max(1e-9, Seconds(t_start, t_prefill));
  s.stats.decode_tokens_per_s =
      generated > 1 ? (generated - 1) / std::max(1e-9, Seconds(t_first, t_end))
                    : 0;
  s.stats.position = s.state->position();
  s.stats.speculative_steps = spec.steps();
  s.stats.drafted_tokens = spec.drafted();
  s.stats.accepted_tokens = spec.accepted();
  return response;
}

}  // namespace facet
