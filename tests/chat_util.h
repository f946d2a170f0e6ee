// Helpers shared by the Gemma 4 chat-format tests (tests/chat_*_test.cc):
// messages, tool calls and a tool declaration.
#ifndef FACET_TESTS_CHAT_UTIL_H_
#define FACET_TESTS_CHAT_UTIL_H_

#include <string>
#include <utility>
#include <vector>

#include "models/gemma4/chat.h"

namespace facet::gemma4::chat_testing {

using json = nlohmann::json;

// The quote token, to keep the expected strings readable.
inline const std::string Q = "<|\"|>";

inline ChatMessage System(const std::string& text) {
  ChatMessage m;
  m.role = ChatMessage::kSystem;
  m.content = text;
  return m;
}

inline ChatMessage User(const std::string& text) {
  ChatMessage m;
  m.role = ChatMessage::kUser;
  m.content = text;
  return m;
}

inline ChatMessage Model(const std::string& text,
                         std::vector<ToolCall> calls = {},
                         const std::string& thinking = "") {
  ChatMessage m;
  m.role = ChatMessage::kModel;
  m.content = text;
  m.tool_calls = std::move(calls);
  m.thinking = thinking;
  return m;
}

inline ChatMessage Tool(const std::string& name, const json& response,
                        const std::string& content = "") {
  ChatMessage m;
  m.role = ChatMessage::kTool;
  m.tool_name = name;
  m.response = response;
  m.content = content;
  return m;
}

inline ToolCall Call(const std::string& name, const json& args) {
  ToolCall c;
  c.name = name;
  c.arguments = args;
  return c;
}

inline json WeatherTool() {
  return json::parse(R"({
    "name": "get_weather",
    "description": "Get the weather",
    "parameters": {
      "type": "object",
      "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
      },
      "required": ["city"]
    }
  })");
}

}  // namespace facet::gemma4::chat_testing

#endif  // FACET_TESTS_CHAT_UTIL_H_
