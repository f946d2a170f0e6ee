// Resampling to 16 kHz with libsoxr's very-high-quality filter.
#include <soxr.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "src/media/audio.h"

namespace facet::media {
namespace {

// The rates DecodeAudio accepts.
constexpr int kMinRate = 1000;
constexpr int kMaxRate = 384000;

}  // namespace

StatusOr<std::vector<float>> ResampleTo16k(const float* samples, size_t n,
                                           int rate) {
  if (rate < kMinRate || rate > kMaxRate)
    return Status(StatusCode::kInvalidArgument,
                  "resample: unsupported sample rate " + std::to_string(rate));
  if (n == 0) return std::vector<float>();
  if (samples == nullptr)
    return Status(StatusCode::kInvalidArgument, "resample: null samples");
  if (rate == kAudioSampleRate) return std::vector<float>(samples, samples + n);
  // n * 16000 / rate, rounded to nearest; exact in double for any n a
  // real clip has (< 2^53 / 16000).
  const double out_len_d =
      std::floor(static_cast<double>(n) * kAudioSampleRate / rate + 0.5);
  if (out_len_d > 9e15)
    return Status(StatusCode::kResourceExhausted, "resample: input too long");
  const size_t out_len = static_cast<size_t>(out_len_d);
  std::vector<float> out(out_len);  // [out_len] mono
  if (out_len == 0) return out;
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t q = soxr_quality_spec(SOXR_VHQ, 0);
  size_t done = 0;
  // soxr_oneshot flushes the filter, so the output is complete and aligned
  // with the input (its group delay is compensated).
  const soxr_error_t err =
      soxr_oneshot(rate, kAudioSampleRate, 1, samples, n, nullptr, out.data(),
                   out_len, &done, &io, &q, nullptr);
  if (err != nullptr)
    return Status(StatusCode::kInternal,
                  std::string("resample: soxr failed: ") + err);
  // soxr stops a few samples short only if the flush is cut; pad with zeros
  // so the length stays round(n * 16000 / rate).
  if (done < out_len) std::fill(out.begin() + done, out.end(), 0.0f);
  return out;
}

}  // namespace facet::media
