// Pillow's Image.resize(BICUBIC) for 8-bit RGB, reproduced bit for bit: the
// reference resizes with PIL, and a 1-LSB difference already moves the
// vision embeddings by up to 3e-2 (golden multimodal README, section 5).
//
// The algorithm (Pillow's separable resampler):
// - per output pixel, a window of input pixels around the mapped centre;
//   when downscaling, the filter is stretched by the scale (antialiasing);
// - weights from the bicubic kernel (a = -0.5), normalised to sum 1, then
//   turned into 22-bit fixed point, rounded half away from zero;
// - a horizontal pass into an 8-bit intermediate, then a vertical pass,
//   each accumulating in int32 from 2^21 (rounding) and clipping to 0..255.
// Only the input rows the vertical pass reads go through the horizontal one.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "src/media/image.h"

namespace facet::media {
namespace {

// 32 bits minus 8 for the sample, minus 2 for the kernel's overshoot.
constexpr int kPrecisionBits = 32 - 8 - 2;
constexpr double kBicubicSupport = 2.0;

double Bicubic(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// The fixed-point taps of one axis.
struct Taps {
  int ksize = 0;           // taps per output sample (some may be zero)
  std::vector<int> first;  // [out] first input index
  std::vector<int> count;  // [out] input samples used
  std::vector<int32_t> k;  // [out][ksize] weights, 2^22 = 1.0
};

Taps ComputeTaps(int in_size, int out_size) {
  // Pillow takes the box edges as floats and the scale in double.
  const float in0 = 0.0f;
  const float in1 = static_cast<float>(in_size);
  const double scale = static_cast<double>(in1 - in0) / out_size;
  const double filter_scale = scale < 1.0 ? 1.0 : scale;
  const double support = kBicubicSupport * filter_scale;
  Taps t;
  t.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  t.first.resize(out_size);
  t.count.resize(out_size);
  t.k.assign(static_cast<size_t>(out_size) * t.ksize, 0);
  std::vector<double> w(t.ksize);
  const double ss = 1.0 / filter_scale;
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = in0 + (xx + 0.5) * scale;
    // Truncation toward zero after +0.5, as Pillow rounds the bounds.
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    if (xmax > t.ksize) xmax = t.ksize;  // cannot happen; keeps writes in range
    double sum = 0.0;
    for (int x = 0; x < xmax; ++x) {
      w[x] = Bicubic((x + xmin - center + 0.5) * ss);
      sum += w[x];
    }
    int32_t* k = &t.k[static_cast<size_t>(xx) * t.ksize];
    for (int x = 0; x < xmax; ++x) {
      const double v = sum != 0.0 ? w[x] / sum : w[x];
      const double f = v * (1 << kPrecisionBits);
      k[x] = static_cast<int32_t>(v < 0 ? f - 0.5 : f + 0.5);
    }
    t.first[xx] = xmin;
    t.count[xx] = xmax;
  }
  return t;
}

inline uint8_t Clip8(int32_t acc) {
  if (acc >= (1 << kPrecisionBits << 8)) return 255;
  if (acc <= 0) return 0;
  return static_cast<uint8_t>(acc >> kPrecisionBits);
}

// Resamples rows [row0, row0 + rows) of `in` ([*][in_w][3]) horizontally
// into `out` ([rows][out_w][3]).
void Horizontal(const uint8_t* in, int in_w, int row0, int rows, const Taps& t,
                int out_w, uint8_t* out) {
  const size_t in_stride = size_t{3} * in_w;
  const size_t out_stride = size_t{3} * out_w;
  constexpr int32_t kHalf = 1 << (kPrecisionBits - 1);
  for (int y = 0; y < rows; ++y) {
    const uint8_t* src = in + (row0 + y) * in_stride;
    uint8_t* dst = out + y * out_stride;
    for (int xx = 0; xx < out_w; ++xx) {
      const int32_t* k = &t.k[static_cast<size_t>(xx) * t.ksize];
      const uint8_t* s = src + size_t{3} * t.first[xx];
      int32_t r = kHalf, g = kHalf, b = kHalf;
      for (int x = 0, n = t.count[xx]; x < n; ++x) {
        r += s[3 * x + 0] * k[x];
        g += s[3 * x + 1] * k[x];
        b += s[3 * x + 2] * k[x];
      }
      dst[3 * xx + 0] = Clip8(r);
      dst[3 * xx + 1] = Clip8(g);
      dst[3 * xx + 2] = Clip8(b);
    }
  }
}

// Resamples `in` ([*][w][3], rows counted from `t.first` minus `shift`)
// vertically into `out` ([out_h][w][3]).
void Vertical(const uint8_t* in, int w, int shift, const Taps& t, int out_h,
              uint8_t* out) {
  const size_t stride = size_t{3} * w;
  constexpr int32_t kHalf = 1 << (kPrecisionBits - 1);
  std::vector<int32_t> acc_row(stride);  // one output row
  // restrict: uint8_t may alias anything, which would keep the compiler
  // from vectorising the row loops.
  int32_t* __restrict acc = acc_row.data();
  for (int yy = 0; yy < out_h; ++yy) {
    const int32_t* k = &t.k[static_cast<size_t>(yy) * t.ksize];
    const uint8_t* base = in + (t.first[yy] - shift) * stride;
    for (size_t i = 0; i < stride; ++i) acc[i] = kHalf;
    for (int y = 0, n = t.count[yy]; y < n; ++y) {
      const uint8_t* __restrict s = base + y * stride;
      const int32_t ky = k[y];
      for (size_t i = 0; i < stride; ++i) acc[i] += s[i] * ky;
    }
    uint8_t* __restrict dst = out + yy * stride;
    for (size_t i = 0; i < stride; ++i) dst[i] = Clip8(acc[i]);
  }
}

}  // namespace

RgbImage ResizeBicubic(const RgbImage& src, int width, int height) {
  RgbImage out;
  // Coefficient bounds are ints up to 3x the input side.
  constexpr int kMaxSide = 1 << 28;
  if (width <= 0 || height <= 0 || src.width <= 0 || src.height <= 0 ||
      width > kMaxSide || height > kMaxSide || src.width > kMaxSide ||
      src.height > kMaxSide ||
      src.rgb.size() != static_cast<size_t>(src.width) * src.height * 3) {
    return out;  // nothing sensible to resize
  }
  if (width == src.width && height == src.height) return src;  // as PIL
  const bool horizontal = width != src.width;
  const bool vertical = height != src.height;
  out.width = width;
  out.height = height;

  const Taps ty = ComputeTaps(src.height, height);
  // The input rows the vertical pass reads.
  const int row_first = ty.first[0];
  const int row_last = ty.first[height - 1] + ty.count[height - 1];

  std::vector<uint8_t> tmp;  // [row_last - row_first][width][3]
  const uint8_t* stage = src.rgb.data();
  int shift = 0;
  if (horizontal) {
    const Taps tx = ComputeTaps(src.width, width);
    const int rows = vertical ? row_last - row_first : src.height;
    const int row0 = vertical ? row_first : 0;
    uint8_t* dst;
    if (vertical) {
      tmp.resize(static_cast<size_t>(rows) * width * 3);
      dst = tmp.data();
    } else {
      out.rgb.resize(static_cast<size_t>(height) * width * 3);
      dst = out.rgb.data();
    }
    Horizontal(src.rgb.data(), src.width, row0, rows, tx, width, dst);
    if (!vertical) return out;
    stage = tmp.data();
    shift = row_first;
  }
  out.rgb.resize(static_cast<size_t>(height) * width * 3);
  Vertical(stage, width, shift, ty, height, out.rgb.data());
  return out;
}

}  // namespace facet::media
