// Tokenizer tests on synthetic GGUF vocabularies: merge-rank and
// sentencepiece rules, special tokens, and bad GGUF vocabularies.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "src/io/gguf_writer.h"
#include "src/tokenizer/tokenizer.h"
#include "tests/tokenizer_util.h"

namespace facet {
namespace {

using ::facet::tokenizer_testing::AddVocab;
using ::facet::tokenizer_testing::FromImage;
using ::facet::tokenizer_testing::GgufImage;
using ::facet::tokenizer_testing::PiecesOf;
using ::facet::tokenizer_testing::SyntheticVocab;

// --- synthetic GGUF vocabularies -----------------------------------------

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

}  // namespace
}  // namespace facet
