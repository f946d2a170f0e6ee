// libFuzzer target: audio decoding (libsndfile from memory, downmix), then
// what the engine does with an accepted clip: resampling to 16 kHz and the
// log-mel features, on at most the first 5 s to keep each run short.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "src/media/audio.h"

// libsndfile 1.2.0 leaks libvorbis's vorbis_info (~6 KB) when an Ogg Vorbis
// file fails to open; that is the library's bug, not facet's.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:vorbis_info_init\n";
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  facet::media::AudioLimits limits;
  limits.max_bytes = 1 << 20;
  limits.max_seconds = 60;
  auto clip = facet::media::DecodeAudio(data, size, limits);
  if (!clip.ok()) return 0;
  const std::vector<float>& s = clip->samples;
  if (s.empty() || clip->sample_rate <= 0) std::abort();  // contract
  const size_t n =
      std::min(s.size(), static_cast<size_t>(clip->sample_rate) * 5);
  auto wave = facet::media::ResampleTo16k(s.data(), n, clip->sample_rate);
  if (!wave.ok()) return 0;
  const facet::media::MelFeatures mel =
      facet::media::LogMel(wave->data(), wave->size());
  const int64_t m = static_cast<int64_t>(wave->size());
  const int64_t frames = m < 161 ? 0 : (m - 161) / 160 + 1;
  if (mel.frames != frames ||
      mel.mel.size() != static_cast<size_t>(frames) * facet::media::kMelBins ||
      mel.valid.size() != static_cast<size_t>(frames))
    std::abort();
  (void)facet::media::AudioSoftTokens(m);
  return 0;
}
