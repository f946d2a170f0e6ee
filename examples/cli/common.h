// Shared helpers of the facet CLI commands.
#ifndef FACET_EXAMPLES_CLI_COMMON_H_
#define FACET_EXAMPLES_CLI_COMMON_H_

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "examples/cli/args.h"
#include "facet/facet.h"

namespace facet::cli {

int Fail(const Status& s);
std::string Bytes(uint64_t b);

// -m, -t, -c, --chunk, -ctk/-ctv (--cache-type-k/-v: f32, f16, q8_0).
Status CommonOptions(const Args& args, EngineOptions* eo, SessionOptions* so);
// The flags CommonOptions reads.
std::set<std::string> CommonFlags();

// A one-line progress bar on stderr, drawn only when stderr is a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();
  void Update(float fraction);
  void Done();

 private:
  std::string label_;
  bool tty_;
  int last_ = -1;
  bool open_ = false;
};

// Loads the engine with a progress bar.
StatusOr<std::shared_ptr<Engine>> LoadEngine(const EngineOptions& eo);

int RunInfo(int argc, char** argv);
int RunLogits(int argc, char** argv);
int RunGenerate(int argc, char** argv, bool interactive);
int RunTokenize(int argc, char** argv);
int RunConvert(int argc, char** argv);
int RunBench(int argc, char** argv);
int RunRandom(int argc, char** argv);
int RunEncode(int argc, char** argv);

}  // namespace facet::cli

#endif  // FACET_EXAMPLES_CLI_COMMON_H_
