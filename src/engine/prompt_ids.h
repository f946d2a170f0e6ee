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

// Appends the ids of `prompt` to `ids`. Soft-token spans need an encoder
// and are refused (kUnimplemented) until one fills them.
Status AppendPromptIds(const gemma4::Prompt& prompt, const Tokenizer& tok,
                       std::vector<int>* ids);

}  // namespace facet

#endif  // FACET_SRC_ENGINE_PROMPT_IDS_H_
