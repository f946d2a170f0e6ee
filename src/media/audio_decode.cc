// Audio decoding through libsndfile, reading from memory via its virtual
// I/O interface, and downmixing to mono.
#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "src/media/audio.h"

namespace facet::media {
namespace {

// Sample rates accepted from a file header.
constexpr int kMinSampleRate = 1000;
constexpr int kMaxSampleRate = 384000;
// libsndfile's own channel limit (SF_MAX_CHANNELS).
constexpr int kMaxChannels = 1024;
// Interleaved floats read per sf_readf_float call (bounds the scratch
// buffer whatever the channel count).
constexpr sf_count_t kReadChunkSamples = 1 << 16;

// A read-only file in memory for SF_VIRTUAL_IO. A seek outside the data is
// clamped to [0, size], as in libsndfile's own OSS-Fuzz harness (the
// behaviour its parsers are fuzzed against).
struct MemoryFile {
  const uint8_t* data;
  sf_count_t size;
  sf_count_t pos;  // in [0, size]
};

sf_count_t VioLength(void* user) {
  return static_cast<MemoryFile*>(user)->size;
}

sf_count_t VioSeek(sf_count_t offset, int whence, void* user) {
  auto* f = static_cast<MemoryFile*>(user);
  sf_count_t base;
  switch (whence) {
    case SEEK_SET:
      base = 0;
      break;
    case SEEK_CUR:
      base = f->pos;
      break;
    case SEEK_END:
      base = f->size;
      break;
    default:
      return -1;
  }
  // base is in [0, size], so these tests cannot overflow.
  if (offset < -base)
    f->pos = 0;
  else if (offset > f->size - base)
    f->pos = f->size;
  else
    f->pos = base + offset;
  return f->pos;
}

sf_count_t VioRead(void* ptr, sf_count_t count, void* user) {
  auto* f = static_cast<MemoryFile*>(user);
  if (count <= 0) return 0;
  const sf_count_t n = std::min(count, f->size - f->pos);
  if (n <= 0) return 0;
  std::memcpy(ptr, f->data + f->pos, static_cast<size_t>(n));
  f->pos += n;
  return n;
}

sf_count_t VioWrite(const void*, sf_count_t, void*) { return 0; }

sf_count_t VioTell(void* user) { return static_cast<MemoryFile*>(user)->pos; }

bool StartsWith(const uint8_t* data, size_t size, size_t at, const char* tag) {
  const size_t n = std::strlen(tag);
  return size >= at + n && std::memcmp(data + at, tag, n) == 0;
}

// Only the mainstream containers reach libsndfile: its parsers for rare
// formats (PAF, SD2, XI, ...) see little real-world use, and garbage must
// never be guessed into one of them.
bool KnownContainer(const uint8_t* d, size_t n) {
  const bool riff = StartsWith(d, n, 0, "RIFF") || StartsWith(d, n, 0, "RIFX");
  if (riff && StartsWith(d, n, 8, "WAVE")) return true;  // WAV, WAVEX
  if (StartsWith(d, n, 0, "RF64")) return true;
  if (StartsWith(d, n, 0, "riff")) return true;  // Wave64 GUID prefix
  if (StartsWith(d, n, 0, "FORM") &&
      (StartsWith(d, n, 8, "AIFF") || StartsWith(d, n, 8, "AIFC")))
    return true;
  if (StartsWith(d, n, 0, ".snd") || StartsWith(d, n, 0, "dns.")) return true;
  if (StartsWith(d, n, 0, "caff")) return true;
  if (StartsWith(d, n, 0, "fLaC")) return true;
  if (StartsWith(d, n, 0, "OggS")) return true;
  if (StartsWith(d, n, 0, "ID3")) return true;             // MP3 with a tag
  return n >= 2 && d[0] == 0xFF && (d[1] & 0xE0) == 0xE0;  // MPEG frame sync
}

uint32_t Load32(const uint8_t* p, bool big_endian) {
  return big_endian ? (uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 |
                       uint32_t{p[2]} << 8 | p[3])
                    : (uint32_t{p[3]} << 24 | uint32_t{p[2]} << 16 |
                       uint32_t{p[1]} << 8 | p[0]);
}

// True when a WAV or AIFF file's sample chunk claims more bytes than the
// file holds. libsndfile silently decodes what is there; a cut-off
// download should be reported instead. 0xFFFFFFFF is the "length unknown"
// mark of streaming writers and is accepted.
bool ChunkTruncated(const uint8_t* d, size_t n) {
  const bool riff =
      (StartsWith(d, n, 0, "RIFF") || StartsWith(d, n, 0, "RIFX")) &&
      StartsWith(d, n, 8, "WAVE");
  const bool aiff =
      StartsWith(d, n, 0, "FORM") &&
      (StartsWith(d, n, 8, "AIFF") || StartsWith(d, n, 8, "AIFC"));
  if (!riff && !aiff) return false;
  const bool big_endian = aiff || d[3] == 'X';
  const char* data_id = aiff ? "SSND" : "data";
  size_t off = 12;
  while (off + 8 <= n) {
    const uint64_t len = Load32(d + off + 4, big_endian);
    if (std::memcmp(d + off, data_id, 4) == 0)
      return len != 0xFFFFFFFFu && len > n - (off + 8);
    // Chunks are padded to an even length.
    off += 8 + static_cast<size_t>(len) + (len & 1);
  }
  return false;  // no sample chunk: libsndfile reports that itself
}

bool SupportedEncoding(int format) {
  switch (format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8:
    case SF_FORMAT_PCM_U8:
    case SF_FORMAT_PCM_16:
    case SF_FORMAT_PCM_24:
    case SF_FORMAT_PCM_32:
    case SF_FORMAT_FLOAT:
    case SF_FORMAT_DOUBLE:
    case SF_FORMAT_ULAW:
    case SF_FORMAT_ALAW:
    case SF_FORMAT_IMA_ADPCM:
    case SF_FORMAT_MS_ADPCM:
    case SF_FORMAT_GSM610:
    case SF_FORMAT_VORBIS:
    case SF_FORMAT_OPUS:
    case SF_FORMAT_MPEG_LAYER_I:
    case SF_FORMAT_MPEG_LAYER_II:
    case SF_FORMAT_MPEG_LAYER_III:
    case SF_FORMAT_ALAC_16:
    case SF_FORMAT_ALAC_20:
    case SF_FORMAT_ALAC_24:
    case SF_FORMAT_ALAC_32:
      return true;
    default:
      return false;
  }
}

class SndFileCloser {
 public:
  explicit SndFileCloser(SNDFILE* f) : f_(f) {}
  ~SndFileCloser() { sf_close(f_); }
  SndFileCloser(const SndFileCloser&) = delete;
  SndFileCloser& operator=(const SndFileCloser&) = delete;

 private:
  SNDFILE* f_;
};

}  // namespace

StatusOr<AudioClip> DecodeAudio(const uint8_t* data, size_t size,
                                const AudioLimits& limits) {
  if (data == nullptr || size == 0)
    return Status(StatusCode::kInvalidArgument, "audio: empty input");
  if (!(limits.max_seconds > 0) || !std::isfinite(limits.max_seconds) ||
      limits.max_bytes <= 0)
    return Status(StatusCode::kInvalidArgument, "audio: bad limits");
  if (size > static_cast<uint64_t>(limits.max_bytes))
    return Status(StatusCode::kResourceExhausted,
                  "audio: file of " + std::to_string(size) +
                      " bytes is over the limit of " +
                      std::to_string(limits.max_bytes));
  if (size > static_cast<uint64_t>(std::numeric_limits<sf_count_t>::max()))
    return Status(StatusCode::kResourceExhausted, "audio: file too large");
  if (!KnownContainer(data, size))
    return Status(StatusCode::kInvalidArgument,
                  "audio: not a WAV, AIFF, AU, CAF, FLAC, Ogg or MP3 file");

  MemoryFile mem{data, static_cast<sf_count_t>(size), 0};
  SF_VIRTUAL_IO vio{VioLength, VioSeek, VioRead, VioWrite, VioTell};
  SF_INFO info;
  std::memset(&info, 0, sizeof(info));
  SNDFILE* sf = sf_open_virtual(&vio, SFM_READ, &info, &mem);
  if (sf == nullptr) {
    const int err = sf_error(nullptr);
    // The container magic matched, so a failed open means a broken header,
    // except for an encoding libsndfile does not decode.
    const StatusCode code = err == SF_ERR_UNSUPPORTED_ENCODING
                                ? StatusCode::kInvalidArgument
                                : StatusCode::kDataLoss;
    return Status(code,
                  std::string("audio: cannot open: ") + sf_error_number(err));
  }
  SndFileCloser closer(sf);

  if (!SupportedEncoding(info.format)) {
    char hex[16];
    std::snprintf(hex, sizeof(hex), "%x", info.format & SF_FORMAT_SUBMASK);
    return Status(StatusCode::kInvalidArgument,
                  std::string("audio: unsupported encoding 0x") + hex);
  }
  if (info.channels <= 0 || info.channels > kMaxChannels)
    return Status(StatusCode::kDataLoss,
                  "audio: bad channel count " + std::to_string(info.channels));
  if (info.samplerate < kMinSampleRate || info.samplerate > kMaxSampleRate)
    return Status(
        StatusCode::kInvalidArgument,
        "audio: unsupported sample rate " + std::to_string(info.samplerate));
  if (info.frames < 0)
    return Status(StatusCode::kDataLoss, "audio: negative frame count");

  // The duration limit, checked against the header before anything is
  // allocated, then again while reading (a stream may not know its length).
  const double max_frames_d = limits.max_seconds * info.samplerate;
  const sf_count_t max_frames = max_frames_d >= 9e18
                                    ? std::numeric_limits<sf_count_t>::max()
                                    : static_cast<sf_count_t>(max_frames_d);
  // SF_COUNT_MAX means "unknown length" (e.g. some streamed formats); an
  // MP3 without a Xing/LAME header only has an estimate from its bitrate.
  // Such streams are read to their end, under the limit.
  const bool length_known =
      info.frames != std::numeric_limits<sf_count_t>::max() &&
      (info.format & SF_FORMAT_TYPEMASK) != SF_FORMAT_MPEG;
  auto too_long = [&] {
    char msg[64];
    std::snprintf(msg, sizeof(msg), "audio: longer than the limit of %g s",
                  limits.max_seconds);
    return Status(StatusCode::kResourceExhausted, msg);
  };
  if (length_known && info.frames > max_frames) return too_long();

  if (ChunkTruncated(data, size))
    return Status(StatusCode::kDataLoss,
                  "audio: truncated: the sample chunk runs past the end");

  const int ch = info.channels;
  const sf_count_t chunk_frames =
      std::max<sf_count_t>(1, kReadChunkSamples / ch);
  std::vector<float> interleaved(
      static_cast<size_t>(chunk_frames * ch));  // [chunk][ch]
  AudioClip clip;
  clip.sample_rate = info.samplerate;
  // The header's length is only a hint: never reserve more than ~16 MiB
  // from it, the vector grows with what is really decoded.
  if (length_known)
    clip.samples.reserve(
        static_cast<size_t>(std::min<sf_count_t>(info.frames, 1 << 22)));
  for (;;) {
    sf_count_t want = chunk_frames;
    if (length_known)
      want = std::min<sf_count_t>(
          want, info.frames - static_cast<sf_count_t>(clip.samples.size()));
    if (want <= 0) break;
    const sf_count_t got = sf_readf_float(sf, interleaved.data(), want);
    if (got <= 0) break;
    if (static_cast<sf_count_t>(clip.samples.size()) + got > max_frames)
      return too_long();
    const size_t start = clip.samples.size();
    clip.samples.resize(start + static_cast<size_t>(got));
    for (sf_count_t i = 0; i < got; ++i) {
      const float* fr = &interleaved[static_cast<size_t>(i * ch)];
      float v;
      if (ch == 1) {
        v = fr[0];
      } else {
        // The mean in double (exact for 16-bit stereo), then float32.
        double s = 0;
        for (int c = 0; c < ch; ++c) s += fr[c];
        v = static_cast<float>(s / ch);
      }
      // Float files may hold NaN/Inf; they would poison every feature.
      clip.samples[start + static_cast<size_t>(i)] =
          std::isfinite(v) ? v : 0.0f;
    }
  }
  if (sf_error(sf) != SF_ERR_NO_ERROR)
    return Status(StatusCode::kDataLoss,
                  std::string("audio: decoding failed: ") + sf_strerror(sf));
  if (length_known &&
      static_cast<sf_count_t>(clip.samples.size()) < info.frames)
    return Status(StatusCode::kDataLoss,
                  "audio: truncated: " + std::to_string(clip.samples.size()) +
                      " of " + std::to_string(info.frames) + " frames");
  if (clip.samples.empty())
    return Status(StatusCode::kInvalidArgument, "audio: no samples");
  return clip;
}

}  // namespace facet::media
