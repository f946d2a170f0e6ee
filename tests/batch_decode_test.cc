// Batched decode across sessions: one forward pass for several states
// gives each the logits it gets alone (bit for bit, any mix of positions,
// chunk sizes and KV types), and concurrent sessions of one engine advance
// together with the answers they give alone.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "facet/facet.h"
#include "gtest/gtest.h"
#include "src/engine/language_model.h"
#include "tests/test_paths.h"

namespace facet {
namespace {

using testing::TestData;

std::unique_ptr<LanguageModel> Load(const std::string& path) {
  LoadOptions lo;
  lo.path = path;
  auto m = LoadLanguageModel(lo);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? std::move(m).value() : nullptr;
}

std::vector<int> Ids(int n, int seed, int64_t vocab) {
  std::vector<int> ids(n);
  for (int i = 0; i < n; ++i) {
    ids[i] =
        static_cast<int>((seed * 7919 + i * 104729 + 3) % (vocab - 10)) + 5;
  }
  return ids;
}

// Twin states of each session: one set forwarded together, the other
// alone; prefilled to different depths (past the sliding window on some),
// with different KV types.
TEST(BatchDecodeTest, ForwardManyMatchesForwardBitForBit) {
  for (const char* name : {"golden/e2b-tiny-q8_0-s16/model.gguf",
                           "golden/dense-tiny-q4_0-s16/model.gguf",
                           "golden/moe-tiny-q8_0-s16/model.gguf"}) {
    SCOPED_TRACE(name);
    auto model = Load(TestData(name));
    ASSERT_NE(model, nullptr);
    const int64_t V = model->vocab_size();
    struct Spec {
      int depth;
      kernels::DType k, v;
    };
    const std::vector<Spec> specs = {
        {3, kernels::DType::kF32, kernels::DType::kF32},
        {70, kernels::DType::kF32, kernels::DType::kF32},
        {41, kernels::DType::kF16, kernels::DType::kQ8_0},
        {1, kernels::DType::kQ8_0, kernels::DType::kF16}};
    const int n_states = static_cast<int>(specs.size());
    std::vector<std::unique_ptr<ModelState>> together, alone;
    for (int i = 0; i < n_states; ++i) {
      for (auto* set : {&together, &alone}) {
        auto st = model->NewState(256, 8, false, specs[i].k, specs[i].v);
        ASSERT_TRUE(st.ok()) << st.status().ToString();
        const std::vector<int> ids = Ids(specs[i].depth, i, V);
        for (int b = 0; b < specs[i].depth; b += 8) {
          ForwardBatch fb;
          fb.tokens = ids.data() + b;
          fb.n = std::min(8, specs[i].depth - b);
          ASSERT_TRUE(
              model->Forward(fb, st->get(), nullptr, nullptr, false).ok());
        }
        set->push_back(std::move(st).value());
      }
    }
    // Steps: single tokens (decode), then a mix with a 5-token verify
    // batch that wants every row's logits, and a part without logits.
    for (int step = 0; step < 4; ++step) {
      std::vector<std::vector<int>> toks(n_states);
      std::vector<std::vector<float>> a(n_states), b(n_states);
      std::vector<ForwardRequest> reqs(n_states);
      for (int i = 0; i < n_states; ++i) {
        const int n = step >= 2 && i == 1 ? 5 : 1;
        const bool all = n > 1;
        const bool none = step == 3 && i == 2;
        toks[i] = Ids(n, 100 * step + i, V);
        a[i].assign((all ? n : 1) * V, 0.f);
        b[i].assign((all ? n : 1) * V, 1.f);
        reqs[i].batch.tokens = toks[i].data();
        reqs[i].batch.n = n;
        reqs[i].state = together[i].get();
        reqs[i].logits = none ? nullptr : a[i].data();
        reqs[i].all_logits = all;
        ForwardBatch fb;
        fb.tokens = toks[i].data();
        fb.n = n;
        ASSERT_TRUE(model
                        ->Forward(fb, alone[i].get(), nullptr,
                                  none ? nullptr : b[i].data(), all)
                        .ok());
        if (none) b[i] = a[i];
      }
      ASSERT_TRUE(model->ForwardMany(reqs.data(), n_states, nullptr).ok());
      for (int i = 0; i < n_states; ++i) {
        EXPECT_EQ(together[i]->position(), alone[i]->position());
        EXPECT_EQ(0, std::memcmp(a[i].data(), b[i].data(),
                                 a[i].size() * sizeof(float)))
            << "state " << i << " step " << step;
      }
    }
  }
}

TEST(BatchDecodeTest, ForwardManyRefusesBadParts) {
  auto model = Load(TestData("golden/dense-tiny-q4_0-s16/model.gguf"));
  ASSERT_NE(model, nullptr);
  auto s1 = model->NewState(16, 4, false);
  auto s2 = model->NewState(16, 4, false);
  ASSERT_TRUE(s1.ok() && s2.ok());
  int tok[8] = {5, 6, 7, 8, 9, 10, 11, 12};
  ForwardRequest r[2];
  r[0].batch.tokens = tok;
  r[0].batch.n = 1;
  r[0].state = s1->get();
  r[1] = r[0];  // the same state twice
  EXPECT_FALSE(model->ForwardMany(r, 2, nullptr).ok());
  r[1].state = s2->get();
  r[1].batch.n = 8;  // over the chunk size
  EXPECT_FALSE(model->ForwardMany(r, 2, nullptr).ok());
  int bad = -1;
  r[1].batch.n = 1;
  r[1].batch.tokens = &bad;
  EXPECT_FALSE(model->ForwardMany(r, 2, nullptr).ok());
  // Nothing moved.
  EXPECT_EQ((*s1)->position(), 0);
  EXPECT_EQ((*s2)->position(), 0);
  r[1].batch.tokens = tok;
  EXPECT_TRUE(model->ForwardMany(r, 2, nullptr).ok());
  EXPECT_EQ((*s1)->position(), 1);
  EXPECT_EQ((*s2)->position(), 1);
}

struct Answer {
  std::string text;
  std::vector<int> tokens;
  Stats stats;
};

Answer Answer1(const Engine& engine, const std::string& prompt,
               const GenerateOptions& g) {
  Answer a;
  SessionOptions so;
  so.context_length = 512;
  auto s = engine.NewSession(so);
  EXPECT_TRUE(s.ok());
  if (!s.ok()) return a;
  EXPECT_TRUE((*s)->AddMessage(Role::kUser, prompt).ok());
  auto r = (*s)->Generate(g);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return a;
  a.text = r->text;
  a.tokens = (*s)->tokens();
  a.stats = (*s)->stats();
  return a;
}

// Sessions generating on threads at once give the answers they give
// alone (greedy, seeded sampling, prompt lookup), and their steps shared
// forward passes.
TEST(BatchDecodeTest, ConcurrentSessionsAnswerAsAlone) {
  for (const char* name : {"golden/e2b-tiny-q8_0-s16/model.gguf",
                           "golden/moe-tiny-q8_0-s16/model.gguf"}) {
    SCOPED_TRACE(name);
    EngineOptions eo;
    eo.model_path = TestData(name);
    eo.num_threads = 2;
    auto engine = Engine::Create(eo);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    const std::vector<std::string> prompts = {
        "In the beginning God created the heaven and the earth.",
        "Repeat: the cat sat on the mat, the cat sat on the mat.",
        "Read me a verse about light", "Hello", "Count to ten."};
    std::vector<GenerateOptions> gens(prompts.size());
    for (size_t i = 0; i < prompts.size(); ++i) {
      gens[i].max_tokens = 24 + 3 * static_cast<int>(i);
      gens[i].ignore_eos = true;
      gens[i].sampling.temperature = i % 2 == 0 ? 0.f : 0.9f;
      gens[i].sampling.seed = 11 + static_cast<uint64_t>(i);
      // Greedy: with sampling, adaptive draft lengths follow measured
      // times, so even a session alone draws its random numbers
      // differently from run to run.
      if (i == 2) gens[i].speculative.mode = SpeculativeMode::kPromptLookup;
    }
    std::vector<Answer> alone(prompts.size()), together(prompts.size());
    for (size_t i = 0; i < prompts.size(); ++i) {
      alone[i] = Answer1(**engine, prompts[i], gens[i]);
      EXPECT_EQ(alone[i].stats.batched_steps, 0);
    }
    // The sessions meet after their prefills (a tiny model's answer could
    // otherwise end before the next thread starts). Whether their steps
    // then share passes is up to the OS scheduler (5 threads on 2 cores,
    // steps of tens of microseconds): a round can, rarely, run every step
    // alone. So rounds repeat until one shares a pass, and every round's
    // answers must equal the lone ones.
    std::mutex mu;
    std::condition_variable cv;
    size_t ready = 0;
    std::vector<GenerateOptions> met = gens;
    for (GenerateOptions& g : met) {
      g.on_prefill_progress = [&](int64_t done, int64_t total) {
        if (done < total) return;
        std::unique_lock<std::mutex> lock(mu);
        if (++ready == prompts.size()) cv.notify_all();
        cv.wait_for(lock, std::chrono::seconds(20),
                    [&] { return ready >= prompts.size(); });
      };
    }
    int64_t batched = 0;
    for (int round = 0; round < 5 && batched == 0; ++round) {
      ready = 0;
      std::vector<std::thread> threads;
      for (size_t i = 0; i < prompts.size(); ++i) {
        threads.emplace_back(
            [&, i] { together[i] = Answer1(**engine, prompts[i], met[i]); });
      }
      for (std::thread& t : threads) t.join();
      for (size_t i = 0; i < prompts.size(); ++i) {
        EXPECT_EQ(together[i].text, alone[i].text) << i << " round " << round;
        EXPECT_EQ(together[i].tokens, alone[i].tokens) << i;
        batched += together[i].stats.batched_steps;
        if (together[i].stats.batched_steps > 0) {
          EXPECT_GE(together[i].stats.batched_rows,
                    2 * together[i].stats.batched_steps);
        }
      }
    }
    EXPECT_GT(batched, 0);
  }
}

// batch_decode off: concurrent sessions still answer as alone, each in
// its own passes.
TEST(BatchDecodeTest, OffRunsSessionsApart) {
  EngineOptions eo;
  eo.model_path = TestData("golden/dense-tiny-q4_0-s16/model.gguf");
  eo.num_threads = 2;
  eo.batch_decode = false;
  auto engine = Engine::Create(eo);
  ASSERT_TRUE(engine.ok());
  GenerateOptions g;
  g.max_tokens = 16;
  g.ignore_eos = true;
  g.sampling.temperature = 0;
  const Answer ref = Answer1(**engine, "Hello there", g);
  std::vector<Answer> out(3);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back(
        [&, i] { out[i] = Answer1(**engine, "Hello there", g); });
  }
  for (std::thread& t : threads) t.join();
  for (const Answer& a : out) {
    EXPECT_EQ(a.text, ref.text);
    EXPECT_EQ(a.stats.batched_steps, 0);
  }
}

}  // namespace
}  // namespace facet
