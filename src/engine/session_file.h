// Files of saved KV state: whole conversations (Session::Save) and prompt
// caches (SessionOptions::prompt_cache_path). Layout:
//   "FACETKV1" | uint32 header bytes | header JSON | uint64 KV bytes | KV |
//   uint64 FNV-1a of everything before
// The header names the kind, the format version and the model's
// fingerprint, so that a file from another model or version is refused
// with a clear Status instead of being misread.
#ifndef FACET_SRC_ENGINE_SESSION_FILE_H_
#define FACET_SRC_ENGINE_SESSION_FILE_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "facet/facet.h"
#include "models/gemma4/chat.h"

namespace facet {

inline constexpr int kSessionFileVersion = 1;

// A stable hash of what makes two models' KV caches interchangeable:
// architecture, sizes, tensor types and byte counts (not the path).
std::string ModelFingerprint(const ModelInfo& info);

struct KvFile {
  std::string kind;             // "session" or "prompt"
  std::string fingerprint;      // ModelFingerprint of the model that wrote it
  std::string model;            // a readable name of that model
  int64_t context = 0;          // the writer's context length
  std::vector<int> tokens;      // the positions the KV entries hold
  nlohmann::json chat;          // kind "session": history and chat state
  std::string kv;               // ModelState::ExportKv
  std::string kv_type = "f32";  // ModelState::kv_type of the writer
};

// Writes atomically (a temporary file renamed over `path`).
Status WriteKvFile(const std::string& path, const KvFile& f);
// Reads and checks a file of `kind` written for `fingerprint` from a KV
// cache of `kv_type` (CheckKvType; empty: any type, checked later).
StatusOr<KvFile> ReadKvFile(const std::string& path, const std::string& kind,
                            const std::string& fingerprint,
                            const std::string& kv_type);
// kFailedPrecondition unless `f` (read from `path`) holds KV entries of
// `kv_type` (ModelState::kv_type).
Status CheckKvType(const std::string& path, const KvFile& f,
                   const std::string& kv_type);

// The chat history in the header of a saved session.
nlohmann::json HistoryToJson(const std::vector<gemma4::ChatMessage>& history);
StatusOr<std::vector<gemma4::ChatMessage>> HistoryFromJson(
    const nlohmann::json& j);

}  // namespace facet

#endif  // FACET_SRC_ENGINE_SESSION_FILE_H_
