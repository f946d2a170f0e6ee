#include "src/io/hf_folder.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>

#include "src/io/mapped_file.h"
#include "src/util/status_macros.h"

namespace facet {
namespace {

using json = nlohmann::json;

constexpr char kConfig[] = "config.json";
constexpr char kSingle[] = "model.safetensors";
constexpr char kIndex[] = "model.safetensors.index.json";

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

// stat() follows symlinks, as in the Hugging Face cache layout.
bool IsRegularFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Parses up to 9 decimal digits from s[*pos..] into *value.
bool ParseDigits(const std::string& s, size_t* pos, uint32_t* value,
                 size_t* width) {
  size_t start = *pos;
  uint32_t v = 0;
  while (*pos < s.size() && s[*pos] >= '0' && s[*pos] <= '9' &&
         *pos - start < 9) {
    v = v * 10 + static_cast<uint32_t>(s[*pos] - '0');
    ++*pos;
  }
  if (*pos == start || (*pos < s.size() && s[*pos] >= '0' && s[*pos] <= '9')) {
    return false;
  }
  *value = v;
  *width = *pos - start;
  return true;
}

// Matches "model-<i>-of-<n>.safetensors".
struct ShardName {
  uint32_t index = 0;
  uint32_t total = 0;
  size_t index_width = 0;
  std::string total_text;
};

bool MatchShardName(const std::string& name, ShardName* out) {
  static const std::string kPrefix = "model-";
  static const std::string kOf = "-of-";
  static const std::string kSuffix = ".safetensors";
  if (name.compare(0, kPrefix.size(), kPrefix) != 0) return false;
  size_t pos = kPrefix.size();
  if (!ParseDigits(name, &pos, &out->index, &out->index_width)) return false;
  if (name.compare(pos, kOf.size(), kOf) != 0) return false;
  pos += kOf.size();
  size_t total_start = pos, total_width = 0;
  if (!ParseDigits(name, &pos, &out->total, &total_width)) return false;
  out->total_text = name.substr(total_start, total_width);
  return name.size() - pos == kSuffix.size() &&
         name.compare(pos, kSuffix.size(), kSuffix) == 0;
}

std::string PadNumber(uint32_t v, size_t width) {
  std::string s = std::to_string(v);
  if (s.size() < width) s.insert(0, width - s.size(), '0');
  return s;
}

// Lists model-*-of-*.safetensors in `dir`, checks that all shards are
// present, and returns their names in shard order.
StatusOr<std::vector<std::string>> GlobShards(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return NotFound("cannot list model folder '" + dir + "'");
  std::map<uint32_t, std::string> by_index;
  ShardName first;
  Status status;
  while (const dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    ShardName sn;
    if (!MatchShardName(name, &sn)) continue;
    if (by_index.empty()) {
      first = sn;
    } else if (sn.total != first.total) {
      status = DataLoss("inconsistent shard counts in '" + dir + "': '" + name +
                        "' vs " + first.total_text + " shards");
      break;
    }
    if (sn.index < 1 || sn.index > sn.total) {
      status = DataLoss("shard '" + name + "' in '" + dir +
                        "' has an index outside 1.." + sn.total_text);
      break;
    }
    auto inserted = by_index.emplace(sn.index, name);
    if (!inserted.second) {
      status = DataLoss("shards '" + inserted.first->second + "' and '" + name +
                        "' in '" + dir + "' have the same index");
      break;
    }
  }
  ::closedir(d);
  FACET_RETURN_IF_ERROR(status);
  if (by_index.empty()) {
    return NotFound("no weights in '" + dir + "': none of " + kSingle + ", " +
                    kIndex + " or model-*-of-*.safetensors");
  }
  std::vector<std::string> names;
  for (uint32_t i = 1; i <= first.total; ++i) {
    auto it = by_index.find(i);
    if (it == by_index.end()) {
      return NotFound("shard " +
                      JoinPath(dir, "model-" + PadNumber(i, first.index_width) +
                                        "-of-" + first.total_text +
                                        ".safetensors") +
                      " not found");
    }
    names.push_back(it->second);
  }
  return names;
}

// Reads the index: fills `weight_map` (tensor -> shard file name) and returns
// the distinct shard names in sorted order.
StatusOr<std::vector<std::string>> ReadIndex(
    const std::string& path, std::map<std::string, std::string>* weight_map) {
  FACET_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  json root = json::parse(text.begin(), text.end(), nullptr,
                          /*allow_exceptions=*/false);
  if (root.is_discarded()) return DataLoss(path + ": invalid JSON");
  if (!root.is_object()) return DataLoss(path + ": not a JSON object");
  auto wm = root.find("weight_map");
  if (wm == root.end()) return DataLoss(path + ": missing \"weight_map\"");
  if (!wm->is_object()) {
    return DataLoss(path + ": \"weight_map\" is not an object");
  }
  if (wm->empty()) return DataLoss(path + ": \"weight_map\" is empty");
  std::set<std::string> shards;
  for (auto it = wm->begin(); it != wm->end(); ++it) {
    const json& v = it.value();
    if (!v.is_string()) {
      return DataLoss(path + ": weight_map entry for '" + it.key() +
                      "' is not a string");
    }
    const std::string& shard = v.get_ref<const std::string&>();
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "." ||
        shard == "..") {
      return DataLoss(path + ": weight_map entry for '" + it.key() +
                      "' is not a plain file name: '" + shard + "'");
    }
    (*weight_map)[it.key()] = shard;
    shards.insert(shard);
  }
  return std::vector<std::string>(shards.begin(), shards.end());
}

}  // namespace

StatusOr<std::unique_ptr<HfFolder>> HfFolder::Open(const std::string& dir) {
  std::unique_ptr<HfFolder> folder(new HfFolder());
  folder->dir_ = dir;
  while (folder->dir_.size() > 1 && folder->dir_.back() == '/') {
    folder->dir_.pop_back();
  }
  const std::string& d = folder->dir_;
  if (!IsDirectory(d)) return NotFound("model folder '" + d + "' not found");

  const std::string config_path = JoinPath(d, kConfig);
  if (!IsRegularFile(config_path)) {
    return NotFound(config_path + " not found");
  }
  FACET_ASSIGN_OR_RETURN(folder->config_json_, ReadFileToString(config_path));

  std::vector<std::string> shard_names;
  std::map<std::string, std::string> weight_map;
  const std::string index_path = JoinPath(d, kIndex);
  if (IsRegularFile(JoinPath(d, kSingle))) {
    shard_names.push_back(kSingle);
  } else if (IsRegularFile(index_path)) {
    FACET_ASSIGN_OR_RETURN(shard_names, ReadIndex(index_path, &weight_map));
    for (const std::string& name : shard_names) {
      if (!IsRegularFile(JoinPath(d, name))) {
        return NotFound("shard " + JoinPath(d, name) + " listed in " +
                        index_path + " not found");
      }
    }
  } else {
    FACET_ASSIGN_OR_RETURN(shard_names, GlobShards(d));
  }

  std::map<std::string, size_t> shard_of_name;
  for (const std::string& name : shard_names) {
    FACET_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> shard,
                           SafetensorsFile::Open(JoinPath(d, name)));
    shard_of_name[name] = folder->shards_.size();
    for (const TensorView& t : shard->tensors()) {
      auto inserted = folder->index_.emplace(t.name, &t);
      if (!inserted.second) {
        std::string other;
        for (const auto& s : folder->shards_) {
          if (s->Find(t.name) != nullptr) other = s->path();
        }
        return DataLoss("tensor '" + t.name + "' is in both " + other +
                        " and " + shard->path());
      }
    }
    folder->shards_.push_back(std::move(shard));
  }

  for (const auto& entry : weight_map) {
    const SafetensorsFile& shard =
        *folder->shards_[shard_of_name[entry.second]];
    if (shard.Find(entry.first) == nullptr) {
      return DataLoss("tensor '" + entry.first + "' listed in " + index_path +
                      " is not in its shard " + shard.path());
    }
  }
  return folder;
}

std::vector<const TensorView*> HfFolder::tensors() const {
  std::vector<const TensorView*> out;
  out.reserve(index_.size());
  for (const auto& shard : shards_) {
    for (const TensorView& t : shard->tensors()) out.push_back(&t);
  }
  return out;
}

const TensorView* HfFolder::Find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second;
}

std::string HfFolder::PathIfExists(const char* name) const {
  std::string path = JoinPath(dir_, name);
  return IsRegularFile(path) ? path : std::string();
}

std::string HfFolder::tokenizer_model_path() const {
  return PathIfExists("tokenizer.model");
}
std::string HfFolder::tokenizer_json_path() const {
  return PathIfExists("tokenizer.json");
}
std::string HfFolder::tokenizer_config_path() const {
  return PathIfExists("tokenizer_config.json");
}
std::string HfFolder::generation_config_path() const {
  return PathIfExists("generation_config.json");
}

}  // namespace facet
