// The smallest facet program: load a model, ask one question, stream the
// answer. Build against the installed package:
//   find_package(facet REQUIRED)  target_link_libraries(app facet::facet)
#include <cstdio>
#include <string>

#include "facet/facet.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <model.gguf | HF folder> [prompt]\n",
                 argv[0]);
    return 2;
  }
  const std::string prompt = argc > 2 ? argv[2] : "Recite Genesis 1:1";

  facet::EngineOptions engine_options;
  engine_options.model_path = argv[1];
  auto engine = facet::Engine::Create(engine_options);
  if (!engine.ok()) {
    std::fprintf(stderr, "%s\n", engine.status().ToString().c_str());
    return 1;
  }
  auto session = (*engine)->NewSession();
  if (!session.ok()) {
    std::fprintf(stderr, "%s\n", session.status().ToString().c_str());
    return 1;
  }
  facet::Status status = (*session)->AddMessage(facet::Role::kUser, prompt);
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", status.ToString().c_str());
    return 1;
  }
  facet::GenerateOptions options;
  options.max_tokens = 128;
  options.sampling = (*engine)->DefaultSampling();
  auto response =
      (*session)->Generate(options, [](const facet::StreamEvent& event) {
        if (event.kind == facet::StreamEvent::Kind::kText) {
          std::fputs(event.text.c_str(), stdout);
          std::fflush(stdout);
        }
        return true;  // keep going
      });
  std::puts("");
  if (!response.ok()) {
    std::fprintf(stderr, "%s\n", response.status().ToString().c_str());
    return 1;
  }
  return 0;
}
