#include "src/engine/speculative.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "src/util/status_macros.h"

namespace facet {
namespace {

// Plain steps before drafting is tried again after it stopped paying;
// doubled after each failed try up to the maximum.
constexpr int kMinBackoff = 32;
constexpr int kMaxBackoff = 256;
// A draft length must promise this much more tokens per second than plain
// decoding (the estimates are noisy; a wrong guess costs a verify step).
constexpr double kMargin = 0.03;
// Weight of the newest measurement in the step-time averages, and the
// decay of the acceptance counts per verify step (about the last 10).
constexpr double kTimeWeight = 0.25;
constexpr double kCountDecay = 0.9;
// Before a verify step is measured, a drafted token is taken to cost this
// fraction of a plain step.
constexpr double kPriorExtra = 0.15;
constexpr double kMinExtra = 0.03;

}  // namespace

Status ValidateSpeculativeOptions(const SpeculativeOptions& o) {
  switch (o.mode) {
    case SpeculativeMode::kOff:
      return OkStatus();
    case SpeculativeMode::kPromptLookup:
      break;
    case SpeculativeMode::kCustom:
      if (!o.drafter) {
        return InvalidArgument(
            "speculative mode kCustom needs SpeculativeOptions::drafter");
      }
      break;
    case SpeculativeMode::kDraft:
      // Whether the engine has a drafter is checked where it generates.
      break;
    default:
      return InvalidArgument("unknown speculative mode");
  }
  if (o.max_draft < 1 || o.max_draft > kMaxDraftTokens) {
    return InvalidArgument("max_draft must be in 1.." +
                           std::to_string(kMaxDraftTokens) + ", got " +
                           std::to_string(o.max_draft));
  }
  return OkStatus();
}

void LookupDraft(const int* tokens, size_t n, int max, std::vector<int>* draft,
                 int min_ngram, int max_ngram) {
  draft->clear();
  if (max <= 0 || min_ngram < 1) return;
  for (int g = std::min<int>(max_ngram, static_cast<int>(n) - 1);
       g >= min_ngram; --g) {
    const int* suffix = tokens + n - g;
    // The most recent earlier occurrence: it ends before the suffix does.
    for (size_t end = n - 1; end >= static_cast<size_t>(g); --end) {
      if (tokens[end - 1] != suffix[g - 1] ||
          !std::equal(suffix, suffix + g, tokens + end - g)) {
        continue;
      }
      // What followed it; past the end of the history the copy goes on
      // from its own start (a loop of period n - end repeats).
      for (int i = 0; i < max; ++i) {
        const size_t at = end + i;
        draft->push_back(at < n ? tokens[at] : (*draft)[at - n]);
      }
      return;
    }
  }
}

DraftController::DraftController(int max_draft, bool adaptive)
    : max_draft_(std::max(0, max_draft)),
      adaptive_(adaptive),
      backoff_(kMinBackoff) {}

double DraftController::acceptance() const {
  // A weak prior of one half: one rejection brings it below 0.1.
  return (accepted_ + 0.1) / (accepted_ + rejected_ + 0.2);
}

int DraftController::Length(int available) {
  if (max_draft_ <= 0) return 0;
  if (adaptive_ && cooldown_ > 0) {
    --cooldown_;
    return 0;
  }
  const int cap = std::min(available, max_draft_);
  if (cap <= 0) return 0;
  if (!adaptive_) return cap;
  if (step_s_ <= 0) return 0;  // measure a plain step first
  const double a = step_s_;
  // No verify step is free (noise can make one look so).
  const double b =
      std::max(kMinExtra * a, extra_s_ >= 0 ? extra_s_ : kPriorExtra * a);
  const double alpha = acceptance();
  int best = 1;
  double best_gain = 0;
  double expected = 1, term = 1;  // 1 + alpha + ... + alpha^k
  for (int k = 1; k <= cap; ++k) {
    term *= alpha;
    expected += term;
    const double gain = expected * a / (a + b * k);
    if (gain > best_gain) {
      best_gain = gain;
      best = k;
    }
  }
  if (probe_) {
    probe_ = false;
    return best;
  }
  if (best_gain >= 1 + kMargin) return best;
  // Drafting does not pay now: decode plainly for a while, then probe.
  cooldown_ = backoff_;
  backoff_ = std::min(2 * backoff_, kMaxBackoff);
  probe_ = true;
  return 0;
}

void DraftController::Decoded(double seconds) {
  step_s_ = step_s_ <= 0 ? seconds
                         : (1 - kTimeWeight) * step_s_ + kTimeWeight * seconds;
}

void DraftController::Verified(int drafted, double seconds) {
  if (drafted <= 0 || step_s_ <= 0) return;
  const double extra = std::max(0.0, (seconds - step_s_) / drafted);
  extra_s_ =
      extra_s_ < 0 ? extra : (1 - kTimeWeight) * extra_s_ + kTimeWeight * extra;
}

void DraftController::Resolved(int drafted, int accepted) {
  accepted_ = kCountDecay * accepted_ + accepted;
  rejected_ = kCountDecay * rejected_ + (accepted < drafted ? 1 : 0);
  if (accepted > 0) backoff_ = kMinBackoff;
}

SpeculativeDecoder::SpeculativeDecoder(Session::Impl& s,
                                       const SpeculativeOptions& o,
                                       bool allowed)
    : s_(s),
      o_(o),
      controller_(allowed && o.mode != SpeculativeMode::kOff
                      ? std::min<int64_t>(
                            {o.max_draft,
                             // The MTP drafter's window (HF rule) reads one key
                             // more than the sliding ring keeps after a
                             // rollback of a whole chunk.
                             s.options.prefill_chunk - 1 -
                                 (o.mode == SpeculativeMode::kDraft ? 1 : 0),
                             s.state->MaxRollback()})
                      : 0,
                  o.adaptive) {}

void SpeculativeDecoder::Accept(std::vector<float>* logits) {
  ++at_;
  ++accepted_;
  hidden_row_ = static_cast<int>(at_);
  const size_t V = logits->size();
  std::copy(rows_.begin() + at_ * V, rows_.begin() + (at_ + 1) * V,
            logits->begin());
  if (at_ == draft_.size()) {
    controller_.Resolved(static_cast<int>(draft_.size()),
                         static_cast<int>(draft_.size()));
    draft_.clear();
    at_ = 0;
  }
}

Status SpeculativeDecoder::Reject() {
  if (at_ >= draft_.size()) return OkStatus();
  const int64_t drop = static_cast<int64_t>(draft_.size() - at_);
  controller_.Resolved(static_cast<int>(draft_.size()), static_cast<int>(at_));
  draft_.clear();
  at_ = 0;
  return s_.state->Truncate(s_.state->position() - drop);
}

Status SpeculativeDecoder::Feed(int token, int budget,
                                std::vector<float>* logits) {
  const Clock::time_point now = Clock::now();
  if (fed_drafts_ >= 0) {
    const double dt = std::chrono::duration<double>(now - fed_at_).count();
    if (fed_drafts_ == 0) {
      controller_.Decoded(dt);
    } else {
      controller_.Verified(fed_drafts_, dt);
    }
  }
  fed_at_ = now;
  int k = 0;
  const ModelState& state = *s_.state;
  const int room = static_cast<int>(
      std::min<int64_t>({controller_.max_draft(), budget,
                         state.context() - state.position() - 1}));
  if (room > 0) {
    candidates_.clear();
    s_.tokens.push_back(token);
    if (o_.mode == SpeculativeMode::kDraft && s_.engine->drafter) {
      // The drafter costs a step per token: ask the controller first.
      const int want = controller_.Length(room);
      const Status drafted =
          want > 0 ? s_.engine->drafter->Draft(state, hidden_row_, token, want,
                                               s_.engine->pool, &candidates_)
                   : OkStatus();
      if (!drafted.ok()) {
        s_.tokens.pop_back();
        return drafted;
      }
    } else if (o_.mode == SpeculativeMode::kPromptLookup) {
      LookupDraft(s_.tokens.data(), s_.tokens.size(), room, &candidates_);
    } else if (o_.mode == SpeculativeMode::kCustom && o_.drafter) {
      candidates_ = o_.drafter(s_.tokens, room);
    }
    s_.tokens.pop_back();
    // An app's drafter may offer anything: keep the valid run up to room.
    const int64_t V = s_.engine->model->vocab_size();
    size_t valid = 0;
    while (valid < candidates_.size() && valid < static_cast<size_t>(room) &&
           candidates_[valid] >= 0 && candidates_[valid] < V) {
      ++valid;
    }
    k = o_.mode == SpeculativeMode::kDraft
            ? static_cast<int>(valid)
            : controller_.Length(static_cast<int>(valid));
  } else {
    controller_.Length(0);
  }
  fed_drafts_ = k;
  hidden_row_ = 0;  // the row after `token`, either way
  if (k == 0) {
    return PrefillPositions(&s_, {token}, {}, logits, false, nullptr);
  }
  batch_.assign(1, token);
  batch_.insert(batch_.end(), candidates_.begin(), candidates_.begin() + k);
  FACET_RETURN_IF_ERROR(
      PrefillPositions(&s_, batch_, {}, &rows_, true, nullptr));
  draft_.assign(candidates_.begin(), candidates_.begin() + k);
  at_ = 0;
  ++steps_;
  drafted_ += k;
  const size_t V = rows_.size() / batch_.size();
  logits->assign(rows_.begin(), rows_.begin() + V);
  return OkStatus();
}

}  // namespace facet
