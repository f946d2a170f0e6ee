// What the tokenizer fuzz targets do with a vocabulary that loads: what the
// engine and the CLI do with it. Encode of fixed texts (spaces, newlines,
// invalid UTF-8, emoji, special-token texts of Gemma vocabularies, a
// literal "▁") with and without parse_special and BOS, Decode with and
// without special text, the streaming decoder, ids past both ends of the
// vocabulary, and the vocabulary accessors a GGUF writer uses.
#ifndef FACET_TESTS_FUZZ_EXERCISE_TOKENIZER_H_
#define FACET_TESTS_FUZZ_EXERCISE_TOKENIZER_H_

#include "src/tokenizer/tokenizer.h"

namespace facet::fuzz {

inline void ExerciseTokenizer(const Tokenizer& tok) {
  static const char* const kTexts[] = {
      "hello world",
      " hello  world \n\n\tx\n",
      "<bos><start_of_turn>user\nhi<end_of_turn>\n<|turn>model\n"
      "<|channel>thought\n<turn|>",
      "\xE2\x96\x81 caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80",
      "\xFF\xC3\x28\xE2\x82 \x80<0x41><unk>",
      "",
  };
  for (const char* text : kTexts) {
    for (const bool special : {false, true}) {
      auto ids = tok.Encode(text, /*add_bos=*/special, special);
      if (!ids.ok()) continue;
      (void)tok.Decode(*ids, /*special=*/false);
      (void)tok.Decode(*ids, /*special=*/true);
      StreamDecoder stream(tok, special);
      for (int id : *ids) (void)stream.Push(id);
      (void)stream.Flush();
    }
  }
  const int n = tok.vocab_size();
  (void)tok.Decode(
      {-1, 0, n - 1, n, n + 1, tok.bos_id(), tok.eos_id(), tok.unk_id()}, true);
  (void)tok.Piece(n);
  (void)tok.Type(-1);
  (void)tok.Score(n - 1);
  (void)tok.MergeList();
}

}  // namespace facet::fuzz

#endif  // FACET_TESTS_FUZZ_EXERCISE_TOKENIZER_H_
