#include "src/engine/constrained_output.h"

#include <algorithm>
#include <cmath>

#include "src/util/status_macros.h"

namespace facet {
namespace {

// Resolves a tool_choice string against the session's tools.
StatusOr<ToolChoiceMode> ParseToolChoice(const Session::Impl& s,
                                         const std::string& choice,
                                         int* named) {
  *named = -1;
  if (choice.empty() || choice == "auto") return ToolChoiceMode::kAuto;
  if (choice == "none") return ToolChoiceMode::kNone;
  const bool tools = s.chat.tools.is_array() && !s.chat.tools.empty();
  if (!tools) {
    return InvalidArgument("tool_choice '" + choice +
                           "' needs tools (SessionOptions::tools_json)");
  }
  if (s.tool_grammar == nullptr) {
    return InvalidArgument("tool_choice '" + choice +
                           "' needs constrain_tool_calls");
  }
  if (choice == "required") return ToolChoiceMode::kRequired;
  *named = s.tool_grammar->ToolIndex(choice);
  if (*named < 0) {
    return InvalidArgument("tool_choice '" + choice +
                           "' is neither auto, required, none nor a declared "
                           "tool's name");
  }
  return ToolChoiceMode::kNamed;
}

const TokenVocab& ConstraintVocab(const Engine::Impl& e) {
  std::call_once(e.constraint_vocab_once, [&]() {
    e.constraint_vocab = TokenVocab::Build(
        *e.tokenizer, static_cast<int>(e.model->vocab_size()));
  });
  return *e.constraint_vocab;
}

}  // namespace

Status CompileSessionTools(Session::Impl* s) {
  s->tool_grammar = nullptr;
  if (s->options.constrain_tool_calls && s->chat.tools.is_array() &&
      !s->chat.tools.empty()) {
    FACET_ASSIGN_OR_RETURN(Grammar g, Grammar::ForTools(s->chat.tools));
    s->tool_grammar = std::make_shared<const Grammar>(std::move(g));
  }
  int named = -1;
  return ParseToolChoice(*s, s->options.tool_choice, &named).status();
}

StatusOr<GenerateConstraint> MakeGenerateConstraint(
    Session::Impl& s, const GenerateOptions& options) {
  const bool have_tools = s.chat.tools.is_array() && !s.chat.tools.empty();
  if (s.tool_grammar == nullptr && have_tools &&
      s.options.constrain_tool_calls) {
    FACET_RETURN_IF_ERROR(CompileSessionTools(&s));
  }
  GenerateConstraint out;
  OutputConstraintSpec spec;
  const std::string& choice =
      options.tool_choice.empty() ? s.options.tool_choice : options.tool_choice;
  FACET_ASSIGN_OR_RETURN(spec.mode,
                         ParseToolChoice(s, choice, &spec.named_tool));
  spec.tools = s.tool_grammar.get();
  spec.thinking = s.chat.enable_thinking;
  if (!options.json_schema.empty()) {
    const nlohmann::json schema =
        nlohmann::json::parse(options.json_schema, nullptr, false);
    if (schema.is_discarded()) {
      return InvalidArgument("json_schema is not valid JSON");
    }
    if (spec.mode == ToolChoiceMode::kRequired ||
        spec.mode == ToolChoiceMode::kNamed) {
      return InvalidArgument(
          "json_schema constrains the answer; tool_choice '" + choice +
          "' asks for a tool call instead");
    }
    FACET_ASSIGN_OR_RETURN(Grammar g, Grammar::ForJsonSchema(schema));
    out.json = std::make_unique<Grammar>(std::move(g));
    spec.json = out.json.get();
  }
  const bool none = spec.mode == ToolChoiceMode::kNone && have_tools;
  if (spec.tools == nullptr && spec.json == nullptr && !none) return out;
  out.constraint =
      std::make_unique<OutputConstraint>(ConstraintVocab(*s.engine), spec);
  return out;
}

StatusOr<int> SampleNext(Sampler* sampler, OutputConstraint* constraint,
                         std::vector<float>* logits, int64_t vocab,
                         const std::vector<int>& history) {
  float* l = logits->data();
  const int v = static_cast<int>(vocab);
  if (constraint == nullptr) return sampler->Sample(l, v, history);
  FACET_RETURN_IF_ERROR(constraint->Apply(l, vocab));
  // Resampling masks one token per try; free text refuses only tokens
  // that complete a marker, so a few tries always find one.
  constexpr int kMaxTries = 1000;
  for (int tries = 0; tries < kMaxTries; ++tries) {
    if (*std::max_element(l, l + v) == -INFINITY) return -1;
    const int next = sampler->Sample(l, v, history);
    if (constraint->Accept(next)) return next;
    l[next] = -INFINITY;
  }
  return Internal("constrained decoding: no acceptable token after " +
                  std::to_string(kMaxTries) + " samples");
}

}  // namespace facet
