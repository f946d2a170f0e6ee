// libFuzzer target: Tokenizer::FromSentencePieceProto, i.e. a
// tokenizer.model (serialized sentencepiece ModelProto) as read by facet and
// libsentencepiece. A vocabulary that loads is used as the CLI uses it:
// Encode of fixed strings with and without parse_special (and add_bos),
// Decode with and without special text, the streaming decoder, and the
// re-export to a proto, which is loaded again. Memory safety and "errors
// are Status, never a crash" are what this checks.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/tokenizer/tokenizer.h"
#include "tests/fuzz/exercise_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto tok = facet::Tokenizer::FromSentencePieceProto(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (!tok.ok()) return 0;
  facet::fuzz::ExerciseTokenizer(**tok);
  // What facet writes for a converted vocabulary is read back.
  auto proto = (*tok)->ExportSentencePieceProto();
  if (proto.ok()) {
    auto again = facet::Tokenizer::FromSentencePieceProto(*proto);
    if (again.ok()) facet::fuzz::ExerciseTokenizer(**again);
  }
  return 0;
}
