#include "src/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include "src/util/status_macros.h"

namespace facet {

Status ValidateSamplerOptions(const SamplerOptions& o) {
  if (!(o.temperature >= 0 && std::isfinite(o.temperature))) {
    return InvalidArgument("temperature must be >= 0");
  }
  if (o.top_k < 0) return InvalidArgument("top_k must be >= 0 (0 = off)");
  if (!(o.top_p > 0 && o.top_p <= 1)) {
    return InvalidArgument("top_p must be in (0, 1]");
  }
  if (!(o.min_p >= 0 && o.min_p < 1)) {
    return InvalidArgument("min_p must be in [0, 1)");
  }
  if (!(o.repetition_penalty > 0 && std::isfinite(o.repetition_penalty))) {
    return InvalidArgument("repetition_penalty must be > 0");
  }
  if (!std::isfinite(o.presence_penalty) ||
      !std::isfinite(o.frequency_penalty)) {
    return InvalidArgument("presence/frequency penalties must be finite");
  }
  if (o.penalty_last_n < 0) {
    return InvalidArgument("penalty_last_n must be >= 0");
  }
  return OkStatus();
}

Sampler::Sampler(const SamplerOptions& o) : o_(o) { Reseed(o.seed); }

void Sampler::Reseed(uint64_t seed) {
  state_ = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
}

double Sampler::Uniform() {
  // splitmix64: the same sequence on every platform and standard library.
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

void Sampler::Penalize(const float* logits, int vocab,
                       const std::vector<int>& history) {
  work_.assign(logits, logits + vocab);
  // Penalties over the last penalty_last_n tokens (llama.cpp semantics:
  // repetition divides positive logits and multiplies negative ones).
  if (o_.penalty_last_n > 0 &&
      (o_.repetition_penalty != 1.f || o_.presence_penalty != 0.f ||
       o_.frequency_penalty != 0.f)) {
    std::unordered_map<int, int> counts;
    size_t start = history.size() > static_cast<size_t>(o_.penalty_last_n)
                       ? history.size() - o_.penalty_last_n
                       : 0;
    for (size_t i = start; i < history.size(); ++i) {
      if (history[i] >= 0 && history[i] < vocab) counts[history[i]]++;
    }
    for (const auto& [tok, n] : counts) {
      float& l = work_[tok];
      l = l > 0 ? l / o_.repetition_penalty : l * o_.repetition_penalty;
      l -= o_.presence_penalty + o_.frequency_penalty * n;
    }
  }
}

int Sampler::Argmax() const {
  return static_cast<int>(std::max_element(work_.begin(), work_.end()) -
                          work_.begin());
}

int Sampler::Candidates(int vocab) {
  // Candidates sorted by logit, cut to top-k.
  idx_.resize(vocab);
  std::iota(idx_.begin(), idx_.end(), 0);
  int k = (o_.top_k > 0 && o_.top_k < vocab) ? o_.top_k : vocab;
  auto by_logit = [&](int a, int b) {
    return work_[a] > work_[b] || (work_[a] == work_[b] && a < b);
  };
  std::partial_sort(idx_.begin(), idx_.begin() + k, idx_.end(), by_logit);
  idx_.resize(k);
  // Softmax at temperature.
  std::vector<double>& p = p_;
  p.assign(k, 0.0);
  const double mx = work_[idx_[0]];
  double sum = 0;
  for (int i = 0; i < k; ++i) {
    sum += (p[i] = std::exp((work_[idx_[i]] - mx) / o_.temperature));
  }
  for (double& v : p) v /= sum;
  // top-p: smallest prefix with mass >= top_p (at least one token).
  int keep = k;
  if (o_.top_p < 1.f) {
    double cum = 0;
    for (int i = 0; i < k; ++i) {
      cum += p[i];
      if (cum >= o_.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  // min-p: drop tokens below min_p times the top probability.
  if (o_.min_p > 0.f) {
    const double floor = o_.min_p * p[0];
    int m = 1;
    while (m < keep && p[m] >= floor) ++m;
    keep = m;
  }
  return keep;
}

int Sampler::Sample(const float* logits, int vocab,
                    const std::vector<int>& history) {
  Penalize(logits, vocab, history);
  if (Greedy()) return Argmax();
  const int keep = Candidates(vocab);
  const std::vector<double>& p = p_;
  double total = 0;
  for (int i = 0; i < keep; ++i) total += p[i];
  double r = Uniform() * total;
  for (int i = 0; i < keep; ++i) {
    r -= p[i];
    if (r < 0) return idx_[i];
  }
  return idx_[keep - 1];
}

int Sampler::SampleDraft(const float* logits, int vocab,
                         const std::vector<int>& history, int draft,
                         bool* accepted) {
  Penalize(logits, vocab, history);
  if (Greedy()) {
    const int t = Argmax();
    *accepted = t == draft;
    return t;
  }
  const int keep = Candidates(vocab);
  const std::vector<double>& p = p_;
  double total = 0;
  int at = -1;  // the draft among the kept candidates
  for (int i = 0; i < keep; ++i) {
    total += p[i];
    if (idx_[i] == draft) at = i;
  }
  // Accept with probability p(draft) = p[at] / total.
  const double pd = at >= 0 ? p[at] : 0.0;
  if (pd > 0 && Uniform() * total < pd) {
    *accepted = true;
    return draft;
  }
  *accepted = false;
  // The residual: the kept candidates without the draft.
  double r = Uniform() * (total - pd);
  int fallback = -1;
  for (int i = 0; i < keep; ++i) {
    if (i == at) continue;
    fallback = i;
    r -= p[i];
    if (r < 0) return idx_[i];
  }
  // Rounding left r >= 0 past the last one (or the draft was the only
  // candidate, which is then always accepted).
  if (fallback < 0) {
    *accepted = true;
    return draft;
  }
  return idx_[fallback];
}

}  // namespace facet
