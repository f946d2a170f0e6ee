// facet convert: a Hugging Face folder or GGUF file written as GGUF keeps
// its config, tokenizer and (for lossless types) its exact logits.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "facet/facet.h"
#include "facet/tools.h"
#include "gtest/gtest.h"
#include "models/gemma4/model.h"
#include "tests/test_paths.h"

namespace facet {
namespace {

using testing::TestData;

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("facet_convert_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

std::vector<float> Logits(const std::string& model,
                          const std::vector<int>& tokens) {
  EngineOptions eo;
  eo.model_path = model;
  eo.num_threads = 1;
  auto e = Engine::Create(eo);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  if (!e.ok()) return {};
  auto s = (*e)->NewSession();
  std::vector<float> out;
  EXPECT_TRUE((*s)->Prefill(tokens, &out, true).ok());
  return out;
}

const std::vector<int> kTokens = {2, 168, 483, 360, 192, 81, 404, 212, 308};

TEST(ConvertTest, HfBf16ToGgufBf16KeepsTheModel) {
  const std::string src = TestData("golden/moe-tiny-hf-bf16");
  const std::string dst = TempPath("moe_bf16.gguf");
  ConvertOptions o;
  o.type = "bf16";
  ASSERT_TRUE(ConvertToGguf(src, dst, o).ok());
  auto a = gemma4::Model::Load(src);
  auto b = gemma4::Model::Load(dst);
  ASSERT_TRUE(a.ok() && b.ok()) << b.status().ToString();
  EXPECT_EQ((*a)->config().num_layers, (*b)->config().num_layers);
  EXPECT_EQ((*a)->config().attention_k_eq_v, (*b)->config().attention_k_eq_v);
  EXPECT_EQ((*a)->config().layers[1].rope_pairs,
            (*b)->config().layers[1].rope_pairs);
  // The same weights (the router is widened to f32, as llama.cpp stores
  // it, so only the summation order of one matmul differs).
  std::vector<float> la = Logits(src, kTokens), lb = Logits(dst, kTokens);
  ASSERT_EQ(la.size(), lb.size());
  for (size_t i = 0; i < la.size(); ++i) ASSERT_NEAR(la[i], lb[i], 2e-3) << i;
  std::remove(dst.c_str());
}

TEST(ConvertTest, GgufRequantizeKeepsTokenizerAndStaysClose) {
  const std::string src = TestData("golden/e2b-tiny-f32-s16/model.gguf");
  const std::string dst = TempPath("e2b_q8.gguf");
  ConvertOptions o;
  o.type = "q8_0";
  int last = 0;
  o.progress = [&](int done, int) { last = done; };
  ASSERT_TRUE(ConvertToGguf(src, dst, o).ok());
  EXPECT_GT(last, 50);
  auto m = gemma4::Model::Load(dst);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)->weights().layers[0].q->dtype, kernels::DType::kQ8_0);
  // Router-free dense file: the PLE projection stays f32 as in llama.cpp.
  EXPECT_EQ((*m)->weights().ple_model_proj->dtype, kernels::DType::kF32);
  EngineOptions eo;
  eo.model_path = dst;
  auto e = Engine::Create(eo);
  ASSERT_TRUE(e.ok());
  auto ids = (*e)->Tokenize("the quick brown fox", false, true);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int>{2, 326, 338, 505, 485, 478}));
  std::vector<float> a = Logits(src, kTokens), b = Logits(dst, kTokens);
  ASSERT_EQ(a.size(), b.size());
  double mean = 0;
  for (size_t i = 0; i < a.size(); ++i) mean += std::fabs(a[i] - b[i]);
  mean /= a.size();
  EXPECT_GT(mean, 0.0);   // it really was requantized
  EXPECT_LT(mean, 0.15);  // and q8_0 stays close
  std::remove(dst.c_str());
}

TEST(ConvertTest, RejectsBadRequests) {
  ConvertOptions o;
  o.type = "q3_k";
  Status s =
      ConvertToGguf(TestData("golden/moe-tiny-hf-bf16"), TempPath("x.gguf"), o);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("q3_k"), std::string::npos);
  o.type = "q8_0";
  s = ConvertToGguf(TestData("golden/nonexistent"), TempPath("x.gguf"), o);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  s = ConvertToGguf(TestData("golden/moe-tiny-hf-bf16"),
                    "/nonexistent-dir/x.gguf", o);
  EXPECT_FALSE(s.ok());
}

TEST(RandomModelTest, RejectsUnknownArchAndType) {
  RandomModelOptions o;
  o.arch = "70b";
  EXPECT_EQ(WriteRandomModel(TempPath("r.gguf"), o).code(),
            StatusCode::kInvalidArgument);
  o.arch = "e2b";
  o.type = "q9_9";
  EXPECT_EQ(WriteRandomModel(TempPath("r.gguf"), o).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace facet
