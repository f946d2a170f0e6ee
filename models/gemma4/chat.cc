// Gemma 4 chat format. The template behaviour is ported from the copies of
// chat_template.jinja named in chat.h; comments marked "Deviation" say where
// the output differs from it on purpose.
#include "models/gemma4/chat.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "src/util/status_macros.h"

namespace facet::gemma4 {
namespace {

using json = nlohmann::json;

constexpr std::string_view kBos = "<bos>";
constexpr std::string_view kTurnOpen = "<|turn>";
constexpr std::string_view kTurnClose = "<turn|>";
constexpr std::string_view kThink = "<|think|>";
constexpr std::string_view kChannelOpen = "<|channel>";
constexpr std::string_view kChannelClose = "<channel|>";
constexpr std::string_view kToolOpen = "<|tool>";
constexpr std::string_view kToolClose = "<tool|>";
constexpr std::string_view kToolCallOpen = "<|tool_call>";
constexpr std::string_view kToolCallClose = "<tool_call|>";
constexpr std::string_view kToolResponseOpen = "<|tool_response>";
constexpr std::string_view kToolResponseClose = "<tool_response|>";
constexpr std::string_view kQuote = "<|\"|>";
constexpr std::string_view kEos = "<eos>";
constexpr std::string_view kThoughtOpen = "<|channel>thought\n";
constexpr std::string_view kEmptyThought = "<|channel>thought\n<channel|>";

// Deeper JSON than this is not formatted (schemas) or parsed (model output),
// so hostile input cannot exhaust the stack.
constexpr int kMaxDepth = 128;

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

// Jinja's `trim` (Python str.strip() on ASCII whitespace).
std::string_view Trim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && IsSpace(s[b])) ++b;
  while (e > b && IsSpace(s[e - 1])) --e;
  return s.substr(b, e - b);
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

std::string ToUpperAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string ToLowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// A short, single-line excerpt of `s` for error messages.
std::string Excerpt(std::string_view s, size_t max = 60) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    if (s[i] == '\n') {
      out += "\\n";
    } else {
      out += s[i];
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

// The member `key` of `v`, or null when `v` is not an object or lacks it.
const json* Get(const json& v, const char* key) {
  if (!v.is_object()) return nullptr;
  auto it = v.find(key);
  return it == v.end() ? nullptr : &*it;
}

// Jinja truthiness.
bool Truthy(const json* v) {
  if (v == nullptr) return false;
  switch (v->type()) {
    case json::value_t::null:
    case json::value_t::discarded:
      return false;
    case json::value_t::boolean:
      return v->get_ref<const json::boolean_t&>();
    case json::value_t::string:
      return !v->get_ref<const json::string_t&>().empty();
    case json::value_t::array:
    case json::value_t::object:
      return !v->empty();
    case json::value_t::number_integer:
      return v->get_ref<const json::number_integer_t&>() != 0;
    case json::value_t::number_unsigned:
      return v->get_ref<const json::number_unsigned_t&>() != 0;
    case json::value_t::number_float:
      return v->get_ref<const json::number_float_t&>() != 0;
    default:
      return true;
  }
}

// Object members in the order of Jinja's dictsort (case-insensitive, ties
// kept in the object's order).
std::vector<std::pair<const std::string*, const json*>> DictSort(
    const json& object) {
  std::vector<std::pair<const std::string*, const json*>> items;
  if (!object.is_object()) return items;
  for (auto it = object.begin(); it != object.end(); ++it) {
    items.emplace_back(&it.key(), &it.value());
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const auto& a, const auto& b) {
                     return ToLowerAscii(*a.first) < ToLowerAscii(*b.first);
                   });
  return items;
}

std::string NumberText(const json& v) { return v.dump(); }  // numbers only

std::string PyRepr(const json& v);

// What Jinja prints for `{{ v }}` (Python str()).
std::string JinjaStr(const json& v) {
  switch (v.type()) {
    case json::value_t::string:
      return v.get_ref<const json::string_t&>();
    case json::value_t::boolean:
      return v.get_ref<const json::boolean_t&>() ? "True" : "False";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return NumberText(v);
    case json::value_t::array: {
      std::string out = "[";
      bool first = true;
      for (const json& e : v) {
        if (!first) out += ", ";
        first = false;
        out += PyRepr(e);
      }
      return out + "]";
    }
    case json::value_t::object: {
      std::string out = "{";
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += ", ";
        first = false;
        out += PyRepr(json(it.key())) + ": " + PyRepr(it.value());
      }
      return out + "}";
    }
    default:
      return "None";
  }
}

// Python repr(): only strings differ from str().
std::string PyRepr(const json& v) {
  if (!v.is_string()) return JinjaStr(v);
  const std::string& s = v.get_ref<const json::string_t&>();
  const bool has_single = s.find('\'') != std::string::npos;
  const bool has_double = s.find('"') != std::string::npos;
  const char q = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, q);
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '\\' || c == q) {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", u);
      out += hex;
    } else {
      out += c;
    }
  }
  out += q;
  return out;
}

// format_argument(argument, escape_keys).
void AppendValue(const json& v, bool quote_keys, int depth, std::string* out) {
  if (depth > kMaxDepth) {
    *out += "null";
    return;
  }
  switch (v.type()) {
    case json::value_t::string:
      *out += kQuote;
      *out += v.get_ref<const json::string_t&>();
      *out += kQuote;
      return;
    case json::value_t::boolean:
      *out += v.get_ref<const json::boolean_t&>() ? "true" : "false";
      return;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      *out += NumberText(v);
      return;
    case json::value_t::object: {
      *out += '{';
      bool first = true;
      for (const auto& [key, value] : DictSort(v)) {
        if (!first) *out += ',';
        first = false;
        if (quote_keys) {
          *out += kQuote;
          *out += *key;
          *out += kQuote;
        } else {
          *out += *key;
        }
        *out += ':';
        AppendValue(*value, quote_keys, depth + 1, out);
      }
      *out += '}';
      return;
    }
    case json::value_t::array: {
      *out += '[';
      bool first = true;
      for (const json& e : v) {
        if (!first) *out += ',';
        first = false;
        AppendValue(e, quote_keys, depth + 1, out);
      }
      *out += ']';
      return;
    }
    default:
      // None: the later template revision prints 'null'; the first E2B
      // release printed Python's "None".
      *out += "null";
      return;
  }
}

// The members of an object, key:value with bare keys, without braces.
void AppendMembers(const json& object, std::string* out) {
  bool first = true;
  for (const auto& [key, value] : DictSort(object)) {
    if (!first) *out += ',';
    first = false;
    *out += *key;
    *out += ':';
    AppendValue(*value, /*quote_keys=*/false, 1, out);
  }
}

// [<|"|>a<|"|>,<|"|>b<|"|>] for a `required` list.
void AppendQuotedList(const json& list, std::string* out) {
  *out += '[';
  if (list.is_array()) {
    bool first = true;
    for (const json& e : list) {
      if (!first) *out += ',';
      first = false;
      *out += kQuote;
      *out += JinjaStr(e);
      *out += kQuote;
    }
  }
  *out += ']';
}

// format_parameters(properties, required, filter_keys) of the template
// revision with the filter_keys fix (the first E2B release also skipped
// parameters named description/type/properties/required/nullable).
void AppendParameters(const json& properties, bool filter_keys, int depth,
                      std::string* out) {
  static const char* const kStandardKeys[] = {
      "description", "type", "properties", "required", "nullable"};
  if (!properties.is_object() || depth > kMaxDepth) return;
  bool found_first = false;
  for (const auto& [key_ptr, value_ptr] : DictSort(properties)) {
    const std::string& key = *key_ptr;
    const json& value = *value_ptr;
    if (filter_keys &&
        std::find(std::begin(kStandardKeys), std::end(kStandardKeys), key) !=
            std::end(kStandardKeys)) {
      continue;
    }
    if (found_first) *out += ',';
    found_first = true;
    *out += key;
    *out += ":{";
    bool add_comma = false;
    auto comma = [&]() {
      if (add_comma) {
        *out += ',';
      } else {
        add_comma = true;
      }
    };
    const json* description = Get(value, "description");
    if (Truthy(description)) {
      *out += "description:";
      *out += kQuote;
      *out += JinjaStr(*description);
      *out += kQuote;
      add_comma = true;
    }
    const json* type = Get(value, "type");
    // `value['type'] | upper`: an undefined type prints as "".
    const std::string type_upper =
        type == nullptr ? std::string() : ToUpperAscii(JinjaStr(*type));
    if (type_upper == "STRING") {
      const json* enum_values = Get(value, "enum");
      if (Truthy(enum_values)) {
        comma();
        *out += "enum:";
        AppendValue(*enum_values, /*quote_keys=*/true, depth + 1, out);
      }
    } else if (type_upper == "ARRAY") {
      const json* items = Get(value, "items");
      if (items != nullptr && items->is_object() && !items->empty()) {
        comma();
        *out += "items:{";
        bool items_first = false;
        for (const auto& [item_key, item_value] : DictSort(*items)) {
          if (item_value->is_null()) continue;
          if (items_first) *out += ',';
          items_first = true;
          if (*item_key == "properties") {
            *out += "properties:{";
            AppendParameters(*item_value, false, depth + 1, out);
            *out += '}';
          } else if (*item_key == "required") {
            *out += "required:";
            AppendQuotedList(*item_value, out);
          } else if (*item_key == "type") {
            *out += "type:";
            if (item_value->is_array()) {
              json upper = json::array();
              for (const json& t : *item_value) {
                upper.push_back(ToUpperAscii(JinjaStr(t)));
              }
              AppendValue(upper, true, depth + 1, out);
            } else {
              AppendValue(json(ToUpperAscii(JinjaStr(*item_value))), true,
                          depth + 1, out);
            }
          } else {
            *out += *item_key;
            *out += ':';
            AppendValue(*item_value, /*quote_keys=*/true, depth + 1, out);
          }
        }
        *out += '}';
      }
    }
    if (Truthy(Get(value, "nullable"))) {
      comma();
      *out += "nullable:true";
    }
    if (type_upper == "OBJECT") {
      const json* nested = Get(value, "properties");
      if (nested != nullptr && nested->is_object()) {
        comma();
        *out += "properties:{";
        AppendParameters(*nested, false, depth + 1, out);
        *out += '}';
      } else if (value.is_object()) {
        comma();
        *out += "properties:{";
        AppendParameters(value, true, depth + 1, out);
        *out += '}';
      }
      const json* required = Get(value, "required");
      if (Truthy(required)) {
        comma();
        *out += "required:";
        AppendQuotedList(*required, out);
      }
    }
    comma();
    *out += "type:";
    *out += kQuote;
    *out += type_upper;
    *out += kQuote;
    *out += '}';
  }
}

// The function object of a tool: {"function": {...}} or the tool itself.
const json& ToolFunction(const json& tool) {
  const json* fn = Get(tool, "function");
  return fn != nullptr && fn->is_object() ? *fn : tool;
}

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
void AppendToolResponse(const ChatMessage& m, std::string* out) {
  *out += kToolResponseOpen;
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
  *out += kToolResponseClose;
}

bool HasTools(const ChatOptions& options) {
  return options.tools.is_array() && !options.tools.empty();
}

// What the last rendered message left behind (the template's
// ns.prev_message_type), which decides the generation prompt.
enum class Prev { kNone, kThink, kTool, kToolCall, kToolResponse };

// Renders everything but the generation prompt; returns whether the last
// model turn is still open (waiting for, or continuing after, a tool
// response).
bool RenderBody(const std::vector<ChatMessage>& messages,
                const ChatOptions& options, std::string* out) {
  *out += kBos;
  Prev prev = Prev::kNone;
  bool turn_open = false;
  size_t begin = 0;
  const bool first_is_system =
      !messages.empty() && messages[0].role == ChatMessage::kSystem;
  const bool tools = HasTools(options);
  if (options.enable_thinking || tools || first_is_system) {
    *out += kTurnOpen;
    *out += "system\n";
    if (options.enable_thinking) {
      *out += kThink;
      *out += '\n';
      prev = Prev::kThink;
    }
    if (first_is_system) {
      *out += Trim(messages[0].content);
      begin = 1;
    }
    if (tools) {
      for (const json& tool : options.tools) {
        *out += kToolOpen;
        *out += Trim(FormatToolDeclaration(tool));
        *out += kToolClose;
      }
      prev = Prev::kTool;
    }
    *out += kTurnClose;
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
      *out += kTurnOpen;
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
      *out += kThoughtOpen;
      *out += m.thinking;
      *out += '\n';
      *out += kChannelClose;
    }
    bool responses = false;
    if (calls) {
      for (const ToolCall& call : m.tool_calls) *out += FormatToolCall(call);
      prev = Prev::kToolCall;
      for (size_t k = i + 1;
           k < messages.size() && messages[k].role == ChatMessage::kTool; ++k) {
        AppendToolResponse(messages[k], out);
        responses = true;
        prev = Prev::kToolResponse;
      }
    }
    const std::string content =
        model ? StripThinking(m.content) : std::string(Trim(m.content));
    *out += content;
    if (prev == Prev::kToolCall && !responses) {
      // The model's turn stops at this stop token until results arrive.
      *out += kToolResponseOpen;
      turn_open = true;
    } else if (!(responses && content.empty())) {
      *out += kTurnClose;
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

// --- Tool-value parser ---

class ValueParser {
 public:
  explicit ValueParser(std::string_view text) : s_(text) {}

  Status ParseAll(json* out) {
    FACET_RETURN_IF_ERROR(ParseValue(out, 0));
    SkipSpace();
    if (pos_ != s_.size()) return Error("unexpected text after the value");
    return OkStatus();
  }

  Status ParseObjectOnly(json* out) {
    SkipSpace();
    if (pos_ >= s_.size() || s_[pos_] != '{') {
      return Error("expected '{' to start the arguments");
    }
    FACET_RETURN_IF_ERROR(ParseObject(out, 0));
    SkipSpace();
    if (pos_ != s_.size()) return Error("unexpected text after the arguments");
    return OkStatus();
  }

 private:
  Status Error(const std::string& what) const {
    return InvalidArgument(what + " at offset " + std::to_string(pos_) +
                           " near '" + Excerpt(s_.substr(pos_), 24) + "'");
  }

  void SkipSpace() {
    while (pos_ < s_.size() && IsSpace(s_[pos_])) ++pos_;
  }

  bool AtQuote() const { return StartsWith(s_.substr(pos_), kQuote); }

  Status ParseString(std::string* out) {
    const size_t start = pos_;
    pos_ += kQuote.size();
    const size_t end = s_.find(kQuote, pos_);
    if (end == std::string_view::npos) {
      pos_ = start;
      return Error("unterminated string (no closing <|\"|>)");
    }
    out->assign(s_.substr(pos_, end - pos_));
    pos_ = end + kQuote.size();
    return OkStatus();
  }

  Status ParseValue(json* out, int depth) {
    SkipSpace();
    if (pos_ >= s_.size()) return Error("expected a value, found the end");
    if (depth > kMaxDepth) return Error("values nested too deeply");
    if (AtQuote()) {
      std::string s;
      FACET_RETURN_IF_ERROR(ParseString(&s));
      *out = std::move(s);
      return OkStatus();
    }
    const char c = s_[pos_];
    if (c == '{') return ParseObject(out, depth);
    if (c == '[') return ParseArray(out, depth);
    if (c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9')) {
      return ParseNumber(out);
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
      size_t end = pos_;
      while (end < s_.size() &&
             ((s_[end] >= 'a' && s_[end] <= 'z') ||
              (s_[end] >= 'A' && s_[end] <= 'Z') ||
              (s_[end] >= '0' && s_[end] <= '9') || s_[end] == '_')) {
        ++end;
      }
      const std::string_view word = s_.substr(pos_, end - pos_);
      // Python spellings too: the first template release printed None.
      if (word == "true" || word == "True") {
        *out = true;
      } else if (word == "false" || word == "False") {
        *out = false;
      } else if (word == "null" || word == "None") {
        *out = nullptr;
      } else {
        return Error("unquoted text '" + std::string(word) +
                     "' (strings must be wrapped in <|\"|>)");
      }
      pos_ = end;
      return OkStatus();
    }
    if (c == '"') {
      return Error("a \"quoted\" string (Gemma 4 wraps strings in <|\"|>)");
    }
    return Error(std::string("unexpected character '") + c + "'");
  }

  Status ParseNumber(json* out) {
    size_t end = pos_;
    while (end < s_.size() &&
           ((s_[end] >= '0' && s_[end] <= '9') || s_[end] == '-' ||
            s_[end] == '+' || s_[end] == '.' || s_[end] == 'e' ||
            s_[end] == 'E')) {
      ++end;
    }
    std::string token(s_.substr(pos_, end - pos_));
    if (!token.empty() && token[0] == '+') token.erase(0, 1);
    json n = json::parse(token, nullptr, /*allow_exceptions=*/false);
    if (n.is_discarded() || !n.is_number()) {
      return Error("invalid number '" +
                   std::string(s_.substr(pos_, end - pos_)) + "'");
    }
    if (n.is_number_float() &&
        !std::isfinite(n.get_ref<const json::number_float_t&>())) {
      return Error("number out of range");
    }
    *out = std::move(n);
    pos_ = end;
    return OkStatus();
  }

  Status ParseKey(std::string* key) {
    SkipSpace();
    if (AtQuote()) {
      FACET_RETURN_IF_ERROR(ParseString(key));
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') {
        return Error("expected ':' after key '" + Excerpt(*key) + "'");
      }
      ++pos_;
      return OkStatus();
    }
    const size_t start = pos_;
    size_t end = pos_;
    while (end < s_.size() && s_[end] != ':' && s_[end] != '{' &&
           s_[end] != '}' && s_[end] != '[' && s_[end] != ']' &&
           s_[end] != ',' && !StartsWith(s_.substr(end), kQuote)) {
      ++end;
    }
    const std::string_view bare = Trim(s_.substr(start, end - start));
    if (bare.empty()) return Error("expected a key");
    if (end >= s_.size() || s_[end] != ':') {
      pos_ = end;
      return Error("expected ':' after key '" + Excerpt(bare) + "'");
    }
    key->assign(bare);
    pos_ = end + 1;
    return OkStatus();
  }

  Status ParseObject(json* out, int depth) {
    ++pos_;  // '{'
    *out = json::object();
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return OkStatus();
    }
    while (true) {
      std::string key;
      FACET_RETURN_IF_ERROR(ParseKey(&key));
      json value;
      FACET_RETURN_IF_ERROR(ParseValue(&value, depth + 1));
      (*out)[key] = std::move(value);
      SkipSpace();
      if (pos_ >= s_.size()) return Error("unterminated object (no '}')");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        return OkStatus();
      }
      return Error("expected ',' or '}' in an object");
    }
  }

  Status ParseArray(json* out, int depth) {
    ++pos_;  // '['
    *out = json::array();
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return OkStatus();
    }
    while (true) {
      json value;
      FACET_RETURN_IF_ERROR(ParseValue(&value, depth + 1));
      out->push_back(std::move(value));
      SkipSpace();
      if (pos_ >= s_.size()) return Error("unterminated array (no ']')");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == ']') {
        ++pos_;
        return OkStatus();
      }
      return Error("expected ',' or ']' in an array");
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

// --- Streaming parser markers ---

enum class MarkerKind {
  kChannelOpen,
  kChannelClose,
  kCallOpen,
  kCallClose,
  kEnd
};

struct Marker {
  std::string_view text;
  MarkerKind kind;
};

constexpr Marker kTextMarkers[] = {
    {kChannelOpen, MarkerKind::kChannelOpen},
    {kChannelClose, MarkerKind::kChannelClose},
    {kToolCallOpen, MarkerKind::kCallOpen},
    {kToolCallClose, MarkerKind::kCallClose},
    {kTurnClose, MarkerKind::kEnd},
    {kEos, MarkerKind::kEnd},
    {kToolResponseOpen, MarkerKind::kEnd},
    {kTurnOpen, MarkerKind::kEnd},
};

// The template writes thoughts as thought\n TEXT \n<channel|>, so the "\n"
// before <channel|> belongs to the marker. A tool call also ends them.
constexpr Marker kThinkingMarkers[] = {
    {"\n<channel|>", MarkerKind::kChannelClose},
    {kChannelClose, MarkerKind::kChannelClose},
    {kToolCallOpen, MarkerKind::kCallOpen},
    {kTurnClose, MarkerKind::kEnd},
    {kEos, MarkerKind::kEnd},
    {kToolResponseOpen, MarkerKind::kEnd},
    {kTurnOpen, MarkerKind::kEnd},
};

constexpr Marker kCallMarkers[] = {
    {kToolCallClose, MarkerKind::kCallClose},
    {kTurnClose, MarkerKind::kEnd},
    {kEos, MarkerKind::kEnd},
    {kToolResponseOpen, MarkerKind::kEnd},
    {kTurnOpen, MarkerKind::kEnd},
};

// Longest marker text, less one: how far back a split marker can start.
constexpr size_t kMaxMarkerOverlap = 15;  // "<|tool_response>" is 16

// Channel names are short words; anything longer is not a header.
constexpr size_t kMaxChannelName = 32;

// Earliest marker at or after `from` (ties go to the longer marker).
template <size_t N>
const Marker* FindMarker(std::string_view buf, size_t from,
                         const Marker (&markers)[N], size_t* pos) {
  const Marker* best = nullptr;
  size_t best_pos = std::string_view::npos;
  for (const Marker& m : markers) {
    const size_t p = buf.find(m.text, from);
    if (p == std::string_view::npos) continue;
    if (best == nullptr || p < best_pos ||
        (p == best_pos && m.text.size() > best->text.size())) {
      best = &m;
      best_pos = p;
    }
  }
  *pos = best_pos;
  return best;
}

// Length of the longest suffix of `buf` that is a proper prefix of a marker.
template <size_t N>
size_t HeldBack(std::string_view buf, const Marker (&markers)[N]) {
  size_t keep = 0;
  for (const Marker& m : markers) {
    for (size_t k = std::min(m.text.size() - 1, buf.size()); k > keep; --k) {
      if (buf.substr(buf.size() - k) == m.text.substr(0, k)) {
        keep = k;
        break;
      }
    }
  }
  return keep;
}

bool IsChannelNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
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

std::string RenderPrompt(const std::vector<ChatMessage>& messages,
                         const ChatOptions& options,
                         bool add_generation_prompt) {
  std::string out;
  const bool turn_open = RenderBody(messages, options, &out);
  // Deviation: the template decides from ns.prev_message_type and emits
  // nothing after a model message that had tool responses, even when that
  // message also had text and closed its turn. Here the prompt is emitted
  // whenever no model turn is open.
  if (add_generation_prompt && !turn_open) {
    out += kTurnOpen;
    out += "model\n";
    if (options.empty_thought_prefill && !options.enable_thinking) {
      out += kEmptyThought;
    }
  }
  return out;
}

StatusOr<std::string> RenderIncrement(const std::vector<ChatMessage>& history,
                                      const std::vector<ChatMessage>& appended,
                                      const ChatOptions& options,
                                      bool add_generation_prompt) {
  const std::string base = RenderPrompt(history, options, false);
  std::string full =
      RenderPrompt(Concat(history, appended), options, add_generation_prompt);
  if (!StartsWith(full, base)) {
    size_t i = 0;
    while (i < base.size() && i < full.size() && base[i] == full[i]) ++i;
    return FailedPrecondition(
        "the appended messages change how the history renders (from "
        "character " +
        std::to_string(i) + ": '" + Excerpt(std::string_view(base).substr(i)) +
        "' becomes '" + Excerpt(std::string_view(full).substr(i)) +
        "'); render the whole prompt again");
  }
  return full.substr(base.size());
}

std::string RenderGenerationPrompt(const std::vector<ChatMessage>& history,
                                   const ChatOptions& options) {
  const std::string base = RenderPrompt(history, options, false);
  return RenderPrompt(history, options, true).substr(base.size());
}

// --- Tool values ---

std::string FormatToolValue(const json& value, bool quote_keys) {
  std::string out;
  AppendValue(value, quote_keys, 0, &out);
  return out;
}

std::string FormatToolCall(const ToolCall& call) {
  std::string out(kToolCallOpen);
  out += "call:";
  out += call.name;
  out += '{';
  if (call.arguments.is_object()) {
    AppendMembers(call.arguments, &out);
  } else if (call.arguments.is_string()) {
    // Deviation: OpenAI-style clients pass the arguments as JSON text; the
    // template would paste that text between the braces verbatim.
    const std::string& text = call.arguments.get_ref<const json::string_t&>();
    json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_object()) {
      AppendMembers(parsed, &out);
    } else {
      out += text;
    }
  }
  out += '}';
  out += kToolCallClose;
  return out;
}

std::string FormatToolDeclaration(const json& tool) {
  const json& fn = ToolFunction(tool);
  std::string out = "declaration:";
  if (const json* name = Get(fn, "name")) out += JinjaStr(*name);
  out += "{description:";
  out += kQuote;
  const json* description = Get(fn, "description");
  if (description != nullptr && !description->is_null()) {
    out += JinjaStr(*description);
  }
  out += kQuote;
  const json* params = Get(fn, "parameters");
  if (Truthy(params)) {
    out += ",parameters:{";
    const json* properties = Get(*params, "properties");
    if (Truthy(properties)) {
      out += "properties:{";
      AppendParameters(*properties, false, 0, &out);
      out += "},";
    }
    const json* required = Get(*params, "required");
    if (Truthy(required)) {
      out += "required:";
      AppendQuotedList(*required, &out);
      out += ',';
    }
    const json* type = Get(*params, "type");
    if (Truthy(type)) {
      out += "type:";
      out += kQuote;
      out += ToUpperAscii(JinjaStr(*type));
      out += kQuote;
    }
    // Deviation: the template closes "parameters" only after a "type".
    out += '}';
  }
  if (fn.is_object() && fn.contains("response")) {
    const json& response = fn["response"];
    out += ",response:{";
    const json* rdesc = Get(response, "description");
    if (Truthy(rdesc)) {
      out += "description:";
      out += kQuote;
      out += JinjaStr(*rdesc);
      out += kQuote;
      out += ',';
    }
    const json* rtype = Get(response, "type");
    if (rtype != nullptr && ToUpperAscii(JinjaStr(*rtype)) == "OBJECT") {
      out += "type:";
      out += kQuote;
      out += "OBJECT";
      out += kQuote;
    }
    // Deviation: as above, closed even without type OBJECT.
    out += '}';
  }
  out += '}';
  return out;
}

std::string ToolArgumentsJson(const json& arguments) {
  return arguments.dump(-1, ' ', false, json::error_handler_t::replace);
}

StatusOr<json> ParseToolValue(std::string_view text) {
  json value;
  Status s = ValueParser(text).ParseAll(&value);
  if (!s.ok()) return InvalidArgument("tool value: " + s.message());
  return value;
}

StatusOr<ToolCall> ParseToolCall(std::string_view body) {
  const std::string_view b = Trim(body);
  if (!StartsWith(b, "call:")) {
    return InvalidArgument(
        "malformed tool call: expected 'call:NAME{...}', "
        "got '" +
        Excerpt(b) + "'");
  }
  const std::string_view rest = b.substr(5);
  const size_t brace = rest.find('{');
  if (brace == std::string_view::npos) {
    return InvalidArgument("malformed tool call: no '{' after the name in '" +
                           Excerpt(b) + "'");
  }
  ToolCall call;
  const std::string_view name = Trim(rest.substr(0, brace));
  if (name.empty()) {
    return InvalidArgument("malformed tool call: empty function name in '" +
                           Excerpt(b) + "'");
  }
  for (char c : name) {
    if (IsSpace(c) || c == '<' || c == '>' || c == '|' || c == '"' ||
        c == '}' || c == '[' || c == ']' || c == ',' || c == ':') {
      return InvalidArgument("malformed tool call: invalid function name '" +
                             Excerpt(name) + "'");
    }
  }
  call.name.assign(name);
  Status s = ValueParser(rest.substr(brace)).ParseObjectOnly(&call.arguments);
  if (!s.ok()) {
    return InvalidArgument("malformed tool call '" + call.name +
                           "': arguments: " + s.message());
  }
  return call;
}

// --- ResponseParser ---

std::vector<ResponseEvent> ResponseParser::Feed(std::string_view piece) {
  std::vector<Event> out;
  if (finished_ || state_ == State::kDone) return out;
  buf_.append(piece);
  Process(/*final=*/false, &out);
  return out;
}

Status ResponseParser::Finish(std::vector<Event>* events) {
  if (finished_) return status_;
  finished_ = true;
  std::vector<Event> out;
  Process(/*final=*/true, &out);
  state_ = State::kDone;
  buf_.clear();
  if (events != nullptr) {
    for (Event& e : out) events->push_back(std::move(e));
  }
  return status_;
}

void ResponseParser::Emit(Event::Kind kind, std::string_view text,
                          std::vector<Event>* out) {
  if (text.empty()) return;
  if (!out->empty() && out->back().kind == kind) {
    out->back().text.append(text);
    return;
  }
  Event e;
  e.kind = kind;
  e.text.assign(text);
  out->push_back(std::move(e));
}

void ResponseParser::SetError(std::string message) {
  if (status_.ok()) status_ = InvalidArgument(std::move(message));
}

void ResponseParser::Process(bool final, std::vector<Event>* out) {
  while (true) {
    switch (state_) {
      case State::kDone:
        buf_.clear();
        return;

      case State::kText:
      case State::kThinking: {
        const bool thinking = state_ == State::kThinking;
        const Event::Kind kind = thinking ? Event::kThinking : Event::kText;
        size_t pos = 0;
        const Marker* m = thinking ? FindMarker(buf_, 0, kThinkingMarkers, &pos)
                                   : FindMarker(buf_, 0, kTextMarkers, &pos);
        if (m == nullptr) {
          size_t keep = 0;
          if (!final) {
            keep = thinking ? HeldBack(buf_, kThinkingMarkers)
                            : HeldBack(buf_, kTextMarkers);
          }
          Emit(kind, std::string_view(buf_).substr(0, buf_.size() - keep), out);
          buf_.erase(0, buf_.size() - keep);
          return;
        }
        Emit(kind, std::string_view(buf_).substr(0, pos), out);
        buf_.erase(0, pos + m->text.size());
        switch (m->kind) {
          case MarkerKind::kChannelOpen:
            state_ = State::kChannelHeader;
            break;
          case MarkerKind::kChannelClose:
          case MarkerKind::kCallClose:
            state_ = State::kText;  // a stray closer is dropped
            break;
          case MarkerKind::kCallOpen:
            state_ = State::kToolCall;
            scan_from_ = 0;
            break;
          case MarkerKind::kEnd:
            state_ = State::kDone;
            break;
        }
        continue;
      }

      case State::kChannelHeader: {
        size_t i = 0;
        while (i < buf_.size() && i <= kMaxChannelName &&
               IsChannelNameChar(buf_[i])) {
          ++i;
        }
        if (i > kMaxChannelName) {  // not a header: visible text
          state_ = State::kText;
          continue;
        }
        if (i == buf_.size() && !final) return;  // need the next character
        const std::string name = buf_.substr(0, i);
        const bool newline = i < buf_.size() && buf_[i] == '\n';
        if (name == "thought" || name.empty()) {
          buf_.erase(0, i + (newline ? 1 : 0));
          state_ = State::kThinking;
        } else {
          // Another channel: its text is visible. Without the "\n" the word
          // was no channel name and stays visible too.
          if (newline) buf_.erase(0, i + 1);
          state_ = State::kText;
        }
        continue;
      }

      case State::kToolCall: {
        size_t pos = 0;
        const Marker* m = FindMarker(buf_, scan_from_, kCallMarkers, &pos);
        if (m == nullptr) {
          if (final) {
            SetError("unterminated tool call (no <tool_call|>): '" +
                     Excerpt(buf_) + "'");
            state_ = State::kDone;
            continue;
          }
          scan_from_ = buf_.size() > kMaxMarkerOverlap
                           ? buf_.size() - kMaxMarkerOverlap
                           : 0;
          return;
        }
        const std::string body = buf_.substr(0, pos);
        buf_.erase(0, pos + m->text.size());
        scan_from_ = 0;
        if (m->kind != MarkerKind::kCallClose) {
          SetError(
              "unterminated tool call (end of turn before <tool_call|>): "
              "'" +
              Excerpt(body) + "'");
          state_ = State::kDone;
          continue;
        }
        StatusOr<ToolCall> call = ParseToolCall(body);
        if (call.ok()) {
          Event e;
          e.kind = Event::kToolCall;
          e.tool_call = std::move(call).value();
          out->push_back(std::move(e));
        } else {
          SetError(call.status().message());
        }
        state_ = State::kText;
        continue;
      }
    }
  }
}

}  // namespace facet::gemma4
