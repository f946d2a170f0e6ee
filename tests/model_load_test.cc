// Every golden model file (GGUF and Hugging Face twins) loads, its config
// matches meta.json, and every tensor dequantizes to finite values with the
// shape the config calls for.
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gtest/gtest.h"
#include "kernels/ref/quant.h"
#include "models/gemma4/model.h"
#include "tests/test_paths.h"

namespace facet::gemma4 {
namespace {

using json = nlohmann::json;
using facet::testing::PathExists;
using facet::testing::ReadJson;
using facet::testing::SharedGolden;
using facet::testing::TestData;

void ExpectConfigMatchesMeta(const Gemma4Config& c, const json& m) {
  EXPECT_EQ(c.hidden_size, m["n_embd"].get<int>());
  EXPECT_EQ(c.num_layers, m["n_layer"].get<int>());
  EXPECT_EQ(c.num_heads, m["n_head"].get<int>());
  EXPECT_EQ(c.kv_heads_local, m["n_head_kv_swa"].get<int>());
  EXPECT_EQ(c.kv_heads_global, m["n_head_kv_full"].get<int>());
  EXPECT_EQ(c.head_dim_local, m["head_dim_swa"].get<int>());
  EXPECT_EQ(c.head_dim_global, m["head_dim_full"].get<int>());
  EXPECT_EQ(c.sliding_window, m["sliding_window"].get<int>());
  EXPECT_EQ(c.vocab_size, m["n_vocab"].get<int>());
  EXPECT_EQ(c.ple_dim, m["n_embd_per_layer"].get<int>());
  EXPECT_EQ(c.num_kv_shared_layers, m["n_kv_shared"].get<int>());
  EXPECT_EQ(c.attention_k_eq_v, m["k_eq_v_full"].get<bool>());
  EXPECT_EQ(c.num_experts, m["n_expert"].get<int>());
  EXPECT_EQ(c.top_k_experts, m["n_expert_used"].get<int>());
  EXPECT_EQ(c.moe_ffn_dim, m["n_ff_exp"].get<int>());
  EXPECT_FLOAT_EQ(c.rope_theta_global, m["rope_base_full"].get<float>());
  EXPECT_FLOAT_EQ(c.rope_theta_local, m["rope_base_swa"].get<float>());
  EXPECT_FLOAT_EQ(c.partial_rotary_global,
                  m["partial_rotary_full"].get<float>());
  EXPECT_FLOAT_EQ(c.final_logit_softcap, m["softcap"].get<float>());
  EXPECT_FLOAT_EQ(c.rms_eps, m["rms_eps"].get<float>());
  const json& types = m["layer_types"];
  ASSERT_EQ(static_cast<int>(types.size()), c.num_layers);
  const int n_ff = m["n_ff"].get<int>();
  for (int l = 0; l < c.num_layers; ++l) {
    const LayerConfig& lc = c.layers[l];
    EXPECT_EQ(lc.kind == AttentionKind::kSliding, types[l] == "swa") << l;
    const bool shared = l >= c.first_shared_layer();
    const bool wide = m["double_wide_mlp"].get<bool>() && shared;
    EXPECT_EQ(lc.ffn_dim, wide ? 2 * n_ff : n_ff) << l;
    EXPECT_EQ(lc.owns_kv(l), !shared) << l;
  }
}

void CheckModel(const std::string& path, const json& meta_config) {
  SCOPED_TRACE(path);
  auto m = Model::Load(path);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const Gemma4Config& c = (*m)->config();
  ExpectConfigMatchesMeta(c, meta_config);
  // Every expected tensor is present (dead ones may be) with its shape.
  std::vector<TensorSpec> specs = ExpectedTensors(c);
  int bound = 0;
  for (const TensorSpec& s : specs) bound += s.required;
  // Every tensor in the file dequantizes with the expected element count.
  int n = 0;
  for (const TensorView* t : (*m)->AllTensors()) {
    std::vector<float> buf(t->elements());
    kernels::DequantizeRow(t->dtype, t->data, buf.data(), t->elements());
    for (float v : buf) {
      ASSERT_TRUE(std::isfinite(v)) << t->name;
    }
    EXPECT_EQ(kernels::RowBytes(t->dtype, t->elements()),
              static_cast<int64_t>(t->nbytes))
        << t->name;
    ++n;
  }
  EXPECT_GE(n, bound);
  const Weights& w = (*m)->weights();
  ASSERT_NE(w.token_embd, nullptr);
  EXPECT_EQ(w.token_embd->dim(0), c.hidden_size);
  EXPECT_EQ(w.token_embd->dim(1), c.vocab_size);
  for (int l = 0; l < c.num_layers; ++l) {
    const LayerWeights& lw = w.layers[l];
    EXPECT_NE(lw.q, nullptr);
    EXPECT_EQ(lw.q->dim(1), c.num_heads * c.layers[l].head_dim);
    EXPECT_EQ(lw.gate->dim(1), c.layers[l].ffn_dim);
    EXPECT_EQ(lw.k != nullptr, c.layers[l].owns_kv(l));
    EXPECT_EQ(lw.v != nullptr, c.layers[l].owns_kv(l) && !c.layers[l].k_eq_v);
    EXPECT_EQ(lw.router != nullptr, c.is_moe());
    EXPECT_EQ(lw.ple_gate != nullptr, c.ple_dim > 0);
  }
}

TEST(ModelLoadTest, EveryGoldenModelLoadsAndMatchesMeta) {
  int checked = 0;
  for (const char* v : {"e2b", "dense", "moe"}) {
    for (const char* dt : {"f32", "q8_0", "q4_0"}) {
      std::string dir =
          TestData("golden/" + std::string(v) + "-tiny-" + dt + "-s16");
      json meta = ReadJson(dir + "/meta.json");
      ASSERT_FALSE(meta.is_discarded()) << dir;
      CheckModel(dir + "/model.gguf", meta["config"]);
      ++checked;
    }
    std::string dir = TestData("golden/" + std::string(v) + "-tiny-f32-s16");
    json meta = ReadJson(dir + "/meta.json");
    CheckModel(TestData("golden/" + std::string(v) + "-tiny-hf-bf16"),
               meta["config"]);
    ++checked;
    if (!SharedGolden().empty()) {
      CheckModel(SharedGolden() + "/" + v + "-tiny-hf", meta["config"]);
      ++checked;
    }
  }
  EXPECT_GE(checked, 12);
}

TEST(ModelLoadTest, GgufAndHfTwinBindTheSameWeights) {
  auto g = Model::Load(TestData("golden/moe-tiny-f32-s16/model.gguf"));
  auto h = Model::Load(TestData("golden/moe-tiny-hf-bf16"));
  ASSERT_TRUE(g.ok() && h.ok());
  const Weights& a = (*g)->weights();
  const Weights& b = (*h)->weights();
  // bf16 twin = f32 weights rounded: compare one expert matrix closely.
  const TensorView* ta = a.layers[1].gate_up_exps;
  const TensorView* tb = b.layers[1].gate_up_exps;
  ASSERT_EQ(ta->shape, tb->shape);
  std::vector<float> fa(ta->elements()), fb(tb->elements());
  kernels::DequantizeRow(ta->dtype, ta->data, fa.data(), ta->elements());
  kernels::DequantizeRow(tb->dtype, tb->data, fb.data(), tb->elements());
  for (size_t i = 0; i < fa.size(); ++i) {
    ASSERT_NEAR(fa[i], fb[i], std::fabs(fa[i]) / 128 + 1e-30) << i;
  }
}

}  // namespace
}  // namespace facet::gemma4
