// Sampling defaults and chat-template facts read from the model's files.
#ifndef FACET_MODELS_GEMMA4_GENERATION_DEFAULTS_H_
#define FACET_MODELS_GEMMA4_GENERATION_DEFAULTS_H_

#include "facet/facet.h"
#include "models/gemma4/model.h"

namespace facet {

// generation_config.json (HF) or general.sampling.* (GGUF) override the
// Gemma 4 defaults; a chat template that pre-fills an empty thought
// channel sets *empty_thought_prefill.
Status LoadGenerationDefaults(const gemma4::Model& model,
                              SamplerOptions* sampling,
                              bool* empty_thought_prefill);

}  // namespace facet

#endif  // FACET_MODELS_GEMMA4_GENERATION_DEFAULTS_H_
