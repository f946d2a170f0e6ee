#include "src/io/safetensors.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "src/io/hf_folder.h"

namespace facet {
namespace {

using kernels::DType;

// Bytes of a safetensors file: 8-byte little-endian length, header, data.
std::string SafetensorsBytes(const std::string& header,
                             const std::string& data) {
  std::string out;
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(n >> (8 * i)));
  return out + header + data;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good()) << path;
}

std::string Floats(std::initializer_list<float> values) {
  std::string s(values.size() * sizeof(float), '\0');
  std::memcpy(&s[0], values.begin(), s.size());
  return s;
}

// A valid 3-tensor file: w F32 [2,3], b BF16 [3], s F32 0-d.
std::string ValidHeader() {
  return R"({"__metadata__":{"format":"pt"},)"
         R"("w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
         R"("b":{"dtype":"BF16","shape":[3],"data_offsets":[24,30]},)"
         R"("s":{"dtype":"F32","shape":[],"data_offsets":[30,34]}})";
}
std::string ValidData() {
  return Floats({1, 2, 3, 4, 5, 6}) +
         std::string("\x80\x3f\x00\x40\x40\x40", 6) + Floats({7});
}

// One tensor "w" with the given entry fields and `data_size` bytes of data.
std::string OneTensor(const std::string& entry, size_t data_size) {
  return SafetensorsBytes(R"({"w":)" + entry + "}",
                          std::string(data_size, '\0'));
}

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "facet_st_XXXXXX";
    ASSERT_NE(::mkdtemp(&tmpl[0]), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string Write(const std::string& name, const std::string& bytes) {
    WriteFile(Path(name), bytes);
    return Path(name);
  }
  std::string dir_;
};

TEST_F(SafetensorsTest, LoadsValidFile) {
  std::string data = ValidData();
  std::string path =
      Write("ok.safetensors", SafetensorsBytes(ValidHeader(), data));
  auto st = SafetensorsFile::Open(path);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  const SafetensorsFile& f = **st;
  ASSERT_EQ(f.tensors().size(), 3u);
  // File order (by offset): w, b, s.
  EXPECT_EQ(f.tensors()[0].name, "w");
  EXPECT_EQ(f.tensors()[1].name, "b");
  EXPECT_EQ(f.tensors()[2].name, "s");

  const TensorView* w = f.Find("w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->dtype, DType::kF32);
  EXPECT_EQ(w->shape, (std::vector<int64_t>{3, 2}));  // reversed
  EXPECT_EQ(w->elements(), 6);
  EXPECT_EQ(w->nbytes, 24u);
  float wv[6];
  std::memcpy(wv, w->data, sizeof(wv));
  EXPECT_EQ(wv[0], 1.0f);
  EXPECT_EQ(wv[5], 6.0f);

  const TensorView* b = f.Find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->dtype, DType::kBF16);
  EXPECT_EQ(b->shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(b->nbytes, 6u);
  EXPECT_EQ(std::memcmp(b->data, data.data() + 24, 6), 0);

  const TensorView* s = f.Find("s");
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->shape.empty());
  EXPECT_EQ(s->elements(), 1);
  EXPECT_EQ(s->nbytes, 4u);
  float sv;
  std::memcpy(&sv, s->data, 4);
  EXPECT_EQ(sv, 7.0f);

  EXPECT_EQ(f.Find("missing"), nullptr);
  ASSERT_EQ(f.metadata().size(), 1u);
  EXPECT_EQ(f.metadata().at("format"), "pt");
}

TEST_F(SafetensorsTest, AcceptsF16AndPaddedHeaderAndEmptyTensor) {
  std::string path = Write(
      "f16.safetensors",
      SafetensorsBytes(
          R"({"h":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]},)"
          R"("e":{"dtype":"F32","shape":[0,4],"data_offsets":[8,8]}}     )",
          std::string(8, '\1')));
  auto st = SafetensorsFile::Open(path);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ((*st)->Find("h")->dtype, DType::kF16);
  EXPECT_EQ((*st)->Find("e")->shape, (std::vector<int64_t>{4, 0}));
  EXPECT_EQ((*st)->Find("e")->nbytes, 0u);
  EXPECT_TRUE((*st)->metadata().empty());
}

TEST_F(SafetensorsTest, MissingFileIsNotFound) {
  auto st = SafetensorsFile::Open(Path("nope.safetensors"));
  EXPECT_EQ(st.status().code(), StatusCode::kNotFound);
}

struct BadCase {
  const char* label;
  std::string bytes;
  StatusCode code;
  const char* substring;
};

TEST_F(SafetensorsTest, RejectsMalformedFiles) {
  const std::string f32_2x3 = R"("dtype":"F32","shape":[2,3])";
  std::string huge_len(8, '\xff');
  std::string len_past = SafetensorsBytes("{}", "");
  len_past[0] = 100;
  const std::vector<BadCase> cases = {
      {"empty", "", StatusCode::kDataLoss, "shorter than 8 bytes"},
      {"short", "abc", StatusCode::kDataLoss, "shorter than 8 bytes"},
      {"len_past_end", len_past, StatusCode::kDataLoss, "header length"},
      {"len_overflow", huge_len + "{}", StatusCode::kDataLoss, "header length"},
      {"bad_json", SafetensorsBytes(R"({"w":{"dtype":)", ""),
       StatusCode::kDataLoss, "not valid JSON"},
      {"nul_in_json", SafetensorsBytes(std::string("{\0}", 3), ""),
       StatusCode::kDataLoss, "not valid JSON"},
      {"not_object", SafetensorsBytes("[1,2]", ""), StatusCode::kDataLoss,
       "not a JSON object"},
      {"entry_not_object", OneTensor("[1]", 0), StatusCode::kDataLoss,
       "'w': entry is not an object"},
      {"missing_dtype", OneTensor(R"({"shape":[1],"data_offsets":[0,4]})", 4),
       StatusCode::kDataLoss, "missing \"dtype\""},
      {"dtype_not_string",
       OneTensor(R"({"dtype":7,"shape":[1],"data_offsets":[0,4]})", 4),
       StatusCode::kDataLoss, "\"dtype\" is not a string"},
      {"f64",
       OneTensor(R"({"dtype":"F64","shape":[1],"data_offsets":[0,8]})", 8),
       StatusCode::kUnimplemented, "tensor 'w': unsupported dtype F64"},
      {"i16",
       OneTensor(R"({"dtype":"I16","shape":[1],"data_offsets":[0,2]})", 2),
       StatusCode::kUnimplemented, "I16"},
      {"f8",
       OneTensor(R"({"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]})", 1),
       StatusCode::kUnimplemented, "F8_E4M3"},
      {"u8", OneTensor(R"({"dtype":"U8","shape":[1],"data_offsets":[0,1]})", 1),
       StatusCode::kUnimplemented, "U8"},
      {"missing_shape", OneTensor(R"({"dtype":"F32","data_offsets":[0,4]})", 4),
       StatusCode::kDataLoss, "missing \"shape\""},
      {"shape_not_array",
       OneTensor(R"({"dtype":"F32","shape":4,"data_offsets":[0,16]})", 16),
       StatusCode::kDataLoss, "\"shape\" is not an array"},
      {"negative_dim",
       OneTensor(R"({"dtype":"F32","shape":[-1,3],"data_offsets":[0,4]})", 4),
       StatusCode::kDataLoss, "negative, non-integer"},
      {"float_dim",
       OneTensor(R"({"dtype":"F32","shape":[2.5],"data_offsets":[0,4]})", 4),
       StatusCode::kDataLoss, "negative, non-integer"},
      {"string_dim",
       OneTensor(R"({"dtype":"F32","shape":["2"],"data_offsets":[0,8]})", 8),
       StatusCode::kDataLoss, "negative, non-integer"},
      {"dim_too_large",
       OneTensor(
           R"({"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,4]})",
           4),
       StatusCode::kDataLoss, "too large"},
      {"element_overflow",
       OneTensor(
           R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]})",
           4),
       StatusCode::kDataLoss, "overflows"},
      {"byte_overflow",
       OneTensor(
           R"({"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,4]})",
           4),
       StatusCode::kDataLoss, "overflows"},
      {"missing_offsets", OneTensor("{" + f32_2x3 + "}", 24),
       StatusCode::kDataLoss, "missing \"data_offsets\""},
      {"offsets_one_value",
       OneTensor("{" + f32_2x3 + R"(,"data_offsets":[24]})", 24),
       StatusCode::kDataLoss, "\"data_offsets\" must be two"},
      {"offsets_negative",
       OneTensor("{" + f32_2x3 + R"(,"data_offsets":[-1,23]})", 24),
       StatusCode::kDataLoss, "\"data_offsets\" must be two"},
      {"offsets_reversed",
       OneTensor("{" + f32_2x3 + R"(,"data_offsets":[24,0]})", 24),
       StatusCode::kDataLoss, "data_offsets begin 24 > end 0"},
      {"offsets_past_end",
       OneTensor("{" + f32_2x3 + R"(,"data_offsets":[0,24]})", 20),
       StatusCode::kDataLoss, "data_offsets end 24 is past the data section"},
      {"size_mismatch",
       OneTensor("{" + f32_2x3 + R"(,"data_offsets":[0,20]})", 24),
       StatusCode::kDataLoss, "span 20 bytes but F32 shape [2,3] needs 24"},
      {"metadata_not_object", SafetensorsBytes(R"({"__metadata__":[1]})", ""),
       StatusCode::kDataLoss, "\"__metadata__\" is not an object"},
      {"metadata_not_string",
       SafetensorsBytes(R"({"__metadata__":{"format":1}})", ""),
       StatusCode::kDataLoss, "value for 'format' is not a string"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.label);
    std::string path = Write(std::string(c.label) + ".safetensors", c.bytes);
    auto st = SafetensorsFile::Open(path);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.status().code(), c.code) << st.status().ToString();
    EXPECT_NE(st.status().message().find(c.substring), std::string::npos)
        << st.status().ToString();
    EXPECT_NE(st.status().message().find(path), std::string::npos)
        << st.status().ToString();
  }
}

// Every truncation and many random byte flips of a valid file give either a
// clean result or an error Status: no crash, no exception.
TEST_F(SafetensorsTest, SurvivesTruncationAndCorruption) {
  const std::string good = SafetensorsBytes(ValidHeader(), ValidData());
  int ok = 0;
  for (size_t len = 0; len < good.size(); ++len) {
    std::string path = Write("trunc.safetensors", good.substr(0, len));
    auto st = SafetensorsFile::Open(path);
    if (st.ok())
      ++ok;
    else
      EXPECT_EQ(st.status().code(), StatusCode::kDataLoss) << len;
  }
  EXPECT_EQ(ok, 0);  // Every prefix of the file is missing something.
  std::mt19937 rng(1234);
  uint64_t checksum = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string bytes = good;
    int flips = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < flips; ++k) {
      size_t pos = rng() % (8 + ValidHeader().size());
      bytes[pos] = static_cast<char>(rng() & 0xff);
    }
    std::string path = Write("flip.safetensors", bytes);
    auto st = SafetensorsFile::Open(path);
    if (!st.ok()) continue;
    // Whatever was accepted must lie inside the file: touch every byte.
    for (const TensorView& t : (*st)->tensors()) {
      EXPECT_LE(t.nbytes, good.size());
      for (uint64_t b = 0; b < t.nbytes; ++b) checksum += t.data[b];
    }
  }
  RecordProperty("checksum", std::to_string(checksum));
}

// ---------------------------------------------------------------------------
// HfFolder

std::string TensorFile(const std::vector<std::string>& names) {
  std::string header = "{";
  std::string data;
  for (const std::string& n : names) {
    if (header.size() > 1) header += ",";
    header += "\"" + n + R"(":{"dtype":"F32","shape":[2],"data_offsets":[)" +
              std::to_string(data.size()) + "," +
              std::to_string(data.size() + 8) + "]}";
    data += Floats({1.5f, 2.5f});
  }
  return SafetensorsBytes(header + "}", data);
}

class HfFolderTest : public SafetensorsTest {
 protected:
  void WriteConfig() { Write("config.json", R"({"model_type":"gemma4"})"); }
  void WriteIndex(const std::string& weight_map) {
    Write("model.safetensors.index.json",
          R"({"metadata":{"total_size":32},"weight_map":)" + weight_map + "}");
  }
};

TEST_F(HfFolderTest, SingleFileAndSideFiles) {
  WriteConfig();
  Write("model.safetensors", TensorFile({"a", "b"}));
  Write("tokenizer.json", "{}");
  Write("generation_config.json", "{}");
  auto f = HfFolder::Open(dir_ + "/");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->dir(), dir_);
  EXPECT_EQ((*f)->config_json(), R"({"model_type":"gemma4"})");
  EXPECT_EQ((*f)->tensors().size(), 2u);
  ASSERT_NE((*f)->Find("b"), nullptr);
  EXPECT_EQ((*f)->Find("b")->shape, (std::vector<int64_t>{2}));
  EXPECT_EQ((*f)->Find("zz"), nullptr);
  EXPECT_EQ((*f)->tokenizer_json_path(), Path("tokenizer.json"));
  EXPECT_EQ((*f)->generation_config_path(), Path("generation_config.json"));
  EXPECT_EQ((*f)->tokenizer_model_path(), "");
  EXPECT_EQ((*f)->tokenizer_config_path(), "");
}

TEST_F(HfFolderTest, ShardedWithIndex) {
  WriteConfig();
  Write("model-00001-of-00002.safetensors", TensorFile({"x.0", "x.1"}));
  Write("model-00002-of-00002.safetensors", TensorFile({"y.0"}));
  WriteIndex(R"({"x.0":"model-00001-of-00002.safetensors",)"
             R"("x.1":"model-00001-of-00002.safetensors",)"
             R"("y.0":"model-00002-of-00002.safetensors"})");
  auto f = HfFolder::Open(dir_);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ((*f)->shards().size(), 2u);
  std::vector<const TensorView*> all = (*f)->tensors();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0]->name, "x.0");
  EXPECT_EQ(all[2]->name, "y.0");
  const TensorView* y = (*f)->Find("y.0");
  ASSERT_NE(y, nullptr);
  float v[2];
  std::memcpy(v, y->data, sizeof(v));
  EXPECT_EQ(v[1], 2.5f);
  EXPECT_NE((*f)->Find("x.1"), nullptr);
}

TEST_F(HfFolderTest, IndexShardMissing) {
  WriteConfig();
  Write("model-00001-of-00002.safetensors", TensorFile({"x.0"}));
  WriteIndex(R"({"x.0":"model-00001-of-00002.safetensors",)"
             R"("y.0":"model-00002-of-00002.safetensors"})");
  auto f = HfFolder::Open(dir_);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kNotFound);
  EXPECT_NE(f.status().message().find("model-00002-of-00002.safetensors"),
            std::string::npos)
      << f.status().ToString();
}

TEST_F(HfFolderTest, IndexTensorNotInShard) {
  WriteConfig();
  Write("model-00001-of-00001.safetensors", TensorFile({"x.0"}));
  WriteIndex(R"({"x.0":"model-00001-of-00001.safetensors",)"
             R"("ghost":"model-00001-of-00001.safetensors"})");
  auto f = HfFolder::Open(dir_);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(f.status().message().find("'ghost'"), std::string::npos)
      << f.status().ToString();
}

TEST_F(HfFolderTest, BadIndex) {
  WriteConfig();
  Write("model.safetensors.index.json", "{not json");
  auto f = HfFolder::Open(dir_);
  EXPECT_EQ(f.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(f.status().message().find("invalid JSON"), std::string::npos);
  WriteIndex(R"({"x":"../model.safetensors"})");
  f = HfFolder::Open(dir_);
  EXPECT_EQ(f.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(f.status().message().find("plain file name"), std::string::npos);
  WriteIndex(R"({"x":3})");
  f = HfFolder::Open(dir_);
  EXPECT_EQ(f.status().code(), StatusCode::kDataLoss);
}

TEST_F(HfFolderTest, GlobbedShards) {
  WriteConfig();
  Write("model-00002-of-00002.safetensors", TensorFile({"b"}));
  Write("model-00001-of-00002.safetensors", TensorFile({"a"}));
  Write("model-notashard.safetensors", "junk");
  auto f = HfFolder::Open(dir_);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  std::vector<const TensorView*> all = (*f)->tensors();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]->name, "a");
  EXPECT_EQ(all[1]->name, "b");
}

TEST_F(HfFolderTest, GlobMissingShard) {
  WriteConfig();
  Write("model-00001-of-00003.safetensors", TensorFile({"a"}));
  Write("model-00003-of-00003.safetensors", TensorFile({"c"}));
  auto f = HfFolder::Open(dir_);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kNotFound);
  EXPECT_NE(f.status().message().find("model-00002-of-00003.safetensors"),
            std::string::npos)
      << f.status().ToString();
}

TEST_F(HfFolderTest, DuplicateTensorAcrossShards) {
  WriteConfig();
  Write("model-00001-of-00002.safetensors", TensorFile({"a", "dup"}));
  Write("model-00002-of-00002.safetensors", TensorFile({"dup"}));
  auto f = HfFolder::Open(dir_);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(f.status().message().find("'dup'"), std::string::npos)
      << f.status().ToString();
}

TEST_F(HfFolderTest, MissingConfig) {
  Write("model.safetensors", TensorFile({"a"}));
  auto f = HfFolder::Open(dir_);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kNotFound);
  EXPECT_NE(f.status().message().find("config.json not found"),
            std::string::npos)
      << f.status().ToString();
}

TEST_F(HfFolderTest, NoWeightsOrNoDirectory) {
  WriteConfig();
  auto f = HfFolder::Open(dir_);
  EXPECT_EQ(f.status().code(), StatusCode::kNotFound);
  EXPECT_NE(f.status().message().find("no weights"), std::string::npos);
  f = HfFolder::Open(dir_ + "/does-not-exist");
  EXPECT_EQ(f.status().code(), StatusCode::kNotFound);
}

TEST_F(HfFolderTest, CorruptShardPropagates) {
  WriteConfig();
  Write("model.safetensors", "short");
  auto f = HfFolder::Open(dir_);
  EXPECT_EQ(f.status().code(), StatusCode::kDataLoss);
}

// ---------------------------------------------------------------------------
// Golden twins (skipped when /work/shared/golden is absent).

constexpr char kGoldenDir[] = "/work/shared/golden/e2b-tiny-hf";
constexpr char kEmbed[] = "model.language_model.embed_tokens.weight";

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

TEST(SafetensorsGoldenTest, E2bTinyHf) {
  const std::string path = std::string(kGoldenDir) + "/model.safetensors";
  if (!Exists(path)) GTEST_SKIP() << path << " absent";
  auto st = SafetensorsFile::Open(path);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  const TensorView* embed = (*st)->Find(kEmbed);
  ASSERT_NE(embed, nullptr);
  EXPECT_EQ(embed->dtype, DType::kF32);
  EXPECT_EQ(embed->shape, (std::vector<int64_t>{128, 512}));
  EXPECT_EQ(embed->nbytes, 128u * 512u * 4u);
  EXPECT_EQ((*st)->metadata().at("format"), "pt");

  auto folder = HfFolder::Open(kGoldenDir);
  ASSERT_TRUE(folder.ok()) << folder.status().ToString();
  EXPECT_EQ((*folder)->tensors().size(), (*st)->tensors().size());
  EXPECT_FALSE((*folder)->config_json().empty());
  ASSERT_NE((*folder)->Find(kEmbed), nullptr);
  EXPECT_EQ((*folder)->Find(kEmbed)->shape, (std::vector<int64_t>{128, 512}));
}

TEST(SafetensorsGoldenTest, E2bTinyHfBf16) {
  const std::string dir = std::string(kGoldenDir) + "-bf16";
  if (!Exists(dir + "/model.safetensors")) GTEST_SKIP() << dir << " absent";
  auto folder = HfFolder::Open(dir);
  ASSERT_TRUE(folder.ok()) << folder.status().ToString();
  const TensorView* embed = (*folder)->Find(kEmbed);
  ASSERT_NE(embed, nullptr);
  EXPECT_EQ(embed->dtype, DType::kBF16);
  EXPECT_EQ(embed->shape, (std::vector<int64_t>{128, 512}));
  EXPECT_EQ(embed->nbytes, 128u * 512u * 2u);
}

}  // namespace
}  // namespace facet
