// The seam between the engine and a model's multimodal encoders: decoded
// media in, soft-token embedding rows out. The engine decodes files and
// resamples audio (src/media); the model preprocesses and runs its towers
// (models/gemma4/media_encoder.cc for Gemma 4).
#ifndef FACET_SRC_ENGINE_MEDIA_ENCODER_H_
#define FACET_SRC_ENGINE_MEDIA_ENCODER_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "facet/status.h"
#include "kernels/parallel.h"
#include "src/media/image.h"

namespace facet {

// One image, video frame or audio clip, encoded.
struct EncodedMedia {
  int soft_tokens = 0;
  std::vector<float> embeddings;  // [soft_tokens][text_hidden]
  // The encoder's input, for inspection (facet encode --features-out):
  // image patches [rows][768] or log-mel frames [rows][128].
  std::vector<float> features;
  int feature_rows = 0;
  int feature_cols = 0;
  // Images: the size the image was resized to.
  int resized_width = 0;
  int resized_height = 0;
};

class MediaEncoder {
 public:
  virtual ~MediaEncoder() = default;
  virtual bool has_vision() const = 0;
  virtual bool has_audio() const = 0;
  // Width of the embedding rows (the text model's hidden size).
  virtual int text_hidden() const = 0;
  // Preprocesses `image` for `budget` soft tokens and encodes it.
  virtual StatusOr<EncodedMedia> EncodeImage(const media::RgbImage& image,
                                             int budget,
                                             kernels::ThreadPool* pool,
                                             bool keep_features) const = 0;
  // Encodes n <= media::kAudioMaxSamples mono samples at 16 kHz.
  virtual StatusOr<EncodedMedia> EncodeAudio(const float* samples, size_t n,
                                             kernels::ThreadPool* pool,
                                             bool keep_features) const = 0;
};

// Loads the encoders at `path` (a Hugging Face folder, full checkpoint or
// towers only, or a llama.cpp mmproj GGUF). kNotFound when it holds
// neither a vision nor an audio tower.
StatusOr<std::unique_ptr<MediaEncoder>> LoadMediaEncoder(
    const std::string& path);

}  // namespace facet

#endif  // FACET_SRC_ENGINE_MEDIA_ENCODER_H_
