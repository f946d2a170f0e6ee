// libFuzzer target: DecodeImage on the input bytes (JPEG, PNG, BMP, GIF by
// magic bytes) with a small pixel limit, then, for what decodes,
// PreprocessImage at the smallest budget (resize, patches, positions).
#include <cstddef>
#include <cstdint>

#include "src/media/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  facet::media::ImageLimits limits;
  limits.max_bytes = int64_t{1} << 20;
  limits.max_pixels = int64_t{1} << 22;
  auto img = facet::media::DecodeImage(data, size, limits);
  if (img.ok()) {
    if (img->rgb.size() != static_cast<size_t>(img->width) * img->height * 3) {
      __builtin_trap();
    }
    auto patches = facet::media::PreprocessImage(*img, 70);
    if (patches.ok()) {
      const size_t n = static_cast<size_t>(patches->num_patches());
      if (patches->pixels.size() != n * 768 ||
          patches->positions.size() != n * 2 || patches->soft_tokens() > 70) {
        __builtin_trap();
      }
      // Every value lies in [0, 1].
      for (float v : patches->pixels) {
        if (!(v >= 0.0f && v <= 1.0f)) __builtin_trap();
      }
    }
  }
  return 0;
}
