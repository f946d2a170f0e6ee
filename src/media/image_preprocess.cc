// The reference's image processor (gemma4-multimodal spec 2.2): target size
// within a soft-token budget, PIL bicubic resize, rescale to [0, 1], 16x16
// patches in row-major grid order with (x, y) positions.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>

#include "src/media/image.h"
#include "src/util/no_throw.h"
#include "src/util/status_macros.h"

namespace facet::media {
namespace {

constexpr int kPatch = 16;
constexpr int kPool = 3;               // pooling kernel, per side
constexpr int kSide = kPool * kPatch;  // 48: sides are multiples of this
constexpr int kMaxGridSide = 10240;    // position_embedding_size
constexpr int kPatchValues = kPatch * kPatch * 3;  // 768

Status CheckRgb(const RgbImage& image) {
  if (image.width <= 0 || image.height <= 0) {
    return InvalidArgument("image: no pixels");
  }
  if (image.rgb.size() != static_cast<size_t>(image.width) * image.height * 3) {
    return InvalidArgument("image: pixel buffer size does not match " +
                           std::to_string(image.width) + "x" +
                           std::to_string(image.height) + " RGB");
  }
  return OkStatus();
}

}  // namespace

Status CheckImageBudget(int budget) {
  for (int b : kImageBudgets) {
    if (b == budget) return OkStatus();
  }
  return InvalidArgument("image token budget " + std::to_string(budget) +
                         " is not one of 70, 140, 280, 560, 1120");
}

StatusOr<ImageSize> TargetSize(int height, int width, int budget) {
  FACET_RETURN_IF_ERROR(CheckImageBudget(budget));
  if (height <= 0 || width <= 0) {
    return InvalidArgument("image size " + std::to_string(height) + "x" +
                           std::to_string(width) + " has no pixels");
  }
  // HF get_aspect_ratio_preserving_size, in double and in its order.
  const int64_t max_patches = int64_t{budget} * kPool * kPool;
  const int64_t target_px = max_patches * kPatch * kPatch;
  const int64_t total_px = int64_t{height} * width;  // < 2^62, exact below 2^53
  const double factor =
      std::sqrt(static_cast<double>(target_px) / static_cast<double>(total_px));
  const double ideal_h = factor * height;
  const double ideal_w = factor * width;
  // Each ideal side is at most target_px / 48 (the other side is >= 48
  // when this one is large), or the edge rule below applies: int64 is safe.
  int64_t th = static_cast<int64_t>(std::floor(ideal_h / kSide)) * kSide;
  int64_t tw = static_cast<int64_t>(std::floor(ideal_w / kSide)) * kSide;
  if (th == 0 && tw == 0) {
    return InvalidArgument("image " + std::to_string(height) + "x" +
                           std::to_string(width) +
                           " cannot be resized within the budget");
  }
  const int64_t max_side = (max_patches / (kPool * kPool)) * kSide;
  if (th == 0) {
    th = kSide;
    const double ratio = std::floor(static_cast<double>(width) / height);
    tw = std::min(static_cast<int64_t>(ratio) * kSide, max_side);
  } else if (tw == 0) {
    tw = kSide;
    const double ratio = std::floor(static_cast<double>(height) / width);
    th = std::min(static_cast<int64_t>(ratio) * kSide, max_side);
  }
  if (th / kPatch > kMaxGridSide || tw / kPatch > kMaxGridSide) {
    return InvalidArgument("image target size exceeds the position table");
  }
  ImageSize s;
  s.height = static_cast<int>(th);
  s.width = static_cast<int>(tw);
  return s;
}

StatusOr<ImagePatches> PatchesFromResized(const RgbImage& resized) {
  FACET_RETURN_IF_ERROR(CheckRgb(resized));
  if (resized.width % kSide != 0 || resized.height % kSide != 0) {
    return InvalidArgument("resized image " + std::to_string(resized.height) +
                           "x" + std::to_string(resized.width) +
                           " is not a multiple of 48 per side");
  }
  const int gh = resized.height / kPatch;
  const int gw = resized.width / kPatch;
  if (gh > kMaxGridSide || gw > kMaxGridSide) {
    return InvalidArgument("patch grid " + std::to_string(gh) + "x" +
                           std::to_string(gw) +
                           " exceeds the position table (10240)");
  }
  return CatchAll("image patches", [&]() -> StatusOr<ImagePatches> {
    // float32(u8 * (1/255)): the multiply in double, then the cast.
    float lut[256];
    for (int v = 0; v < 256; ++v) {
      lut[v] = static_cast<float>(v * (1.0 / 255.0));
    }
    ImagePatches p;
    p.resized.height = resized.height;
    p.resized.width = resized.width;
    p.grid_h = gh;
    p.grid_w = gw;
    const size_t n = static_cast<size_t>(gh) * gw;
    p.pixels.resize(n * kPatchValues);  // [n][768], (dy, dx, c)
    p.positions.resize(n * 2);          // [n][2], (x, y)
    const size_t stride = size_t{3} * resized.width;
    for (int py = 0; py < gh; ++py) {
      for (int px = 0; px < gw; ++px) {
        const size_t idx = static_cast<size_t>(py) * gw + px;
        float* dst = &p.pixels[idx * kPatchValues];
        for (int dy = 0; dy < kPatch; ++dy) {
          // A patch row is 48 contiguous bytes of the image row.
          const uint8_t* src =
              resized.rgb.data() +
              (static_cast<size_t>(py) * kPatch + dy) * stride +
              static_cast<size_t>(px) * kPatch * 3;
          for (int i = 0; i < kPatch * 3; ++i) *dst++ = lut[src[i]];
        }
        p.positions[2 * idx + 0] = px;
        p.positions[2 * idx + 1] = py;
      }
    }
    return p;
  });
}

StatusOr<ImagePatches> PreprocessImage(const RgbImage& image, int budget) {
  FACET_RETURN_IF_ERROR(CheckImageBudget(budget));
  FACET_RETURN_IF_ERROR(CheckRgb(image));
  // Bounds the resizer's filter taps (16 bytes per pixel of a side) and
  // the int arithmetic; no camera or scanner comes near it.
  if (image.width > kMaxPreprocessSide || image.height > kMaxPreprocessSide) {
    return Status(StatusCode::kResourceExhausted,
                  "image " + std::to_string(image.width) + "x" +
                      std::to_string(image.height) + " has a side over " +
                      std::to_string(kMaxPreprocessSide) + " pixels");
  }
  FACET_ASSIGN_OR_RETURN(const ImageSize size,
                         TargetSize(image.height, image.width, budget));
  if (size.height == image.height && size.width == image.width) {
    return PatchesFromResized(image);
  }
  auto resized = CatchAll("image resize", [&]() -> StatusOr<RgbImage> {
    return ResizeBicubic(image, size.width, size.height);
  });
  if (!resized.ok()) return resized.status();
  return PatchesFromResized(*resized);
}

}  // namespace facet::media
