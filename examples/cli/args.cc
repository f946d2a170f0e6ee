#include "examples/cli/args.h"

#include <cerrno>
#include <cstdlib>

namespace facet::cli {

Status Args::Parse(int argc, char** argv, int first,
                   const std::set<std::string>& with_value,
                   const std::set<std::string>& switches) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.size() > 1 && a[0] == '-') {
      if (switches.count(a)) {
        values_[a] = "1";
      } else if (with_value.count(a)) {
        if (i + 1 >= argc) {
          return Status(StatusCode::kInvalidArgument,
                        "option " + a + " needs a value");
        }
        values_[a] = argv[++i];
        all_[a].push_back(values_[a]);
      } else {
        return Status(StatusCode::kInvalidArgument, "unknown option " + a);
      }
    } else {
      positional_.push_back(a);
    }
  }
  return Status();
}

std::vector<std::string> Args::GetAll(const std::string& flag) const {
  auto it = all_.find(flag);
  return it == all_.end() ? std::vector<std::string>() : it->second;
}

std::string Args::Get(const std::string& flag, const std::string& def) const {
  auto it = values_.find(flag);
  return it == values_.end() ? def : it->second;
}

Status Args::GetInt(const std::string& flag, long long lo, long long hi,
                    long long* out) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return Status();
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (errno != 0 || end == it->second.c_str() || *end != '\0' || v < lo ||
      v > hi) {
    return Status(StatusCode::kInvalidArgument,
                  "option " + flag + " expects an integer in " +
                      std::to_string(lo) + ".." + std::to_string(hi) +
                      ", got '" + it->second + "'");
  }
  *out = v;
  return Status();
}

Status ParseIntList(const std::string& text, std::vector<int>* out) {
  out->clear();
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string item = text.substr(
        pos, comma == std::string::npos ? std::string::npos : comma - pos);
    errno = 0;
    char* end = nullptr;
    long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || errno != 0 || *end != '\0' || v < 0 || v > 0x7fffffff) {
      return Status(StatusCode::kInvalidArgument,
                    "bad token id '" + item + "' in list (entry " +
                        std::to_string(out->size() + 1) + ")");
    }
    out->push_back(static_cast<int>(v));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return Status();
}

}  // namespace facet::cli
