// facet::Encoder: the model's media encoders without a text model.
#include "facet/encoder.h"

#include <algorithm>
#include <thread>

#include "kernels/parallel.h"
#include "src/engine/media_encoder.h"
#include "src/engine/media_input.h"
#include "src/media/image.h"
#include "src/util/no_throw.h"
#include "src/util/status_macros.h"

namespace facet {

struct Encoder::Impl {
  std::unique_ptr<MediaEncoder> encoder;
  std::unique_ptr<kernels::ThreadPool> pool;
};

Encoder::Encoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Encoder::~Encoder() = default;

StatusOr<std::unique_ptr<Encoder>> Encoder::Create(
    const EncoderOptions& options) {
  return CatchAll(
      "Encoder::Create", [&]() -> StatusOr<std::unique_ptr<Encoder>> {
        if (options.path.empty())
          return InvalidArgument("EncoderOptions.path is empty");
        if (options.num_threads < 0 || options.num_threads > 1024) {
          return InvalidArgument("num_threads must be in 0..1024, got " +
                                 std::to_string(options.num_threads));
        }
        auto impl = std::make_unique<Impl>();
        FACET_ASSIGN_OR_RETURN(impl->encoder, LoadMediaEncoder(options.path));
        const int cores =
            static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        int threads = options.num_threads;
        if (threads == 0 || threads > cores) threads = cores;
        if (threads > 1) {
          impl->pool = kernels::ThreadPool::Create(threads);
          if (impl->pool == nullptr) {
            return Internal("cannot start " + std::to_string(threads - 1) +
                            " worker threads");
          }
        }
        return std::unique_ptr<Encoder>(new Encoder(std::move(impl)));
      });
}

bool Encoder::has_vision() const { return impl_->encoder->has_vision(); }
bool Encoder::has_audio() const { return impl_->encoder->has_audio(); }
int Encoder::width() const { return impl_->encoder->text_hidden(); }

StatusOr<Encoding> Encoder::Encode(const Part& part, bool keep_features) const {
  return CatchAll("Encoder::Encode", [&]() -> StatusOr<Encoding> {
    if (part.kind != Part::Kind::kImage && part.kind != Part::Kind::kAudio) {
      return InvalidArgument("Encoder::Encode takes an image or audio part");
    }
    FACET_RETURN_IF_ERROR(CheckMediaPart(part, "the part"));
    FACET_ASSIGN_OR_RETURN(
        EncodedMedia em,
        EncodeMediaPart(part, media::kDefaultImageBudget, *impl_->encoder,
                        impl_->pool.get(), keep_features));
    Encoding out;
    out.soft_tokens = em.soft_tokens;
    out.width = impl_->encoder->text_hidden();
    out.embeddings = std::move(em.embeddings);
    out.features = std::move(em.features);
    out.feature_rows = em.feature_rows;
    out.feature_cols = em.feature_cols;
    out.resized_width = em.resized_width;
    out.resized_height = em.resized_height;
    return out;
  });
}

}  // namespace facet
