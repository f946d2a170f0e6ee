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
  void Reseed(uint64_t seed);

 private:
  double Uniform();  // [0, 1) from the 64-bit generator, platform-independent

  SamplerOptions o_;
  uint64_t state_;
  std::vector<float> work_;
  std::vector<int> idx_;
};

}  // namespace facet

#endif  // FACET_SRC_SAMPLING_SAMPLER_H_
