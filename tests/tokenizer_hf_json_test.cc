// Tokenizer tests of tokenizer.json (merge formats and errors) and of the
// tokenizer.model and model-path errors.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/tokenizer/tokenizer.h"
#include "tests/tokenizer_util.h"

namespace facet {
namespace {

using ::facet::tokenizer_testing::json;
using ::facet::tokenizer_testing::MiniHfJson;
using ::facet::tokenizer_testing::PiecesOf;
using ::facet::tokenizer_testing::TempDir;
using ::facet::tokenizer_testing::WriteText;

// --- tokenizer.json and file errors ---------------------------------------

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

}  // namespace
}  // namespace facet
