// facet encode: one image or audio clip through the model's encoder, the
// soft-token embeddings written as raw float32 (for checks against other
// implementations).
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "examples/cli/common.h"
#include "facet/encoder.h"

namespace facet::cli {
namespace {

Status WriteF32(const std::string& path, const std::vector<float>& v) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(v.data()),
            static_cast<std::streamsize>(v.size() * sizeof(float)));
  out.close();
  if (!out) {
    return Status(StatusCode::kInternal, "cannot write " + path);
  }
  return Status();
}

}  // namespace

int RunEncode(int argc, char** argv) {
  Args args;
  Status s = args.Parse(
      argc, argv, 2,
      {"-m", "-t", "--image", "--audio", "--budget", "--out", "--features-out"},
      {"--no-split"});
  if (!s.ok()) return Fail(s);
  const bool image = args.Has("--image"), audio = args.Has("--audio");
  if (!args.Has("-m") || image == audio || !args.Has("--out")) {
    return Fail(Status(StatusCode::kInvalidArgument,
                       "encode needs -m <model or tower folder | mmproj.gguf>, "
                       "one of --image <file> or --audio <file>, and --out "
                       "<emb.f32>"));
  }
  long long budget = 280, threads = 0;
  if (!(s = args.GetInt("--budget", 1, 1120, &budget)).ok()) return Fail(s);
  if (!(s = args.GetInt("-t", 0, 1024, &threads)).ok()) return Fail(s);
  EncoderOptions eo;
  eo.path = args.Get("-m");
  eo.num_threads = static_cast<int>(threads);
  StatusOr<std::unique_ptr<Encoder>> enc = Encoder::Create(eo);
  if (!enc.ok()) return Fail(enc.status());
  Part part = image ? Part::ImageFile(args.Get("--image"))
                    : Part::AudioFile(args.Get("--audio"));
  part.image_budget = static_cast<int>(budget);
  part.split_long_audio = !args.Has("--no-split");
  const bool features = args.Has("--features-out");
  StatusOr<Encoding> e = (*enc)->Encode(part, features);
  if (!e.ok()) return Fail(e.status());
  if (!(s = WriteF32(args.Get("--out"), e->embeddings)).ok()) return Fail(s);
  if (features) {
    if (!(s = WriteF32(args.Get("--features-out"), e->features)).ok()) {
      return Fail(s);
    }
  }
  if (image) {
    std::printf("resized %dx%d (width x height), %d soft tokens x %d\n",
                e->resized_width, e->resized_height, e->soft_tokens, e->width);
  } else {
    std::printf("%d soft tokens x %d (%d feature frames)\n", e->soft_tokens,
                e->width, e->feature_rows);
  }
  if (features) {
    std::printf("features %d x %d\n", e->feature_rows, e->feature_cols);
  }
  return 0;
}

}  // namespace facet::cli
