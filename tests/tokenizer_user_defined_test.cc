// Tokenizer tests of user-defined pieces in plain text on every source, and
// of TokenizeText (facet/tokenizer.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "facet/facet.h"
#include "facet/tokenizer.h"
#include "src/io/gguf_writer.h"
#include "src/tokenizer/tokenizer.h"
#include "tests/tokenizer_util.h"

namespace facet {
namespace {

using ::facet::tokenizer_testing::AddVocab;
using ::facet::tokenizer_testing::FromImage;
using ::facet::tokenizer_testing::GgufImage;
using ::facet::tokenizer_testing::json;
using ::facet::tokenizer_testing::MiniHfJson;
using ::facet::tokenizer_testing::PiecesOf;
using ::facet::tokenizer_testing::SyntheticVocab;
using ::facet::tokenizer_testing::TempDir;
using ::facet::tokenizer_testing::WriteText;

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

}  // namespace
}  // namespace facet
