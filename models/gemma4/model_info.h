// Builds the public ModelInfo from a loaded model.
#ifndef FACET_SRC_ENGINE_MODEL_INFO_H_
#define FACET_SRC_ENGINE_MODEL_INFO_H_

#include "facet/facet.h"
#include "models/gemma4/model.h"

namespace facet {

ModelInfo MakeModelInfo(const gemma4::Model& model);

}  // namespace facet

#endif  // FACET_SRC_ENGINE_MODEL_INFO_H_
