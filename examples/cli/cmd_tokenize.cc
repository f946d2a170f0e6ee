// facet tokenize: token ids of a text, on one line separated by single
// spaces (external checks read this exact output).
#include <cstdio>
#include <string>

#include "examples/cli/common.h"

namespace facet::cli {

int RunTokenize(int argc, char** argv) {
  Args args;
  Status s = args.Parse(argc, argv, 2, {"-m", "-p"}, {"--special", "--no-bos"});
  if (!s.ok()) return Fail(s);
  if (!args.Has("-m") || !args.Has("-p")) {
    return Fail(Status(StatusCode::kInvalidArgument,
                       "tokenize needs -m <model> and -p <text>"));
  }
  EngineOptions eo;
  eo.model_path = args.Get("-m");
  eo.num_threads = 1;
  eo.prefetch = false;  // only the vocabulary is needed
  eo.repack_weights = false;
  StatusOr<std::shared_ptr<Engine>> engine = Engine::Create(eo);
  if (!engine.ok()) return Fail(engine.status());
  // BOS as the model's tokenizer asks for it (Gemma: yes), like llama.cpp.
  StatusOr<std::vector<int>> ids = (*engine)->Tokenize(
      args.Get("-p"), args.Has("--special"), !args.Has("--no-bos"));
  if (!ids.ok()) return Fail(ids.status());
  std::string out;
  for (int id : *ids) out += (out.empty() ? "" : " ") + std::to_string(id);
  std::printf("%s\n", out.c_str());
  return 0;
}

}  // namespace facet::cli
