#include "src/sampling/json_schema.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "src/util/status_macros.h"

namespace facet {
namespace {

using json = nlohmann::json;

constexpr const char* kAnnotations[] = {
    "title", "description", "default",    "examples", "format",   "$schema",
    "$id",   "$comment",    "deprecated", "readOnly", "writeOnly"};

constexpr const char* kKeywords[] = {
    "type",      "properties", "required", "additionalProperties",
    "items",     "minItems",   "maxItems", "minLength",
    "maxLength", "enum",       "const",    "nullable"};

bool IsOneOf(const std::string& key, const char* const* list, size_t n) {
  return std::find_if(list, list + n,
                      [&](const char* k) { return key == k; }) != list + n;
}

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

uint8_t TypeBit(const std::string& name) {
  const std::string n = Lower(name);  // Gemini-style "STRING" too
  if (n == "null") return kTypeNull;
  if (n == "boolean") return kTypeBoolean;
  if (n == "integer") return kTypeInteger;
  if (n == "number") return kTypeNumber | kTypeInteger;
  if (n == "string") return kTypeString;
  if (n == "array") return kTypeArray;
  if (n == "object") return kTypeObject;
  return 0;
}

// The type bits a JSON value has.
uint8_t ValueType(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return kTypeNull;
    case json::value_t::boolean:
      return kTypeBoolean;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return kTypeInteger | kTypeNumber;
    case json::value_t::number_float: {
      const double d = v.get<double>();
      return std::isfinite(d) && d == std::floor(d) ? kTypeInteger | kTypeNumber
                                                    : kTypeNumber;
    }
    case json::value_t::string:
      return kTypeString;
    case json::value_t::array:
      return kTypeArray;
    case json::value_t::object:
      return kTypeObject;
    default:
      return 0;
  }
}

StatusOr<uint32_t> Count(const json& v, const std::string& path,
                         const char* key) {
  if (!v.is_number_integer() && !v.is_number_unsigned()) {
    return InvalidArgument(path + ": '" + key +
                           "' must be a non-negative integer");
  }
  const int64_t n = v.get<int64_t>();
  if (n < 0 || n > 0x7FFFFFFF) {
    return InvalidArgument(path + ": '" + key + "' is out of range");
  }
  return static_cast<uint32_t>(n);
}

// Code points of a UTF-8 string (lead bytes).
uint32_t CodePoints(const std::string& s) {
  uint32_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

JsonSchema::JsonSchema() { nodes_.emplace_back(); }  // node 0: any value

JsonSchema JsonSchema::Any() { return JsonSchema(); }

StatusOr<JsonSchema> JsonSchema::Compile(const json& schema,
                                         const std::string& where) {
  JsonSchema s;
  FACET_ASSIGN_OR_RETURN(s.root_, s.CompileNode(schema, where, 0));
  return s;
}

StatusOr<int> JsonSchema::CompileNode(const json& s, const std::string& path,
                                      int depth) {
  if (depth > kMaxSchemaDepth) {
    return InvalidArgument(path + ": schemas nested deeper than " +
                           std::to_string(kMaxSchemaDepth));
  }
  if (s.is_boolean()) {
    if (s.get<bool>()) return kAnyNode;
    return InvalidArgument(path + ": the schema false accepts no value");
  }
  if (!s.is_object()) {
    return InvalidArgument(path + ": a schema must be an object");
  }
  SchemaNode n;
  bool typed = false;
  for (const auto& [key, value] : s.items()) {
    if (IsOneOf(key, kAnnotations, std::size(kAnnotations))) continue;
    if (!IsOneOf(key, kKeywords, std::size(kKeywords))) {
      return InvalidArgument(
          path + ": keyword '" + key +
          "' is not supported by constrained decoding (supported: type, "
          "properties, required, additionalProperties, items, minItems, "
          "maxItems, minLength, maxLength, enum, const, nullable; "
          "annotations such as description are ignored)");
    }
  }
  if (const auto it = s.find("type"); it != s.end()) {
    typed = true;
    std::vector<json> names;
    if (it->is_string()) {
      names.push_back(*it);
    } else if (it->is_array() && !it->empty()) {
      names.assign(it->begin(), it->end());
    } else {
      return InvalidArgument(path +
                             ": 'type' must be a type name or a list of them");
    }
    n.types = 0;
    for (const json& t : names) {
      const uint8_t bit = t.is_string() ? TypeBit(t.get<std::string>()) : 0;
      if (bit == 0) {
        return InvalidArgument(path + ": unknown type " + t.dump());
      }
      n.types |= bit;
    }
  }
  auto count = [&](const char* key, uint32_t* out) -> Status {
    if (const auto it = s.find(key); it != s.end()) {
      FACET_ASSIGN_OR_RETURN(*out, Count(*it, path, key));
    }
    return OkStatus();
  };
  FACET_RETURN_IF_ERROR(count("minLength", &n.min_length));
  FACET_RETURN_IF_ERROR(count("maxLength", &n.max_length));
  FACET_RETURN_IF_ERROR(count("minItems", &n.min_items));
  FACET_RETURN_IF_ERROR(count("maxItems", &n.max_items));
  if (n.min_length > n.max_length || n.min_items > n.max_items) {
    return InvalidArgument(path + ": a minimum above its maximum");
  }
  const bool object_keys = s.contains("properties") || s.contains("required") ||
                           s.contains("additionalProperties");
  const bool array_keys =
      s.contains("items") || s.contains("minItems") || s.contains("maxItems");
  const bool string_keys = s.contains("minLength") || s.contains("maxLength");
  if (!typed && (object_keys || array_keys || string_keys)) {
    n.types = (object_keys ? kTypeObject : 0) | (array_keys ? kTypeArray : 0) |
              (string_keys ? kTypeString : 0);
  }
  if (const auto it = s.find("nullable"); it != s.end()) {
    if (!it->is_boolean()) {
      return InvalidArgument(path + ": 'nullable' must be true or false");
    }
    if (it->get<bool>()) n.types |= kTypeNull;
  }

  // enum / const: scalars of the allowed types.
  std::vector<json> choices;
  bool has_choices = false;
  if (const auto it = s.find("enum"); it != s.end()) {
    if (!it->is_array() || it->empty()) {
      return InvalidArgument(path + ": 'enum' must be a non-empty list");
    }
    choices.assign(it->begin(), it->end());
    has_choices = true;
  }
  if (const auto it = s.find("const"); it != s.end()) {
    if (has_choices) {
      if (std::find(choices.begin(), choices.end(), *it) == choices.end()) {
        return InvalidArgument(path + ": 'const' is not among 'enum'");
      }
    }
    choices = {*it};
    has_choices = true;
  }
  if (has_choices) {
    for (const json& c : choices) {
      if (c.is_object() || c.is_array()) {
        return InvalidArgument(path +
                               ": enum/const of objects or arrays is not "
                               "supported by constrained decoding");
      }
      if (c.is_number_float() && !std::isfinite(c.get<double>())) {
        return InvalidArgument(path + ": non-finite enum value");
      }
      const uint8_t t = ValueType(c);
      if ((t & n.types) == 0) continue;  // excluded by 'type'
      if (c.is_string()) {
        const uint32_t len = CodePoints(c.get<std::string>());
        if (len < n.min_length || len > n.max_length) continue;
      }
      if (std::find(n.enum_values.begin(), n.enum_values.end(), c) ==
          n.enum_values.end()) {
        n.enum_values.push_back(c);
      }
    }
    if (n.enum_values.empty()) {
      return InvalidArgument(path +
                             ": no enum/const value has an allowed type");
    }
  }

  const int index = static_cast<int>(nodes_.size());
  nodes_.push_back(SchemaNode());
  if (const auto it = s.find("items"); it != s.end()) {
    if (it->is_array()) {
      return InvalidArgument(path +
                             ": 'items' as a list (tuples) is not supported");
    }
    FACET_ASSIGN_OR_RETURN(n.items,
                           CompileNode(*it, path + ".items", depth + 1));
  }
  std::set<std::string> names;
  if (const auto it = s.find("properties"); it != s.end()) {
    if (!it->is_object()) {
      return InvalidArgument(path + ": 'properties' must be an object");
    }
    if (it->size() > static_cast<size_t>(kMaxSchemaProperties)) {
      return InvalidArgument(path + ": more than " +
                             std::to_string(kMaxSchemaProperties) +
                             " properties");
    }
    for (const auto& [name, sub] : it->items()) {
      SchemaNode::Property p;
      p.name = name;
      FACET_ASSIGN_OR_RETURN(
          p.node, CompileNode(sub, path + ".properties." + name, depth + 1));
      names.insert(name);
      n.properties.push_back(std::move(p));
    }
  }
  if (const auto it = s.find("required"); it != s.end()) {
    if (!it->is_array()) {
      return InvalidArgument(path + ": 'required' must be a list of names");
    }
    for (const json& r : *it) {
      if (!r.is_string()) {
        return InvalidArgument(path + ": 'required' must be a list of names");
      }
      auto p = std::find_if(
          n.properties.begin(), n.properties.end(),
          [&](const SchemaNode::Property& q) { return q.name == r; });
      if (p == n.properties.end()) {
        return InvalidArgument(path + ": required property '" +
                               r.get<std::string>() +
                               "' is not declared in 'properties'");
      }
      p->required = true;
    }
  }
  if (const auto it = s.find("additionalProperties"); it != s.end()) {
    n.additional_explicit = true;
    if (it->is_boolean()) {
      n.additional = it->get<bool>() ? kAnyNode : -1;
    } else {
      FACET_ASSIGN_OR_RETURN(
          n.additional,
          CompileNode(*it, path + ".additionalProperties", depth + 1));
    }
  } else {
    // Strict generation: declared properties only (see the header).
    n.additional = n.properties.empty() ? kAnyNode : -1;
  }
  nodes_[index] = std::move(n);
  return index;
}

Status JsonSchema::Validate(const json& value) const {
  return ValidateNode(root_, value, "$");
}

Status JsonSchema::ValidateNode(int index, const json& v,
                                const std::string& path) const {
  const SchemaNode& n = nodes_[index];
  const uint8_t t = ValueType(v);
  if ((t & n.types) == 0) {
    return InvalidArgument(
        path + ": " + v.dump(-1, ' ', false, json::error_handler_t::replace) +
        " has a type the schema does not allow");
  }
  if (!n.enum_values.empty() &&
      std::find(n.enum_values.begin(), n.enum_values.end(), v) ==
          n.enum_values.end()) {
    return InvalidArgument(path + ": not one of the enum values");
  }
  if (v.is_string()) {
    const uint32_t len = CodePoints(v.get<std::string>());
    if (len < n.min_length || len > n.max_length) {
      return InvalidArgument(path + ": string length " + std::to_string(len) +
                             " out of range");
    }
  } else if (v.is_array()) {
    if (v.size() < n.min_items || v.size() > n.max_items) {
      return InvalidArgument(path + ": " + std::to_string(v.size()) +
                             " items, out of range");
    }
    for (size_t i = 0; i < v.size(); ++i) {
      FACET_RETURN_IF_ERROR(
          ValidateNode(n.items, v[i], path + "[" + std::to_string(i) + "]"));
    }
  } else if (v.is_object()) {
    for (const SchemaNode::Property& p : n.properties) {
      const auto it = v.find(p.name);
      if (it == v.end()) {
        if (p.required) {
          return InvalidArgument(path + ": required property '" + p.name +
                                 "' is missing");
        }
        continue;
      }
      FACET_RETURN_IF_ERROR(ValidateNode(p.node, *it, path + "." + p.name));
    }
    for (auto item = v.begin(); item != v.end(); ++item) {
      // (No structured binding: C++17 lambdas cannot capture one.)
      const std::string& key = item.key();
      const nlohmann::json& sub = item.value();
      const bool declared = std::any_of(
          n.properties.begin(), n.properties.end(),
          [&](const SchemaNode::Property& p) { return p.name == key; });
      if (declared) continue;
      // JSON Schema: extra keys are allowed unless the schema says not.
      if (!n.additional_explicit) continue;
      if (n.additional < 0) {
        return InvalidArgument(path + ": property '" + key +
                               "' is not allowed");
      }
      FACET_RETURN_IF_ERROR(ValidateNode(n.additional, sub, path + "." + key));
    }
  }
  return OkStatus();
}

}  // namespace facet
