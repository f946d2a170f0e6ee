// libFuzzer target: the CLI's argument parser (examples/cli/args.h). The
// input is split on NUL bytes into argv (argv[0] = "facet", argv[1] = the
// subcommand, parsing from index 2 as the CLI does) and parsed with the
// union of the subcommands' value flags and switches; the integer flags are
// then read with GetInt and the ranges the CLI uses. The whole input also goes
// to ParseIntList (the
// --tokens / --decode-tokens lists). Parsing must only ever fail with a
// Status: an option without its value, an unknown option or a bad number.
// A parse that succeeds must match the documented grammar, replayed here:
// every option known, each value flag followed by its value (the last use
// wins), everything else positional in order; GetInt must succeed only with
// a value inside the range. __builtin_trap() on a mismatch.
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "examples/cli/args.h"
#include "facet/status.h"

namespace {

// The union of the subcommands' flags (examples/cli/cmd_*.cc, common.cc).
const std::set<std::string>& WithValue() {
  static const std::set<std::string> flags = {
      // common
      "-m", "-t", "-c", "--chunk",
      // run / chat
      "-p", "-f", "-n", "--system", "--temp", "--top-k", "--top-p", "--min-p",
      "--seed", "--repeat-penalty", "--presence-penalty", "--frequency-penalty",
      "--tools",
      // logits, bench, random, convert
      "--tokens", "--out", "--decode", "--decode-out", "--decode-tokens", "-r",
      "--arch", "--type", "-o"};
  return flags;
}

const std::set<std::string>& Switches() {
  static const std::set<std::string> flags = {
      "--think",  "--no-stats", "--ignore-eos", "--special",
      "--no-bos", "--json",     "--profile",    "--no-repack"};
  return flags;
}

struct IntFlag {
  const char* flag;
  long long lo;
  long long hi;
};

constexpr IntFlag kIntFlags[] = {
    {"-n", 1, 1 << 24},       {"-t", 0, 1024},
    {"-c", 0, 1ll << 30},     {"--chunk", 1, 8192},
    {"--top-k", 0, 1 << 30},  {"--seed", 0, 1ll << 62},
    {"--decode", 0, 1 << 20}, {"-p", 1, 1 << 20},
    {"-r", 1, 1000},          {"-m", -(1ll << 62), 1ll << 62},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> words = {"facet", "run"};
  for (size_t start = 0;;) {
    const size_t nul = input.find('\0', start);
    words.push_back(input.substr(start, nul - start));
    if (nul == std::string::npos) break;
    start = nul + 1;
  }
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(&w[0]);
  argv.push_back(nullptr);
  const int argc = static_cast<int>(words.size());

  facet::cli::Args args;
  const facet::Status st =
      args.Parse(argc, argv.data(), 2, WithValue(), Switches());
  if (st.ok()) {
    // The documented grammar, replayed: "-x value", "--flag", positionals;
    // a repeated option keeps its last value.
    std::map<std::string, std::string> want;
    std::vector<std::string> positional;
    for (int i = 2; i < argc; ++i) {
      const std::string& a = words[i];
      if (a.size() > 1 && a[0] == '-') {
        if (Switches().count(a) > 0) {
          want[a] = "1";
        } else if (WithValue().count(a) > 0 && i + 1 < argc) {
          want[a] = words[++i];
        } else {
          __builtin_trap();  // accepted an unknown or value-less option
        }
      } else {
        positional.push_back(a);
      }
    }
    for (const auto& [flag, value] : want) {
      if (!args.Has(flag) || args.Get(flag) != value) __builtin_trap();
    }
    if (args.positional() != positional) __builtin_trap();
    for (const IntFlag& f : kIntFlags) {
      long long v = f.lo - 1;
      const facet::Status s = args.GetInt(f.flag, f.lo, f.hi, &v);
      if (s.ok() && args.Has(f.flag) && (v < f.lo || v > f.hi)) {
        __builtin_trap();
      }
    }
    if (!args.Has("--system") && args.Get("--system", "x") != "x") {
      __builtin_trap();
    }
  }

  std::vector<int> ids;
  const facet::Status list = facet::cli::ParseIntList(input, &ids);
  if (list.ok()) {
    for (int id : ids) {
      if (id < 0) __builtin_trap();
    }
  }
  return 0;
}
