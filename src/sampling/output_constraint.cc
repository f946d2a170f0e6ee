#include "src/sampling/output_constraint.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "src/util/status_macros.h"

namespace facet {
namespace {

using Clock = std::chrono::steady_clock;

// Adds the clock time of its scope to *seconds.
class Timed {
 public:
  explicit Timed(double* seconds) : seconds_(seconds), start_(Clock::now()) {}
  ~Timed() {
    *seconds_ += std::chrono::duration<double>(Clock::now() - start_).count();
  }

 private:
  double* seconds_;
  Clock::time_point start_;
};

void Mask(float* logits, int64_t vocab, int id) {
  if (id >= 0 && id < vocab) logits[id] = -INFINITY;
}

}  // namespace

OutputConstraint::OutputConstraint(const TokenVocab& vocab,
                                   const OutputConstraintSpec& spec)
    : vocab_(vocab), spec_(spec) {
  if (spec_.tools != nullptr) {
    tool_masker_ = std::make_unique<TokenMasker>(vocab_, *spec_.tools);
  }
  if (spec_.json != nullptr) {
    json_masker_ = std::make_unique<TokenMasker>(vocab_, *spec_.json);
    grammar_ = spec_.json->Start();
    state_ = State::kStart;
  } else if (spec_.tools != nullptr &&
             (spec_.mode == ToolChoiceMode::kRequired ||
              spec_.mode == ToolChoiceMode::kNamed)) {
    state_ = State::kStart;
  }
}

bool OutputConstraint::CallsAllowed() const {
  return spec_.tools != nullptr && spec_.mode != ToolChoiceMode::kNone &&
         vocab_.tool_call_open >= 0;
}

bool OutputConstraint::Complete() const {
  return state_ == State::kEnd ||
         (state_ == State::kJson && grammar_.depth == 1);
}

Status OutputConstraint::Apply(float* logits, int64_t vocab) {
  Timed timed(&seconds_);
  const size_t words = (static_cast<size_t>(vocab_.size()) + 63) / 64;
  const TokenBits* allowed = nullptr;
  switch (state_) {
    case State::kFree:
    case State::kThought:
      if (!CallsAllowed()) Mask(logits, vocab, vocab_.tool_call_open);
      if (state_ == State::kThought && after_thought_ == State::kStart) {
        // The turn must go on to its call / document after the thought.
        for (int id : vocab_.end_ids) Mask(logits, vocab, id);
        Mask(logits, vocab, vocab_.tool_response);
        Mask(logits, vocab, vocab_.turn_open);
      }
      return OkStatus();
    case State::kStart:
      bits_.assign(words, 0);
      if (json_masker_ != nullptr) bits_ = json_masker_->Allowed(grammar_);
      if (CallsAllowed()) SetBit(&bits_, vocab_.tool_call_open);
      if (spec_.thinking && vocab_.channel_open >= 0) {
        SetBit(&bits_, vocab_.channel_open);
      }
      allowed = &bits_;
      break;
    case State::kCall:
      allowed = &tool_masker_->Allowed(grammar_);
      break;
    case State::kAfterCall:
      bits_.assign(words, 0);
      SetBit(&bits_, vocab_.tool_call_open);
      if (vocab_.tool_response >= 0) {
        SetBit(&bits_, vocab_.tool_response);
      } else {
        for (int id : vocab_.end_ids) SetBit(&bits_, id);
      }
      allowed = &bits_;
      break;
    case State::kJson:
      allowed = &json_masker_->Allowed(grammar_);
      break;
    case State::kEnd:
      return OkStatus();
  }
  bool any = false;
  const int64_t n = std::min<int64_t>(vocab, vocab_.size());
  for (size_t w = 0; w * 64 < static_cast<size_t>(n); ++w) {
    const uint64_t word = (*allowed)[w];
    if (word == ~uint64_t{0}) {
      any = true;
      continue;
    }
    if (word != 0) any = true;
    const int64_t base = static_cast<int64_t>(w) * 64;
    const int64_t end = std::min<int64_t>(base + 64, n);
    for (int64_t id = base; id < end; ++id) {
      if (!(word >> (id - base) & 1)) logits[id] = -INFINITY;
    }
  }
  for (int64_t id = n; id < vocab; ++id) logits[id] = -INFINITY;
  if (!any) {
    return Internal(
        "constrained decoding: no token of the vocabulary can continue the " +
        std::string(state_ == State::kCall ? "tool call" : "answer") + " here");
  }
  return OkStatus();
}

bool OutputConstraint::FreeAccept(int token) {
  if (token < 0 || token >= vocab_.size()) return true;
  if (vocab_.kind(token) != TokenVocab::kBytes) {
    marker_ = MarkerScanner::kStart;
    return true;
  }
  const MarkerScanner& scanner = MarkerScanner::Get();
  uint8_t m = marker_;
  for (unsigned char c : vocab_.text(token)) {
    m = scanner.Next(m, c);
    if (m == MarkerScanner::kMatch) return false;
  }
  marker_ = m;
  return true;
}

bool OutputConstraint::Accept(int token) {
  Timed timed(&seconds_);
  const int named =
      spec_.mode == ToolChoiceMode::kNamed ? spec_.named_tool : -1;
  auto open_call = [&]() {
    state_ = State::kCall;
    grammar_ = spec_.tools->Start(named);
    return true;
  };
  switch (state_) {
    case State::kFree:
      if (token == vocab_.tool_call_open && CallsAllowed()) return open_call();
      return FreeAccept(token);
    case State::kThought:
      if (token == vocab_.channel_close) {
        state_ = after_thought_;
        marker_ = MarkerScanner::kStart;
        return true;
      }
      if (token == vocab_.tool_call_open && CallsAllowed()) return open_call();
      return FreeAccept(token);
    case State::kStart: {
      if (token == vocab_.channel_open && spec_.thinking) {
        after_thought_ = State::kStart;
        state_ = State::kThought;
        marker_ = MarkerScanner::kStart;
        return true;
      }
      if (token == vocab_.tool_call_open && CallsAllowed()) return open_call();
      if (json_masker_ == nullptr) return false;
      GrammarState s = grammar_;
      if (!json_masker_->Step(&s, token)) return false;
      grammar_ = s;
      state_ = s.done() ? State::kEnd : State::kJson;
      return true;
    }
    case State::kCall: {
      GrammarState s = grammar_;
      if (!tool_masker_->Step(&s, token)) return false;
      grammar_ = s;
      if (s.done()) {
        const bool free = spec_.mode == ToolChoiceMode::kAuto && !spec_.json;
        state_ = free ? State::kFree : State::kAfterCall;
        marker_ = MarkerScanner::kStart;
      }
      return true;
    }
    case State::kAfterCall:
      if (token == vocab_.tool_call_open) return open_call();
      if (token == vocab_.tool_response ||
          std::find(vocab_.end_ids.begin(), vocab_.end_ids.end(), token) !=
              vocab_.end_ids.end()) {
        state_ = State::kEnd;
        return true;
      }
      return false;
    case State::kJson: {
      GrammarState s = grammar_;
      if (!json_masker_->Step(&s, token)) return false;
      grammar_ = s;
      if (s.done()) state_ = State::kEnd;
      return true;
    }
    case State::kEnd:
      return true;
  }
  return false;
}

}  // namespace facet
