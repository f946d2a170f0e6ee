// Gemma 4's encoders behind the engine's MediaEncoder seam: the vision
// tower (all sizes) and the audio tower (E2B/E4B), each optional.
#include "src/engine/media_encoder.h"

#include <string>
#include <utility>

#include "models/gemma4/audio_tower.h"
#include "models/gemma4/vision_tower.h"
#include "src/media/audio.h"
#include "src/util/status_macros.h"

namespace facet {
namespace {

class Gemma4MediaEncoder : public MediaEncoder {
 public:
  bool has_vision() const override { return vision_ != nullptr; }
  bool has_audio() const override { return audio_ != nullptr; }
  int text_hidden() const override { return text_hidden_; }

  StatusOr<EncodedMedia> EncodeImage(const media::RgbImage& image, int budget,
                                     kernels::ThreadPool* pool,
                                     bool keep_features) const override {
    if (vision_ == nullptr) return FailedPrecondition("no vision encoder");
    FACET_ASSIGN_OR_RETURN(media::ImagePatches p,
                           media::PreprocessImage(image, budget));
    EncodedMedia out;
    FACET_RETURN_IF_ERROR(vision_->Encode(p, pool, &out.embeddings));
    out.soft_tokens = p.soft_tokens();
    out.resized_width = p.resized.width;
    out.resized_height = p.resized.height;
    if (keep_features) {
      out.feature_rows = p.num_patches();
      out.feature_cols =
          static_cast<int>(p.pixels.size()) / std::max(1, p.num_patches());
      out.features = std::move(p.pixels);
    }
    return out;
  }

  StatusOr<EncodedMedia> EncodeAudio(const float* samples, size_t n,
                                     kernels::ThreadPool* pool,
                                     bool keep_features) const override {
    if (audio_ == nullptr) return FailedPrecondition("no audio encoder");
    if (n > static_cast<size_t>(media::kAudioMaxSamples)) {
      return InvalidArgument("audio chunk longer than 30 s");
    }
    const media::MelFeatures mel = media::LogMel(samples, n);
    EncodedMedia out;
    if (mel.frames == 0) {
      return InvalidArgument("audio of " + std::to_string(n) +
                             " samples is too short for one feature frame "
                             "(at least 161 samples at 16 kHz)");
    }
    FACET_RETURN_IF_ERROR(audio_->Encode(mel, pool, &out.embeddings));
    out.soft_tokens =
        static_cast<int>(out.embeddings.size() / std::max(1, text_hidden_));
    if (keep_features) {
      out.feature_rows = mel.frames;
      out.feature_cols = media::kMelBins;
      out.features = mel.mel;
    }
    return out;
  }

  std::unique_ptr<gemma4::VisionTower> vision_;
  std::unique_ptr<gemma4::AudioTower> audio_;
  int text_hidden_ = 0;
};

}  // namespace

StatusOr<std::unique_ptr<MediaEncoder>> LoadMediaEncoder(
    const std::string& path) {
  auto e = std::make_unique<Gemma4MediaEncoder>();
  StatusOr<std::unique_ptr<gemma4::VisionTower>> v =
      gemma4::VisionTower::Load(path);
  if (v.ok()) {
    e->vision_ = std::move(v).value();
  } else if (v.status().code() != StatusCode::kNotFound) {
    return v.status();
  }
  StatusOr<std::unique_ptr<gemma4::AudioTower>> a =
      gemma4::AudioTower::Load(path);
  if (a.ok()) {
    e->audio_ = std::move(a).value();
  } else if (a.status().code() != StatusCode::kNotFound) {
    return a.status();
  }
  if (e->vision_ == nullptr && e->audio_ == nullptr) {
    return NotFound(path + " has no Gemma 4 vision or audio encoder");
  }
  const int vh = e->vision_ ? e->vision_->config().text_hidden : 0;
  const int ah = e->audio_ ? e->audio_->config().text_hidden : 0;
  if (vh != 0 && ah != 0 && vh != ah) {
    return InvalidArgument("the vision tower projects to " +
                           std::to_string(vh) + " but the audio tower to " +
                           std::to_string(ah));
  }
  e->text_hidden_ = vh != 0 ? vh : ah;
  return std::unique_ptr<MediaEncoder>(std::move(e));
}

}  // namespace facet
