// The Gemma 4 audio encoder against the golden data of the tiny random
// tower (tests/data/multimodal, copied from shared/golden/multimodal):
// log-mel in, soft-token embeddings out, plus the SSCP and per-layer
// intermediates, the same tower as bf16 safetensors and as a llama.cpp
// mmproj GGUF (f16), and the load / input errors.
#include "models/gemma4/audio_tower.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kernels/dtype.h"
#include "kernels/parallel.h"
#include "kernels/ref/fp16.h"
#include "kernels/ref/quant.h"
#include "src/io/gguf_writer.h"
#include "src/io/hf_folder.h"
#include "src/io/tensor_view.h"
#include "tests/test_paths.h"

namespace facet::gemma4 {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ::facet::testing::ReadBytes;
using ::facet::testing::ReadF32;
using ::facet::testing::TestData;

// README §5: fp32 against the float64 reference.
constexpr float kTol = 2e-4f;

std::string TinyDir() { return TestData("multimodal/tiny-audio"); }
std::string CaseDir(const std::string& c) {
  return TestData("multimodal/audio/" + c);
}

media::MelFeatures ReadMel(const std::string& c) {
  media::MelFeatures m;
  m.mel = ReadF32(CaseDir(c) + "/mel.f32");
  const std::string mask = ReadBytes(CaseDir(c) + "/mel_mask.u8");
  m.frames = static_cast<int>(mask.size());
  m.valid.assign(mask.begin(), mask.end());
  return m;
}

float MaxAbs(const std::vector<float>& a) {
  float m = 0;
  for (float x : a) m = std::max(m, std::fabs(x));
  return m;
}

float MaxDiff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const float d = std::fabs(a[i] - b[i]);
    if (!(d <= m)) m = std::isnan(d) ? INFINITY : d;
  }
  return m;
}

const AudioTower* Tiny() {
  static const std::unique_ptr<AudioTower> t = [] {
    auto r = AudioTower::Load(TinyDir());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }();
  return t.get();
}

// Encodes a golden case and checks the tower output and embeddings.
void CheckCase(const AudioTower& tower, const std::string& c,
               const media::MelFeatures& mel, int tokens,
               kernels::ThreadPool* pool, const char* label) {
  const std::vector<float> want_tower = ReadF32(CaseDir(c) + "/tower.f32");
  const std::vector<float> want_emb = ReadF32(CaseDir(c) + "/emb.f32");
  ASSERT_EQ(want_emb.size(), static_cast<size_t>(tokens) * 128) << c;
  std::vector<float> emb, out;
  const Status s = tower.Encode(mel, pool, &emb, &out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(emb.size(), static_cast<size_t>(tokens) * 128) << c;
  ASSERT_EQ(out.size(), static_cast<size_t>(tokens) * 96) << c;
  const float dt = MaxDiff(out, want_tower);
  const float de = MaxDiff(emb, want_emb);
  const float tower_scale = std::max(1.f, MaxAbs(want_tower));
  std::printf(
      "[%s] %s: %d tokens, max|dtower| %.3g (max|tower| %.3g), "
      "max|demb| %.3g\n",
      label, c.c_str(), tokens, dt, tower_scale, de);
  EXPECT_LE(dt, kTol * tower_scale) << c;
  EXPECT_LE(de, kTol) << c;
}

TEST(AudioTowerTest, LoadsTinyConfig) {
  const AudioTower* t = Tiny();
  ASSERT_NE(t, nullptr);
  const AudioConfig& c = t->config();
  EXPECT_EQ(c.hidden, 64);
  EXPECT_EQ(c.layers, 2);
  EXPECT_EQ(c.heads, 4);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.ffn, 256);
  EXPECT_EQ(c.sscp_channels0, 128);
  EXPECT_EQ(c.sscp_channels1, 16);
  EXPECT_EQ(c.conv_kernel, 5);
  EXPECT_EQ(c.chunk_size, 12);
  EXPECT_EQ(c.context_left, 13);
  EXPECT_EQ(c.context_right, 0);
  EXPECT_FLOAT_EQ(c.logit_cap, 50.f);
  EXPECT_TRUE(c.clipped_linears);
  EXPECT_EQ(c.output_dims, 96);
  EXPECT_EQ(c.text_hidden, 128);
}

TEST(AudioTowerTest, SpeechMatchesGolden) {
  const AudioTower* t = Tiny();
  ASSERT_NE(t, nullptr);
  const media::MelFeatures mel = ReadMel("speech_16k_mono");
  ASSERT_EQ(mel.frames, 250);
  ASSERT_EQ(mel.valid[249], 0);
  CheckCase(*t, "speech_16k_mono", mel, 63, nullptr, "hf f32");
}

TEST(AudioTowerTest, SpeechIntermediatesMatchGolden) {
  const AudioTower* t = Tiny();
  ASSERT_NE(t, nullptr);
  std::vector<float> emb;
  AudioTaps taps;
  const Status s = t->EncodeWithTaps(ReadMel("speech_16k_mono"), nullptr, &emb,
                                     nullptr, &taps);
  ASSERT_TRUE(s.ok()) << s.ToString();
  const std::string dir = CaseDir("speech_16k_mono") + "/debug/";
  const std::vector<float> sscp = ReadF32(dir + "audio.sscp.f32");
  ASSERT_EQ(sscp.size(), 63u * 64);
  ASSERT_EQ(taps.layers.size(), 2u);
  struct {
    const char* name;
    const std::vector<float>* got;
  } checks[] = {{"audio.sscp", &taps.sscp},
                {"audio.layer0", &taps.layers[0]},
                {"audio.layer1", &taps.layers[1]}};
  for (const auto& c : checks) {
    const std::vector<float> want = ReadF32(dir + c.name + ".f32");
    const float scale = std::max(1.f, MaxAbs(want));
    const float d = MaxDiff(*c.got, want);
    std::printf("%s: max|d| %.3g (max|x| %.3g)\n", c.name, d, scale);
    EXPECT_LE(d, kTol * scale) << c.name;
  }
}

// HF pads 40000 samples to 40064, which adds the 250th (invalid) row; an
// engine that does not pad gives 249 rows and the same 63 tokens.
TEST(AudioTowerTest, Speech249RowsGiveSameTokens) {
  const AudioTower* t = Tiny();
  ASSERT_NE(t, nullptr);
  media::MelFeatures mel = ReadMel("speech_16k_mono");
  mel.frames = 249;
  mel.mel.resize(249 * media::kMelBins);
  mel.valid.resize(249);
  CheckCase(*t, "speech_16k_mono", mel, 63, nullptr, "249 rows");
}

TEST(AudioTowerTest, ToneMatchesGolden) {
  const AudioTower* t = Tiny();
  ASSERT_NE(t, nullptr);
  const media::MelFeatures mel = ReadMel("tone_44k1_stereo");
  ASSERT_EQ(mel.frames, 99);
  CheckCase(*t, "tone_44k1_stereo", mel, 25, nullptr, "hf f32");
}

// The pool changes nothing: every op computes each row the same way
// however the rows are split.
TEST(AudioTowerTest, ThreadedEqualsSingleThread) {
  const AudioTower* t = Tiny();
  ASSERT_NE(t, nullptr);
  auto pool = kernels::ThreadPool::Create(3);
  ASSERT_NE(pool, nullptr);
  const media::MelFeatures mel = ReadMel("speech_16k_mono");
  std::vector<float> e1, e2, t1, t2;
  ASSERT_TRUE(t->Encode(mel, nullptr, &e1, &t1).ok());
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(t->Encode(mel, pool.get(), &e2, &t2).ok());
  const double ms = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - start)
                        .count();
  std::printf("tiny tower, 250 frames, 3 threads: %.2f ms\n", ms);
  EXPECT_EQ(e1, e2);
  EXPECT_EQ(t1, t2);
}

TEST(AudioTowerTest, EmptyFeaturesGiveNoTokens) {
  const AudioTower* t = Tiny();
  ASSERT_NE(t, nullptr);
  media::MelFeatures mel;
  std::vector<float> emb = {1.f};
  ASSERT_TRUE(t->Encode(mel, nullptr, &emb).ok());
  EXPECT_TRUE(emb.empty());
  // All frames invalid: no valid rows survive the two halvings.
  mel = ReadMel("tone_44k1_stereo");
  std::fill(mel.valid.begin(), mel.valid.end(), 0);
  std::vector<float> out = {1.f};
  ASSERT_TRUE(t->Encode(mel, nullptr, &emb, &out).ok());
  EXPECT_TRUE(emb.empty());
  EXPECT_TRUE(out.empty());
  // Invalid frames at every 4th position drop the tokens that read them.
  mel = ReadMel("tone_44k1_stereo");
  for (int i = 0; i < 40; i += 4) mel.valid[i] = 0;
  ASSERT_TRUE(t->Encode(mel, nullptr, &emb).ok());
  EXPECT_EQ(emb.size(), 15u * 128);
  for (float x : emb) ASSERT_TRUE(std::isfinite(x));
}

TEST(AudioTowerTest, RejectsBadFeatures) {
  const AudioTower* t = Tiny();
  ASSERT_NE(t, nullptr);
  std::vector<float> emb;
  media::MelFeatures mel = ReadMel("tone_44k1_stereo");
  mel.mel.pop_back();
  EXPECT_EQ(t->Encode(mel, nullptr, &emb).code(), StatusCode::kInvalidArgument);
  mel = ReadMel("tone_44k1_stereo");
  mel.valid.pop_back();
  EXPECT_EQ(t->Encode(mel, nullptr, &emb).code(), StatusCode::kInvalidArgument);
  mel = ReadMel("tone_44k1_stereo");
  mel.frames = -1;
  EXPECT_EQ(t->Encode(mel, nullptr, &emb).code(), StatusCode::kInvalidArgument);
  mel.frames = 3001;  // past 30 s
  mel.mel.assign(3001 * media::kMelBins, 0.f);
  mel.valid.assign(3001, 1);
  EXPECT_EQ(t->Encode(mel, nullptr, &emb).code(), StatusCode::kInvalidArgument);
  mel = ReadMel("tone_44k1_stereo");
  EXPECT_EQ(t->Encode(mel, nullptr, nullptr).code(),
            StatusCode::kInvalidArgument);
}

// --- Rewritten checkpoints --------------------------------------------------

class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (fs::temp_directory_path() / "facet_audio_tower_XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The tiny tower's tensors as f32 values with their PyTorch shapes.
struct F32Tensor {
  std::string name;
  std::vector<int64_t> torch_shape;
  std::vector<float> values;
};

std::vector<F32Tensor> TinyTensors() {
  std::vector<F32Tensor> out;
  auto hf = HfFolder::Open(TinyDir());
  EXPECT_TRUE(hf.ok()) << hf.status().ToString();
  if (!hf.ok()) return out;
  for (const TensorView* t : hf.value()->tensors()) {
    // The test copy is stored as bf16 (lossless for these weights).
    F32Tensor f;
    f.name = t->name;
    f.torch_shape.assign(t->shape.rbegin(), t->shape.rend());
    f.values.resize(static_cast<size_t>(t->elements()));
    kernels::DequantizeRow(t->dtype, t->data, f.values.data(), t->elements());
    out.push_back(std::move(f));
  }
  return out;
}

// Writes a safetensors file: 2-D matrices as bf16 when `bf16_matrices`,
// the rest as f32.
void WriteSafetensors(const std::string& path,
                      const std::vector<F32Tensor>& tensors,
                      bool bf16_matrices) {
  json header = json::object();
  std::string data;
  for (const F32Tensor& t : tensors) {
    const bool bf16 = bf16_matrices && t.torch_shape.size() == 2;
    const size_t begin = data.size();
    if (bf16) {
      for (float v : t.values) {
        const uint16_t h = kernels::Fp32ToBf16(v);
        data.append(reinterpret_cast<const char*>(&h), 2);
      }
    } else {
      data.append(reinterpret_cast<const char*>(t.values.data()),
                  t.values.size() * 4);
    }
    header[t.name] = {{"dtype", bf16 ? "BF16" : "F32"},
                      {"shape", t.torch_shape},
                      {"data_offsets", {begin, data.size()}}};
  }
  std::string h = header.dump();
  while (h.size() % 8 != 0) h.push_back(' ');
  std::string bytes(8, '\0');
  const uint64_t n = h.size();
  for (int i = 0; i < 8; ++i)
    bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  WriteFile(path, bytes + h + data);
}

std::string TinyConfig() { return ReadBytes(TinyDir() + "/config.json"); }

TEST(AudioTowerTest, Bf16SafetensorsMatchGolden) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  WriteFile(dir.path() + "/config.json", TinyConfig());
  WriteSafetensors(dir.path() + "/model.safetensors", TinyTensors(), true);
  auto t = AudioTower::Load(dir.path());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  // The tiny weights are exact in bf16 (README §3).
  CheckCase(*t.value(), "speech_16k_mono", ReadMel("speech_16k_mono"), 63,
            nullptr, "hf bf16");
  CheckCase(*t.value(), "tone_44k1_stereo", ReadMel("tone_44k1_stereo"), 25,
            nullptr, "hf bf16");
}

TEST(AudioTowerTest, FolderWithoutAudioConfigIsNotFound) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  json cfg = json::parse(TinyConfig());
  cfg.erase("audio_config");
  WriteFile(dir.path() + "/config.json", cfg.dump());
  WriteSafetensors(dir.path() + "/model.safetensors", TinyTensors(), false);
  EXPECT_EQ(AudioTower::Load(dir.path()).status().code(),
            StatusCode::kNotFound);
  cfg["audio_config"] = nullptr;
  WriteFile(dir.path() + "/config.json", cfg.dump());
  EXPECT_EQ(AudioTower::Load(dir.path()).status().code(),
            StatusCode::kNotFound);
}

TEST(AudioTowerTest, MissingTensorIsNamed) {
  const char* kDropped[] = {
      "model.audio_tower.layers.1.lconv1d.depthwise_conv1d.weight",
      "model.embed_audio.embedding_projection.weight",
      "model.audio_tower.subsample_conv_projection.layer0.conv.weight"};
  for (const char* name : kDropped) {
    TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    std::vector<F32Tensor> tensors = TinyTensors();
    tensors.erase(
        std::remove_if(tensors.begin(), tensors.end(),
                       [&](const F32Tensor& t) { return t.name == name; }),
        tensors.end());
    WriteFile(dir.path() + "/config.json", TinyConfig());
    WriteSafetensors(dir.path() + "/model.safetensors", tensors, false);
    const Status s = AudioTower::Load(dir.path()).status();
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
    EXPECT_NE(s.message().find(name), std::string::npos) << s.ToString();
  }
}

TEST(AudioTowerTest, ConfigMismatchesAreInvalid) {
  struct Case {
    const char* key;
    json value;
    const char* message;  // part of the error
  } cases[] = {
      {"output_proj_dims", 95, "model.audio_tower.output_proj.weight"},
      {"hidden_size", 66, "num_attention_heads"},
      {"subsampling_conv_channels", json::array({64, 16}), "must be 128"},
      {"num_hidden_layers", "two", "num_hidden_layers"},
  };
  for (const Case& c : cases) {
    TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    json cfg = json::parse(TinyConfig());
    cfg["audio_config"][c.key] = c.value;
    WriteFile(dir.path() + "/config.json", cfg.dump());
    WriteSafetensors(dir.path() + "/model.safetensors", TinyTensors(), false);
    const Status s = AudioTower::Load(dir.path()).status();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.key;
    EXPECT_NE(s.message().find(c.message), std::string::npos) << s.ToString();
  }
  // A mask value near the logit range would give masked keys weight.
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  json cfg = json::parse(TinyConfig());
  cfg["audio_config"]["attention_invalid_logits_value"] = -60.0;
  WriteFile(dir.path() + "/config.json", cfg.dump());
  WriteSafetensors(dir.path() + "/model.safetensors", TinyTensors(), false);
  EXPECT_EQ(AudioTower::Load(dir.path()).status().code(),
            StatusCode::kUnimplemented);
}

// --- llama.cpp mmproj GGUF ---------------------------------------------------

// The mmproj name of an HF audio tensor (spec 5.2), or "".
std::string MmprojName(const std::string& hf) {
  static const std::pair<const char*, const char*> kTop[] = {
      {"model.audio_tower.subsample_conv_projection.layer0.conv.weight",
       "a.conv1d.0.weight"},
      {"model.audio_tower.subsample_conv_projection.layer1.conv.weight",
       "a.conv1d.1.weight"},
      {"model.audio_tower.subsample_conv_projection.layer0.norm.weight",
       "a.conv1d.0.norm.weight"},
      {"model.audio_tower.subsample_conv_projection.layer1.norm.weight",
       "a.conv1d.1.norm.weight"},
      {"model.audio_tower.subsample_conv_projection.input_proj_linear.weight",
       "a.input_projection.weight"},
      {"model.audio_tower.output_proj.weight", "a.pre_encode.out.weight"},
      {"model.audio_tower.output_proj.bias", "a.pre_encode.out.bias"},
      {"model.embed_audio.embedding_projection.weight",
       "mm.a.input_projection.weight"},
  };
  for (const auto& [from, to] : kTop) {
    if (hf == from) return to;
  }
  static const std::pair<const char*, const char*> kBlk[] = {
      {"feed_forward1.pre_layer_norm.", "ffn_norm."},
      {"feed_forward1.ffw_layer_1.", "ffn_up."},
      {"feed_forward1.ffw_layer_2.", "ffn_down."},
      {"feed_forward1.post_layer_norm.", "ffn_post_norm."},
      {"feed_forward2.pre_layer_norm.", "ffn_norm_1."},
      {"feed_forward2.ffw_layer_1.", "ffn_up_1."},
      {"feed_forward2.ffw_layer_2.", "ffn_down_1."},
      {"feed_forward2.post_layer_norm.", "ffn_post_norm_1."},
      {"norm_pre_attn.", "attn_pre_norm."},
      {"norm_post_attn.", "attn_post_norm."},
      {"norm_out.", "ln2."},
      {"self_attn.q_proj.", "attn_q."},
      {"self_attn.k_proj.", "attn_k."},
      {"self_attn.v_proj.", "attn_v."},
      {"self_attn.post.", "attn_out."},
      {"self_attn.relative_k_proj.", "attn_k_rel."},
      {"self_attn.per_dim_scale", "per_dim_scale.weight"},
      // The mmproj swaps these two names.
      {"lconv1d.pre_layer_norm.", "conv_norm."},
      {"lconv1d.conv_norm.", "norm_conv."},
      {"lconv1d.linear_start.", "conv_pw1."},
      {"lconv1d.linear_end.", "conv_pw2."},
      {"lconv1d.depthwise_conv1d.", "conv_dw."},
  };
  const std::string prefix = "model.audio_tower.layers.";
  if (hf.compare(0, prefix.size(), prefix) != 0) return "";
  const size_t dot = hf.find('.', prefix.size());
  const std::string layer = hf.substr(prefix.size(), dot - prefix.size());
  std::string rest = hf.substr(dot + 1);
  for (const auto& [from, to] : kBlk) {
    const std::string f = from;
    if (rest.compare(0, f.size(), f) == 0) {
      rest = to + rest.substr(f.size());
      const std::string lin = "linear.weight";
      if (rest.size() > lin.size() &&
          rest.compare(rest.size() - lin.size(), lin.size(), lin) == 0) {
        rest = rest.substr(0, rest.size() - lin.size()) + "weight";
      }
      return "a.blk." + layer + "." + rest;
    }
  }
  return "";
}

TEST(AudioTowerTest, MmprojGgufMatchesGolden) {
  GgufWriter w;
  w.AddString("general.architecture", "clip");
  w.AddBool("clip.has_vision_encoder", false);
  w.AddBool("clip.has_audio_encoder", true);
  w.AddString("clip.audio.projector_type", "gemma4a");
  w.AddUint32("clip.audio.embedding_length", 64);
  w.AddUint32("clip.audio.feed_forward_length", 256);
  w.AddUint32("clip.audio.block_count", 2);
  w.AddUint32("clip.audio.attention.head_count", 4);
  w.AddUint32("clip.audio.num_mel_bins", 128);
  w.AddUint32("clip.audio.projection_dim", 128);
  w.AddFloat32("clip.audio.attention.layer_norm_epsilon", 1e-5f);
  int added = 0;
  for (F32Tensor& t : TinyTensors()) {
    const std::string name = MmprojName(t.name);
    ASSERT_FALSE(name.empty()) << t.name;
    std::vector<int64_t> shape(t.torch_shape.rbegin(), t.torch_shape.rend());
    if (shape.empty()) shape = {1};  // 0-d bounds become [1]
    if (name.find("conv_dw") != std::string::npos) {
      shape = {shape[0], shape[2]};  // [C, 1, K] -> [C, K]
    }
    if (name.find("per_dim_scale") != std::string::npos) {
      for (float& v : t.values) v = std::log1p(std::exp(v));  // softplus
    }
    Status s;
    if (shape.size() == 2 && name.find("conv_dw") == std::string::npos) {
      std::vector<uint16_t> h(t.values.size());
      for (size_t i = 0; i < h.size(); ++i) {
        h[i] = kernels::Fp32ToFp16(t.values[i]);
      }
      s = w.AddTensor(name, kernels::DType::kF16, shape, h.data(),
                      h.size() * 2);
    } else {
      s = w.AddTensor(name, kernels::DType::kF32, shape, t.values.data(),
                      t.values.size() * 4);
    }
    ASSERT_TRUE(s.ok()) << s.ToString();
    ++added;
  }
  EXPECT_EQ(added, 132);
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/mmproj.gguf";
  ASSERT_TRUE(w.WriteFile(path).ok());
  auto t = AudioTower::Load(path);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t.value()->config().hidden, 64);
  EXPECT_EQ(t.value()->config().sscp_channels1, 16);
  EXPECT_EQ(t.value()->config().output_dims, 96);
  EXPECT_EQ(t.value()->config().text_hidden, 128);
  EXPECT_FLOAT_EQ(t.value()->config().rms_eps, 1e-6f);
  CheckCase(*t.value(), "speech_16k_mono", ReadMel("speech_16k_mono"), 63,
            nullptr, "mmproj f16");
  CheckCase(*t.value(), "tone_44k1_stereo", ReadMel("tone_44k1_stereo"), 25,
            nullptr, "mmproj f16");

  // A vision-only mmproj has no audio tower.
  GgufWriter v;
  v.AddString("general.architecture", "clip");
  v.AddBool("clip.has_vision_encoder", true);
  v.AddBool("clip.has_audio_encoder", false);
  const std::string vpath = dir.path() + "/vision.gguf";
  ASSERT_TRUE(v.WriteFile(vpath).ok());
  EXPECT_EQ(AudioTower::Load(vpath).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace facet::gemma4
