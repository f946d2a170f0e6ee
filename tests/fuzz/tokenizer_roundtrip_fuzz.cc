// libFuzzer target: the round trip Decode(Encode(x)) == x on one fixed,
// real vocabulary: the 512-token "gemma4" merge-rank BPE vocabulary shared by
// the golden test models (tests/data/golden/*/model.gguf; FACET_FUZZ_VOCAB
// names another GGUF). It is loaded once.
//
// Why the round trip must hold there (src/tokenizer/tokenizer.h): encoding
// only turns ' ' into "▁", splits runs of '\n', merges characters by rank and
// sends every character without a token (an invalid UTF-8 byte is a
// character of its own) to <0xXX> byte tokens; decoding turns byte tokens
// back into their bytes and "▁" into ' '. There is no dummy prefix, no
// normalization and no unknown token as long as the vocabulary has all 256
// byte tokens. So the text comes back exactly unless
//   * it contains "▁" (U+2581, bytes E2 96 81) itself: that decodes to ' '
//     (such inputs are skipped), or
//   * the vocabulary can reach a piece that does not decode to its own text
//     (a control, unknown or byte token as a single character, a newline
//     run or a merge result): checked once at start-up (abort if so).
// Checked per input (__builtin_trap on a violation):
//   Decode(Encode(x, parse_special=false)) == x;
//   Decode(Encode(x, parse_special=true), special=true) == x (special texts
//   become one token and render as their text);
//   add_bos puts bos_id() first, once;
//   StreamDecoder's Push/Flush concatenation equals Decode.
// The same vocabulary run by libsentencepiece (forced kSentencePiece) only
// has to encode and decode without crashing.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "src/io/gguf.h"
#include "src/tokenizer/tokenizer.h"

#ifndef FACET_FUZZ_DEFAULT_VOCAB
#define FACET_FUZZ_DEFAULT_VOCAB "tests/data/golden/e2b-tiny-f32-s16/model.gguf"
#endif

namespace {

using facet::Tokenizer;
using facet::TokenType;

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";

struct Vocab {
  std::unique_ptr<facet::GgufFile> gguf;
  std::unique_ptr<Tokenizer> rank;  // merge-rank BPE: round trip checked
  std::unique_ptr<Tokenizer> spm;   // libsentencepiece: must not crash
};

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "tokenizer_roundtrip_fuzz setup: %s\n", what.c_str());
  std::abort();
}

bool IsOneUtf8Char(const std::string& s) {
  if (s.empty()) return false;
  const unsigned char c = static_cast<unsigned char>(s[0]);
  const size_t n = c < 0x80             ? 1
                   : (c & 0xE0) == 0xC0 ? 2
                   : (c & 0xF0) == 0xE0 ? 3
                   : (c & 0xF8) == 0xF0 ? 4
                                        : 1;
  return s.size() == 1 || s.size() == n;
}

// Pieces that the encoder can produce from plain text must render as
// themselves: see the header comment.
void CheckVocabulary(const Tokenizer& t) {
  if (t.algorithm() != Tokenizer::Algorithm::kMergeRank) {
    Fail("the vocabulary is not merge-rank BPE");
  }
  for (int b = 0; b < 256; ++b) {
    char piece[8];
    std::snprintf(piece, sizeof(piece), "<0x%02X>", b);
    const int id = t.TokenId(piece);
    if (id < 0 || t.Type(id) != TokenType::kByte) {
      Fail(std::string("no byte token ") + piece);
    }
  }
  std::vector<bool> reachable(t.vocab_size(), false);
  for (const std::string& m : t.MergeList()) {
    const size_t sp = m.find(' ', 1);
    const int id = t.TokenId(m.substr(0, sp) + m.substr(sp + 1));
    if (id >= 0) reachable[id] = true;
  }
  for (int id = 0; id < t.vocab_size(); ++id) {
    const std::string p = t.Piece(id);
    const bool newlines =
        !p.empty() && p.find_first_not_of('\n') == std::string::npos;
    if (!reachable[id] && !IsOneUtf8Char(p) && !newlines) continue;
    const TokenType type = t.Type(id);
    if (type == TokenType::kControl || type == TokenType::kUnknown ||
        type == TokenType::kByte) {
      Fail("piece " + std::to_string(id) + " '" + p +
           "' can come from plain text but does not decode to it");
    }
  }
}

const Vocab& GetVocab() {
  static const Vocab* vocab = [] {
    const char* env = std::getenv("FACET_FUZZ_VOCAB");
    const std::string path =
        env != nullptr && env[0] != '\0' ? env : FACET_FUZZ_DEFAULT_VOCAB;
    auto* v = new Vocab;
    auto gguf = facet::GgufFile::Open(path);
    if (!gguf.ok()) Fail(gguf.status().ToString());
    v->gguf = std::move(gguf).value();
    auto rank = Tokenizer::FromGguf(*v->gguf);
    if (!rank.ok()) Fail(rank.status().ToString());
    v->rank = std::move(rank).value();
    CheckVocabulary(*v->rank);
    auto spm =
        Tokenizer::FromGguf(*v->gguf, Tokenizer::Algorithm::kSentencePiece);
    if (!spm.ok()) Fail(spm.status().ToString());
    v->spm = std::move(spm).value();
    return v;
  }();
  return *vocab;
}

std::string Streamed(const Tokenizer& t, const std::vector<int>& ids,
                     bool special) {
  facet::StreamDecoder stream(t, special);
  std::string out;
  for (int id : ids) out += stream.Push(id);
  out += stream.Flush();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)GetVocab();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Vocab& v = GetVocab();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const Tokenizer& t = *v.rank;

  // Crash-only: libsentencepiece on the same vocabulary.
  for (const bool special : {false, true}) {
    auto ids = v.spm->Encode(text, /*add_bos=*/false, special);
    if (ids.ok()) (void)v.spm->Decode(*ids, special);
  }

  if (text.find(kSpaceMarker) != std::string_view::npos) return 0;

  auto plain = t.Encode(text, /*add_bos=*/false, /*parse_special=*/false);
  if (!plain.ok()) __builtin_trap();
  const std::string decoded = t.Decode(*plain, /*special=*/false);
  if (decoded != text) __builtin_trap();
  if (Streamed(t, *plain, false) != decoded) __builtin_trap();

  auto special = t.Encode(text, /*add_bos=*/true, /*parse_special=*/true);
  if (!special.ok() || special->empty() || (*special)[0] != t.bos_id()) {
    __builtin_trap();
  }
  special->erase(special->begin());
  const std::string decoded_special = t.Decode(*special, /*special=*/true);
  if (decoded_special != text) __builtin_trap();
  if (Streamed(t, *special, true) != decoded_special) __builtin_trap();
  return 0;
}
