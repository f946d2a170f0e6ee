// Where the tests find their data: tests/data in the source tree, and the
// optional ../shared reference folder next to the checkout.
#ifndef FACET_TESTS_TEST_PATHS_H_
#define FACET_TESTS_TEST_PATHS_H_

#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace facet::testing {

inline std::string TestData(const std::string& rel) {
  return std::string(FACET_TEST_DATA) + "/" + rel;
}

inline bool PathExists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

// ../shared/golden when the checkout sits beside it, else "".
inline std::string SharedGolden() {
  std::string p = std::string(FACET_SOURCE_DIR) + "/../shared/golden";
  return PathExists(p + "/check.py") ? p : "";
}

// The bytes of a file (empty when missing).
inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A JSON file (discarded value when missing or malformed).
inline nlohmann::json ReadJson(const std::string& path) {
  return nlohmann::json::parse(ReadBytes(path), nullptr, false);
}

// Raw little-endian float32 values (empty when missing).
inline std::vector<float> ReadF32(const std::string& path) {
  const std::string b = ReadBytes(path);
  std::vector<float> v(b.size() / 4);
  if (!v.empty()) std::memcpy(v.data(), b.data(), v.size() * 4);
  return v;
}

}  // namespace facet::testing

#endif  // FACET_TESTS_TEST_PATHS_H_
