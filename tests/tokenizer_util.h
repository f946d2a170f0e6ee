// Helpers shared by the tokenizer tests (tests/tokenizer_*_test.cc): file
// and UTF-8 utilities, synthetic GGUF vocabularies and a small
// tokenizer.json.
#ifndef FACET_TESTS_TOKENIZER_UTIL_H_
#define FACET_TESTS_TOKENIZER_UTIL_H_

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "facet/status.h"
#include "src/io/gguf.h"
#include "src/io/gguf_writer.h"
#include "src/tokenizer/tokenizer.h"

namespace facet::tokenizer_testing {

using json = nlohmann::json;

inline void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// A fresh folder under the test temp dir.
inline std::string TempDir(const std::string& name) {
  std::string dir = ::testing::TempDir() + "/facet_tok_" + name + "_" +
                    std::to_string(::getpid()) + "_" +
                    std::to_string(std::time(nullptr));
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

inline std::string ReplaceAll(std::string s, const std::string& from,
                              const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos;
       pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

inline bool IsValidUtf8(const std::string& s) {
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

inline std::string GgufImage(const std::function<void(GgufWriter*)>& fill) {
  GgufWriter w;
  w.AddString("general.architecture", "gemma4");
  fill(&w);
  auto image = w.Serialize();
  EXPECT_TRUE(image.ok()) << image.status().ToString();
  return image.ok() ? *image : std::string();
}

inline void AddVocab(GgufWriter* w, const SyntheticVocab& v,
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

inline StatusOr<std::unique_ptr<Tokenizer>> FromImage(
    const std::string& image) {
  auto gguf = GgufFile::Parse(reinterpret_cast<const uint8_t*>(image.data()),
                              image.size());
  if (!gguf.ok()) return gguf.status();
  return Tokenizer::FromGguf(**gguf);
}

inline StatusOr<std::unique_ptr<Tokenizer>> FromImage(
    const std::string& image, Tokenizer::Algorithm algorithm) {
  auto gguf = GgufFile::Parse(reinterpret_cast<const uint8_t*>(image.data()),
                              image.size());
  if (!gguf.ok()) return gguf.status();
  return Tokenizer::FromGguf(**gguf, algorithm);
}

inline std::vector<std::string> PiecesOf(const Tokenizer& t,
                                         const std::vector<int>& ids) {
  std::vector<std::string> out;
  for (int id : ids) out.push_back(t.Piece(id));
  return out;
}

inline json MiniHfJson(bool merges_as_pairs) {
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

}  // namespace facet::tokenizer_testing

#endif  // FACET_TESTS_TOKENIZER_UTIL_H_
