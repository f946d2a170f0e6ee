#include "kernels/ref/quant.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "kernels/ref/fp16.h"

// Block layouts (all little-endian, byte offsets), from ggml-common.h:
//   q4_0  18 B: d@0 qs[16]@2
//   q4_1  20 B: d@0 m@2 qs[16]@4
//   q5_0  22 B: d@0 qh[4]@2 qs[16]@6
//   q5_1  24 B: d@0 m@2 qh[4]@4 qs[16]@8
//   q8_0  34 B: d@0 qs[32]@2 (int8)
//   q4_K 144 B: d@0 dmin@2 scales[12]@4 qs[128]@16
//   q5_K 176 B: d@0 dmin@2 scales[12]@4 qh[32]@16 qs[128]@48
//   q6_K 210 B: ql[128]@0 qh[64]@128 scales[16]@192 (int8) d@208

namespace facet::kernels {
namespace {

constexpr int kQK = 32;    // elements per legacy block
constexpr int kQKK = 256;  // elements per K-quant super-block

uint16_t LoadU16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
void StoreU16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v & 0xFF);
  p[1] = static_cast<uint8_t>(v >> 8);
}
float LoadHalf(const uint8_t* p) { return Fp16ToFp32(LoadU16(p)); }
// Stores f as fp16 and returns the value actually stored.
float StoreHalf(uint8_t* p, float f) {
  const uint16_t h = Fp32ToFp16(f);
  StoreU16(p, h);
  return Fp16ToFp32(h);
}
uint32_t LoadU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
void StoreU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

int NearestInt(float x) { return static_cast<int>(std::lrintf(x)); }

[[noreturn]] void Unsupported(const char* what, DType type) {
  std::fprintf(stderr, "facet: %s: unsupported type %s\n", what,
               DTypeName(type));
  std::abort();
}

// Sub-block j (0..7) 6-bit scale and min of a q4_K/q5_K super-block: j < 4
// live in the low 6 bits of bytes j and j+4; j >= 4 take their low 4 bits
// from byte j+4 and their top 2 bits from the spare top bits of bytes j-4
// (scale) and j (min).
void GetScaleMinK4(int j, const uint8_t* s, int* sc, int* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// Inverse of GetScaleMinK4; `s` must be zeroed first.
void PutScaleMinK4(int j, int sc, int m, uint8_t* s) {
  if (j < 4) {
    s[j] |= static_cast<uint8_t>(sc);
    s[j + 4] |= static_cast<uint8_t>(m);
  } else {
    s[j + 4] |= static_cast<uint8_t>((sc & 0xF) | ((m & 0xF) << 4));
    s[j - 4] |= static_cast<uint8_t>((sc >> 4) << 6);
    s[j] |= static_cast<uint8_t>((m >> 4) << 6);
  }
}

// ---------------------------------------------------------------------------
// Dequantization.

void DequantF16(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = Fp16ToFp32(LoadU16(src + 2 * i));
}

void DequantBf16(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = Bf16ToFp32(LoadU16(src + 2 * i));
}

void DequantQ8_0(const uint8_t* src, float* dst, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, src += 34, dst += kQK) {
    const float d = LoadHalf(src);
    for (int j = 0; j < kQK; ++j) {
      dst[j] = static_cast<int8_t>(src[2 + j]) * d;
    }
  }
}

void DequantQ4_0(const uint8_t* src, float* dst, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, src += 18, dst += kQK) {
    const float d = LoadHalf(src);
    const uint8_t* qs = src + 2;
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = ((qs[j] & 0xF) - 8) * d;
      dst[j + kQK / 2] = ((qs[j] >> 4) - 8) * d;
    }
  }
}

void DequantQ4_1(const uint8_t* src, float* dst, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, src += 20, dst += kQK) {
    const float d = LoadHalf(src);
    const float m = LoadHalf(src + 2);
    const uint8_t* qs = src + 4;
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = (qs[j] & 0xF) * d + m;
      dst[j + kQK / 2] = (qs[j] >> 4) * d + m;
    }
  }
}

// Shared by q5_0 (offset 16, no min) and q5_1 (offset 0, min m).
void DequantQ5Block(float d, float m, int offset, uint32_t qh,
                    const uint8_t* qs, float* dst, bool has_min) {
  for (int j = 0; j < kQK / 2; ++j) {
    const int q0 = (qs[j] & 0xF) | (((qh >> j) & 1) << 4);
    const int q1 = (qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
    if (has_min) {
      dst[j] = q0 * d + m;
      dst[j + kQK / 2] = q1 * d + m;
    } else {
      dst[j] = (q0 - offset) * d;
      dst[j + kQK / 2] = (q1 - offset) * d;
    }
  }
}

void DequantQ5_0(const uint8_t* src, float* dst, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, src += 22, dst += kQK) {
    DequantQ5Block(LoadHalf(src), 0.0f, 16, LoadU32(src + 2), src + 6, dst,
                   /*has_min=*/false);
  }
}

void DequantQ5_1(const uint8_t* src, float* dst, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, src += 24, dst += kQK) {
    DequantQ5Block(LoadHalf(src), LoadHalf(src + 2), 0, LoadU32(src + 4),
                   src + 8, dst, /*has_min=*/true);
  }
}

// q4_K and q5_K share everything but the fifth bit; qh is null for q4_K.
// Each 64-element chunk c uses 32 bytes of qs: low nibbles are elements
// 64c..64c+31 (sub-block 2c), high nibbles 64c+32..64c+63 (sub-block 2c+1);
// their fifth bits are bits 2c and 2c+1 of qh[l].
void DequantKBlock(const uint8_t* hdr, const uint8_t* qh, const uint8_t* qs,
                   float* dst) {
  const float d = LoadHalf(hdr);
  const float dmin = LoadHalf(hdr + 2);
  const uint8_t* scales = hdr + 4;
  for (int c = 0; c < 4; ++c) {
    int sc, m;
    GetScaleMinK4(2 * c, scales, &sc, &m);
    const float d1 = d * sc, m1 = dmin * m;
    GetScaleMinK4(2 * c + 1, scales, &sc, &m);
    const float d2 = d * sc, m2 = dmin * m;
    const uint8_t* q = qs + 32 * c;
    for (int l = 0; l < 32; ++l) {
      const int hi = qh != nullptr ? ((qh[l] >> (2 * c)) & 1) << 4 : 0;
      *dst++ = d1 * ((q[l] & 0xF) + hi) - m1;
    }
    for (int l = 0; l < 32; ++l) {
      const int hi = qh != nullptr ? ((qh[l] >> (2 * c + 1)) & 1) << 4 : 0;
      *dst++ = d2 * ((q[l] >> 4) + hi) - m2;
    }
  }
}

void DequantQ4K(const uint8_t* src, float* dst, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, src += 144, dst += kQKK) {
    DequantKBlock(src, nullptr, src + 16, dst);
  }
}

void DequantQ5K(const uint8_t* src, float* dst, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, src += 176, dst += kQKK) {
    DequantKBlock(src, src + 16, src + 48, dst);
  }
}

// Each 128-element half h uses ql[64h..64h+63], qh[32h..32h+31] and
// scales[8h..8h+7]. For l < 32: element l takes the low nibble of ql[l],
// l+32 the low nibble of ql[l+32], l+64 the high nibble of ql[l], l+96 the
// high nibble of ql[l+32]; their top two bits are bits 0-1, 2-3, 4-5, 6-7 of
// qh[l]. One int8 scale per 16 elements.
void DequantQ6K(const uint8_t* src, float* dst, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, src += 210) {
    const float d = LoadHalf(src + 208);
    for (int h = 0; h < 2; ++h, dst += 128) {
      const uint8_t* ql = src + 64 * h;
      const uint8_t* qh = src + 128 + 32 * h;
      const int8_t* sc = reinterpret_cast<const int8_t*>(src + 192 + 8 * h);
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        dst[l] = d * sc[is + 0] * q1;
        dst[l + 32] = d * sc[is + 2] * q2;
        dst[l + 64] = d * sc[is + 4] * q3;
        dst[l + 96] = d * sc[is + 6] * q4;
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Quantization of the legacy formats: ggml's *_ref rounding.

void QuantF16(const float* x, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) StoreU16(dst + 2 * i, Fp32ToFp16(x[i]));
}

void QuantBf16(const float* x, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) StoreU16(dst + 2 * i, Fp32ToBf16(x[i]));
}

void QuantQ8_0(const float* x, uint8_t* dst, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQK, dst += 34) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    StoreHalf(dst, d);
    for (int j = 0; j < kQK; ++j) {
      dst[2 + j] =
          static_cast<uint8_t>(static_cast<int8_t>(std::roundf(x[j] * id)));
    }
  }
}

// The signed value of largest magnitude (the first one on ties).
float SignedAbsMax(const float* x, int n) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

void MinMax(const float* x, int n, float* mn, float* mx) {
  *mn = x[0];
  *mx = x[0];
  for (int j = 1; j < n; ++j) {
    *mn = std::min(*mn, x[j]);
    *mx = std::max(*mx, x[j]);
  }
}

void QuantQ4_0(const float* x, uint8_t* dst, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQK, dst += 18) {
    const float d = SignedAbsMax(x, kQK) / -8;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    StoreHalf(dst, d);
    for (int j = 0; j < kQK / 2; ++j) {
      const int q0 =
          std::min(15, static_cast<int>(static_cast<int8_t>(x[j] * id + 8.5f)));
      const int q1 = std::min(
          15,
          static_cast<int>(static_cast<int8_t>(x[j + kQK / 2] * id + 8.5f)));
      dst[2 + j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void QuantQ4_1(const float* x, uint8_t* dst, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQK, dst += 20) {
    float mn, mx;
    MinMax(x, kQK, &mn, &mx);
    const float d = (mx - mn) / 15;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    StoreHalf(dst, d);
    StoreHalf(dst + 2, mn);
    for (int j = 0; j < kQK / 2; ++j) {
      const int q0 = std::min(
          15, static_cast<int>(static_cast<int8_t>((x[j] - mn) * id + 0.5f)));
      const int q1 = std::min(15, static_cast<int>(static_cast<int8_t>(
                                      (x[j + kQK / 2] - mn) * id + 0.5f)));
      dst[4 + j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

// Packs 32 five-bit values into qh (4 bytes) and qs (16 bytes).
void PackQ5(const int* q, uint8_t* qh, uint8_t* qs) {
  uint32_t h = 0;
  for (int j = 0; j < kQK / 2; ++j) {
    const int q0 = q[j], q1 = q[j + kQK / 2];
    qs[j] = static_cast<uint8_t>((q0 & 0xF) | ((q1 & 0xF) << 4));
    h |= static_cast<uint32_t>((q0 >> 4) & 1) << j;
    h |= static_cast<uint32_t>((q1 >> 4) & 1) << (j + kQK / 2);
  }
  StoreU32(qh, h);
}

void QuantQ5_0(const float* x, uint8_t* dst, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQK, dst += 22) {
    const float d = SignedAbsMax(x, kQK) / -16;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    StoreHalf(dst, d);
    int q[kQK];
    for (int j = 0; j < kQK; ++j) {
      q[j] = std::min(31,
                      static_cast<int>(static_cast<int8_t>(x[j] * id + 16.5f)));
    }
    PackQ5(q, dst + 2, dst + 6);
  }
}

void QuantQ5_1(const float* x, uint8_t* dst, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQK, dst += 24) {
    float mn, mx;
    MinMax(x, kQK, &mn, &mx);
    const float d = (mx - mn) / 31;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    StoreHalf(dst, d);
    StoreHalf(dst + 2, mn);
    int q[kQK];
    for (int j = 0; j < kQK; ++j) {
      // (x - min) * id <= 31 + rounding, so this never exceeds 31.
      q[j] = std::min(
          31, static_cast<int>(static_cast<uint8_t>((x[j] - mn) * id + 0.5f)));
    }
    PackQ5(q, dst + 4, dst + 8);
  }
}

// ---------------------------------------------------------------------------
// Quantization of the K formats (simplified ggml make_qkx2_quants /
// make_qx_quants).

// Fits x[0..n) ~= scale * L - offset with integer L in [0, nmax] and
// offset >= 0, weighting element i by av + |x_i|. Tries a few grid steps
// around the plain min/max fit and refines each by weighted least squares.
float FitAffine(const float* x, int n, int nmax, float* offset) {
  float mn, mx;
  MinMax(x, n, &mn, &mx);
  mn = std::min(mn, 0.0f);
  if (mx <= mn) {
    *offset = -mn;
    return 0.0f;
  }
  float sum_x2 = 0.0f;
  for (int i = 0; i < n; ++i) sum_x2 += x[i] * x[i];
  const float av = std::sqrt(sum_x2 / n);
  float w[kQKK / 8];
  float sum_w = 0.0f, sum_x = 0.0f;
  for (int i = 0; i < n; ++i) {
    w[i] = av + std::fabs(x[i]);
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  auto error = [&](float scale, float min, float iscale) {
    float err = 0.0f;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(NearestInt(iscale * (x[i] - min)), 0, nmax);
      const float diff = scale * l + min - x[i];
      err += w[i] * diff * diff;
    }
    return err;
  };
  float best_scale = (mx - mn) / nmax;
  float best_min = mn;
  float best_err = error(best_scale, best_min, 1.0f / best_scale);
  for (int step = 0; step <= 20; ++step) {
    const float iscale = (nmax - 1.0f + 0.1f * step) / (mx - mn);
    float sum_l = 0.0f, sum_l2 = 0.0f, sum_xl = 0.0f;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(NearestInt(iscale * (x[i] - mn)), 0, nmax);
      sum_l += w[i] * l;
      sum_l2 += w[i] * l * l;
      sum_xl += w[i] * l * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det <= 0.0f) continue;
    float scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (min > 0.0f) {
      min = 0.0f;
      scale = sum_xl / sum_l2;
    }
    if (scale <= 0.0f) continue;
    const float err = error(scale, min, 1.0f / scale);
    if (err < best_err) {
      best_err = err;
      best_scale = scale;
      best_min = min;
    }
  }
  *offset = -best_min;
  return best_scale;
}

// Fits x[0..16) ~= scale * L with integer L in [-32, 31] (weights x^2);
// scale may be negative so the largest magnitude can map to -32.
float FitSymmetric(const float* x, int n) {
  const float max = SignedAbsMax(x, n);
  if (max == 0.0f) return 0.0f;
  float best_scale = 0.0f, best = 0.0f;  // best = sumlx^2 / suml2
  for (int step = -9; step <= 9; ++step) {
    const float iscale = -(32 + 0.1f * step) / max;
    float sumlx = 0.0f, suml2 = 0.0f;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(NearestInt(iscale * x[i]), -32, 31);
      const float w = x[i] * x[i];
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0.0f && sumlx * sumlx > best * suml2) {
      best_scale = sumlx / suml2;
      best = best_scale * sumlx;
    }
  }
  return best_scale;
}

// One q4_K (qh null) or q5_K super-block.
void QuantKBlock(const float* x, uint8_t* hdr, uint8_t* qh, uint8_t* qs) {
  const int nmax = qh != nullptr ? 31 : 15;
  float scales[8], offsets[8];
  float max_scale = 0.0f, max_offset = 0.0f;
  for (int j = 0; j < 8; ++j) {
    scales[j] = FitAffine(x + 32 * j, 32, nmax, &offsets[j]);
    max_scale = std::max(max_scale, scales[j]);
    max_offset = std::max(max_offset, offsets[j]);
  }
  const float inv_scale = max_scale > 0.0f ? 63 / max_scale : 0.0f;
  const float inv_offset = max_offset > 0.0f ? 63 / max_offset : 0.0f;
  uint8_t* packed = hdr + 4;
  std::memset(packed, 0, 12);
  int ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    ls[j] = std::clamp(NearestInt(inv_scale * scales[j]), 0, 63);
    lm[j] = std::clamp(NearestInt(inv_offset * offsets[j]), 0, 63);
    PutScaleMinK4(j, ls[j], lm[j], packed);
  }
  const float d = StoreHalf(hdr, max_scale / 63);
  const float dmin = StoreHalf(hdr + 2, max_offset / 63);
  int q[kQKK];
  for (int j = 0; j < 8; ++j) {
    const float dl = d * ls[j], dm = dmin * lm[j];
    for (int i = 0; i < 32; ++i) {
      q[32 * j + i] =
          dl != 0.0f
              ? std::clamp(NearestInt((x[32 * j + i] + dm) / dl), 0, nmax)
              : 0;
    }
  }
  if (qh != nullptr) std::memset(qh, 0, 32);
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      const int q0 = q[64 * c + l], q1 = q[64 * c + 32 + l];
      qs[32 * c + l] = static_cast<uint8_t>((q0 & 0xF) | ((q1 & 0xF) << 4));
      if (qh != nullptr) {
        qh[l] |= static_cast<uint8_t>(((q0 >> 4) << (2 * c)) |
                                      ((q1 >> 4) << (2 * c + 1)));
      }
    }
  }
}

void QuantQ4K(const float* x, uint8_t* dst, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQKK, dst += 144) {
    QuantKBlock(x, dst, nullptr, dst + 16);
  }
}

void QuantQ5K(const float* x, uint8_t* dst, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQKK, dst += 176) {
    QuantKBlock(x, dst, dst + 16, dst + 48);
  }
}

void QuantQ6K(const float* x, uint8_t* dst, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQKK, dst += 210) {
    float scales[16];
    float max_scale = 0.0f, max_abs = 0.0f;
    for (int ib = 0; ib < 16; ++ib) {
      scales[ib] = FitSymmetric(x + 16 * ib, 16);
      if (std::fabs(scales[ib]) > max_abs) {
        max_abs = std::fabs(scales[ib]);
        max_scale = scales[ib];
      }
    }
    int8_t* sc = reinterpret_cast<int8_t*>(dst + 192);
    float d = 0.0f;
    if (max_abs == 0.0f) {
      std::memset(sc, 0, 16);
      StoreU16(dst + 208, 0);
    } else {
      const float iscale = -128 / max_scale;
      for (int ib = 0; ib < 16; ++ib) {
        sc[ib] = static_cast<int8_t>(
            std::clamp(NearestInt(iscale * scales[ib]), -128, 127));
      }
      d = StoreHalf(dst + 208, 1 / iscale);
    }
    uint8_t l6[kQKK];
    for (int ib = 0; ib < 16; ++ib) {
      const float dl = d * sc[ib];
      for (int i = 0; i < 16; ++i) {
        const int l = dl != 0.0f
                          ? std::clamp(NearestInt(x[16 * ib + i] / dl), -32, 31)
                          : 0;
        l6[16 * ib + i] = static_cast<uint8_t>(l + 32);
      }
    }
    for (int h = 0; h < 2; ++h) {
      uint8_t* ql = dst + 64 * h;
      uint8_t* qh = dst + 128 + 32 * h;
      const uint8_t* L = l6 + 128 * h;
      for (int l = 0; l < 32; ++l) {
        ql[l] = static_cast<uint8_t>((L[l] & 0xF) | ((L[l + 64] & 0xF) << 4));
        ql[l + 32] =
            static_cast<uint8_t>((L[l + 32] & 0xF) | ((L[l + 96] & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((L[l] >> 4) | ((L[l + 32] >> 4) << 2) |
                                     ((L[l + 64] >> 4) << 4) |
                                     ((L[l + 96] >> 4) << 6));
      }
    }
  }
}

}  // namespace

int64_t RowBytes(DType type, int64_t n) {
  const DTypeInfo* info = GetDTypeInfo(type);
  if (info == nullptr) Unsupported("RowBytes", type);
  return n / info->block_elems * info->block_bytes;
}

void DequantizeRow(DType type, const void* src, float* dst, int64_t n) {
  const uint8_t* s = static_cast<const uint8_t*>(src);
  switch (type) {
    case DType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::kF16:
      return DequantF16(s, dst, n);
    case DType::kBF16:
      return DequantBf16(s, dst, n);
    case DType::kQ8_0:
      return DequantQ8_0(s, dst, n / kQK);
    case DType::kQ4_0:
      return DequantQ4_0(s, dst, n / kQK);
    case DType::kQ4_1:
      return DequantQ4_1(s, dst, n / kQK);
    case DType::kQ5_0:
      return DequantQ5_0(s, dst, n / kQK);
    case DType::kQ5_1:
      return DequantQ5_1(s, dst, n / kQK);
    case DType::kQ4_K:
      return DequantQ4K(s, dst, n / kQKK);
    case DType::kQ5_K:
      return DequantQ5K(s, dst, n / kQKK);
    case DType::kQ6_K:
      return DequantQ6K(s, dst, n / kQKK);
    default:
      Unsupported("DequantizeRow", type);
  }
}

void QuantizeRow(DType type, const float* src, void* dst, int64_t n) {
  uint8_t* d = static_cast<uint8_t*>(dst);
  switch (type) {
    case DType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::kF16:
      return QuantF16(src, d, n);
    case DType::kBF16:
      return QuantBf16(src, d, n);
    case DType::kQ8_0:
      return QuantQ8_0(src, d, n / kQK);
    case DType::kQ4_0:
      return QuantQ4_0(src, d, n / kQK);
    case DType::kQ4_1:
      return QuantQ4_1(src, d, n / kQK);
    case DType::kQ5_0:
      return QuantQ5_0(src, d, n / kQK);
    case DType::kQ5_1:
      return QuantQ5_1(src, d, n / kQK);
    case DType::kQ4_K:
      return QuantQ4K(src, d, n / kQKK);
    case DType::kQ5_K:
      return QuantQ5K(src, d, n / kQKK);
    case DType::kQ6_K:
      return QuantQ6K(src, d, n / kQKK);
    default:
      Unsupported("QuantizeRow", type);
  }
}

}  // namespace facet::kernels
