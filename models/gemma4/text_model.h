// The Gemma 4 text decoder behind the engine's model seam
// (src/engine/language_model.h): loading (with weight packing and
// prefetch), per-session state (KV cache, scratch), the forward pass and
// the Gemma 4 chat format.
#ifndef FACET_MODELS_GEMMA4_TEXT_MODEL_H_
#define FACET_MODELS_GEMMA4_TEXT_MODEL_H_

#include <memory>

#include "src/engine/language_model.h"

namespace facet::gemma4 {

StatusOr<std::unique_ptr<LanguageModel>> LoadTextModel(
    const LoadOptions& options);

class Model;
// The Gemma 4 weights and config behind `lm`, or null when `lm` is not a
// Gemma 4 text model (for models that read the target, the MTP drafter).
const Model* ModelOf(const LanguageModel& lm);

}  // namespace facet::gemma4

#endif  // FACET_MODELS_GEMMA4_TEXT_MODEL_H_
