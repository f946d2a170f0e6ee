// The 8-row interleaved ("packed") layouts of q4_0, q8_0, q4_K and q6_K
// weights, and the scalar reference of the kernels that read them.
//
// Rows are taken 8 at a time; a group of 8 rows keeps the byte count of the
// original 8 rows, block after block (32 columns each):
//   q4_0x8 block, 144 bytes: fp16 d[8] (row 0..7), then 4 vectors of 32
//          bytes; vector h holds bytes 4h..4h+3 of the 16 packed-nibble
//          bytes of row 0, then row 1, ... row 7 (low nibbles are columns
//          4h..4h+3, high nibbles columns 16+4h..16+4h+3).
//   q8_0x8 block, 272 bytes: fp16 d[8], then 8 vectors of 32 bytes; vector
//          h holds int8 columns 4h..4h+3 of row 0, then row 1, ... row 7.
//   q4_Kx8 super-block (256 columns), 1152 bytes: fp16 d[8], fp16
//          dmin[8], the 12 scale bytes as 3 words of 4 bytes (word k of
//          rows 0..7, then word k + 1), then 32 vectors of 32 bytes:
//          vector 8c + h holds bytes 32c + 4h..+3 of each row's 128 nibble
//          bytes (low nibbles: columns 64c + 4h.., high: 64c + 32 + 4h..).
//   q6_Kx8 super-block (256 columns), 1680 bytes: fp16 d[8]; the 16 int8
//          sub-block scales as 8 units of 16 bytes (unit u: scales 2u, 2u + 1
//          of row 0, then row 1, ... row 7, so that one sign-extending
//          16-to-32-byte widen gives row i the int16 pair (sc[2u], sc[2u+1])
//          in 32-bit lane i); then ql, 32 vectors of 32 bytes (vector v:
//          bytes 4v..4v+3 of each row's 128 ql bytes); then qh, 16 vectors
//          (vector w: bytes 4w..4w+3 of each row's 64 qh bytes). Byte order
//          inside a row's unit is ggml's, so column 128h + 32k + 4j + c
//          (h < 2, k < 4, j < 8, c < 4) is nibble k / 2 of ql vector
//          16h + 8 (k % 2) + j and bits 2k, 2k + 1 of qh vector 8h + j, byte
//          c of each row's 4, with sub-block scale 8h + 2k + j / 4.
// So one 32-byte load gives 8 rows x 4 columns: a SIMD kernel broadcasts 4
// activation bytes against it and gets one row per 32-bit lane, and the 8
// row scales come in one 16-byte load (no horizontal sums, one float
// multiply-add per 8 rows).
#ifndef FACET_KERNELS_REF_PACKED_REF_H_
#define FACET_KERNELS_REF_PACKED_REF_H_

#include <cstdint>

#include "kernels/dtype.h"

namespace facet::kernels::ref {

constexpr int64_t kPackRows = 8;

// True for q4_0 / q8_0 (cols a multiple of 32) and q4_K / q6_K (of 256)
// with rows a multiple of 8.
bool CanPack(DType type, int64_t rows, int64_t cols);
// Rewrites `rows` rows (row_bytes apart, CanPack true) from src into the
// packed layout at dst (the same number of bytes; src and dst must not
// overlap).
void PackRows(DType type, const uint8_t* src, int64_t rows, int64_t cols,
              uint8_t* dst);
// Row `i` (0..7) of the packed group at `group`, back in the original
// layout (RowBytes(type, cols) bytes at out).
void UnpackRow(DType type, const uint8_t* group, int i, int64_t cols,
               uint8_t* out);

// GemmFns over packed weights (w: first row of a group; rows a multiple of
// 8), with the same results as GemmQ4_0 / GemmQ8_0 / GemmQ4K / GemmQ6K on
// the unpacked rows.
void GemmQ4_0x8(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
                const uint8_t* a, int64_t a_stride, int64_t n, float* y,
                int64_t ldy);
void GemmQ8_0x8(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
                const uint8_t* a, int64_t a_stride, int64_t n, float* y,
                int64_t ldy);

void GemmQ4_Kx8(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
                const uint8_t* a, int64_t a_stride, int64_t n, float* y,
                int64_t ldy);
void GemmQ6_Kx8(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
                const uint8_t* a, int64_t a_stride, int64_t n, float* y,
                int64_t ldy);

}  // namespace facet::kernels::ref

#endif  // FACET_KERNELS_REF_PACKED_REF_H_
