// Image decoding: JPEG through libjpeg-turbo (the decoder behind the
// reference's PIL, so pixels match bit for bit), PNG through libpng, BMP and
// GIF through stb_image. Every result is 8-bit RGB as PIL's convert("RGB")
// gives it: gray replicated, palette looked up, alpha dropped (not
// composited), 16-bit samples cut to their high byte.
//
// libjpeg and libpng report errors by longjmp. The functions that call
// setjmp below are plain C-style functions whose state lives in POD job
// structs owned by the caller, so no destructor is ever skipped; all C++
// buffers are allocated by the callers, outside the setjmp frames.
#include <png.h>
#include <setjmp.h>
#include <stdio.h>

// jpeglib.h needs FILE and size_t declared first, jerror.h (the message
// codes, JWRN_JPEG_EOF) jpeglib.h.
#include <jpeglib.h>
// (kept apart so include sorting leaves the order alone)
#include <jerror.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "src/media/image.h"
#include "src/util/no_throw.h"
#include "src/util/status_macros.h"

// stb_image for BMP and GIF only, kept private to this file (STB_IMAGE_STATIC)
// so it cannot clash with another copy linked into an app.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_MAX_DIMENSIONS (1 << 24)
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace facet::media {
namespace {

// Progressive JPEGs can hold any number of scans, each a full pass over the
// coefficients; a few bytes per scan would make decoding time unbounded.
// Real encoders write about 10 (libjpeg-turbo's own tools cap at 500 too).
constexpr int kMaxJpegScans = 500;

enum class Format { kUnknown, kJpeg, kPng, kGif, kBmp };

Format DetectFormat(const uint8_t* d, size_t n) {
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff) {
    return Format::kJpeg;
  }
  if (n >= 8 && std::memcmp(d, kPng, 8) == 0) return Format::kPng;
  if (n >= 6 &&
      (std::memcmp(d, "GIF87a", 6) == 0 || std::memcmp(d, "GIF89a", 6) == 0)) {
    return Format::kGif;
  }
  if (n >= 2 && d[0] == 'B' && d[1] == 'M') return Format::kBmp;
  return Format::kUnknown;
}

Status CheckPixels(const char* what, int64_t w, int64_t h,
                   const ImageLimits& limits) {
  if (w <= 0 || h <= 0) {
    return DataLoss(std::string(what) + ": image has no pixels");
  }
  // w and h are below 2^31 each, so the product fits in int64.
  if (w * h > limits.max_pixels) {
    return Status(StatusCode::kResourceExhausted,
                  std::string(what) + ": " + std::to_string(w) + "x" +
                      std::to_string(h) + " image exceeds the limit of " +
                      std::to_string(limits.max_pixels) + " pixels");
  }
  return OkStatus();
}

uint32_t Be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | p[3];
}
uint32_t Le32(const uint8_t* p) {
  return (uint32_t{p[3]} << 24) | (uint32_t{p[2]} << 16) |
         (uint32_t{p[1]} << 8) | p[0];
}
uint32_t Le16(const uint8_t* p) { return (uint32_t{p[1]} << 8) | p[0]; }

// ---------------------------------------------------------------- JPEG

enum class JpegKind { kRgb, kCmyk };

// Everything the setjmp functions touch: POD, owned by DecodeJpeg.
struct JpegJob {
  jpeg_decompress_struct cinfo;
  jpeg_error_mgr err;  // cinfo.err points here
  jpeg_progress_mgr progress;
  jmp_buf jump;
  bool created;
  int width;
  int height;
  JpegKind kind;
  char message[JMSG_LENGTH_MAX + 64];
};

JpegJob* JobOf(j_common_ptr cinfo) {
  // cinfo is the first member of JpegJob, so the cast is exact.
  return reinterpret_cast<JpegJob*>(cinfo);
}

void JpegErrorExit(j_common_ptr cinfo) {
  JpegJob* job = JobOf(cinfo);
  (*cinfo->err->format_message)(cinfo, job->message);
  longjmp(job->jump, 1);
}

// Warnings are silent, except running out of data: libjpeg would pad the
// file with a fake EOI and return a grey tail, where PIL refuses a
// truncated file ("image file is truncated").
void JpegEmitMessage(j_common_ptr cinfo, int msg_level) {
  if (msg_level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
    JpegErrorExit(cinfo);
  }
}

void JpegOutputMessage(j_common_ptr) {}

void JpegProgress(j_common_ptr cinfo) {
  if (!cinfo->is_decompressor) return;
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number > kMaxJpegScans) {
    JpegJob* job = JobOf(cinfo);
    std::snprintf(job->message, sizeof(job->message),
                  "more than %d progressive scans", kMaxJpegScans);
    longjmp(job->jump, 1);
  }
}

// Reads the header and picks the output colour space. false on error
// (job->message says why).
bool JpegReadHeader(JpegJob* job, const uint8_t* data, size_t size) {
  job->cinfo.err = jpeg_std_error(&job->err);
  job->err.error_exit = JpegErrorExit;
  job->err.emit_message = JpegEmitMessage;
  job->err.output_message = JpegOutputMessage;
  if (setjmp(job->jump)) return false;
  // Set first: a failed create leaves cinfo.mem null, which destroy
  // accepts.
  job->created = true;
  jpeg_create_decompress(&job->cinfo);
  job->progress.progress_monitor = JpegProgress;
  job->cinfo.progress = &job->progress;
  jpeg_mem_src(&job->cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&job->cinfo, TRUE);
  // The library defaults (JDCT_ISLOW, fancy upsampling, no scaling) are
  // what PIL uses.
  switch (job->cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:  // PIL's L -> RGB replicates; libjpeg does the same
    case JCS_YCbCr:
    case JCS_RGB:
      job->cinfo.out_color_space = JCS_RGB;
      job->kind = JpegKind::kRgb;
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      job->cinfo.out_color_space = JCS_CMYK;
      job->kind = JpegKind::kCmyk;
      break;
    default:
      std::snprintf(job->message, sizeof(job->message),
                    "unsupported JPEG colour space %d",
                    static_cast<int>(job->cinfo.jpeg_color_space));
      return false;
  }
  jpeg_calc_output_dimensions(&job->cinfo);
  job->width = static_cast<int>(job->cinfo.output_width);
  job->height = static_cast<int>(job->cinfo.output_height);
  return true;
}

// Decodes all rows into `out` ([height][width][channels]).
bool JpegReadPixels(JpegJob* job, uint8_t* out, size_t row_bytes) {
  if (setjmp(job->jump)) return false;
  jpeg_start_decompress(&job->cinfo);
  if (job->cinfo.output_components * job->cinfo.output_width != row_bytes ||
      static_cast<int>(job->cinfo.output_height) != job->height) {
    std::snprintf(job->message, sizeof(job->message),
                  "unexpected JPEG output layout");
    return false;
  }
  while (job->cinfo.output_scanline < job->cinfo.output_height) {
    JSAMPROW row = out + job->cinfo.output_scanline * row_bytes;
    if (jpeg_read_scanlines(&job->cinfo, &row, 1) != 1) {
      std::snprintf(job->message, sizeof(job->message),
                    "JPEG decoder returned no row");
      return false;
    }
  }
  // No jpeg_finish_decompress: like PIL, a file whose image data is
  // complete is accepted even when the EOI marker is missing.
  return true;
}

// PIL's CMYK -> RGB (Convert.c cmyk2rgb) on the Adobe-inverted samples PIL
// reads from a CMYK JPEG ("CMYK;I").
void CmykToRgb(const uint8_t* cmyk, size_t n, uint8_t* rgb) {
  for (size_t i = 0; i < n; ++i) {
    const int c = 255 - cmyk[4 * i + 0];
    const int m = 255 - cmyk[4 * i + 1];
    const int y = 255 - cmyk[4 * i + 2];
    const int nk = cmyk[4 * i + 3];  // 255 - inverted k
    const int v[3] = {c, m, y};
    for (int ch = 0; ch < 3; ++ch) {
      const int t = v[ch] * nk + 128;
      const int mul = ((t >> 8) + t) >> 8;  // v * nk / 255, rounded
      const int o = nk - mul;
      rgb[3 * i + ch] = static_cast<uint8_t>(o < 0 ? 0 : (o > 255 ? 255 : o));
    }
  }
}

StatusOr<RgbImage> DecodeJpeg(const uint8_t* data, size_t size,
                              const ImageLimits& limits) {
  JpegJob job_storage;  // POD: zeroed so `created` starts false
  std::memset(&job_storage, 0, sizeof(job_storage));
  JpegJob* job = &job_storage;
  struct Destroy {
    JpegJob* job;
    ~Destroy() {
      if (job->created) jpeg_destroy_decompress(&job->cinfo);
    }
  } destroy{job};

  if (!JpegReadHeader(job, data, size)) {
    return DataLoss(std::string("JPEG: ") + job->message);
  }
  FACET_RETURN_IF_ERROR(CheckPixels("JPEG", job->width, job->height, limits));
  RgbImage img;
  img.width = job->width;
  img.height = job->height;
  const size_t n = static_cast<size_t>(img.width) * img.height;
  if (job->kind == JpegKind::kRgb) {
    img.rgb.resize(n * 3);
    if (!JpegReadPixels(job, img.rgb.data(), size_t{3} * img.width)) {
      return DataLoss(std::string("JPEG: ") + job->message);
    }
  } else {
    std::vector<uint8_t> cmyk(n * 4);  // [h][w][4]
    if (!JpegReadPixels(job, cmyk.data(), size_t{4} * img.width)) {
      return DataLoss(std::string("JPEG: ") + job->message);
    }
    img.rgb.resize(n * 3);
    CmykToRgb(cmyk.data(), n, img.rgb.data());
  }
  return img;
}

// ----------------------------------------------------------------- PNG

// Everything the setjmp functions touch: POD, owned by DecodePng.
struct PngJob {
  png_structp png;
  png_infop info;
  const uint8_t* data;
  size_t size;
  size_t pos;
  uint32_t width;
  uint32_t height;
  char message[256];
};

void PngError(png_structp png, png_const_charp msg) {
  auto* job = static_cast<PngJob*>(png_get_error_ptr(png));
  std::snprintf(job->message, sizeof(job->message), "%s",
                msg != nullptr ? msg : "error");
  png_longjmp(png, 1);
}

void PngWarning(png_structp, png_const_charp) {}

void PngRead(png_structp png, png_bytep out, size_t n) {
  auto* job = static_cast<PngJob*>(png_get_io_ptr(png));
  if (n > job->size - job->pos) png_error(png, "truncated PNG data");
  std::memcpy(out, job->data + job->pos, n);
  job->pos += n;
}

// Reads the header and sets the transforms to 8-bit RGB.
bool PngReadHeader(PngJob* job) {
  if (setjmp(png_jmpbuf(job->png))) return false;
  png_set_read_fn(job->png, job, PngRead);
  // facet applies its own pixel limit; lift libpng's 1e6-per-side default.
  png_set_user_limits(job->png, 0x7fffffff, 0x7fffffff);
  png_read_info(job->png, job->info);
  job->width = png_get_image_width(job->png, job->info);
  job->height = png_get_image_height(job->png, job->info);
  const int color = png_get_color_type(job->png, job->info);
  const int depth = png_get_bit_depth(job->png, job->info);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(job->png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8) {
    png_set_expand_gray_1_2_4_to_8(job->png);
  }
  // High byte, as PIL's "RGB;16B"-style raw modes read 16-bit samples.
  if (depth == 16) png_set_strip_16(job->png);
  // Alpha (and tRNS, which palette expansion turns into alpha) is dropped
  // without compositing, as convert("RGB") does.
  png_set_strip_alpha(job->png);
  if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) {
    png_set_gray_to_rgb(job->png);
  }
  png_set_interlace_handling(job->png);
  png_read_update_info(job->png, job->info);
  if (png_get_channels(job->png, job->info) != 3 ||
      png_get_bit_depth(job->png, job->info) != 8 ||
      png_get_rowbytes(job->png, job->info) != size_t{3} * job->width) {
    std::snprintf(job->message, sizeof(job->message),
                  "unexpected PNG output layout");
    return false;
  }
  return true;
}

bool PngReadPixels(PngJob* job, png_bytepp rows) {
  if (setjmp(png_jmpbuf(job->png))) return false;
  png_read_image(job->png, rows);
  // Trailing chunks are not read: the pixels are complete.
  return true;
}

StatusOr<RgbImage> DecodePng(const uint8_t* data, size_t size,
                             const ImageLimits& limits) {
  PngJob job_storage;  // POD
  std::memset(&job_storage, 0, sizeof(job_storage));
  PngJob* job = &job_storage;
  job->data = data;
  job->size = size;
  job->png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, job, PngError, PngWarning);
  if (job->png == nullptr) {
    return Status(StatusCode::kResourceExhausted, "PNG: out of memory");
  }
  job->info = png_create_info_struct(job->png);
  struct Destroy {
    PngJob* job;
    ~Destroy() {
      png_destroy_read_struct(
          &job->png, job->info != nullptr ? &job->info : nullptr, nullptr);
    }
  } destroy{job};
  if (job->info == nullptr) {
    return Status(StatusCode::kResourceExhausted, "PNG: out of memory");
  }
  // The size from IHDR (always the first chunk, bytes 16..23) before libpng
  // reads on: a giant header with nothing behind it is still "too large".
  if (size >= 24 && std::memcmp(data + 12, "IHDR", 4) == 0) {
    const uint32_t w = Be32(data + 16), h = Be32(data + 20);
    if (w > 0 && h > 0 && w <= 0x7fffffffu && h <= 0x7fffffffu) {
      FACET_RETURN_IF_ERROR(CheckPixels("PNG", w, h, limits));
    }
  }
  if (!PngReadHeader(job)) {
    return DataLoss(std::string("PNG: ") + job->message);
  }
  FACET_RETURN_IF_ERROR(CheckPixels("PNG", job->width, job->height, limits));
  RgbImage img;
  img.width = static_cast<int>(job->width);
  img.height = static_cast<int>(job->height);
  const size_t row_bytes = size_t{3} * img.width;
  img.rgb.resize(row_bytes * img.height);  // [h][w][3]
  std::vector<png_bytep> rows(img.height);
  for (int y = 0; y < img.height; ++y) rows[y] = img.rgb.data() + y * row_bytes;
  if (!PngReadPixels(job, rows.data())) {
    return DataLoss(std::string("PNG: ") + job->message);
  }
  return img;
}

// ------------------------------------------------------ BMP, GIF (stb)

// stb_image reads zeros past the end of its input, so a cut file would
// decode with a black tail; PIL refuses it ("image file is truncated").
// These walkers check the size and that the pixel data is all there.

Status CheckBmp(const uint8_t* d, size_t n, const ImageLimits& limits) {
  if (n < 26) return DataLoss("BMP: truncated header");
  const uint64_t offset = Le32(d + 10);
  const uint32_t header_size = Le32(d + 14);
  int64_t w, h;
  uint32_t bpp, compression = 0;
  if (header_size == 12) {  // OS/2 BITMAPCOREHEADER
    w = Le16(d + 18);
    h = Le16(d + 20);
    bpp = Le16(d + 24);
  } else {
    if (n < 34) return DataLoss("BMP: truncated header");
    w = static_cast<int32_t>(Le32(d + 18));
    h = static_cast<int32_t>(Le32(d + 22));
    if (h < 0) h = -h;  // top-down rows
    bpp = Le16(d + 28);
    compression = Le32(d + 30);
  }
  FACET_RETURN_IF_ERROR(CheckPixels("BMP", w, h, limits));
  // Uncompressed and bit-field rows: 4-byte aligned, all present. (stb
  // rejects the compressed kinds.)
  if ((compression == 0 || compression == 3) && bpp > 0 && bpp <= 32) {
    const uint64_t stride = (static_cast<uint64_t>(w) * bpp + 31) / 32 * 4;
    if (offset > n || stride * static_cast<uint64_t>(h) > n - offset) {
      return DataLoss("BMP: truncated pixel data");
    }
  }
  return OkStatus();
}

// What PIL puts where the first frame draws nothing (outside its
// rectangle, or a transparent pixel): the transparency index if the frame
// has one (PIL fills the canvas with it), else index 0 (a new image), looked
// up in the frame's palette.
struct GifFill {
  uint8_t rgb[3] = {0, 0, 0};
};

// Walks the blocks up to the end of the first image's data; fills `fill`.
Status CheckGif(const uint8_t* d, size_t n, const ImageLimits& limits,
                GifFill* fill) {
  if (n < 13) return DataLoss("GIF: truncated header");
  FACET_RETURN_IF_ERROR(CheckPixels("GIF", Le16(d + 6), Le16(d + 8), limits));
  const Status truncated = DataLoss("GIF: truncated data");
  size_t pos = 13;
  size_t palette = 0, palette_entries = 0;  // offset of the RGB triples
  if (d[10] & 0x80) {                       // global palette
    palette = pos;
    palette_entries = size_t{1} << ((d[10] & 7) + 1);
    pos += 3 * palette_entries;
  }
  int transparent = -1;  // from the last graphic control extension
  // Skips data sub-blocks up to and including the empty one.
  auto skip_blocks = [&]() {
    while (pos < n) {
      const size_t len = d[pos++];
      if (len == 0) return true;
      pos += len;
    }
    return false;
  };
  while (pos < n) {
    const uint8_t tag = d[pos++];
    if (tag == 0x21) {  // extension: label, then sub-blocks
      if (pos + 6 <= n && d[pos] == 0xf9 && d[pos + 1] >= 4) {
        transparent = (d[pos + 2] & 1) ? d[pos + 5] : -1;
      }
      ++pos;
      if (!skip_blocks()) return truncated;
    } else if (tag == 0x2c) {  // image descriptor
      if (n - pos < 9) return truncated;
      const uint8_t flags = d[pos + 8];
      pos += 9;
      if (flags & 0x80) {  // local palette
        palette = pos;
        palette_entries = size_t{1} << ((flags & 7) + 1);
        pos += 3 * palette_entries;
      }
      ++pos;  // LZW minimum code size
      if (!skip_blocks()) return truncated;
      const size_t index = transparent >= 0 ? transparent : 0;
      if (index < palette_entries) {
        std::memcpy(fill->rgb, d + palette + 3 * index, 3);
      }
      return OkStatus();
    } else if (tag == 0x3b) {
      return DataLoss("GIF: no image");
    } else {
      return DataLoss("GIF: corrupt block");
    }
  }
  return truncated;
}

// stbi_load_from_memory with `channels` channels, freed on scope exit.
struct StbPixels {
  stbi_uc* p = nullptr;
  int width = 0;
  int height = 0;
  StbPixels() = default;
  StbPixels(const StbPixels&) = delete;
  StbPixels& operator=(const StbPixels&) = delete;
  ~StbPixels() {
    if (p != nullptr) stbi_image_free(p);
  }
};

Status StbLoad(const char* what, const uint8_t* data, size_t size, int channels,
               const ImageLimits& limits, StbPixels* out) {
  if (size > static_cast<size_t>(INT_MAX)) {
    return Status(StatusCode::kResourceExhausted,
                  std::string(what) + ": file too large");
  }
  int comp = 0;
  out->p = stbi_load_from_memory(data, static_cast<int>(size), &out->width,
                                 &out->height, &comp, channels);
  if (out->p == nullptr) {
    return DataLoss(std::string(what) + ": " + stbi_failure_reason());
  }
  // The limit was checked on the header; the result must agree with it.
  return CheckPixels(what, out->width, out->height, limits);
}

// After CheckBmp. stb replicates gray and drops alpha for 3 channels.
StatusOr<RgbImage> DecodeBmp(const uint8_t* data, size_t size,
                             const ImageLimits& limits) {
  StbPixels px;
  FACET_RETURN_IF_ERROR(StbLoad("BMP", data, size, 3, limits, &px));
  RgbImage img;
  img.width = px.width;
  img.height = px.height;
  img.rgb.assign(px.p, px.p + size_t{3} * px.width * px.height);
  return img;
}

// The first frame, as PIL's convert("RGB") shows it.
StatusOr<RgbImage> DecodeGif(const uint8_t* data, size_t size,
                             const ImageLimits& limits, const GifFill& fill) {
  // stb paints undrawn pixels of a first frame in the background colour
  // when the background index is not 0, where PIL uses `fill`: with the
  // index zeroed, every undrawn or transparent pixel comes back with
  // alpha 0 and gets `fill` below.
  std::vector<uint8_t> copy(data, data + size);
  copy[11] = 0;
  StbPixels px;
  FACET_RETURN_IF_ERROR(
      StbLoad("GIF", copy.data(), copy.size(), 4, limits, &px));
  RgbImage img;
  img.width = px.width;
  img.height = px.height;
  const size_t n = static_cast<size_t>(px.width) * px.height;
  img.rgb.resize(n * 3);  // [h][w][3] from stb's [h][w][4]
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* s = px.p + 4 * i;
    const uint8_t* c = s[3] != 0 ? s : fill.rgb;
    img.rgb[3 * i + 0] = c[0];
    img.rgb[3 * i + 1] = c[1];
    img.rgb[3 * i + 2] = c[2];
  }
  return img;
}

}  // namespace

StatusOr<RgbImage> DecodeImage(const uint8_t* data, size_t size,
                               const ImageLimits& limits) {
  if (data == nullptr || size == 0) {
    return InvalidArgument("image: empty input");
  }
  if (limits.max_bytes >= 0 &&
      static_cast<uint64_t>(size) > static_cast<uint64_t>(limits.max_bytes)) {
    return Status(StatusCode::kResourceExhausted,
                  "image: " + std::to_string(size) +
                      " bytes exceed the limit of " +
                      std::to_string(limits.max_bytes));
  }
  return CatchAll("image", [&]() -> StatusOr<RgbImage> {
    switch (DetectFormat(data, size)) {
      case Format::kJpeg:
        return DecodeJpeg(data, size, limits);
      case Format::kPng:
        return DecodePng(data, size, limits);
      case Format::kGif: {
        GifFill fill;
        FACET_RETURN_IF_ERROR(CheckGif(data, size, limits, &fill));
        return DecodeGif(data, size, limits, fill);
      }
      case Format::kBmp:
        FACET_RETURN_IF_ERROR(CheckBmp(data, size, limits));
        return DecodeBmp(data, size, limits);
      case Format::kUnknown:
        break;
    }
    return InvalidArgument(
        "image: unknown format (JPEG, PNG, BMP and GIF are supported)");
  });
}

}  // namespace facet::media
