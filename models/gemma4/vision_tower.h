// The Gemma 4 vision encoder (gemma4-multimodal spec 2.3-2.4): a ViT of
// Gemma-style blocks with learned 2-D position tables and 2-D RoPE, 3x3
// average pooling, x sqrt(D), standardisation (26B/31B towers) and the
// projection into the text model (embed_vision). Both tower families come
// from one config: the on-device tower (E2B/E4B: 768 wide, 16 layers,
// clipped linears) and the large one (26B/31B: 1152 wide, 27 layers).
#ifndef FACET_MODELS_GEMMA4_VISION_TOWER_H_
#define FACET_MODELS_GEMMA4_VISION_TOWER_H_

#include <memory>
#include <string>
#include <vector>

#include "facet/status.h"
#include "kernels/parallel.h"
#include "src/media/image.h"

namespace facet::gemma4 {

struct VisionConfig {
  int hidden = 0;        // D
  int intermediate = 0;  // F
  int layers = 0;
  int heads = 0;
  int head_dim = 0;
  int patch_size = 16;
  int pooling_kernel = 3;
  int position_table = 10240;  // rows of each 2-D position table
  float rope_theta = 100.f;
  float rms_eps = 1e-6f;
  bool clipped_linears = false;
  bool standardize = false;
  int text_hidden = 0;  // width of the soft-token embeddings
};

// Intermediates of one Encode, for tests and debugging (the golden
// data's debug_* files): each [n][hidden] except pooled_scaled.
struct VisionTaps {
  std::vector<float> patch_embed;          // [n][D], incl. position tables
  std::vector<std::vector<float>> layers;  // per layer, [n][D]
  std::vector<float> pooled_scaled;        // [soft_tokens][D], x sqrt(D)
};

class VisionTower {
 public:
  // Loads the tower from `path`: a Hugging Face folder whose config.json
  // has a vision_config and whose weights hold model.vision_tower.* and
  // model.embed_vision.* (a full Gemma 4 checkpoint or a tower-only
  // folder), or a llama.cpp mmproj GGUF with a gemma4v vision projector.
  // kNotFound when the folder or file has no vision tower; kDataLoss /
  // kInvalidArgument for missing or misshapen tensors (the message names
  // them).
  static StatusOr<std::unique_ptr<VisionTower>> Load(const std::string& path);
  virtual ~VisionTower() = default;

  virtual const VisionConfig& config() const = 0;

  // Encodes one preprocessed image into soft-token embeddings
  // [patches.soft_tokens()][text_hidden]. With `tower_out`, also the
  // tower's output before the projection [soft_tokens][hidden] (after
  // pooling, x sqrt(D) and standardize). kInvalidArgument when the patch
  // grid is not a multiple of the pooling kernel or exceeds the position
  // tables.
  virtual Status Encode(const media::ImagePatches& patches,
                        kernels::ThreadPool* pool,
                        std::vector<float>* embeddings,
                        std::vector<float>* tower_out = nullptr) const = 0;
  // Encode that also fills `taps` (when not null).
  virtual Status EncodeWithTaps(const media::ImagePatches& patches,
                                kernels::ThreadPool* pool,
                                std::vector<float>* embeddings,
                                std::vector<float>* tower_out,
                                VisionTaps* taps) const = 0;
};

}  // namespace facet::gemma4

#endif  // FACET_MODELS_GEMMA4_VISION_TOWER_H_
