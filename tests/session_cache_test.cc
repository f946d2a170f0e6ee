// The shared prefix cache, prompt cache files and saved sessions: reused
// KV entries must give exactly the logits of a fresh computation, also
// across sliding-window rings of other sizes; bad files are refused.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "facet/facet.h"
#include "gtest/gtest.h"
#include "src/engine/prefix_cache.h"
#include "tests/test_paths.h"

namespace facet {
namespace {

std::string Demo() { return std::string(FACET_SOURCE_DIR) + "/models/demo"; }

std::string Scratch(const std::string& name) {
  return ::testing::TempDir() + "/facet_cache_" + name + "_" +
         std::to_string(getpid());
}

std::shared_ptr<Engine> MakeEngine(uint64_t cache_bytes,
                                   const std::string& model = Demo()) {
  EngineOptions eo;
  eo.model_path = model;
  eo.num_threads = 2;
  eo.prefix_cache_bytes = cache_bytes;
  auto e = Engine::Create(eo);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? *e : nullptr;
}

GenerateOptions Greedy(int n) {
  GenerateOptions go;
  go.max_tokens = n;
  go.sampling.temperature = 0;
  go.ignore_eos = true;
  return go;
}

// A system prompt of about `words` tokens.
std::string LongSystem(int words) {
  std::string s = "You are a careful assistant. Rules follow.";
  for (int i = 0; i < words; ++i) s += " rule" + std::to_string(i % 97);
  return s;
}

// One turn, then the logits of one more decoded token: the whole KV cache
// shows in them.
struct Turn {
  std::string answer;
  std::vector<float> logits;
  Stats stats;
};
Turn RunTurn(Session* s, const std::string& user) {
  Turn t;
  EXPECT_TRUE(s->AddMessage(Role::kUser, user).ok());
  auto r = s->Generate(Greedy(4));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (r.ok()) t.answer = r->text;
  t.stats = s->stats();
  EXPECT_TRUE(s->Decode(5, &t.logits).ok());
  return t;
}

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && !a.empty() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(PrefixCacheTest, LongestPrefixAndBudget) {
  PrefixCache c(1000);
  c.Insert({1, 2, 3}, std::string(100, 'a'));
  c.Insert({1, 2}, std::string(100, 'b'));
  c.Insert({7}, std::string(100, 'c'));
  auto e = c.Lookup({1, 2, 3, 4}, 4);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->tokens.size(), 3u);
  e = c.Lookup({1, 2, 3, 4}, 2);  // limited length
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->kv[0], 'b');
  EXPECT_EQ(c.Lookup({2, 1}, 2), nullptr);
  // Over budget: the least recently used goes ({7}, then {1, 2, 3}).
  c.Insert({9, 9}, std::string(700, 'd'));
  EXPECT_EQ(c.Lookup({7}, 1), nullptr);
  EXPECT_NE(c.Lookup({1, 2}, 2), nullptr);
  EXPECT_LE(c.bytes(), 1000u);
  c.Insert({5}, std::string(2000, 'e'));  // larger than the budget
  EXPECT_EQ(c.Lookup({5}, 1), nullptr);
}

TEST(SessionCacheTest, SharedSystemPromptIsReusedExactly) {
  auto cached = MakeEngine(uint64_t{64} << 20);
  auto fresh = MakeEngine(0);
  ASSERT_TRUE(cached && fresh);
  // A system prompt longer than the demo's 64-position window, and small
  // chunks, so that the sliding rings wrap; the second session has rings
  // of another size (another chunk).
  SessionOptions a;
  a.system_prompt = LongSystem(60);
  a.prefill_chunk = 16;
  SessionOptions b = a;
  b.prefill_chunk = 100;
  auto s1 = cached->NewSession(a);
  ASSERT_TRUE(s1.ok());
  const Turn t1 = RunTurn(s1->get(), "Quote Genesis 1:1");
  EXPECT_EQ(t1.stats.cached_prompt_tokens, 0);
  for (const SessionOptions& o : {a, b}) {
    auto s2 = cached->NewSession(o);
    auto s3 = fresh->NewSession(o);
    ASSERT_TRUE(s2.ok() && s3.ok());
    const Turn t2 = RunTurn(s2->get(), "Quote John 3:16");
    const Turn t3 = RunTurn(s3->get(), "Quote John 3:16");
    EXPECT_GT(t2.stats.cached_prompt_tokens, 120);
    EXPECT_LT(t2.stats.cached_prompt_tokens, t2.stats.prompt_tokens);
    EXPECT_EQ(t3.stats.cached_prompt_tokens, 0);
    EXPECT_EQ(t2.answer, t3.answer);
    EXPECT_TRUE(SameBits(t2.logits, t3.logits));
    // The second turn goes on from the imported cache.
    const Turn u2 = RunTurn(s2->get(), "And the next verse?");
    const Turn u3 = RunTurn(s3->get(), "And the next verse?");
    EXPECT_TRUE(SameBits(u2.logits, u3.logits));
  }
  // Another system prompt: no reuse.
  SessionOptions other = a;
  other.system_prompt = "Be brief.";
  auto s4 = cached->NewSession(other);
  ASSERT_TRUE(s4.ok());
  EXPECT_EQ(RunTurn(s4->get(), "Hi").stats.cached_prompt_tokens, 0);
}

// Time to first token of a second session whose system prompt is cached,
// against the same without the cache. The suite uses ~600 tokens;
// FACET_TTFT_WORDS=750 gives the ~2200-token figure of docs/performance.md.
TEST(SessionCacheTest, CachedSystemPromptCutsTimeToFirstToken) {
  const char* env = std::getenv("FACET_TTFT_WORDS");
  const int words = env != nullptr ? std::atoi(env) : 100;
  auto cached = MakeEngine(uint64_t{256} << 20);
  auto fresh = MakeEngine(0);
  ASSERT_TRUE(cached && fresh);
  SessionOptions o;
  o.system_prompt = LongSystem(words);
  auto warm = cached->NewSession(o);
  ASSERT_TRUE(warm.ok());
  RunTurn(warm->get(), "Hello");
  double with = 1e9, without = 1e9;
  int64_t tokens = 0;
  for (int rep = 0; rep < 2; ++rep) {
    auto s = cached->NewSession(o);
    auto f = fresh->NewSession(o);
    ASSERT_TRUE(s.ok() && f.ok());
    const Turn a = RunTurn(s->get(), "Quote Psalm 23:1");
    const Turn b = RunTurn(f->get(), "Quote Psalm 23:1");
    EXPECT_GT(a.stats.cached_prompt_tokens, 2 * words);
    EXPECT_LT(a.stats.cached_prompt_tokens, a.stats.prompt_tokens);
    EXPECT_TRUE(SameBits(a.logits, b.logits));
    tokens = a.stats.prompt_tokens;
    with = std::min(with, a.stats.time_to_first_token_s);
    without = std::min(without, b.stats.time_to_first_token_s);
  }
  std::printf(
      "[prefix cache] %lld-token system prompt: TTFT %.1f ms cached, "
      "%.1f ms uncached (%.1fx)\n",
      static_cast<long long>(tokens), with * 1e3, without * 1e3,
      without / with);
  EXPECT_LT(with * 3, without);
}

TEST(SessionCacheTest, SaveAndRestoreGoOnExactly) {
  auto engine = MakeEngine(0);
  ASSERT_TRUE(engine);
  SessionOptions o;
  o.system_prompt = "Answer in the words of the King James Bible.";
  o.context_length = 512;
  auto s = engine->NewSession(o);
  ASSERT_TRUE(s.ok());
  RunTurn(s->get(), "Quote Genesis 1:1");
  // Decode() fed a raw token: a session with positions that are not chat
  // tokens cannot be saved.
  const std::string path = Scratch("session.fkv");
  EXPECT_EQ((*s)->Save(path).code(), StatusCode::kFailedPrecondition);

  auto a = engine->NewSession(o);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*a)->AddMessage(Role::kUser, "Quote Genesis 1:1").ok());
  ASSERT_TRUE((*a)->Generate(Greedy(6)).ok());
  ASSERT_TRUE((*a)->AddMessage(Role::kUser, "Quote Genesis 1:2").ok());
  EXPECT_EQ((*a)->Save(path).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE((*a)->Generate(Greedy(6)).ok());
  ASSERT_TRUE((*a)->Save(path).ok());

  auto b = engine->RestoreSession(path);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ((*b)->tokens(), (*a)->tokens());
  EXPECT_EQ((*b)->position(), (*a)->position());
  EXPECT_EQ((*b)->context_length(), 512);
  const Turn ta = RunTurn(a->get(), "And the next verse?");
  const Turn tb = RunTurn(b->get(), "And the next verse?");
  EXPECT_EQ(ta.answer, tb.answer);
  EXPECT_TRUE(SameBits(ta.logits, tb.logits));

  // Bad files.
  EXPECT_EQ(engine->RestoreSession(path + ".missing").status().code(),
            StatusCode::kNotFound);
  std::string bytes = testing::ReadBytes(path);
  const std::string cut = Scratch("cut.fkv");
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  EXPECT_EQ(engine->RestoreSession(cut).status().code(), StatusCode::kDataLoss);
  bytes[bytes.size() / 2] ^= 0x40;
  const std::string flipped = Scratch("flipped.fkv");
  std::ofstream(flipped, std::ios::binary) << bytes;
  EXPECT_EQ(engine->RestoreSession(flipped).status().code(),
            StatusCode::kDataLoss);
  SessionOptions tiny;
  tiny.context_length = 16;
  EXPECT_EQ(engine->RestoreSession(path, tiny).status().code(),
            StatusCode::kInvalidArgument);
  // Another model.
  EngineOptions eo;
  eo.model_path = testing::TestData("golden/e2b-tiny-q8_0-s16/model.gguf");
  auto other = Engine::Create(eo);
  ASSERT_TRUE(other.ok());
  Status st = (*other)->RestoreSession(path).status();
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("another model"), std::string::npos);
}

TEST(SessionCacheTest, PromptCacheFile) {
  const std::string path = Scratch("prompt.fkv");
  std::remove(path.c_str());
  SessionOptions o;
  o.system_prompt = LongSystem(40);
  o.prompt_cache_path = path;
  auto e1 = MakeEngine(0);
  auto s1 = e1->NewSession(o);
  ASSERT_TRUE(s1.ok());
  const Turn t1 = RunTurn(s1->get(), "Quote Genesis 1:1");
  EXPECT_EQ(t1.stats.cached_prompt_tokens, 0);
  // A new process (engine) with the same prompt takes all but the last
  // position from the file; a longer prompt with that start reuses it too.
  auto e2 = MakeEngine(0);
  auto s2 = e2->NewSession(o);
  ASSERT_TRUE(s2.ok());
  const Turn t2 = RunTurn(s2->get(), "Quote Genesis 1:1");
  EXPECT_EQ(t2.stats.cached_prompt_tokens, t2.stats.prompt_tokens - 1);
  EXPECT_EQ(t1.answer, t2.answer);
  EXPECT_TRUE(SameBits(t1.logits, t2.logits));
  // Another prompt does not match: it is computed and replaces the file.
  auto s3 = e2->NewSession(o);
  ASSERT_TRUE(s3.ok());
  EXPECT_EQ(RunTurn(s3->get(), "Quote Exodus 1:1").stats.cached_prompt_tokens,
            0);
  // A corrupt file is ignored (the prompt is computed).
  std::ofstream(path, std::ios::binary) << "garbage";
  auto s4 = e2->NewSession(o);
  ASSERT_TRUE(s4.ok());
  EXPECT_EQ(RunTurn(s4->get(), "Quote Genesis 1:1").stats.cached_prompt_tokens,
            0);
}

}  // namespace
}  // namespace facet
