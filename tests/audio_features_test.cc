// Audio decoding, resampling to 16 kHz and log-mel features against the
// multimodal golden data (tests/data/multimodal, copied from
// ../shared/golden/multimodal) and hand-made WAVs with known samples.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "src/media/audio.h"
#include "tests/test_paths.h"

namespace facet::media {
namespace {

using facet::testing::ReadBytes;
using facet::testing::ReadF32;
using facet::testing::TestData;

const float kLogFloor = static_cast<float>(std::log(0.001));

StatusOr<AudioClip> Decode(const std::string& bytes,
                           const AudioLimits& limits = AudioLimits()) {
  return DecodeAudio(reinterpret_cast<const uint8_t*>(bytes.data()),
                     bytes.size(), limits);
}

std::string Speech() {
  return ReadBytes(TestData("multimodal/inputs/aud_speech_16k_mono.wav"));
}

void Put32(std::string* s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) (*s)[at + i] = static_cast<char>(v >> (8 * i));
}

struct MelDiff {
  int rows = 0;
  double max = 0, mean = 0;
};

// |mel - golden| over the golden's valid rows that `mel` has too.
MelDiff CompareMel(const MelFeatures& m, const std::string& golden_case) {
  const std::string dir = TestData("multimodal/audio/" + golden_case + "/");
  const std::vector<float> ref = ReadF32(dir + "mel.f32");  // [T][128]
  const std::string mask = ReadBytes(dir + "mel_mask.u8");  // [T]
  MelDiff d;
  EXPECT_EQ(ref.size(), mask.size() * kMelBins);
  size_t n = 0;
  for (int f = 0; f < m.frames && f < static_cast<int>(mask.size()); ++f) {
    if (mask[f] == 0) continue;
    ++d.rows;
    for (int j = 0; j < kMelBins; ++j) {
      const double e =
          std::fabs(double{m.mel[f * kMelBins + j]} - ref[f * kMelBins + j]);
      d.max = std::max(d.max, e);
      d.mean += e;
      ++n;
    }
  }
  if (n > 0) d.mean /= n;
  return d;
}

// ---------------------------------------------------------------- decoding

TEST(AudioDecodeTest, Speech16kEqualsGoldenWaveExactly) {
  auto clip = Decode(Speech());
  ASSERT_TRUE(clip.ok()) << clip.status().ToString();
  EXPECT_EQ(clip->sample_rate, 16000);
  const std::vector<float> ref =
      ReadF32(TestData("multimodal/audio/speech_16k_mono/wave16k.f32"));
  ASSERT_EQ(ref.size(), 40000u);
  ASSERT_EQ(clip->samples.size(), ref.size());
  // int16 / 32768 is exact in float32, so the samples must be identical.
  EXPECT_EQ(std::memcmp(clip->samples.data(), ref.data(), ref.size() * 4), 0);
  auto same = ResampleTo16k(clip->samples.data(), clip->samples.size(), 16000);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, clip->samples);
}

TEST(AudioDecodeTest, Tone44kStereoEndToEnd) {
  auto clip =
      Decode(ReadBytes(TestData("multimodal/inputs/aud_tone_44k1_stereo.wav")));
  ASSERT_TRUE(clip.ok()) << clip.status().ToString();
  EXPECT_EQ(clip->sample_rate, 44100);
  ASSERT_EQ(clip->samples.size(), 44100u);
  auto wave = ResampleTo16k(clip->samples.data(), clip->samples.size(),
                            clip->sample_rate);
  ASSERT_TRUE(wave.ok()) << wave.status().ToString();
  const std::vector<float> ref =
      ReadF32(TestData("multimodal/audio/tone_44k1_stereo/wave16k.f32"));
  ASSERT_EQ(wave->size(), ref.size());
  ASSERT_EQ(wave->size(), 16000u);
  double max_wave = 0;
  for (size_t i = 0; i < ref.size(); ++i)
    max_wave = std::max(max_wave, std::fabs(double{(*wave)[i]} - ref[i]));
  // soxr against scipy's resample_poly (Kaiser 5): different filters.
  EXPECT_LT(max_wave, 0.02);
  const MelFeatures m = LogMel(wave->data(), wave->size());
  ASSERT_EQ(m.frames, 99);
  const MelDiff d = CompareMel(m, "tone_44k1_stereo");
  EXPECT_EQ(d.rows, 99);
  EXPECT_LE(d.mean, 0.05);
  std::printf("tone 44.1k: max|dwave| %.3g, mel mean|d| %.4g max|d| %.3g\n",
              max_wave, d.mean, d.max);
}

TEST(AudioDecodeTest, UnsignedPcm8) {
  auto clip =
      Decode(ReadBytes(TestData("multimodal/extra/pcm_u8_mono_8k.wav")));
  ASSERT_TRUE(clip.ok()) << clip.status().ToString();
  EXPECT_EQ(clip->sample_rate, 8000);
  EXPECT_EQ(clip->samples,
            (std::vector<float>{-1.0f, -0.5f, 0.0f, 0.5f, 127.0f / 128}));
}

TEST(AudioDecodeTest, Pcm24) {
  auto clip =
      Decode(ReadBytes(TestData("multimodal/extra/pcm_s24_mono_22k.wav")));
  ASSERT_TRUE(clip.ok()) << clip.status().ToString();
  EXPECT_EQ(clip->sample_rate, 22050);
  const float s = 1.0f / 8388608;  // 2^-23
  EXPECT_EQ(clip->samples,
            (std::vector<float>{-1.0f, -0.5f, 0.0f, s, 8388607 * s, -s}));
}

TEST(AudioDecodeTest, Pcm32) {
  auto clip =
      Decode(ReadBytes(TestData("multimodal/extra/pcm_s32_mono_48k.wav")));
  ASSERT_TRUE(clip.ok()) << clip.status().ToString();
  EXPECT_EQ(clip->sample_rate, 48000);
  // Values exact in float32: 2^31 - 2^7 = (2^24 - 1) * 2^7.
  EXPECT_EQ(clip->samples,
            (std::vector<float>{-1.0f, -0.5f, 0.0f, 1.0f / 32768,
                                1.0f - 1.0f / 16777216, 0.375f}));
}

TEST(AudioDecodeTest, FloatKeepsValuesAndZeroesNonFinite) {
  auto clip =
      Decode(ReadBytes(TestData("multimodal/extra/float_mono_16k.wav")));
  ASSERT_TRUE(clip.ok()) << clip.status().ToString();
  EXPECT_EQ(clip->sample_rate, 16000);
  // NaN and Inf would poison every mel frame they touch.
  EXPECT_EQ(clip->samples,
            (std::vector<float>{0.25f, -0.75f, 1.5f, 0.0f, 0.0f, -0.125f}));
}

TEST(AudioDecodeTest, ThreeChannelsAreAveraged) {
  auto clip =
      Decode(ReadBytes(TestData("multimodal/extra/pcm_s16_3ch_16k.wav")));
  ASSERT_TRUE(clip.ok()) << clip.status().ToString();
  EXPECT_EQ(clip->sample_rate, 16000);
  const double q = 1.0 / 32768;
  const std::vector<float> want = {
      static_cast<float>((16384 + 8192 + 0) * q / 3), -1.0f,
      static_cast<float>((100 + 200 + 300) * q / 3),
      static_cast<float>(1 * q / 3),
      static_cast<float>((32767 - 32768 + 1) * q / 3)};
  EXPECT_EQ(clip->samples, want);
}

double Rms(const std::vector<float>& x) {
  double s = 0;
  for (float v : x) s += double{v} * v;
  return x.empty() ? 0 : std::sqrt(s / x.size());
}

TEST(AudioDecodeTest, CompressedFormats) {
  // 0.4 sin(2 pi 440 t) written by libsndfile itself.
  const double pi = std::acos(-1.0);
  auto flac = Decode(ReadBytes(TestData("multimodal/extra/sine440_16k.flac")));
  ASSERT_TRUE(flac.ok()) << flac.status().ToString();
  EXPECT_EQ(flac->sample_rate, 16000);
  ASSERT_EQ(flac->samples.size(), 1600u);
  for (size_t i = 0; i < flac->samples.size(); ++i)
    ASSERT_NEAR(flac->samples[i], 0.4 * std::sin(2 * pi * 440 * i / 16000.0),
                1e-4)
        << i;
  // Lossy codecs: the length and the level (rms 0.4 / sqrt 2).
  auto opus =
      Decode(ReadBytes(TestData("multimodal/extra/sine440_48k_stereo.opus")));
  ASSERT_TRUE(opus.ok()) << opus.status().ToString();
  EXPECT_EQ(opus->sample_rate, 48000);
  EXPECT_EQ(opus->samples.size(), 4800u);
  EXPECT_NEAR(Rms(opus->samples), 0.2828, 0.03);
  auto mp3 = Decode(ReadBytes(TestData("multimodal/extra/sine440_16k.mp3")));
  ASSERT_TRUE(mp3.ok()) << mp3.status().ToString();
  EXPECT_EQ(mp3->sample_rate, 16000);
  EXPECT_NEAR(static_cast<double>(mp3->samples.size()), 8000, 1200);
  EXPECT_NEAR(Rms(mp3->samples), 0.2828, 0.03);
}

TEST(AudioDecodeTest, EmptyAndNonAudioAreInvalidArgument) {
  EXPECT_EQ(Decode("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeAudio(nullptr, 10).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Decode("hello, this is not audio").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      Decode(std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16)).status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(Decode("RIFF").status().code(), StatusCode::kInvalidArgument);
}

TEST(AudioDecodeTest, TruncatedAndCorruptAreDataLoss) {
  const std::string wav = Speech();
  ASSERT_EQ(wav.size(), 80044u);
  // Cut inside the header, right after it, inside a sample, mid-data and one
  // byte short.
  for (size_t n : {12u, 20u, 30u, 40u, 44u, 45u, 1044u, 40001u, 80043u}) {
    auto r = Decode(wav.substr(0, n));
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << "cut at " << n;
  }
  std::string garbage = "RIFF\xff\xff\xff\xffWAVE" + std::string(200, '\x13');
  EXPECT_EQ(Decode(garbage).status().code(), StatusCode::kDataLoss);
  std::string zero_channels = wav;
  zero_channels[22] = zero_channels[23] = 0;
  EXPECT_EQ(Decode(zero_channels).status().code(), StatusCode::kDataLoss);
}

TEST(AudioDecodeTest, HugeLengthInHeader) {
  std::string wav = Speech();
  // A data chunk claiming 2 GiB in an 80 KB file: truncated, and nothing
  // of that size may be allocated.
  std::string huge = wav;
  Put32(&huge, 4, 0x7FFFFFF0u);
  Put32(&huge, 40, 0x7FFFFFF0u);
  EXPECT_EQ(Decode(huge).status().code(), StatusCode::kDataLoss);
  // 0xFFFFFFFF is the "unknown length" mark of streaming writers: decode
  // what is there.
  std::string streamed = wav;
  Put32(&streamed, 4, 0xFFFFFFFFu);
  Put32(&streamed, 40, 0xFFFFFFFFu);
  auto clip = Decode(streamed);
  ASSERT_TRUE(clip.ok()) << clip.status().ToString();
  EXPECT_EQ(clip->samples.size(), 40000u);
}

TEST(AudioDecodeTest, LimitsAndRates) {
  const std::string wav = Speech();  // 2.5 s
  AudioLimits l;
  l.max_seconds = 2;
  EXPECT_EQ(Decode(wav, l).status().code(), StatusCode::kResourceExhausted);
  l.max_seconds = 2.5;
  EXPECT_TRUE(Decode(wav, l).ok());
  l = AudioLimits();
  l.max_bytes = 1000;
  EXPECT_EQ(Decode(wav, l).status().code(), StatusCode::kResourceExhausted);
  l = AudioLimits();
  l.max_seconds = std::nan("");
  EXPECT_EQ(Decode(wav, l).status().code(), StatusCode::kInvalidArgument);
  for (uint32_t rate : {500u, 400000u}) {
    std::string bad = wav;
    Put32(&bad, 24, rate);
    EXPECT_EQ(Decode(bad).status().code(), StatusCode::kInvalidArgument)
        << rate;
  }
}

TEST(AudioDecodeTest, EveryPrefixAndByteFlipIsSafe) {
  // No crash, no hang, and never success on a cut file.
  const std::string wav =
      ReadBytes(TestData("multimodal/extra/pcm_s16_3ch_16k.wav"));
  ASSERT_FALSE(wav.empty());
  for (size_t n = 0; n < wav.size(); ++n)
    EXPECT_FALSE(Decode(wav.substr(0, n)).ok()) << n;
  for (size_t i = 0; i < wav.size(); ++i) {
    for (int x : {0x01, 0x80, 0xFF}) {
      std::string b = wav;
      b[i] = static_cast<char>(b[i] ^ x);
      auto r = Decode(b);
      if (r.ok()) {
        EXPECT_LE(r->samples.size(), 100000u);
      }
    }
  }
}

// -------------------------------------------------------------- resampling

TEST(AudioResampleTest, LengthsAndErrors) {
  std::vector<float> x(44100, 0.0f);
  struct {
    int rate;
    size_t n, want;
  } cases[] = {{44100, 44100, 16000}, {48000, 48000, 16000},
               {8000, 8000, 16000},   {22050, 1000, 726},
               {48000, 5, 2},         {11025, 7, 10}};
  for (const auto& c : cases) {
    auto r = ResampleTo16k(x.data(), c.n, c.rate);
    ASSERT_TRUE(r.ok()) << c.rate;
    EXPECT_EQ(r->size(), c.want) << c.rate << " " << c.n;
  }
  auto empty = ResampleTo16k(x.data(), 0, 44100);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  for (int rate : {0, -16000, 999, 400000})
    EXPECT_EQ(ResampleTo16k(x.data(), x.size(), rate).status().code(),
              StatusCode::kInvalidArgument)
        << rate;
}

TEST(AudioResampleTest, SineStaysInPhase) {
  // 1 kHz at 48 kHz -> 1 kHz at 16 kHz: soxr compensates its delay.
  const double pi = std::acos(-1.0);
  std::vector<float> x(48000);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(0.5 * std::sin(2 * pi * 1000 * i / 48000.0));
  auto y = ResampleTo16k(x.data(), x.size(), 48000);
  ASSERT_TRUE(y.ok());
  ASSERT_EQ(y->size(), 16000u);
  double max_err = 0;
  for (size_t i = 1000; i < 15000; ++i)
    max_err = std::max(
        max_err,
        std::fabs((*y)[i] - 0.5 * std::sin(2 * pi * 1000 * i / 16000.0)));
  EXPECT_LT(max_err, 1e-3);
}

// ----------------------------------------------------------------- log-mel

void CheckGoldenMel(const std::string& golden_case, int want_frames) {
  const std::vector<float> wave =
      ReadF32(TestData("multimodal/audio/" + golden_case + "/wave16k.f32"));
  ASSERT_FALSE(wave.empty());
  const MelFeatures m = LogMel(wave.data(), wave.size());
  ASSERT_EQ(m.frames, want_frames);
  ASSERT_EQ(m.mel.size(), static_cast<size_t>(want_frames) * kMelBins);
  ASSERT_EQ(m.valid.size(), static_cast<size_t>(want_frames));
  for (int f = 0; f < m.frames; ++f) {
    EXPECT_EQ(m.valid[f], 1);
    // Filter 0 holds no FFT bin: exactly ln(0.001).
    EXPECT_EQ(m.mel[f * kMelBins], kLogFloor) << f;
  }
  const MelDiff d = CompareMel(m, golden_case);
  EXPECT_EQ(d.rows, want_frames);
  EXPECT_LE(d.max, 1e-3);
  std::printf("%s: %d rows, mel max|d| %.3g mean|d| %.3g\n",
              golden_case.c_str(), d.rows, d.max, d.mean);
}

TEST(AudioLogMelTest, SpeechMatchesGolden) {
  // The golden has 250 rows; the last comes from HF's padding to a
  // multiple of 128 samples and is masked.
  CheckGoldenMel("speech_16k_mono", 249);
}

TEST(AudioLogMelTest, ToneMatchesGolden) {
  CheckGoldenMel("tone_44k1_stereo", 99);
}

TEST(AudioLogMelTest, FrameCounts) {
  std::vector<float> x(1000, 0.25f);
  EXPECT_EQ(LogMel(nullptr, 0).frames, 0);
  EXPECT_EQ(LogMel(x.data(), 0).frames, 0);
  EXPECT_EQ(LogMel(x.data(), 160).frames, 0);
  EXPECT_EQ(LogMel(x.data(), 161).frames, 1);
  EXPECT_EQ(LogMel(x.data(), 320).frames, 1);
  EXPECT_EQ(LogMel(x.data(), 321).frames, 2);
  const MelFeatures silent = LogMel(std::vector<float>(16000).data(), 16000);
  EXPECT_EQ(silent.frames, 99);
  for (float v : silent.mel) ASSERT_EQ(v, kLogFloor);
}

TEST(AudioLogMelTest, ThirtySecondsIsFast) {
  std::vector<float> x(kAudioMaxSamples);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(0.3 * std::sin(i * 0.01) +
                              0.01 * ((i * 7919) % 1000) / 1000.0);
  const auto t0 = std::chrono::steady_clock::now();
  const MelFeatures m = LogMel(x.data(), x.size());
  const double ms = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - t0)
                        .count();
  EXPECT_EQ(m.frames, 2999);
  std::printf("LogMel 30 s: %.1f ms\n", ms);
  EXPECT_LT(ms, 1000.0);  // ~20 ms on one core; generous for loaded CI
}

TEST(AudioSoftTokensTest, Durations) {
  EXPECT_EQ(AudioSoftTokens(0), 0);
  EXPECT_EQ(AudioSoftTokens(160), 0);
  EXPECT_EQ(AudioSoftTokens(161), 1);
  EXPECT_EQ(AudioSoftTokens(8000), 13);     // 0.5 s
  EXPECT_EQ(AudioSoftTokens(16000), 25);    // 1 s
  EXPECT_EQ(AudioSoftTokens(32000), 50);    // 2 s
  EXPECT_EQ(AudioSoftTokens(40000), 63);    // 2.5 s
  EXPECT_EQ(AudioSoftTokens(160000), 250);  // 10 s
  EXPECT_EQ(AudioSoftTokens(480000), 750);  // 30 s
  EXPECT_EQ(AudioSoftTokens(496000), 750);  // 31 s: truncated to 30 s
}

}  // namespace
}  // namespace facet::media
