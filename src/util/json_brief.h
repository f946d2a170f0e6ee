// Short renderings of JSON values for error messages.
#ifndef FACET_SRC_UTIL_JSON_BRIEF_H_
#define FACET_SRC_UTIL_JSON_BRIEF_H_

#include <nlohmann/json.hpp>
#include <string>

namespace facet {

// A bad value as it appears in a message: scalars and short flat arrays
// dumped (at most 64 characters, never throwing on bad UTF-8), other
// containers named by type only, since dump() recurses once per nesting
// level and a hostile file can nest a million deep.
inline std::string BriefJson(const nlohmann::json& j) {
  bool flat = j.is_array() && j.size() <= 8;
  if (flat) {
    for (const nlohmann::json& e : j) flat = flat && e.is_primitive();
  }
  if (j.is_structured() && !flat) {
    return std::string("a JSON ") + j.type_name();
  }
  std::string s =
      j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return s.size() > 64 ? s.substr(0, 61) + "..." : s;
}

}  // namespace facet

#endif  // FACET_SRC_UTIL_JSON_BRIEF_H_
