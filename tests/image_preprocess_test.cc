// Image decoding and the reference's preprocessing against the golden
// multimodal data (tests/data/multimodal, copied from
// ../shared/golden/multimodal): decoded pixels, Pillow's bicubic resize bit
// for bit, patches, positions, target sizes; plus decoder variants and
// hostile inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "src/media/image.h"
#include "tests/test_paths.h"

namespace {

using facet::StatusCode;
using facet::media::CheckImageBudget;
using facet::media::DecodeImage;
using facet::media::ImageLimits;
using facet::media::ImagePatches;
using facet::media::PatchesFromResized;
using facet::media::PreprocessImage;
using facet::media::ResizeBicubic;
using facet::media::RgbImage;
using facet::media::TargetSize;
using facet::testing::ReadBytes;
using facet::testing::TestData;

std::string MM(const std::string& rel) { return TestData("multimodal/" + rel); }

facet::StatusOr<RgbImage> DecodeBytes(const std::string& b,
                                      const ImageLimits& l = ImageLimits()) {
  return DecodeImage(reinterpret_cast<const uint8_t*>(b.data()), b.size(), l);
}

// Decodes a test file; an empty image (and a test failure) on error.
RgbImage Load(const std::string& rel) {
  const std::string bytes = ReadBytes(MM(rel));
  EXPECT_FALSE(bytes.empty()) << "missing " << MM(rel);
  auto img = DecodeBytes(bytes);
  EXPECT_TRUE(img.ok()) << rel << ": " << img.status().ToString();
  return img.ok() ? *img : RgbImage();
}

// Index and value of the first differing byte, for messages.
std::string FirstDiff(const RgbImage& a, const RgbImage& b) {
  if (a.width != b.width || a.height != b.height) {
    return "size " + std::to_string(a.width) + "x" + std::to_string(a.height) +
           " vs " + std::to_string(b.width) + "x" + std::to_string(b.height);
  }
  size_t n = 0, first = a.rgb.size();
  for (size_t i = 0; i < a.rgb.size() && i < b.rgb.size(); ++i) {
    if (a.rgb[i] != b.rgb[i]) {
      if (first == a.rgb.size()) first = i;
      ++n;
    }
  }
  if (n == 0) return "identical";
  return std::to_string(n) + " bytes differ, first at " +
         std::to_string(first) + ": " + std::to_string(a.rgb[first]) + " vs " +
         std::to_string(b.rgb[first]);
}

bool SamePixels(const RgbImage& a, const RgbImage& b) {
  return a.width == b.width && a.height == b.height && a.rgb == b.rgb;
}

struct GoldenCase {
  const char* name;
  const char* source;  // the resizer's input
  int budget;
  int height;  // resized
  int width;
};

// README section 2; the JPEG case resizes source_rgb.png (the decoded JPEG).
const GoldenCase kCases[] = {
    {"gradient_640x480", "inputs/img_gradient_640x480.png", 70, 336, 432},
    {"gradient_640x480", "inputs/img_gradient_640x480.png", 280, 672, 912},
    {"tall_300x900", "image/tall_300x900/source_rgb.png", 70, 672, 192},
    {"tall_300x900", "image/tall_300x900/source_rgb.png", 280, 1344, 432},
    {"alpha_20x20", "inputs/img_alpha_20x20.png", 70, 384, 384},
    {"alpha_20x20", "inputs/img_alpha_20x20.png", 280, 768, 768},
};

std::string CaseDir(const GoldenCase& c) {
  return std::string("image/") + c.name + "/b" + std::to_string(c.budget) + "/";
}

// ------------------------------------------------------------ decoding

TEST(ImageDecode, JpegMatchesReferenceDecoder) {
  const RgbImage jpeg = Load("inputs/img_tall_300x900.jpg");
  const RgbImage ref = Load("image/tall_300x900/source_rgb.png");
  EXPECT_EQ(jpeg.width, 300);
  EXPECT_EQ(jpeg.height, 900);
  EXPECT_TRUE(SamePixels(jpeg, ref)) << FirstDiff(jpeg, ref);
}

TEST(ImageDecode, RgbaPngDropsAlphaKeepingColour) {
  const RgbImage img = Load("inputs/img_alpha_20x20.png");
  const RgbImage ref = Load("image/alpha_20x20/source_rgb.png");
  EXPECT_TRUE(SamePixels(img, ref)) << FirstDiff(img, ref);
  // Fully transparent pixels store (230, 20, 160); compositing would whiten
  // them.
  bool found = false;
  for (size_t i = 0; i + 2 < img.rgb.size(); i += 3) {
    found |= img.rgb[i] == 230 && img.rgb[i + 1] == 20 && img.rgb[i + 2] == 160;
  }
  EXPECT_TRUE(found);
}

TEST(ImageDecode, GradientPng) {
  const RgbImage img = Load("inputs/img_gradient_640x480.png");
  EXPECT_EQ(img.width, 640);
  EXPECT_EQ(img.height, 480);
  EXPECT_EQ(img.rgb.size(), size_t{640} * 480 * 3);
}

// The formulas of tests/data/multimodal/extra/make_image_extra.py.
constexpr int kW = 8, kH = 6;
void Rgb8(int x, int y, uint8_t* o) {
  o[0] = static_cast<uint8_t>(x * 30 + 5);
  o[1] = static_cast<uint8_t>(y * 40 + 3);
  o[2] = static_cast<uint8_t>((x * y * 7 + 11) % 256);
}
uint8_t Gray8(int x, int y) { return static_cast<uint8_t>(x * 30 + y * 5); }

RgbImage Expected(void (*fn)(int, int, uint8_t*)) {
  RgbImage e;
  e.width = kW;
  e.height = kH;
  e.rgb.resize(kW * kH * 3);
  for (int y = 0; y < kH; ++y) {
    for (int x = 0; x < kW; ++x) fn(x, y, &e.rgb[(y * kW + x) * 3]);
  }
  return e;
}

TEST(ImageDecode, PngVariantsAndBmpGif) {
  const RgbImage rgb = Expected(Rgb8);
  const RgbImage gray = Expected(
      [](int x, int y, uint8_t* o) { o[0] = o[1] = o[2] = Gray8(x, y); });
  const RgbImage gray2 = Expected([](int x, int y, uint8_t* o) {
    o[0] = o[1] = o[2] = static_cast<uint8_t>(((x + y) % 4) * 85);
  });
  const RgbImage palette = Expected([](int x, int y, uint8_t* o) {
    const int i = (x + y) % 5;  // index 2 is transparent: colour kept
    o[0] = static_cast<uint8_t>(i * 50);
    o[1] = static_cast<uint8_t>(255 - i * 40);
    o[2] = static_cast<uint8_t>(i * 17);
  });
  // First frame 4x3 at (2, 1), transparency index 3: PIL fills the rest of
  // the canvas and the transparent pixels with palette colour 3.
  const RgbImage gif_frame = Expected([](int x, int y, uint8_t* o) {
    const bool inside = x >= 2 && x < 6 && y >= 1 && y < 4;
    int i = (x + 2 * y) % 8;
    if (!inside || i == 3) i = 3;
    o[0] = static_cast<uint8_t>(i * 30);
    o[1] = static_cast<uint8_t>(200 - i * 20);
    o[2] = static_cast<uint8_t>(7 + i * 9);
  });
  const struct {
    const char* file;
    const RgbImage* want;
  } kFiles[] = {
      {"transparent.gif", &gif_frame},
      {"rgb8.png", &rgb},
      {"rgb16.png", &rgb},
      {"rgba8.png", &rgb},
      {"rgba16.png", &rgb},
      {"interlaced.png", &rgb},
      {"gray8.png", &gray},
      {"gray16.png", &gray},
      {"gray_alpha8.png", &gray},
      {"gray2.png", &gray2},
      {"palette.png", &palette},
      {"rgb24.bmp", &rgb},
      {"rgb8.gif", &rgb},
  };
  for (const auto& f : kFiles) {
    SCOPED_TRACE(f.file);
    const RgbImage got = Load(std::string("extra/") + f.file);
    EXPECT_TRUE(SamePixels(got, *f.want)) << FirstDiff(got, *f.want);
  }
}

int MaxAbsDiff(const RgbImage& a, const RgbImage& b) {
  if (a.rgb.size() != b.rgb.size()) return 1 << 20;
  int m = 0;
  for (size_t i = 0; i < a.rgb.size(); ++i) {
    m = std::max(m, std::abs(a.rgb[i] - b.rgb[i]));
  }
  return m;
}

TEST(ImageDecode, JpegVariants) {
  const RgbImage base = Load("extra/smooth.jpg");
  ASSERT_EQ(base.width, 32);
  ASSERT_EQ(base.height, 24);
  // Progressive: the same picture, within JPEG noise.
  EXPECT_LE(MaxAbsDiff(Load("extra/progressive.jpg"), base), 8);
  // CMYK (Adobe-inverted, as ImageMagick and Photoshop write it): PIL's
  // naive CMYK -> RGB gives back the colours.
  EXPECT_LE(MaxAbsDiff(Load("extra/cmyk.jpg"), base), 12);
  // Grayscale: replicated channels.
  const RgbImage gray = Load("extra/gray.jpg");
  ASSERT_EQ(gray.rgb.size(), size_t{32} * 24 * 3);
  for (size_t i = 0; i < gray.rgb.size(); i += 3) {
    ASSERT_EQ(gray.rgb[i], gray.rgb[i + 1]);
    ASSERT_EQ(gray.rgb[i], gray.rgb[i + 2]);
  }
}

TEST(ImageDecode, EmptyAndUnknownInput) {
  EXPECT_EQ(DecodeImage(nullptr, 0).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeBytes("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeBytes("hello, world").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      DecodeBytes(std::string("RIFF\0\0\0\0WEBPVP8 ", 16)).status().code(),
      StatusCode::kInvalidArgument);
  // Magic bytes only.
  EXPECT_EQ(DecodeBytes("\xff\xd8\xff").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(DecodeBytes("\x89PNG\r\n\x1a\n").status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(DecodeBytes("GIF89a").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(DecodeBytes("BM").status().code(), StatusCode::kDataLoss);
}

TEST(ImageDecode, TruncatedAndCorrupt) {
  const std::string jpeg = ReadBytes(MM("inputs/img_tall_300x900.jpg"));
  const std::string png = ReadBytes(MM("inputs/img_gradient_640x480.png"));
  ASSERT_FALSE(jpeg.empty());
  ASSERT_FALSE(png.empty());
  // Cut in the middle of the image data.
  EXPECT_EQ(DecodeBytes(jpeg.substr(0, jpeg.size() / 2)).status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(DecodeBytes(png.substr(0, png.size() / 2)).status().code(),
            StatusCode::kDataLoss);
  // Cut inside the header.
  EXPECT_EQ(DecodeBytes(jpeg.substr(0, 100)).status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(DecodeBytes(png.substr(0, 20)).status().code(),
            StatusCode::kDataLoss);
  // A flipped byte inside a PNG chunk fails its CRC.
  std::string bad_png = png;
  bad_png[png.size() / 2] ^= 0x55;
  EXPECT_EQ(DecodeBytes(bad_png).status().code(), StatusCode::kDataLoss);
  // A JPEG whose markers are garbage after SOI.
  std::string bad_jpeg = jpeg;
  for (size_t i = 3; i < 64; ++i) bad_jpeg[i] = static_cast<char>(0x11 * i);
  EXPECT_EQ(DecodeBytes(bad_jpeg).status().code(), StatusCode::kDataLoss);
  // Truncated BMP and GIF.
  const std::string bmp = ReadBytes(MM("extra/rgb24.bmp"));
  const std::string gif = ReadBytes(MM("extra/rgb8.gif"));
  EXPECT_EQ(DecodeBytes(bmp.substr(0, 60)).status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(DecodeBytes(gif.substr(0, 20)).status().code(),
            StatusCode::kDataLoss);
}

// Patches the first SOFn marker's height and width.
std::string WithJpegSize(std::string jpeg, int h, int w) {
  for (size_t i = 2; i + 9 < jpeg.size(); ++i) {
    const auto m = static_cast<uint8_t>(jpeg[i + 1]);
    if (static_cast<uint8_t>(jpeg[i]) == 0xff && (m == 0xc0 || m == 0xc2)) {
      jpeg[i + 5] = static_cast<char>(h >> 8);
      jpeg[i + 6] = static_cast<char>(h & 0xff);
      jpeg[i + 7] = static_cast<char>(w >> 8);
      jpeg[i + 8] = static_cast<char>(w & 0xff);
      return jpeg;
    }
  }
  return "";
}

TEST(ImageDecode, LimitsCheckedBeforeDecoding) {
  // Headers claiming huge sizes: rejected from the header, no allocation.
  EXPECT_EQ(
      DecodeBytes(ReadBytes(MM("extra/giant_header.png"))).status().code(),
      StatusCode::kResourceExhausted);
  const std::string jpeg = ReadBytes(MM("extra/smooth.jpg"));
  const std::string giant_jpeg = WithJpegSize(jpeg, 65000, 65000);
  ASSERT_FALSE(giant_jpeg.empty());
  EXPECT_EQ(DecodeBytes(giant_jpeg).status().code(),
            StatusCode::kResourceExhausted);
  std::string giant_bmp = ReadBytes(MM("extra/rgb24.bmp"));
  ASSERT_GE(giant_bmp.size(), 26u);
  const int32_t side = 200000;  // 4e10 pixels
  std::memcpy(&giant_bmp[18], &side, 4);
  std::memcpy(&giant_bmp[22], &side, 4);
  EXPECT_EQ(DecodeBytes(giant_bmp).status().code(),
            StatusCode::kResourceExhausted);
  std::string giant_gif = ReadBytes(MM("extra/rgb8.gif"));
  ASSERT_GE(giant_gif.size(), 10u);
  giant_gif[6] = giant_gif[7] = giant_gif[8] = giant_gif[9] = '\xff';
  EXPECT_EQ(DecodeBytes(giant_gif).status().code(),
            StatusCode::kResourceExhausted);

  // The caller's limits.
  ImageLimits small;
  small.max_pixels = 47;  // the 8x6 images have 48
  EXPECT_EQ(DecodeBytes(ReadBytes(MM("extra/rgb8.png")), small).status().code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(
      DecodeBytes(ReadBytes(MM("extra/rgb24.bmp")), small).status().code(),
      StatusCode::kResourceExhausted);
  small.max_pixels = 48;
  EXPECT_TRUE(DecodeBytes(ReadBytes(MM("extra/rgb8.png")), small).ok());
  ImageLimits few_bytes;
  few_bytes.max_bytes = 100;
  EXPECT_EQ(DecodeBytes(jpeg, few_bytes).status().code(),
            StatusCode::kResourceExhausted);
}

TEST(ImageDecode, ProgressiveJpegScanLimit) {
  // progressive.jpg with its last scan repeated 600 times: libjpeg only
  // warns about the bogus progression, so only the scan cap stops it.
  const std::string jpeg = ReadBytes(MM("extra/progressive.jpg"));
  const size_t sos = jpeg.rfind("\xff\xda");
  ASSERT_NE(sos, std::string::npos);
  ASSERT_EQ(jpeg.substr(jpeg.size() - 2), "\xff\xd9");
  const std::string scan = jpeg.substr(sos, jpeg.size() - 2 - sos);
  std::string many = jpeg.substr(0, sos);
  for (int i = 0; i < 600; ++i) many += scan;
  many += "\xff\xd9";
  auto r = DecodeBytes(many);
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("scans"), std::string::npos)
      << r.status().message();
  // 100 repeats are within the cap and still decode.
  std::string some = jpeg.substr(0, sos);
  for (int i = 0; i < 100; ++i) some += scan;
  some += "\xff\xd9";
  EXPECT_TRUE(DecodeBytes(some).ok());
}

// Every prefix and many single-byte corruptions of the small files: a
// Status every time, never a crash (the fuzz target goes further).
TEST(ImageDecode, PrefixesAndBitFlipsNeverCrash) {
  const char* kFiles[] = {
      "rgb8.png",        "palette.png",     "interlaced.png", "rgb16.png",
      "gray2.png",       "rgb24.bmp",       "rgb8.gif",       "transparent.gif",
      "smooth.jpg",      "progressive.jpg", "cmyk.jpg",       "gray.jpg",
      "giant_header.png"};
  ImageLimits limits;
  limits.max_pixels = int64_t{1} << 22;
  int decoded = 0;
  for (const char* f : kFiles) {
    const std::string bytes = ReadBytes(MM(std::string("extra/") + f));
    ASSERT_FALSE(bytes.empty()) << f;
    for (size_t n = 0; n < bytes.size(); ++n) {
      auto r = DecodeBytes(bytes.substr(0, n), limits);
      decoded += r.ok();
      if (r.ok()) {
        EXPECT_EQ(r->rgb.size(), size_t{3} * r->width * r->height);
      }
    }
    for (size_t i = 0; i < bytes.size(); ++i) {
      for (uint8_t x : {0x01, 0x80, 0xff}) {
        std::string b = bytes;
        b[i] = static_cast<char>(static_cast<uint8_t>(b[i]) ^ x);
        auto r = DecodeBytes(b, limits);
        if (r.ok()) {
          EXPECT_EQ(r->rgb.size(), size_t{3} * r->width * r->height);
        }
      }
    }
  }
  (void)decoded;
}

// -------------------------------------------------------------- resize

TEST(ImageResize, BitExactWithPillowOnAllGoldenCases) {
  for (const GoldenCase& c : kCases) {
    SCOPED_TRACE(CaseDir(c));
    const RgbImage src = Load(c.source);
    const RgbImage want = Load(CaseDir(c) + "resized.png");
    ASSERT_EQ(want.height, c.height);
    ASSERT_EQ(want.width, c.width);
    const RgbImage got = ResizeBicubic(src, c.width, c.height);
    EXPECT_TRUE(SamePixels(got, want)) << FirstDiff(got, want);
  }
}

TEST(ImageResize, OneAxisIdentityAndDegenerate) {
  const RgbImage src = Load("extra/rgb8.png");
  // Same size: a copy, as PIL.
  EXPECT_TRUE(SamePixels(ResizeBicubic(src, kW, kH), src));
  // One axis only: rows (or columns) of a constant image stay constant.
  RgbImage flat;
  flat.width = 7;
  flat.height = 5;
  flat.rgb.assign(7 * 5 * 3, 77);
  for (auto wh : {std::pair<int, int>{7, 13}, {19, 5}, {3, 2}, {1, 1}}) {
    const RgbImage r = ResizeBicubic(flat, wh.first, wh.second);
    ASSERT_EQ(r.rgb.size(), size_t{3} * wh.first * wh.second);
    for (uint8_t v : r.rgb) ASSERT_EQ(v, 77);
  }
  // Nothing to resize from or to: an empty image.
  EXPECT_TRUE(ResizeBicubic(src, 0, 5).rgb.empty());
  EXPECT_TRUE(ResizeBicubic(RgbImage(), 5, 5).rgb.empty());
}

TEST(ImageResize, TimingLargeDownscale) {
  RgbImage big;
  big.width = 1920;
  big.height = 1080;
  big.rgb.resize(size_t{1920} * 1080 * 3);
  for (size_t i = 0; i < big.rgb.size(); ++i) {
    big.rgb[i] = static_cast<uint8_t>((i * 7919) % 251);
  }
  const auto t0 = std::chrono::steady_clock::now();
  const RgbImage out = ResizeBicubic(big, 1056, 576);
  const double ms = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - t0)
                        .count();
  EXPECT_EQ(out.rgb.size(), size_t{1056} * 576 * 3);
  RecordProperty("resize_1920x1080_to_1056x576_ms", std::to_string(ms));
  std::printf("ResizeBicubic 1920x1080 -> 1056x576: %.1f ms\n", ms);
}

// --------------------------------------------------- sizes and patches

TEST(ImageTargetSize, MatchesCasesJson) {
  const nlohmann::json cases = facet::testing::ReadJson(MM("cases.json"));
  ASSERT_TRUE(cases.is_object());
  int checked = 0;
  for (const auto& [name, c] : cases["images"].items()) {
    const int h = c["input_hw"][0], w = c["input_hw"][1];
    for (const auto& [key, b] : c["budgets"].items()) {
      SCOPED_TRACE(name + " b" + key);
      auto s = TargetSize(h, w, b["budget"].get<int>());
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      EXPECT_EQ(s->height, b["resized_hw"][0].get<int>());
      EXPECT_EQ(s->width, b["resized_hw"][1].get<int>());
      EXPECT_EQ((s->height / 16) * (s->width / 16),
                b["num_patches"].get<int>());
      EXPECT_EQ((s->height / 48) * (s->width / 48),
                b["num_soft_tokens"].get<int>());
      ++checked;
    }
  }
  EXPECT_EQ(checked, 6);
}

TEST(ImageTargetSize, SpecTable) {
  struct Row {
    int h, w;
    int out[5][3];  // per budget: height, width, soft tokens
  };
  const Row kRows[] = {
      {768,
       1024,
       {{336, 432, 63},
        {480, 624, 130},
        {672, 912, 266},
        {960, 1296, 540},
        {1344, 1824, 1064}}},
      {1080,
       1920,
       {{288, 528, 66},
        {384, 720, 120},
        {576, 1056, 264},
        {816, 1488, 527},
        {1200, 2112, 1100}}},
      {896,
       896,
       {{384, 384, 64},
        {528, 528, 121},
        {768, 768, 256},
        {1104, 1104, 529},
        {1584, 1584, 1089}}},
      {20,
       20,
       {{384, 384, 64},
        {528, 528, 121},
        {768, 768, 256},
        {1104, 1104, 529},
        {1584, 1584, 1089}}},
      {5000,
       5000,
       {{384, 384, 64},
        {528, 528, 121},
        {768, 768, 256},
        {1104, 1104, 529},
        {1584, 1584, 1089}}},
  };
  for (const Row& r : kRows) {
    for (int i = 0; i < 5; ++i) {
      const int budget = facet::media::kImageBudgets[i];
      SCOPED_TRACE(std::to_string(r.h) + "x" + std::to_string(r.w) + " b" +
                   std::to_string(budget));
      auto s = TargetSize(r.h, r.w, budget);
      ASSERT_TRUE(s.ok());
      EXPECT_EQ(s->height, r.out[i][0]);
      EXPECT_EQ(s->width, r.out[i][1]);
      EXPECT_EQ((s->height / 48) * (s->width / 48), r.out[i][2]);
      EXPECT_LE(r.out[i][2], budget);
    }
  }
}

TEST(ImageTargetSize, EdgeRulesWhenASideRoundsToZero) {
  // 10x10000 at 70: f*H = 12.7 -> 0, so H = 48 and
  // W = min(floor(10000/10) * 48, 70 * 48).
  auto s = TargetSize(10, 10000, 70);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->height, 48);
  EXPECT_EQ(s->width, 3360);
  s = TargetSize(10000, 10, 70);  // the mirror rule
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->height, 3360);
  EXPECT_EQ(s->width, 48);
  // The rule applies exactly when W/H > B, so the width is always clamped
  // to B * 48: 10x705 at 70 has f*H = 47.8 -> 48 x 3360, while 10x695
  // (f*H = 48.2) takes the normal path: 48 x floor(3347.9/48)*48 = 3312.
  s = TargetSize(10, 705, 70);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->height, 48);
  EXPECT_EQ(s->width, 3360);
  s = TargetSize(10, 695, 70);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->height, 48);
  EXPECT_EQ(s->width, 3312);
  // Extreme aspect ratios stay within the budget and the int range.
  for (int budget : facet::media::kImageBudgets) {
    for (auto hw : {std::pair<int, int>{1, 2147483647},
                    {2147483647, 1},
                    {1, 1},
                    {2147483647, 2147483647},
                    {3, 65535}}) {
      s = TargetSize(hw.first, hw.second, budget);
      ASSERT_TRUE(s.ok()) << hw.first << "x" << hw.second;
      EXPECT_EQ(s->height % 48, 0);
      EXPECT_EQ(s->width % 48, 0);
      EXPECT_GT(s->height, 0);
      EXPECT_GT(s->width, 0);
      EXPECT_LE((s->height / 48) * (s->width / 48), budget);
    }
  }
  EXPECT_EQ(TargetSize(0, 10, 70).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(TargetSize(10, -1, 70).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ImageBudget, OnlyTheFiveBudgets) {
  for (int b : facet::media::kImageBudgets)
    EXPECT_TRUE(CheckImageBudget(b).ok());
  EXPECT_TRUE(CheckImageBudget(facet::media::kDefaultImageBudget).ok());
  for (int b : {0, -70, 1, 69, 71, 100, 256, 281, 2240, 1 << 30}) {
    EXPECT_EQ(CheckImageBudget(b).code(), StatusCode::kInvalidArgument) << b;
    EXPECT_EQ(TargetSize(480, 640, b).status().code(),
              StatusCode::kInvalidArgument);
  }
  const RgbImage img = Load("extra/rgb8.png");
  EXPECT_EQ(PreprocessImage(img, 100).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ImagePatches, GoldenPatchesAndPositions) {
  for (const GoldenCase& c : kCases) {
    SCOPED_TRACE(CaseDir(c));
    const RgbImage src = Load(c.source);
    auto p = PreprocessImage(src, c.budget);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(p->resized.height, c.height);
    EXPECT_EQ(p->resized.width, c.width);
    EXPECT_EQ(p->grid_h, c.height / 16);
    EXPECT_EQ(p->grid_w, c.width / 16);
    EXPECT_EQ(p->soft_tokens(), (c.height / 48) * (c.width / 48));
    const size_t n = static_cast<size_t>(p->num_patches());
    ASSERT_EQ(p->pixels.size(), n * 768);
    ASSERT_EQ(p->positions.size(), n * 2);

    const std::string pos_bytes = ReadBytes(MM(CaseDir(c) + "positions.i32"));
    ASSERT_EQ(pos_bytes.size(), n * 8);
    std::vector<int32_t> pos(n * 2);
    std::memcpy(pos.data(), pos_bytes.data(), pos_bytes.size());
    EXPECT_EQ(p->positions, pos);

    // The stored patches (one case, to keep tests/data small; the others
    // follow from their resized.png, checked above).
    if (c.budget == 70 &&
        facet::testing::PathExists(MM(CaseDir(c) + "patches.f32"))) {
      const std::vector<float> want =
          facet::testing::ReadF32(MM(CaseDir(c) + "patches.f32"));
      ASSERT_EQ(want.size(), n * 768);
      double max_diff = 0;
      for (size_t i = 0; i < want.size(); ++i) {
        max_diff =
            std::max(max_diff, std::fabs(double{p->pixels[i]} - want[i]));
      }
      EXPECT_LE(max_diff, 1e-7);
    }
  }
}

TEST(ImagePatches, LayoutAndNoResizeAtTargetSize) {
  // An image already at the target size (384x384 at budget 70) is not
  // resized: its patches are its own pixels.
  RgbImage img;
  img.width = 384;
  img.height = 384;
  img.rgb.resize(size_t{384} * 384 * 3);
  for (int y = 0; y < 384; ++y) {
    for (int x = 0; x < 384; ++x) {
      for (int ch = 0; ch < 3; ++ch) {
        img.rgb[(y * 384 + x) * 3 + ch] =
            static_cast<uint8_t>((x * 3 + y * 5 + ch * 70) & 255);
      }
    }
  }
  auto p = PreprocessImage(img, 70);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->grid_h, 24);
  EXPECT_EQ(p->grid_w, 24);
  // patch[(py*Wp+px)][(dy*16+dx)*3+c] = resized[16py+dy][16px+dx][c] / 255.
  for (int py : {0, 5, 23}) {
    for (int px : {0, 7, 23}) {
      for (int dy : {0, 9, 15}) {
        for (int dx : {0, 4, 15}) {
          for (int ch = 0; ch < 3; ++ch) {
            const uint8_t u8 =
                img.rgb[((16 * py + dy) * 384 + 16 * px + dx) * 3 + ch];
            const float v = p->pixels[static_cast<size_t>(py * 24 + px) * 768 +
                                      (dy * 16 + dx) * 3 + ch];
            EXPECT_EQ(v, static_cast<float>(u8 * (1.0 / 255.0)));
          }
        }
      }
      EXPECT_EQ(p->positions[2 * (py * 24 + px)], px);
      EXPECT_EQ(p->positions[2 * (py * 24 + px) + 1], py);
    }
  }
  // Values: double multiply then cast, so 255 -> exactly 1.
  RgbImage white;
  white.width = white.height = 48;
  white.rgb.assign(48 * 48 * 3, 255);
  auto pw = PatchesFromResized(white);
  ASSERT_TRUE(pw.ok());
  for (float v : pw->pixels) ASSERT_EQ(v, 1.0f);
}

TEST(ImagePatches, RejectsBadImages) {
  EXPECT_EQ(PreprocessImage(RgbImage(), 70).status().code(),
            StatusCode::kInvalidArgument);
  RgbImage short_buffer;
  short_buffer.width = 10;
  short_buffer.height = 10;
  short_buffer.rgb.resize(299);
  EXPECT_EQ(PreprocessImage(short_buffer, 70).status().code(),
            StatusCode::kInvalidArgument);
  RgbImage odd;
  odd.width = 40;
  odd.height = 48;
  odd.rgb.resize(40 * 48 * 3);
  EXPECT_EQ(PatchesFromResized(odd).status().code(),
            StatusCode::kInvalidArgument);
  // Tiny and extreme aspect ratios still preprocess (the edge rules).
  RgbImage line;
  line.width = 500;
  line.height = 1;
  line.rgb.assign(500 * 3, 200);
  auto p = PreprocessImage(line, 70);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->resized.height, 48);
  EXPECT_EQ(p->resized.width, 3360);
  EXPECT_EQ(p->soft_tokens(), 70);
  // The longest side preprocessed, and one pixel more.
  line.width = facet::media::kMaxPreprocessSide;
  line.rgb.assign(size_t{3} * line.width, 9);
  p = PreprocessImage(line, 70);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->resized.width, 3360);
  for (float v : p->pixels) ASSERT_EQ(v, static_cast<float>(9 / 255.0));
  line.width += 1;
  line.rgb.assign(size_t{3} * line.width, 9);
  EXPECT_EQ(PreprocessImage(line, 70).status().code(),
            StatusCode::kResourceExhausted);
}

}  // namespace
