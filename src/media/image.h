// Images for the Gemma 4 vision encoder: decoding (JPEG through
// libjpeg-turbo, PNG through libpng, BMP and GIF through stb_image), the
// reference's exact preprocessing (RGB, aspect-preserving size within a
// soft-token budget, Pillow's antialiased bicubic, rescale to [0, 1]) and
// 16x16 patches with their 2-D positions (gemma4-multimodal spec 2.2).
#ifndef FACET_SRC_MEDIA_IMAGE_H_
#define FACET_SRC_MEDIA_IMAGE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "facet/status.h"

namespace facet::media {

// 8-bit RGB pixels, [height][width][3] bytes, channel fastest.
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;
};

struct ImageLimits {
  // Largest encoded file accepted.
  int64_t max_bytes = int64_t{256} << 20;
  // Largest decoded image (width * height), checked from the header before
  // any pixel is decoded.
  int64_t max_pixels = int64_t{1} << 28;
};

// Decodes a JPEG, PNG (8/16-bit, gray, palette, alpha), BMP or GIF (first
// frame) held in memory to RGB; alpha is dropped without compositing, as
// PIL's convert("RGB") does. Errors: kInvalidArgument (unknown format,
// empty input), kDataLoss (corrupt or truncated data), kResourceExhausted
// (past `limits`).
StatusOr<RgbImage> DecodeImage(const uint8_t* data, size_t size,
                               const ImageLimits& limits = ImageLimits());

// Pillow's Image.resize(BICUBIC) on 8-bit RGB, bit-exact (antialiased
// bicubic a = -0.5, 22-bit fixed point, horizontal pass first). Returns an
// empty image when either size is empty, a side exceeds 2^28, or
// src.rgb does not hold width * height * 3 bytes. The filter taps take
// about 16 bytes per input pixel of each resized side (a downscale reads
// every input pixel), so callers bound the input sides.
RgbImage ResizeBicubic(const RgbImage& src, int width, int height);

// The soft-token budgets Gemma 4 accepts, and the default.
inline constexpr int kImageBudgets[] = {70, 140, 280, 560, 1120};
inline constexpr int kDefaultImageBudget = 280;
// kInvalidArgument unless `budget` is one of kImageBudgets.
Status CheckImageBudget(int budget);

struct ImageSize {
  int height = 0;
  int width = 0;
};
// The reference's target size for an image of height x width within
// `budget` soft tokens: sides are multiples of 48 (spec 2.2 step 2).
StatusOr<ImageSize> TargetSize(int height, int width, int budget);

// The vision tower's input for one image.
struct ImagePatches {
  ImageSize resized;     // the size the image was resized to
  int grid_h = 0;        // patch rows (resized.height / 16)
  int grid_w = 0;        // patch columns (resized.width / 16)
  std::vector<float> pixels;       // [n][768], (dy, dx, c), values in [0, 1]
  std::vector<int32_t> positions;  // [n][2] as (x = column, y = row)
  int num_patches() const { return grid_h * grid_w; }
  int soft_tokens() const { return num_patches() / 9; }
};
// Resizes `image` to TargetSize (when that differs) and cuts it into
// patches in row-major grid order. kResourceExhausted for a side longer
// than kMaxPreprocessSide.
inline constexpr int kMaxPreprocessSide = 1 << 20;
StatusOr<ImagePatches> PreprocessImage(const RgbImage& image, int budget);
// The same from an already resized image (its sides multiples of 48).
StatusOr<ImagePatches> PatchesFromResized(const RgbImage& resized);

}  // namespace facet::media

#endif  // FACET_SRC_MEDIA_IMAGE_H_
