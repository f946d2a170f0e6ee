// The reference's log-mel features (gemma4-multimodal spec 3.2) and the
// audio soft-token count (spec 3.4).
#include <kissfft/kiss_fftr.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "src/media/audio.h"

namespace facet::media {
namespace {

constexpr int kHop = 160;
constexpr int kWin = 320;        // of the 321-sample frame, last dropped
constexpr int kFrameSpan = 321;  // samples a frame covers
constexpr int kLeftPad = 160;    // "semicausal" zeros before the clip
constexpr int kFft = 512;
constexpr int kBins = kFft / 2 + 1;  // 257
constexpr double kMelFloor = 1e-3;
constexpr int kMaxSoftTokens = 750;

double HzToMel(double f) { return 2595.0 * std::log10(1.0 + f / 700.0); }
double MelToHz(double m) { return 700.0 * (std::pow(10.0, m / 2595.0) - 1.0); }

// The periodic Hann window and the HTK mel filterbank, built once.
struct MelTables {
  std::array<float, kWin> window;  // [320] float32, as the reference
  // Sparse filterbank: filter j covers FFT bins [first[j], first[j] +
  // weights[j].size()), no Slaney normalisation, in double.
  std::array<int, kMelBins> first;
  std::array<std::vector<double>, kMelBins> weights;

  MelTables() {
    const double pi = std::acos(-1.0);
    for (int n = 0; n < kWin; ++n)
      window[n] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * pi * n / kWin));
    // As HF's mel_filter_bank(norm=None, mel_scale="htk"): 130 edges evenly
    // spaced in mel over 0..8000 Hz, bins at k * 8000 / 256.
    const double mel_max = HzToMel(kAudioSampleRate / 2.0);
    std::array<double, kMelBins + 2> edge;
    for (int i = 0; i < kMelBins + 2; ++i) {
      const double m =
          i == kMelBins + 1 ? mel_max : i * (mel_max / (kMelBins + 1));
      edge[i] = MelToHz(m);
    }
    for (int j = 0; j < kMelBins; ++j) {
      first[j] = 0;
      std::vector<double> w;
      for (int k = 0; k < kBins; ++k) {
        const double f = k * (kAudioSampleRate / 2.0) / (kBins - 1);
        const double down = (f - edge[j]) / (edge[j + 1] - edge[j]);
        const double up = (edge[j + 2] - f) / (edge[j + 2] - edge[j + 1]);
        const double v = std::max(0.0, std::min(down, up));
        if (v > 0) {
          if (w.empty()) first[j] = k;
          w.resize(static_cast<size_t>(k - first[j] + 1), 0.0);
          w.back() = v;
        }
      }
      weights[j] = std::move(w);
    }
  }
};

const MelTables& Tables() {
  static const MelTables* tables = new MelTables();  // thread-safe init
  return *tables;
}

// Frames of an unpadded clip of n samples.
int64_t MelFrames(int64_t n) {
  return n < kFrameSpan - kLeftPad ? 0
                                   : (n - (kFrameSpan - kLeftPad)) / kHop + 1;
}

}  // namespace

MelFeatures LogMel(const float* samples16k, size_t n) {
  MelFeatures out;
  const int64_t frames =
      samples16k == nullptr ? 0 : MelFrames(static_cast<int64_t>(n));
  if (frames <= 0) return out;
  const MelTables& t = Tables();
  // kiss_fftr keeps scratch space in its config, so each call has its own.
  kiss_fftr_cfg cfg = kiss_fftr_alloc(kFft, 0, nullptr, nullptr);
  if (cfg == nullptr) return out;
  out.frames = static_cast<int>(frames);
  out.mel.resize(static_cast<size_t>(frames) * kMelBins);  // [frames][128]
  out.valid.assign(static_cast<size_t>(frames),
                   1);                   // every frame ends in real audio
  std::array<float, kFft> frame{};       // [512] windowed, zero tail
  std::array<kiss_fft_cpx, kBins> spec;  // [257]
  std::array<double, kBins> mag;         // [257]
  for (int64_t f = 0; f < frames; ++f) {
    // Frame f covers clip samples [160 f - 160, 160 f + 160).
    const int64_t start = f * kHop - kLeftPad;
    for (int i = 0; i < kWin; ++i) {
      const int64_t s = start + i;
      const float x = s >= 0 ? samples16k[s] : 0.0f;
      frame[i] = x * t.window[i];  // float32, as the reference
    }
    kiss_fftr(cfg, frame.data(), spec.data());
    for (int k = 0; k < kBins; ++k) {
      const double re = spec[k].r, im = spec[k].i;
      mag[k] = std::sqrt(re * re + im * im);
    }
    float* row = &out.mel[static_cast<size_t>(f) * kMelBins];
    for (int j = 0; j < kMelBins; ++j) {
      const std::vector<double>& w = t.weights[j];
      const double* m = &mag[t.first[j]];
      double acc = 0;
      for (size_t k = 0; k < w.size(); ++k) acc += m[k] * w[k];
      row[j] = static_cast<float>(std::log(acc + kMelFloor));
    }
  }
  kiss_fftr_free(cfg);
  return out;
}

int AudioSoftTokens(int64_t n) {
  n = std::min(n, kAudioMaxSamples);  // the reference truncates to 30 s
  int64_t t = MelFrames(n);
  for (int i = 0; i < 2; ++i) t = t == 0 ? 0 : (t - 1) / 2 + 1;
  return static_cast<int>(std::min<int64_t>(t, kMaxSoftTokens));
}

}  // namespace facet::media
