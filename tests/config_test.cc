// Gemma4Config presets against the table in spec/gemma4-text.md section 1,
// and Validate() on inconsistent configs.
#include "models/gemma4/config.h"

#include "gtest/gtest.h"
#include "models/gemma4/kv_cache.h"
#include "models/gemma4/weights.h"

namespace facet::gemma4 {
namespace {

std::vector<int> FullLayers(const Gemma4Config& c) {
  std::vector<int> out;
  for (int l = 0; l < c.num_layers; ++l) {
    if (c.layers[l].kind == AttentionKind::kFull) out.push_back(l);
  }
  return out;
}

uint64_t Params(const Gemma4Config& c) {
  uint64_t n = 0;
  for (const TensorSpec& s : ExpectedTensors(c)) {
    uint64_t e = 1;
    for (int64_t d : s.shape) e *= d;
    n += e;
  }
  return n;
}

TEST(ConfigTest, PresetsValidate) {
  for (Preset p : {Preset::kE2B, Preset::kE4B, Preset::k26BA4B, Preset::k31B,
                   Preset::k12B}) {
    Gemma4Config c = MakePreset(p);
    EXPECT_TRUE(c.Validate().ok()) << c.name << ": " << c.Validate().ToString();
  }
}

TEST(ConfigTest, E2BMatchesSpecTable) {
  Gemma4Config c = MakePreset(Preset::kE2B);
  EXPECT_EQ(FullLayers(c), (std::vector<int>{4, 9, 14, 19, 24, 29, 34}));
  EXPECT_EQ(c.kv_layers(), 15);
  EXPECT_EQ(c.first_shared_layer(), 15);
  EXPECT_EQ(c.layers[15].kv_source, 13);  // last local before sharing
  EXPECT_EQ(c.layers[19].kv_source, 14);  // last global before sharing
  EXPECT_EQ(c.layers[14].ffn_dim, 6144);
  EXPECT_EQ(c.layers[15].ffn_dim, 12288);  // double-wide MLP
  EXPECT_EQ(c.layers[4].head_dim, 512);
  EXPECT_EQ(c.layers[4].rope_pairs, 64);   // proportional RoPE: 0.25 * 512 / 2
  EXPECT_EQ(c.layers[0].rope_pairs, 128);  // full rotation on local layers
  EXPECT_EQ(c.layers[0].n_kv_heads, 1);
  // Spec 1.2: 4.65 B text parameters (including dead K/V of shared layers).
  EXPECT_NEAR(Params(c) / 1e9, 4.65, 0.01);
  // Spec 5: 32K context KV cache = 198 MiB in bf16, so 396 MiB in f32
  // (sliding rings of exactly the window when the chunk is 1).
  EXPECT_EQ(KvCache::BytesFor(c, 32768, 1), 396ull << 20);
}

TEST(ConfigTest, E4BMatchesSpecTable) {
  Gemma4Config c = MakePreset(Preset::kE4B);
  EXPECT_EQ(FullLayers(c).size(), 7u);
  EXPECT_EQ(FullLayers(c).front(), 5);
  EXPECT_EQ(c.kv_layers(), 24);
  EXPECT_EQ(c.layers[24].kv_source, 22);
  EXPECT_EQ(c.layers[29].kv_source, 23);
  EXPECT_EQ(c.layers[41].ffn_dim, 10240);
  EXPECT_NEAR(Params(c) / 1e9, 7.52, 0.02);
  EXPECT_EQ(KvCache::BytesFor(c, 32768, 1), 2 * (532ull << 20));
}

TEST(ConfigTest, MoeMatchesSpecTable) {
  Gemma4Config c = MakePreset(Preset::k26BA4B);
  EXPECT_EQ(FullLayers(c), (std::vector<int>{5, 11, 17, 23, 29}));
  EXPECT_TRUE(c.layers[5].k_eq_v);
  EXPECT_FALSE(c.layers[4].k_eq_v);
  EXPECT_EQ(c.layers[5].n_kv_heads, 2);
  EXPECT_EQ(c.layers[4].n_kv_heads, 8);
  EXPECT_EQ(c.num_experts, 128);
  EXPECT_EQ(c.top_k_experts, 8);
  EXPECT_NEAR(Params(c) / 1e9, 25.23, 0.03);
  EXPECT_EQ(KvCache::BytesFor(c, 32768, 1), 2 * (840ull << 20));
}

TEST(ConfigTest, DenseSizesMatchSpecTable) {
  Gemma4Config c31 = MakePreset(Preset::k31B);
  EXPECT_EQ(FullLayers(c31).size(), 10u);
  EXPECT_EQ(c31.layers[59].kind, AttentionKind::kFull);
  EXPECT_NEAR(Params(c31) / 1e9, 30.70, 0.03);
  EXPECT_EQ(KvCache::BytesFor(c31, 32768, 1), 2 * (3360ull << 20));
  Gemma4Config c12 = MakePreset(Preset::k12B);
  EXPECT_EQ(c12.layers[5].n_kv_heads, 1);
  EXPECT_NEAR(Params(c12) / 1e9, 11.91, 0.03);
  EXPECT_EQ(KvCache::BytesFor(c12, 32768, 1), 2 * (832ull << 20));
}

TEST(ConfigTest, PresetByName) {
  EXPECT_TRUE(PresetByName("31b").ok());
  auto bad = PresetByName("70b");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("70b"), std::string::npos);
}

struct BadCase {
  const char* what;
  void (*mutate)(Gemma4Config*);
  const char* message;
};

TEST(ConfigTest, ValidateRejectsInconsistentConfigs) {
  const BadCase cases[] = {
      {"zero hidden", [](Gemma4Config* c) { c->hidden_size = 0; },
       "hidden_size"},
      {"heads vs kv", [](Gemma4Config* c) { c->layers[3].n_kv_heads = 3; },
       "layer 3: num_attention_heads (8) must be a multiple"},
      {"odd head dim", [](Gemma4Config* c) { c->layers[2].head_dim = 255; },
       "layer 2: head_dim"},
      {"kv source later", [](Gemma4Config* c) { c->layers[1].kv_source = 5; },
       "layer 1: KV source layer 5"},
      {"kv source shared",
       [](Gemma4Config* c) { c->layers[20].kv_source = 16; },
       "does not own a KV cache"},
      {"kv source kind", [](Gemma4Config* c) { c->layers[15].kv_source = 14; },
       "different attention type"},
      {"top-k",
       [](Gemma4Config* c) { c->num_experts = 4, c->top_k_experts = 5; },
       "top_k_experts"},
      {"eps", [](Gemma4Config* c) { c->rms_eps = 0; }, "rms_norm_eps"},
      {"layers", [](Gemma4Config* c) { c->layers.pop_back(); },
       "per-layer plan has 34 layers"},
      {"rope", [](Gemma4Config* c) { c->layers[4].rope_pairs = 300; },
       "rotated RoPE pairs"},
      {"window", [](Gemma4Config* c) { c->sliding_window = 0; },
       "sliding_window"},
      {"bos", [](Gemma4Config* c) { c->bos_id = 300000; }, "special token"},
  };
  for (const BadCase& bc : cases) {
    Gemma4Config c = MakePreset(Preset::kE2B);
    bc.mutate(&c);
    Status s = c.Validate();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bc.what;
    EXPECT_NE(s.message().find(bc.message), std::string::npos)
        << bc.what << ": " << s.message();
  }
}

}  // namespace
}  // namespace facet::gemma4
