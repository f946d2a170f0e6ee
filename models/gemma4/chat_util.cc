// Jinja helpers of the Gemma 4 chat format (chat_internal.h).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "models/gemma4/chat_internal.h"

namespace facet::gemma4 {

using json = nlohmann::json;

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
std::string Excerpt(std::string_view s, size_t max) {
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

std::string PyRepr(const json& v);

namespace {
std::string NumberText(const json& v) { return v.dump(); }  // numbers only
}  // namespace

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

}  // namespace facet::gemma4
