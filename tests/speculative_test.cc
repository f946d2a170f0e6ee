// Speculative decoding: prompt lookup, the adaptive draft length, the
// acceptance rule (the output distribution equals plain sampling), and
// the token loop (greedy answers identical to plain decoding, the cache
// rolled back past rejected tokens, off under constraints).
#include "src/engine/speculative.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "facet/facet.h"
#include "gtest/gtest.h"
#include "src/sampling/sampler.h"
#include "tests/test_paths.h"

namespace facet {
namespace {

using testing::TestData;

std::vector<int> Lookup(const std::vector<int>& t, int max) {
  std::vector<int> d;
  LookupDraft(t.data(), t.size(), max, &d);
  return d;
}

TEST(SpecLookupTest, LongestRecentMatch) {
  // Suffix "7 8": its last earlier occurrence is followed by 9 4.
  EXPECT_EQ(Lookup({7, 8, 1, 2, 7, 8, 9, 4, 5, 7, 8}, 2),
            (std::vector<int>{9, 4}));
  // The longer suffix "3 7 8" wins over the more recent "7 8".
  EXPECT_EQ(Lookup({3, 7, 8, 6, 6, 7, 8, 5, 3, 7, 8}, 3),
            (std::vector<int>{6, 6, 7}));
  // No earlier bigram: nothing drafted; unigram matches are not used.
  EXPECT_TRUE(Lookup({1, 2, 3, 4, 1}, 4).empty());
  EXPECT_TRUE(Lookup({5}, 4).empty());
  EXPECT_TRUE(Lookup({}, 4).empty());
  // Past the end of the history the loop goes on.
  EXPECT_EQ(Lookup({1, 2, 3, 1, 2}, 8),
            (std::vector<int>{3, 1, 2, 3, 1, 2, 3, 1}));
  EXPECT_EQ(Lookup({4, 4, 4}, 5), (std::vector<int>{4, 4, 4, 4, 4}));
  EXPECT_TRUE(Lookup({1, 2, 1, 2}, 0).empty());
}

TEST(SpecControllerTest, NonAdaptiveDraftsWhatIsOffered) {
  DraftController c(8, false);
  EXPECT_EQ(c.Length(5), 5);
  EXPECT_EQ(c.Length(20), 8);
  EXPECT_EQ(c.Length(0), 0);
  DraftController off(0, false);
  EXPECT_EQ(off.Length(5), 0);
}

TEST(SpecControllerTest, StopsWhenNothingIsAcceptedAndProbesLater) {
  DraftController c(8, true);
  EXPECT_EQ(c.Length(8), 0);  // no plain step measured yet
  c.Decoded(0.010);
  int verifies = 0, plain = 0;
  for (int step = 0; step < 1000; ++step) {
    const int k = c.Length(8);
    if (k == 0) {
      ++plain;
      c.Decoded(0.010);
      continue;
    }
    ++verifies;
    c.Verified(k, 0.010 + 0.002 * k);
    c.Resolved(k, 0);
  }
  // A few tries at first, then probes with backoff: < 3 % of the steps.
  EXPECT_GT(verifies, 0);
  EXPECT_LT(verifies, 30);
  EXPECT_LT(c.acceptance(), 0.5);
}

TEST(SpecControllerTest, DraftsLongWhenAccepted) {
  DraftController c(8, true);
  c.Decoded(0.010);
  int k = 0;
  for (int step = 0; step < 50; ++step) {
    k = c.Length(8);
    ASSERT_GT(k, 0);
    c.Verified(k, 0.010 + 0.001 * k);
    c.Resolved(k, k);
  }
  EXPECT_EQ(k, 8);
  // Expensive verification: shorter drafts at the same acceptance.
  DraftController d(8, true);
  d.Decoded(0.010);
  for (int step = 0; step < 50; ++step) {
    k = d.Length(8);
    if (k == 0) continue;
    d.Verified(k, 0.010 + 0.008 * k);
    d.Resolved(k, std::min(k, 1));
  }
  EXPECT_LE(k, 2);
}

// Two-sample chi-square over the categories both samples hit at least
// 10 times (the rest pooled); true when it is within ~6 sigma of its
// degrees of freedom.
bool SameDistribution(const std::map<int, int>& a, const std::map<int, int>& b,
                      std::string* why) {
  std::map<int, std::pair<double, double>> cells;
  for (const auto& [k, n] : a) cells[k].first += n;
  for (const auto& [k, n] : b) cells[k].second += n;
  double na = 0, nb = 0;
  for (const auto& [k, c] : cells) {
    na += c.first;
    nb += c.second;
  }
  std::vector<std::pair<double, double>> bins;
  std::pair<double, double> pooled{0, 0};
  for (const auto& [k, c] : cells) {
    if (c.first + c.second >= 20) {
      bins.push_back(c);
    } else {
      pooled.first += c.first;
      pooled.second += c.second;
    }
  }
  if (pooled.first + pooled.second > 0) bins.push_back(pooled);
  double chi2 = 0;
  for (const auto& [x, y] : bins) {
    const double e = (x + y) / (na + nb);
    const double ea = e * na, eb = e * nb;
    chi2 += (x - ea) * (x - ea) / ea + (y - eb) * (y - eb) / eb;
  }
  const double df = std::max<double>(1, bins.size() - 1);
  *why = "chi2 " + std::to_string(chi2) + " df " + std::to_string(df);
  return chi2 < df + 6 * std::sqrt(2 * df);
}

// The acceptance rule gives Sample's distribution for drafts of high,
// low and zero probability, under every filter and penalty.
TEST(SpecSamplerTest, SampleDraftKeepsTheDistribution) {
  constexpr int kVocab = 40;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> logits(kVocab);
  for (float& l : logits) l = normal(rng);
  const std::vector<int> history = {3, 3, 5, 11};
  SamplerOptions o;
  o.temperature = 0.8f;
  o.top_k = 20;
  o.top_p = 0.9f;
  o.min_p = 0.02f;
  o.repetition_penalty = 1.3f;
  o.presence_penalty = 0.2f;
  o.seed = 1;
  // The most likely token, a less likely one, one filtered out.
  Sampler probe(o);
  std::map<int, int> plain;
  constexpr int kDraws = 60000;
  for (int i = 0; i < kDraws; ++i) {
    plain[probe.Sample(logits.data(), kVocab, history)]++;
  }
  std::vector<std::pair<int, int>> by_count;
  for (const auto& [t, n] : plain) by_count.push_back({n, t});
  std::sort(by_count.rbegin(), by_count.rend());
  ASSERT_GE(by_count.size(), 3u);
  int filtered = 0;
  while (plain.count(filtered)) ++filtered;
  for (int draft : {by_count[0].second, by_count[2].second, filtered}) {
    Sampler s(o);
    s.Reseed(1000 + draft);
    std::map<int, int> spec;
    int accepted_n = 0;
    for (int i = 0; i < kDraws; ++i) {
      bool accepted = false;
      const int t =
          s.SampleDraft(logits.data(), kVocab, history, draft, &accepted);
      EXPECT_EQ(accepted, t == draft);
      accepted_n += accepted;
      spec[t]++;
    }
    std::string why;
    EXPECT_TRUE(SameDistribution(plain, spec, &why))
        << "draft " << draft << ": " << why;
    // The acceptance rate is p(draft).
    EXPECT_NEAR(accepted_n / double(kDraws), plain[draft] / double(kDraws),
                0.01);
  }
  // Greedy: the argmax, accepted only when the draft is it.
  SamplerOptions g = o;
  g.temperature = 0;
  Sampler greedy(g);
  const int top = greedy.Sample(logits.data(), kVocab, history);
  bool accepted = false;
  EXPECT_EQ(greedy.SampleDraft(logits.data(), kVocab, history, top, &accepted),
            top);
  EXPECT_TRUE(accepted);
  EXPECT_EQ(
      greedy.SampleDraft(logits.data(), kVocab, history, top + 1, &accepted),
      top);
  EXPECT_FALSE(accepted);
}

std::shared_ptr<Engine> MakeEngine(const std::string& path) {
  EngineOptions o;
  o.model_path = path;
  o.num_threads = 1;
  auto e = Engine::Create(o);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? *e : nullptr;
}

struct ChatRun {
  std::vector<std::string> texts;
  std::vector<int> tokens;  // the session's tokens after the last turn
  Stats stats;
};

// Two chat turns (the second continues on the cache the first left).
ChatRun Chat(const Engine& engine, const std::vector<std::string>& turns,
             const GenerateOptions& g, int chunk = 256) {
  ChatRun r;
  SessionOptions so;
  so.context_length = 512;
  so.prefill_chunk = chunk;
  auto s = engine.NewSession(so);
  EXPECT_TRUE(s.ok());
  if (!s.ok()) return r;
  for (const std::string& t : turns) {
    EXPECT_TRUE((*s)->AddMessage(Role::kUser, t).ok());
    auto resp = (*s)->Generate(g);
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    if (!resp.ok()) return r;
    r.texts.push_back(resp->text);
    Stats st = (*s)->stats();
    r.stats.speculative_steps += st.speculative_steps;
    r.stats.drafted_tokens += st.drafted_tokens;
    r.stats.accepted_tokens += st.accepted_tokens;
  }
  r.tokens = (*s)->tokens();
  return r;
}

GenerateOptions Greedy(int n) {
  GenerateOptions g;
  g.max_tokens = n;
  g.sampling.temperature = 0;
  g.ignore_eos = true;
  return g;
}

// Greedy answers are token for token those of plain decoding, with prompt
// lookup and with drafters that are always right or always wrong, on the
// golden models of each family and the demo model.
TEST(SpecEngineTest, GreedyIdenticalToPlainDecoding) {
  const std::vector<std::string> models = {
      TestData("golden/e2b-tiny-q8_0-s16/model.gguf"),
      TestData("golden/dense-tiny-q4_0-s16/model.gguf"),
      TestData("golden/moe-tiny-q8_0-s16/model.gguf"),
      std::string(FACET_SOURCE_DIR) + "/models/demo"};
  const std::vector<std::vector<std::string>> prompts = {
      {"Repeat: the cat sat on the mat, the cat sat on the mat.", "Again."},
      {"In the beginning God created the heaven and the earth.",
       "And the earth was without form"},
      {"Recite Genesis 1:1", "Read me a verse about light"}};
  int64_t drafted = 0, accepted = 0;
  for (const std::string& model : models) {
    auto engine = MakeEngine(model);
    ASSERT_NE(engine, nullptr);
    // The demo model is 60x the golden ones: lookup only, shorter.
    const bool demo = model == models.back();
    const int n = 16;
    for (size_t p = 0; p < prompts.size(); ++p) {
      const std::vector<std::string>& turns = prompts[p];
      if (!demo && p == 2) break;
      const ChatRun plain = Chat(*engine, turns, Greedy(n));
      EXPECT_EQ(plain.stats.speculative_steps, 0);
      // Prompt lookup, draft lengths 8 and 3 (a chunk of 4 caps at 3).
      for (int chunk : {4, 256}) {
        {
          const int max_draft = 8;
          GenerateOptions g = Greedy(n);
          g.speculative.mode = SpeculativeMode::kPromptLookup;
          g.speculative.max_draft = max_draft;
          g.speculative.adaptive = false;
          const ChatRun spec = Chat(*engine, turns, g, chunk);
          EXPECT_EQ(spec.texts, plain.texts) << model << " " << turns[0];
          EXPECT_EQ(spec.tokens, plain.tokens) << model << " " << turns[0];
          drafted += spec.stats.drafted_tokens;
          accepted += spec.stats.accepted_tokens;
        }
      }
      // An oracle (the plain answer's next tokens) and a wrong drafter.
      for (bool right : {true, false}) {
        if (demo) break;
        GenerateOptions g = Greedy(n);
        g.speculative.mode = SpeculativeMode::kCustom;
        g.speculative.adaptive = false;
        g.speculative.max_draft = 5;
        g.speculative.drafter = [&](const std::vector<int>& t, int max) {
          std::vector<int> d;
          for (size_t i = t.size();
               i < plain.tokens.size() && d.size() < static_cast<size_t>(max);
               ++i) {
            d.push_back(right ? plain.tokens[i] : (plain.tokens[i] + 1) % 256);
          }
          return d;
        };
        const ChatRun spec = Chat(*engine, turns, g);
        EXPECT_EQ(spec.texts, plain.texts) << model << " right " << right;
        EXPECT_EQ(spec.tokens, plain.tokens) << model << " right " << right;
        EXPECT_GT(spec.stats.speculative_steps, 0);
        if (right) {
          EXPECT_LT(spec.stats.speculative_steps, 2 * n / 3);
        } else {
          EXPECT_EQ(spec.stats.accepted_tokens, 0);
        }
      }
    }
  }
  // Lookup found matches and some were right.
  EXPECT_GT(drafted, 0);
  EXPECT_GT(accepted, 0);
}

// Sampling with temperature: the answers' token distribution with drafted
// tokens checked by SampleDraft equals that of plain sampling.
TEST(SpecEngineTest, SampledDistributionUnchanged) {
  auto engine = MakeEngine(TestData("golden/e2b-tiny-q8_0-s16/model.gguf"));
  ASSERT_NE(engine, nullptr);
  SessionOptions so;
  so.context_length = 64;
  auto s = engine->NewSession(so);
  ASSERT_TRUE(s.ok());
  auto sample = [&](uint64_t seed, const SpeculativeOptions& spec,
                    std::vector<int>* out) {
    (*s)->Reset();
    ASSERT_TRUE((*s)->AddMessage(Role::kUser, "hi").ok());
    GenerateOptions g;
    g.max_tokens = 3;
    g.ignore_eos = true;
    g.sampling.temperature = 1.0f;
    g.sampling.top_k = 6;
    g.sampling.top_p = 1.0f;
    g.sampling.seed = seed;
    g.speculative = spec;
    auto r = (*s)->Generate(g);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const std::vector<int>& t = (*s)->tokens();
    out->assign(t.end() - 2, t.end());  // answer tokens 1 and 2 (fed back)
  };
  constexpr int kRuns = 200;
  std::map<int, int> plain[2], spec[2];
  std::vector<int> t;
  for (int i = 0; i < kRuns; ++i) {
    sample(i, SpeculativeOptions(), &t);
    plain[0][t[0]]++;
    plain[1][t[1]]++;
  }
  // Draft the most common second token, then the most common first one.
  auto most = [](const std::map<int, int>& m) {
    return std::max_element(
               m.begin(), m.end(),
               [](auto& a, auto& b) { return a.second < b.second; })
        ->first;
  };
  const int d1 = most(plain[1]), d0 = most(plain[0]);
  SpeculativeOptions o;
  o.mode = SpeculativeMode::kCustom;
  o.adaptive = false;
  o.max_draft = 2;
  o.drafter = [&](const std::vector<int>&, int) {
    return std::vector<int>{d1, d0};
  };
  for (int i = 0; i < kRuns; ++i) {
    sample(100000 + i, o, &t);
    spec[0][t[0]]++;
    spec[1][t[1]]++;
  }
  for (int k = 0; k < 2; ++k) {
    std::string why;
    EXPECT_TRUE(SameDistribution(plain[k], spec[k], &why))
        << "token " << k + 1 << ": " << why;
  }
}

// A constrained answer (json_schema) does not speculate, and is the same.
TEST(SpecEngineTest, OffUnderConstraints) {
  auto engine = MakeEngine(std::string(FACET_SOURCE_DIR) + "/models/demo");
  ASSERT_NE(engine, nullptr);
  GenerateOptions g = Greedy(30);
  g.ignore_eos = false;
  g.json_schema = R"({"type": "object"})";
  const ChatRun plain = Chat(*engine, {"Give JSON"}, g);
  g.speculative.mode = SpeculativeMode::kPromptLookup;
  g.speculative.adaptive = false;
  const ChatRun spec = Chat(*engine, {"Give JSON"}, g);
  EXPECT_EQ(spec.texts, plain.texts);
  EXPECT_EQ(spec.stats.speculative_steps, 0);
}

TEST(SpecEngineTest, BadOptionsRefused) {
  auto engine = MakeEngine(TestData("golden/e2b-tiny-q8_0-s16/model.gguf"));
  ASSERT_NE(engine, nullptr);
  auto s = engine->NewSession();
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->AddMessage(Role::kUser, "hi").ok());
  GenerateOptions g = Greedy(4);
  g.speculative.mode = SpeculativeMode::kPromptLookup;
  g.speculative.max_draft = 0;
  EXPECT_EQ((*s)->Generate(g).status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE((*s)->AddMessage(Role::kUser, "hi").ok());
  g.speculative.max_draft = 4;
  g.speculative.mode = SpeculativeMode::kCustom;  // no drafter
  EXPECT_EQ((*s)->Generate(g).status().code(), StatusCode::kInvalidArgument);
  // A drafter offering ids outside the vocabulary: they are not drafted.
  ASSERT_TRUE((*s)->AddMessage(Role::kUser, "hi").ok());
  g.speculative.adaptive = false;
  g.speculative.drafter = [](const std::vector<int>&, int) {
    return std::vector<int>{-1, 1 << 30};
  };
  auto r = (*s)->Generate(g);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*s)->stats().speculative_steps, 0);
}

}  // namespace
}  // namespace facet
