// Gemma 4 chat template: messages to prompt segments. The behaviour is
// ported from the copies of chat_template.jinja named in chat.h; comments
// marked "Deviation" say where the output differs from it on purpose.
#include <algorithm>
#include <cstdio>
#include <utility>

#include "models/gemma4/chat_internal.h"
#include "src/util/status_macros.h"

namespace facet::gemma4 {
namespace {

using json = nlohmann::json;

// strip_thinking(): drops <|channel>...<channel|> spans, then trims.
std::string StripThinking(std::string_view text) {
  std::string result;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(kChannelClose, start);
    std::string_view part = text.substr(start, end == std::string_view::npos
                                                   ? std::string_view::npos
                                                   : end - start);
    const size_t open = part.find(kChannelOpen);
    result += part.substr(0, open);
    if (end == std::string_view::npos) break;
    start = end + kChannelClose.size();
  }
  return std::string(Trim(result));
}

// format_tool_response_block() for one tool message.
void AppendToolResponse(const ChatMessage& m, Prompt* out) {
  out->Mark(kToolResponseOpen);
  *out += "response:";
  *out += m.tool_name.empty() ? std::string("unknown") : m.tool_name;
  *out += '{';
  if (m.response.is_object()) {
    AppendMembers(m.response, out);
  } else {
    *out += "value:";
    if (m.response.is_null()) {
      AppendValue(json(m.content), false, 1, out);
    } else {
      AppendValue(m.response, false, 1, out);
    }
  }
  *out += '}';
  out->Mark(kToolResponseClose);
}

bool HasTools(const ChatOptions& options) {
  return options.tools.is_array() && !options.tools.empty();
}

// A message's content parts; returns whether anything was written.
bool AppendParts(const std::vector<ChatPart>& parts, Prompt* out) {
  bool any = false;
  for (const ChatPart& p : parts) {
    switch (p.kind) {
      case ChatPart::kText: {
        const std::string_view text = Trim(p.text);
        *out += text;
        any = any || !text.empty();
        break;
      }
      case ChatPart::kImage:
        *out += "\n\n";
        out->Mark(kImageOpen);
        out->SoftTokens(kImageSoftToken, p.soft_tokens, p.media);
        out->Mark(kImageClose);
        *out += "\n\n";
        any = true;
        break;
      case ChatPart::kVideo:
        // The processor's replace_video_token: frames joined by spaces,
        // each "MM:SS " and the image markers around <|video|> tokens.
        *out += "\n\n";
        for (size_t i = 0; i < p.frames.size(); ++i) {
          const ChatVideoFrame& f = p.frames[i];
          const long t = static_cast<long>(f.seconds);
          char stamp[32];
          std::snprintf(stamp, sizeof(stamp), "%s%02ld:%02ld ",
                        i > 0 ? " " : "", t / 60, t % 60);
          *out += stamp;
          out->Mark(kImageOpen);
          out->SoftTokens(kVideoSoftToken, f.soft_tokens, f.media);
          out->Mark(kImageClose);
        }
        *out += "\n\n";
        any = true;
        break;
      case ChatPart::kAudio:
        out->Mark(kAudioOpen);
        out->SoftTokens(kAudioSoftToken, p.soft_tokens, p.media);
        out->Mark(kAudioClose);
        any = true;
        break;
    }
  }
  return any;
}

// What the last rendered message left behind (the template's
// ns.prev_message_type), which decides the generation prompt.
enum class Prev { kNone, kThink, kTool, kToolCall, kToolResponse };

// Renders everything but the generation prompt; returns whether the last
// model turn is still open (waiting for, or continuing after, a tool
// response).
bool RenderBody(const std::vector<ChatMessage>& messages,
                const ChatOptions& options, Prompt* out) {
  out->Mark(kBos);
  Prev prev = Prev::kNone;
  bool turn_open = false;
  size_t begin = 0;
  const bool first_is_system =
      !messages.empty() && messages[0].role == ChatMessage::kSystem;
  const bool tools = HasTools(options);
  if (options.enable_thinking || tools || first_is_system) {
    out->Mark(kTurnOpen);
    *out += "system\n";
    if (options.enable_thinking) {
      out->Mark(kThink);
      *out += '\n';
      prev = Prev::kThink;
    }
    if (first_is_system) {
      if (messages[0].parts.empty()) {
        *out += Trim(messages[0].content);
      } else {
        AppendParts(messages[0].parts, out);
      }
      begin = 1;
    }
    if (tools) {
      for (const json& tool : options.tools) {
        out->Mark(kToolOpen);
        AppendToolDeclaration(tool, out);
        out->Mark(kToolClose);
      }
      prev = Prev::kTool;
    }
    out->Mark(kTurnClose);
    *out += '\n';
  }
  size_t last_user = std::string::npos;  // ns_turn.last_user_idx
  for (size_t i = begin; i < messages.size(); ++i) {
    if (messages[i].role == ChatMessage::kUser) last_user = i;
  }
  for (size_t i = begin; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    // Tool messages are rendered by the model message whose calls they
    // answer; any other tool message is dropped, as in the template.
    if (m.role == ChatMessage::kTool) continue;
    prev = Prev::kNone;
    const bool model = m.role == ChatMessage::kModel;
    // A model message right after a model message (tool messages between
    // them do not count) continues the same turn: no new header.
    bool continues = false;
    if (model) {
      for (size_t j = i; j-- > begin;) {
        if (messages[j].role == ChatMessage::kTool) continue;
        continues = messages[j].role == ChatMessage::kModel;
        break;
      }
    }
    if (!continues) {
      out->Mark(kTurnOpen);
      switch (m.role) {
        case ChatMessage::kSystem:
          *out += "system";
          break;
        case ChatMessage::kModel:
          *out += "model";
          break;
        default:
          *out += "user";
          break;
      }
      *out += '\n';
    }
    const bool calls = model && !m.tool_calls.empty();
    // Thoughts survive only inside the current tool-calling exchange.
    if (calls && !m.thinking.empty() &&
        (last_user == std::string::npos || i > last_user)) {
      out->Mark(kChannelOpen);
      *out += "thought\n";
      *out += m.thinking;
      *out += '\n';
      out->Mark(kChannelClose);
    }
    bool responses = false;
    if (calls) {
      for (const ToolCall& call : m.tool_calls) AppendToolCall(call, out);
      prev = Prev::kToolCall;
      for (size_t k = i + 1;
           k < messages.size() && messages[k].role == ChatMessage::kTool; ++k) {
        AppendToolResponse(messages[k], out);
        responses = true;
        prev = Prev::kToolResponse;
      }
    }
    bool empty = true;
    if (!m.parts.empty()) {
      empty = !AppendParts(m.parts, out);
    } else {
      const std::string content =
          model ? StripThinking(m.content) : std::string(Trim(m.content));
      *out += content;
      empty = content.empty();
    }
    if (prev == Prev::kToolCall && !responses) {
      // The model's turn stops at this stop token until results arrive.
      out->Mark(kToolResponseOpen);
      turn_open = true;
    } else if (!(responses && empty)) {
      out->Mark(kTurnClose);
      *out += '\n';
      turn_open = false;
    } else {
      turn_open = true;  // results given; the model continues its turn
    }
  }
  return turn_open;
}

std::vector<ChatMessage> Concat(const std::vector<ChatMessage>& a,
                                const std::vector<ChatMessage>& b) {
  std::vector<ChatMessage> all;
  all.reserve(a.size() + b.size());
  all.insert(all.end(), a.begin(), a.end());
  all.insert(all.end(), b.begin(), b.end());
  return all;
}

}  // namespace

// --- Template variants ---

bool TemplatePrefillsEmptyThought(std::string_view chat_template) {
  // In the Jinja source the newline is the two characters '\' 'n'.
  return chat_template.find("<|channel>thought\\n<channel|>") !=
             std::string_view::npos ||
         chat_template.find(kEmptyThought) != std::string_view::npos;
}

bool PresetPrefillsEmptyThought(std::string_view preset) {
  return preset == "26b-a4b" || preset == "31b" || preset == "12b";
}

Status ValidateChatOptions(const ChatOptions& options) {
  if (options.tools.is_null()) return OkStatus();
  if (!options.tools.is_array()) {
    return InvalidArgument("tools must be a JSON array of tool declarations");
  }
  for (size_t i = 0; i < options.tools.size(); ++i) {
    const json& tool = options.tools[i];
    if (!tool.is_object()) {
      return InvalidArgument("tools[" + std::to_string(i) +
                             "] is not a JSON object");
    }
    const json* name = Get(ToolFunction(tool), "name");
    if (name == nullptr || !name->is_string() ||
        name->get_ref<const json::string_t&>().empty()) {
      return InvalidArgument("tools[" + std::to_string(i) +
                             "] has no \"name\" string");
    }
    const json* params = Get(ToolFunction(tool), "parameters");
    if (params != nullptr && !params->is_null() && !params->is_object()) {
      return InvalidArgument("tools[" + std::to_string(i) +
                             "].parameters is not a JSON object");
    }
  }
  return OkStatus();
}

// --- Rendering ---

Prompt RenderPromptSegments(const std::vector<ChatMessage>& messages,
                            const ChatOptions& options,
                            bool add_generation_prompt) {
  Prompt out;
  const bool turn_open = RenderBody(messages, options, &out);
  // Deviation: the template decides from ns.prev_message_type and emits
  // nothing after a model message that had tool responses, even when that
  // message also had text and closed its turn. Here the prompt is emitted
  // whenever no model turn is open.
  if (add_generation_prompt && !turn_open) {
    out.Mark(kTurnOpen);
    out += "model\n";
    if (options.empty_thought_prefill && !options.enable_thinking) {
      out.Mark(kChannelOpen);
      out += "thought\n";
      out.Mark(kChannelClose);
    }
  }
  return out;
}

std::string RenderPrompt(const std::vector<ChatMessage>& messages,
                         const ChatOptions& options,
                         bool add_generation_prompt) {
  return RenderPromptSegments(messages, options, add_generation_prompt).Flat();
}

StatusOr<Prompt> RenderIncrementSegments(
    const std::vector<ChatMessage>& history,
    const std::vector<ChatMessage>& appended, const ChatOptions& options,
    bool add_generation_prompt) {
  const std::string base = RenderPrompt(history, options, false);
  Prompt full = RenderPromptSegments(Concat(history, appended), options,
                                     add_generation_prompt);
  const std::string flat = full.Flat();
  if (!StartsWith(flat, base)) {
    size_t i = 0;
    while (i < base.size() && i < flat.size() && base[i] == flat[i]) ++i;
    return FailedPrecondition(
        "the appended messages change how the history renders (from "
        "character " +
        std::to_string(i) + ": '" + Excerpt(std::string_view(base).substr(i)) +
        "' becomes '" + Excerpt(std::string_view(flat).substr(i)) +
        "'); render the whole prompt again");
  }
  if (!full.DropPrefix(base.size())) {
    return Internal("the history ends inside a marker");
  }
  return full;
}

StatusOr<std::string> RenderIncrement(const std::vector<ChatMessage>& history,
                                      const std::vector<ChatMessage>& appended,
                                      const ChatOptions& options,
                                      bool add_generation_prompt) {
  FACET_ASSIGN_OR_RETURN(Prompt p,
                         RenderIncrementSegments(history, appended, options,
                                                 add_generation_prompt));
  return p.Flat();
}

std::string RenderGenerationPrompt(const std::vector<ChatMessage>& history,
                                   const ChatOptions& options) {
  const std::string base = RenderPrompt(history, options, false);
  return RenderPrompt(history, options, true).substr(base.size());
}

}  // namespace facet::gemma4
