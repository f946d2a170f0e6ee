// Tokenizing without a model's weights: the token ids facet's engine gives a
// text, from a folder or file that may hold nothing but a tokenizer.
#ifndef FACET_TOKENIZER_H_
#define FACET_TOKENIZER_H_

#include <string>
#include <vector>

#include "facet/status.h"

namespace facet {

// Token ids of `text` with the tokenizer at `model_path`: a model folder
// holding tokenizer.model (preferred) or tokenizer.json, a .gguf file (only
// its tokenizer.ggml.* metadata is used; it need not hold weights), or a
// tokenizer.model / tokenizer.json file itself. The ids are those that
// Engine::Tokenize(text, parse_special, add_bos) gives with the same model
// path: add_bos prepends the BOS token once; parse_special lets the text of
// control tokens (<bos>, <|turn>, ...) become those tokens, while
// user-defined pieces (<table>, <mask>, runs of "\n") are matched either
// way and markup pieces (<|name>, <name|>) only with parse_special. Any
// byte may be in `text`, NUL included; invalid UTF-8 becomes byte tokens.
// The tokenizer is loaded for each call: for many texts, load an Engine.
// Errors: kNotFound (no tokenizer at the path), kDataLoss or
// kUnimplemented (a corrupt or unsupported vocabulary), kInvalidArgument
// (a file of another kind), kFailedPrecondition (add_bos and no BOS token).
StatusOr<std::vector<int>> TokenizeText(const std::string& model_path,
                                        const std::string& text,
                                        bool parse_special, bool add_bos);

}  // namespace facet

#endif  // FACET_TOKENIZER_H_
