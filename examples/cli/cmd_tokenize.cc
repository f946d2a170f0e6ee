// facet tokenize: token ids of a text, on one line separated by single
// spaces (external checks read this exact output). The text comes from -p,
// from -f FILE, or else from standard input (so any byte, NUL included, can
// be tokenized). Only the tokenizer is loaded: -m may be a folder or GGUF
// file that holds no weights.
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "examples/cli/common.h"
#include "facet/tokenizer.h"
#include "facet/tools.h"

namespace facet::cli {
namespace {

// All of standard input, refused past `max_bytes` (as ReadTextFile does for
// -f) instead of growing without bound.
StatusOr<std::string> ReadStdin(int64_t max_bytes) {
  std::string text;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), stdin)) > 0) {
    if (static_cast<int64_t>(text.size() + n) > max_bytes) {
      return Status(StatusCode::kResourceExhausted,
                    "standard input is over --max-input-mb (" +
                        std::to_string(max_bytes >> 20) + " MiB)");
    }
    text.append(buf, n);
  }
  if (std::ferror(stdin)) {
    return Status(StatusCode::kInternal, "cannot read standard input");
  }
  return text;
}

}  // namespace

int RunTokenize(int argc, char** argv) {
  Args args;
  Status s = args.Parse(argc, argv, 2, {"-m", "-p", "-f", "--max-input-mb"},
                        {"--special", "--no-bos"});
  if (!s.ok()) return Fail(s);
  if (!args.Has("-m")) {
    return Fail(Status(StatusCode::kInvalidArgument,
                       "tokenize needs -m <model> and a text: -p <text>, "
                       "-f <file>, or standard input"));
  }
  if (args.Has("-p") && args.Has("-f")) {
    return Fail(Status(StatusCode::kInvalidArgument,
                       "tokenize takes -p <text> or -f <file>, not both"));
  }
  long long max_mb = 64;
  if (!(s = args.GetInt("--max-input-mb", 1, 1 << 20, &max_mb)).ok()) {
    return Fail(s);
  }
  const int64_t max_bytes = static_cast<int64_t>(max_mb) << 20;
  std::string text;
  if (args.Has("-p")) {
    text = args.Get("-p");
  } else {
    StatusOr<std::string> t = args.Has("-f")
                                  ? ReadTextFile(args.Get("-f"), max_bytes)
                                  : ReadStdin(max_bytes);
    if (!t.ok()) return Fail(t.status());
    text = std::move(*t);
  }
  // BOS as the model's tokenizer asks for it (Gemma: yes), like llama.cpp.
  StatusOr<std::vector<int>> ids = TokenizeText(
      args.Get("-m"), text, args.Has("--special"), !args.Has("--no-bos"));
  if (!ids.ok()) return Fail(ids.status());
  std::string out;
  for (int id : *ids) out += (out.empty() ? "" : " ") + std::to_string(id);
  std::printf("%s\n", out.c_str());
  return 0;
}

}  // namespace facet::cli
