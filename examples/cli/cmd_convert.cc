// facet convert: write a model as GGUF, optionally quantized.
#include <cstdio>

#include "examples/cli/common.h"
#include "facet/tools.h"

namespace facet::cli {

int RunConvert(int argc, char** argv) {
  Args args;
  Status s = args.Parse(argc, argv, 2, {"--type"}, {});
  if (!s.ok()) return Fail(s);
  if (args.positional().size() != 2) {
    return Fail(Status(StatusCode::kInvalidArgument,
                       "usage: facet convert <HF folder | .gguf> <out.gguf> "
                       "[--type q8_0]"));
  }
  ConvertOptions o;
  o.type = args.Get("--type", "f16");
  ProgressBar bar("converting");
  o.progress = [&](int done, int total) {
    bar.Update(static_cast<float>(done) / total);
  };
  s = ConvertToGguf(args.positional()[0], args.positional()[1], o);
  bar.Done();
  if (!s.ok()) return Fail(s);
  std::fprintf(stderr, "wrote %s (%s)\n", args.positional()[1].c_str(),
               o.type.c_str());
  return 0;
}

}  // namespace facet::cli
