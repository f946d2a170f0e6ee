#include "models/gemma4/vision_tower.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "kernels/kernels.h"
#include "kernels/ref/quant.h"
#include "src/io/gguf.h"
#include "src/io/hf_folder.h"
#include "src/util/status_macros.h"

namespace facet::gemma4 {
namespace {

using json = nlohmann::json;
using kernels::Matrix;

constexpr int kPatchSide = 16;
constexpr int kPatchValues = kPatchSide * kPatchSide * 3;  // (dy, dx, c)
constexpr float kInf = std::numeric_limits<float>::infinity();

// A weight matrix, optionally with the scalar activation clamps of
// Gemma4ClippableLinear: y = clamp(W clamp(x, in), out).
struct Linear {
  Matrix w;  // [out][in]
  bool clip = false;
  float in_min = -kInf, in_max = kInf, out_min = -kInf, out_max = kInf;
};

struct Layer {
  Linear q, k, v, o, gate, up, down;
  std::vector<float> input_norm;                                   // [D]
  std::vector<float> q_norm, k_norm;                               // [head_dim]
  std::vector<float> post_attn_norm, pre_ffw_norm, post_ffw_norm;  // [D]
  float scale = 1.f;  // layer_scalar, when the checkpoint has one
};

// The two file formats' names for the same tensors (spec 5.1 and 5.2).
struct Naming {
  bool gguf = false;
  std::string patch() const {
    return gguf ? "v.patch_embd.weight"
                : "model.vision_tower.patch_embedder.input_proj.weight";
  }
  std::string positions() const {
    return gguf ? "v.position_embd.weight"
                : "model.vision_tower.patch_embedder.position_embedding_table";
  }
  std::string std_bias() const {
    return gguf ? "v.std_bias" : "model.vision_tower.std_bias";
  }
  std::string std_scale() const {
    return gguf ? "v.std_scale" : "model.vision_tower.std_scale";
  }
  std::string embed() const {
    return gguf ? "mm.input_projection.weight"
                : "model.embed_vision.embedding_projection.weight";
  }
  std::string layer(int i) const {
    return (gguf ? "v.blk." : "model.vision_tower.encoder.layers.") +
           std::to_string(i) + ".";
  }
  // A linear's weight; its clamp bounds are base + "." + bound in both.
  std::string linear_weight(const std::string& base) const {
    return base + (gguf ? ".weight" : ".linear.weight");
  }
  std::string layer_scalar(int i) const {
    return layer(i) + (gguf ? "out_scale.weight" : "layer_scalar");
  }
};

// Drops trailing 1s so that {n} and {n, 1} compare equal.
std::vector<int64_t> Trimmed(std::vector<int64_t> s) {
  while (!s.empty() && s.back() == 1) s.pop_back();
  return s;
}

// Looks tensors up by name and checks their shape and type.
class Binder {
 public:
  Binder(std::function<const TensorView*(const std::string&)> find,
         std::string file)
      : find_(std::move(find)), file_(std::move(file)) {}

  const TensorView* Find(const std::string& name) const { return find_(name); }

  // The tensor `name` with ggml shape `shape`: kDataLoss when missing,
  // kInvalidArgument when misshapen, kUnimplemented for a type facet
  // cannot compute with.
  StatusOr<const TensorView*> Get(const std::string& name,
                                  const std::vector<int64_t>& shape) const {
    const TensorView* t = find_(name);
    if (t == nullptr) {
      return DataLoss("vision tower: tensor '" + name + "' is missing from " +
                      file_);
    }
    if (Trimmed(t->shape) != Trimmed(shape)) {
      return InvalidArgument("vision tower: tensor '" + name + "' has shape " +
                             ShapeString(t->shape) + ", expected " +
                             ShapeString(shape));
    }
    const kernels::DTypeInfo* info = kernels::GetDTypeInfo(t->dtype);
    if (info == nullptr || !info->supported) {
      return Unimplemented("vision tower: tensor '" + name + "' has type " +
                           kernels::DTypeName(t->dtype) +
                           ", which facet cannot compute with");
    }
    return t;
  }

  Status GetMatrix(const std::string& name, int64_t rows, int64_t cols,
                   Matrix* out) const {
    FACET_ASSIGN_OR_RETURN(const TensorView* t, Get(name, {cols, rows}));
    const kernels::DTypeInfo* info = kernels::GetDTypeInfo(t->dtype);
    if (cols % info->block_elems != 0) {
      return InvalidArgument("vision tower: tensor '" + name + "' has " +
                             std::to_string(cols) +
                             " columns, not a multiple "
                             "of its type's block");
    }
    out->dtype = t->dtype;
    out->data = t->data;
    out->rows = rows;
    out->cols = cols;
    out->row_bytes = kernels::RowBytes(t->dtype, cols);
    out->packed = t->packed;
    return OkStatus();
  }

  // A small f32 copy of a float tensor of `n` elements ({} for n = 0: a
  // 0-d scalar).
  Status GetFloats(const std::string& name, const std::vector<int64_t>& shape,
                   std::vector<float>* out) const {
    FACET_ASSIGN_OR_RETURN(const TensorView* t, Get(name, shape));
    if (t->dtype != kernels::DType::kF32 && t->dtype != kernels::DType::kF16 &&
        t->dtype != kernels::DType::kBF16) {
      return Unimplemented("vision tower: tensor '" + name + "' has type " +
                           kernels::DTypeName(t->dtype) +
                           "; vectors and scalars must be f32, f16 or bf16");
    }
    out->resize(t->elements());
    kernels::DequantizeRow(t->dtype, t->data, out->data(), t->elements());
    return OkStatus();
  }

  Status GetScalar(const std::string& name, float* out) const {
    std::vector<float> v;
    FACET_RETURN_IF_ERROR(GetFloats(name, {}, &v));
    *out = v[0];
    return OkStatus();
  }

 private:
  std::function<const TensorView*(const std::string&)> find_;
  std::string file_;
};

// The linears of one layer: HF module and GGUF name.
struct LinearRole {
  Linear Layer::*slot;
  const char* hf;
  const char* gguf;
};
constexpr LinearRole kLinearRoles[] = {
    {&Layer::q, "self_attn.q_proj", "attn_q"},
    {&Layer::k, "self_attn.k_proj", "attn_k"},
    {&Layer::v, "self_attn.v_proj", "attn_v"},
    {&Layer::o, "self_attn.o_proj", "attn_out"},
    {&Layer::gate, "mlp.gate_proj", "ffn_gate"},
    {&Layer::up, "mlp.up_proj", "ffn_up"},
    {&Layer::down, "mlp.down_proj", "ffn_down"},
};

struct NormRole {
  std::vector<float> Layer::*slot;
  const char* hf;
  const char* gguf;
  bool per_head;
};
constexpr NormRole kNormRoles[] = {
    {&Layer::input_norm, "input_layernorm", "ln1", false},
    {&Layer::q_norm, "self_attn.q_norm", "attn_q_norm", true},
    {&Layer::k_norm, "self_attn.k_norm", "attn_k_norm", true},
    {&Layer::post_attn_norm, "post_attention_layernorm", "attn_post_norm",
     false},
    // GGUF "ln2" is the pre-FFN norm (spec 5.2).
    {&Layer::pre_ffw_norm, "pre_feedforward_layernorm", "ln2", false},
    {&Layer::post_ffw_norm, "post_feedforward_layernorm", "ffn_post_norm",
     false},
};

constexpr const char* kBounds[] = {"input_min", "input_max", "output_min",
                                   "output_max"};

// Runs fn(r0, r1) over row ranges of [0, rows), on the pool when the
// work (rows x width values) is large enough to pay for it.
void ForRows(kernels::ThreadPool* pool, int64_t rows, int64_t width,
             const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t tile =
      std::max<int64_t>(1, 16384 / std::max<int64_t>(1, width));
  kernels::ParallelFor(rows * width < 32768 ? nullptr : pool,
                       static_cast<size_t>(rows), static_cast<size_t>(tile),
                       [&](size_t b, size_t e) {
                         fn(static_cast<int64_t>(b), static_cast<int64_t>(e));
                       });
}

void Clamp(float* x, int64_t n, float lo, float hi) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::min(std::max(x[i], lo), hi);
}

// y[n][out] = CL(W, x[n][in]); the clamped input goes to `scratch` (n *
// in floats), which may be x itself when x is not needed afterwards.
void Apply(const Linear& l, const float* x, int64_t n, float* y, float* scratch,
           kernels::ThreadPool* pool) {
  const int64_t in = l.w.cols, out = l.w.rows;
  const float* src = x;
  if (l.clip) {
    ForRows(pool, n, in, [&](int64_t r0, int64_t r1) {
      for (int64_t i = r0 * in; i < r1 * in; ++i) {
        scratch[i] = std::min(std::max(x[i], l.in_min), l.in_max);
      }
    });
    src = scratch;
  }
  kernels::MatMul(l.w, src, n, y, pool);
  if (l.clip) {
    ForRows(pool, n, out, [&](int64_t r0, int64_t r1) {
      Clamp(y + r0 * out, (r1 - r0) * out, l.out_min, l.out_max);
    });
  }
}

// RMSNorm of `rows` rows of `width` floats in place (w: [width] or null).
void RmsNormRows(float* x, const float* w, int64_t rows, int64_t width,
                 float eps, kernels::ThreadPool* pool) {
  const kernels::KernelTable& kt = kernels::Kernels();
  ForRows(pool, rows, width, [&](int64_t r0, int64_t r1) {
    kt.rms_norm(x + r0 * width, w, x + r0 * width, r1 - r0, width, eps);
  });
}

// h += x over n floats.
void AddInto(float* h, const float* x, int64_t rows, int64_t width,
             kernels::ThreadPool* pool) {
  ForRows(pool, rows, width, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0 * width; i < r1 * width; ++i) h[i] += x[i];
  });
}

class Tower final : public VisionTower {
 public:
  const VisionConfig& config() const override { return c_; }

  Status Encode(const media::ImagePatches& patches, kernels::ThreadPool* pool,
                std::vector<float>* embeddings,
                std::vector<float>* tower_out) const override {
    return EncodeWithTaps(patches, pool, embeddings, tower_out, nullptr);
  }
  Status EncodeWithTaps(const media::ImagePatches& patches,
                        kernels::ThreadPool* pool,
                        std::vector<float>* embeddings,
                        std::vector<float>* tower_out,
                        VisionTaps* taps) const override;

  // Loading fills these directly.
  VisionConfig c_;
  std::unique_ptr<HfFolder> hf_;  // the mapped weights, used in place
  std::unique_ptr<GgufFile> gguf_;
  Matrix patch_;                    // [D][768], input (dy, dx, c)
  std::vector<float> patch_owned_;  // patch_'s data when permuted at load
  const TensorView* pos_table_ = nullptr;  // [2][P][D]
  std::vector<Layer> layers_;
  std::vector<float> std_bias_, std_scale_;  // [D] when standardize
  Matrix embed_;                             // [text_hidden][D]
  std::vector<double> inv_freq_;             // [head_dim / 4]

 private:
  Status Validate(const media::ImagePatches& p) const;
  void Attention(const float* q, const float* k, const float* v, int64_t n,
                 float* out, kernels::ThreadPool* pool) const;
};

Status Tower::Validate(const media::ImagePatches& p) const {
  const int k = c_.pooling_kernel;
  if (p.grid_h <= 0 || p.grid_w <= 0 || p.grid_h % k != 0 ||
      p.grid_w % k != 0) {
    return InvalidArgument(
        "vision tower: patch grid " + std::to_string(p.grid_h) + "x" +
        std::to_string(p.grid_w) + " is not a positive multiple of the " +
        std::to_string(k) + "x" + std::to_string(k) + " pooling kernel");
  }
  if (p.grid_h > c_.position_table || p.grid_w > c_.position_table) {
    return InvalidArgument(
        "vision tower: patch grid " + std::to_string(p.grid_h) + "x" +
        std::to_string(p.grid_w) + " exceeds the " +
        std::to_string(c_.position_table) + "-row position tables");
  }
  const int64_t n = static_cast<int64_t>(p.grid_h) * p.grid_w;
  if (static_cast<int64_t>(p.pixels.size()) != n * kPatchValues) {
    return InvalidArgument("vision tower: " + std::to_string(p.pixels.size()) +
                           " pixel values for " + std::to_string(n) +
                           " patches of " + std::to_string(kPatchValues));
  }
  if (static_cast<int64_t>(p.positions.size()) != n * 2) {
    return InvalidArgument(
        "vision tower: " + std::to_string(p.positions.size()) +
        " position values for " + std::to_string(n) + " patches (need 2 each)");
  }
  // Pooling goes by position, as HF's does; each pooled cell must receive
  // exactly k*k patches.
  const int64_t pw = p.grid_w / k;
  std::vector<int> count(n / (k * k), 0);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t x = p.positions[2 * i], y = p.positions[2 * i + 1];
    if (x < 0 || x >= p.grid_w || y < 0 || y >= p.grid_h) {
      return InvalidArgument(
          "vision tower: patch " + std::to_string(i) + " has position (" +
          std::to_string(x) + ", " + std::to_string(y) + ") outside the " +
          std::to_string(p.grid_h) + "x" + std::to_string(p.grid_w) + " grid");
    }
    ++count[x / k + pw * (y / k)];
  }
  for (int c : count) {
    if (c != k * k) {
      return InvalidArgument(
          "vision tower: patch positions do not cover the grid once each");
    }
  }
  return OkStatus();
}

// out[n][heads * d] = softmax(q k^T) v per head, over all n keys (the
// encoder is bidirectional; scale 1 since q and k are RMS-normed). Tasks
// are (head, block of kAttnMaxQ queries); keys go in tiles of kAttnTile.
void Tower::Attention(const float* q, const float* k, const float* v, int64_t n,
                      float* out, kernels::ThreadPool* pool) const {
  const kernels::KernelTable& kt = kernels::Kernels();
  const int64_t d = c_.head_dim, heads = c_.heads, stride = heads * d;
  const int64_t blocks = (n + kernels::kAttnMaxQ - 1) / kernels::kAttnMaxQ;
  kernels::ParallelFor(
      pool, static_cast<size_t>(heads * blocks), 1, [&](size_t b, size_t e) {
        std::vector<float> acc(kernels::kAttnMaxQ * d);
        const float* kp[kernels::kAttnTile];
        const float* vp[kernels::kAttnTile];
        float m[kernels::kAttnMaxQ], l[kernels::kAttnMaxQ];
        for (size_t task = b; task < e; ++task) {
          const int64_t h = static_cast<int64_t>(task) / blocks;
          const int64_t t0 =
              static_cast<int64_t>(task) % blocks * kernels::kAttnMaxQ;
          const int nq =
              static_cast<int>(std::min<int64_t>(kernels::kAttnMaxQ, n - t0));
          std::fill(acc.begin(), acc.end(), 0.f);
          std::fill(m, m + nq, -kInf);
          std::fill(l, l + nq, 0.f);
          for (int64_t j0 = 0; j0 < n; j0 += kernels::kAttnTile) {
            const int count =
                static_cast<int>(std::min<int64_t>(kernels::kAttnTile, n - j0));
            for (int j = 0; j < count; ++j) {
              kp[j] = k + (j0 + j) * stride + h * d;
              vp[j] = v + (j0 + j) * stride + h * d;
            }
            kt.attend_tile(q + t0 * stride + h * d, stride, nq, kp, vp, count,
                           d, 1.0f, m, l, acc.data());
          }
          for (int i = 0; i < nq; ++i) {
            float* o = out + (t0 + i) * stride + h * d;
            const float inv = 1.0f / l[i];
            for (int64_t c = 0; c < d; ++c) o[c] = acc[i * d + c] * inv;
          }
        }
      });
}

Status Tower::EncodeWithTaps(const media::ImagePatches& patches,
                             kernels::ThreadPool* pool,
                             std::vector<float>* embeddings,
                             std::vector<float>* tower_out,
                             VisionTaps* taps) const {
  if (embeddings == nullptr) {
    return InvalidArgument("vision tower: embeddings output is null");
  }
  FACET_RETURN_IF_ERROR(Validate(patches));
  const kernels::KernelTable& kt = kernels::Kernels();
  const int64_t n = patches.num_patches();
  const int64_t D = c_.hidden, F = c_.intermediate, hd = c_.head_dim;
  const int64_t heads = c_.heads, Q = heads * hd;
  const float eps = c_.rms_eps;
  const int32_t* pos = patches.positions.data();

  // Patch embedding: h = W_patch (2 (p - 0.5)) + T[0][x] + T[1][y].
  std::vector<float> h(n * D);  // [n][D]
  std::vector<float> scratch(n * std::max({D, int64_t{kPatchValues}}));
  const float* px = patches.pixels.data();
  ForRows(pool, n, kPatchValues, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0 * kPatchValues; i < r1 * kPatchValues; ++i) {
      scratch[i] = 2.f * (px[i] - 0.5f);
    }
  });
  kernels::MatMul(patch_, scratch.data(), n, h.data(), pool);
  {
    const int64_t P = c_.position_table;
    const int64_t row_bytes = kernels::RowBytes(pos_table_->dtype, D);
    ForRows(pool, n, D, [&](int64_t r0, int64_t r1) {
      std::vector<float> tx(D), ty(D);
      for (int64_t i = r0; i < r1; ++i) {
        kernels::DequantizeRow(pos_table_->dtype,
                               pos_table_->data + pos[2 * i] * row_bytes,
                               tx.data(), D);
        kernels::DequantizeRow(
            pos_table_->dtype,
            pos_table_->data + (P + pos[2 * i + 1]) * row_bytes, ty.data(), D);
        float* hi = h.data() + i * D;
        for (int64_t c = 0; c < D; ++c) hi[c] = hi[c] + tx[c] + ty[c];
      }
    });
  }
  if (taps != nullptr) {
    taps->patch_embed = h;
    taps->layers.clear();
  }

  // 2-D RoPE angles per patch: channels [0, hd/2) turn with x, [hd/2, hd)
  // with y, each half in NeoX pairs (c, c + hd/4) at frequency c.
  const int64_t half = hd / 2, quarter = hd / 4;
  std::vector<float> cs(n * 2 * quarter), sn(n * 2 * quarter);  // [n][x|y][q]
  for (int64_t i = 0; i < n; ++i) {
    for (int axis = 0; axis < 2; ++axis) {
      for (int64_t j = 0; j < quarter; ++j) {
        const double angle = pos[2 * i + axis] * inv_freq_[j];
        cs[(i * 2 + axis) * quarter + j] = static_cast<float>(std::cos(angle));
        sn[(i * 2 + axis) * quarter + j] = static_cast<float>(std::sin(angle));
      }
    }
  }

  std::vector<float> a(n * D), q(n * Q), k(n * Q), v(n * Q), att(n * Q);
  std::vector<float> g(n * F), u(n * F);
  for (size_t li = 0; li < layers_.size(); ++li) {
    const Layer& L = layers_[li];
    // Attention block.
    std::copy(h.begin(), h.end(), a.begin());
    RmsNormRows(a.data(), L.input_norm.data(), n, D, eps, pool);
    Apply(L.q, a.data(), n, q.data(), scratch.data(), pool);
    Apply(L.k, a.data(), n, k.data(), scratch.data(), pool);
    Apply(L.v, a.data(), n, v.data(), scratch.data(), pool);
    RmsNormRows(q.data(), L.q_norm.data(), n * heads, hd, eps, pool);
    RmsNormRows(k.data(), L.k_norm.data(), n * heads, hd, eps, pool);
    RmsNormRows(v.data(), nullptr, n * heads, hd, eps, pool);  // no weight
    ForRows(pool, n, Q, [&](int64_t r0, int64_t r1) {
      for (int64_t i = r0; i < r1; ++i) {
        const float* cx = &cs[(i * 2) * quarter];
        const float* sx = &sn[(i * 2) * quarter];
        const float* cy = cx + quarter;
        const float* sy = sx + quarter;
        for (float* t : {q.data() + i * Q, k.data() + i * Q}) {
          for (int64_t hh = 0; hh < heads; ++hh) {
            kt.rope(t + hh * hd, 1, half, quarter, cx, sx);
            kt.rope(t + hh * hd + half, 1, half, quarter, cy, sy);
          }
        }
      }
    });
    Attention(q.data(), k.data(), v.data(), n, att.data(), pool);
    Apply(L.o, att.data(), n, a.data(), att.data(), pool);
    RmsNormRows(a.data(), L.post_attn_norm.data(), n, D, eps, pool);
    AddInto(h.data(), a.data(), n, D, pool);

    // Gated MLP block.
    std::copy(h.begin(), h.end(), a.begin());
    RmsNormRows(a.data(), L.pre_ffw_norm.data(), n, D, eps, pool);
    Apply(L.gate, a.data(), n, g.data(), scratch.data(), pool);
    Apply(L.up, a.data(), n, u.data(), scratch.data(), pool);
    ForRows(pool, n, F, [&](int64_t r0, int64_t r1) {
      kt.gelu_tanh_mul(g.data() + r0 * F, u.data() + r0 * F, g.data() + r0 * F,
                       (r1 - r0) * F);
    });
    Apply(L.down, g.data(), n, a.data(), g.data(), pool);
    RmsNormRows(a.data(), L.post_ffw_norm.data(), n, D, eps, pool);
    AddInto(h.data(), a.data(), n, D, pool);
    if (L.scale != 1.f) {
      for (float& x : h) x *= L.scale;
    }
    if (taps != nullptr) taps->layers.push_back(h);
  }

  // k x k average pooling by position, pooled cells in row-major order,
  // then x sqrt(D).
  const int kp = c_.pooling_kernel;
  const int64_t pw = patches.grid_w / kp;
  const int64_t N = n / (kp * kp);
  std::vector<float> s(N * D, 0.f);  // [N][D]
  for (int64_t i = 0; i < n; ++i) {
    const int64_t cell = pos[2 * i] / kp + pw * (pos[2 * i + 1] / kp);
    float* si = s.data() + cell * D;
    const float* hi = h.data() + i * D;
    for (int64_t c = 0; c < D; ++c) si[c] += hi[c];
  }
  const float inv_area = 1.f / static_cast<float>(kp * kp);
  const float root = std::sqrt(static_cast<float>(D));
  for (float& x : s) x = x * inv_area * root;
  if (taps != nullptr) taps->pooled_scaled = s;
  if (c_.standardize) {
    for (int64_t t = 0; t < N; ++t) {
      float* st = s.data() + t * D;
      for (int64_t c = 0; c < D; ++c) {
        st[c] = (st[c] - std_bias_[c]) * std_scale_[c];
      }
    }
  }
  if (tower_out != nullptr) *tower_out = s;

  // embed_vision: weightless RMSNorm, then the projection.
  RmsNormRows(s.data(), nullptr, N, D, eps, pool);
  embeddings->assign(N * c_.text_hidden, 0.f);
  kernels::MatMul(embed_, s.data(), N, embeddings->data(), pool);
  return OkStatus();
}

// --- Loading -------------------------------------------------------------

Status CheckConfig(const VisionConfig& c) {
  auto positive = [](int v, const char* what) -> Status {
    if (v <= 0 || v > (1 << 20)) {
      return InvalidArgument(std::string("vision config: ") + what + " = " +
                             std::to_string(v) + " is out of range");
    }
    return OkStatus();
  };
  FACET_RETURN_IF_ERROR(positive(c.hidden, "hidden_size"));
  FACET_RETURN_IF_ERROR(positive(c.intermediate, "intermediate_size"));
  FACET_RETURN_IF_ERROR(positive(c.layers, "num_hidden_layers"));
  FACET_RETURN_IF_ERROR(positive(c.heads, "num_attention_heads"));
  FACET_RETURN_IF_ERROR(positive(c.head_dim, "head_dim"));
  FACET_RETURN_IF_ERROR(positive(c.pooling_kernel, "pooling_kernel_size"));
  FACET_RETURN_IF_ERROR(positive(c.position_table, "position_embedding_size"));
  if (c.text_hidden < 0 || c.text_hidden > (1 << 20)) {
    return InvalidArgument("config.json: text_config.hidden_size = " +
                           std::to_string(c.text_hidden) + " is out of range");
  }
  if (c.layers > 1024 || c.heads > 1024 || c.pooling_kernel > 64) {
    return InvalidArgument(
        "vision config: implausible layer, head or "
        "pooling count");
  }
  if (c.head_dim % 4 != 0) {
    return InvalidArgument("vision config: head_dim " +
                           std::to_string(c.head_dim) +
                           " is not a multiple of 4 (2-D RoPE rotates pairs "
                           "within each half)");
  }
  if (c.patch_size != kPatchSide) {
    return Unimplemented("vision config: patch_size " +
                         std::to_string(c.patch_size) + " (facet supports 16)");
  }
  if (!(c.rope_theta > 0.f) || !std::isfinite(c.rope_theta)) {
    return InvalidArgument("vision config: rope_theta must be positive");
  }
  if (!(c.rms_eps >= 0.f) || !std::isfinite(c.rms_eps)) {
    return InvalidArgument("vision config: rms_norm_eps must be >= 0");
  }
  return OkStatus();
}

// Reads an integer key of `obj` ("vision_config.<key>" in messages).
Status JsonInt(const json& obj, const char* section, const char* key,
               bool required, int* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (!required) return OkStatus();
    return InvalidArgument(std::string("config.json: '") + section + "." + key +
                           "' is missing");
  }
  if (!it->is_number_integer() || it->get<int64_t>() < INT32_MIN ||
      it->get<int64_t>() > INT32_MAX) {
    return InvalidArgument(std::string("config.json: '") + section + "." + key +
                           "' must be an integer");
  }
  *out = static_cast<int>(it->get<int64_t>());
  return OkStatus();
}

Status JsonFloat(const json& obj, const char* section, const char* key,
                 float* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return OkStatus();
  if (!it->is_number()) {
    return InvalidArgument(std::string("config.json: '") + section + "." + key +
                           "' must be a number");
  }
  *out = it->get<float>();
  return OkStatus();
}

// Sets *out and *present from a boolean key.
Status JsonBool(const json& obj, const char* section, const char* key,
                bool* out, bool* present) {
  auto it = obj.find(key);
  *present = false;
  if (it == obj.end() || it->is_null()) return OkStatus();
  if (!it->is_boolean()) {
    return InvalidArgument(std::string("config.json: '") + section + "." + key +
                           "' must be true or false");
  }
  *out = it->get<bool>();
  *present = true;
  return OkStatus();
}

// vision_config of a Gemma4Config. Keys the reference defaults may be
// absent; use_clipped_linears and standardize, when absent, are taken from
// the tensors present (has_clip / has_std set false).
Status ParseHfConfig(const std::string& text, VisionConfig* c, bool* has_clip,
                     bool* has_std) {
  const json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    return InvalidArgument("config.json is not a JSON object");
  }
  auto vit = root.find("vision_config");
  if (vit == root.end() || vit->is_null()) {
    return NotFound("config.json has no vision_config (no vision tower)");
  }
  if (!vit->is_object()) {
    return InvalidArgument("config.json: 'vision_config' must be an object");
  }
  const json& v = *vit;
  const char* s = "vision_config";
  FACET_RETURN_IF_ERROR(JsonInt(v, s, "hidden_size", true, &c->hidden));
  FACET_RETURN_IF_ERROR(
      JsonInt(v, s, "intermediate_size", true, &c->intermediate));
  FACET_RETURN_IF_ERROR(JsonInt(v, s, "num_hidden_layers", true, &c->layers));
  FACET_RETURN_IF_ERROR(JsonInt(v, s, "num_attention_heads", true, &c->heads));
  c->head_dim = c->heads > 0 ? c->hidden / c->heads : 0;
  FACET_RETURN_IF_ERROR(JsonInt(v, s, "head_dim", false, &c->head_dim));
  int kv_heads = c->heads;
  FACET_RETURN_IF_ERROR(JsonInt(v, s, "num_key_value_heads", false, &kv_heads));
  if (kv_heads != c->heads) {
    return Unimplemented("vision_config: num_key_value_heads " +
                         std::to_string(kv_heads) + " != num_attention_heads " +
                         std::to_string(c->heads) +
                         " (the Gemma 4 vision tower has no GQA)");
  }
  FACET_RETURN_IF_ERROR(JsonInt(v, s, "patch_size", false, &c->patch_size));
  FACET_RETURN_IF_ERROR(
      JsonInt(v, s, "pooling_kernel_size", false, &c->pooling_kernel));
  FACET_RETURN_IF_ERROR(
      JsonInt(v, s, "position_embedding_size", false, &c->position_table));
  FACET_RETURN_IF_ERROR(JsonFloat(v, s, "rms_norm_eps", &c->rms_eps));
  FACET_RETURN_IF_ERROR(JsonFloat(v, s, "rope_theta", &c->rope_theta));
  auto rp = v.find("rope_parameters");
  if (rp != v.end() && !rp->is_null()) {
    if (!rp->is_object()) {
      return InvalidArgument(
          "config.json: 'vision_config.rope_parameters' must be an object");
    }
    auto type = rp->find("rope_type");
    if (type != rp->end() && !(type->is_string() && *type == "default")) {
      return Unimplemented(
          "vision_config.rope_parameters.rope_type must be 'default'");
    }
    FACET_RETURN_IF_ERROR(JsonFloat(*rp, "vision_config.rope_parameters",
                                    "rope_theta", &c->rope_theta));
  }
  auto act = v.find("hidden_activation");
  if (act != v.end() && !act->is_null() &&
      !(act->is_string() &&
        (*act == "gelu_pytorch_tanh" || *act == "gelu_tanh"))) {
    return Unimplemented(
        "vision_config.hidden_activation must be gelu_pytorch_tanh");
  }
  FACET_RETURN_IF_ERROR(
      JsonBool(v, s, "use_clipped_linears", &c->clipped_linears, has_clip));
  FACET_RETURN_IF_ERROR(
      JsonBool(v, s, "standardize", &c->standardize, has_std));
  // The soft tokens' width; from the projection's shape when absent.
  c->text_hidden = 0;
  auto tc = root.find("text_config");
  if (tc != root.end() && !tc->is_null()) {
    if (!tc->is_object()) {
      return InvalidArgument("config.json: 'text_config' must be an object");
    }
    FACET_RETURN_IF_ERROR(
        JsonInt(*tc, "text_config", "hidden_size", false, &c->text_hidden));
  }
  return OkStatus();
}

// How a linear's clamp bounds are read: HF reads all four exactly when
// use_clipped_linears is set; a GGUF file uses those it holds.
enum class ClipMode { kRequire, kIgnore, kIfPresent };

// Binds every tensor of the tower (names per `nm`) into `t`; t->c_ is
// complete except text_hidden, which is taken from the projection when 0.
Status BindTensors(const Binder& b, const Naming& nm, ClipMode clip, Tower* t) {
  VisionConfig& c = t->c_;
  const int64_t D = c.hidden, F = c.intermediate, hd = c.head_dim;
  const int64_t Q = static_cast<int64_t>(c.heads) * hd;

  // Patch embedding: HF [D][768] as is; GGUF stores the conv kernel
  // [D][3][16][16] (ne {16, 16, 3, D}), permuted here to (dy, dx, c).
  const TensorView* pt = b.Find(nm.patch());
  if (nm.gguf && pt != nullptr &&
      Trimmed(pt->shape) != std::vector<int64_t>{kPatchValues, D}) {
    FACET_ASSIGN_OR_RETURN(pt,
                           b.Get(nm.patch(), {kPatchSide, kPatchSide, 3, D}));
    const int64_t row_bytes = kernels::RowBytes(pt->dtype, kPatchValues);
    t->patch_owned_.resize(D * kPatchValues);
    std::vector<float> row(kPatchValues);
    for (int64_t o = 0; o < D; ++o) {
      kernels::DequantizeRow(pt->dtype, pt->data + o * row_bytes, row.data(),
                             kPatchValues);
      float* dst = t->patch_owned_.data() + o * kPatchValues;
      for (int ch = 0; ch < 3; ++ch) {
        for (int dy = 0; dy < kPatchSide; ++dy) {
          for (int dx = 0; dx < kPatchSide; ++dx) {
            dst[(dy * kPatchSide + dx) * 3 + ch] =
                row[(ch * kPatchSide + dy) * kPatchSide + dx];
          }
        }
      }
    }
    t->patch_.dtype = kernels::DType::kF32;
    t->patch_.data = reinterpret_cast<const uint8_t*>(t->patch_owned_.data());
    t->patch_.rows = D;
    t->patch_.cols = kPatchValues;
    t->patch_.row_bytes = kPatchValues * sizeof(float);
  } else {
    FACET_RETURN_IF_ERROR(b.GetMatrix(nm.patch(), D, kPatchValues, &t->patch_));
  }

  FACET_ASSIGN_OR_RETURN(t->pos_table_,
                         b.Get(nm.positions(), {D, c.position_table, 2}));
  {
    const kernels::DTypeInfo* info =
        kernels::GetDTypeInfo(t->pos_table_->dtype);
    if (D % info->block_elems != 0) {
      return InvalidArgument("vision tower: tensor '" + nm.positions() +
                             "' rows are not whole blocks of its type");
    }
  }

  t->layers_.resize(c.layers);
  for (int i = 0; i < c.layers; ++i) {
    Layer& L = t->layers_[i];
    const std::string pre = nm.layer(i);
    for (const LinearRole& r : kLinearRoles) {
      Linear& lin = L.*r.slot;
      const std::string base = pre + (nm.gguf ? r.gguf : r.hf);
      const bool is_down = r.slot == &Layer::down;
      const bool is_mlp_in = r.slot == &Layer::gate || r.slot == &Layer::up;
      const bool is_o = r.slot == &Layer::o;
      const int64_t rows = is_down ? D : is_mlp_in ? F : is_o ? D : Q;
      const int64_t cols = is_down ? F : is_o ? Q : D;
      FACET_RETURN_IF_ERROR(
          b.GetMatrix(nm.linear_weight(base), rows, cols, &lin.w));
      if (clip == ClipMode::kIgnore) continue;
      float* bounds[] = {&lin.in_min, &lin.in_max, &lin.out_min, &lin.out_max};
      for (int j = 0; j < 4; ++j) {
        const std::string name = base + "." + kBounds[j];
        // GGUF: a missing bound means unbounded (llama.cpp's +-FLT_MAX).
        if (clip == ClipMode::kIfPresent && b.Find(name) == nullptr) continue;
        FACET_RETURN_IF_ERROR(b.GetScalar(name, bounds[j]));
        lin.clip = true;
      }
    }
    for (const NormRole& r : kNormRoles) {
      const std::string name = pre + (nm.gguf ? r.gguf : r.hf) + ".weight";
      FACET_RETURN_IF_ERROR(
          b.GetFloats(name, {r.per_head ? hd : D}, &(L.*r.slot)));
    }
    const std::string ls = nm.layer_scalar(i);
    if (b.Find(ls) != nullptr) {
      // (inference) Applied as the text layers' layer_scalar: h *= s.
      std::vector<float> scale;
      FACET_RETURN_IF_ERROR(b.GetFloats(ls, {1}, &scale));
      L.scale = scale[0];
    }
  }
  if (c.standardize) {
    FACET_RETURN_IF_ERROR(b.GetFloats(nm.std_bias(), {D}, &t->std_bias_));
    FACET_RETURN_IF_ERROR(b.GetFloats(nm.std_scale(), {D}, &t->std_scale_));
  }
  if (c.text_hidden == 0) {
    const TensorView* e = b.Find(nm.embed());
    if (e == nullptr) return b.Get(nm.embed(), {D, 0}).status();  // names it
    if (e->dim(1) <= 0 || e->dim(1) > (1 << 20)) {
      return InvalidArgument("vision tower: tensor '" + nm.embed() +
                             "' has shape " + ShapeString(e->shape));
    }
    c.text_hidden = static_cast<int>(e->dim(1));
  }
  FACET_RETURN_IF_ERROR(b.GetMatrix(nm.embed(), c.text_hidden, D, &t->embed_));

  t->inv_freq_.resize(hd / 4);
  const double half = static_cast<double>(hd / 2);
  for (int64_t j = 0; j < hd / 4; ++j) {
    t->inv_freq_[j] = std::pow(static_cast<double>(c.rope_theta),
                               -2.0 * static_cast<double>(j) / half);
  }
  return OkStatus();
}

StatusOr<std::unique_ptr<VisionTower>> LoadHf(const std::string& dir) {
  auto t = std::make_unique<Tower>();
  FACET_ASSIGN_OR_RETURN(t->hf_, HfFolder::Open(dir));
  bool has_clip = false, has_std = false;
  FACET_RETURN_IF_ERROR(
      ParseHfConfig(t->hf_->config_json(), &t->c_, &has_clip, &has_std));
  const HfFolder* hf = t->hf_.get();
  Naming nm;
  nm.gguf = false;
  if (hf->Find(nm.patch()) == nullptr) {
    bool any = false;
    for (const TensorView* v : hf->tensors()) {
      any = any || v->name.rfind("model.vision_tower.", 0) == 0;
    }
    if (!any) {
      return NotFound(dir +
                      " has a vision_config but no model.vision_tower "
                      "tensors");
    }
  }
  // Keys absent from config.json: the reference's defaults do not say
  // what the checkpoint holds, its tensors do.
  if (!has_clip) {
    t->c_.clipped_linears =
        hf->Find(nm.layer(0) + "self_attn.q_proj.input_min") != nullptr;
  }
  if (!has_std) t->c_.standardize = hf->Find(nm.std_bias()) != nullptr;
  FACET_RETURN_IF_ERROR(CheckConfig(t->c_));
  Binder b([hf](const std::string& n) { return hf->Find(n); }, dir);
  FACET_RETURN_IF_ERROR(BindTensors(
      b, nm, t->c_.clipped_linears ? ClipMode::kRequire : ClipMode::kIgnore,
      t.get()));
  return std::unique_ptr<VisionTower>(std::move(t));
}

// A required integer metadata key: kInvalidArgument when absent (the file
// has a vision tower, so a missing key is a broken file, not "no tower").
Status GgufInt(const GgufFile& f, const std::string& key, int* out) {
  StatusOr<int64_t> v = f.GetInt(key);
  if (!v.ok()) {
    return InvalidArgument("vision tower: " + v.status().message());
  }
  if (*v <= 0 || *v > INT32_MAX) {
    return InvalidArgument("vision tower: GGUF key '" + key +
                           "' is out of range");
  }
  *out = static_cast<int>(*v);
  return OkStatus();
}

StatusOr<std::unique_ptr<VisionTower>> LoadGguf(const std::string& path) {
  auto t = std::make_unique<Tower>();
  FACET_ASSIGN_OR_RETURN(t->gguf_, GgufFile::Open(path));
  const GgufFile* f = t->gguf_.get();
  Naming nm;
  nm.gguf = true;
  const GgufValue* has = f->Find("clip.has_vision_encoder");
  if ((has != nullptr && has->is_number() && has->as_int() == 0) ||
      f->FindTensor(nm.patch()) == nullptr) {
    return NotFound(path + " has no vision encoder (no " + nm.patch() + ")");
  }
  for (const char* key :
       {"clip.vision.projector_type", "clip.projector_type"}) {
    const GgufValue* v = f->Find(key);
    if (v != nullptr && v->type == GgufType::kString) {
      if (v->str != "gemma4v") {
        return Unimplemented("vision tower: " + path + " has projector type '" +
                             v->str + "'; facet runs gemma4v");
      }
      break;
    }
  }
  VisionConfig& c = t->c_;
  FACET_RETURN_IF_ERROR(GgufInt(*f, "clip.vision.embedding_length", &c.hidden));
  FACET_RETURN_IF_ERROR(
      GgufInt(*f, "clip.vision.feed_forward_length", &c.intermediate));
  FACET_RETURN_IF_ERROR(GgufInt(*f, "clip.vision.block_count", &c.layers));
  FACET_RETURN_IF_ERROR(
      GgufInt(*f, "clip.vision.attention.head_count", &c.heads));
  if (f->Find("clip.vision.patch_size") != nullptr) {
    FACET_RETURN_IF_ERROR(GgufInt(*f, "clip.vision.patch_size", &c.patch_size));
  }
  if (f->Find("clip.vision.projector.scale_factor") != nullptr) {
    FACET_RETURN_IF_ERROR(
        GgufInt(*f, "clip.vision.projector.scale_factor", &c.pooling_kernel));
  }
  if (f->Find("clip.vision.attention.layer_norm_epsilon") != nullptr) {
    StatusOr<double> eps =
        f->GetFloat("clip.vision.attention.layer_norm_epsilon");
    if (!eps.ok())
      return InvalidArgument("vision tower: " + eps.status().message());
    c.rms_eps = static_cast<float>(*eps);
  }
  // Not in the metadata: head_dim from the q_norm width, the table rows and
  // the text width from their tensors, theta as llama.cpp hard-codes it.
  const TensorView* qn = f->FindTensor(nm.layer(0) + "attn_q_norm.weight");
  c.head_dim = qn != nullptr ? static_cast<int>(qn->dim(0))
                             : (c.heads > 0 ? c.hidden / c.heads : 0);
  const TensorView* pe = f->FindTensor(nm.positions());
  if (pe != nullptr) c.position_table = static_cast<int>(pe->dim(1));
  c.text_hidden = 0;  // from the projection's shape
  c.rope_theta = 100.f;
  c.standardize = f->FindTensor(nm.std_bias()) != nullptr;
  c.clipped_linears =
      f->FindTensor(nm.layer(0) + "attn_q.input_min") != nullptr;
  FACET_RETURN_IF_ERROR(CheckConfig(c));
  Binder b([f](const std::string& n) { return f->FindTensor(n); }, path);
  FACET_RETURN_IF_ERROR(BindTensors(b, nm, ClipMode::kIfPresent, t.get()));
  return std::unique_ptr<VisionTower>(std::move(t));
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

StatusOr<std::unique_ptr<VisionTower>> VisionTower::Load(
    const std::string& path) {
  if (EndsWith(path, ".gguf")) return LoadGguf(path);
  return LoadHf(path);
}

}  // namespace facet::gemma4
