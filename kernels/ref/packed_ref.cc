#include "kernels/ref/packed_ref.h"

#include <cstring>
#include <vector>

#include "kernels/ref/matmul_ref.h"

namespace facet::kernels::ref {
namespace {

// A block of one row as fields (bytes [src, src + bytes) of the row's
// block), laid out one after the other in the packed block, each
// interleaved across the 8 rows in units of `unit` bytes: unit u of rows
// 0..7, then unit u + 1. The fields cover the row's block exactly.
struct Field {
  int src, bytes, unit;
};
struct Layout {
  int64_t block_elems = 0;
  int nfields = 0;
  Field fields[4] = {};
  int64_t block_bytes() const {
    int64_t b = 0;
    for (int f = 0; f < nfields; ++f) b += fields[f].bytes;
    return b;
  }
};

Layout LayoutOf(DType type) {
  switch (type) {
    case DType::kQ4_0:  // d | 16 bytes of nibbles
      return {32, 2, {{0, 2, 2}, {2, 16, 4}}};
    case DType::kQ8_0:  // d | 32 int8
      return {32, 2, {{0, 2, 2}, {2, 32, 4}}};
    case DType::kQ4_K:  // d | dmin | 12 bytes of 6-bit scales | 128 nibbles
      return {256, 4, {{0, 2, 2}, {2, 2, 2}, {4, 12, 4}, {16, 128, 4}}};
    case DType::kQ6_K:  // ql[128] | qh[64] | int8 scales[16] | d, packed as
                        // d | scales | ql | qh
      return {256, 4, {{208, 2, 2}, {192, 16, 2}, {0, 128, 4}, {128, 64, 4}}};
    default:
      return {};
  }
}

// Copies between one row's block (row_blk) and the packed 8-row block
// (packed) for row i, in the direction `pack`.
void CopyRowBlock(const Layout& l, int i, bool pack, uint8_t* row_blk,
                  uint8_t* packed) {
  int64_t packed_off = 0;
  for (int f = 0; f < l.nfields; ++f) {
    const Field& fd = l.fields[f];
    for (int u = 0; u < fd.bytes / fd.unit; ++u) {
      uint8_t* r = row_blk + fd.src + u * fd.unit;
      uint8_t* p = packed + packed_off + (u * kPackRows + i) * fd.unit;
      if (pack) {
        std::memcpy(p, r, fd.unit);
      } else {
        std::memcpy(r, p, fd.unit);
      }
    }
    packed_off += fd.bytes * kPackRows;
  }
}

}  // namespace

bool CanPack(DType type, int64_t rows, int64_t cols) {
  const Layout l = LayoutOf(type);
  return l.nfields > 0 && rows > 0 && rows % kPackRows == 0 && cols > 0 &&
         cols % l.block_elems == 0;
}

namespace {

// One field of 8 rows' blocks into the packed block, written in order;
// fixed-size copies (loading runs at memory speed, where CopyRowBlock's
// variable-size ones made packing E2B take over a second of CPU).
template <int kUnit>
uint8_t* PackField(const uint8_t* const* rows, int64_t off, int bytes,
                   uint8_t* dst) {
  for (int u = 0; u < bytes / kUnit; ++u) {
    for (int i = 0; i < kPackRows; ++i, dst += kUnit) {
      std::memcpy(dst, rows[i] + off + u * kUnit, kUnit);
    }
  }
  return dst;
}

}  // namespace

void PackRows(DType type, const uint8_t* src, int64_t rows, int64_t cols,
              uint8_t* dst) {
  const Layout l = LayoutOf(type);
  const int64_t bb = l.block_bytes(), nb = cols / l.block_elems;
  const int64_t row_bytes = nb * bb;
  for (int64_t g = 0; g < rows; g += kPackRows) {
    const uint8_t* s = src + g * row_bytes;
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* blk[kPackRows];
      for (int i = 0; i < kPackRows; ++i) blk[i] = s + i * row_bytes + b * bb;
      for (int f = 0; f < l.nfields; ++f) {
        const Field& fd = l.fields[f];
        dst = fd.unit == 2 ? PackField<2>(blk, fd.src, fd.bytes, dst)
                           : PackField<4>(blk, fd.src, fd.bytes, dst);
      }
    }
  }
}

void UnpackRow(DType type, const uint8_t* group, int i, int64_t cols,
               uint8_t* out) {
  const Layout l = LayoutOf(type);
  const int64_t bb = l.block_bytes(), nb = cols / l.block_elems;
  for (int64_t b = 0; b < nb; ++b) {
    CopyRowBlock(l, i, false, out + b * bb,
                 const_cast<uint8_t*>(group + b * kPackRows * bb));
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

void GemmQ4_Kx8(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
                const uint8_t* a, int64_t a_stride, int64_t n, float* y,
                int64_t ldy) {
  GemmPacked(DType::kQ4_K, w, row_bytes, rows, cols, a, a_stride, n, y, ldy);
}

void GemmQ6_Kx8(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
                const uint8_t* a, int64_t a_stride, int64_t n, float* y,
                int64_t ldy) {
  GemmPacked(DType::kQ6_K, w, row_bytes, rows, cols, a, a_stride, n, y, ldy);
}

}  // namespace facet::kernels::ref
