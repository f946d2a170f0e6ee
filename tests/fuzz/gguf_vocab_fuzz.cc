// libFuzzer target: a tokenizer vocabulary in GGUF metadata
// (tokenizer.ggml.model / tokens / token_type / scores / merges / special
// ids / add_bos_token / add_space_prefix). GgufFile::Parse, then
// Tokenizer::FromGguf with the algorithm the file implies and, for a file
// with merges, forced sentencepiece (scores derived from merge ranks, the
// in-memory ModelProto path). A vocabulary that loads encodes and decodes
// fixed strings with and without parse_special. Memory safety and "errors
// are Status, never a crash" are what this checks.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "src/io/gguf.h"
#include "src/tokenizer/tokenizer.h"
#include "tests/fuzz/exercise_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = facet::GgufFile::Parse(data, size);
  if (!parsed.ok()) return 0;
  const facet::GgufFile& file = **parsed;
  auto tok = facet::Tokenizer::FromGguf(file);
  if (tok.ok()) facet::fuzz::ExerciseTokenizer(**tok);
  const facet::GgufValue* merges = file.Find("tokenizer.ggml.merges");
  if (merges != nullptr && merges->array_size() > 0) {
    auto spm = facet::Tokenizer::FromGguf(
        file, facet::Tokenizer::Algorithm::kSentencePiece);
    if (spm.ok()) facet::fuzz::ExerciseTokenizer(**spm);
  }
  return 0;
}
