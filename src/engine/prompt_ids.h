// Rendered prompt segments to token ids: each text segment is encoded as
// ordinary text (never parsing special tokens, whatever it holds), each
// marker becomes its one special token. Splitting at the markers and
// encoding the text between them whole is what the reference tokenizers
// do with a rendered template, so ids match them for ordinary content.
#ifndef FACET_SRC_ENGINE_PROMPT_IDS_H_
#define FACET_SRC_ENGINE_PROMPT_IDS_H_

#include <vector>

#include "facet/status.h"
#include "models/gemma4/prompt.h"
#include "src/tokenizer/tokenizer.h"

namespace facet {

// A run of soft tokens in the ids: positions [start, start + count), to
// be filled with the rows of media `media`. `image`: an image or video
// frame (a bidirectional block on models that have them), else audio.
struct SoftSpan {
  size_t start = 0;
  int count = 0;
  int media = -1;
  bool image = false;
};

// Appends the ids of `prompt` to `ids`. A soft token's id is its
// placeholder piece's (or the pad id 0 where the vocabulary lacks it); its
// span goes to `spans`, or the call fails (kUnimplemented) without them.
Status AppendPromptIds(const gemma4::Prompt& prompt, const Tokenizer& tok,
                       std::vector<int>* ids,
                       std::vector<SoftSpan>* spans = nullptr);

}  // namespace facet

#endif  // FACET_SRC_ENGINE_PROMPT_IDS_H_
