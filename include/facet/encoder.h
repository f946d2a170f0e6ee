// facet's multimodal encoders on their own: an image or audio clip in,
// the soft-token embeddings the text model receives out. For inspection
// and for checks against other implementations (`facet encode`); a
// Session encodes the media of its messages itself.
#ifndef FACET_ENCODER_H_
#define FACET_ENCODER_H_

#include <memory>
#include <string>
#include <vector>

#include "facet/facet.h"
#include "facet/status.h"

namespace facet {

struct EncoderOptions {
  // A Hugging Face folder with a vision_config / audio_config (a full
  // Gemma 4 checkpoint or the towers alone) or a llama.cpp mmproj GGUF.
  std::string path;
  int num_threads = 0;  // 0 = one per core
};

struct Encoding {
  int soft_tokens = 0;
  int width = 0;                  // text hidden size
  std::vector<float> embeddings;  // [soft_tokens][width]
  // The encoder's input: image patches [rows][768] (values in [0, 1]) or
  // log-mel frames [rows][128]; filled when asked for.
  std::vector<float> features;
  int feature_rows = 0;
  int feature_cols = 0;
  // Images: the size the image was resized to before cutting patches.
  int resized_width = 0;
  int resized_height = 0;
};

class Encoder {
 public:
  static StatusOr<std::unique_ptr<Encoder>> Create(
      const EncoderOptions& options);
  ~Encoder();
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  bool has_vision() const;
  bool has_audio() const;
  int width() const;
  // Encodes one image or audio part (Part::Image*, Part::Audio*). Audio
  // past 30 s is encoded in 30 s chunks whose rows follow each other.
  StatusOr<Encoding> Encode(const Part& part, bool keep_features = false) const;

  struct Impl;

 private:
  explicit Encoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace facet

#endif  // FACET_ENCODER_H_
