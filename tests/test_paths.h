// Where the tests find their data: tests/data in the source tree, and the
// optional ../shared reference folder next to the checkout.
#ifndef FACET_TESTS_TEST_PATHS_H_
#define FACET_TESTS_TEST_PATHS_H_

#include <sys/stat.h>

#include <string>

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

}  // namespace facet::testing

#endif  // FACET_TESTS_TEST_PATHS_H_
