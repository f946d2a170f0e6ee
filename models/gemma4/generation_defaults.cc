#include "models/gemma4/generation_defaults.h"

#include <nlohmann/json.hpp>

#include "models/gemma4/chat.h"
#include "src/io/mapped_file.h"
#include "src/util/status_macros.h"

namespace facet {

Status LoadGenerationDefaults(const gemma4::Model& model,
                              SamplerOptions* sampling,
                              bool* empty_thought_prefill) {
  *sampling = SamplerOptions();  // Gemma 4: temperature 1, top-k 64, top-p .95
  *empty_thought_prefill = false;
  if (const GgufFile* g = model.gguf()) {
    if (const GgufValue* v = g->Find("general.sampling.temp")) {
      if (v->is_number())
        sampling->temperature = static_cast<float>(v->as_double());
    }
    if (const GgufValue* v = g->Find("general.sampling.top_k")) {
      if (v->is_integer()) sampling->top_k = static_cast<int>(v->as_int());
    }
    if (const GgufValue* v = g->Find("general.sampling.top_p")) {
      if (v->is_number()) sampling->top_p = static_cast<float>(v->as_double());
    }
    if (const GgufValue* v = g->Find("tokenizer.chat_template")) {
      if (v->type == GgufType::kString) {
        *empty_thought_prefill = gemma4::TemplatePrefillsEmptyThought(v->str);
      }
    }
  } else if (const HfFolder* hf = model.hf()) {
    const std::string gen = hf->generation_config_path();
    if (!gen.empty()) {
      FACET_ASSIGN_OR_RETURN(std::string text, ReadFileToString(gen));
      nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        return InvalidArgument(gen + " is not a JSON object");
      }
      if (j.contains("temperature") && j["temperature"].is_number()) {
        sampling->temperature = j["temperature"].get<float>();
      }
      if (j.contains("top_k") && j["top_k"].is_number_integer()) {
        sampling->top_k = j["top_k"].get<int>();
      }
      if (j.contains("top_p") && j["top_p"].is_number()) {
        sampling->top_p = j["top_p"].get<float>();
      }
      if (j.contains("do_sample") && j["do_sample"].is_boolean() &&
          !j["do_sample"].get<bool>()) {
        sampling->temperature = 0;
      }
    }
    const std::string cfg = hf->tokenizer_config_path();
    if (!cfg.empty()) {
      FACET_ASSIGN_OR_RETURN(std::string text, ReadFileToString(cfg));
      nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
      if (j.is_object() && j.contains("chat_template") &&
          j["chat_template"].is_string()) {
        *empty_thought_prefill = gemma4::TemplatePrefillsEmptyThought(
            j["chat_template"].get<std::string>());
      }
    }
    const std::string jinja = hf->dir() + "/chat_template.jinja";
    StatusOr<std::string> t = ReadFileToString(jinja);
    if (t.ok()) {
      *empty_thought_prefill = gemma4::TemplatePrefillsEmptyThought(*t);
    }
  }
  return OkStatus();
}

}  // namespace facet
