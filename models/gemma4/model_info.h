// Builds the public ModelInfo from a loaded Gemma 4 model (InspectModel
// and the KV-cache size estimate are defined beside it).
#ifndef FACET_MODELS_GEMMA4_MODEL_INFO_H_
#define FACET_MODELS_GEMMA4_MODEL_INFO_H_

#include "facet/facet.h"
#include "models/gemma4/model.h"

namespace facet {

ModelInfo MakeModelInfo(const gemma4::Model& model);

}  // namespace facet

#endif  // FACET_MODELS_GEMMA4_MODEL_INFO_H_
