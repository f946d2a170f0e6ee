// Finding a model's tokenizer on disk: Tokenizer::ForModelPath and the file
// reading the loaders share.
#include <sys/stat.h>

#include <memory>
#include <string>
#include <string_view>

#include "src/io/gguf.h"
#include "src/io/mapped_file.h"
#include "src/tokenizer/tokenizer.h"
#include "src/tokenizer/tokenizer_internal.h"
#include "src/util/status_macros.h"

namespace facet {
namespace {

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool IsRegularFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

namespace tokenizer_internal {

StatusOr<std::string> ReadFile(const std::string& path, const char* what) {
  StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) {
    return Status(text.status().code(),
                  std::string(what) + ": " + text.status().message());
  }
  return text;
}

}  // namespace tokenizer_internal

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::ForModelPath(
    const std::string& path) {
  if (IsDirectory(path)) {
    std::string dir = path;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    const std::string model = dir + "/tokenizer.model";
    if (IsRegularFile(model)) return FromSentencePieceFile(model);
    const std::string json_path = dir + "/tokenizer.json";
    if (IsRegularFile(json_path)) return FromHfTokenizerJson(json_path);
    return NotFound("no tokenizer in " + dir +
                    ": neither tokenizer.model nor tokenizer.json exists");
  }
  if (!IsRegularFile(path))
    return NotFound("tokenizer path not found: " + path);
  if (EndsWith(path, ".gguf")) {
    FACET_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> gguf,
                           GgufFile::Open(path));
    return FromGguf(*gguf);
  }
  if (EndsWith(path, ".model")) return FromSentencePieceFile(path);
  if (EndsWith(path, ".json")) return FromHfTokenizerJson(path);
  return InvalidArgument(
      "cannot tell the tokenizer format of " + path +
      " (expected a .gguf, .model or .json file, or a model folder)");
}

}  // namespace facet
