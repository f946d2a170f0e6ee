// The library opens files by path; a fuzz input goes into an anonymous
// memory file (memfd_create) opened as /proc/self/fd/N, so nothing touches
// the disk.
#ifndef FACET_TESTS_FUZZ_MEMORY_FILE_H_
#define FACET_TESTS_FUZZ_MEMORY_FILE_H_

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace facet::fuzz {

class MemoryFile {
 public:
  MemoryFile(const char* name, const uint8_t* data, size_t size)
      : fd_(::memfd_create(name, MFD_CLOEXEC)) {
    while (fd_ >= 0 && size > 0) {
      const ssize_t n = ::write(fd_, data, size);
      if (n <= 0) {
        ::close(fd_);
        fd_ = -1;
        break;
      }
      data += n;
      size -= static_cast<size_t>(n);
    }
  }
  ~MemoryFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  bool ok() const { return fd_ >= 0; }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

}  // namespace facet::fuzz

#endif  // FACET_TESTS_FUZZ_MEMORY_FILE_H_
