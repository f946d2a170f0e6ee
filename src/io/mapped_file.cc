#include "src/io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "facet/tools.h"
#include "src/util/status_macros.h"

namespace facet {
namespace {

// A read-only descriptor of `path`, which must be a regular file.
// O_NONBLOCK: opening a FIFO must not wait for a writer (it is then refused
// as not regular); the flag does not affect reads of regular files.
StatusOr<int> OpenRegularFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    return Status(
        err == ENOENT ? StatusCode::kNotFound : StatusCode::kInvalidArgument,
        "cannot open '" + path + "': " + std::strerror(err));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgument("'" + path + "' is not a regular file");
  }
  return fd;
}

}  // namespace

StatusOr<std::unique_ptr<MappedFile>> MappedFile::Open(
    const std::string& path) {
  FACET_ASSIGN_OR_RETURN(int fd, OpenRegularFile(path));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return InvalidArgument("cannot stat '" + path + "'");
  }
  std::unique_ptr<MappedFile> file(new MappedFile());
  file->path_ = path;
  file->size_ = static_cast<size_t>(st.st_size);
  if (file->size_ > 0) {
    void* p = ::mmap(nullptr, file->size_, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      return InvalidArgument("cannot map '" + path +
                             "': " + std::strerror(err));
    }
    file->data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
  return file;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
}

StatusOr<std::string> ReadFileToString(const std::string& path,
                                       int64_t max_bytes) {
  FACET_ASSIGN_OR_RETURN(int fd, OpenRegularFile(path));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return InvalidArgument("cannot stat '" + path + "'");
  }
  if (st.st_size > max_bytes) {
    ::close(fd);
    return Status(StatusCode::kResourceExhausted,
                  "'" + path + "' is " + std::to_string(st.st_size) +
                      " bytes, over the limit of " + std::to_string(max_bytes));
  }
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < out.size()) {
    const ssize_t r = ::read(fd, &out[got], out.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int err = errno;
      ::close(fd);
      return DataLoss("cannot read '" + path + "': " + std::strerror(err));
    }
    if (r == 0) break;  // the file shrank while being read
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

StatusOr<std::string> ReadTextFile(const std::string& path, int64_t max_bytes) {
  return ReadFileToString(path, max_bytes);
}

}  // namespace facet
