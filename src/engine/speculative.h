// Speculative decoding: guess several tokens, verify them in one forward
// pass of the target model, keep the longest run it agrees with.
//
// Drafting here is prompt lookup (the continuation of the longest recent
// n-gram match in the conversation so far) or an app's own drafter
// (SpeculativeOptions::drafter). The acceptance rule lives in the sampler
// (Sampler::SampleDraft); the token loop that forwards and rolls back is
// in generate.cc. DraftController decides, from measured acceptance and
// measured step times, how many drafted tokens a step verifies, and stops
// drafting when it does not pay (trying again later).
#ifndef FACET_SRC_ENGINE_SPECULATIVE_H_
#define FACET_SRC_ENGINE_SPECULATIVE_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "facet/facet.h"
#include "src/engine/engine_impl.h"

namespace facet {

// Checks mode and max_draft (1..kMaxDraftTokens).
Status ValidateSpeculativeOptions(const SpeculativeOptions& o);

inline constexpr int kMaxDraftTokens = 32;

// Prompt lookup: finds the most recent earlier occurrence of the longest
// suffix of tokens[0, n) of min_ngram..max_ngram tokens, and puts the
// `max` tokens that followed it into *draft (empty when none matches);
// where the history ends, the copy repeats what it copied (a loop).
void LookupDraft(const int* tokens, size_t n, int max, std::vector<int>* draft,
                 int min_ngram = 2, int max_ngram = 4);

// The draft length of each step. With a plain step of a seconds, a verify
// step of k drafted tokens costs about a + b k seconds and emits
// 1 + alpha + ... + alpha^k tokens on average (alpha: the measured chance
// that a drafted token is accepted after the ones before it were). The
// controller picks the k that maximises tokens per second, and decodes
// plainly when no k beats a plain step by a margin; then it waits a number
// of steps (doubling while drafting keeps failing) before it tries a short
// draft again.
class DraftController {
 public:
  // `max_draft` 0 turns drafting off; `adaptive` false drafts whatever the
  // drafter offers (up to max_draft) on every step.
  DraftController(int max_draft, bool adaptive);

  // Tokens of `available` drafted ones to verify in the next step; 0 =
  // decode one token plainly. Called once per step.
  int Length(int available);
  // A plain step, and a verify step of `drafted` tokens, took `seconds`
  // (from one forward pass to the next: sampling included).
  void Decoded(double seconds);
  void Verified(int drafted, double seconds);
  // Of the `drafted` tokens of a verify step, the first `accepted` were
  // kept.
  void Resolved(int drafted, int accepted);

  double acceptance() const;  // the current estimate of alpha
  int max_draft() const { return max_draft_; }

 private:
  int max_draft_;
  bool adaptive_;
  double step_s_ = 0;    // a: EMA of plain steps (0 = none measured yet)
  double extra_s_ = -1;  // b: EMA of the cost per drafted token (-1: none)
  double accepted_ = 0;  // decayed counts of accepted tokens and rejections
  double rejected_ = 0;
  int cooldown_ = 0;  // plain steps left before drafting is tried again
  int backoff_;       // the next cooldown
  bool probe_ = false;
};

// The forward side of speculation in a session's token loop: feeds a
// sampled token with drafted tokens after it (one forward pass with the
// logits of every position), hands out the rows to check them against,
// and rolls the cache back past the ones not accepted.
class SpeculativeDecoder {
 public:
  // `allowed` false (the answer is constrained): every step is plain.
  SpeculativeDecoder(Session::Impl& s, const SpeculativeOptions& o,
                     bool allowed);

  // Whether the current logits row checks a drafted token, and which.
  bool checking() const { return at_ < draft_.size(); }
  int draft_token() const { return draft_[at_]; }
  // The drafted token was accepted (it is in the cache already): *logits
  // gets the row after it.
  void Accept(std::vector<float>* logits);
  // The cache forgets the drafted tokens from the current one on (none
  // left: nothing to do).
  Status Reject();
  // Forwards `token` at the cache's position, with up to `budget` drafted
  // tokens after it when drafting pays; *logits gets the row after
  // `token`.
  Status Feed(int token, int budget, std::vector<float>* logits);

  int64_t steps() const { return steps_; }
  int64_t drafted() const { return drafted_; }
  int64_t accepted() const { return accepted_; }

 private:
  using Clock = std::chrono::steady_clock;
  Session::Impl& s_;
  const SpeculativeOptions& o_;
  DraftController controller_;
  std::vector<int> draft_;   // the drafted tokens in the cache
  size_t at_ = 0;            // the one the current row checks
  std::vector<float> rows_;  // [1 + drafted][vocab]
  std::vector<int> batch_, candidates_;
  Clock::time_point fed_at_;
  int fed_drafts_ = -1;  // drafted tokens of the step in flight (-1: none)
  // kDraft: the row of the last forward whose logits the current token
  // comes from (the drafter starts from its hidden state).
  int hidden_row_ = 0;
  int64_t steps_ = 0, drafted_ = 0, accepted_ = 0;
};

}  // namespace facet

#endif  // FACET_SRC_ENGINE_SPECULATIVE_H_
