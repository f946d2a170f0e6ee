#include "models/gemma4/mtp_drafter.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>

#include "kernels/ref/fp16.h"
#include "kernels/ref/quant.h"
#include "models/gemma4/text_model.h"
#include "models/gemma4/text_state.h"
#include "src/io/tensor_matrix.h"
#include "src/util/json_brief.h"
#include "src/util/status_macros.h"

namespace facet::gemma4 {
namespace {

using json = nlohmann::json;
using kernels::DType;
using kernels::Matrix;

// Reads the fields of one config.json object; errors name the object.
class ConfigReader {
 public:
  ConfigReader(const json& obj, std::string where)
      : o_(obj), where_(std::move(where)) {}

  // An integer in [lo, hi]; null counts as absent (then *out is kept).
  Status Int(const char* key, int64_t lo, int64_t hi, bool required,
             int64_t* out) const {
    const json* v = Get(key);
    if (v == nullptr) {
      return required ? Bad(key, "is missing") : OkStatus();
    }
    if (!v->is_number_integer()) {
      return Bad(key, "must be an integer, got " + BriefJson(*v));
    }
    const int64_t x = v->get<int64_t>();
    if (x < lo || x > hi) {
      return Bad(key, "must be in " + std::to_string(lo) + ".." +
                          std::to_string(hi) + ", got " + std::to_string(x));
    }
    *out = x;
    return OkStatus();
  }
  Status Int32(const char* key, int64_t lo, int64_t hi, bool required,
               int* out) const {
    int64_t x = *out;
    FACET_RETURN_IF_ERROR(Int(key, lo, hi, required, &x));
    *out = static_cast<int>(x);
    return OkStatus();
  }
  Status Bool(const char* key, bool* out) const {
    const json* v = Get(key);
    if (v == nullptr) return OkStatus();
    if (!v->is_boolean()) return Bad(key, "must be true or false");
    *out = v->get<bool>();
    return OkStatus();
  }
  Status Number(const char* key, double* out) const {
    const json* v = Get(key);
    if (v == nullptr) return OkStatus();
    if (!v->is_number()) {
      return Bad(key, "must be a number, got " + BriefJson(*v));
    }
    *out = v->get<double>();
    return OkStatus();
  }
  const json* Get(const char* key) const {
    auto it = o_.find(key);
    return it == o_.end() || it->is_null() ? nullptr : &*it;
  }
  Status Bad(const char* key, const std::string& what) const {
    return InvalidArgument(where_ + "'" + key + "' " + what);
  }

 private:
  const json& o_;
  std::string where_;
};

bool SameFloat(double a, double b) {
  return std::fabs(a - b) <= 1e-6 * std::max(std::fabs(a), std::fabs(b));
}

void Resize(std::vector<float>* v, size_t n) {
  if (v->size() < n) v->resize(n);
}

// Per-thread activations of a draft step (sessions draft concurrently).
struct StepScratch {
  std::vector<float> u, x, a, q, att, o, gate, up, hn, rope, head, cand, m, l,
      acc, kbuf, vbuf;
  std::vector<int> order;
};

}  // namespace

StatusOr<std::unique_ptr<MtpDrafter>> MtpDrafter::Load(
    const std::string& dir, const Model& target,
    const MtpDrafterOptions& options) {
  std::unique_ptr<MtpDrafter> d(new MtpDrafter(target));
  d->options_ = options;
  FACET_ASSIGN_OR_RETURN(d->folder_, HfFolder::Open(dir));
  FACET_RETURN_IF_ERROR(d->Bind(*d->folder_));
  return d;
}

Status MtpDrafter::Bind(const HfFolder& folder) {
  const Gemma4Config& tc = target_.config();
  // 1. config.json (spec 2.2).
  const json root =
      json::parse(folder.config_json(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    return InvalidArgument("drafter config.json is not a JSON object");
  }
  const ConfigReader top(root, "drafter config.json: ");
  {
    const json* mt = top.Get("model_type");
    const std::string type =
        mt != nullptr && mt->is_string() ? mt->get<std::string>() : "";
    if (type != "gemma4_assistant") {
      return InvalidArgument(
          "drafter config.json: model_type is '" + type +
          "', not 'gemma4_assistant' (a Gemma 4 MTP drafter checkpoint)");
    }
  }
  const json* tcj = top.Get("text_config");
  if (tcj == nullptr || !tcj->is_object()) {
    return InvalidArgument("drafter config.json: 'text_config' is missing");
  }
  const ConfigReader t(*tcj, "drafter config.json: text_config.");
  MtpDrafterConfig& c = config_;
  constexpr int64_t kMaxDim = 1 << 20;
  FACET_RETURN_IF_ERROR(
      top.Int32("backbone_hidden_size", 1, kMaxDim, true, &c.backbone_hidden));
  FACET_RETURN_IF_ERROR(
      top.Bool("use_ordered_embeddings", &c.ordered_embeddings));
  FACET_RETURN_IF_ERROR(t.Int32("hidden_size", 1, kMaxDim, true, &c.hidden));
  FACET_RETURN_IF_ERROR(
      t.Int32("num_hidden_layers", 1, 64, true, &c.num_layers));
  FACET_RETURN_IF_ERROR(
      t.Int32("num_attention_heads", 1, 1024, true, &c.num_heads));
  FACET_RETURN_IF_ERROR(
      t.Int32("intermediate_size", 1, 1 << 28, true, &c.ffn_dim));
  FACET_RETURN_IF_ERROR(
      t.Int("vocab_size", 1, int64_t{1} << 31, true, &c.vocab_size));
  c.sliding_window = tc.sliding_window;
  FACET_RETURN_IF_ERROR(
      t.Int32("sliding_window", 1, INT32_MAX, false, &c.sliding_window));
  double eps = 1e-6;
  FACET_RETURN_IF_ERROR(t.Number("rms_norm_eps", &eps));
  if (!(eps > 0 && eps < 1)) return t.Bad("rms_norm_eps", "must be in (0, 1)");
  c.rms_eps = static_cast<float>(eps);
  int head_dim = 0, global_head_dim = 0, kv_heads = 0, global_kv_heads = 0;
  FACET_RETURN_IF_ERROR(t.Int32("head_dim", 1, 65536, true, &head_dim));
  global_head_dim = head_dim;
  FACET_RETURN_IF_ERROR(
      t.Int32("global_head_dim", 1, 65536, false, &global_head_dim));
  FACET_RETURN_IF_ERROR(
      t.Int32("num_key_value_heads", 1, 1024, true, &kv_heads));
  global_kv_heads = kv_heads;
  bool k_eq_v = false;
  FACET_RETURN_IF_ERROR(t.Bool("attention_k_eq_v", &k_eq_v));
  if (k_eq_v) {
    FACET_RETURN_IF_ERROR(t.Int32("num_global_key_value_heads", 1, 1024, false,
                                  &global_kv_heads));
  }
  // What HF's validate_architecture refuses.
  {
    int64_t ple = 0, ple_vocab = 0;
    bool moe = false, double_wide = false;
    FACET_RETURN_IF_ERROR(
        t.Int("hidden_size_per_layer_input", 0, kMaxDim, false, &ple));
    FACET_RETURN_IF_ERROR(t.Int("vocab_size_per_layer_input", 0,
                                int64_t{1} << 31, false, &ple_vocab));
    FACET_RETURN_IF_ERROR(t.Bool("enable_moe_block", &moe));
    FACET_RETURN_IF_ERROR(t.Bool("use_double_wide_mlp", &double_wide));
    if (ple != 0 || ple_vocab != 0 || moe || double_wide) {
      return InvalidArgument(
          "drafter config.json: a drafter has no per-layer inputs, MoE "
          "block or double-wide MLP");
    }
    int64_t shared = 0;
    FACET_RETURN_IF_ERROR(
        t.Int("num_kv_shared_layers", 0, c.num_layers, false, &shared));
    if (shared != 0 && shared != c.num_layers) {
      return t.Bad("num_kv_shared_layers",
                   "must equal num_hidden_layers (every drafter layer reads "
                   "the target's K/V)");
    }
    const json* act = t.Get("hidden_activation");
    if (act != nullptr &&
        (!act->is_string() || *act != std::string("gelu_pytorch_tanh"))) {
      return t.Bad("hidden_activation", "must be gelu_pytorch_tanh");
    }
  }
  {
    const json* lt = t.Get("layer_types");
    if (lt == nullptr || !lt->is_array() ||
        lt->size() != static_cast<size_t>(c.num_layers)) {
      return t.Bad("layer_types",
                   "must be an array of num_hidden_layers entries");
    }
    for (const json& v : *lt) {
      if (v == "sliding_attention") {
        c.kinds.push_back(AttentionKind::kSliding);
      } else if (v == "full_attention") {
        c.kinds.push_back(AttentionKind::kFull);
      } else {
        return t.Bad("layer_types", "has an unknown entry " + BriefJson(v));
      }
    }
  }
  if (c.ordered_embeddings) {
    c.num_centroids = 2048;
    c.centroid_top_k = 32;
    FACET_RETURN_IF_ERROR(
        top.Int32("num_centroids", 1, c.vocab_size, false, &c.num_centroids));
    FACET_RETURN_IF_ERROR(top.Int32("centroid_intermediate_top_k", 1,
                                    c.num_centroids, false, &c.centroid_top_k));
    if (c.vocab_size % c.num_centroids != 0) {
      return top.Bad("num_centroids", "must divide the vocabulary size " +
                                          std::to_string(c.vocab_size));
    }
  }

  // 2. Does it fit the target (spec 2.2)?
  auto mismatch = [](const std::string& what, int64_t drafter, int64_t tgt) {
    return FailedPrecondition(
        "the drafter does not match the target model: " + what + " " +
        std::to_string(drafter) + " vs the target's " + std::to_string(tgt));
  };
  if (c.backbone_hidden != tc.hidden_size) {
    return mismatch("backbone_hidden_size", c.backbone_hidden, tc.hidden_size);
  }
  if (c.vocab_size != tc.vocab_size) {
    return mismatch("vocab_size", c.vocab_size, tc.vocab_size);
  }
  // Each type reads the last KV-owning target layer of that type.
  for (int l = 0; l < tc.num_layers; ++l) {
    if (!tc.layers[l].owns_kv(l)) continue;
    (tc.layers[l].kind == AttentionKind::kSliding ? src_sliding_ : src_full_) =
        l;
  }
  const json* rope = t.Get("rope_parameters");
  for (int l = 0; l < c.num_layers; ++l) {
    const bool sliding = c.kinds[l] == AttentionKind::kSliding;
    const int src = sliding ? src_sliding_ : src_full_;
    const char* type = sliding ? "sliding" : "full";
    if (src < 0) {
      return FailedPrecondition(
          std::string("the drafter does not match the target model: it has "
                      "a ") +
          type + " attention layer, the target no KV-owning one");
    }
    const LayerConfig& tl = tc.layers[src];
    const int d = sliding ? head_dim : global_head_dim;
    const int nkv = sliding ? kv_heads : global_kv_heads;
    if (d != tl.head_dim) {
      return mismatch(std::string(type) + " head dim", d, tl.head_dim);
    }
    if (nkv != tl.n_kv_heads) {
      return mismatch(std::string(type) + " KV heads", nkv, tl.n_kv_heads);
    }
    if (c.num_heads % nkv != 0) {
      return InvalidArgument("drafter config.json: num_attention_heads " +
                             std::to_string(c.num_heads) +
                             " is not a multiple of the " + type +
                             " KV heads " + std::to_string(nkv));
    }
  }
  if (rope != nullptr && rope->is_object()) {
    // RoPE must be the target's: the query meets keys it rotated.
    const json sl_obj = rope->value("sliding_attention", json::object());
    const json fu_obj = rope->value("full_attention", json::object());
    const ConfigReader sl(sl_obj, "drafter rope_parameters.sliding_attention.");
    const ConfigReader fu(fu_obj, "drafter rope_parameters.full_attention.");
    double th_s = tc.rope_theta_local, th_f = tc.rope_theta_global,
           prf = tc.partial_rotary_global;
    FACET_RETURN_IF_ERROR(sl.Number("rope_theta", &th_s));
    FACET_RETURN_IF_ERROR(fu.Number("rope_theta", &th_f));
    FACET_RETURN_IF_ERROR(fu.Number("partial_rotary_factor", &prf));
    if (!SameFloat(th_s, tc.rope_theta_local) ||
        !SameFloat(th_f, tc.rope_theta_global) ||
        !SameFloat(prf, tc.partial_rotary_global)) {
      return FailedPrecondition(
          "the drafter does not match the target model: its RoPE parameters "
          "differ from the target's");
    }
  }

  // 3. Tensors (spec 3.1), shapes in ggml order {in, out}.
  auto find = [&](const std::string& name, std::vector<int64_t> shape,
                  const TensorView** out) -> Status {
    const TensorView* tv = folder.Find(name);
    if (tv == nullptr) {
      return InvalidArgument("drafter: tensor '" + name + "' is missing");
    }
    const bool index = name == "masked_embedding.token_ordering";
    const bool ok_type =
        index ? (tv->dtype == DType::kI64 || tv->dtype == DType::kI32)
              : (tv->dtype == DType::kF32 || tv->dtype == DType::kF16 ||
                 tv->dtype == DType::kBF16);
    if (!ok_type) {
      return InvalidArgument(
          "drafter: tensor '" + name + "' has type " +
          kernels::DTypeName(static_cast<uint32_t>(tv->dtype)));
    }
    // A [1] scalar may also be stored 0-d.
    if (tv->shape != shape &&
        !(shape == std::vector<int64_t>{1} && tv->shape.empty())) {
      return InvalidArgument("drafter: tensor '" + name + "' has shape " +
                             ShapeString(tv->shape) + ", expected " +
                             ShapeString(shape));
    }
    *out = tv;
    return OkStatus();
  };
  auto vec = [&](const std::string& name, int64_t n,
                 std::vector<float>* out) -> Status {
    const TensorView* tv = nullptr;
    FACET_RETURN_IF_ERROR(find(name, {n}, &tv));
    *out = TensorToF32(tv);
    return OkStatus();
  };
  auto mat = [&](const std::string& name, int64_t in, int64_t out_rows,
                 Matrix* out) -> Status {
    const TensorView* tv = nullptr;
    FACET_RETURN_IF_ERROR(find(name, {in, out_rows}, &tv));
    *out = MatrixOf(tv);
    return OkStatus();
  };
  const int64_t Hb = c.backbone_hidden, Hd = c.hidden, V = c.vocab_size;
  FACET_RETURN_IF_ERROR(mat("pre_projection.weight", 2 * Hb, Hd, &pre_));
  FACET_RETURN_IF_ERROR(mat("post_projection.weight", Hd, Hb, &post_));
  FACET_RETURN_IF_ERROR(vec("model.norm.weight", Hd, &final_norm_));
  layers_.resize(c.num_layers);
  for (int l = 0; l < c.num_layers; ++l) {
    Layer& L = layers_[l];
    const std::string p = "model.layers." + std::to_string(l) + ".";
    L.kind = c.kinds[l];
    L.src = L.kind == AttentionKind::kSliding ? src_sliding_ : src_full_;
    const LayerConfig& tl = tc.layers[L.src];
    L.head_dim = tl.head_dim;
    L.n_kv = tl.n_kv_heads;
    L.rope_pairs = tl.rope_pairs;
    // The target's frequencies (text.cc): proportional RoPE divides by
    // the whole head dim and rotates only rope_pairs pairs.
    L.rope_inv_freq.assign(L.head_dim / 2, 0.f);
    for (int j = 0; j < L.rope_pairs; ++j) {
      L.rope_inv_freq[j] = static_cast<float>(
          std::pow(static_cast<double>(tl.rope_theta),
                   -2.0 * j / static_cast<double>(L.head_dim)));
    }
    const int64_t qd = int64_t{c.num_heads} * L.head_dim;
    FACET_RETURN_IF_ERROR(mat(p + "self_attn.q_proj.weight", Hd, qd, &L.q));
    FACET_RETURN_IF_ERROR(mat(p + "self_attn.o_proj.weight", qd, Hd, &L.o));
    FACET_RETURN_IF_ERROR(
        mat(p + "mlp.gate_proj.weight", Hd, c.ffn_dim, &L.gate));
    FACET_RETURN_IF_ERROR(mat(p + "mlp.up_proj.weight", Hd, c.ffn_dim, &L.up));
    FACET_RETURN_IF_ERROR(
        mat(p + "mlp.down_proj.weight", c.ffn_dim, Hd, &L.down));
    FACET_RETURN_IF_ERROR(vec(p + "input_layernorm.weight", Hd, &L.attn_norm));
    FACET_RETURN_IF_ERROR(
        vec(p + "self_attn.q_norm.weight", L.head_dim, &L.q_norm));
    FACET_RETURN_IF_ERROR(
        vec(p + "post_attention_layernorm.weight", Hd, &L.post_attn_norm));
    FACET_RETURN_IF_ERROR(
        vec(p + "pre_feedforward_layernorm.weight", Hd, &L.ffn_norm));
    FACET_RETURN_IF_ERROR(
        vec(p + "post_feedforward_layernorm.weight", Hd, &L.post_ffw_norm));
    std::vector<float> scalar;
    FACET_RETURN_IF_ERROR(vec(p + "layer_scalar", 1, &scalar));
    L.scalar = scalar[0];
  }
  const TensorView* embed = nullptr;
  FACET_RETURN_IF_ERROR(find("model.embed_tokens.weight", {Hd, V}, &embed));
  head_ = MatrixOf(embed);
  if (c.ordered_embeddings) {
    const TensorView* order = nullptr;
    FACET_RETURN_IF_ERROR(mat("masked_embedding.centroids.weight", Hd,
                              c.num_centroids, &centroids_));
    FACET_RETURN_IF_ERROR(find("masked_embedding.token_ordering", {V}, &order));
    // A permutation of the vocabulary, or clusters would overlap.
    row_token_.resize(V);
    std::vector<uint8_t> seen(V, 0);
    for (int64_t r = 0; r < V; ++r) {
      int64_t id = 0;
      if (order->dtype == DType::kI64) {
        std::memcpy(&id, order->data + r * 8, 8);
      } else {
        int32_t id32 = 0;
        std::memcpy(&id32, order->data + r * 4, 4);
        id = id32;
      }
      if (id < 0 || id >= V || seen[id]) {
        return InvalidArgument(
            "drafter: masked_embedding.token_ordering is not a permutation "
            "of the vocabulary (entry " +
            std::to_string(r) + " is " + std::to_string(id) + ")");
      }
      seen[id] = 1;
      row_token_[r] = static_cast<int32_t>(id);
    }
    if (!options_.dense_head) {
      // Rows in cluster order, so a cluster is one contiguous slab.
      ordered_head_.resize(static_cast<size_t>(V * head_.row_bytes));
      for (int64_t r = 0; r < V; ++r) {
        std::memcpy(ordered_head_.data() + r * head_.row_bytes,
                    head_.row(row_token_[r]), head_.row_bytes);
      }
      head_.data = ordered_head_.data();
    }
  }
  // Input tokens use the target's table and scale (text.cc: bf16(sqrt(H))
  // for bf16 tables).
  embed_scale_ = std::sqrt(static_cast<float>(tc.hidden_size));
  if (target_.weights().token_embd->dtype == DType::kBF16) {
    embed_scale_ = kernels::Bf16ToFp32(kernels::Fp32ToBf16(embed_scale_));
  }
  return OkStatus();
}

void MtpDrafter::Attend(const Layer& L, const KvCache& cache, int64_t q,
                        int64_t floor, const float* qv, float* out) const {
  const kernels::KernelTable& kt = kernels::Kernels();
  const int64_t d = L.head_dim, nkv = L.n_kv;
  const int64_t group = config_.num_heads / nkv;
  // Cached keys before the query's position (0..q-1; 0..q-2 with the
  // query at q-1, as the golden's vLLM variant), the sliding layers'
  // window by the chosen rule.
  int64_t lo = 0;
  const int64_t hi = options_.query_at_last_cached ? q - 2 : q - 1;
  if (L.kind == AttentionKind::kSliding) {
    const int64_t W = config_.sliding_window;
    if (options_.window == DraftWindow::kHf) lo = q - W - 1;
    if (options_.window == DraftWindow::kCausal) lo = q - W + 1;
    // Never past what the target's ring keeps for its own window.
    lo = std::max<int64_t>(lo, q - target_.config().sliding_window - 1);
  }
  lo = std::max<int64_t>({lo, floor, 0});
  const DType kty = cache.k_type(), vty = cache.v_type();
  const bool k_f32 = kty == DType::kF32, v_f32 = vty == DType::kF32;
  const kernels::LoadKvFn load_k =
      kty == DType::kF16 ? kt.load_kv_f16 : kt.load_kv_q8_0;
  const kernels::LoadKvFn load_v =
      vty == DType::kF16 ? kt.load_kv_f16 : kt.load_kv_q8_0;
  const int64_t k_head = kernels::RowBytes(kty, d);
  const int64_t v_head = kernels::RowBytes(vty, d);
  thread_local std::vector<float> kbuf, vbuf, acc;
  Resize(&kbuf, kernels::kAttnTile * d);
  Resize(&vbuf, kernels::kAttnTile * d);
  Resize(&acc, kernels::kAttnMaxQ * d);
  const float* kp[kernels::kAttnTile];
  const float* vp[kernels::kAttnTile];
  const uint8_t* raw[kernels::kAttnTile];
  float m[kernels::kAttnMaxQ], l[kernels::kAttnMaxQ];
  for (int64_t g = 0; g < nkv; ++g) {
    // The group's query heads, up to kAttnMaxQ at a time.
    for (int64_t h0 = g * group; h0 < (g + 1) * group;
         h0 += kernels::kAttnMaxQ) {
      const int nq = static_cast<int>(
          std::min<int64_t>(kernels::kAttnMaxQ, (g + 1) * group - h0));
      std::fill(acc.begin(), acc.begin() + nq * d, 0.f);
      std::fill(m, m + nq, -INFINITY);
      std::fill(l, l + nq, 0.f);
      for (int64_t j0 = lo; j0 <= hi; j0 += kernels::kAttnTile) {
        const int count = static_cast<int>(
            std::min<int64_t>(kernels::kAttnTile, hi + 1 - j0));
        // The tile's K and V rows of group g: in the cache when f32, else
        // widened into kbuf / vbuf.
        for (int j = 0; j < count; ++j) {
          raw[j] = cache.KRow(L.src, j0 + j) + g * k_head;
          kp[j] = k_f32 ? reinterpret_cast<const float*>(raw[j])
                        : kbuf.data() + j * d;
        }
        if (!k_f32) load_k(raw, count, d, kbuf.data());
        for (int j = 0; j < count; ++j) {
          raw[j] = cache.VRow(L.src, j0 + j) + g * v_head;
          vp[j] = v_f32 ? reinterpret_cast<const float*>(raw[j])
                        : vbuf.data() + j * d;
        }
        if (!v_f32) load_v(raw, count, d, vbuf.data());
        // Scale 1.0: q_norm and the target's k_norm replace 1/sqrt(d).
        kt.attend_tile(qv + h0 * d, d, nq, kp, vp, count, d, 1.0f, m, l,
                       acc.data());
      }
      for (int i = 0; i < nq; ++i) {
        float* o = out + (h0 + i) * d;
        const float inv = l[i] > 0 ? 1.0f / l[i] : 0.f;
        for (int64_t c2 = 0; c2 < d; ++c2) o[c2] = acc[i * d + c2] * inv;
      }
    }
  }
}

Status MtpDrafter::Step(const KvCache& cache, int64_t q, int64_t floor,
                        int token, const float* h, kernels::ThreadPool* pool,
                        float* h_out, int* draft, float* logits,
                        float* centroid_scores) const {
  const MtpDrafterConfig& c = config_;
  const int64_t Hb = c.backbone_hidden, Hd = c.hidden, V = c.vocab_size;
  if (token < 0 || token >= V) {
    return InvalidArgument("drafter: token " + std::to_string(token) +
                           " is outside the vocabulary");
  }
  if (q < (options_.query_at_last_cached ? 2 : 1) || q > cache.context()) {
    return InvalidArgument("drafter: position " + std::to_string(q) +
                           " has no cached context to read");
  }
  const kernels::KernelTable& kt = kernels::Kernels();
  thread_local StepScratch s;
  const float eps = c.rms_eps;
  // u = [E_tgt[token] * scale ; h] (spec 4.1): [2 Hb].
  Resize(&s.u, 2 * Hb);
  const Matrix emb = MatrixOf(target_.weights().token_embd);
  kernels::DequantizeRow(emb.dtype, emb.row(token), s.u.data(), Hb);
  for (int64_t i = 0; i < Hb; ++i) s.u[i] *= embed_scale_;
  std::copy(h, h + Hb, s.u.data() + Hb);
  // x: [Hd] residual stream.
  Resize(&s.x, Hd);
  Resize(&s.a, Hd);
  Resize(&s.o, Hd);
  kernels::MatMul(pre_, s.u.data(), 1, s.x.data(), pool);
  const int64_t pos = options_.query_at_last_cached ? q - 1 : q;
  for (const Layer& L : layers_) {
    const int64_t d = L.head_dim, qd = int64_t{c.num_heads} * d;
    kt.rms_norm(s.x.data(), L.attn_norm.data(), s.a.data(), 1, Hd, eps);
    // q: [n_h][d], per-head q_norm, then the target's RoPE at `pos`.
    Resize(&s.q, qd);
    Resize(&s.att, qd);
    Resize(&s.rope, d);
    kernels::MatMul(L.q, s.a.data(), 1, s.q.data(), pool);
    kt.rms_norm(s.q.data(), L.q_norm.data(), s.q.data(), c.num_heads, d, eps);
    kernels::RopeAngles(L.rope_inv_freq.data(), L.rope_pairs, pos,
                        s.rope.data(), s.rope.data() + d / 2);
    kt.rope(s.q.data(), c.num_heads, d, L.rope_pairs, s.rope.data(),
            s.rope.data() + d / 2);
    Attend(L, cache, q, floor, s.q.data(), s.att.data());
    kernels::MatMul(L.o, s.att.data(), 1, s.o.data(), pool);
    kt.rms_norm(s.o.data(), L.post_attn_norm.data(), s.o.data(), 1, Hd, eps);
    for (int64_t i = 0; i < Hd; ++i) s.x[i] += s.o[i];
    // GeGLU MLP: [I].
    kt.rms_norm(s.x.data(), L.ffn_norm.data(), s.a.data(), 1, Hd, eps);
    Resize(&s.gate, c.ffn_dim);
    Resize(&s.up, c.ffn_dim);
    kernels::MatMul(L.gate, s.a.data(), 1, s.gate.data(), pool);
    kernels::MatMul(L.up, s.a.data(), 1, s.up.data(), pool);
    kt.gelu_tanh_mul(s.gate.data(), s.up.data(), s.gate.data(), c.ffn_dim);
    kernels::MatMul(L.down, s.gate.data(), 1, s.o.data(), pool);
    kt.rms_norm(s.o.data(), L.post_ffw_norm.data(), s.o.data(), 1, Hd, eps);
    for (int64_t i = 0; i < Hd; ++i) s.x[i] = (s.x[i] + s.o[i]) * L.scalar;
  }
  // hn [Hd] feeds the head; h' = hn W_post^T [Hb] the next step.
  Resize(&s.hn, Hd);
  kt.rms_norm(s.x.data(), final_norm_.data(), s.hn.data(), 1, Hd, eps);
  kernels::MatMul(post_, s.hn.data(), 1, h_out, pool);

  if (!c.ordered_embeddings || options_.dense_head) {
    // Dense tied head: [V]; no softcap (spec 4.4).
    Resize(&s.head, V);
    kernels::MatMul(head_, s.hn.data(), 1, s.head.data(), pool);
    *draft = static_cast<int>(
        std::max_element(s.head.begin(), s.head.begin() + V) - s.head.begin());
    if (logits != nullptr) std::copy_n(s.head.data(), V, logits);
    return OkStatus();
  }
  // Centroid-masked head (spec 4.5): score the clusters [NC], keep the
  // top K, and score only their P tokens each.
  const int NC = c.num_centroids, K = c.centroid_top_k;
  const int64_t P = V / NC;
  Resize(&s.head, NC);
  kernels::MatMul(centroids_, s.hn.data(), 1, s.head.data(), pool);
  if (centroid_scores != nullptr)
    std::copy_n(s.head.data(), NC, centroid_scores);
  s.order.resize(NC);
  std::iota(s.order.begin(), s.order.end(), 0);
  const float* score = s.head.data();
  std::partial_sort(s.order.begin(), s.order.begin() + K, s.order.end(),
                    [score](int a, int b) {
                      return score[a] > score[b] ||
                             (score[a] == score[b] && a < b);
                    });
  Resize(&s.cand, K * P);
  for (int i = 0; i < K; ++i) {
    Matrix slab = head_;
    slab.data = head_.row(s.order[i] * P);
    slab.rows = P;
    kernels::MatMul(slab, s.hn.data(), 1, s.cand.data() + i * P, pool);
  }
  // Greedy: the best candidate, the lower id on ties (as argmax of the
  // full row would).
  int best = -1;
  float best_v = -INFINITY, lowest = INFINITY;
  for (int i = 0; i < K; ++i) {
    for (int64_t j = 0; j < P; ++j) {
      const float v = s.cand[i * P + j];
      const int id = row_token_[s.order[i] * P + j];
      lowest = std::min(lowest, v);
      if (best < 0 || v > best_v || (v == best_v && id < best)) {
        best = id;
        best_v = v;
      }
    }
  }
  *draft = best;
  if (logits != nullptr) {
    // HF fills the other tokens with the candidates' minimum - 1.
    std::fill(logits, logits + V, lowest - 1.f);
    for (int i = 0; i < K; ++i) {
      for (int64_t j = 0; j < P; ++j) {
        logits[row_token_[s.order[i] * P + j]] = s.cand[i * P + j];
      }
    }
  }
  return OkStatus();
}

Status MtpDrafter::Draft(const TextState& state, const float* hidden, int token,
                         int k, kernels::ThreadPool* pool,
                         std::vector<int>* out) const {
  out->clear();
  const int64_t q = state.position();
  if (k <= 0 || q < (options_.query_at_last_cached ? 2 : 1)) {
    return OkStatus();
  }
  // h carries from step to step (spec 5): the target's row first.
  thread_local std::vector<float> h;
  h.assign(hidden, hidden + config_.backbone_hidden);
  int tok = token;
  for (int i = 0; i < k; ++i) {
    int next = -1;
    FACET_RETURN_IF_ERROR(Step(state.cache, q, state.floor_, tok, h.data(),
                               pool, h.data(), &next));
    out->push_back(next);
    tok = next;
  }
  return OkStatus();
}

namespace {

class MtpDraftModel : public DraftModel {
 public:
  explicit MtpDraftModel(std::unique_ptr<MtpDrafter> d) : d_(std::move(d)) {}
  Status Draft(const ModelState& target, int hidden_row, int token, int k,
               kernels::ThreadPool* pool,
               std::vector<int>* out) const override {
    out->clear();
    const TextState* st = dynamic_cast<const TextState*>(&target);
    if (st == nullptr) {
      return InvalidArgument("the MTP drafter reads a Gemma 4 text state");
    }
    // The target's final-normed rows of its last forward with logits.
    const size_t H = static_cast<size_t>(d_->config().backbone_hidden);
    if (hidden_row < 0 || st->scratch.logits_h.size() <
                              (static_cast<size_t>(hidden_row) + 1) * H) {
      return OkStatus();
    }
    return d_->Draft(*st, st->scratch.logits_h.data() + hidden_row * H, token,
                     k, pool, out);
  }

 private:
  std::unique_ptr<MtpDrafter> d_;
};

}  // namespace

StatusOr<std::unique_ptr<DraftModel>> LoadMtpDraftModel(
    const std::string& dir, const LanguageModel& target) {
  const Model* m = ModelOf(target);
  if (m == nullptr) {
    return FailedPrecondition("the MTP drafter needs a Gemma 4 target model");
  }
  FACET_ASSIGN_OR_RETURN(std::unique_ptr<MtpDrafter> d,
                         MtpDrafter::Load(dir, *m));
  return std::unique_ptr<DraftModel>(new MtpDraftModel(std::move(d)));
}

}  // namespace facet::gemma4
