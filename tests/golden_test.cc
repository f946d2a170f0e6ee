// Golden logits: every case in tests/data/golden (the 18 GGUF cases and the
// bf16 Hugging Face twins) and, when ../shared is present, the f32 twins,
// must pass the thresholds of golden/README.md for prompt and decode rows.
#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "facet/facet.h"
#include "gtest/gtest.h"
#include "tests/golden_check.h"
#include "tests/test_paths.h"

namespace facet::testing {
namespace {

using json = nlohmann::json;

struct Case {
  std::string name;   // test name
  std::string dir;    // case folder (meta.json, logits)
  std::string model;  // .gguf file or HF folder
  std::string cls;    // threshold class
};

std::string ClassOf(const json& meta) {
  std::string dt = meta.value("dtype", "f32");
  bool moe = meta["config"].value("n_expert", 0) > 0;
  if (dt == "f32") return "f32";
  if (moe) return "moe-reduced";
  if (dt == "f16") return "f16";
  return "quant";
}

std::string Sanitize(std::string s) {
  for (char& c : s) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return s;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

void AddCase(const std::string& dir, const std::string& name,
             const std::string& model_override, std::vector<Case>* out) {
  json meta = ReadJson(dir + "/meta.json");
  if (meta.is_discarded()) return;
  Case c;
  c.name = Sanitize(name);
  c.dir = dir;
  c.cls = ClassOf(meta);
  if (!model_override.empty()) {
    c.model = model_override;
  } else {
    std::string mf = meta.value("model_file", "model.gguf");
    c.model = dir + "/" + mf;
    if (mf.size() > 12 && mf.substr(mf.size() - 12) == ".safetensors") {
      c.model = c.model.substr(0, c.model.rfind('/'));
    }
  }
  out->push_back(c);
}

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  const std::string g = TestData("golden");
  for (const std::string& n : ListDir(g)) {
    if (PathExists(g + "/" + n + "/meta.json")) {
      AddCase(g + "/" + n, n, "", &cases);
    }
    for (const char* sub : {"s16", "s100"}) {
      std::string d = g + "/" + n + "/" + sub;
      if (PathExists(d + "/meta.json")) AddCase(d, n + "_" + sub, "", &cases);
    }
  }
  // f32 twins: bit-for-bit the f32 GGUF weights, so the f32 cases apply.
  const std::string shared = SharedGolden();
  if (!shared.empty()) {
    for (const char* v : {"e2b", "dense", "moe"}) {
      for (const char* s : {"s16", "s100"}) {
        std::string twin = shared + "/" + v + "-tiny-hf";
        std::string dir = g + "/" + v + "-tiny-f32-" + s;
        if (PathExists(twin + "/config.json")) {
          AddCase(dir, std::string(v) + "_tiny_hf_f32_" + s, twin, &cases);
        }
      }
    }
  }
  return cases;
}

std::shared_ptr<Engine> GetEngine(const std::string& model, int threads) {
  static std::mutex mu;
  static std::map<std::pair<std::string, int>, std::shared_ptr<Engine>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& e = cache[{model, threads}];
  if (!e) {
    EngineOptions o;
    o.model_path = model;
    o.num_threads = threads;
    auto r = Engine::Create(o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (r.ok()) e = *r;
  }
  return e;
}

class GoldenTest : public ::testing::TestWithParam<Case> {};

TEST_P(GoldenTest, PromptAndDecodeLogitsPass) {
  const Case& c = GetParam();
  json meta = ReadJson(c.dir + "/meta.json");
  ASSERT_FALSE(meta.is_discarded());
  std::vector<int> tokens = meta["tokens"].get<std::vector<int>>();
  std::vector<int> greedy = meta["greedy_continuation"].get<std::vector<int>>();
  const int V = meta["n_vocab"].get<int>();
  auto engine = GetEngine(c.model, 1);
  ASSERT_NE(engine, nullptr);
  auto session = engine->NewSession();
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  std::vector<float> logits;
  ASSERT_TRUE((*session)->Prefill(tokens, &logits, true).ok());
  std::vector<float> gold = ReadF32(c.dir + "/logits.f32");
  ASSERT_EQ(gold.size(), logits.size());
  Metrics pm = Compare(gold, logits, static_cast<int>(tokens.size()), V);

  // Decode with teacher forcing: row 0 = last prompt row.
  std::vector<float> dec(logits.end() - V, logits.end()), step;
  for (size_t k = 0; k + 1 < greedy.size(); ++k) {
    ASSERT_TRUE((*session)->Decode(greedy[k], &step).ok());
    dec.insert(dec.end(), step.begin(), step.end());
  }
  std::vector<float> gold_dec = ReadF32(c.dir + "/decode_logits.f32");
  ASSERT_EQ(gold_dec.size(), dec.size());
  Metrics dm = Compare(gold_dec, dec, static_cast<int>(greedy.size()), V);
  std::string fail = Judge(pm, &dm, ThresholdsFor(c.cls));
  EXPECT_TRUE(fail.empty()) << c.name << " (" << c.cls << "):\n" << fail;
  std::printf(
      "[golden] %-28s %-11s max|d| %.4g p90 %.4g mean %.4g KL %.3g "
      "dec max %.4g\n",
      c.name.c_str(), c.cls.c_str(), pm.max_abs, pm.row_max_p90, pm.mean_abs,
      pm.kl_mean_trim, dm.max_abs);
}

INSTANTIATE_TEST_SUITE_P(All, GoldenTest, ::testing::ValuesIn(AllCases()),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           return i.param.name;
                         });

// The logits must not depend on how the prompt is cut into chunks, on the
// number of threads, or on whether a token came through prefill or decode.
class ConsistencyTest : public ::testing::TestWithParam<std::string> {};

std::vector<float> RunPrompt(const std::string& model, int threads, int chunk,
                             const std::vector<int>& tokens) {
  auto engine = GetEngine(model, threads);
  SessionOptions so;
  so.prefill_chunk = chunk;
  auto s = engine->NewSession(so);
  EXPECT_TRUE(s.ok());
  std::vector<float> logits;
  EXPECT_TRUE((*s)->Prefill(tokens, &logits, true).ok());
  return logits;
}

std::vector<int> Prompt100(const std::string& variant) {
  json meta = ReadJson(TestData("golden/" + variant + "-f32-s100/meta.json"));
  return meta["tokens"].get<std::vector<int>>();
}

TEST_P(ConsistencyTest, ChunkedPrefillEqualsOneShot) {
  const std::string model =
      TestData("golden/" + GetParam() + "-f32-s16/model.gguf");
  std::vector<int> tokens = Prompt100(GetParam());
  std::vector<float> one = RunPrompt(model, 1, 256, tokens);
  for (int chunk : {1, 7, 32, 33}) {
    std::vector<float> chunked = RunPrompt(model, 1, chunk, tokens);
    ASSERT_EQ(one.size(), chunked.size());
    EXPECT_TRUE(one == chunked) << "chunk " << chunk;
  }
}

TEST_P(ConsistencyTest, OneAndTwoThreadsIdentical) {
  const std::string model =
      TestData("golden/" + GetParam() + "-f32-s16/model.gguf");
  std::vector<int> tokens = Prompt100(GetParam());
  EXPECT_TRUE(RunPrompt(model, 1, 256, tokens) ==
              RunPrompt(model, 2, 256, tokens));
}

TEST_P(ConsistencyTest, DecodeMatchesLastPromptRow) {
  const std::string model =
      TestData("golden/" + GetParam() + "-f32-s16/model.gguf");
  std::vector<int> tokens = Prompt100(GetParam());
  std::vector<float> all = RunPrompt(model, 1, 256, tokens);
  auto engine = GetEngine(model, 1);
  const int64_t V = engine->info().vocab_size;
  auto s = engine->NewSession();
  ASSERT_TRUE(s.ok());
  std::vector<int> head(tokens.begin(), tokens.end() - 1);
  std::vector<float> last;
  ASSERT_TRUE((*s)->Prefill(head, nullptr).ok());
  ASSERT_TRUE((*s)->Decode(tokens.back(), &last).ok());
  std::vector<float> want(all.end() - V, all.end());
  EXPECT_TRUE(last == want);
  // Reset starts the conversation over with the same result.
  (*s)->Reset();
  std::vector<float> again;
  ASSERT_TRUE((*s)->Prefill(tokens, &again).ok());
  EXPECT_TRUE(again == want);
}

INSTANTIATE_TEST_SUITE_P(Variants, ConsistencyTest,
                         ::testing::Values("e2b-tiny", "dense-tiny",
                                           "moe-tiny"),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           return Sanitize(i.param);
                         });

}  // namespace
}  // namespace facet::testing
