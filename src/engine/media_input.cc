#include "src/engine/media_input.h"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

#include "src/io/mapped_file.h"
#include "src/media/audio.h"
#include "src/media/image.h"
#include "src/util/status_macros.h"

namespace facet {
namespace {

// Largest media file read (images and audio alike).
constexpr int64_t kMaxMediaFileBytes = int64_t{512} << 20;

StatusOr<std::string> SourceBytes(const Part& p) {
  if (!p.path.empty()) {
    StatusOr<std::string> bytes = ReadFileToString(p.path, kMaxMediaFileBytes);
    if (!bytes.ok()) return bytes.status();
    return bytes;
  }
  return p.data;
}

Status InFile(const Status& s, const Part& p) {
  if (s.ok() || p.path.empty()) return s;
  return Status(s.code(), p.path + ": " + s.message());
}

StatusOr<media::RgbImage> ImageOf(const Part& p) {
  if (!p.rgb.empty()) {
    media::RgbImage img;
    img.width = p.width;
    img.height = p.height;
    img.rgb = p.rgb;
    return img;
  }
  FACET_ASSIGN_OR_RETURN(std::string bytes, SourceBytes(p));
  StatusOr<media::RgbImage> img = media::DecodeImage(
      reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (!img.ok()) return InFile(img.status(), p);
  return img;
}

// Mono samples at 16 kHz.
StatusOr<std::vector<float>> Samples16k(const Part& p) {
  media::AudioClip clip;
  if (!p.samples.empty()) {
    clip.sample_rate = p.sample_rate;
    clip.samples = p.samples;
  } else {
    FACET_ASSIGN_OR_RETURN(std::string bytes, SourceBytes(p));
    StatusOr<media::AudioClip> c = media::DecodeAudio(
        reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    if (!c.ok()) return InFile(c.status(), p);
    clip = std::move(c).value();
  }
  return media::ResampleTo16k(clip.samples.data(), clip.samples.size(),
                              clip.sample_rate);
}

void AppendRows(EncodedMedia&& part, EncodedMedia* all) {
  all->soft_tokens += part.soft_tokens;
  all->embeddings.insert(all->embeddings.end(), part.embeddings.begin(),
                         part.embeddings.end());
  all->features.insert(all->features.end(), part.features.begin(),
                       part.features.end());
  all->feature_rows += part.feature_rows;
  all->feature_cols = part.feature_cols;
}

}  // namespace

Status CheckMediaPart(const Part& p, const std::string& where) {
  if (p.kind == Part::Kind::kVideo) {
    if (p.frames.empty())
      return InvalidArgument(where + ": a video needs frames");
    if (p.frames.size() != p.frame_seconds.size()) {
      return InvalidArgument(
          where + ": " + std::to_string(p.frames.size()) + " frames but " +
          std::to_string(p.frame_seconds.size()) + " frame times");
    }
    for (size_t i = 0; i < p.frames.size(); ++i) {
      const std::string at = where + " frame " + std::to_string(i);
      if (p.frames[i].kind != Part::Kind::kImage) {
        return InvalidArgument(at + " is not an image");
      }
      if (!(p.frame_seconds[i] >= 0) || p.frame_seconds[i] > 1e7) {
        return InvalidArgument(at + ": time must be >= 0 seconds");
      }
      FACET_RETURN_IF_ERROR(CheckMediaPart(p.frames[i], at));
    }
    return OkStatus();
  }
  const bool image = p.kind == Part::Kind::kImage;
  const int sources = !p.path.empty() + !p.data.empty() +
                      (image ? !p.rgb.empty() : !p.samples.empty());
  if (sources != 1) {
    return InvalidArgument(where +
                           " needs exactly one of a path, encoded data or "
                           "raw " +
                           (image ? "pixels" : "samples"));
  }
  if (image && !p.rgb.empty() &&
      (p.width <= 0 || p.height <= 0 ||
       p.rgb.size() != static_cast<size_t>(p.width) * p.height * 3)) {
    return InvalidArgument(where + ": " + std::to_string(p.rgb.size()) +
                           " bytes of RGB do not match " +
                           std::to_string(p.width) + " x " +
                           std::to_string(p.height) + " x 3");
  }
  if (image && p.image_budget != 0) {
    Status b = media::CheckImageBudget(p.image_budget);
    if (!b.ok()) return InvalidArgument(where + ": " + b.message());
  }
  if (!image && !p.samples.empty() &&
      (p.sample_rate < 1000 || p.sample_rate > 384000)) {
    return InvalidArgument(where +
                           ": raw samples need a sample rate in "
                           "1000..384000 Hz, got " +
                           std::to_string(p.sample_rate));
  }
  return OkStatus();
}

StatusOr<EncodedMedia> EncodeMediaPart(const Part& p, int default_budget,
                                       const MediaEncoder& encoder,
                                       kernels::ThreadPool* pool,
                                       bool keep_features) {
  if (p.kind == Part::Kind::kImage) {
    if (!encoder.has_vision()) {
      return FailedPrecondition("the model has no vision encoder");
    }
    FACET_ASSIGN_OR_RETURN(media::RgbImage img, ImageOf(p));
    const int budget = p.image_budget != 0 ? p.image_budget : default_budget;
    return encoder.EncodeImage(img, budget, pool, keep_features);
  }
  if (p.kind != Part::Kind::kAudio) {
    return InvalidArgument("not an image or audio part");
  }
  if (!encoder.has_audio()) {
    return FailedPrecondition("the model has no audio encoder");
  }
  FACET_ASSIGN_OR_RETURN(std::vector<float> x, Samples16k(p));
  const int64_t n = static_cast<int64_t>(x.size());
  if (n == 0) return InvalidArgument("the audio has no samples");
  if (n > media::kAudioMaxSamples && !p.split_long_audio) {
    char secs[32];
    std::snprintf(secs, sizeof(secs), "%.1f", n / 16000.0);
    return InvalidArgument(
        "audio of " + std::string(secs) +
        " s is longer than the encoder's 30 s (split_long_audio is off)");
  }
  // Chunks of 30 s encoded separately, their rows in one span, as
  // llama.cpp does (the reference truncates at 30 s instead).
  EncodedMedia all;
  for (int64_t b = 0; b < n; b += media::kAudioMaxSamples) {
    const int64_t m = std::min<int64_t>(media::kAudioMaxSamples, n - b);
    if (b > 0 && m < 161) break;  // a tail too short for one frame
    FACET_ASSIGN_OR_RETURN(
        EncodedMedia part,
        encoder.EncodeAudio(x.data() + b, static_cast<size_t>(m), pool,
                            keep_features));
    AppendRows(std::move(part), &all);
  }
  return all;
}

}  // namespace facet
