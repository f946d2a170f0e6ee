#include "examples/server/chat_api.h"

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <utility>

namespace facet::server {
namespace {

using json = nlohmann::json;

// Model text may end inside a UTF-8 sequence or hold invalid bytes:
// replace those instead of throwing.
std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A request problem; `param` names the field.
struct Checker {
  ApiError* error;
  bool Fail(const std::string& param, const std::string& message) {
    error->http_status = 400;
    error->type = "invalid_request_error";
    error->param = param;
    error->message = message;
    error->code = "invalid_value";
    return false;
  }
  bool Type(const std::string& param, const std::string& want) {
    Fail(param, "'" + param + "' must be " + want);
    error->code = "invalid_type";
    return false;
  }
};

bool IsInteger(const json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  const double d = v.get<double>();
  return std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e18;
}

int64_t AsInteger(const json& v) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    return u > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX
                                                : static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  return static_cast<int64_t>(v.get<double>());
}

// Reads a number field in [lo, hi] (open ends with lo_open / hi_open).
bool Number(Checker& c, const json& body, const char* key, double lo, double hi,
            bool lo_open, bool hi_open, float* out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return true;
  if (!it->is_number()) return c.Type(key, "a number");
  const double v = it->get<double>();
  const bool ok = std::isfinite(v) && (lo_open ? v > lo : v >= lo) &&
                  (hi_open ? v < hi : v <= hi);
  if (!ok) {
    char range[96];
    std::snprintf(range, sizeof(range), "%c%g, %g%c", lo_open ? '(' : '[', lo,
                  hi, hi_open ? ')' : ']');
    return c.Fail(key, std::string("'") + key + "' must be in " + range);
  }
  *out = static_cast<float>(v);
  return true;
}

bool Integer(Checker& c, const json& body, const char* key, int64_t lo,
             int64_t hi, bool* given, int64_t* out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return true;
  if (!IsInteger(*it)) return c.Type(key, "an integer");
  const int64_t v = AsInteger(*it);
  if (v < lo || v > hi) {
    return c.Fail(key, std::string("'") + key + "' must be in [" +
                           std::to_string(lo) + ", " + std::to_string(hi) +
                           "]");
  }
  *out = v;
  if (given != nullptr) *given = true;
  return true;
}

bool Bool(Checker& c, const json& body, const std::string& key,
          const std::string& param, bool* out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return true;
  if (!it->is_boolean()) return c.Type(param, "a boolean");
  *out = it->get<bool>();
  return true;
}

// The text of a content that may only hold text: a string, null, or an
// array of {"type": "text", "text": ...} parts.
bool TextContent(Checker& c, const json& content, const std::string& param,
                 std::string* out) {
  out->clear();
  if (content.is_null()) return true;
  if (content.is_string()) {
    *out = content.get<std::string>();
    return true;
  }
  if (!content.is_array()) {
    return c.Type(param, "a string or an array of content parts");
  }
  for (size_t i = 0; i < content.size(); ++i) {
    const json& p = content[i];
    const std::string where = param + "[" + std::to_string(i) + "]";
    if (!p.is_object()) return c.Type(where, "a content part object");
    auto type = p.find("type");
    if (type == p.end() || !type->is_string() || *type != "text") {
      return c.Fail(where, "only text parts are allowed here ('" + where +
                               ".type' must be \"text\")");
    }
    auto text = p.find("text");
    if (text == p.end() || !text->is_string()) {
      return c.Type(where + ".text", "a string");
    }
    *out += text->get<std::string>();
  }
  return true;
}

// "data:[<mime>];base64,<data>" -> the decoded bytes.
bool DataUrl(Checker& c, const std::string& url, const std::string& param,
             std::string* bytes) {
  if (url.rfind("data:", 0) != 0) {
    return c.Fail(param,
                  "only data: URLs are accepted (data:image/png;base64,...); "
                  "the server fetches nothing from the network");
  }
  const size_t comma = url.find(',');
  if (comma == std::string::npos) {
    return c.Fail(param, "malformed data: URL (no ',')");
  }
  const std::string meta = url.substr(5, comma - 5);
  if (meta.size() < 7 || meta.compare(meta.size() - 7, 7, ";base64") != 0) {
    return c.Fail(param, "the data: URL must be base64 (';base64,')");
  }
  if (!DecodeBase64(url.substr(comma + 1), bytes)) {
    return c.Fail(param, "the data: URL's base64 data is malformed");
  }
  if (bytes->empty()) return c.Fail(param, "the data: URL holds no data");
  return true;
}

bool UserContent(Checker& c, const json& content, const std::string& param,
                 const RequestDefaults& d, std::vector<Part>* parts) {
  if (content.is_string()) {
    parts->push_back(Part::Text(content.get<std::string>()));
    return true;
  }
  if (!content.is_array()) {
    return c.Type(param, "a string or an array of content parts");
  }
  if (content.empty()) return c.Fail(param, "the content has no parts");
  for (size_t i = 0; i < content.size(); ++i) {
    const json& p = content[i];
    const std::string where = param + "[" + std::to_string(i) + "]";
    if (!p.is_object()) return c.Type(where, "a content part object");
    auto type_it = p.find("type");
    if (type_it == p.end() || !type_it->is_string()) {
      return c.Type(where + ".type", "a string");
    }
    const std::string type = type_it->get<std::string>();
    if (type == "text") {
      auto text = p.find("text");
      if (text == p.end() || !text->is_string()) {
        return c.Type(where + ".text", "a string");
      }
      parts->push_back(Part::Text(text->get<std::string>()));
    } else if (type == "image_url") {
      if (!d.has_vision) {
        c.Fail(where,
               "this model has no vision encoder: images are not "
               "accepted (start the server with --mmproj <encoders> "
               "if the model has them)");
        c.error->code = "model_not_multimodal";
        return false;
      }
      auto iu = p.find("image_url");
      if (iu == p.end()) return c.Type(where + ".image_url", "an object");
      std::string url;
      int budget = 0;
      if (iu->is_string()) {
        url = iu->get<std::string>();
      } else if (iu->is_object()) {
        auto u = iu->find("url");
        if (u == iu->end() || !u->is_string()) {
          return c.Type(where + ".image_url.url", "a string");
        }
        url = u->get<std::string>();
        auto detail = iu->find("detail");
        if (detail != iu->end() && !detail->is_null()) {
          if (!detail->is_string()) {
            return c.Type(where + ".image_url.detail", "a string");
          }
          // low: 70 soft tokens; high: 560; auto: facet's 280.
          if (*detail == "low") {
            budget = 70;
          } else if (*detail == "high") {
            budget = 560;
          } else if (*detail != "auto") {
            return c.Fail(where + ".image_url.detail",
                          "detail must be \"low\", \"high\" or \"auto\"");
          }
        }
      } else {
        return c.Type(where + ".image_url", "an object");
      }
      std::string bytes;
      if (!DataUrl(c, url, where + ".image_url.url", &bytes)) return false;
      Part part = Part::ImageData(std::move(bytes));
      part.image_budget = budget;
      parts->push_back(std::move(part));
    } else if (type == "input_audio") {
      if (!d.has_audio) {
        c.Fail(where,
               "this model has no audio encoder: audio is not "
               "accepted (Gemma 4 E2B / E4B take audio)");
        c.error->code = "model_not_multimodal";
        return false;
      }
      auto ia = p.find("input_audio");
      if (ia == p.end() || !ia->is_object()) {
        return c.Type(where + ".input_audio", "an object");
      }
      auto data = ia->find("data");
      if (data == ia->end() || !data->is_string()) {
        return c.Type(where + ".input_audio.data", "a base64 string");
      }
      auto format = ia->find("format");
      if (format != ia->end() && !format->is_null() &&
          (!format->is_string() || (*format != "wav" && *format != "mp3"))) {
        return c.Fail(where + ".input_audio.format",
                      "audio formats: \"wav\" and \"mp3\"");
      }
      std::string bytes;
      if (!DecodeBase64(data->get<std::string>(), &bytes) || bytes.empty()) {
        return c.Fail(where + ".input_audio.data",
                      "the audio data is not valid base64");
      }
      parts->push_back(Part::AudioData(std::move(bytes)));
    } else {
      return c.Fail(where + ".type", "unsupported content part type '" + type +
                                         "' (text, image_url, input_audio)");
    }
  }
  return true;
}

// `item`["function"] with a non-empty "name": the function object and its
// name, or false.
bool FunctionOf(Checker& c, const json& item, const std::string& where,
                const json** fn, std::string* name) {
  auto f = item.find("function");
  if (f == item.end() || !f->is_object()) {
    return c.Type(where + ".function", "an object");
  }
  auto n = f->find("name");
  if (n == f->end() || !n->is_string() || n->get<std::string>().empty()) {
    return c.Type(where + ".function.name", "a non-empty string");
  }
  *fn = &*f;
  *name = n->get<std::string>();
  return true;
}

bool ParseToolCalls(Checker& c, const json& calls, const std::string& param,
                    std::map<std::string, std::string>* names,
                    std::vector<ToolCall>* out) {
  if (!calls.is_array()) return c.Type(param, "an array");
  for (size_t i = 0; i < calls.size(); ++i) {
    const json& tc = calls[i];
    const std::string where = param + "[" + std::to_string(i) + "]";
    if (!tc.is_object()) return c.Type(where, "a tool call object");
    const json* fn = nullptr;
    ToolCall call;
    if (!FunctionOf(c, tc, where, &fn, &call.name)) return false;
    auto args = fn->find("arguments");
    if (args == fn->end() || args->is_null()) {
      call.arguments_json = "{}";
    } else if (args->is_string()) {
      json parsed = json::parse(args->get<std::string>(), nullptr, false);
      if (!parsed.is_object()) {
        return c.Fail(where + ".function.arguments",
                      "arguments must be a JSON object in a string");
      }
      call.arguments_json = Dump(parsed);
    } else if (args->is_object()) {
      call.arguments_json = Dump(*args);
    } else {
      return c.Type(where + ".function.arguments", "a JSON string");
    }
    auto id = tc.find("id");
    if (id != tc.end() && !id->is_null()) {
      if (!id->is_string()) return c.Type(where + ".id", "a string");
      (*names)[id->get<std::string>()] = call.name;
    }
    out->push_back(std::move(call));
  }
  return true;
}

bool ParseMessages(Checker& c, const json& messages, const RequestDefaults& d,
                   ChatRequest* out) {
  if (!messages.is_array()) return c.Type("messages", "an array");
  if (messages.empty()) return c.Fail("messages", "'messages' is empty");
  std::map<std::string, std::string> call_names;  // tool_call_id -> name
  bool leading = true;
  for (size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return c.Type(where, "a message object");
    auto role_it = m.find("role");
    if (role_it == m.end() || !role_it->is_string()) {
      return c.Type(where + ".role", "a string");
    }
    const std::string role = role_it->get<std::string>();
    auto content_it = m.find("content");
    const json null_content;
    const json& content = content_it == m.end() ? null_content : *content_it;
    const std::string cparam = where + ".content";
    if (role == "system" || role == "developer") {
      if (!leading) {
        return c.Fail(where + ".role",
                      "system messages must come before all other messages "
                      "(Gemma 4 has one system turn, at the start)");
      }
      std::string text;
      if (!TextContent(c, content, cparam, &text)) return false;
      if (!out->system_prompt.empty()) out->system_prompt += "\n\n";
      out->system_prompt += text;
      continue;
    }
    leading = false;
    InputMessage im;
    if (role == "user") {
      if (content.is_null()) return c.Type(cparam, "a string or an array");
      im.kind = InputMessage::Kind::kUser;
      if (!UserContent(c, content, cparam, d, &im.parts)) return false;
    } else if (role == "assistant") {
      if (!TextContent(c, content, cparam, &im.text)) return false;
      auto reasoning = m.find("reasoning_content");
      if (reasoning != m.end() && !reasoning->is_null()) {
        if (!reasoning->is_string()) {
          return c.Type(where + ".reasoning_content", "a string");
        }
        im.thinking = reasoning->get<std::string>();
      }
      auto calls = m.find("tool_calls");
      if (calls != m.end() && !calls->is_null() && !calls->empty()) {
        im.kind = InputMessage::Kind::kModelToolCalls;
        if (!ParseToolCalls(c, *calls, where + ".tool_calls", &call_names,
                            &im.calls)) {
          return false;
        }
      } else {
        im.kind = InputMessage::Kind::kModel;
        im.parts.push_back(Part::Text(im.text));
      }
    } else if (role == "tool" || role == "function") {
      im.kind = InputMessage::Kind::kTool;
      auto id = m.find("tool_call_id");
      if (id != m.end() && !id->is_null()) {
        if (!id->is_string())
          return c.Type(where + ".tool_call_id", "a string");
        auto found = call_names.find(id->get<std::string>());
        if (found != call_names.end()) im.tool_name = found->second;
      }
      auto name = m.find("name");
      if (im.tool_name.empty() && name != m.end() && name->is_string()) {
        im.tool_name = name->get<std::string>();
      }
      if (im.tool_name.empty()) {
        return c.Fail(where + ".tool_call_id",
                      "no earlier assistant tool call has this tool_call_id "
                      "(and the message has no 'name')");
      }
      std::string text;
      if (!TextContent(c, content, cparam, &text)) return false;
      // A JSON result goes in as is; any other text as a JSON string.
      json v = json::parse(text, nullptr, false);
      im.tool_json = v.is_discarded() ? Dump(json(text)) : Dump(v);
    } else {
      return c.Fail(where + ".role", "unknown role '" + role +
                                         "' (system, developer, user, "
                                         "assistant, tool)");
    }
    out->messages.push_back(std::move(im));
  }
  if (out->messages.empty()) {
    return c.Fail("messages", "'messages' needs a user message");
  }
  return true;
}

bool ParseTools(Checker& c, const json& body, ChatRequest* out) {
  auto tools = body.find("tools");
  json declared = json::array();
  if (tools != body.end() && !tools->is_null()) {
    if (!tools->is_array()) return c.Type("tools", "an array");
    for (size_t i = 0; i < tools->size(); ++i) {
      const json& t = (*tools)[i];
      const std::string where = "tools[" + std::to_string(i) + "]";
      if (!t.is_object()) return c.Type(where, "a tool object");
      auto type = t.find("type");
      if (type != t.end() && (!type->is_string() || *type != "function")) {
        return c.Fail(where + ".type", "only \"function\" tools exist");
      }
      const json* fn = nullptr;
      std::string name;
      if (!FunctionOf(c, t, where, &fn, &name)) return false;
      auto desc = fn->find("description");
      if (desc != fn->end() && !desc->is_null() && !desc->is_string()) {
        return c.Type(where + ".function.description", "a string");
      }
      auto params = fn->find("parameters");
      if (params != fn->end() && !params->is_null() && !params->is_object()) {
        return c.Type(where + ".function.parameters", "a JSON schema object");
      }
      json decl = json::object();
      decl["name"] = name;
      if (desc != fn->end() && desc->is_string()) decl["description"] = *desc;
      if (params != fn->end() && params->is_object()) {
        decl["parameters"] = *params;
      }
      declared.push_back(std::move(decl));
    }
  }
  // tool_choice: "auto", "none" (the tools stay declared; no call can be
  // sampled), "required" or {"type": "function", "function": {"name"}}
  // (the answer is a call: constrained decoding).
  auto choice = body.find("tool_choice");
  if (choice != body.end() && !choice->is_null()) {
    std::string mode;
    if (choice->is_string()) {
      mode = choice->get<std::string>();
      if (mode != "auto" && mode != "none" && mode != "required") {
        return c.Fail("tool_choice",
                      "tool_choice must be \"auto\", \"none\", "
                      "\"required\" or {\"type\": \"function\", "
                      "\"function\": {\"name\": ...}}");
      }
    } else if (choice->is_object()) {
      auto type = choice->find("type");
      if (type != choice->end() &&
          (!type->is_string() || *type != "function")) {
        return c.Fail("tool_choice.type", "only \"function\" tools exist");
      }
      const json* fn = nullptr;
      if (!FunctionOf(c, *choice, "tool_choice", &fn, &mode)) return false;
      bool found = false;
      for (const json& decl : declared) found = found || decl["name"] == mode;
      if (!found) {
        return c.Fail(
            "tool_choice.function.name",
            "tool_choice names '" + mode + "', which is not in 'tools'");
      }
    } else {
      return c.Type("tool_choice", "a string or an object");
    }
    if ((mode == "required" || choice->is_object()) && declared.empty()) {
      return c.Fail("tool_choice",
                    "tool_choice '" + mode + "' needs the tools in 'tools'");
    }
    out->generate.tool_choice = mode;
  }
  if (!declared.empty()) out->tools_json = Dump(declared);
  return true;
}

bool ParseReasoning(Checker& c, const json& body, ChatRequest* out) {
  // Lowest precedence first: reasoning_effort, then reasoning.enabled /
  // reasoning.effort, then chat_template_kwargs.enable_thinking.
  auto effort_on = [&](const json& v, const std::string& param) {
    if (!v.is_string()) return c.Type(param, "a string");
    const std::string e = v.get<std::string>();
    if (e == "none" || e == "minimal") {
      out->enable_thinking = false;
    } else if (e == "low" || e == "medium" || e == "high") {
      out->enable_thinking = true;
    } else {
      return c.Fail(param, "'" + param +
                               "' must be \"none\", \"minimal\", \"low\", "
                               "\"medium\" or \"high\"");
    }
    return true;
  };
  auto effort = body.find("reasoning_effort");
  if (effort != body.end() && !effort->is_null() &&
      !effort_on(*effort, "reasoning_effort")) {
    return false;
  }
  auto reasoning = body.find("reasoning");
  if (reasoning != body.end() && !reasoning->is_null()) {
    if (!reasoning->is_object()) return c.Type("reasoning", "an object");
    auto e = reasoning->find("effort");
    if (e != reasoning->end() && !e->is_null() &&
        !effort_on(*e, "reasoning.effort")) {
      return false;
    }
    if (!Bool(c, *reasoning, "enabled", "reasoning.enabled",
              &out->enable_thinking)) {
      return false;
    }
  }
  auto kwargs = body.find("chat_template_kwargs");
  if (kwargs != body.end() && !kwargs->is_null()) {
    if (!kwargs->is_object())
      return c.Type("chat_template_kwargs", "an object");
    if (!Bool(c, *kwargs, "enable_thinking",
              "chat_template_kwargs.enable_thinking", &out->enable_thinking)) {
      return false;
    }
  }
  return true;
}

bool ParseStop(Checker& c, const json& body, std::vector<std::string>* out) {
  auto stop = body.find("stop");
  if (stop == body.end() || stop->is_null()) return true;
  auto add = [&](const json& s, const std::string& param) {
    if (!s.is_string()) return c.Type(param, "a string");
    if (s.get<std::string>().empty()) {
      return c.Fail(param, "stop strings must not be empty");
    }
    out->push_back(s.get<std::string>());
    return true;
  };
  if (stop->is_string()) return add(*stop, "stop");
  if (!stop->is_array()) return c.Type("stop", "a string or an array");
  if (stop->size() > 16) return c.Fail("stop", "at most 16 stop strings");
  for (size_t i = 0; i < stop->size(); ++i) {
    if (!add((*stop)[i], "stop[" + std::to_string(i) + "]")) return false;
  }
  return true;
}

json UsageJson(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
}

json ToolCallJson(const ToolCall& call) {
  return {
      {"id", NewId("call_")},
      {"type", "function"},
      {"function", {{"name", call.name}, {"arguments", call.arguments_json}}}};
}

}  // namespace

std::string ErrorBody(const ApiError& e) {
  json err = {{"message", e.message},
              {"type", e.type},
              {"param", e.param.empty() ? json(nullptr) : json(e.param)},
              {"code", e.code.empty() ? json(nullptr) : json(e.code)}};
  return Dump(json{{"error", err}});
}

ApiError ErrorFromStatus(const Status& s) {
  ApiError e;
  e.message = s.message();
  switch (s.code()) {
    case StatusCode::kOutOfRange:
      e.code = "context_length_exceeded";
      break;
    case StatusCode::kInvalidArgument:
      e.code = "invalid_value";
      // The schema compiler names the schema "json_schema".
      if (s.message().rfind("json_schema", 0) == 0) {
        e.param = "response_format";
        e.message = "response_format: " + s.message();
      }
      break;
    case StatusCode::kDataLoss:
    case StatusCode::kNotFound:
      e.code = "invalid_value";
      break;
    case StatusCode::kFailedPrecondition:
    case StatusCode::kUnimplemented:
      e.code = "unsupported_value";
      break;
    case StatusCode::kResourceExhausted:
      e.http_status = 503;
      e.type = "server_error";
      e.code = "resource_exhausted";
      break;
    case StatusCode::kCancelled:
      e.http_status = 503;
      e.type = "server_error";
      e.code = "cancelled";
      break;
    default:
      e.http_status = 500;
      e.type = "server_error";
      e.code = "internal_error";
      break;
  }
  return e;
}

bool DecodeBase64(const std::string& in, std::string* out) {
  out->clear();
  out->reserve(in.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (char ch : in) {
    int v;
    if (ch >= 'A' && ch <= 'Z') {
      v = ch - 'A';
    } else if (ch >= 'a' && ch <= 'z') {
      v = ch - 'a' + 26;
    } else if (ch >= '0' && ch <= '9') {
      v = ch - '0' + 52;
    } else if (ch == '+' || ch == '-') {
      v = 62;
    } else if (ch == '/' || ch == '_') {
      v = 63;
    } else if (ch == '=') {
      ++pad;
      continue;
    } else if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') {
      continue;
    } else {
      return false;
    }
    if (pad > 0) return false;  // data after padding
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return pad <= 2 && bits < 6;
}

std::string NewId(const std::string& prefix) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  static const char kHex[] = "0123456789abcdef";
  std::string id = prefix;
  uint64_t a = rng(), b = rng();
  for (int i = 0; i < 16; ++i) id += kHex[(a >> (4 * i)) & 15];
  for (int i = 0; i < 8; ++i) id += kHex[(b >> (4 * i)) & 15];
  return id;
}

std::string FinishReason(StopReason reason, bool tool_calls) {
  switch (reason) {
    case StopReason::kMaxTokens:
    case StopReason::kContextFull:
      return "length";
    default:
      return tool_calls ? "tool_calls" : "stop";
  }
}

bool ParseChatRequest(const std::string& text, const RequestDefaults& d,
                      ChatRequest* out, ApiError* error) {
  Checker c{error};
  json body = json::parse(text, nullptr, false);
  if (body.is_discarded()) {
    c.Fail("", "the request body is not valid JSON");
    error->code = "invalid_json";
    return false;
  }
  if (!body.is_object()) return c.Type("body", "a JSON object");
  out->model = d.model_name;
  auto model = body.find("model");
  if (model != body.end() && !model->is_null()) {
    if (!model->is_string()) return c.Type("model", "a string");
  }
  if (!Bool(c, body, "stream", "stream", &out->stream)) return false;
  auto so = body.find("stream_options");
  if (so != body.end() && !so->is_null() && !so->is_object()) {
    return c.Type("stream_options", "an object");
  }
  int64_t n = 1;
  if (!Integer(c, body, "n", 1, 1, nullptr, &n)) return false;
  bool logprobs = false;
  if (!Bool(c, body, "logprobs", "logprobs", &logprobs)) return false;
  if (logprobs) {
    c.Fail("logprobs", "logprobs are not supported");
    error->code = "unsupported_value";
    return false;
  }
  // response_format: the answer is JSON (constrained decoding).
  std::string json_schema;
  auto rf = body.find("response_format");
  if (rf != body.end() && !rf->is_null()) {
    if (!rf->is_object()) return c.Type("response_format", "an object");
    auto type = rf->find("type");
    if (type == rf->end() || !type->is_string()) {
      return c.Type("response_format.type", "a string");
    }
    if (*type == "json_object") {
      json_schema = "{\"type\": \"object\"}";
    } else if (*type == "json_schema") {
      auto js = rf->find("json_schema");
      if (js == rf->end() || !js->is_object()) {
        return c.Type("response_format.json_schema", "an object");
      }
      auto schema = js->find("schema");
      if (schema == js->end() || !schema->is_object()) {
        return c.Type("response_format.json_schema.schema",
                      "a JSON schema object");
      }
      json_schema = Dump(*schema);
    } else if (*type != "text") {
      return c.Fail("response_format.type",
                    "response_format.type must be \"text\", \"json_object\" "
                    "or \"json_schema\"");
    }
  }

  GenerateOptions& g = out->generate;
  g.sampling = d.sampling;
  g.max_tokens = 0;
  g.json_schema = std::move(json_schema);
  SamplerOptions& s = g.sampling;
  if (!Number(c, body, "temperature", 0, 2, false, false, &s.temperature) ||
      !Number(c, body, "top_p", 0, 1, true, false, &s.top_p) ||
      !Number(c, body, "min_p", 0, 1, false, true, &s.min_p) ||
      !Number(c, body, "presence_penalty", -2, 2, false, false,
              &s.presence_penalty) ||
      !Number(c, body, "frequency_penalty", -2, 2, false, false,
              &s.frequency_penalty) ||
      !Number(c, body, "repeat_penalty", 0, 10, true, false,
              &s.repetition_penalty)) {
    return false;
  }
  int64_t v = s.top_k;
  if (!Integer(c, body, "top_k", 0, 1 << 30, nullptr, &v)) return false;
  s.top_k = static_cast<int>(v);
  v = 0;
  if (!Integer(c, body, "seed", INT64_MIN, INT64_MAX, &out->seed_given, &v)) {
    return false;
  }
  s.seed = static_cast<uint64_t>(v);
  // max_completion_tokens wins over the older max_tokens.
  v = 0;
  if (!Integer(c, body, "max_tokens", 1, 1 << 30, nullptr, &v) ||
      !Integer(c, body, "max_completion_tokens", 1, 1 << 30, nullptr, &v)) {
    return false;
  }
  g.max_tokens = static_cast<int>(v);
  if (!ParseStop(c, body, &g.stop_strings)) return false;
  // llama-server's extension: generate past the end of the turn.
  if (!Bool(c, body, "ignore_eos", "ignore_eos", &g.ignore_eos)) return false;

  out->enable_thinking = d.enable_thinking;
  if (!ParseReasoning(c, body, out)) return false;
  if (!ParseTools(c, body, out)) return false;
  auto messages = body.find("messages");
  if (messages == body.end())
    return c.Fail("messages", "'messages' is required");
  return ParseMessages(c, *messages, d, out);
}

std::string CompletionBody(const std::string& id, int64_t created,
                           const std::string& model, const Response& r,
                           const Usage& usage) {
  json message = {{"role", "assistant"}};
  const bool calls = !r.tool_calls.empty();
  message["content"] = r.text.empty() && calls ? json(nullptr) : json(r.text);
  if (!r.thinking.empty()) message["reasoning_content"] = r.thinking;
  if (calls) {
    json list = json::array();
    for (const ToolCall& call : r.tool_calls)
      list.push_back(ToolCallJson(call));
    message["tool_calls"] = std::move(list);
  }
  json choice = {{"index", 0},
                 {"message", std::move(message)},
                 {"logprobs", nullptr},
                 {"finish_reason", FinishReason(r.stop_reason, calls)}};
  json out = {{"id", id},
              {"object", "chat.completion"},
              {"created", created},
              {"model", model},
              {"system_fingerprint", "facet"},
              {"choices", json::array({std::move(choice)})},
              {"usage", UsageJson(usage)}};
  return Dump(out);
}

namespace {

json ChunkBase(const std::string& id, int64_t created, const std::string& model,
               json delta, json finish) {
  json choice = {{"index", 0},
                 {"delta", std::move(delta)},
                 {"logprobs", nullptr},
                 {"finish_reason", std::move(finish)}};
  return {{"id", id},
          {"object", "chat.completion.chunk"},
          {"created", created},
          {"model", model},
          {"system_fingerprint", "facet"},
          {"choices", json::array({std::move(choice)})}};
}

std::string Sse(const json& j) { return "data: " + Dump(j) + "\n\n"; }

}  // namespace

std::string ChunkWriter::Start() const {
  return Sse(ChunkBase(id_, created_, model_,
                       {{"role", "assistant"}, {"content", ""}}, nullptr));
}

std::string ChunkWriter::Event(const StreamEvent& ev) {
  json delta = json::object();
  switch (ev.kind) {
    case StreamEvent::Kind::kText:
      delta["content"] = ev.text;
      break;
    case StreamEvent::Kind::kThinking:
      delta["reasoning_content"] = ev.text;
      break;
    case StreamEvent::Kind::kToolCall: {
      json call = ToolCallJson(ev.tool_call);
      call["index"] = tool_calls_++;
      delta["tool_calls"] = json::array({std::move(call)});
      break;
    }
  }
  return Sse(ChunkBase(id_, created_, model_, std::move(delta), nullptr));
}

std::string ChunkWriter::Finish(StopReason reason, const Usage& usage) const {
  json last = ChunkBase(id_, created_, model_, json::object(),
                        FinishReason(reason, tool_calls_ > 0));
  last["usage"] = UsageJson(usage);
  return Sse(last) + "data: [DONE]\n\n";
}

std::string ChunkWriter::Error(const ApiError& e) {
  return "data: " + ErrorBody(e) + "\n\ndata: [DONE]\n\n";
}

}  // namespace facet::server
