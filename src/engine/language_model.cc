#include "src/engine/language_model.h"

#include "models/gemma4/mtp_drafter.h"
#include "models/gemma4/text_model.h"
#include "src/util/status_macros.h"

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

Status LanguageModel::ForwardMany(const ForwardRequest* requests, int count,
                                  kernels::ThreadPool* pool) const {
  for (int i = 0; i < count; ++i) {
    const ForwardRequest& r = requests[i];
    FACET_RETURN_IF_ERROR(
        Forward(r.batch, r.state, pool, r.logits, r.all_logits));
  }
  return OkStatus();
}

}  // namespace facet
