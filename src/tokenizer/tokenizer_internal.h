// Internals shared by the tokenizer's source files; not part of any public
// interface. The loaders (one file per vocabulary source) fill Tokenizer's
// private members through Tokenizer::Builder, declared here.
#ifndef FACET_SRC_TOKENIZER_TOKENIZER_INTERNAL_H_
#define FACET_SRC_TOKENIZER_TOKENIZER_INTERNAL_H_

#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "facet/status.h"
#include "src/tokenizer/tokenizer.h"

namespace facet {
namespace tokenizer_internal {

inline constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581

// Length of the UTF-8 character at `s[off]`. A well-formed sequence is one
// symbol (as in llama.cpp); a byte that does not start one (a stray
// continuation byte, a truncated or invalid sequence) is a symbol of its own,
// so it cannot swallow the bytes of the next character.
size_t Utf8CharLen(std::string_view s, size_t off);

// Parses "<0xAB>" into 0xAB; -1 when `piece` is not a byte piece.
int ParseBytePiece(std::string_view piece);

// "<0xAB>" for 0xAB.
std::string BytePiece(int byte);

// ' ' -> U+2581.
std::string EscapeSpaces(std::string_view text);

// Gemma's markup tokens, <|name> and <name|> (turns, channels, tool calls,
// media, <|"|>): only the chat format may emit them, so they are never
// matched in plain text whatever type a vocabulary file gives them.
bool IsMarkupPiece(std::string_view piece);

// The bytes of a file; errors name `what` (e.g. "tokenizer.json").
StatusOr<std::string> ReadFile(const std::string& path, const char* what);

// model.vocab and model.merges of a tokenizer.json (hf_tokenizer_json.cc).
struct HfStreamed;

}  // namespace tokenizer_internal

// Loaders live in a nested struct so that they can fill private members.
struct Tokenizer::Builder {
  // tokenizer.cc
  static Status AddMerge(Tokenizer* t, std::string_view left,
                         std::string_view right, int rank, bool strict,
                         const char* where);
  // sentencepiece_vocab.cc
  static Status LoadSentencePiece(Tokenizer* t, const std::string& proto);
  static StatusOr<std::string> MakeSpmProto(const Tokenizer& t,
                                            bool markup_as_control,
                                            bool add_dummy_prefix);
  // hf_tokenizer_json.cc
  static Status ParseHfJson(Tokenizer* t, const nlohmann::json& root,
                            tokenizer_internal::HfStreamed* streamed);
};

}  // namespace facet

#endif  // FACET_SRC_TOKENIZER_TOKENIZER_INTERNAL_H_
