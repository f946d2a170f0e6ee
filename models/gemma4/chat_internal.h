// Shared pieces of the Gemma 4 chat format (template rendering, tool
// values, response parsing): the marker strings and the Jinja helpers.
// Internal to models/gemma4.
#ifndef FACET_MODELS_GEMMA4_CHAT_INTERNAL_H_
#define FACET_MODELS_GEMMA4_CHAT_INTERNAL_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/gemma4/chat.h"
#include "models/gemma4/prompt.h"

namespace facet::gemma4 {

inline constexpr std::string_view kBos = "<bos>";
inline constexpr std::string_view kTurnOpen = "<|turn>";
inline constexpr std::string_view kTurnClose = "<turn|>";
inline constexpr std::string_view kThink = "<|think|>";
inline constexpr std::string_view kChannelOpen = "<|channel>";
inline constexpr std::string_view kChannelClose = "<channel|>";
inline constexpr std::string_view kToolOpen = "<|tool>";
inline constexpr std::string_view kToolClose = "<tool|>";
inline constexpr std::string_view kToolCallOpen = "<|tool_call>";
inline constexpr std::string_view kToolCallClose = "<tool_call|>";
inline constexpr std::string_view kToolResponseOpen = "<|tool_response>";
inline constexpr std::string_view kToolResponseClose = "<tool_response|>";
inline constexpr std::string_view kQuote = "<|\"|>";
inline constexpr std::string_view kEos = "<eos>";
inline constexpr std::string_view kImageOpen = "<|image>";
inline constexpr std::string_view kImageSoftToken = "<|image|>";
inline constexpr std::string_view kImageClose = "<image|>";
inline constexpr std::string_view kVideoSoftToken = "<|video|>";
inline constexpr std::string_view kAudioOpen = "<|audio>";
inline constexpr std::string_view kAudioSoftToken = "<|audio|>";
inline constexpr std::string_view kAudioClose = "<audio|>";
inline constexpr std::string_view kEmptyThought =
    "<|channel>thought\n<channel|>";

// Deeper JSON than this is not formatted (schemas) or parsed (model output),
// so hostile input cannot exhaust the stack.
inline constexpr int kMaxDepth = 128;

bool IsSpace(char c);
// Jinja's `trim` (Python str.strip() on ASCII whitespace).
std::string_view Trim(std::string_view s);
bool StartsWith(std::string_view s, std::string_view prefix);
std::string ToUpperAscii(std::string_view s);
std::string ToLowerAscii(std::string_view s);
// A short, single-line excerpt of `s` for error messages.
std::string Excerpt(std::string_view s, size_t max = 60);
// The member `key` of `v`, or null when `v` is not an object or lacks it.
const nlohmann::json* Get(const nlohmann::json& v, const char* key);
// Jinja truthiness.
bool Truthy(const nlohmann::json* v);
// Object members in the order of Jinja's dictsort (case-insensitive, ties
// kept in the object's order).
std::vector<std::pair<const std::string*, const nlohmann::json*>> DictSort(
    const nlohmann::json& object);
// What Jinja prints for `{{ v }}` (Python str()).
std::string JinjaStr(const nlohmann::json& v);

// Tool values in Gemma 4's syntax, as prompt segments (tool_value.cc):
// format_argument(argument, escape_keys).
void AppendValue(const nlohmann::json& v, bool quote_keys, int depth,
                 Prompt* out);
// The members of an object, key:value with bare keys, without braces.
void AppendMembers(const nlohmann::json& object, Prompt* out);
// "<|tool_call>call:NAME{ARGS}<tool_call|>".
void AppendToolCall(const ToolCall& call, Prompt* out);
// "declaration:NAME{...}" for one tool.
void AppendToolDeclaration(const nlohmann::json& tool, Prompt* out);
// The function object of a tool: {"function": {...}} or the tool itself.
const nlohmann::json& ToolFunction(const nlohmann::json& tool);

}  // namespace facet::gemma4

#endif  // FACET_MODELS_GEMMA4_CHAT_INTERNAL_H_
