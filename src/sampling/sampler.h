// Token sampling: greedy, temperature, top-k, top-p, min-p, and
// repetition / presence / frequency penalties, with a seeded generator so
// that runs are reproducible.
#ifndef FACET_SRC_SAMPLING_SAMPLER_H_
#define FACET_SRC_SAMPLING_SAMPLER_H_

#include <cstdint>
#include <vector>

#include "facet/facet.h"

namespace facet {

// Checks ranges (temperature >= 0, 0 < top_p <= 1, 0 <= min_p < 1, ...).
Status ValidateSamplerOptions(const SamplerOptions& o);

class Sampler {
 public:
  explicit Sampler(const SamplerOptions& o);

  // Picks the next token from `logits` [vocab]; `history` holds earlier
  // tokens for the penalties. Deterministic for a given seed.
  int Sample(const float* logits, int vocab, const std::vector<int>& history);
  // Speculative sampling with a guessed token `draft` (a one-hot draft
  // distribution): accepts it with its probability p(draft) under the
  // distribution Sample draws from, else draws from that distribution
  // without `draft` (renormalised). The result is distributed exactly as
  // Sample's; with greedy options it is Sample's token. *accepted tells
  // whether the result is the draft.
  int SampleDraft(const float* logits, int vocab,
                  const std::vector<int>& history, int draft, bool* accepted);
  void Reseed(uint64_t seed);

 private:
  double Uniform();  // [0, 1) from the 64-bit generator, platform-independent
  // The penalised logits into work_.
  void Penalize(const float* logits, int vocab,
                const std::vector<int>& history);
  bool Greedy() const { return o_.temperature == 0.f || o_.top_k == 1; }
  int Argmax() const;
  // The candidates after top-k / top-p / min-p: ids in idx_ and their
  // probabilities (of the top-k softmax) in p_, the first `keep` of them
  // kept. Returns keep.
  int Candidates(int vocab);

  SamplerOptions o_;
  uint64_t state_;
  std::vector<float> work_;
  std::vector<int> idx_;
  std::vector<double> p_;
};

}  // namespace facet

#endif  // FACET_SRC_SAMPLING_SAMPLER_H_
