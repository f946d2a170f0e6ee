// A media content part (facet::Part) to soft-token embeddings: reads the
// file or takes the bytes / pixels / samples, decodes (src/media), brings
// audio to 16 kHz mono in 30 s chunks, and runs the model's encoder.
#ifndef FACET_SRC_ENGINE_MEDIA_INPUT_H_
#define FACET_SRC_ENGINE_MEDIA_INPUT_H_

#include <string>

#include "facet/facet.h"
#include "kernels/parallel.h"
#include "src/engine/media_encoder.h"

namespace facet {

// Checks the fields of an image, audio or video part (`where` names it in
// messages): one source each, sizes that agree, a valid budget.
Status CheckMediaPart(const Part& p, const std::string& where);

// Encodes an image or audio part (not kVideo: its frames are images).
// `default_budget` applies to images whose image_budget is 0. Audio past
// 30 s is encoded chunk by chunk, rows appended, unless the part asks to
// refuse it. kFailedPrecondition when `encoder` lacks the tower.
StatusOr<EncodedMedia> EncodeMediaPart(const Part& p, int default_budget,
                                       const MediaEncoder& encoder,
                                       kernels::ThreadPool* pool,
                                       bool keep_features);

}  // namespace facet

#endif  // FACET_SRC_ENGINE_MEDIA_INPUT_H_
