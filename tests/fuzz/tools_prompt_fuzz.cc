// libFuzzer target: tool declarations and tool values in the prompt
// renderer (models/gemma4/chat.h). The input is parsed as JSON
// (nlohmann::json::parse, no exceptions) or, when it is not JSON, as a
// Gemma 4 tool value (ParseToolValue keeps raw bytes, so strings may hold
// invalid UTF-8, as tool calls decoded from a model's output can). The
// value becomes ChatOptions::tools; when ValidateChatOptions accepts it,
// RenderPrompt renders a conversation with thinking on and off and with and
// without the [T-M] empty-thought prefill, plus RenderIncrement and
// RenderGenerationPrompt. Independently of validation, the value is
// formatted by FormatToolValue (bare and quoted keys) and
// FormatToolDeclaration, used as tool-call arguments and as a tool
// response. Nothing here may throw (an escaping nlohmann exception aborts
// the run and is a finding) or crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "facet/status.h"
#include "models/gemma4/chat.h"

namespace {

using facet::gemma4::ChatMessage;
using facet::gemma4::ChatOptions;
using json = nlohmann::json;

ChatMessage Message(ChatMessage::Role role, std::string content) {
  ChatMessage m;
  m.role = role;
  m.content = std::move(content);
  return m;
}

void Render(const std::vector<ChatMessage>& history,
            const std::vector<ChatMessage>& appended, ChatOptions options) {
  for (const bool thinking : {false, true}) {
    for (const bool prefill : {false, true}) {
      options.enable_thinking = thinking;
      options.empty_thought_prefill = prefill;
      (void)facet::gemma4::RenderPrompt(history, options, true);
      (void)facet::gemma4::RenderGenerationPrompt(history, options);
      (void)facet::gemma4::RenderIncrement(history, appended, options, true);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    auto tool_value = facet::gemma4::ParseToolValue(text);
    if (!tool_value.ok()) return 0;
    value = std::move(tool_value).value();
  }

  (void)facet::gemma4::FormatToolValue(value, /*quote_keys=*/false);
  (void)facet::gemma4::FormatToolValue(value, /*quote_keys=*/true);
  (void)facet::gemma4::FormatToolDeclaration(value);
  if (value.is_array()) {
    for (const json& tool : value) {
      (void)facet::gemma4::FormatToolDeclaration(tool);
    }
  }

  // The value as a call's arguments and as the tool's structured result.
  ChatMessage call = Message(ChatMessage::kModel, "Calling.");
  call.thinking = "Need a tool.";
  call.tool_calls.push_back({"f", value});
  if (value.is_string()) {
    // OpenAI-style arguments given as JSON text.
    call.tool_calls.push_back({"g", value});
  }
  (void)facet::gemma4::FormatToolCall(call.tool_calls.front());
  ChatMessage result = Message(ChatMessage::kTool, "fallback text");
  result.tool_name = "f";
  result.response = value;
  ChatOptions no_tools;
  Render({Message(ChatMessage::kUser, "Hi"), call, result},
         {Message(ChatMessage::kUser, "Thanks")}, no_tools);

  ChatOptions options;
  options.tools = value;
  if (!facet::gemma4::ValidateChatOptions(options).ok()) return 0;
  Render({Message(ChatMessage::kSystem, "Use tools."),
          Message(ChatMessage::kUser, "What is the weather?")},
         {Message(ChatMessage::kModel, "Sunny."),
          Message(ChatMessage::kUser, "And tomorrow?")},
         options);
  Render({Message(ChatMessage::kUser, "Hi"), call, result},
         {Message(ChatMessage::kModel, "Done.")}, options);
  return 0;
}
