// The Gemma 4 MTP drafter: the golden case of shared/golden/mtp (copied to
// tests/data/mtp; target: the tiny e2b f32 GGUF, bit for bit the weights of
// e2b-tiny-hf), its speculative loop, the K/V types, bad folders, and greedy
// generation with the drafter identical to plain decoding.
#include "models/gemma4/mtp_drafter.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "facet/facet.h"
#include "gtest/gtest.h"
#include "models/gemma4/text_model.h"
#include "models/gemma4/text_state.h"
#include "tests/test_paths.h"

namespace facet {
namespace {

using gemma4::MtpDrafter;
using gemma4::MtpDrafterOptions;
using testing::ReadBytes;
using testing::ReadF32;
using testing::ReadJson;
using testing::TestData;

// The spec's tolerance for an f32 engine (gemma4-mtp-drafter.md 10).
constexpr float kTol = 1e-3f;

std::string Target() { return TestData("golden/e2b-tiny-f32-s16/model.gguf"); }
std::string DrafterDir() { return TestData("mtp/e2b-tiny-assistant"); }
std::string Case(const std::string& f) {
  return TestData("mtp/golden-e2b-tiny/" + f);
}

float MaxDiff(const float* a, const float* b, size_t n) {
  float m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

int Argmax(const float* x, int64_t n) {
  return static_cast<int>(std::max_element(x, x + n) - x);
}

std::unique_ptr<LanguageModel> LoadTarget() {
  LoadOptions lo;
  lo.path = Target();
  lo.repack_weights = false;
  lo.prefetch = false;
  auto m = LoadLanguageModel(lo);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? std::move(m).value() : nullptr;
}

std::unique_ptr<MtpDrafter> LoadDrafter(const LanguageModel& target,
                                        const MtpDrafterOptions& o = {}) {
  auto d = MtpDrafter::Load(DrafterDir(), *gemma4::ModelOf(target), o);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? std::move(d).value() : nullptr;
}

// The target after the case's 22 context tokens (last row's logits).
std::unique_ptr<ModelState> Prefill(const LanguageModel& target,
                                    const std::vector<int>& tokens,
                                    kernels::DType kv = kernels::DType::kF32,
                                    std::vector<float>* last = nullptr) {
  auto st = target.NewState(128, 8, false, kv, kv);
  EXPECT_TRUE(st.ok());
  std::vector<float> local;
  std::vector<float>& logits = last != nullptr ? *last : local;
  logits.assign(target.vocab_size(), 0.f);
  for (size_t b = 0; b < tokens.size(); b += 8) {
    ForwardBatch batch;
    batch.tokens = tokens.data() + b;
    batch.n = static_cast<int>(std::min<size_t>(8, tokens.size() - b));
    EXPECT_TRUE(
        target.Forward(batch, st->get(), nullptr, logits.data(), false).ok());
  }
  return std::move(st).value();
}

TEST(MtpDrafterTest, GoldenDraftLogits) {
  const nlohmann::json meta = ReadJson(Case("meta.json"));
  ASSERT_TRUE(meta.is_object());
  auto target = LoadTarget();
  ASSERT_NE(target, nullptr);
  const std::vector<int> prompt = meta["prompt_tokens"];
  auto state = Prefill(*target, prompt);
  const auto& ts = static_cast<const gemma4::TextState&>(*state);
  const int64_t H = 128, q = 22;
  ASSERT_EQ(state->position(), q);
  // The target's inputs of the drafter: hidden row 21 and the K/V of its
  // source layers 1 (sliding) and 2 (full).
  const std::vector<float> hidden = ReadF32(Case("target_hidden.f32"));
  ASSERT_EQ(hidden.size(), static_cast<size_t>(q * H));
  EXPECT_LE(MaxDiff(ts.scratch.logits_h.data(), hidden.data() + 21 * H, H),
            kTol);
  auto drafter = LoadDrafter(*target);
  ASSERT_NE(drafter, nullptr);
  EXPECT_EQ(drafter->source_layer(gemma4::AttentionKind::kSliding), 1);
  EXPECT_EQ(drafter->source_layer(gemma4::AttentionKind::kFull), 2);
  for (const auto& [layer, name, d] :
       {std::make_tuple(1, std::string("sliding"), 32),
        std::make_tuple(2, std::string("full"), 64)}) {
    const std::vector<float> k = ReadF32(Case("target_kv_" + name + "_k.f32"));
    const std::vector<float> v = ReadF32(Case("target_kv_" + name + "_v.f32"));
    ASSERT_EQ(k.size(), static_cast<size_t>(q * d));
    float dk = 0, dv = 0;
    for (int64_t p = 0; p < q; ++p) {
      dk = std::max(
          dk, MaxDiff(reinterpret_cast<const float*>(ts.cache.KRow(layer, p)),
                      k.data() + p * d, d));
      dv = std::max(
          dv, MaxDiff(reinterpret_cast<const float*>(ts.cache.VRow(layer, p)),
                      v.data() + p * d, d));
    }
    EXPECT_LE(dk, kTol) << name;
    EXPECT_LE(dv, kTol) << name;
  }

  // Three steps from (281, h_21) at position 22, three ways.
  struct Variant {
    const char* file;
    MtpDrafterOptions o;
  };
  MtpDrafterOptions dense, minus1;
  dense.dense_head = true;
  minus1.query_at_last_cached = true;
  const Variant variants[] = {{"draft_logits.f32", {}},
                              {"draft_logits_dense.f32", dense},
                              {"draft_logits_qpos_minus1.f32", minus1}};
  const std::vector<int> want_tokens = meta["draft_tokens"];
  for (const Variant& var : variants) {
    auto d = LoadDrafter(*target, var.o);
    ASSERT_NE(d, nullptr);
    const std::vector<float> ref = ReadF32(Case(var.file));
    const std::vector<float> ref_post = ReadF32(Case("draft_h_post.f32"));
    const std::vector<float> ref_cent = ReadF32(Case("centroid_logits.f32"));
    ASSERT_EQ(ref.size(), 3u * 512);
    std::vector<float> h(hidden.begin() + 21 * H, hidden.begin() + 22 * H);
    std::vector<float> logits(512), cent(32);
    int tok = meta["input_token"];
    float worst = 0;
    for (int step = 0; step < 3; ++step) {
      int draft = -1;
      ASSERT_TRUE(d->Step(ts.cache, q, 0, tok, h.data(), nullptr, h.data(),
                          &draft, logits.data(), cent.data())
                      .ok());
      const float diff = MaxDiff(logits.data(), ref.data() + step * 512, 512);
      worst = std::max(worst, diff);
      EXPECT_LE(diff, kTol) << var.file << " step " << step;
      EXPECT_EQ(draft, want_tokens[step]) << var.file << " step " << step;
      EXPECT_EQ(draft, Argmax(ref.data() + step * 512, 512));
      if (std::string(var.file) == "draft_logits.f32") {
        EXPECT_LE(MaxDiff(h.data(), ref_post.data() + step * H, H), kTol);
        EXPECT_LE(MaxDiff(cent.data(), ref_cent.data() + step * 32, 32), kTol);
      }
      tok = draft;
    }
    std::printf("[ golden ] %s: max |dlogit| %.3g (tolerance %.0e)\n", var.file,
                worst, kTol);
  }
  // The window rules agree on a context shorter than the window.
  for (gemma4::DraftWindow w :
       {gemma4::DraftWindow::kCausal, gemma4::DraftWindow::kNone}) {
    MtpDrafterOptions o;
    o.window = w;
    auto d = LoadDrafter(*target, o);
    ASSERT_NE(d, nullptr);
    std::vector<int> out;
    ASSERT_TRUE(d->Draft(ts, hidden.data() + 21 * H, meta["input_token"], 3,
                         nullptr, &out)
                    .ok());
    EXPECT_EQ(out, want_tokens);
  }
}

// The golden greedy speculative loop (k = 3) through the engine seam:
// same drafts and accepted counts per round, and the target's own greedy
// continuation; with f16 and q8_0 target K/V the output stays the same.
TEST(MtpDrafterTest, GoldenSpeculativeLoop) {
  const nlohmann::json meta = ReadJson(Case("meta.json"));
  ASSERT_TRUE(meta.is_object());
  const nlohmann::json& loop = meta["spec_loop"];
  auto target = LoadTarget();
  ASSERT_NE(target, nullptr);
  auto drafter = LoadDraftModel(DrafterDir(), *target);
  ASSERT_TRUE(drafter.ok()) << drafter.status().ToString();
  const int64_t V = target->vocab_size();
  const std::vector<int> want = loop["output_tokens"];
  for (kernels::DType kv :
       {kernels::DType::kF32, kernels::DType::kF16, kernels::DType::kQ8_0}) {
    std::vector<float> last;
    auto state = Prefill(*target, loop["prompt_tokens"], kv, &last);
    std::vector<float> rows(4 * V);
    // The first token comes from the prefill's last row (hidden row 0).
    std::vector<int> out = {Argmax(last.data(), V)};
    int hidden_row = 0;
    size_t round = 0;
    while (out.size() < want.size()) {
      const int x = out.back();
      const int64_t q = state->position();
      std::vector<int> d;
      ASSERT_TRUE(
          (*drafter)->Draft(*state, hidden_row, x, 3, nullptr, &d).ok());
      ASSERT_EQ(d.size(), 3u);
      std::vector<int> batch = {x};
      batch.insert(batch.end(), d.begin(), d.end());
      ForwardBatch b;
      b.tokens = batch.data();
      b.n = 4;
      ASSERT_TRUE(
          target->Forward(b, state.get(), nullptr, rows.data(), true).ok());
      int n = 0;
      while (n < 3 && Argmax(rows.data() + n * V, V) == d[n]) ++n;
      const int t = Argmax(rows.data() + n * V, V);
      if (kv == kernels::DType::kF32 && round < loop["rounds"].size()) {
        const nlohmann::json& r = loop["rounds"][round];
        EXPECT_EQ(q, r["q_pos"].get<int64_t>()) << "round " << round;
        EXPECT_EQ(d, r["drafts"].get<std::vector<int>>()) << "round " << round;
        EXPECT_EQ(n, r["n_accepted"].get<int>()) << "round " << round;
      }
      for (int i = 0; i < n; ++i) out.push_back(d[i]);
      out.push_back(t);
      ASSERT_TRUE(state->Truncate(q + n + 1).ok());
      hidden_row = n;
      ++round;
    }
    out.resize(want.size());
    EXPECT_EQ(out, want) << "kv type " << static_cast<int>(kv);
  }
}

// Folders that are not a drafter for this target fail with a status.
class MtpBadFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/mtp_bad_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::string cmd = "rm -rf '" + dir_ + "' && mkdir -p '" + dir_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    config_ = ReadJson(DrafterDir() + "/config.json");
    weights_ = ReadBytes(DrafterDir() + "/model.safetensors");
    target_ = LoadTarget();
    ASSERT_NE(target_, nullptr);
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)std::system(cmd.c_str());
  }
  // Writes the (edited) folder and loads it.
  Status Load(bool with_config = true) {
    if (with_config) {
      std::ofstream(dir_ + "/config.json") << config_.dump();
    }
    std::ofstream(dir_ + "/model.safetensors", std::ios::binary) << weights_;
    return MtpDrafter::Load(dir_, *gemma4::ModelOf(*target_)).status();
  }
  // The bytes of tensor `name` in weights_.
  char* TensorData(const std::string& name) {
    uint64_t n = 0;
    std::memcpy(&n, weights_.data(), 8);
    const nlohmann::json h = nlohmann::json::parse(weights_.substr(8, n));
    return &weights_[8 + n + h[name]["data_offsets"][0].get<size_t>()];
  }
  std::string dir_;
  nlohmann::json config_;
  std::string weights_;
  std::unique_ptr<LanguageModel> target_;
};

TEST_F(MtpBadFolderTest, GoodFolderLoads) { EXPECT_TRUE(Load().ok()); }

TEST_F(MtpBadFolderTest, MissingConfig) {
  EXPECT_EQ(Load(false).code(), StatusCode::kNotFound);
}

TEST_F(MtpBadFolderTest, WrongModelType) {
  config_["model_type"] = "gemma4";
  const Status s = Load();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("gemma4_assistant"), std::string::npos);
}

TEST_F(MtpBadFolderTest, NotJson) {
  std::ofstream(dir_ + "/config.json") << "{ nope";
  std::ofstream(dir_ + "/model.safetensors", std::ios::binary) << weights_;
  EXPECT_EQ(MtpDrafter::Load(dir_, *gemma4::ModelOf(*target_)).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(MtpBadFolderTest, BackboneMismatch) {
  config_["backbone_hidden_size"] = 256;
  const Status s = Load();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("backbone_hidden_size"), std::string::npos);
}

TEST_F(MtpBadFolderTest, VocabMismatch) {
  config_["text_config"]["vocab_size"] = 1024;
  EXPECT_EQ(Load().code(), StatusCode::kFailedPrecondition);
}

TEST_F(MtpBadFolderTest, HeadDimAndKvHeadsMismatch) {
  config_["text_config"]["global_head_dim"] = 128;
  EXPECT_EQ(Load().code(), StatusCode::kFailedPrecondition);
  config_ = ReadJson(DrafterDir() + "/config.json");
  config_["text_config"]["num_key_value_heads"] = 2;
  EXPECT_EQ(Load().code(), StatusCode::kFailedPrecondition);
}

TEST_F(MtpBadFolderTest, RopeMismatch) {
  config_["text_config"]["rope_parameters"]["full_attention"]["rope_theta"] =
      500.0;
  EXPECT_EQ(Load().code(), StatusCode::kFailedPrecondition);
}

TEST_F(MtpBadFolderTest, BadLayerTypesAndSharing) {
  config_["text_config"]["layer_types"][1] = "chunked_attention";
  EXPECT_EQ(Load().code(), StatusCode::kInvalidArgument);
  config_ = ReadJson(DrafterDir() + "/config.json");
  config_["text_config"]["num_kv_shared_layers"] = 2;
  EXPECT_EQ(Load().code(), StatusCode::kInvalidArgument);
  config_ = ReadJson(DrafterDir() + "/config.json");
  config_["text_config"]["enable_moe_block"] = true;
  EXPECT_EQ(Load().code(), StatusCode::kInvalidArgument);
}

TEST_F(MtpBadFolderTest, MissingTensor) {
  // A fifth layer the file does not have.
  config_["text_config"]["num_hidden_layers"] = 5;
  config_["text_config"]["num_kv_shared_layers"] = 5;
  config_["text_config"]["layer_types"].push_back("full_attention");
  const Status s = Load();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("model.layers.4."), std::string::npos);
}

TEST_F(MtpBadFolderTest, WrongShape) {
  config_["text_config"]["intermediate_size"] = 96;
  const Status s = Load();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("shape"), std::string::npos);
}

TEST_F(MtpBadFolderTest, CentroidsNotDividingVocab) {
  config_["num_centroids"] = 48;
  EXPECT_EQ(Load().code(), StatusCode::kInvalidArgument);
}

TEST_F(MtpBadFolderTest, OrderingNotAPermutation) {
  char* order = TensorData("masked_embedding.token_ordering");
  std::memcpy(order + 8, order, 8);  // entry 1 = entry 0
  const Status s = Load();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("permutation"), std::string::npos);
}

TEST_F(MtpBadFolderTest, TruncatedWeights) {
  weights_.resize(weights_.size() / 2);
  EXPECT_EQ(Load().code(), StatusCode::kDataLoss);
}

TEST_F(MtpBadFolderTest, NotAGemmaTarget) {
  // A GGUF path is no drafter folder.
  EXPECT_EQ(
      MtpDrafter::Load(Target(), *gemma4::ModelOf(*target_)).status().code(),
      StatusCode::kNotFound);
}

// Greedy answers with the drafter are token for token those of plain
// decoding, over several prompts and the K/V types, and drafts get
// accepted.
TEST(MtpDrafterEngineTest, GreedyIdenticalToPlainDecoding) {
  EngineOptions eo;
  eo.model_path = Target();
  eo.draft_model_path = DrafterDir();
  eo.num_threads = 1;
  auto engine = Engine::Create(eo);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  const std::vector<std::string> prompts = {
      "Repeat: the cat sat on the mat, the cat sat on the mat.",
      "In the beginning God created the heaven and the earth.",
      "Count: one two three four five six seven", "Hello"};
  int64_t drafted = 0, accepted = 0;
  for (const char* kv : {"f32", "f16", "q8_0"}) {
    for (const std::string& prompt : prompts) {
      std::vector<int> plain_tokens;
      for (bool spec : {false, true}) {
        SessionOptions so;
        so.context_length = 256;
        so.prefill_chunk = 8;
        so.cache_type_k = kv;
        so.cache_type_v = kv;
        auto s = (*engine)->NewSession(so);
        ASSERT_TRUE(s.ok());
        ASSERT_TRUE((*s)->AddMessage(Role::kUser, prompt).ok());
        GenerateOptions g;
        g.max_tokens = 24;
        g.sampling.temperature = 0;
        g.ignore_eos = true;
        if (spec) {
          g.speculative.mode = SpeculativeMode::kDraft;
          g.speculative.max_draft = 4;
          g.speculative.adaptive = false;
        }
        auto r = (*s)->Generate(g);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        const Stats st = (*s)->stats();
        if (!spec) {
          plain_tokens = (*s)->tokens();
          EXPECT_EQ(st.speculative_steps, 0);
        } else {
          EXPECT_EQ((*s)->tokens(), plain_tokens) << kv << " " << prompt;
          EXPECT_GT(st.speculative_steps, 0);
          drafted += st.drafted_tokens;
          accepted += st.accepted_tokens;
        }
      }
    }
  }
  EXPECT_GT(drafted, 0);
  EXPECT_GT(accepted, 0);
  std::printf("[ drafter ] accepted %lld of %lld drafted tokens\n",
              static_cast<long long>(accepted),
              static_cast<long long>(drafted));

  // Sampling with drafts runs (SampleDraft keeps the distribution; the
  // drafts are argmax, i.e. deterministic like prompt lookup's).
  auto s = (*engine)->NewSession({});
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->AddMessage(Role::kUser, "Hello").ok());
  GenerateOptions g;
  g.max_tokens = 16;
  g.ignore_eos = true;
  g.sampling.temperature = 0.8f;
  g.sampling.seed = 7;
  g.speculative.mode = SpeculativeMode::kDraft;
  g.speculative.adaptive = false;
  EXPECT_TRUE((*s)->Generate(g).ok());
}

TEST(MtpDrafterEngineTest, Errors) {
  // A drafter made for another model.
  EngineOptions eo;
  eo.model_path = TestData("golden/dense-tiny-f32-s16/model.gguf");
  eo.draft_model_path = DrafterDir();
  eo.num_threads = 1;
  auto bad = Engine::Create(eo);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kFailedPrecondition);
  // kDraft without a drafter.
  eo.draft_model_path.clear();
  eo.model_path = Target();
  auto engine = Engine::Create(eo);
  ASSERT_TRUE(engine.ok());
  auto s = (*engine)->NewSession({});
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->AddMessage(Role::kUser, "Hello").ok());
  GenerateOptions g;
  g.max_tokens = 4;
  g.speculative.mode = SpeculativeMode::kDraft;
  EXPECT_EQ((*s)->Generate(g).status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace facet
