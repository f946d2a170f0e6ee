// Chat turns and generation on a Session: render queued turns in the
// Gemma 4 format, append them to the KV cache, sample the model's turn,
// stream it, and stop on <turn|>, <eos>, stop strings or limits.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "facet/facet.h"
#include "src/engine/engine_impl.h"
#include "src/sampling/sampler.h"
#include "src/util/no_throw.h"
#include "src/util/status_macros.h"

namespace facet {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Marks where message content goes in a render, so that only the template
// text is searched for special tokens: user text such as "<|turn>" stays
// ordinary text.
std::string Sentinel(size_t i) {
  return "\x01\x02" + std::to_string(i) + "\x03";
}

// Longest suffix of `text` that is a proper prefix of some stop string.
size_t HeldBack(const std::string& text,
                const std::vector<std::string>& stops) {
  size_t hold = 0;
  for (const std::string& s : stops) {
    for (size_t k = std::min(s.size() - 1, text.size()); k > hold; --k) {
      if (text.compare(text.size() - k, k, s, 0, k) == 0) {
        hold = k;
        break;
      }
    }
  }
  return hold;
}

}  // namespace

Status Session::AddMessage(Role role, const std::string& content) {
  gemma4::ChatMessage m;
  switch (role) {
    case Role::kSystem:
      m.role = gemma4::ChatMessage::kSystem;
      break;
    case Role::kUser:
      m.role = gemma4::ChatMessage::kUser;
      break;
    case Role::kModel:
      m.role = gemma4::ChatMessage::kModel;
      break;
    case Role::kTool:
      return InvalidArgument("use AddToolResponse for tool results");
  }
  if (role == Role::kSystem &&
      (!impl_->history.empty() || !impl_->pending.empty())) {
    return FailedPrecondition(
        "a system message must come first; set SessionOptions.system_prompt "
        "or add it before any other turn");
  }
  m.content = content;
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
  st.position = impl_->position;
  st.op_seconds = impl_->scratch.profile.seconds;
  return st;
}

StatusOr<Response> Session::Generate(const GenerateOptions& options,
                                     const StreamCallback& on_event) {
  Impl& s = *impl_;
  const int64_t position = s.position;
  const size_t tokens = s.tokens.size();
  StatusOr<Response> r =
      CatchAll("Generate", [&]() { return GenerateTurn(options, on_event); });
  if (!r.ok() && s.tokens.size() == tokens) {
    // Nothing was appended to the conversation: drop the queued turns (a
    // turn that does not fit would otherwise ride along with every later
    // one) and rewind a prefill that failed part way.
    s.pending.clear();
    s.position = position;
  }
  return r;
}

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
  const Tokenizer& tok = *e.tokenizer;
  s.cancel.store(false);
  const auto t_start = Clock::now();

  // 1. Token ids of what to append: the close of the last model turn, then
  //    the queued turns and the generation prompt.
  std::vector<gemma4::ChatMessage> appended = s.pending;
  for (size_t i = 0; i < appended.size(); ++i) {
    if (appended[i].role != gemma4::ChatMessage::kTool) {
      appended[i].content = Sentinel(i);
    }
  }
  std::string text;
  if (s.history.empty() && s.tokens.empty()) {
    text = gemma4::RenderPrompt(appended, s.chat, true);
  } else {
    StatusOr<std::string> inc =
        gemma4::RenderIncrement(s.history, appended, s.chat, true);
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
      inc = gemma4::RenderIncrement(plain, appended, s.chat, true);
    }
    if (!inc.ok()) return inc.status();
    text = std::move(inc).value();
    text = s.pending_close + text;
  }
  // Refuse turns that cannot fit before tokenizing them: a token covers at
  // most max_piece_bytes() bytes of text, so a text of b bytes needs at
  // least b / max_piece_bytes() tokens (a 5 MB paste is refused at once).
  int64_t min_tokens = 0;
  for (const gemma4::ChatMessage& m : s.pending) {
    min_tokens += static_cast<int64_t>(m.content.size()) /
                  std::max(1, tok.max_piece_bytes());
  }
  if (s.position + min_tokens > s.cache.context()) {
    return OutOfRange(
        "the new turns need at least " + std::to_string(min_tokens) +
        " tokens at position " + std::to_string(s.position) +
        ", more than the context length " + std::to_string(s.cache.context()));
  }
  std::vector<int> ids;
  size_t pos = 0;
  for (size_t i = 0; i <= appended.size(); ++i) {
    size_t at = std::string::npos;
    if (i < appended.size() && appended[i].role != gemma4::ChatMessage::kTool) {
      at = text.find(Sentinel(i), pos);
    }
    if (i < appended.size() && at == std::string::npos) continue;
    std::string templ = text.substr(
        pos, at == std::string::npos ? std::string::npos : at - pos);
    FACET_ASSIGN_OR_RETURN(std::vector<int> t,
                           tok.Encode(templ, false, /*parse_special=*/true));
    ids.insert(ids.end(), t.begin(), t.end());
    if (at == std::string::npos) break;
    FACET_ASSIGN_OR_RETURN(
        std::vector<int> c,
        tok.Encode(s.pending[i].content, false, /*parse_special=*/false));
    ids.insert(ids.end(), c.begin(), c.end());
    pos = at + Sentinel(i).size();
  }
  if (ids.empty()) return FailedPrecondition("nothing to generate from");

  // 2. Prefill.
  std::vector<float> logits;
  FACET_RETURN_IF_ERROR(
      PrefillWithProgress(ids, &logits, false, options.on_prefill_progress));
  s.tokens.insert(s.tokens.end(), ids.begin(), ids.end());
  for (gemma4::ChatMessage& m : s.pending) s.history.push_back(std::move(m));
  s.pending.clear();
  s.pending_close.clear();
  const auto t_prefill = Clock::now();

  // 3. Sample the model's turn.
  Sampler sampler(options.sampling);
  StreamDecoder decoder(tok, /*special=*/true);
  gemma4::ResponseParser parser;
  Response response;
  response.stop_reason = StopReason::kMaxTokens;
  const int eos = tok.eos_id();
  const int end_turn = tok.TokenId("<turn|>");
  const int tool_response = tok.TokenId("<|tool_response>");
  std::string visible;  // answer text so far (for stop strings)
  size_t streamed = 0;  // bytes of `visible` already given out
  bool stop_found = false;
  bool cancelled = false;
  int generated = 0;
  Clock::time_point t_first = t_prefill;
  const int64_t V = e.info.vocab_size;

  auto deliver = [&](const std::vector<gemma4::ResponseEvent>& events) {
    for (const gemma4::ResponseEvent& ev : events) {
      StreamEvent out;
      if (ev.kind == gemma4::ResponseEvent::kText) {
        visible += ev.text;
        size_t cut = std::string::npos;
        for (const std::string& stop : options.stop_strings) {
          size_t f = visible.find(
              stop, streamed > stop.size() ? streamed - stop.size() : 0);
          if (f != std::string::npos && f < cut) cut = f;
        }
        if (cut != std::string::npos) {
          visible.resize(cut);
          stop_found = true;
        }
        size_t ready = stop_found ? visible.size()
                                  : visible.size() -
                                        HeldBack(visible, options.stop_strings);
        if (ready > streamed) {
          out.kind = StreamEvent::Kind::kText;
          out.text = visible.substr(streamed, ready - streamed);
          streamed = ready;
          if (on_event && !on_event(out)) cancelled = true;
        }
        if (stop_found) return;
      } else if (ev.kind == gemma4::ResponseEvent::kThinking) {
        response.thinking += ev.text;
        out.kind = StreamEvent::Kind::kThinking;
        out.text = ev.text;
        if (on_event && !on_event(out)) cancelled = true;
      } else {
        ToolCall call{ev.tool_call.name,
                      gemma4::ToolArgumentsJson(ev.tool_call.arguments)};
        response.tool_calls.push_back(call);
        out.kind = StreamEvent::Kind::kToolCall;
        out.tool_call = call;
        if (on_event && !on_event(out)) cancelled = true;
      }
    }
  };

  std::vector<int> turn_tokens;
  int last = -1;
  while (true) {
    if (s.cancel.load() || cancelled) {
      response.stop_reason = StopReason::kCancelled;
      break;
    }
    if (generated >= options.max_tokens) break;
    if (options.ignore_eos) {
      for (int id : {eos, end_turn, tool_response}) {
        if (id >= 0 && id < V) logits[id] = -INFINITY;
      }
    }
    const int next =
        sampler.Sample(logits.data(), static_cast<int>(V), s.tokens);
    if (generated == 0) t_first = Clock::now();
    ++generated;
    last = next;
    if (next == eos || next == end_turn || next == tool_response) {
      response.stop_reason = StopReason::kEndOfTurn;
      deliver(parser.Feed(decoder.Push(next)));
      break;
    }
    deliver(parser.Feed(decoder.Push(next)));
    if (stop_found) {
      response.stop_reason = StopReason::kStopString;
      // The stop string's tokens stay out of the cache: `next` is unfed.
      break;
    }
    if (s.position + 1 > s.cache.context()) {
      response.stop_reason = StopReason::kContextFull;
      break;
    }
    FACET_RETURN_IF_ERROR(Decode(next, &logits));
    s.tokens.push_back(next);
    turn_tokens.push_back(next);
    last = -1;
  }
  std::vector<gemma4::ResponseEvent> tail;
  deliver(parser.Feed(decoder.Flush()));
  Status parse = parser.Finish(&tail);
  deliver(tail);
  if (!stop_found && streamed < visible.size()) {
    StreamEvent out;
    out.text = visible.substr(streamed);
    streamed = visible.size();
    if (on_event) on_event(out);
  }
  response.text = visible;
  if (!parse.ok() && response.stop_reason == StopReason::kEndOfTurn) {
    return parse;
  }

  // 4. Record the model's turn; the next Generate first closes it unless the
  //    model stopped to wait for a tool response.
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
  const bool wants_tool = last == tool_response && tool_response >= 0;
  s.pending_close = wants_tool ? "" : "<turn|>\n";

  const auto t_end = Clock::now();
  s.stats.prompt_tokens = static_cast<int64_t>(ids.size());
  s.stats.generated_tokens = generated;
  s.stats.time_to_first_token_s = Seconds(t_start, t_first);
  s.stats.prefill_tokens_per_s =
      ids.size() / std::max(1e-9, Seconds(t_start, t_prefill));
  s.stats.decode_tokens_per_s =
      generated > 1 ? (generated - 1) / std::max(1e-9, Seconds(t_first, t_end))
                    : 0;
  s.stats.position = s.position;
  return response;
}

}  // namespace facet
