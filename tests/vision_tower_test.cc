// The Gemma 4 vision encoder against the multimodal golden data (README
// sections 3-5): both tiny towers on the three budget-70 images, fed the
// stored patches, plus the intermediates, other weight types, the mmproj
// GGUF layout and the load / input errors.
#include "models/gemma4/vision_tower.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kernels/ref/quant.h"
#include "src/io/gguf_writer.h"
#include "src/io/safetensors.h"
#include "tests/test_paths.h"

namespace facet::gemma4 {
namespace {

using facet::testing::ReadBytes;
using facet::testing::ReadF32;
using facet::testing::TestData;

constexpr float kTol = 2e-4f;
// Image cases with their golden budget folder: the three b70 cases and one
// at the default budget 280 (2394 patches).
const char* const kCases[] = {"gradient_640x480/b70", "tall_300x900/b70",
                              "alpha_20x20/b70", "gradient_640x480/b280"};
const char* const kVariants[] = {"small", "large"};

std::string TowerDir(const std::string& variant) {
  return TestData("multimodal/tiny-vision/" + variant);
}
std::string CaseDir(const std::string& image) {
  const bool has_budget = image.find('/') != std::string::npos;
  return TestData("multimodal/image/" + image + (has_budget ? "/" : "/b70/"));
}

// The patches of one case, from its resized image (the golden README's
// formula, checked against the stored b70 patches in
// image_preprocess_test.cc), and the golden positions.
media::ImagePatches LoadPatches(const std::string& image) {
  media::ImagePatches p;
  const std::string png = ReadBytes(CaseDir(image) + "resized.png");
  auto rgb = media::DecodeImage(reinterpret_cast<const uint8_t*>(png.data()),
                                png.size());
  EXPECT_TRUE(rgb.ok()) << rgb.status().ToString();
  if (!rgb.ok()) return p;
  auto patches = media::PatchesFromResized(*rgb);
  EXPECT_TRUE(patches.ok()) << patches.status().ToString();
  if (!patches.ok()) return p;
  p = std::move(patches).value();
  const std::string pos = ReadBytes(CaseDir(image) + "positions.i32");
  std::vector<int32_t> golden(pos.size() / 4);
  if (!golden.empty())
    std::memcpy(golden.data(), pos.data(), golden.size() * 4);
  EXPECT_EQ(p.positions, golden);
  return p;
}

// max |got - ref| / max(1, |ref|) when relative, else max |got - ref|.
double MaxDiff(const std::vector<float>& got, const std::vector<float>& ref,
               bool relative) {
  if (got.size() != ref.size()) return INFINITY;
  double m = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    double d = std::fabs(static_cast<double>(got[i]) - ref[i]);
    if (relative) d /= std::max(1.0, std::fabs(static_cast<double>(ref[i])));
    if (!(d <= m)) m = d;  // NaN propagates
  }
  return m;
}

std::unique_ptr<kernels::ThreadPool> Pool() {
  return kernels::ThreadPool::Create(2);
}

// Encodes every case with `tower` and checks tower output and embeddings.
void CheckGolden(const VisionTower& tower, const std::string& variant,
                 const std::string& label) {
  auto pool = Pool();
  for (const char* image : kCases) {
    SCOPED_TRACE(label + " " + variant + " " + image);
    media::ImagePatches p = LoadPatches(image);
    ASSERT_GT(p.num_patches(), 0);
    std::vector<float> emb, tower_out;
    const auto t0 = std::chrono::steady_clock::now();
    Status s = tower.Encode(p, pool.get(), &emb, &tower_out);
    const double ms = std::chrono::duration<double, std::milli>(
                          std::chrono::steady_clock::now() - t0)
                          .count();
    ASSERT_TRUE(s.ok()) << s.ToString();
    const std::vector<float> ref_t =
        ReadF32(CaseDir(image) + "tower_" + variant + ".f32");
    const std::vector<float> ref_e =
        ReadF32(CaseDir(image) + "emb_" + variant + ".f32");
    ASSERT_EQ(emb.size(), static_cast<size_t>(p.soft_tokens()) * 128);
    ASSERT_EQ(tower_out.size(), static_cast<size_t>(p.soft_tokens()) * 64);
    const double dt = MaxDiff(tower_out, ref_t, true);
    const double de = MaxDiff(emb, ref_e, false);
    std::printf(
        "[ %s %s %s ] %d patches: tower max rel diff %.3g, emb max "
        "diff %.3g, %.1f ms\n",
        label.c_str(), variant.c_str(), image, p.num_patches(), dt, de, ms);
    EXPECT_LE(dt, kTol);
    EXPECT_LE(de, kTol);
  }
}

TEST(VisionTowerTest, LoadsTinyConfigs) {
  for (const char* variant : kVariants) {
    SCOPED_TRACE(variant);
    auto t = VisionTower::Load(TowerDir(variant));
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    const VisionConfig& c = (*t)->config();
    EXPECT_EQ(c.hidden, 64);
    EXPECT_EQ(c.intermediate, 256);
    EXPECT_EQ(c.layers, 2);
    EXPECT_EQ(c.heads, 4);
    EXPECT_EQ(c.head_dim, 16);
    EXPECT_EQ(c.patch_size, 16);
    EXPECT_EQ(c.pooling_kernel, 3);
    EXPECT_EQ(c.position_table, 10240);
    EXPECT_FLOAT_EQ(c.rope_theta, 100.f);
    EXPECT_FLOAT_EQ(c.rms_eps, 1e-6f);
    EXPECT_EQ(c.text_hidden, 128);
    const bool small = std::string(variant) == "small";
    EXPECT_EQ(c.clipped_linears, small);
    EXPECT_EQ(c.standardize, !small);
  }
}

TEST(VisionTowerTest, MatchesGoldenEmbeddings) {
  for (const char* variant : kVariants) {
    auto t = VisionTower::Load(TowerDir(variant));
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    CheckGolden(**t, variant, "bf16 file");
  }
}

TEST(VisionTowerTest, MatchesGoldenIntermediates) {
  auto pool = Pool();
  const std::string image = "gradient_640x480";
  media::ImagePatches p = LoadPatches(image);
  for (const char* variant : kVariants) {
    SCOPED_TRACE(variant);
    auto t = VisionTower::Load(TowerDir(variant));
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    std::vector<float> emb;
    VisionTaps taps;
    Status s = (*t)->EncodeWithTaps(p, pool.get(), &emb, nullptr, &taps);
    ASSERT_TRUE(s.ok()) << s.ToString();
    const std::string dir =
        CaseDir(image) + "debug_" + std::string(variant) + "/vision.";
    ASSERT_EQ(taps.layers.size(), 2u);
    const std::pair<const char*, const std::vector<float>*> checks[] = {
        {"patch_embed", &taps.patch_embed},
        {"layer0", &taps.layers[0]},
        {"layer1", &taps.layers[1]},
        {"pooled_scaled", &taps.pooled_scaled},
    };
    for (const auto& [name, got] : checks) {
      const std::vector<float> ref = ReadF32(dir + name + ".f32");
      ASSERT_FALSE(ref.empty()) << name;
      const double d = MaxDiff(*got, ref, true);
      std::printf("[ %s %s ] max rel diff %.3g\n", variant, name, d);
      EXPECT_LE(d, kTol) << name;
    }
  }
}

// --- Rewritten copies of the tiny towers --------------------------------

class VisionTowerFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "facet_vis_XXXXXX";
    ASSERT_NE(::mkdtemp(&tmpl[0]), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  static void WriteFile(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  struct Tensor {
    std::string name;
    std::string dtype;           // safetensors: "F32", "BF16", "F16"
    std::vector<int64_t> shape;  // PyTorch order
    std::vector<float> values;
  };

  // The tensors of one tiny tower, as f32 values.
  static std::vector<Tensor> ReadTower(const std::string& variant) {
    std::vector<Tensor> out;
    auto f = SafetensorsFile::Open(TowerDir(variant) + "/model.safetensors");
    EXPECT_TRUE(f.ok());
    if (!f.ok()) return out;
    for (const TensorView& v : (*f)->tensors()) {
      Tensor t;
      t.name = v.name;
      t.dtype = "F32";
      t.shape.assign(v.shape.rbegin(), v.shape.rend());
      t.values.resize(v.elements());
      kernels::DequantizeRow(v.dtype, v.data, t.values.data(), v.elements());
      out.push_back(std::move(t));
    }
    return out;
  }

  // A folder `name` with config.json `config` and the tensors.
  std::string WriteFolder(const std::string& name, const std::string& config,
                          const std::vector<Tensor>& tensors) {
    const std::string dir = dir_ + "/" + name;
    std::filesystem::create_directories(dir);
    WriteFile(dir + "/config.json", config);
    nlohmann::json header = nlohmann::json::object();
    std::string data;
    for (const Tensor& t : tensors) {
      const size_t begin = data.size();
      const kernels::DType dt = t.dtype == "BF16"  ? kernels::DType::kBF16
                                : t.dtype == "F16" ? kernels::DType::kF16
                                                   : kernels::DType::kF32;
      std::string bytes(kernels::RowBytes(dt, t.values.size()), '\0');
      kernels::QuantizeRow(dt, t.values.data(), bytes.data(), t.values.size());
      data += bytes;
      header[t.name] = {{"dtype", t.dtype},
                        {"shape", t.shape},
                        {"data_offsets", {begin, data.size()}}};
    }
    std::string h = header.dump();
    std::string file;
    const uint64_t n = h.size();
    for (int i = 0; i < 8; ++i) file.push_back(static_cast<char>(n >> (8 * i)));
    WriteFile(dir + "/model.safetensors", file + h + data);
    return dir;
  }

  static std::string Config(const std::string& variant) {
    return ReadBytes(TowerDir(variant) + "/config.json");
  }

  std::string dir_;
};

TEST_F(VisionTowerFiles, Bf16AndF16WeightsMatchGolden) {
  // Every tiny weight is exact in bf16 and f16 (README section 3).
  for (const char* variant : kVariants) {
    for (const char* dtype : {"BF16", "F16"}) {
      std::vector<Tensor> ts = ReadTower(variant);
      for (Tensor& t : ts) t.dtype = dtype;
      const std::string dir =
          WriteFolder(std::string(variant) + dtype, Config(variant), ts);
      auto t = VisionTower::Load(dir);
      ASSERT_TRUE(t.ok()) << t.status().ToString();
      CheckGolden(**t, variant, dtype);
    }
  }
}

TEST_F(VisionTowerFiles, NoVisionConfigIsNotFound) {
  const std::vector<Tensor> ts = ReadTower("small");
  nlohmann::json c = nlohmann::json::parse(Config("small"));
  c.erase("vision_config");
  auto t = VisionTower::Load(WriteFolder("novc", c.dump(), ts));
  EXPECT_EQ(t.status().code(), StatusCode::kNotFound) << t.status().ToString();
  c["vision_config"] = nullptr;
  t = VisionTower::Load(WriteFolder("nullvc", c.dump(), ts));
  EXPECT_EQ(t.status().code(), StatusCode::kNotFound) << t.status().ToString();
  // A vision_config with no tower tensors at all (a text-only export).
  std::vector<Tensor> none = {ts[0]};
  none[0].name = "model.language_model.norm.weight";
  t = VisionTower::Load(WriteFolder("notensors", Config("small"), none));
  EXPECT_EQ(t.status().code(), StatusCode::kNotFound) << t.status().ToString();
  t = VisionTower::Load(dir_ + "/does_not_exist");
  EXPECT_EQ(t.status().code(), StatusCode::kNotFound) << t.status().ToString();
}

TEST_F(VisionTowerFiles, MissingTensorIsNamed) {
  const char* const missing[] = {
      "model.vision_tower.encoder.layers.1.self_attn.k_proj.linear.weight",
      "model.vision_tower.encoder.layers.0.mlp.up_proj.output_min",
      "model.vision_tower.encoder.layers.1.self_attn.k_norm.weight",
      "model.vision_tower.patch_embedder.position_embedding_table",
      "model.embed_vision.embedding_projection.weight",
  };
  for (const char* name : missing) {
    std::vector<Tensor> ts = ReadTower("small");
    ts.erase(std::remove_if(ts.begin(), ts.end(),
                            [&](const Tensor& t) { return t.name == name; }),
             ts.end());
    auto t = VisionTower::Load(WriteFolder("missing", Config("small"), ts));
    ASSERT_FALSE(t.ok()) << name;
    EXPECT_EQ(t.status().code(), StatusCode::kDataLoss) << name;
    EXPECT_NE(t.status().message().find(name), std::string::npos)
        << t.status().ToString();
  }
  std::vector<Tensor> ts = ReadTower("large");
  ts.erase(std::remove_if(ts.begin(), ts.end(),
                          [](const Tensor& t) {
                            return t.name == "model.vision_tower.std_scale";
                          }),
           ts.end());
  auto t = VisionTower::Load(WriteFolder("nostd", Config("large"), ts));
  EXPECT_EQ(t.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(t.status().message().find("std_scale"), std::string::npos);
}

TEST_F(VisionTowerFiles, MisshapenTensorIsNamed) {
  std::vector<Tensor> ts = ReadTower("large");
  const std::string name =
      "model.vision_tower.encoder.layers.0.mlp.gate_proj.linear.weight";
  for (Tensor& t : ts) {
    if (t.name == name) t.shape = {128, 128};  // [256, 64] expected
  }
  auto t = VisionTower::Load(WriteFolder("shape", Config("large"), ts));
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find(name), std::string::npos)
      << t.status().ToString();
}

TEST_F(VisionTowerFiles, BadConfigIsInvalidArgument) {
  const std::vector<Tensor> ts = ReadTower("small");
  nlohmann::json c = nlohmann::json::parse(Config("small"));
  c["vision_config"].erase("num_hidden_layers");
  auto t = VisionTower::Load(WriteFolder("nolayers", c.dump(), ts));
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("num_hidden_layers"), std::string::npos)
      << t.status().ToString();
  c = nlohmann::json::parse(Config("small"));
  c["vision_config"]["hidden_size"] = "64";
  t = VisionTower::Load(WriteFolder("strhidden", c.dump(), ts));
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("hidden_size"), std::string::npos);
  c = nlohmann::json::parse(Config("small"));
  c["vision_config"]["head_dim"] = 18;  // not a multiple of 4
  t = VisionTower::Load(WriteFolder("hd", c.dump(), ts));
  EXPECT_FALSE(t.ok());
  // A config that disagrees with the tensors: 3 layers, 2 stored.
  c = nlohmann::json::parse(Config("small"));
  c["vision_config"]["num_hidden_layers"] = 3;
  t = VisionTower::Load(WriteFolder("l3", c.dump(), ts));
  EXPECT_EQ(t.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(t.status().message().find("layers.2."), std::string::npos);
}

// --- A llama.cpp-style mmproj GGUF from the tiny towers (spec 5.2) -------

std::string GgufName(const std::string& hf) {
  static const std::pair<const char*, const char*> kTop[] = {
      {"model.vision_tower.patch_embedder.input_proj.weight",
       "v.patch_embd.weight"},
      {"model.vision_tower.patch_embedder.position_embedding_table",
       "v.position_embd.weight"},
      {"model.vision_tower.std_bias", "v.std_bias"},
      {"model.vision_tower.std_scale", "v.std_scale"},
      {"model.embed_vision.embedding_projection.weight",
       "mm.input_projection.weight"},
  };
  for (const auto& [a, b] : kTop) {
    if (hf == a) return b;
  }
  const std::string pre = "model.vision_tower.encoder.layers.";
  const size_t dot = hf.find('.', pre.size());
  std::string layer = hf.substr(pre.size(), dot - pre.size());
  std::string rest = hf.substr(dot + 1);
  static const std::pair<const char*, const char*> kLayer[] = {
      {"input_layernorm", "ln1"},
      {"self_attn.q_norm", "attn_q_norm"},
      {"self_attn.k_norm", "attn_k_norm"},
      {"post_attention_layernorm", "attn_post_norm"},
      {"pre_feedforward_layernorm", "ln2"},
      {"post_feedforward_layernorm", "ffn_post_norm"},
      {"self_attn.q_proj", "attn_q"},
      {"self_attn.k_proj", "attn_k"},
      {"self_attn.v_proj", "attn_v"},
      {"self_attn.o_proj", "attn_out"},
      {"mlp.gate_proj", "ffn_gate"},
      {"mlp.up_proj", "ffn_up"},
      {"mlp.down_proj", "ffn_down"},
  };
  for (const auto& [a, b] : kLayer) {
    const std::string p = std::string(a) + ".";
    if (rest.compare(0, p.size(), p) == 0) {
      std::string tail = rest.substr(p.size());
      if (tail == "linear.weight") tail = "weight";
      return "v.blk." + layer + "." + b + "." + tail;
    }
  }
  ADD_FAILURE() << "no GGUF name for " << hf;
  return hf;
}

TEST_F(VisionTowerFiles, MmprojGgufMatchesGolden) {
  for (const char* variant : kVariants) {
    GgufWriter w;
    w.AddString("general.architecture", "clip");
    w.AddBool("clip.has_vision_encoder", true);
    w.AddString("clip.vision.projector_type", "gemma4v");
    w.AddUint32("clip.vision.embedding_length", 64);
    w.AddUint32("clip.vision.feed_forward_length", 256);
    w.AddUint32("clip.vision.block_count", 2);
    w.AddUint32("clip.vision.attention.head_count", 4);
    w.AddFloat32("clip.vision.attention.layer_norm_epsilon", 1e-6f);
    w.AddUint32("clip.vision.patch_size", 16);
    w.AddUint32("clip.vision.projection_dim", 128);
    for (const Tensor& t : ReadTower(variant)) {
      const std::string name = GgufName(t.name);
      std::vector<int64_t> ne(t.shape.rbegin(), t.shape.rend());
      std::vector<float> vals = t.values;
      kernels::DType dt = kernels::DType::kF16;
      if (name == "v.patch_embd.weight") {
        // [D][(dy, dx, c)] -> conv kernel [D][c][dy][dx].
        const int64_t D = t.shape[0];
        for (int64_t o = 0; o < D; ++o) {
          for (int c = 0; c < 3; ++c) {
            for (int p = 0; p < 256; ++p) {
              vals[o * 768 + c * 256 + p] = t.values[o * 768 + p * 3 + c];
            }
          }
        }
        ne = {16, 16, 3, D};
      }
      if (ne.empty()) ne = {1};  // 0-d bounds become 1-element tensors
      if (ne.size() == 1 || name == "v.position_embd.weight") {
        dt = kernels::DType::kF32;
      }
      std::string bytes(kernels::RowBytes(dt, vals.size()), '\0');
      kernels::QuantizeRow(dt, vals.data(), bytes.data(), vals.size());
      ASSERT_TRUE(w.AddTensor(name, dt, ne, bytes.data(), bytes.size()).ok());
    }
    const std::string path = dir_ + "/mmproj-" + variant + ".gguf";
    ASSERT_TRUE(w.WriteFile(path).ok());
    auto t = VisionTower::Load(path);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    const VisionConfig& c = (*t)->config();
    EXPECT_EQ(c.head_dim, 16);
    EXPECT_EQ(c.text_hidden, 128);
    EXPECT_EQ(c.position_table, 10240);
    EXPECT_EQ(c.clipped_linears, std::string(variant) == "small");
    EXPECT_EQ(c.standardize, std::string(variant) == "large");
    CheckGolden(**t, variant, "gguf");
  }
}

TEST_F(VisionTowerFiles, GgufWithoutVisionIsNotFound) {
  GgufWriter w;
  w.AddString("general.architecture", "clip");
  w.AddBool("clip.has_vision_encoder", false);
  w.AddBool("clip.has_audio_encoder", true);
  const float one = 1.f;
  ASSERT_TRUE(
      w.AddTensor("a.x.weight", kernels::DType::kF32, {1}, &one, 4).ok());
  const std::string path = dir_ + "/audio-only.gguf";
  ASSERT_TRUE(w.WriteFile(path).ok());
  auto t = VisionTower::Load(path);
  EXPECT_EQ(t.status().code(), StatusCode::kNotFound) << t.status().ToString();
}

// --- Input validation -----------------------------------------------------

TEST(VisionTowerTest, RejectsBadInput) {
  auto t = VisionTower::Load(TowerDir("small"));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  auto pool = Pool();
  const media::ImagePatches good = LoadPatches("gradient_640x480");  // 21x27
  std::vector<float> emb;
  auto expect_invalid = [&](const media::ImagePatches& p, const char* what) {
    Status s = (*t)->Encode(p, pool.get(), &emb);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument)
        << what << ": " << s.ToString();
  };
  {
    // 567 patches as a 27x21 grid is still whole cells; as 7x81 the rows
    // are not a multiple of 3.
    media::ImagePatches p = good;
    p.grid_h = 7;
    p.grid_w = 81;
    expect_invalid(p, "grid 7x81");
  }
  {
    media::ImagePatches p = good;
    p.grid_h = 0;
    p.grid_w = 0;
    p.pixels.clear();
    p.positions.clear();
    expect_invalid(p, "empty grid");
  }
  {
    media::ImagePatches p = good;
    p.pixels.pop_back();
    expect_invalid(p, "short pixels");
  }
  {
    media::ImagePatches p = good;
    p.positions.resize(p.positions.size() - 2);
    expect_invalid(p, "short positions");
  }
  {
    media::ImagePatches p = good;
    p.positions[0] = 10240;  // past the position table
    expect_invalid(p, "x past the table");
  }
  {
    media::ImagePatches p = good;
    p.positions[1] = -1;
    expect_invalid(p, "negative y");
  }
  {
    media::ImagePatches p = good;
    // Patch 3 (x = 3) moved onto patch 0: cell 0 gets 10 patches, cell 1
    // gets 8.
    p.positions[6] = p.positions[0];
    expect_invalid(p, "duplicate position");
  }
  {
    // A grid wider than the 10240-row tables.
    media::ImagePatches p;
    p.grid_h = 3;
    p.grid_w = 10242;
    expect_invalid(p, "grid past the table");
  }
  EXPECT_EQ((*t)->Encode(good, pool.get(), nullptr).code(),
            StatusCode::kInvalidArgument);
  // The good input still encodes, single-threaded as well.
  EXPECT_TRUE((*t)->Encode(good, nullptr, &emb).ok());
  EXPECT_EQ(emb.size(), 63u * 128u);
}

}  // namespace
}  // namespace facet::gemma4
