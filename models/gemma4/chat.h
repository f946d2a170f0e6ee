// Gemma 4 chat format: prompt rendering, Gemma 4's own syntax for tool
// values, and a streaming parser for the model's answer.
//
// Rendering is a C++ port of Google's chat_template.jinja, not a Jinja
// interpreter. The hub is unreachable from here, so the template was read
// from verbatim copies in public code:
//  [T-E] google/gemma-4-E2B-it chat_template.jinja (E4B is the same), copied
//        with its hub URL as a built-in fallback in llama.cpp-based apps.
//  [T-M] the 26B-A4B / 31B / 12B template. It is [T-E] plus one branch:
//        with thinking off, the generation prompt pre-fills an empty,
//        already-closed thought channel "<|channel>thought\n<channel|>".
//        Sources: a vLLM render of google/gemma-4-31B-it, diffs of Google's
//        GGUFs, and the llama-cpp-python Gemma4ChatHandler copy. That copy
//        also has the later fix to format_parameters (filter_keys), which
//        is followed here.
//  spec: /work/shared/spec/gemma4-text.md section 6.3.
//
// Strings the renderer emits (see chat.cc for the few deliberate deviations
// from the template):
//   "<bos>"                                  once, first
//   "<|turn>system\n" ["<|think|>\n"] SYSTEM {"<|tool>" DECL "<tool|>"}
//       "<turn|>\n"                         if thinking, tools or a system
//                                            message
//   "<|turn>user\n" TEXT "<turn|>\n"
//   "<|turn>model\n" ["<|channel>thought\n" THOUGHT "\n<channel|>"]
//       {"<|tool_call>call:" NAME "{" ARGS "}<tool_call|>"}
//       {"<|tool_response>response:" NAME "{" ... "}<tool_response|>"}
//       TEXT "<turn|>\n"
//   generation prompt: "<|turn>model\n", plus "<|channel>thought\n<channel|>"
//       for [T-M] with thinking off; nothing while a model turn is waiting
//       for a tool response. (Some later 12B template copies open
//       "<|channel>thought\n" after a tool response when thinking is on;
//       not done here, unconfirmed for the released checkpoints.)
// Tool values: strings are <|"|>raw text<|"|> (there is no escape), keys are
// bare in calls and responses, and object keys are sorted as Jinja's
// dictsort sorts them (case-insensitively).
#ifndef FACET_MODELS_GEMMA4_CHAT_H_
#define FACET_MODELS_GEMMA4_CHAT_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "facet/status.h"
#include "models/gemma4/prompt.h"

namespace facet::gemma4 {

struct ToolCall {
  std::string name;
  nlohmann::json arguments = nlohmann::json::object();
};

// One content part of a message whose content is a list (image and audio
// parts are replaced by soft-token spans that an encoder fills).
// One sampled frame of a video part.
struct ChatVideoFrame {
  double seconds = 0;   // time in the video, shown as "MM:SS"
  int soft_tokens = 0;  // the encoder's token count
  int media = -1;       // index among the prompt's media
};

struct ChatPart {
  enum Kind { kText, kImage, kAudio, kVideo };
  Kind kind = kText;
  std::string text;     // kText (trimmed when rendered, as the template does)
  int soft_tokens = 0;  // kImage, kAudio: the encoder's token count
  int media = -1;       // kImage, kAudio: index among the prompt's media
  std::vector<ChatVideoFrame> frames;  // kVideo
};

struct ChatMessage {
  enum Role { kSystem, kUser, kModel, kTool };
  Role role = kUser;
  // When non-empty, the content as parts (and `content` is unused):
  //   text   -> the text, trimmed
  //   image  -> "\n\n<|image>" + <|image|> x soft_tokens + "<image|>\n\n"
  //   audio  -> "<|audio>" + <|audio|> x soft_tokens + "<audio|>"
  //   video  -> "\n\n" + per frame "MM:SS <|image>" + <|video|> x
  //             soft_tokens + "<image|>", joined by " ", + "\n\n"
  // (the template's "\n\n<|image|>\n\n" / "<|audio|>" items as the
  // processor expands them).
  std::vector<ChatPart> parts;
  // Trimmed. On a model message with tool calls the template puts the text
  // after the calls and their responses (the tool messages that follow), so
  // it reads as the answer to the results, not as a preamble.
  std::string content;
  // kModel: the thought channel. The template keeps it only on model
  // messages that carry tool calls and come after the last user message.
  std::string thinking;
  std::vector<ToolCall> tool_calls;  // kModel
  std::string tool_name;             // kTool ("unknown" when empty)
  // kTool: a structured result. An object is rendered key by key; any other
  // non-null value as {value:...}. When null, `content` is sent as a string.
  nlohmann::json response;
};

struct ChatOptions {
  bool enable_thinking = false;
  // Null, or an array of {"name", "description", "parameters": JSON schema}
  // (the OpenAI form {"type": "function", "function": {...}} works too).
  nlohmann::json tools;
  // True for the [T-M] templates (26B-A4B, 31B, 12B), false for E2B / E4B.
  // Use TemplatePrefillsEmptyThought() or PresetPrefillsEmptyThought().
  bool empty_thought_prefill = false;
};

// Whether a chat_template.jinja pre-fills the empty thought channel.
bool TemplatePrefillsEmptyThought(std::string_view chat_template);
// Same, from a facet preset name ("e2b", "e4b", "26b-a4b", "31b", "12b").
bool PresetPrefillsEmptyThought(std::string_view preset);

// Checks the shape of options.tools: null or an array of objects, each with
// a non-empty string "name" (directly or under "function").
Status ValidateChatOptions(const ChatOptions& options);

// The whole prompt, starting with "<bos>", as segments: message content,
// tool values and declarations are text segments, the template's special
// tokens are marker segments.
Prompt RenderPromptSegments(const std::vector<ChatMessage>& messages,
                            const ChatOptions& options,
                            bool add_generation_prompt);
// The same as one string (RenderPromptSegments(...).Flat()).
std::string RenderPrompt(const std::vector<ChatMessage>& messages,
                         const ChatOptions& options,
                         bool add_generation_prompt);

// Only the text `appended` adds after `history`: exactly
//   RenderPrompt(history + appended, options, add_generation_prompt)
// minus its prefix RenderPrompt(history, options, false).
// Fails with kFailedPrecondition when that is not a prefix: the template
// drops the thought channel of earlier tool-calling model turns once a new
// user message arrives, so the history itself re-renders differently and
// must be prefilled again from the first difference.
//
// For KV-cache reuse, the cache has to hold RenderPrompt(history, options,
// false) and nothing else. The generation prompt and the sampled tokens of
// the model's turn are not that text (the template re-renders a finished
// model turn without the pre-filled empty thought channel, with "\n" after
// <turn|>, and usually without its thoughts), so a session rewinds to the
// position before the generation prompt, or keeps the longest common token
// prefix, before prefilling an increment.
StatusOr<Prompt> RenderIncrementSegments(
    const std::vector<ChatMessage>& history,
    const std::vector<ChatMessage>& appended, const ChatOptions& options,
    bool add_generation_prompt);
// The same as one string.
StatusOr<std::string> RenderIncrement(const std::vector<ChatMessage>& history,
                                      const std::vector<ChatMessage>& appended,
                                      const ChatOptions& options,
                                      bool add_generation_prompt);

// The generation prompt alone: RenderPrompt(history, options, true) minus
// RenderPrompt(history, options, false). Empty while the last model turn
// waits for a tool response.
std::string RenderGenerationPrompt(const std::vector<ChatMessage>& history,
                                   const ChatOptions& options);

// --- Gemma 4 tool-value syntax ---

// A JSON value in Gemma 4's syntax: {key:<|"|>text<|"|>,n:3,ok:true,x:null}.
// Keys are bare unless `quote_keys` (the template quotes them inside tool
// declarations). A string containing <|"|> cannot be represented; it is
// written as is, like the template does.
std::string FormatToolValue(const nlohmann::json& value,
                            bool quote_keys = false);
// "<|tool_call>call:NAME{ARGS}<tool_call|>".
std::string FormatToolCall(const ToolCall& call);
// "declaration:NAME{description:...,parameters:{...}}" for one tool of
// ChatOptions::tools (without the <|tool>...<tool|> wrapper).
std::string FormatToolDeclaration(const nlohmann::json& tool);

// Tool-call arguments as JSON text for an app. A model can write any bytes
// in a string (byte tokens), so invalid UTF-8 becomes U+FFFD instead of
// the exception nlohmann_json's dump() would throw.
std::string ToolArgumentsJson(const nlohmann::json& arguments);

// Inverse of FormatToolValue; keys may be bare or quoted, whitespace between
// tokens is allowed. kInvalidArgument with the offset on malformed input.
StatusOr<nlohmann::json> ParseToolValue(std::string_view text);
// Parses the body of a call, "call:NAME{...}" (the text between <|tool_call>
// and <tool_call|>).
StatusOr<ToolCall> ParseToolCall(std::string_view body);

// --- Streaming answer parser ---

struct ResponseEvent {
  enum Kind { kText, kThinking, kToolCall };
  Kind kind = kText;
  std::string text;    // kText, kThinking
  ToolCall tool_call;  // kToolCall
};

// Splits the decoded text of the model's turn (everything after the
// generation prompt) into visible text, thoughts and tool calls. Pieces may
// be cut anywhere, inside a UTF-8 sequence or a special token's text.
// Only a suffix that could still become a marker is held back (a partial
// "<|tool_call>", or in the thought channel a trailing "\n" that may be the
// one the template puts before "<channel|>"); everything else is returned
// by the Feed call that completes it. Tool calls are returned when their
// <tool_call|> arrives.
//
//   "<|channel>thought\n" ... ["\n"]"<channel|>"  thoughts (kThinking)
//   "<|channel>NAME\n"                           other channels: visible
//   "<|tool_call>call:NAME{...}<tool_call|>"     one kToolCall event
//   "<turn|>", "<eos>", "<|tool_response>", "<|turn>"  end of the turn;
//                                                anything after is ignored
// A stray "<channel|>" or "<tool_call|>" is dropped.
class ResponseParser {
 public:
  using Event = ResponseEvent;

  ResponseParser() = default;

  // Events completed by `piece`; adjacent text of one kind is merged.
  std::vector<Event> Feed(std::string_view piece);
  // Flushes what was held back into `events` (may be null) and reports the
  // first malformed or unterminated tool call (kInvalidArgument), if any.
  // Later Feed calls are ignored.
  Status Finish(std::vector<Event>* events);

  // An end-of-turn marker was seen.
  bool done() const { return state_ == State::kDone; }

 private:
  enum class State { kText, kChannelHeader, kThinking, kToolCall, kDone };
  void Process(bool final, std::vector<Event>* out);
  void Emit(Event::Kind kind, std::string_view text, std::vector<Event>* out);
  void SetError(std::string message);

  State state_ = State::kText;
  std::string buf_;       // text not yet turned into events
  size_t scan_from_ = 0;  // kToolCall: where to resume looking for the end
  bool finished_ = false;
  Status status_;
};

}  // namespace facet::gemma4

#endif  // FACET_MODELS_GEMMA4_CHAT_H_
