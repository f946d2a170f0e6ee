// Audio for the Gemma 4 audio encoder: decoding WAV and the other formats
// libsndfile reads (PCM 8/16/24/32-bit and float, any channel count),
// downmixing to mono, band-limited resampling to 16 kHz (libsoxr) and the
// reference's exact log-mel features (gemma4-multimodal spec 3.2).
#ifndef FACET_SRC_MEDIA_AUDIO_H_
#define FACET_SRC_MEDIA_AUDIO_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "facet/status.h"

namespace facet::media {

inline constexpr int kAudioSampleRate = 16000;
// The encoder's longest input: 30 s at 16 kHz.
inline constexpr int64_t kAudioMaxSamples = 480000;

// Mono samples in [-1, 1] at sample_rate Hz.
struct AudioClip {
  int sample_rate = 0;
  std::vector<float> samples;
};

struct AudioLimits {
  // Largest encoded file accepted.
  int64_t max_bytes = int64_t{512} << 20;
  // Longest clip decoded, in seconds (checked from the header).
  double max_seconds = 3600;
};

// Decodes a WAV file (or another libsndfile format) held in memory and
// downmixes it to mono (the mean of the channels). Errors:
// kInvalidArgument (not audio / unsupported), kDataLoss (corrupt or
// truncated), kResourceExhausted (past `limits`).
StatusOr<AudioClip> DecodeAudio(const uint8_t* data, size_t size,
                                const AudioLimits& limits = AudioLimits());

// Resamples mono samples from `rate` Hz to 16 kHz with libsoxr's
// very-high-quality band-limited filter (a copy when rate is 16000).
StatusOr<std::vector<float>> ResampleTo16k(const float* samples, size_t n,
                                           int rate);

// Log-mel features of a 16 kHz mono clip, as the reference computes them
// for one unpadded clip: [frames][128], frames = (n - 161) / 160 + 1
// (0 when n < 161).
inline constexpr int kMelBins = 128;
struct MelFeatures {
  int frames = 0;
  std::vector<float> mel;      // [frames][kMelBins]
  std::vector<uint8_t> valid;  // [frames], 1 = valid
};
MelFeatures LogMel(const float* samples16k, size_t n);

// The number of soft tokens the encoder makes from n samples at 16 kHz
// (n <= kAudioMaxSamples): two stride-2 halvings of the frame count.
int AudioSoftTokens(int64_t n);

}  // namespace facet::media

#endif  // FACET_SRC_MEDIA_AUDIO_H_
