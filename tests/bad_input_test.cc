// Bad-input tests: corrupt GGUF files, broken Hugging Face folders, invalid
// options and bad calls through the public API. Each case is built in a
// fresh temp directory from a valid golden model and must come back as a
// Status with one exact code and a message naming the problem; none may
// crash, hang or return a misleading code.
//
// The table of cases is in bad_input_gguf_test.cc, bad_input_hf_test.cc and
// bad_input_api_test.cc; the helpers in bad_input_util.h.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "facet/status.h"
#include "tests/bad_input_util.h"

namespace facet {
namespace {

namespace fs = std::filesystem;
using ::facet::bad_input_testing::ApiCases;
using ::facet::bad_input_testing::Case;
using ::facet::bad_input_testing::GgufCases;
using ::facet::bad_input_testing::PathAndHfCases;
using ::facet::bad_input_testing::Sandbox;

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = [] {
    std::vector<Case> all = GgufCases();
    for (std::vector<Case> (*part)() : {PathAndHfCases, ApiCases}) {
      std::vector<Case> more = part();
      all.insert(all.end(), more.begin(), more.end());
    }
    return all;
  }();
  return cases;
}

class BadInputTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = (fs::temp_directory_path() /
            ("facet_bad_input_" + std::to_string(::getpid()) + "_" +
             std::to_string(counter++)))
               .string();
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string dir_;
};

TEST_P(BadInputTest, ReturnsExactCodeAndMessage) {
  const Case& c = GetParam();
  SCOPED_TRACE(c.name);
  const Status s = c.run(Sandbox(dir_));
  EXPECT_EQ(StatusCodeName(s.code()), std::string(StatusCodeName(c.code)))
      << s.ToString();
  EXPECT_NE(s.message().find(c.substring), std::string::npos)
      << "message '" << s.message() << "' lacks '" << c.substring << "'";
}

INSTANTIATE_TEST_SUITE_P(BadInput, BadInputTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

// The table must stay broad: at least 24 distinct bad inputs.
TEST(BadInputTableTest, HasEnoughCases) { EXPECT_GE(Cases().size(), 24u); }

}  // namespace
}  // namespace facet
