// The Gemma 4 audio encoder (gemma4-multimodal spec 3.3; golden README §4
// "Audio tower"): SSCP, conformer layers, output_proj and embed_audio, in
// f32 activations. Weights are used in place from the mapped checkpoint
// (f32 / bf16 / f16, or any type MatMul takes in a GGUF); only the small
// tensors are copied to f32 at load.
#include "models/gemma4/audio_tower.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "kernels/dtype.h"
#include "kernels/kernels.h"
#include "kernels/ref/quant.h"
#include "src/io/gguf.h"
#include "src/io/hf_folder.h"
#include "src/io/tensor_matrix.h"
#include "src/io/tensor_view.h"
#include "src/util/status_macros.h"

namespace facet::gemma4 {
namespace {

using json = nlohmann::json;
using kernels::Matrix;
using kernels::ThreadPool;

// The longest input: 30 s of features (2999 frames, or 3000 with HF's
// padding to a multiple of 128 samples), which give 750 soft tokens.
constexpr int kMaxFrames = 3000;
// The SSCP convolutions are 3x3, stride 2, padding 1 (fixed in HF).
constexpr int kSscpTaps = 9;
constexpr float kInf = std::numeric_limits<float>::infinity();

// A linear layer without bias whose input and output are clamped to
// learned bounds (HF Gemma4ClippableLinear); a missing bound is no clamp.
struct Linear {
  Matrix w;  // [out][in]
  float in_min = -kInf, in_max = kInf, out_min = -kInf, out_max = kInf;
  bool clip_in() const { return in_min > -kInf || in_max < kInf; }
  bool clip_out() const { return out_min > -kInf || out_max < kInf; }
};

struct Layer {
  std::vector<float> ffn1_pre, ffn1_post, ffn2_pre, ffn2_post;  // [hidden]
  Linear ffn1_up, ffn1_down, ffn2_up, ffn2_down;
  std::vector<float> attn_pre, attn_post, norm_out;  // [hidden]
  Linear q, k, v, post;
  // [head_dim]: head_dim^-0.5 / ln 2 * softplus(per_dim_scale).
  std::vector<float> q_scale;
  // [past + future + 1][hidden]: relative_k_proj(pe(d)) in row d + future,
  // for distances d = t - s from -future to past (input independent, so
  // computed once at load).
  std::vector<float> rel;
  std::vector<float> conv_pre, conv_norm;  // [hidden]
  Linear conv_start, conv_end;
  std::vector<float> dw;  // [hidden][kernel]
};

Matrix F32Mat(const std::vector<float>& w, int64_t rows, int64_t cols) {
  Matrix m;
  m.dtype = kernels::DType::kF32;
  m.rows = rows;
  m.cols = cols;
  m.row_bytes = cols * 4;
  m.data = reinterpret_cast<const uint8_t*>(w.data());
  return m;
}

// The shape without its size-1 dimensions, so that HF's [C, 1, 5] and the
// GGUF's [C, 5] (or a 0-d scalar and a [1] tensor) compare equal.
std::vector<int64_t> Squeezed(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s;
  for (int64_t d : shape) {
    if (d != 1) s.push_back(d);
  }
  return s;
}

// --- Config --------------------------------------------------------------

Status ReadInt(const json& o, const char* key, int lo, int hi, int* out) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return OkStatus();  // HF default
  if (!it->is_number_integer() || it->get<int64_t>() < lo ||
      it->get<int64_t>() > hi) {
    return InvalidArgument("config.json: audio_config." + std::string(key) +
                           " must be an integer in [" + std::to_string(lo) +
                           ", " + std::to_string(hi) + "]");
  }
  *out = static_cast<int>(it->get<int64_t>());
  return OkStatus();
}

Status ReadFloat(const json& o, const char* key, double lo, double hi,
                 float* out) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return OkStatus();
  if (!it->is_number() || !(it->get<double>() >= lo) ||
      !(it->get<double>() <= hi)) {
    return InvalidArgument("config.json: audio_config." + std::string(key) +
                           " must be a number in [" + std::to_string(lo) +
                           ", " + std::to_string(hi) + "]");
  }
  *out = static_cast<float>(it->get<double>());
  return OkStatus();
}

// HF's Gemma4AudioConfig defaults (E2B/E4B) fill absent keys.
Status ParseHfConfig(const std::string& text, AudioConfig* c) {
  const json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    return DataLoss("config.json is not a JSON object");
  }
  auto ac_it = root.find("audio_config");
  if (ac_it == root.end() || ac_it->is_null()) {
    return NotFound("config.json has no audio_config");
  }
  if (!ac_it->is_object()) {
    return InvalidArgument("config.json: audio_config must be an object");
  }
  const json& ac = *ac_it;
  c->hidden = 1024;
  c->layers = 12;
  c->heads = 8;
  c->sscp_channels0 = 128;
  c->sscp_channels1 = 32;
  c->output_dims = 1536;
  FACET_RETURN_IF_ERROR(ReadInt(ac, "hidden_size", 2, 16384, &c->hidden));
  FACET_RETURN_IF_ERROR(ReadInt(ac, "num_hidden_layers", 1, 256, &c->layers));
  FACET_RETURN_IF_ERROR(ReadInt(ac, "num_attention_heads", 1, 1024, &c->heads));
  FACET_RETURN_IF_ERROR(
      ReadInt(ac, "conv_kernel_size", 1, 64, &c->conv_kernel));
  FACET_RETURN_IF_ERROR(
      ReadInt(ac, "attention_chunk_size", 1, 4096, &c->chunk_size));
  FACET_RETURN_IF_ERROR(
      ReadInt(ac, "attention_context_left", 1, 4096, &c->context_left));
  FACET_RETURN_IF_ERROR(
      ReadInt(ac, "attention_context_right", 0, 4096, &c->context_right));
  FACET_RETURN_IF_ERROR(
      ReadInt(ac, "output_proj_dims", 1, 65536, &c->output_dims));
  FACET_RETURN_IF_ERROR(
      ReadFloat(ac, "residual_weight", -1e6, 1e6, &c->residual_weight));
  FACET_RETURN_IF_ERROR(
      ReadFloat(ac, "attention_logit_cap", 1e-6, 1e30, &c->logit_cap));
  FACET_RETURN_IF_ERROR(ReadFloat(ac, "attention_invalid_logits_value", -1e38,
                                  0, &c->invalid_logit));
  FACET_RETURN_IF_ERROR(ReadFloat(ac, "rms_norm_eps", 1e-30, 1, &c->rms_eps));
  auto ch = ac.find("subsampling_conv_channels");
  if (ch != ac.end() && !ch->is_null()) {
    if (!ch->is_array() || ch->size() != 2 || !(*ch)[0].is_number_integer() ||
        !(*ch)[1].is_number_integer() || (*ch)[0].get<int64_t>() < 1 ||
        (*ch)[0].get<int64_t>() > 4096 || (*ch)[1].get<int64_t>() < 1 ||
        (*ch)[1].get<int64_t>() > 4096) {
      return InvalidArgument(
          "config.json: audio_config.subsampling_conv_channels must be two "
          "integers in [1, 4096]");
    }
    c->sscp_channels0 = static_cast<int>((*ch)[0].get<int64_t>());
    c->sscp_channels1 = static_cast<int>((*ch)[1].get<int64_t>());
  }
  auto clip = ac.find("use_clipped_linears");
  if (clip != ac.end() && !clip->is_null()) {
    if (!clip->is_boolean()) {
      return InvalidArgument(
          "config.json: audio_config.use_clipped_linears must be a boolean");
    }
    c->clipped_linears = clip->get<bool>();
  }
  auto act = ac.find("hidden_act");
  if (act != ac.end() && !act->is_null()) {
    const std::string a = act->is_string() ? act->get<std::string>() : "";
    if (a != "silu" && a != "swish") {
      return Unimplemented(
          "config.json: audio_config.hidden_act must be \"silu\" (the Gemma 4 "
          "audio encoder's activation)");
    }
  }
  c->ffn = 4 * c->hidden;  // HF sizes the conformer FFN as 4 * hidden
  auto tc = root.find("text_config");
  if (tc != root.end() && tc->is_object()) {
    auto th = tc->find("hidden_size");
    if (th != tc->end() && !th->is_null()) {
      if (!th->is_number_integer() || th->get<int64_t>() < 1 ||
          th->get<int64_t>() > 65536) {
        return InvalidArgument(
            "config.json: text_config.hidden_size must be an integer in "
            "[1, 65536]");
      }
      c->text_hidden = static_cast<int>(th->get<int64_t>());
    }
  }
  return OkStatus();
}

Status CheckConfig(const AudioConfig& c) {
  if (c.hidden % c.heads != 0) {
    return InvalidArgument("audio hidden_size " + std::to_string(c.hidden) +
                           " is not a multiple of num_attention_heads " +
                           std::to_string(c.heads));
  }
  if (!(c.invalid_logit < -(c.logit_cap + 200.f))) {
    // Masked logits then get exactly zero weight (exp underflows), which
    // lets attention skip them instead of emulating HF's blocked window.
    return Unimplemented(
        "audio_config.attention_invalid_logits_value must lie far below "
        "-attention_logit_cap (Gemma 4: -1e9)");
  }
  if (c.hidden % 2 != 0) {
    // The relative position embedding is [sin | cos] of hidden / 2
    // timescales and feeds relative_k_proj (hidden wide).
    return InvalidArgument("audio hidden_size must be even, got " +
                           std::to_string(c.hidden));
  }
  return OkStatus();
}

// --- Tensors -------------------------------------------------------------

// Finds tensors by their HF or llama.cpp mmproj name and checks them.
class Loader {
 public:
  Loader(const HfFolder* hf, const GgufFile* gguf) : hf_(hf), gguf_(gguf) {}

  bool gguf() const { return gguf_ != nullptr; }

  const TensorView* Find(const std::string& name) const {
    return hf_ != nullptr ? hf_->Find(name) : gguf_->FindTensor(name);
  }

  // `shape` in ggml order, compared without size-1 dimensions.
  Status Get(const std::string& name, const std::vector<int64_t>& shape,
             const TensorView** out) const {
    const TensorView* t = Find(name);
    if (t == nullptr) {
      return DataLoss("audio tower tensor '" + name +
                      "' is missing from the checkpoint");
    }
    if (Squeezed(t->shape) != Squeezed(shape)) {
      return InvalidArgument("audio tower tensor '" + name + "' has shape " +
                             ShapeString(t->shape) + ", expected " +
                             ShapeString(shape));
    }
    const kernels::DTypeInfo* info = kernels::GetDTypeInfo(t->dtype);
    if (info == nullptr || !info->supported ||
        t->dim(0) % info->block_elems != 0) {
      return Unimplemented("audio tower tensor '" + name + "' has type " +
                           kernels::DTypeName(t->dtype) +
                           ", which facet cannot compute with here");
    }
    *out = t;
    return OkStatus();
  }

  Status F32(const std::string& name, const std::vector<int64_t>& shape,
             std::vector<float>* out) const {
    const TensorView* t = nullptr;
    FACET_RETURN_IF_ERROR(Get(name, shape, &t));
    out->resize(static_cast<size_t>(t->elements()));
    kernels::DequantizeRow(t->dtype, t->data, out->data(), t->elements());
    return OkStatus();
  }

  Status Vec(const std::string& name, int64_t n,
             std::vector<float>* out) const {
    return F32(name, {n}, out);
  }

  // A [rows][cols] weight (PyTorch order) used in place.
  Status Mat(const std::string& name, int64_t rows, int64_t cols,
             Matrix* out) const {
    const TensorView* t = nullptr;
    FACET_RETURN_IF_ERROR(Get(name, {cols, rows}, &t));
    if (t->shape.size() != 2) {
      return InvalidArgument("audio tower tensor '" + name + "' has shape " +
                             ShapeString(t->shape) + ", expected a matrix");
    }
    *out = MatrixOf(t);
    return OkStatus();
  }

  // An optional scalar bound; absent leaves *v unchanged.
  Status Bound(const std::string& name, float* v) const {
    if (Find(name) == nullptr) return OkStatus();
    std::vector<float> x;
    FACET_RETURN_IF_ERROR(F32(name, {}, &x));
    if (std::isnan(x[0])) {
      return InvalidArgument("audio tower tensor '" + name + "' is NaN");
    }
    *v = x[0];
    return OkStatus();
  }

  // A clipped linear at `base` (HF: base.linear.weight; GGUF:
  // base.weight), with its bounds when `clipped`.
  Status Clipped(const std::string& base, int64_t rows, int64_t cols,
                 bool clipped, Linear* l) const {
    FACET_RETURN_IF_ERROR(
        Mat(base + (gguf() ? ".weight" : ".linear.weight"), rows, cols, &l->w));
    if (!clipped) return OkStatus();
    FACET_RETURN_IF_ERROR(Bound(base + ".input_min", &l->in_min));
    FACET_RETURN_IF_ERROR(Bound(base + ".input_max", &l->in_max));
    FACET_RETURN_IF_ERROR(Bound(base + ".output_min", &l->out_min));
    FACET_RETURN_IF_ERROR(Bound(base + ".output_max", &l->out_max));
    return OkStatus();
  }

 private:
  const HfFolder* hf_;
  const GgufFile* gguf_;
};

// Tensor names: the HF name (under model.audio_tower.) or the llama.cpp
// mmproj name (spec 5.2).
struct Names {
  bool gguf;
  std::string Top(const char* hf, const char* gg) const {
    return gguf ? std::string(gg) : "model.audio_tower." + std::string(hf);
  }
  std::string Blk(int i, const char* hf, const char* gg) const {
    return gguf ? "a.blk." + std::to_string(i) + "." + gg
                : "model.audio_tower.layers." + std::to_string(i) + "." + hf;
  }
};

double Softplus(double x) { return x > 20 ? x : std::log1p(std::exp(x)); }

// --- Compute helpers -----------------------------------------------------

// fn over row ranges of [0, rows), in tiles of about `tile` rows.
void ForRows(ThreadPool* pool, int64_t rows, int64_t tile,
             const std::function<void(int64_t, int64_t)>& fn) {
  kernels::ParallelFor(pool, static_cast<size_t>(rows),
                       static_cast<size_t>(std::max<int64_t>(1, tile)),
                       [&](size_t b, size_t e) {
                         fn(static_cast<int64_t>(b), static_cast<int64_t>(e));
                       });
}

void RmsNorm(const float* x, const float* w, float* out, int64_t rows,
             int64_t n, float eps, ThreadPool* pool) {
  const auto fn = kernels::Kernels().rms_norm;
  ForRows(pool, rows, 32, [&](int64_t b, int64_t e) {
    fn(x + b * n, w, out + b * n, e - b, n, eps);
  });
}

void Clamp(float* x, int64_t n, float lo, float hi) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::min(std::max(x[i], lo), hi);
}

// y[n][rows] = clamp(clamp(x, in) W^T, out); scratch holds n * cols.
void ApplyLinear(const Linear& l, const float* x, int64_t n, float* y,
                 float* scratch, ThreadPool* pool) {
  const int64_t cols = l.w.cols, rows = l.w.rows;
  const float* in = x;
  if (l.clip_in()) {
    ForRows(pool, n, 32, [&](int64_t b, int64_t e) {
      std::memcpy(scratch + b * cols, x + b * cols,
                  static_cast<size_t>((e - b) * cols) * 4);
      Clamp(scratch + b * cols, (e - b) * cols, l.in_min, l.in_max);
    });
    in = scratch;
  }
  kernels::MatMul(l.w, in, n, y, pool);
  if (l.clip_out()) {
    ForRows(pool, n, 32, [&](int64_t b, int64_t e) {
      Clamp(y + b * rows, (e - b) * rows, l.out_min, l.out_max);
    });
  }
}

void SiluInPlace(float* x, int64_t n, ThreadPool* pool) {
  constexpr int64_t kTile = 16384;
  ForRows(pool, (n + kTile - 1) / kTile, 1, [&](int64_t b, int64_t e) {
    const int64_t i1 = std::min(n, e * kTile);
    for (int64_t i = b * kTile; i < i1; ++i)
      x[i] = x[i] / (1.f + std::exp(-x[i]));
  });
}

// LayerNorm over n channels (mean-subtracting, weight, no bias), then ReLU.
void LayerNormRelu(float* x, const float* w, int64_t n, float eps) {
  double mean = 0;
  for (int64_t i = 0; i < n; ++i) mean += x[i];
  mean /= static_cast<double>(n);
  double var = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = x[i] - mean;
    var += d * d;
  }
  var /= static_cast<double>(n);
  const double inv = 1.0 / std::sqrt(var + eps);
  for (int64_t i = 0; i < n; ++i) {
    const float y = static_cast<float>((x[i] - mean) * inv) * w[i];
    x[i] = y > 0.f ? y : 0.f;
  }
}

// --- The tower -----------------------------------------------------------

class AudioTowerImpl final : public AudioTower {
 public:
  const AudioConfig& config() const override { return cfg_; }

  Status Encode(const media::MelFeatures& mel, ThreadPool* pool,
                std::vector<float>* embeddings,
                std::vector<float>* tower_out) const override {
    return EncodeWithTaps(mel, pool, embeddings, tower_out, nullptr);
  }

  Status EncodeWithTaps(const media::MelFeatures& mel, ThreadPool* pool,
                        std::vector<float>* embeddings,
                        std::vector<float>* tower_out,
                        AudioTaps* taps) const override;

  Status LoadWeights(const Loader& ld);

  AudioConfig cfg_;
  std::unique_ptr<HfFolder> hf_;
  std::unique_ptr<GgufFile> gguf_;

 private:
  // The SSCP up to input_proj_linear: h [t2][hidden] from the features.
  void Sscp(const media::MelFeatures& mel, const std::vector<uint8_t>& mask1,
            int t1n, int t2n, float* h, ThreadPool* pool) const;
  void Attention(const Layer& l, const float* x, const uint8_t* mask, int n,
                 float* q, float* k, float* v, float* o, float* scratch,
                 ThreadPool* pool) const;

  int f1_ = 0, f2_ = 0;       // frequency bins after each SSCP conv
  std::vector<float> conv0_;  // [9][C0], tap kh * 3 + kw
  std::vector<float> norm0_;  // [C0]
  std::vector<float> conv1_;  // [C1][9 * C0], column (kh * 3 + kw) * C0 + ci
  std::vector<float> norm1_;  // [C1]
  Matrix input_proj_;         // [hidden][f2 * C1]
  std::vector<Layer> layers_;
  Matrix output_proj_;                // [output_dims][hidden]
  std::vector<float> output_bias_;    // [output_dims]
  std::vector<float> soft_emb_norm_;  // [output_dims], mmproj only, optional
  Matrix embed_;                      // [text_hidden][output_dims]
};

Status AudioTowerImpl::LoadWeights(const Loader& ld) {
  AudioConfig& c = cfg_;
  const Names nm{ld.gguf()};
  const int64_t H = c.hidden, C0 = c.sscp_channels0, C1 = c.sscp_channels1;
  const int64_t hd = c.head_dim;
  f1_ = (media::kMelBins - 1) / 2 + 1;
  f2_ = (f1_ - 1) / 2 + 1;
  // HF sizes input_proj_linear as (channels[0] / 4) * channels[1]; the
  // flattened SSCP output is (128 mel bins / 4) * channels[1]. They agree
  // only for channels[0] = 128, as in every Gemma 4 checkpoint.
  const int64_t flat = static_cast<int64_t>(f2_) * C1;
  if (!ld.gguf() && (C0 / 4) * C1 != flat) {
    return InvalidArgument(
        "audio_config.subsampling_conv_channels[0] = " + std::to_string(C0) +
        ": HF sizes input_proj_linear as channels[0] / 4 * channels[1] = " +
        std::to_string((C0 / 4) * C1) + ", but the SSCP output flattens to " +
        std::to_string(f2_) + " frequencies x " + std::to_string(C1) +
        " channels = " + std::to_string(flat) + " (channels[0] must be 128)");
  }

  // SSCP. Conv weights [Cout][Cin][3][3] (kernel axes time, frequency).
  std::vector<float> w;
  FACET_RETURN_IF_ERROR(
      ld.F32(nm.Top("subsample_conv_projection.layer0.conv.weight",
                    "a.conv1d.0.weight"),
             {3, 3, 1, C0}, &w));
  conv0_.assign(static_cast<size_t>(kSscpTaps * C0), 0.f);
  for (int64_t co = 0; co < C0; ++co) {
    for (int k = 0; k < kSscpTaps; ++k) conv0_[k * C0 + co] = w[co * 9 + k];
  }
  FACET_RETURN_IF_ERROR(
      ld.Vec(nm.Top("subsample_conv_projection.layer0.norm.weight",
                    "a.conv1d.0.norm.weight"),
             C0, &norm0_));
  FACET_RETURN_IF_ERROR(
      ld.F32(nm.Top("subsample_conv_projection.layer1.conv.weight",
                    "a.conv1d.1.weight"),
             {3, 3, C0, C1}, &w));
  conv1_.assign(static_cast<size_t>(C1 * kSscpTaps * C0), 0.f);
  for (int64_t co = 0; co < C1; ++co) {
    for (int64_t ci = 0; ci < C0; ++ci) {
      for (int k = 0; k < kSscpTaps; ++k) {
        conv1_[(co * kSscpTaps + k) * C0 + ci] = w[(co * C0 + ci) * 9 + k];
      }
    }
  }
  FACET_RETURN_IF_ERROR(
      ld.Vec(nm.Top("subsample_conv_projection.layer1.norm.weight",
                    "a.conv1d.1.norm.weight"),
             C1, &norm1_));
  const std::string in_name =
      nm.Top("subsample_conv_projection.input_proj_linear.weight",
             "a.input_projection.weight");
  FACET_RETURN_IF_ERROR(ld.Mat(in_name, H, flat, &input_proj_));

  // Relative position embedding rows for d = -future .. past (HF
  // Gemma4AudioRelPositionalEncoding), in double.
  const int past = c.context_left - 1, future = c.context_right;
  const int n_rel = past + future + 1;
  const int64_t n_ts = H / 2;
  std::vector<float> pe(static_cast<size_t>(n_rel * H));
  for (int r = 0; r < n_rel; ++r) {
    const double d = r - future;
    for (int64_t i = 0; i < n_ts; ++i) {
      const double inv =
          std::exp(-static_cast<double>(i) * std::log(10000.0) /
                   static_cast<double>(std::max<int64_t>(1, n_ts - 1)));
      pe[r * H + i] = static_cast<float>(std::sin(d * inv));
      pe[r * H + n_ts + i] = static_cast<float>(std::cos(d * inv));
    }
  }

  const bool clip = c.clipped_linears;
  layers_.resize(static_cast<size_t>(c.layers));
  for (int i = 0; i < c.layers; ++i) {
    Layer& l = layers_[i];
    const int64_t F = c.ffn;
    FACET_RETURN_IF_ERROR(ld.Vec(
        nm.Blk(i, "feed_forward1.pre_layer_norm.weight", "ffn_norm.weight"), H,
        &l.ffn1_pre));
    FACET_RETURN_IF_ERROR(
        ld.Clipped(nm.Blk(i, "feed_forward1.ffw_layer_1", "ffn_up"), F, H, clip,
                   &l.ffn1_up));
    FACET_RETURN_IF_ERROR(
        ld.Clipped(nm.Blk(i, "feed_forward1.ffw_layer_2", "ffn_down"), H, F,
                   clip, &l.ffn1_down));
    FACET_RETURN_IF_ERROR(
        ld.Vec(nm.Blk(i, "feed_forward1.post_layer_norm.weight",
                      "ffn_post_norm.weight"),
               H, &l.ffn1_post));
    FACET_RETURN_IF_ERROR(ld.Vec(
        nm.Blk(i, "feed_forward2.pre_layer_norm.weight", "ffn_norm_1.weight"),
        H, &l.ffn2_pre));
    FACET_RETURN_IF_ERROR(
        ld.Clipped(nm.Blk(i, "feed_forward2.ffw_layer_1", "ffn_up_1"), F, H,
                   clip, &l.ffn2_up));
    FACET_RETURN_IF_ERROR(
        ld.Clipped(nm.Blk(i, "feed_forward2.ffw_layer_2", "ffn_down_1"), H, F,
                   clip, &l.ffn2_down));
    FACET_RETURN_IF_ERROR(
        ld.Vec(nm.Blk(i, "feed_forward2.post_layer_norm.weight",
                      "ffn_post_norm_1.weight"),
               H, &l.ffn2_post));

    FACET_RETURN_IF_ERROR(
        ld.Vec(nm.Blk(i, "norm_pre_attn.weight", "attn_pre_norm.weight"), H,
               &l.attn_pre));
    FACET_RETURN_IF_ERROR(
        ld.Vec(nm.Blk(i, "norm_post_attn.weight", "attn_post_norm.weight"), H,
               &l.attn_post));
    FACET_RETURN_IF_ERROR(
        ld.Vec(nm.Blk(i, "norm_out.weight", "ln2.weight"), H, &l.norm_out));
    FACET_RETURN_IF_ERROR(
        ld.Clipped(nm.Blk(i, "self_attn.q_proj", "attn_q"), H, H, clip, &l.q));
    FACET_RETURN_IF_ERROR(
        ld.Clipped(nm.Blk(i, "self_attn.k_proj", "attn_k"), H, H, clip, &l.k));
    FACET_RETURN_IF_ERROR(
        ld.Clipped(nm.Blk(i, "self_attn.v_proj", "attn_v"), H, H, clip, &l.v));
    FACET_RETURN_IF_ERROR(ld.Clipped(nm.Blk(i, "self_attn.post", "attn_out"), H,
                                     H, clip, &l.post));
    Matrix rel_k;
    FACET_RETURN_IF_ERROR(ld.Mat(
        nm.Blk(i, "self_attn.relative_k_proj.weight", "attn_k_rel.weight"), H,
        H, &rel_k));
    l.rel.resize(static_cast<size_t>(n_rel * H));
    kernels::MatMul(rel_k, pe.data(), n_rel, l.rel.data(), nullptr);
    // The mmproj stores softplus(per_dim_scale) (applied at conversion).
    std::vector<float> pds;
    FACET_RETURN_IF_ERROR(
        ld.Vec(nm.Blk(i, "self_attn.per_dim_scale", "per_dim_scale.weight"), hd,
               &pds));
    const double q_scale =
        std::pow(static_cast<double>(hd), -0.5) / std::log(2.0);
    l.q_scale.resize(static_cast<size_t>(hd));
    for (int64_t d = 0; d < hd; ++d) {
      const double sp = ld.gguf() ? pds[d] : Softplus(pds[d]);
      l.q_scale[d] = static_cast<float>(q_scale * sp);
    }

    // The mmproj swaps the names of the two light-conv norms (spec 5.2):
    // its conv_norm is HF's pre_layer_norm, its norm_conv HF's conv_norm.
    FACET_RETURN_IF_ERROR(
        ld.Vec(nm.Blk(i, "lconv1d.pre_layer_norm.weight", "conv_norm.weight"),
               H, &l.conv_pre));
    FACET_RETURN_IF_ERROR(
        ld.Clipped(nm.Blk(i, "lconv1d.linear_start", "conv_pw1"), 2 * H, H,
                   clip, &l.conv_start));
    FACET_RETURN_IF_ERROR(
        ld.F32(nm.Blk(i, "lconv1d.depthwise_conv1d.weight", "conv_dw.weight"),
               {c.conv_kernel, 1, H}, &l.dw));
    FACET_RETURN_IF_ERROR(
        ld.Vec(nm.Blk(i, "lconv1d.conv_norm.weight", "norm_conv.weight"), H,
               &l.conv_norm));
    FACET_RETURN_IF_ERROR(ld.Clipped(
        nm.Blk(i, "lconv1d.linear_end", "conv_pw2"), H, H, clip, &l.conv_end));
  }

  FACET_RETURN_IF_ERROR(
      ld.Mat(nm.Top("output_proj.weight", "a.pre_encode.out.weight"),
             c.output_dims, H, &output_proj_));
  FACET_RETURN_IF_ERROR(
      ld.Vec(nm.Top("output_proj.bias", "a.pre_encode.out.bias"), c.output_dims,
             &output_bias_));
  if (ld.gguf() && ld.Find("mm.a.soft_emb_norm.weight") != nullptr) {
    FACET_RETURN_IF_ERROR(
        ld.Vec("mm.a.soft_emb_norm.weight", c.output_dims, &soft_emb_norm_));
  }
  const std::string embed_name =
      ld.gguf() ? "mm.a.input_projection.weight"
                : "model.embed_audio.embedding_projection.weight";
  if (c.text_hidden == 0) {
    // No text_config.hidden_size (or no projection_dim): take the width
    // from the projection itself.
    const TensorView* t = ld.Find(embed_name);
    if (t != nullptr && t->shape.size() == 2) {
      c.text_hidden = static_cast<int>(t->dim(1));
    }
  }
  return ld.Mat(embed_name, c.text_hidden, c.output_dims, &embed_);
}

void AudioTowerImpl::Sscp(const media::MelFeatures& mel,
                          const std::vector<uint8_t>& mask1, int t1n, int t2n,
                          float* h, ThreadPool* pool) const {
  const int T = mel.frames, F0 = media::kMelBins;
  const int C0 = cfg_.sscp_channels0, C1 = cfg_.sscp_channels1;
  const int F1 = f1_, F2 = f2_;
  const float eps = cfg_.rms_eps;

  // Layer 0: 1 -> C0 channels over (time, frequency); invalid frames read
  // as zeros. y1: [t1][f1][C0].
  std::vector<float> y1(static_cast<size_t>(t1n) * F1 * C0);
  ForRows(pool, t1n, 4, [&](int64_t b, int64_t e) {
    for (int64_t t1 = b; t1 < e; ++t1) {
      for (int f1 = 0; f1 < F1; ++f1) {
        float patch[kSscpTaps];
        for (int kh = 0; kh < 3; ++kh) {
          const int64_t t = 2 * t1 - 1 + kh;
          const bool row = t >= 0 && t < T && mel.valid[t] != 0;
          for (int kw = 0; kw < 3; ++kw) {
            const int f = 2 * f1 - 1 + kw;
            patch[kh * 3 + kw] =
                row && f >= 0 && f < F0 ? mel.mel[t * F0 + f] : 0.f;
          }
        }
        float* out = y1.data() + (t1 * F1 + f1) * C0;
        std::fill(out, out + C0, 0.f);
        for (int k = 0; k < kSscpTaps; ++k) {
          const float p = patch[k];
          if (p == 0.f) continue;
          const float* wk = conv0_.data() + k * C0;
          for (int c = 0; c < C0; ++c) out[c] += wk[c] * p;
        }
        LayerNormRelu(out, norm0_.data(), C0, eps);
      }
    }
  });

  // Layer 1: C0 -> C1 channels, as an im2col product per output time step;
  // rows of invalid frames read as zeros. y2: [t2][f2][C1], which is the
  // (frequency, channel) flattening input_proj_linear takes.
  std::vector<float> y2(static_cast<size_t>(t2n) * F2 * C1);
  const Matrix w1 = F32Mat(conv1_, C1, int64_t{kSscpTaps} * C0);
  ForRows(pool, t2n, 1, [&](int64_t b, int64_t e) {
    std::vector<float> cols(static_cast<size_t>(F2) * kSscpTaps * C0);
    for (int64_t t2 = b; t2 < e; ++t2) {
      for (int f2 = 0; f2 < F2; ++f2) {
        for (int kh = 0; kh < 3; ++kh) {
          const int64_t t = 2 * t2 - 1 + kh;
          const bool row = t >= 0 && t < t1n && mask1[t] != 0;
          for (int kw = 0; kw < 3; ++kw) {
            const int f = 2 * f2 - 1 + kw;
            float* dst = cols.data() + (f2 * kSscpTaps + kh * 3 + kw) * C0;
            if (row && f >= 0 && f < F1) {
              std::memcpy(dst, y1.data() + (t * F1 + f) * C0,
                          static_cast<size_t>(C0) * 4);
            } else {
              std::fill(dst, dst + C0, 0.f);
            }
          }
        }
      }
      float* out = y2.data() + t2 * F2 * C1;
      kernels::MatMul(w1, cols.data(), F2, out, nullptr);
      for (int f2 = 0; f2 < F2; ++f2) {
        LayerNormRelu(out + f2 * C1, norm1_.data(), C1, eps);
      }
    }
  });
  kernels::MatMul(input_proj_, y2.data(), t2n, h, pool);
}

// Chunked local attention (README §4): query t attends to keys s = t - d
// for -context_right < d < context_left - 1 that exist and are valid, with
// logit = q.k_s + q.R(d), soft-capped. A query without any allowed key
// (an invalid frame) gets zeros: HF gives it garbage that is dropped.
void AudioTowerImpl::Attention(const Layer& l, const float* x,
                               const uint8_t* mask, int n, float* q, float* k,
                               float* v, float* o, float* scratch,
                               ThreadPool* pool) const {
  const int H = cfg_.hidden, heads = cfg_.heads, hd = cfg_.head_dim;
  ApplyLinear(l.q, x, n, q, scratch, pool);
  ApplyLinear(l.k, x, n, k, scratch, pool);
  ApplyLinear(l.v, x, n, v, scratch, pool);
  const float k_scale =
      static_cast<float>(std::log1p(std::exp(1.0)) / std::log(2.0));
  const int past = cfg_.context_left - 1, future = cfg_.context_right;
  const int d_lo = future > 0 ? 1 - future : 0;  // -context_right < d
  const int d_hi = past - 1;                     // d < context_left - 1
  const float cap = cfg_.logit_cap;
  // The chunked form of HF (blocks of chunk_size queries against a window
  // of chunk_size + context_left - 1 + context_right keys) always holds
  // every allowed key, so computing per query gives the same result.
  ForRows(pool, n, 8, [&](int64_t b, int64_t e) {
    std::vector<float> logit(static_cast<size_t>(std::max(1, d_hi - d_lo + 1)));
    std::vector<int64_t> key(logit.size());
    std::vector<float> qt(static_cast<size_t>(hd));
    for (int64_t t = b; t < e; ++t) {
      float* ot = o + t * H;
      std::fill(ot, ot + H, 0.f);
      if (mask[t] == 0) continue;
      for (int h = 0; h < heads; ++h) {
        // k's scale is a scalar, so it multiplies q.k instead of k.
        const float* qr = q + t * H + h * hd;
        for (int d = 0; d < hd; ++d) qt[d] = qr[d] * l.q_scale[d];
        int cnt = 0;
        float mx = -kInf;
        for (int d = d_lo; d <= d_hi; ++d) {
          const int64_t s = t - d;
          if (s < 0 || s >= n || mask[s] == 0) continue;
          const float* ks = k + s * H + h * hd;
          const float* rd = l.rel.data() + (d + future) * H + h * hd;
          float ac = 0.f, bd = 0.f;
          for (int j = 0; j < hd; ++j) {
            ac += qt[j] * ks[j];
            bd += qt[j] * rd[j];
          }
          float lg = ac * k_scale + bd;
          lg = cap * std::tanh(lg / cap);
          logit[cnt] = lg;
          key[cnt] = s;
          ++cnt;
          mx = std::max(mx, lg);
        }
        if (cnt == 0) continue;
        float sum = 0.f;
        for (int i = 0; i < cnt; ++i) {
          logit[i] = std::exp(logit[i] - mx);
          sum += logit[i];
        }
        float* oh = ot + h * hd;
        for (int i = 0; i < cnt; ++i) {
          const float p = logit[i] / sum;
          const float* vs = v + key[i] * H + h * hd;
          for (int j = 0; j < hd; ++j) oh[j] += p * vs[j];
        }
      }
    }
  });
}

Status AudioTowerImpl::EncodeWithTaps(const media::MelFeatures& mel,
                                      ThreadPool* pool,
                                      std::vector<float>* embeddings,
                                      std::vector<float>* tower_out,
                                      AudioTaps* taps) const {
  if (embeddings == nullptr) return InvalidArgument("embeddings is null");
  const int T = mel.frames;
  if (T < 0 || T > kMaxFrames) {
    return InvalidArgument("audio features have " + std::to_string(T) +
                           " frames; the encoder takes 0 to " +
                           std::to_string(kMaxFrames) + " (30 s)");
  }
  if (mel.mel.size() != static_cast<size_t>(T) * media::kMelBins) {
    return InvalidArgument("audio features hold " +
                           std::to_string(mel.mel.size()) + " values, not " +
                           std::to_string(T) + " frames x " +
                           std::to_string(media::kMelBins) + " mel bins");
  }
  if (mel.valid.size() != static_cast<size_t>(T)) {
    return InvalidArgument(
        "audio features have " + std::to_string(mel.valid.size()) +
        " validity flags for " + std::to_string(T) + " frames");
  }
  embeddings->clear();
  if (tower_out != nullptr) tower_out->clear();
  if (taps != nullptr) *taps = AudioTaps();
  if (T == 0) return OkStatus();

  const AudioConfig& c = cfg_;
  const int64_t H = c.hidden;
  const int t1n = (T - 1) / 2 + 1, n = (t1n - 1) / 2 + 1;
  std::vector<uint8_t> mask1(static_cast<size_t>(t1n)), mask(n);
  for (int i = 0; i < t1n; ++i) mask1[i] = mel.valid[2 * i] != 0;
  for (int i = 0; i < n; ++i) mask[i] = mask1[2 * i];
  std::vector<int> rows;  // the valid output rows
  for (int i = 0; i < n; ++i) {
    if (mask[i]) rows.push_back(i);
  }
  // Copies the valid rows of x [n][w] into out.
  auto keep = [&](const float* x, int64_t w, std::vector<float>* out) {
    out->resize(rows.size() * static_cast<size_t>(w));
    for (size_t r = 0; r < rows.size(); ++r) {
      std::memcpy(out->data() + r * w, x + rows[r] * w,
                  static_cast<size_t>(w) * 4);
    }
  };

  std::vector<float> h(static_cast<size_t>(n * H));
  Sscp(mel, mask1, t1n, n, h.data(), pool);
  if (taps != nullptr) keep(h.data(), H, &taps->sscp);

  const int64_t wide = std::max<int64_t>(c.ffn, 2 * H);
  std::vector<float> a(static_cast<size_t>(n * H));
  std::vector<float> big(static_cast<size_t>(n * wide));
  std::vector<float> scratch(static_cast<size_t>(n * wide));
  std::vector<float> q(static_cast<size_t>(n * H)), k(q.size()), v(q.size()),
      o(q.size());
  const float eps = c.rms_eps;

  // h += w * RMSNorm(down(silu(up(RMSNorm(h)))))
  auto ffn = [&](const std::vector<float>& pre, const Linear& up,
                 const Linear& down, const std::vector<float>& post) {
    RmsNorm(h.data(), pre.data(), a.data(), n, H, eps, pool);
    ApplyLinear(up, a.data(), n, big.data(), scratch.data(), pool);
    SiluInPlace(big.data(), n * c.ffn, pool);
    ApplyLinear(down, big.data(), n, o.data(), scratch.data(), pool);
    RmsNorm(o.data(), post.data(), o.data(), n, H, eps, pool);
    const float rw = c.residual_weight;
    ForRows(pool, n, 64, [&](int64_t b, int64_t e) {
      for (int64_t i = b * H; i < e * H; ++i) h[i] += rw * o[i];
    });
  };
  auto add = [&](const float* x) {
    ForRows(pool, n, 64, [&](int64_t b, int64_t e) {
      for (int64_t i = b * H; i < e * H; ++i) h[i] += x[i];
    });
  };

  for (int li = 0; li < c.layers; ++li) {
    const Layer& l = layers_[li];
    ffn(l.ffn1_pre, l.ffn1_up, l.ffn1_down, l.ffn1_post);

    RmsNorm(h.data(), l.attn_pre.data(), a.data(), n, H, eps, pool);
    Attention(l, a.data(), mask.data(), n, q.data(), k.data(), v.data(),
              o.data(), scratch.data(), pool);
    ApplyLinear(l.post, o.data(), n, q.data(), scratch.data(), pool);
    RmsNorm(q.data(), l.attn_post.data(), q.data(), n, H, eps, pool);
    add(q.data());

    // Light conv: GLU(linear_start) -> causal depthwise conv -> RMSNorm ->
    // silu -> linear_end.
    RmsNorm(h.data(), l.conv_pre.data(), a.data(), n, H, eps, pool);
    ApplyLinear(l.conv_start, a.data(), n, big.data(), scratch.data(), pool);
    ForRows(pool, n, 32, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        const float* u = big.data() + t * 2 * H;
        float* g = a.data() + t * H;
        for (int64_t ch = 0; ch < H; ++ch) {
          g[ch] = u[ch] / (1.f + std::exp(-u[H + ch]));
        }
      }
    });
    const int K = c.conv_kernel;
    ForRows(pool, n, 32, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        float* out = o.data() + t * H;
        std::fill(out, out + H, 0.f);
        for (int j = 0; j < K; ++j) {
          const int64_t s = t - (K - 1) + j;  // left-padded with K - 1 zeros
          if (s < 0) continue;
          const float* g = a.data() + s * H;
          for (int64_t ch = 0; ch < H; ++ch)
            out[ch] += l.dw[ch * K + j] * g[ch];
        }
      }
    });
    RmsNorm(o.data(), l.conv_norm.data(), o.data(), n, H, eps, pool);
    SiluInPlace(o.data(), n * H, pool);
    ApplyLinear(l.conv_end, o.data(), n, q.data(), scratch.data(), pool);
    add(q.data());

    ffn(l.ffn2_pre, l.ffn2_up, l.ffn2_down, l.ffn2_post);
    RmsNorm(h.data(), l.norm_out.data(), h.data(), n, H, eps, pool);
    if (taps != nullptr) {
      taps->layers.emplace_back();
      keep(h.data(), H, &taps->layers.back());
    }
  }

  // output_proj on the valid rows only (the rest are dropped anyway).
  std::vector<float> x;
  keep(h.data(), H, &x);
  const int64_t m = static_cast<int64_t>(rows.size());
  const int64_t od = c.output_dims;
  std::vector<float> tower(static_cast<size_t>(m * od));
  kernels::MatMul(output_proj_, x.data(), m, tower.data(), pool);
  for (int64_t r = 0; r < m; ++r) {
    for (int64_t j = 0; j < od; ++j) tower[r * od + j] += output_bias_[j];
  }
  std::vector<float> normed(tower.size());
  RmsNorm(tower.data(),
          soft_emb_norm_.empty() ? nullptr : soft_emb_norm_.data(),
          normed.data(), m, od, eps, pool);
  embeddings->resize(static_cast<size_t>(m) * c.text_hidden);
  kernels::MatMul(embed_, normed.data(), m, embeddings->data(), pool);
  if (tower_out != nullptr) *tower_out = std::move(tower);
  return OkStatus();
}

// --- Loading -------------------------------------------------------------

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

StatusOr<std::unique_ptr<AudioTower>> LoadGguf(const std::string& path) {
  auto tower = std::make_unique<AudioTowerImpl>();
  FACET_ASSIGN_OR_RETURN(tower->gguf_, GgufFile::Open(path));
  const GgufFile& g = *tower->gguf_;
  const GgufValue* has = g.Find("clip.has_audio_encoder");
  if (has == nullptr || !has->is_number() || has->as_int() == 0) {
    return NotFound(path + " has no audio encoder (clip.has_audio_encoder)");
  }
  std::string proj;
  for (const char* key : {"clip.audio.projector_type", "clip.projector_type"}) {
    const GgufValue* p = g.Find(key);
    if (p != nullptr && p->type == GgufType::kString) {
      proj = p->str;
      break;
    }
  }
  if (proj != "gemma4a") {
    return Unimplemented(path + ": audio projector '" + proj +
                         "' is not Gemma 4's (gemma4a)");
  }
  AudioConfig& c = tower->cfg_;
  // The mmproj has no attention or SSCP hyperparameters: they are fixed
  // for Gemma 4 (the defaults of AudioConfig); the graph of llama.cpp
  // hard-codes eps 1e-6 (the file's 1e-5 is not used, spec 5.2).
  FACET_ASSIGN_OR_RETURN(int64_t hidden,
                         g.GetInt("clip.audio.embedding_length"));
  FACET_ASSIGN_OR_RETURN(int64_t layers, g.GetInt("clip.audio.block_count"));
  FACET_ASSIGN_OR_RETURN(int64_t heads,
                         g.GetInt("clip.audio.attention.head_count"));
  int64_t ffn = 4 * hidden;
  if (g.Find("clip.audio.feed_forward_length") != nullptr) {
    FACET_ASSIGN_OR_RETURN(ffn, g.GetInt("clip.audio.feed_forward_length"));
  }
  if (g.Find("clip.audio.projection_dim") != nullptr) {
    FACET_ASSIGN_OR_RETURN(int64_t th, g.GetInt("clip.audio.projection_dim"));
    if (th < 1 || th > 65536) {
      return InvalidArgument("clip.audio.projection_dim out of range");
    }
    c.text_hidden = static_cast<int>(th);
  }
  if (hidden < 2 || hidden > 16384 || layers < 1 || layers > 256 || heads < 1 ||
      heads > 1024 || ffn < 1 || ffn > 1 << 20) {
    return InvalidArgument(path +
                           ": audio embedding_length / block_count / "
                           "head_count / feed_forward_length out of range");
  }
  c.hidden = static_cast<int>(hidden);
  c.layers = static_cast<int>(layers);
  c.heads = static_cast<int>(heads);
  c.ffn = static_cast<int>(ffn);
  // Sizes held only by the tensors.
  const TensorView* conv1 = g.FindTensor("a.conv1d.1.weight");
  const TensorView* out = g.FindTensor("a.pre_encode.out.weight");
  const TensorView* dw = g.FindTensor("a.blk.0.conv_dw.weight");
  if (conv1 == nullptr || out == nullptr || dw == nullptr) {
    return DataLoss(path + ": audio tower tensor '" +
                    std::string(conv1 == nullptr ? "a.conv1d.1.weight"
                                : out == nullptr ? "a.pre_encode.out.weight"
                                                 : "a.blk.0.conv_dw.weight") +
                    "' is missing");
  }
  if (conv1->shape.size() != 4 || out->shape.size() != 2 || dw->dim(0) < 1 ||
      dw->dim(0) > 64 || conv1->dim(2) < 1 || conv1->dim(2) > 4096 ||
      conv1->dim(3) < 1 || conv1->dim(3) > 4096 || out->dim(1) < 1 ||
      out->dim(1) > 65536) {
    return InvalidArgument(path +
                           ": a.conv1d.1.weight, a.pre_encode.out.weight or "
                           "a.blk.0.conv_dw.weight has an unexpected shape");
  }
  c.sscp_channels0 = static_cast<int>(conv1->dim(2));
  c.sscp_channels1 = static_cast<int>(conv1->dim(3));
  c.output_dims = static_cast<int>(out->dim(1));
  c.conv_kernel = static_cast<int>(dw->dim(0));
  FACET_RETURN_IF_ERROR(CheckConfig(c));
  c.head_dim = c.hidden / c.heads;
  FACET_RETURN_IF_ERROR(
      tower->LoadWeights(Loader(nullptr, tower->gguf_.get())));
  return std::unique_ptr<AudioTower>(std::move(tower));
}

}  // namespace

StatusOr<std::unique_ptr<AudioTower>> AudioTower::Load(
    const std::string& path) {
  if (EndsWith(path, ".gguf")) return LoadGguf(path);
  auto tower = std::make_unique<AudioTowerImpl>();
  FACET_ASSIGN_OR_RETURN(tower->hf_, HfFolder::Open(path));
  AudioConfig& c = tower->cfg_;
  FACET_RETURN_IF_ERROR(ParseHfConfig(tower->hf_->config_json(), &c));
  FACET_RETURN_IF_ERROR(CheckConfig(c));
  c.head_dim = c.hidden / c.heads;
  FACET_RETURN_IF_ERROR(tower->LoadWeights(Loader(tower->hf_.get(), nullptr)));
  return std::unique_ptr<AudioTower>(std::move(tower));
}

}  // namespace facet::gemma4
