// libFuzzer target: SafetensorsFile::Open on the input bytes. The library
// only opens paths, so each input goes into an anonymous memory file
// (memfd_create) opened as /proc/self/fd/N; nothing touches the disk.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/ref/quant.h"
#include "src/io/safetensors.h"
#include "src/io/tensor_view.h"

namespace {

constexpr int64_t kMaxRowElems = int64_t{1} << 16;

bool WriteAll(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = ::memfd_create("facet_safetensors_fuzz", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (WriteAll(fd, data, size)) {
    auto st =
        facet::SafetensorsFile::Open("/proc/self/fd/" + std::to_string(fd));
    if (st.ok()) {
      std::vector<float> row;
      for (const facet::TensorView& t : (*st)->tensors()) {
        (void)(*st)->Find(t.name);
        if (t.nbytes == 0) continue;
        // Both ends of every tensor must lie inside the mapping.
        volatile uint8_t edge = t.data[0] ^ t.data[t.nbytes - 1];
        (void)edge;
        const int64_t n = t.dim(0);
        if (n <= 0 || n > kMaxRowElems) continue;
        if (static_cast<uint64_t>(facet::kernels::RowBytes(t.dtype, n)) >
            t.nbytes) {
          continue;
        }
        row.resize(static_cast<size_t>(n));
        facet::kernels::DequantizeRow(t.dtype, t.data, row.data(), n);
      }
      for (const auto& kv : (*st)->metadata()) (void)kv.second.size();
    }
  }
  ::close(fd);
  return 0;
}
