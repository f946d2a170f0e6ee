#include "kernels/ref/packed_ref.h"

#include <cstring>
#include <vector>

#include "kernels/ref/matmul_ref.h"

namespace facet::kernels::ref {
namespace {

constexpr int64_t kQK = 32;

// Bytes per block of one row (with its fp16 scale) and of the quants.
int64_t BlockBytes(DType type) { return type == DType::kQ4_0 ? 18 : 34; }
int64_t QuantBytes(DType type) { return BlockBytes(type) - 2; }

}  // namespace

bool CanPack(DType type, int64_t rows, int64_t cols) {
  return (type == DType::kQ4_0 || type == DType::kQ8_0) && rows > 0 &&
         rows % kPackRows == 0 && cols > 0 && cols % kQK == 0;
}

void PackRows(DType type, const uint8_t* src, int64_t rows, int64_t cols,
              uint8_t* dst) {
  const int64_t bb = BlockBytes(type), qb = QuantBytes(type);
  const int64_t nb = cols / kQK;
  const int64_t row_bytes = nb * bb;
  for (int64_t g = 0; g < rows; g += kPackRows) {
    const uint8_t* s = src + g * row_bytes;
    for (int64_t b = 0; b < nb; ++b) {
      for (int i = 0; i < kPackRows; ++i) {
        std::memcpy(dst + 2 * i, s + i * row_bytes + b * bb, 2);
      }
      uint8_t* q = dst + 2 * kPackRows;
      for (int64_t h = 0; h < qb / 4; ++h) {
        for (int i = 0; i < kPackRows; ++i) {
          std::memcpy(q + 32 * h + 4 * i,
                      s + i * row_bytes + b * bb + 2 + 4 * h, 4);
        }
      }
      dst += kPackRows * bb;
    }
  }
}

void UnpackRow(DType type, const uint8_t* group, int i, int64_t cols,
               uint8_t* out) {
  const int64_t bb = BlockBytes(type), qb = QuantBytes(type);
  const int64_t nb = cols / kQK;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = group + b * kPackRows * bb;
    std::memcpy(out + b * bb, blk + 2 * i, 2);
    for (int64_t h = 0; h < qb / 4; ++h) {
      std::memcpy(out + b * bb + 2 + 4 * h,
                  blk + 2 * kPackRows + 32 * h + 4 * i, 4);
    }
  }
}

namespace {

void GemmPacked(DType type, const uint8_t* w, int64_t row_bytes, int64_t rows,
                int64_t cols, const uint8_t* a, int64_t a_stride, int64_t n,
                float* y, int64_t ldy) {
  std::vector<uint8_t> row(static_cast<size_t>(row_bytes));
  for (int64_t r = 0; r < rows; ++r) {
    UnpackRow(type, w + (r / kPackRows) * kPackRows * row_bytes,
              static_cast<int>(r % kPackRows), cols, row.data());
    for (int64_t t = 0; t < n; ++t) {
      y[t * ldy + r] =
          static_cast<float>(Dot(type, row.data(), a + t * a_stride, cols));
    }
  }
}

}  // namespace

void GemmQ4_0x8(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
                const uint8_t* a, int64_t a_stride, int64_t n, float* y,
                int64_t ldy) {
  GemmPacked(DType::kQ4_0, w, row_bytes, rows, cols, a, a_stride, n, y, ldy);
}

void GemmQ8_0x8(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
                const uint8_t* a, int64_t a_stride, int64_t n, float* y,
                int64_t ldy) {
  GemmPacked(DType::kQ8_0, w, row_bytes, rows, cols, a, a_stride, n, y, ldy);
}

}  // namespace facet::kernels::ref
