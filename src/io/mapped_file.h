// A read-only memory-mapped file. Weights are used in place (zero-copy)
// wherever their layout allows, so the mapping lives as long as the model.
#ifndef FACET_SRC_IO_MAPPED_FILE_H_
#define FACET_SRC_IO_MAPPED_FILE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "facet/status.h"

namespace facet {

class MappedFile {
 public:
  // Maps `path` read-only. Empty files map to size 0 with a null data().
  static StatusOr<std::unique_ptr<MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

// Reads a whole regular file into a string. FIFOs, devices and folders are
// refused without blocking; a file over `max_bytes` is refused
// (kResourceExhausted) before it is read.
inline constexpr int64_t kMaxTextFileBytes = int64_t{1} << 30;
StatusOr<std::string> ReadFileToString(const std::string& path,
                                       int64_t max_bytes = kMaxTextFileBytes);

}  // namespace facet

#endif  // FACET_SRC_IO_MAPPED_FILE_H_
