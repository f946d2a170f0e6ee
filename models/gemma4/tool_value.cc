// Gemma 4's syntax for tool values: formatting (calls, declarations,
// responses; the template's format_argument / format_parameters) and the
// parser of what a model writes. Strings sit between <|"|> markers and
// are text segments, so their content never becomes a control token.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "models/gemma4/chat_internal.h"
#include "src/util/status_macros.h"

namespace facet::gemma4 {
namespace {

using json = nlohmann::json;

std::string NumberText(const json& v) { return v.dump(); }  // numbers only

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

}  // namespace

// format_argument(argument, escape_keys).
void AppendValue(const json& v, bool quote_keys, int depth, Prompt* out) {
  if (depth > kMaxDepth) {
    *out += "null";
    return;
  }
  switch (v.type()) {
    case json::value_t::string:
      out->Mark(kQuote);
      *out += v.get_ref<const json::string_t&>();
      out->Mark(kQuote);
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
          out->Mark(kQuote);
          *out += *key;
          out->Mark(kQuote);
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
void AppendMembers(const json& object, Prompt* out) {
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
void AppendQuotedList(const json& list, Prompt* out) {
  *out += '[';
  if (list.is_array()) {
    bool first = true;
    for (const json& e : list) {
      if (!first) *out += ',';
      first = false;
      out->Mark(kQuote);
      *out += JinjaStr(e);
      out->Mark(kQuote);
    }
  }
  *out += ']';
}

// format_parameters(properties, required, filter_keys) of the template
// revision with the filter_keys fix (the first E2B release also skipped
// parameters named description/type/properties/required/nullable).
void AppendParameters(const json& properties, bool filter_keys, int depth,
                      Prompt* out) {
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
      out->Mark(kQuote);
      *out += JinjaStr(*description);
      out->Mark(kQuote);
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
    out->Mark(kQuote);
    *out += type_upper;
    out->Mark(kQuote);
    *out += '}';
  }
}

// The function object of a tool: {"function": {...}} or the tool itself.
const json& ToolFunction(const json& tool) {
  const json* fn = Get(tool, "function");
  return fn != nullptr && fn->is_object() ? *fn : tool;
}

// --- Tool values ---

std::string FormatToolValue(const json& value, bool quote_keys) {
  Prompt out;
  AppendValue(value, quote_keys, 0, &out);
  return out.Flat();
}

std::string FormatToolCall(const ToolCall& call) {
  Prompt out;
  AppendToolCall(call, &out);
  return out.Flat();
}

std::string FormatToolDeclaration(const json& tool) {
  Prompt out;
  AppendToolDeclaration(tool, &out);
  return out.Flat();
}

void AppendToolCall(const ToolCall& call, Prompt* out) {
  out->Mark(kToolCallOpen);
  *out += "call:";
  *out += call.name;
  *out += '{';
  if (call.arguments.is_object()) {
    AppendMembers(call.arguments, out);
  } else if (call.arguments.is_string()) {
    // Deviation: OpenAI-style clients pass the arguments as JSON text; the
    // template would paste that text between the braces verbatim.
    const std::string& text = call.arguments.get_ref<const json::string_t&>();
    json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_object()) {
      AppendMembers(parsed, out);
    } else {
      *out += text;
    }
  }
  *out += '}';
  out->Mark(kToolCallClose);
}

void AppendToolDeclaration(const json& tool, Prompt* out) {
  const json& fn = ToolFunction(tool);
  *out += "declaration:";
  if (const json* name = Get(fn, "name")) *out += JinjaStr(*name);
  *out += "{description:";
  out->Mark(kQuote);
  const json* description = Get(fn, "description");
  if (description != nullptr && !description->is_null()) {
    *out += JinjaStr(*description);
  }
  out->Mark(kQuote);
  const json* params = Get(fn, "parameters");
  if (Truthy(params)) {
    *out += ",parameters:{";
    const json* properties = Get(*params, "properties");
    if (Truthy(properties)) {
      *out += "properties:{";
      AppendParameters(*properties, false, 0, out);
      *out += "},";
    }
    const json* required = Get(*params, "required");
    if (Truthy(required)) {
      *out += "required:";
      AppendQuotedList(*required, out);
      *out += ',';
    }
    const json* type = Get(*params, "type");
    if (Truthy(type)) {
      *out += "type:";
      out->Mark(kQuote);
      *out += ToUpperAscii(JinjaStr(*type));
      out->Mark(kQuote);
    }
    // Deviation: the template closes "parameters" only after a "type".
    *out += '}';
  }
  if (fn.is_object() && fn.contains("response")) {
    const json& response = fn["response"];
    *out += ",response:{";
    const json* rdesc = Get(response, "description");
    if (Truthy(rdesc)) {
      *out += "description:";
      out->Mark(kQuote);
      *out += JinjaStr(*rdesc);
      out->Mark(kQuote);
      *out += ',';
    }
    const json* rtype = Get(response, "type");
    if (rtype != nullptr && ToUpperAscii(JinjaStr(*rtype)) == "OBJECT") {
      *out += "type:";
      out->Mark(kQuote);
      *out += "OBJECT";
      out->Mark(kQuote);
    }
    // Deviation: as above, closed even without type OBJECT.
    *out += '}';
  }
  *out += '}';
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
}  // namespace facet::gemma4
