#include "src/engine/answer_stream.h"

#include <algorithm>

namespace facet {
namespace {

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

AnswerStream::AnswerStream(const Tokenizer& tokenizer,
                           const std::vector<std::string>& stop_strings,
                           const StreamCallback& on_event)
    : decoder_(tokenizer, /*special=*/true),
      stops_(stop_strings),
      on_event_(on_event) {
  response_.stop_reason = StopReason::kMaxTokens;
}

void AnswerStream::Push(int id) { Deliver(parser_.Feed(decoder_.Push(id))); }

void AnswerStream::Emit(const StreamEvent& event) {
  if (on_event_ && !on_event_(event)) cancelled_ = true;
}

void AnswerStream::Deliver(const std::vector<gemma4::ResponseEvent>& events) {
  for (const gemma4::ResponseEvent& ev : events) {
    if (stop_found_) return;
    StreamEvent out;
    if (ev.kind == gemma4::ResponseEvent::kText) {
      visible_ += ev.text;
      size_t cut = std::string::npos;
      for (const std::string& stop : stops_) {
        const size_t f = visible_.find(
            stop, streamed_ > stop.size() ? streamed_ - stop.size() : 0);
        if (f != std::string::npos && f < cut) cut = f;
      }
      if (cut != std::string::npos) {
        visible_.resize(cut);
        stop_found_ = true;
      }
      const size_t ready = stop_found_
                               ? visible_.size()
                               : visible_.size() - HeldBack(visible_, stops_);
      if (ready > streamed_) {
        out.kind = StreamEvent::Kind::kText;
        out.text = visible_.substr(streamed_, ready - streamed_);
        streamed_ = ready;
        Emit(out);
      }
    } else if (ev.kind == gemma4::ResponseEvent::kThinking) {
      response_.thinking += ev.text;
      out.kind = StreamEvent::Kind::kThinking;
      out.text = ev.text;
      Emit(out);
    } else {
      ToolCall call{ev.tool_call.name,
                    gemma4::ToolArgumentsJson(ev.tool_call.arguments)};
      response_.tool_calls.push_back(call);
      out.kind = StreamEvent::Kind::kToolCall;
      out.tool_call = call;
      Emit(out);
    }
  }
}

Status AnswerStream::Finish() {
  Deliver(parser_.Feed(decoder_.Flush()));
  std::vector<gemma4::ResponseEvent> tail;
  Status parse = parser_.Finish(&tail);
  Deliver(tail);
  if (!stop_found_ && streamed_ < visible_.size()) {
    StreamEvent out;
    out.text = visible_.substr(streamed_);
    streamed_ = visible_.size();
    Emit(out);
  }
  response_.text = visible_;
  return parse;
}

}  // namespace facet
