// libFuzzer target: Tokenizer::FromHfTokenizerJson (the streaming SAX reader
// of tokenizer.json, the vocabulary / added-token / normalizer /
// pre-tokenizer / post-processor checks and the merge table). The library
// only reads paths, so each input goes into an anonymous memory file
// (memfd_create) opened as /proc/self/fd/N. A vocabulary that loads is
// exercised the way the CLI uses it: Encode of fixed strings with and
// without parse_special (and add_bos), Decode with and without special
// text, the streaming decoder, and the sentencepiece export. Memory safety
// and "errors are Status, never a crash" are what this checks.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "src/tokenizer/tokenizer.h"
#include "tests/fuzz/exercise_tokenizer.h"
#include "tests/fuzz/memory_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  facet::fuzz::MemoryFile file("facet_tokenizer_json_fuzz", data, size);
  if (!file.ok()) return 0;
  auto tok = facet::Tokenizer::FromHfTokenizerJson(file.path());
  if (tok.ok()) facet::fuzz::ExerciseTokenizer(**tok);
  return 0;
}
