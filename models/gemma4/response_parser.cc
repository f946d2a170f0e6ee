// The streaming parser of a model's answer: visible text, thoughts and
// tool calls, from pieces cut anywhere.
#include <algorithm>
#include <utility>

#include "models/gemma4/chat_internal.h"
#include "src/util/status_macros.h"

namespace facet::gemma4 {
namespace {

using json = nlohmann::json;

// --- Streaming parser markers ---

enum class MarkerKind {
  kChannelOpen,
  kChannelClose,
  kCallOpen,
  kCallClose,
  kEnd
};

struct Marker {
  std::string_view text;
  MarkerKind kind;
};

constexpr Marker kTextMarkers[] = {
    {kChannelOpen, MarkerKind::kChannelOpen},
    {kChannelClose, MarkerKind::kChannelClose},
    {kToolCallOpen, MarkerKind::kCallOpen},
    {kToolCallClose, MarkerKind::kCallClose},
    {kTurnClose, MarkerKind::kEnd},
    {kEos, MarkerKind::kEnd},
    {kToolResponseOpen, MarkerKind::kEnd},
    {kTurnOpen, MarkerKind::kEnd},
};

// The template writes thoughts as thought\n TEXT \n<channel|>, so the "\n"
// before <channel|> belongs to the marker. A tool call also ends them.
constexpr Marker kThinkingMarkers[] = {
    {"\n<channel|>", MarkerKind::kChannelClose},
    {kChannelClose, MarkerKind::kChannelClose},
    {kToolCallOpen, MarkerKind::kCallOpen},
    {kTurnClose, MarkerKind::kEnd},
    {kEos, MarkerKind::kEnd},
    {kToolResponseOpen, MarkerKind::kEnd},
    {kTurnOpen, MarkerKind::kEnd},
};

constexpr Marker kCallMarkers[] = {
    {kToolCallClose, MarkerKind::kCallClose},
    {kTurnClose, MarkerKind::kEnd},
    {kEos, MarkerKind::kEnd},
    {kToolResponseOpen, MarkerKind::kEnd},
    {kTurnOpen, MarkerKind::kEnd},
};

// Longest marker text, less one: how far back a split marker can start.
constexpr size_t kMaxMarkerOverlap = 15;  // "<|tool_response>" is 16

// Channel names are short words; anything longer is not a header.
constexpr size_t kMaxChannelName = 32;

// Earliest marker at or after `from` (ties go to the longer marker).
template <size_t N>
const Marker* FindMarker(std::string_view buf, size_t from,
                         const Marker (&markers)[N], size_t* pos) {
  const Marker* best = nullptr;
  size_t best_pos = std::string_view::npos;
  for (const Marker& m : markers) {
    const size_t p = buf.find(m.text, from);
    if (p == std::string_view::npos) continue;
    if (best == nullptr || p < best_pos ||
        (p == best_pos && m.text.size() > best->text.size())) {
      best = &m;
      best_pos = p;
    }
  }
  *pos = best_pos;
  return best;
}

// Length of the longest suffix of `buf` that is a proper prefix of a marker.
template <size_t N>
size_t HeldBack(std::string_view buf, const Marker (&markers)[N]) {
  size_t keep = 0;
  for (const Marker& m : markers) {
    for (size_t k = std::min(m.text.size() - 1, buf.size()); k > keep; --k) {
      if (buf.substr(buf.size() - k) == m.text.substr(0, k)) {
        keep = k;
        break;
      }
    }
  }
  return keep;
}

bool IsChannelNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

}  // namespace

// --- ResponseParser ---

std::vector<ResponseEvent> ResponseParser::Feed(std::string_view piece) {
  std::vector<Event> out;
  if (finished_ || state_ == State::kDone) return out;
  buf_.append(piece);
  Process(/*final=*/false, &out);
  return out;
}

Status ResponseParser::Finish(std::vector<Event>* events) {
  if (finished_) return status_;
  finished_ = true;
  std::vector<Event> out;
  Process(/*final=*/true, &out);
  state_ = State::kDone;
  buf_.clear();
  if (events != nullptr) {
    for (Event& e : out) events->push_back(std::move(e));
  }
  return status_;
}

void ResponseParser::Emit(Event::Kind kind, std::string_view text,
                          std::vector<Event>* out) {
  if (text.empty()) return;
  if (!out->empty() && out->back().kind == kind) {
    out->back().text.append(text);
    return;
  }
  Event e;
  e.kind = kind;
  e.text.assign(text);
  out->push_back(std::move(e));
}

void ResponseParser::SetError(std::string message) {
  if (status_.ok()) status_ = InvalidArgument(std::move(message));
}

void ResponseParser::Process(bool final, std::vector<Event>* out) {
  while (true) {
    switch (state_) {
      case State::kDone:
        buf_.clear();
        return;

      case State::kText:
      case State::kThinking: {
        const bool thinking = state_ == State::kThinking;
        const Event::Kind kind = thinking ? Event::kThinking : Event::kText;
        size_t pos = 0;
        const Marker* m = thinking ? FindMarker(buf_, 0, kThinkingMarkers, &pos)
                                   : FindMarker(buf_, 0, kTextMarkers, &pos);
        if (m == nullptr) {
          size_t keep = 0;
          if (!final) {
            keep = thinking ? HeldBack(buf_, kThinkingMarkers)
                            : HeldBack(buf_, kTextMarkers);
          }
          Emit(kind, std::string_view(buf_).substr(0, buf_.size() - keep), out);
          buf_.erase(0, buf_.size() - keep);
          return;
        }
        Emit(kind, std::string_view(buf_).substr(0, pos), out);
        buf_.erase(0, pos + m->text.size());
        switch (m->kind) {
          case MarkerKind::kChannelOpen:
            state_ = State::kChannelHeader;
            break;
          case MarkerKind::kChannelClose:
          case MarkerKind::kCallClose:
            state_ = State::kText;  // a stray closer is dropped
            break;
          case MarkerKind::kCallOpen:
            state_ = State::kToolCall;
            scan_from_ = 0;
            break;
          case MarkerKind::kEnd:
            state_ = State::kDone;
            break;
        }
        continue;
      }

      case State::kChannelHeader: {
        size_t i = 0;
        while (i < buf_.size() && i <= kMaxChannelName &&
               IsChannelNameChar(buf_[i])) {
          ++i;
        }
        if (i > kMaxChannelName) {  // not a header: visible text
          state_ = State::kText;
          continue;
        }
        if (i == buf_.size() && !final) return;  // need the next character
        const std::string name = buf_.substr(0, i);
        const bool newline = i < buf_.size() && buf_[i] == '\n';
        if (name == "thought" || name.empty()) {
          buf_.erase(0, i + (newline ? 1 : 0));
          state_ = State::kThinking;
        } else {
          // Another channel: its text is visible. Without the "\n" the word
          // was no channel name and stays visible too.
          if (newline) buf_.erase(0, i + 1);
          state_ = State::kText;
        }
        continue;
      }

      case State::kToolCall: {
        size_t pos = 0;
        const Marker* m = FindMarker(buf_, scan_from_, kCallMarkers, &pos);
        if (m == nullptr) {
          if (final) {
            SetError("unterminated tool call (no <tool_call|>): '" +
                     Excerpt(buf_) + "'");
            state_ = State::kDone;
            continue;
          }
          scan_from_ = buf_.size() > kMaxMarkerOverlap
                           ? buf_.size() - kMaxMarkerOverlap
                           : 0;
          return;
        }
        const std::string body = buf_.substr(0, pos);
        buf_.erase(0, pos + m->text.size());
        scan_from_ = 0;
        if (m->kind != MarkerKind::kCallClose) {
          SetError(
              "unterminated tool call (end of turn before <tool_call|>): "
              "'" +
              Excerpt(body) + "'");
          state_ = State::kDone;
          continue;
        }
        StatusOr<ToolCall> call = ParseToolCall(body);
        if (call.ok()) {
          Event e;
          e.kind = Event::kToolCall;
          e.tool_call = std::move(call).value();
          out->push_back(std::move(e));
        } else {
          SetError(call.status().message());
        }
        state_ = State::kText;
        continue;
      }
    }
  }
}

}  // namespace facet::gemma4
