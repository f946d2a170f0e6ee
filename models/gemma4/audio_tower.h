// The Gemma 4 audio encoder (E2B/E4B; gemma4-multimodal spec 3.3): the
// sub-sampling convolution projection, conformer blocks (half-step FFNs,
// chunked local attention with relative positions and a logit cap, a
// causal depthwise light convolution), the output projection and the
// projection into the text model (embed_audio).
#ifndef FACET_MODELS_GEMMA4_AUDIO_TOWER_H_
#define FACET_MODELS_GEMMA4_AUDIO_TOWER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "facet/status.h"
#include "kernels/parallel.h"
#include "src/media/audio.h"

namespace facet::gemma4 {

struct AudioConfig {
  int hidden = 0;
  int layers = 0;
  int heads = 0;
  int head_dim = 0;
  int sscp_channels0 = 128;
  int sscp_channels1 = 32;
  int conv_kernel = 5;
  float residual_weight = 0.5f;
  int chunk_size = 12;
  int context_left = 13;
  int context_right = 0;
  float logit_cap = 50.f;
  float invalid_logit = -1e9f;
  float rms_eps = 1e-6f;
  bool clipped_linears = true;
  int output_dims = 0;  // output_proj width
  int text_hidden = 0;  // width of the soft-token embeddings
  int ffn = 0;          // feed-forward inner width (4 * hidden in HF)
};

// Intermediates of one Encode, for tests and debugging (the golden data's
// audio/<case>/debug files), valid rows only, each [n][hidden].
struct AudioTaps {
  std::vector<float> sscp;                 // after input_proj_linear
  std::vector<std::vector<float>> layers;  // after each conformer layer
};

class AudioTower {
 public:
  // Loads the tower from a Hugging Face folder whose config.json has an
  // audio_config (model.audio_tower.*, model.embed_audio.*) or from a
  // llama.cpp mmproj GGUF with a gemma4a audio projector. kNotFound when
  // there is no audio tower; kDataLoss / kInvalidArgument for missing or
  // misshapen tensors (the message names them).
  static StatusOr<std::unique_ptr<AudioTower>> Load(const std::string& path);
  virtual ~AudioTower() = default;

  virtual const AudioConfig& config() const = 0;

  // Encodes log-mel features into soft-token embeddings
  // [n_valid_tokens][text_hidden] (rows of invalid frames are dropped).
  // With `tower_out`, also the output_proj rows [n][output_dims]. Takes
  // at most 3000 frames (30 s, 750 tokens); kInvalidArgument when mel or
  // valid do not match `frames`, or past that limit. Thread-safe.
  virtual Status Encode(const media::MelFeatures& mel,
                        kernels::ThreadPool* pool,
                        std::vector<float>* embeddings,
                        std::vector<float>* tower_out = nullptr) const = 0;
  // Encode that also fills `taps` (when not null).
  virtual Status EncodeWithTaps(const media::MelFeatures& mel,
                                kernels::ThreadPool* pool,
                                std::vector<float>* embeddings,
                                std::vector<float>* tower_out,
                                AudioTaps* taps) const = 0;
};

}  // namespace facet::gemma4

#endif  // FACET_MODELS_GEMMA4_AUDIO_TOWER_H_
