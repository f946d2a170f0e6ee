// Images, video frames and audio through the engine: the prompt layout
// (golden prompt expansion), soft tokens in the decoder (unscaled rows,
// the pad row's per-layer embedding, bidirectional image blocks on the
// sliding layers of 26B/31B-style models), and whole conversations on a
// tiny text model with the tiny golden towers.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "facet/encoder.h"
#include "facet/facet.h"
#include "gtest/gtest.h"
#include "models/gemma4/chat.h"
#include "src/engine/language_model.h"
#include "src/engine/media_encoder.h"
#include "src/engine/media_input.h"
#include "tests/test_paths.h"

namespace facet {
namespace {

using testing::ReadBytes;
using testing::ReadJson;
using testing::TestData;

std::string VisionSmall() { return TestData("multimodal/tiny-vision/small"); }
std::string VisionLarge() { return TestData("multimodal/tiny-vision/large"); }
std::string AudioTiny() { return TestData("multimodal/tiny-audio"); }
std::string Gradient() {
  return TestData("multimodal/inputs/img_gradient_640x480.png");
}
std::string Alpha() {
  return TestData("multimodal/inputs/img_alpha_20x20.png");
}
std::string Speech() {
  return TestData("multimodal/inputs/aud_speech_16k_mono.wav");
}

// A scratch HF folder: the tiny golden model `name`, the golden vocabulary
// as tokenizer.json, and config.json with `config_edit` applied.
std::string TinyModel(const std::string& name, bool bidirectional = false) {
  const std::string dir = ::testing::TempDir() + "/facet_mm_" + name +
                          (bidirectional ? "_bidi_" : "_") +
                          std::to_string(getpid());
  mkdir(dir.c_str(), 0700);
  const std::string src = TestData("golden/" + name);
  const std::string weights = dir + "/model.safetensors";
  unlink(weights.c_str());
  symlink((src + "/model.safetensors").c_str(), weights.c_str());
  const std::string tj = dir + "/tokenizer.json";
  unlink(tj.c_str());
  symlink(TestData("tokenizers/golden_vocab.tokenizer.json").c_str(),
          tj.c_str());
  nlohmann::json config = ReadJson(src + "/config.json");
  if (bidirectional) {
    config["text_config"]["use_bidirectional_attention"] = "vision";
  }
  std::ofstream(dir + "/config.json") << config.dump();
  return dir;
}

// --- Prompt layout -------------------------------------------------------

// The processor's expansion of a templated prompt: each placeholder
// becomes begin + placeholder x n + end.
std::string Expand(std::string text, const std::vector<int>& images,
                   const std::vector<int>& audio) {
  std::string out;
  size_t i = 0, next_image = 0, next_audio = 0;
  while (i < text.size()) {
    if (text.compare(i, 9, "<|image|>") == 0) {
      out += "<|image>";
      for (int k = 0; k < images.at(next_image); ++k) out += "<|image|>";
      out += "<image|>";
      ++next_image;
      i += 9;
    } else if (text.compare(i, 9, "<|audio|>") == 0) {
      out += "<|audio>";
      for (int k = 0; k < audio.at(next_audio); ++k) out += "<|audio|>";
      out += "<audio|>";
      ++next_audio;
      i += 9;
    } else {
      out += text[i++];
    }
  }
  return out;
}

gemma4::ChatPart MediaPart(gemma4::ChatPart::Kind kind, int n, int media) {
  gemma4::ChatPart p;
  p.kind = kind;
  p.soft_tokens = n;
  p.media = media;
  return p;
}

TEST(MultimodalPrompt, ExpansionMatchesGolden) {
  const nlohmann::json g =
      ReadJson(TestData("multimodal/prompt_expansion.json"));
  ASSERT_TRUE(g.is_object());
  const auto& ex = g["examples"];
  ASSERT_EQ(ex.size(), 2u);
  // 1: one image at budget 280 (266 tokens), then the question.
  gemma4::ChatMessage m1;
  m1.role = gemma4::ChatMessage::kUser;
  m1.parts.push_back(MediaPart(gemma4::ChatPart::kImage,
                               ex[0]["num_soft_tokens"][0].get<int>(), 0));
  gemma4::ChatPart q1;
  q1.text = "Describe this image.";
  m1.parts.push_back(q1);
  gemma4::ChatOptions o;
  EXPECT_EQ(gemma4::RenderPromptSegments({m1}, o, true).Flat(),
            ex[0]["chat_text_after"].get<std::string>());
  EXPECT_EQ(ex[0]["chat_text_after"].get<std::string>(),
            Expand(ex[0]["chat_text_before"].get<std::string>(), {266}, {}));
  // 2: an image (56) and an audio clip (63), then the question.
  gemma4::ChatMessage m2;
  m2.role = gemma4::ChatMessage::kUser;
  m2.parts.push_back(MediaPart(gemma4::ChatPart::kImage,
                               ex[1]["num_soft_tokens"]["image"][0].get<int>(),
                               0));
  m2.parts.push_back(MediaPart(gemma4::ChatPart::kAudio,
                               ex[1]["num_soft_tokens"]["audio"][0].get<int>(),
                               1));
  gemma4::ChatPart q2;
  q2.text = "What do you see and hear?";
  m2.parts.push_back(q2);
  const gemma4::Prompt p2 = gemma4::RenderPromptSegments({m2}, o, true);
  EXPECT_EQ(p2.Flat(),
            Expand(ex[1]["chat_text_before"].get<std::string>(), {56}, {63}));
  EXPECT_EQ(ex[1]["len_after"].get<int>() - ex[1]["len_before"].get<int>(),
            56 + 63 + 2 * 2 - 2);
  // The soft tokens are spans of their own, in order, never text.
  std::vector<int> counts;
  for (const gemma4::Segment& s : p2.segments()) {
    if (s.kind == gemma4::Segment::kSoftTokens) counts.push_back(s.count);
  }
  EXPECT_EQ(counts, (std::vector<int>{56, 63}));
}

TEST(MultimodalPrompt, VideoFramesCarryTimestamps) {
  gemma4::ChatMessage m;
  m.role = gemma4::ChatMessage::kUser;
  gemma4::ChatPart v;
  v.kind = gemma4::ChatPart::kVideo;
  for (int i = 0; i < 2; ++i) {
    gemma4::ChatVideoFrame f;
    f.seconds = i == 0 ? 0.4 : 75.9;
    f.soft_tokens = 2;
    f.media = i;
    v.frames.push_back(f);
  }
  m.parts.push_back(v);
  const std::string flat =
      gemma4::RenderPromptSegments({m}, gemma4::ChatOptions(), false).Flat();
  EXPECT_NE(flat.find("\n\n00:00 <|image><|video|><|video|><image|> 01:15 "
                      "<|image><|video|><|video|><image|>\n\n"),
            std::string::npos)
      << flat;
}

// --- The decoder with soft tokens ------------------------------------------

struct Loaded {
  std::unique_ptr<LanguageModel> model;
  std::unique_ptr<MediaEncoder> encoder;
};

Loaded Load(const std::string& model, const std::string& tower) {
  Loaded r;
  LoadOptions lo;
  lo.path = model;
  lo.prefetch = false;
  auto m = LoadLanguageModel(lo);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  if (m.ok()) r.model = std::move(m).value();
  auto e = LoadMediaEncoder(tower);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  if (e.ok()) r.encoder = std::move(e).value();
  return r;
}

// Logits [n][V] of: 3 text tokens, the rows of `rows` as soft tokens (one
// image block), 3 text tokens; `chunk` positions per forward call.
std::vector<float> Logits(const LanguageModel& model,
                          const std::vector<float>& rows, int chunk = 1024) {
  const int64_t H = model.hidden_size();
  const int n_soft = static_cast<int>(rows.size() / H);
  std::vector<int> ids = {2, 105, 10};
  std::vector<uint8_t> soft(3, 0);
  std::vector<int32_t> block(3, 0);
  std::vector<float> emb(3 * H, 0.f);
  for (int i = 0; i < n_soft; ++i) {
    ids.push_back(0);
    soft.push_back(1);
    block.push_back(1);
  }
  emb.insert(emb.end(), rows.begin(), rows.end());
  for (int id : {20, 106, 30}) {
    ids.push_back(id);
    soft.push_back(0);
    block.push_back(0);
    emb.insert(emb.end(), H, 0.f);
  }
  const int n = static_cast<int>(ids.size());
  auto state = model.NewState(1024, std::max(chunk, n_soft), false);
  EXPECT_TRUE(state.ok());
  const int64_t V = model.vocab_size();
  std::vector<float> logits(n * V);
  for (int b = 0; b < n; b += chunk) {
    ForwardBatch batch;
    batch.tokens = ids.data() + b;
    batch.n = std::min(chunk, n - b);
    batch.soft = soft.data() + b;
    batch.soft_embeds = emb.data() + b * H;
    batch.block = block.data() + b;
    Status s = model.Forward(batch, state->get(), nullptr,
                             logits.data() + b * V, true);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  return logits;
}

float MaxDiff(const float* a, const float* b, int64_t n) {
  float d = 0;
  for (int64_t i = 0; i < n; ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return d;
}

EncodedMedia EncodeImage(const MediaEncoder& enc, const std::string& path,
                         int budget = 70) {
  auto em = EncodeMediaPart(Part::ImageFile(path), budget, enc, nullptr, false);
  EXPECT_TRUE(em.ok()) << em.status().ToString();
  return em.ok() ? *em : EncodedMedia();
}

TEST(MultimodalDecoder, LogitsDependOnTheImageAfterItOnly) {
  Loaded r = Load(TinyModel("e2b-tiny-hf-bf16"), VisionSmall());
  ASSERT_TRUE(r.model && r.encoder);
  const EncodedMedia a = EncodeImage(*r.encoder, Gradient());
  const EncodedMedia b = EncodeImage(*r.encoder, Alpha());
  ASSERT_EQ(a.soft_tokens, 63);
  ASSERT_EQ(b.soft_tokens, 64);
  const int64_t V = r.model->vocab_size();
  const std::vector<float> la = Logits(*r.model, a.embeddings);
  const std::vector<float> lb = Logits(*r.model, b.embeddings);
  // Before the image: identical. The last position (3 tokens after it):
  // moved by the image.
  EXPECT_EQ(MaxDiff(la.data(), lb.data(), 3 * V), 0.f);
  const float after =
      MaxDiff(la.data() + (la.size() - V), lb.data() + (lb.size() - V), V);
  EXPECT_GT(after, 1e-2f);
  // Causal (E2B): the first soft position ignores the later rows.
  std::vector<float> changed = a.embeddings;
  for (int64_t i = 0; i < 128; ++i) changed[changed.size() - 1 - i] += 1.f;
  const std::vector<float> lc = Logits(*r.model, changed);
  EXPECT_EQ(MaxDiff(la.data() + 3 * V, lc.data() + 3 * V, V), 0.f);
  // Chunking does not change anything.
  const std::vector<float> l7 = Logits(*r.model, a.embeddings, 7);
  EXPECT_LT(MaxDiff(la.data(), l7.data(), static_cast<int64_t>(la.size())),
            1e-4f);
}

TEST(MultimodalDecoder, ImageBlocksAreBidirectionalOnSlidingLayers) {
  Loaded causal = Load(TinyModel("dense-tiny-hf-bf16"), VisionLarge());
  Loaded bidi = Load(TinyModel("dense-tiny-hf-bf16", true), VisionLarge());
  ASSERT_TRUE(causal.model && bidi.model && causal.encoder);
  EXPECT_FALSE(causal.model->needs_whole_image_blocks());
  EXPECT_TRUE(bidi.model->needs_whole_image_blocks());
  const EncodedMedia a = EncodeImage(*causal.encoder, Gradient());
  std::vector<float> changed = a.embeddings;
  for (int64_t i = 0; i < 128; ++i) changed[changed.size() - 1 - i] += 1.f;
  const int64_t V = causal.model->vocab_size();
  // The first soft position sees the last one only when bidirectional.
  const std::vector<float> c0 = Logits(*causal.model, a.embeddings);
  const std::vector<float> c1 = Logits(*causal.model, changed);
  EXPECT_EQ(MaxDiff(c0.data() + 3 * V, c1.data() + 3 * V, V), 0.f);
  const std::vector<float> b0 = Logits(*bidi.model, a.embeddings);
  const std::vector<float> b1 = Logits(*bidi.model, changed);
  EXPECT_GT(MaxDiff(b0.data() + 3 * V, b1.data() + 3 * V, V), 1e-3f);
  // Text before the image stays causal.
  EXPECT_EQ(MaxDiff(b0.data(), b1.data(), 3 * V), 0.f);
}

// --- Whole conversations through the public API ----------------------------

std::shared_ptr<Engine> MakeEngine(const std::string& model,
                                   const std::string& mmproj) {
  EngineOptions eo;
  eo.model_path = model;
  eo.mmproj_path = mmproj;
  eo.num_threads = 2;
  auto e = Engine::Create(eo);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? *e : nullptr;
}

GenerateOptions Greedy(int n) {
  GenerateOptions go;
  go.max_tokens = n;
  go.sampling.temperature = 0;
  go.ignore_eos = true;
  return go;
}

TEST(MultimodalEngine, ImagesInSeveralTurnsAndChunks) {
  const std::string model = TinyModel("e2b-tiny-hf-bf16");
  auto engine = MakeEngine(model, VisionSmall());
  ASSERT_TRUE(engine);
  EXPECT_TRUE(engine->has_vision());
  EXPECT_FALSE(engine->has_audio());
  std::vector<std::string> answers;
  for (int chunk : {256, 5}) {
    SessionOptions so;
    so.prefill_chunk = chunk;
    auto s = engine->NewSession(so);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->AddMessage(Role::kUser, {Part::ImageFile(Gradient()),
                                               Part::Text("What is it?")})
                    .ok());
    auto r1 = (*s)->Generate(Greedy(6));
    ASSERT_TRUE(r1.ok()) << r1.status().ToString();
    // 63 soft tokens + markers + text.
    EXPECT_GT((*s)->stats().prompt_tokens, 63);
    // A second image, in memory, two per turn, in a later turn.
    Part b = Part::ImageData(ReadBytes(Alpha()));
    b.image_budget = 140;
    ASSERT_TRUE((*s)->AddMessage(Role::kUser, {b, Part::ImageFile(Gradient()),
                                               Part::Text("And these?")})
                    .ok());
    auto r2 = (*s)->Generate(Greedy(6));
    ASSERT_TRUE(r2.ok()) << r2.status().ToString();
    EXPECT_GT((*s)->stats().prompt_tokens, 121 + 63);
    answers.push_back(r1->text + "|" + r2->text);
  }
  EXPECT_EQ(answers[0], answers[1]);
}

TEST(MultimodalEngine, VideoFrames) {
  auto engine = MakeEngine(TinyModel("e2b-tiny-hf-bf16"), VisionSmall());
  ASSERT_TRUE(engine);
  auto s = engine->NewSession();
  ASSERT_TRUE(s.ok());
  Part video = Part::Video(
      {Part::ImageFile(Gradient()), Part::ImageFile(Alpha())}, {0.0, 1.0});
  ASSERT_TRUE(
      (*s)->AddMessage(Role::kUser, {video, Part::Text("What happens?")}).ok());
  auto r = (*s)->Generate(Greedy(3));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Frames default to 70 tokens: 63 + 64.
  EXPECT_GT((*s)->stats().prompt_tokens, 127);
}

TEST(MultimodalEngine, ClearErrors) {
  const std::string model = TinyModel("e2b-tiny-hf-bf16");
  // No encoder: images are refused with a message naming the fix.
  auto text_only = MakeEngine(model, "");
  ASSERT_TRUE(text_only);
  EXPECT_FALSE(text_only->has_vision());
  auto s0 = text_only->NewSession();
  ASSERT_TRUE(s0.ok());
  Status st = (*s0)->AddMessage(Role::kUser, {Part::ImageFile(Gradient())});
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("mmproj"), std::string::npos) << st.message();
  // A named encoder folder that has none.
  EngineOptions eo;
  eo.model_path = model;
  eo.mmproj_path = TestData("golden/e2b-tiny-hf-bf16");
  EXPECT_EQ(Engine::Create(eo).status().code(), StatusCode::kNotFound);

  auto engine = MakeEngine(model, VisionSmall());
  ASSERT_TRUE(engine);
  auto s = engine->NewSession();
  ASSERT_TRUE(s.ok());
  // Audio on an engine without an audio tower.
  EXPECT_EQ((*s)->AddMessage(Role::kUser, {Part::AudioFile(Speech())}).code(),
            StatusCode::kFailedPrecondition);
  // Undecodable bytes, a missing file, a bad budget, media in a model turn.
  EXPECT_FALSE(
      (*s)->AddMessage(Role::kUser, {Part::ImageData("not an image")}).ok());
  EXPECT_FALSE(
      (*s)->AddMessage(Role::kUser, {Part::ImageFile("/nonexistent.png")})
          .ok());
  Part bad = Part::ImageFile(Gradient());
  bad.image_budget = 100;
  EXPECT_EQ((*s)->AddMessage(Role::kUser, {bad}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      (*s)->AddMessage(Role::kModel, {Part::ImageFile(Gradient())}).code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(
      (*s)->AddMessage(Role::kUser, {Part::ImagePixels({1, 2}, 5, 5)}).code(),
      StatusCode::kInvalidArgument);
  // Nothing was queued by the failures: the session still works.
  ASSERT_TRUE((*s)->AddMessage(Role::kUser, "hello").ok());
  EXPECT_TRUE((*s)->Generate(Greedy(2)).ok());
  // An image that does not fit the context is refused before prefill.
  SessionOptions small;
  small.context_length = 40;
  auto s2 = engine->NewSession(small);
  ASSERT_TRUE(s2.ok());
  ASSERT_TRUE(
      (*s2)->AddMessage(Role::kUser, {Part::ImageFile(Gradient())}).ok());
  EXPECT_EQ((*s2)->Generate(Greedy(2)).status().code(),
            StatusCode::kOutOfRange);
}

TEST(MultimodalEngine, AudioTurn) {
  auto engine = MakeEngine(TinyModel("e2b-tiny-hf-bf16"), AudioTiny());
  ASSERT_TRUE(engine);
  EXPECT_TRUE(engine->has_audio());
  EXPECT_FALSE(engine->has_vision());
  auto s = engine->NewSession();
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->AddMessage(Role::kUser, {Part::AudioFile(Speech()),
                                             Part::Text("Transcribe this.")})
                  .ok());
  auto r = (*s)->Generate(Greedy(3));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT((*s)->stats().prompt_tokens, 63);
  // Raw samples: 31 s are split into 30 s + 1 s chunks, or refused.
  std::vector<float> tone(31 * 16000);
  for (size_t i = 0; i < tone.size(); ++i) tone[i] = 0.1f * std::sin(0.05f * i);
  Part longer = Part::AudioSamples(tone, 16000);
  EncoderOptions eo;
  eo.path = AudioTiny();
  auto enc = Encoder::Create(eo);
  ASSERT_TRUE(enc.ok()) << enc.status().ToString();
  auto e = (*enc)->Encode(longer);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->soft_tokens, 750 + 25);
  longer.split_long_audio = false;
  EXPECT_EQ((*enc)->Encode(longer).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(MultimodalEngine, EncoderMatchesGoldenEmbeddings) {
  EncoderOptions eo;
  eo.path = VisionSmall();
  auto enc = Encoder::Create(eo);
  ASSERT_TRUE(enc.ok()) << enc.status().ToString();
  Part p = Part::ImageFile(Gradient());
  p.image_budget = 70;
  auto e = (*enc)->Encode(p, true);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->resized_width, 432);
  EXPECT_EQ(e->resized_height, 336);
  EXPECT_EQ(e->soft_tokens, 63);
  EXPECT_EQ(e->feature_rows, 567);
  EXPECT_EQ(e->feature_cols, 768);
  const std::vector<float> ref = testing::ReadF32(
      TestData("multimodal/image/gradient_640x480/b70/emb_small.f32"));
  ASSERT_EQ(ref.size(), e->embeddings.size());
  EXPECT_LE(MaxDiff(ref.data(), e->embeddings.data(),
                    static_cast<int64_t>(ref.size())),
            2e-4f);
}

}  // namespace
}  // namespace facet
