// Token masks of constrained decoding: on real vocabularies (the demo
// model's sentencepiece one and the golden GGUF one) the mask of every
// state along random constrained walks is exactly the set of tokens whose
// text the grammar accepts one by one. A disabled test measures the cost
// per token on a 262144-token vocabulary (docs/performance.md).
#include "src/sampling/token_mask.h"

#include <chrono>
#include <cstdlib>
#include <cmath>
#include <fstream>
#include <map>
#include <random>

#include "gtest/gtest.h"
#include "models/gemma4/chat.h"
#include "src/sampling/output_constraint.h"
#include "tests/test_paths.h"

namespace facet {
namespace {

using json = nlohmann::json;

std::unique_ptr<Tokenizer> Load(const std::string& path) {
  auto t = Tokenizer::ForModelPath(path);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? std::move(*t) : nullptr;
}

std::string DemoPath() {
  return std::string(FACET_SOURCE_DIR) + "/models/demo";
}

const json& Tools() {
  static const json* tools = new json(json::parse(R"([
    {"name": "search", "parameters": {"type": "object", "properties": {
       "query": {"type": "string", "maxLength": 20},
       "limit": {"type": "integer"},
       "lang": {"enum": ["en", "fr", "de"]},
       "opts": {"type": "object", "additionalProperties": true}},
     "required": ["query"]}},
    {"name": "stop", "parameters": {"type": "object", "properties": {}}}])"));
  return *tools;
}

// Walks `walks` constrained token sequences, comparing each mask with the
// brute-force one.
void CheckMasksAlongWalks(const Tokenizer& tok, const Grammar& g, int walks,
                          int max_steps) {
  auto vocab = TokenVocab::Build(tok, tok.vocab_size());
  TokenMasker masker(*vocab, g);
  std::mt19937 rng(5);
  for (int w = 0; w < walks; ++w) {
    GrammarState s = g.Start();
    for (int step = 0; step < max_steps && !s.done(); ++step) {
      const TokenBits bits = masker.Allowed(s);
      std::vector<int> allowed;
      for (int id = 0; id < vocab->size(); ++id) {
        GrammarState t = s;
        const bool ok = masker.Step(&t, id);
        ASSERT_EQ(ok, TestBit(bits, id))
            << "token " << id << " '" << vocab->text(id) << "' at step "
            << step;
        if (ok) allowed.push_back(id);
      }
      ASSERT_FALSE(allowed.empty()) << "no token at step " << step;
      // Later steps favour short tokens that close something.
      std::vector<double> weight;
      for (int id : allowed) {
        const std::string& t = vocab->text(id);
        const bool closes = vocab->kind(id) == TokenVocab::kSymbol ||
                            t.find_first_of("}]\"") != std::string::npos;
        weight.push_back(closes ? 1.0 + step : 1.0);
      }
      std::discrete_distribution<size_t> pick(weight.begin(), weight.end());
      ASSERT_TRUE(masker.Step(&s, allowed[pick(rng)]));
    }
  }
  EXPECT_GT(masker.walks(), 0);
}

TEST(TokenMaskTest, DemoVocabularyMasksMatchBruteForce) {
  auto tok = Load(DemoPath());
  ASSERT_NE(tok, nullptr);
  auto tools = Grammar::ForTools(Tools());
  ASSERT_TRUE(tools.ok()) << tools.status().ToString();
  CheckMasksAlongWalks(*tok, *tools, 4, 60);
  auto doc = Grammar::ForJsonSchema(json::parse(
      R"({"type": "object", "properties": {"a": {"type": "array"},
          "b": {"type": "string", "minLength": 3}}, "required": ["b"]})"));
  ASSERT_TRUE(doc.ok());
  CheckMasksAlongWalks(*tok, *doc, 4, 60);
}

TEST(TokenMaskTest, GoldenVocabularyMasksMatchBruteForce) {
  auto tok = Load(testing::TestData("golden/e2b-tiny-q8_0-s16/model.gguf"));
  ASSERT_NE(tok, nullptr);
  auto tools = Grammar::ForTools(Tools());
  ASSERT_TRUE(tools.ok());
  CheckMasksAlongWalks(*tok, *tools, 6, 80);
  auto any = Grammar::ForJsonSchema(json::object());
  ASSERT_TRUE(any.ok());
  CheckMasksAlongWalks(*tok, *any, 6, 80);
}

TEST(TokenMaskTest, SpecialTokensAreSymbolsOrNever) {
  auto tok = Load(DemoPath());
  ASSERT_NE(tok, nullptr);
  auto vocab = TokenVocab::Build(*tok, tok->vocab_size() + 10);
  EXPECT_EQ(vocab->size(), tok->vocab_size() + 10);
  const int quote = tok->TokenId("<|\"|>");
  ASSERT_GE(quote, 0);
  EXPECT_EQ(vocab->kind(quote), TokenVocab::kSymbol);
  EXPECT_EQ(vocab->symbol(quote), kSymQuote);
  EXPECT_EQ(vocab->tool_call_open, tok->TokenId("<|tool_call>"));
  EXPECT_EQ(vocab->kind(vocab->tool_call_open), TokenVocab::kControl);
  EXPECT_EQ(vocab->kind(tok->bos_id()), TokenVocab::kControl);
  EXPECT_EQ(vocab->kind(tok->vocab_size() + 3), TokenVocab::kControl);
  // Text as the stream decodes it mid-answer: "▁x" pieces start with ' '.
  for (int id = 0; id < tok->vocab_size(); ++id) {
    if (vocab->kind(id) != TokenVocab::kBytes) continue;
    if (tok->Piece(id).rfind("\xe2\x96\x81", 0) == 0) {
      EXPECT_EQ(vocab->text(id)[0], ' ') << tok->Piece(id);
    }
  }
}

// The real 262144-token Gemma 3 vocabulary (Gemma 4 keeps its pieces and
// turns unused ones into its special tokens), when
// tools/fetch_tokenizer_data.sh has fetched it.
std::string Gemma3TokenizerJson() {
  const std::string p = std::string(FACET_BINARY_DIR) +
                        "/../build/tokenizer-data/node_modules/@lenml/"
                        "tokenizer-gemma3/models/tokenizer.json";
  return testing::PathExists(p) ? p : "";
}

// Run by hand: facet_tests --gtest_also_run_disabled_tests
//   --gtest_filter='*MaskCostOnRealVocabulary*'
TEST(TokenMaskTest, DISABLED_MaskCostOnRealVocabulary) {
  const std::string path = Gemma3TokenizerJson();
  if (path.empty()) GTEST_SKIP() << "tools/fetch_tokenizer_data.sh not run";
  // Gemma 4's markers in the places of Gemma 3's turn tokens and first
  // unused pieces (Gemma 4 repurposed such pieces the same way).
  json t = json::parse(testing::ReadBytes(path), nullptr, false);
  ASSERT_TRUE(t.is_object());
  const std::map<int, std::string> markers = {
      {105, "<|turn>"},    {106, "<turn|>"},  {6, "<|tool_call>"},
      {7, "<tool_call|>"}, {8, "<|\"|>"},     {9, "<|tool_response>"},
      {10, "<|channel>"},  {11, "<channel|>"}};
  for (json& added : t["added_tokens"]) {
    const auto m = markers.find(added["id"].get<int>());
    if (m == markers.end()) continue;
    t["model"]["vocab"].erase(added["content"].get<std::string>());
    t["model"]["vocab"][m->second] = m->first;
    added["content"] = m->second;
    added["special"] = true;
  }
  const std::string gemma4 = ::testing::TempDir() + "/gemma4_vocab.json";
  {
    std::ofstream out(gemma4);
    out << t.dump();
  }
  auto tok = Load(gemma4);
  ASSERT_NE(tok, nullptr);
  ASSERT_EQ(tok->TokenId("<|\"|>"), 8);
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  auto vocab = TokenVocab::Build(*tok, 262144);
  const double build_s =
      std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("vocab %d tokens: build %.3f s, %d trie nodes, %.1f MB\n",
              vocab->size(), build_s, vocab->trie_nodes(),
              vocab->MemoryBytes() / 1048576.0);
  auto tools = Grammar::ForTools(Tools());
  ASSERT_TRUE(tools.ok());
  auto doc = Grammar::ForJsonSchema(json::object());
  ASSERT_TRUE(doc.ok());
  for (const Grammar* g : {&*tools, &*doc}) {
    TokenMasker masker(*vocab, *g);
    std::mt19937 rng(3);
    int tokens = 0;
    double mask_s = 0, worst = 0;
    for (int w = 0; w < 20; ++w) {
      GrammarState s = g->Start();
      for (int step = 0; step < 200 && !s.done(); ++step) {
        const auto a = Clock::now();
        const TokenBits& bits = masker.Allowed(s);
        const double dt =
            std::chrono::duration<double>(Clock::now() - a).count();
        mask_s += dt;
        worst = std::max(worst, dt);
        if (dt > 0.005 && getenv("FACET_SLOW_MASKS")) {
          const GrammarFrame& f = s.frames[s.depth - 1];
          std::printf("slow %.1f ms: depth %d kind %d phase %d a %u b %u\n",
                      dt * 1e3, s.depth, f.kind, f.phase, f.a, f.b);
        }
        ++tokens;
        std::vector<int> allowed;
        std::vector<double> weight;
        for (int id = 0; id < vocab->size(); ++id) {
          if (!TestBit(bits, id)) continue;
          allowed.push_back(id);
          const std::string& t = vocab->text(id);
          const bool closes = vocab->kind(id) == TokenVocab::kSymbol ||
                              t.find_first_of("}]\"") != std::string::npos;
          weight.push_back(closes ? 1.0 + step : 1.0);
        }
        ASSERT_FALSE(allowed.empty());
        std::discrete_distribution<size_t> pick(weight.begin(), weight.end());
        ASSERT_TRUE(masker.Step(&s, allowed[pick(rng)]));
      }
    }
    std::printf(
        "%s: %d masks, mean %.3f ms, worst %.3f ms, %lld walks, "
        "%lld cache hits\n",
        g->syntax() == GrammarSyntax::kJson ? "json" : "tool call", tokens,
        1e3 * mask_s / tokens, 1e3 * worst,
        static_cast<long long>(masker.walks()),
        static_cast<long long>(masker.cache_hits()));
  }
  // Whole-step cost as the token loop pays it: masking 262144 logits and
  // accepting the token, in a required tool call and in a JSON answer.
  for (int json_mode = 0; json_mode < 2; ++json_mode) {
    OutputConstraintSpec spec;
    spec.tools = &*tools;
    spec.mode = json_mode ? ToolChoiceMode::kAuto : ToolChoiceMode::kRequired;
    if (json_mode) spec.json = &*doc;
    std::mt19937 rng(9);
    int tokens = 0;
    double total = 0;
    std::vector<float> logits(vocab->size());
    for (int w = 0; w < 10; ++w) {
      OutputConstraint c(*vocab, spec);
      for (int step = 0; step < 200 && !c.Complete(); ++step) {
        for (float& l : logits) l = static_cast<float>(rng() % 1000) / 100;
        ASSERT_TRUE(c.Apply(logits.data(), vocab->size()).ok());
        std::vector<int> allowed;
        std::vector<double> weight;
        for (int id = 0; id < vocab->size(); ++id) {
          if (logits[id] == -INFINITY) continue;
          allowed.push_back(id);
          const std::string& t = vocab->text(id);
          const bool closes = vocab->kind(id) == TokenVocab::kSymbol ||
                              t.find_first_of("}]\"") != std::string::npos;
          weight.push_back(closes ? 1.0 + step : 1.0);
        }
        ASSERT_FALSE(allowed.empty());
        std::discrete_distribution<size_t> pick(weight.begin(), weight.end());
        const int id = allowed[pick(rng)];
        ASSERT_TRUE(c.Accept(id));
        ++tokens;
        if (id == vocab->tool_response) break;
      }
      total += c.seconds();
    }
    std::printf("%s, per token with the logits mask: %.3f ms (%d tokens)\n",
                json_mode ? "json answer" : "required tool call",
                1e3 * total / tokens, tokens);
  }
}

}  // namespace
}  // namespace facet
