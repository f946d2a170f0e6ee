// The suite runs once per kernel level (tests/CMakeLists.txt sets
// FACET_ISA and FACET_REQUIRE_ISA for each): where the CPU lacks the level
// named by FACET_REQUIRE_ISA, every test is skipped with one message that
// ctest reads as "skipped", instead of silently running at another level.
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "kernels/kernels.h"

namespace facet::kernels {
namespace {

class RequireIsa : public ::testing::Environment {
 public:
  void SetUp() override {
    const char* want = std::getenv("FACET_REQUIRE_ISA");
    if (want == nullptr) return;
    for (int i = 0; i < kNumIsas; ++i) {
      const Isa isa = static_cast<Isa>(i);
      if (want != std::string(IsaName(isa))) continue;
      if (KernelsFor(isa) == nullptr) break;
      // The level exists here: it must be the one running.
      ASSERT_EQ(Kernels().isa, isa) << "FACET_ISA does not select " << want;
      return;
    }
    GTEST_SKIP() << "kernel level " << want << " is not on this CPU";
  }
};

const auto* const kRegistered =
    ::testing::AddGlobalTestEnvironment(new RequireIsa);

}  // namespace
}  // namespace facet::kernels
