// facet/tokenizer.h: tokenizing with only a model's tokenizer loaded.
#include <memory>
#include <string>
#include <vector>

#include "facet/tokenizer.h"
#include "src/tokenizer/tokenizer.h"
#include "src/util/no_throw.h"
#include "src/util/status_macros.h"

namespace facet {

StatusOr<std::vector<int>> TokenizeText(const std::string& model_path,
                                        const std::string& text,
                                        bool parse_special, bool add_bos) {
  // The loaders parse JSON and call libsentencepiece, which may throw.
  return CatchAll("TokenizeText", [&]() -> StatusOr<std::vector<int>> {
    FACET_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer,
                           Tokenizer::ForModelPath(model_path));
    return tokenizer->Encode(text, add_bos, parse_special);
  });
}

}  // namespace facet
