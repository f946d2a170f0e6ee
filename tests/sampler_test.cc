// Sampling: greedy, seeded reproducibility, top-k/top-p/min-p cut-offs,
// penalties, and option validation.
#include "src/sampling/sampler.h"

#include <cmath>
#include <map>
#include <set>

#include "gtest/gtest.h"

namespace facet {
namespace {

std::vector<float> Logits() { return {1.0f, 3.0f, 2.0f, 0.5f, 2.9f, -1.f}; }

TEST(SamplerTest, GreedyPicksArgmax) {
  SamplerOptions o;
  o.temperature = 0;
  Sampler s(o);
  std::vector<float> l = Logits();
  EXPECT_EQ(s.Sample(l.data(), 6, {}), 1);
  o.temperature = 1, o.top_k = 1;
  Sampler s1(o);
  EXPECT_EQ(s1.Sample(l.data(), 6, {}), 1);
}

TEST(SamplerTest, SameSeedSameSequence) {
  SamplerOptions o;
  o.seed = 42;
  o.top_k = 0, o.top_p = 1;
  Sampler a(o), b(o);
  std::vector<float> l = Logits();
  std::vector<int> sa, sb;
  for (int i = 0; i < 50; ++i) {
    sa.push_back(a.Sample(l.data(), 6, {}));
    sb.push_back(b.Sample(l.data(), 6, {}));
  }
  EXPECT_EQ(sa, sb);
  o.seed = 43;
  Sampler c(o);
  std::vector<int> sc;
  for (int i = 0; i < 50; ++i) sc.push_back(c.Sample(l.data(), 6, {}));
  EXPECT_NE(sa, sc);
}

TEST(SamplerTest, FrequenciesFollowSoftmax) {
  SamplerOptions o;
  o.top_k = 0, o.top_p = 1, o.seed = 7;
  Sampler s(o);
  std::vector<float> l = {0.f, std::log(3.f)};  // p = 0.25 / 0.75
  int ones = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) ones += s.Sample(l.data(), 2, {});
  EXPECT_NEAR(ones / static_cast<double>(n), 0.75, 0.015);
}

std::set<int> Support(SamplerOptions o, const std::vector<float>& l) {
  Sampler s(o);
  std::set<int> seen;
  for (int i = 0; i < 3000; ++i) seen.insert(s.Sample(l.data(), l.size(), {}));
  return seen;
}

TEST(SamplerTest, TopKTopPMinPCut) {
  std::vector<float> l = Logits();  // order: 1, 4, 2, 0, 3, 5
  SamplerOptions o;
  o.top_k = 2, o.top_p = 1;
  EXPECT_EQ(Support(o, l), (std::set<int>{1, 4}));
  o.top_k = 0, o.top_p = 0.5f;  // p(1) ~ 0.38, p(4) ~ 0.34 -> both needed
  EXPECT_EQ(Support(o, l), (std::set<int>{1, 4}));
  o.top_p = 1, o.min_p = 0.3f;  // keeps p >= 0.3 * p_max: 1, 4 and 2
  EXPECT_EQ(Support(o, l), (std::set<int>{1, 4, 2}));
  o.min_p = 0, o.temperature = 100;  // nearly uniform
  EXPECT_EQ(Support(o, l).size(), 6u);
}

TEST(SamplerTest, PenaltiesLowerRepeatedTokens) {
  std::vector<float> l = {2.0f, 1.9f};
  SamplerOptions o;
  o.temperature = 0;
  o.repetition_penalty = 1.2f;  // 2.0 / 1.2 = 1.67 < 1.9
  Sampler s(o);
  EXPECT_EQ(s.Sample(l.data(), 2, {0}), 1);
  EXPECT_EQ(s.Sample(l.data(), 2, {}), 0);
  o.repetition_penalty = 1, o.presence_penalty = 0.05f,
  o.frequency_penalty = 0.05f;  // 2.0 - 0.05 - 0.05 * 2 = 1.85
  Sampler f(o);
  EXPECT_EQ(f.Sample(l.data(), 2, {0}), 0);
  EXPECT_EQ(f.Sample(l.data(), 2, {0, 0}), 1);
  o.penalty_last_n = 1;  // only the last token counts
  Sampler g(o);
  EXPECT_EQ(g.Sample(l.data(), 2, {0, 0, 1}), 0);
}

TEST(SamplerTest, ValidateRejectsBadOptions) {
  SamplerOptions o;
  EXPECT_TRUE(ValidateSamplerOptions(o).ok());
  std::map<std::string, SamplerOptions> bad;
  bad["temperature"].temperature = -1;
  bad["top_k"].top_k = -2;
  bad["top_p"].top_p = 0;
  bad["min_p"].min_p = 1;
  bad["repetition_penalty"].repetition_penalty = 0;
  bad["penalty_last_n"].penalty_last_n = -1;
  for (const auto& [what, opt] : bad) {
    Status s = ValidateSamplerOptions(opt);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << what;
    EXPECT_NE(s.message().find(what), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace facet
