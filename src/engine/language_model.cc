#include "src/engine/language_model.h"

#include "models/gemma4/mtp_drafter.h"
#include "models/gemma4/text_model.h"

namespace facet {

StatusOr<std::unique_ptr<LanguageModel>> LoadLanguageModel(
    const LoadOptions& options) {
  // Gemma 4 is the one architecture; Model::Load refuses others with a
  // message naming what the file declares.
  return gemma4::LoadTextModel(options);
}

StatusOr<std::unique_ptr<DraftModel>> LoadDraftModel(
    const std::string& path, const LanguageModel& target) {
  // The Gemma 4 MTP drafter is the one kind.
  return gemma4::LoadMtpDraftModel(path, target);
}

}  // namespace facet
