#include "src/engine/session_file.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <utility>

#include "src/io/mapped_file.h"
#include "src/util/status_macros.h"

namespace facet {
namespace {

constexpr char kMagic[8] = {'F', 'A', 'C', 'E', 'T', 'K', 'V', '1'};
// Largest header accepted (token history of a very long conversation).
constexpr uint32_t kMaxHeaderBytes = 256u << 20;
// Largest file read.
constexpr int64_t kMaxFileBytes = int64_t{64} << 30;

uint64_t Fnv1a(const char* p, size_t n, uint64_t h = 1469598103934665603ull) {
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(p[i]);
    h *= 1099511628211ull;
  }
  return h;
}

template <typename T>
void Put(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(v));
}

template <typename T>
bool Get(const std::string& in, size_t* at, T* v) {
  if (in.size() - *at < sizeof(T)) return false;
  std::memcpy(v, in.data() + *at, sizeof(T));
  *at += sizeof(T);
  return true;
}

const char* RoleName(gemma4::ChatMessage::Role r) {
  switch (r) {
    case gemma4::ChatMessage::kSystem:
      return "system";
    case gemma4::ChatMessage::kUser:
      return "user";
    case gemma4::ChatMessage::kModel:
      return "model";
    case gemma4::ChatMessage::kTool:
      return "tool";
  }
  return "user";
}

}  // namespace

std::string ModelFingerprint(const ModelInfo& info) {
  nlohmann::json j = {{"architecture", info.architecture},
                      {"vocab", info.vocab_size},
                      {"hidden", info.hidden_size},
                      {"layers", info.num_layers},
                      {"heads", info.num_heads},
                      {"window", info.sliding_window},
                      {"ple", info.per_layer_input_dim},
                      {"kv_shared", info.num_kv_shared_layers},
                      {"experts", info.num_experts},
                      {"params", info.parameter_count},
                      {"bytes", info.weight_bytes},
                      {"types", info.tensor_types}};
  const std::string s = j.dump();
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx",
                static_cast<unsigned long long>(Fnv1a(s.data(), s.size())));
  return hex;
}

Status WriteKvFile(const std::string& path, const KvFile& f) {
  nlohmann::json h = {{"kind", f.kind},
                      {"version", kSessionFileVersion},
                      {"model_fingerprint", f.fingerprint},
                      {"model", f.model},
                      {"context", f.context},
                      {"tokens", f.tokens},
                      {"kv_dtype", f.kv_type}};
  if (!f.chat.is_null()) h["chat"] = f.chat;
  const std::string header = h.dump();
  std::string out(kMagic, sizeof(kMagic));
  Put<uint32_t>(&out, static_cast<uint32_t>(header.size()));
  out += header;
  Put<uint64_t>(&out, f.kv.size());
  out += f.kv;
  Put<uint64_t>(&out, Fnv1a(out.data(), out.size()));
  const std::string tmp = path + ".tmp";
  {
    std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
    file.write(out.data(), static_cast<std::streamsize>(out.size()));
    file.close();
    if (!file) {
      std::remove(tmp.c_str());
      return Status(StatusCode::kInvalidArgument, "cannot write " + path);
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status(StatusCode::kInvalidArgument, "cannot write " + path);
  }
  return OkStatus();
}

Status CheckKvType(const std::string& path, const KvFile& f,
                   const std::string& kv_type) {
  if (f.kv_type == kv_type) return OkStatus();
  return FailedPrecondition(path + " holds a " + f.kv_type +
                            " KV cache; this session's is " + kv_type);
}

StatusOr<KvFile> ReadKvFile(const std::string& path, const std::string& kind,
                            const std::string& fingerprint,
                            const std::string& kv_type) {
  FACET_ASSIGN_OR_RETURN(std::string in, ReadFileToString(path, kMaxFileBytes));
  auto bad = [&](const std::string& why) {
    return DataLoss(path + ": " + why);
  };
  if (in.size() < sizeof(kMagic) + 4 + 8 + 8 ||
      std::memcmp(in.data(), kMagic, sizeof(kMagic)) != 0) {
    return bad("not a facet " + kind + " file");
  }
  uint64_t sum = 0;
  std::memcpy(&sum, in.data() + in.size() - 8, 8);
  if (sum != Fnv1a(in.data(), in.size() - 8)) {
    return bad("checksum mismatch (truncated or corrupt)");
  }
  in.resize(in.size() - 8);
  size_t at = sizeof(kMagic);
  uint32_t hn = 0;
  if (!Get(in, &at, &hn) || hn > kMaxHeaderBytes || in.size() - at < hn) {
    return bad("header truncated");
  }
  nlohmann::json h = nlohmann::json::parse(
      in.begin() + at, in.begin() + at + hn, nullptr, false);
  at += hn;
  if (!h.is_object() || !h["kind"].is_string() ||
      !h["version"].is_number_integer() ||
      !h["model_fingerprint"].is_string() ||
      !h["context"].is_number_integer() || !h["tokens"].is_array()) {
    return bad("header is not valid");
  }
  KvFile f;
  f.kind = h["kind"].get<std::string>();
  if (f.kind != kind) {
    return InvalidArgument(path + " is a " + f.kind + " file, not a " + kind +
                           " file");
  }
  if (h["version"].get<int>() != kSessionFileVersion) {
    return FailedPrecondition(path + " has format version " +
                              std::to_string(h["version"].get<int>()) +
                              "; this facet reads version " +
                              std::to_string(kSessionFileVersion));
  }
  f.fingerprint = h["model_fingerprint"].get<std::string>();
  if (h.contains("model") && h["model"].is_string()) {
    f.model = h["model"].get<std::string>();
  }
  if (f.fingerprint != fingerprint) {
    return FailedPrecondition(path + " was saved from another model (" +
                              (f.model.empty() ? f.fingerprint : f.model) +
                              ")");
  }
  if (h.contains("kv_dtype")) {
    if (!h["kv_dtype"].is_string()) return bad("header is not valid");
    f.kv_type = h["kv_dtype"].get<std::string>();
  }
  if (!kv_type.empty()) FACET_RETURN_IF_ERROR(CheckKvType(path, f, kv_type));
  f.context = h["context"].get<int64_t>();
  for (const nlohmann::json& t : h["tokens"]) {
    if (!t.is_number_integer()) return bad("token list is not valid");
    f.tokens.push_back(t.get<int>());
  }
  if (h.contains("chat")) f.chat = h["chat"];
  uint64_t kn = 0;
  if (!Get(in, &at, &kn) || in.size() - at != kn) {
    return bad("KV data truncated");
  }
  f.kv = in.substr(at);
  if (f.context <= 0 || static_cast<int64_t>(f.tokens.size()) > f.context) {
    return bad("header is not valid");
  }
  return f;
}

nlohmann::json HistoryToJson(const std::vector<gemma4::ChatMessage>& history) {
  nlohmann::json out = nlohmann::json::array();
  for (const gemma4::ChatMessage& m : history) {
    nlohmann::json j = {{"role", RoleName(m.role)}, {"content", m.content}};
    if (!m.thinking.empty()) j["thinking"] = m.thinking;
    if (!m.tool_name.empty()) j["tool_name"] = m.tool_name;
    if (!m.response.is_null()) j["response"] = m.response;
    for (const gemma4::ToolCall& c : m.tool_calls) {
      j["tool_calls"].push_back({{"name", c.name}, {"arguments", c.arguments}});
    }
    for (const gemma4::ChatPart& p : m.parts) {
      nlohmann::json pj = {{"kind", static_cast<int>(p.kind)},
                           {"text", p.text},
                           {"soft_tokens", p.soft_tokens}};
      for (const gemma4::ChatVideoFrame& f : p.frames) {
        pj["frames"].push_back(
            {{"seconds", f.seconds}, {"soft_tokens", f.soft_tokens}});
      }
      j["parts"].push_back(std::move(pj));
    }
    out.push_back(std::move(j));
  }
  return out;
}

StatusOr<std::vector<gemma4::ChatMessage>> HistoryFromJson(
    const nlohmann::json& j) {
  if (!j.is_array()) return DataLoss("saved history is not a list");
  std::vector<gemma4::ChatMessage> out;
  auto str = [](const nlohmann::json& o, const char* k) {
    auto it = o.find(k);
    return it != o.end() && it->is_string() ? it->get<std::string>()
                                            : std::string();
  };
  auto num = [](const nlohmann::json& o, const char* k) {
    auto it = o.find(k);
    return it != o.end() && it->is_number() ? it->get<double>() : 0.0;
  };
  for (const nlohmann::json& mj : j) {
    if (!mj.is_object()) return DataLoss("saved message is not an object");
    gemma4::ChatMessage m;
    const std::string role = str(mj, "role");
    if (role == "system") {
      m.role = gemma4::ChatMessage::kSystem;
    } else if (role == "user") {
      m.role = gemma4::ChatMessage::kUser;
    } else if (role == "model") {
      m.role = gemma4::ChatMessage::kModel;
    } else if (role == "tool") {
      m.role = gemma4::ChatMessage::kTool;
    } else {
      return DataLoss("saved message has an unknown role");
    }
    m.content = str(mj, "content");
    m.thinking = str(mj, "thinking");
    m.tool_name = str(mj, "tool_name");
    if (mj.contains("response")) m.response = mj["response"];
    if (mj.contains("tool_calls") && mj["tool_calls"].is_array()) {
      for (const nlohmann::json& c : mj["tool_calls"]) {
        if (!c.is_object()) return DataLoss("saved tool call is not valid");
        gemma4::ToolCall tc;
        tc.name = str(c, "name");
        if (c.contains("arguments")) tc.arguments = c["arguments"];
        m.tool_calls.push_back(std::move(tc));
      }
    }
    if (mj.contains("parts") && mj["parts"].is_array()) {
      for (const nlohmann::json& pj : mj["parts"]) {
        if (!pj.is_object()) return DataLoss("saved part is not valid");
        gemma4::ChatPart p;
        const int kind = static_cast<int>(num(pj, "kind"));
        if (kind < gemma4::ChatPart::kText || kind > gemma4::ChatPart::kVideo) {
          return DataLoss("saved part has an unknown kind");
        }
        p.kind = static_cast<gemma4::ChatPart::Kind>(kind);
        p.text = str(pj, "text");
        p.soft_tokens = static_cast<int>(num(pj, "soft_tokens"));
        if (pj.contains("frames") && pj["frames"].is_array()) {
          for (const nlohmann::json& fj : pj["frames"]) {
            if (!fj.is_object()) return DataLoss("saved frame is not valid");
            gemma4::ChatVideoFrame f;
            f.seconds = num(fj, "seconds");
            f.soft_tokens = static_cast<int>(num(fj, "soft_tokens"));
            p.frames.push_back(f);
          }
        }
        m.parts.push_back(std::move(p));
      }
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace facet
