#include "kernels/ref/matmul_ref.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "kernels/ref/fp16.h"

// Weight block layouts: see kernels/ref/quant.cc. Activation row layouts:
// see ActType in kernels/kernels.h.

namespace facet::kernels::ref {
namespace {

constexpr int kQK = 32;
constexpr int kQKK = 256;

uint16_t LoadU16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
uint32_t LoadU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
double Half(const uint8_t* p) { return Fp16ToFp32(LoadU16(p)); }

// A q8_0 activation row: qs, then d[nb], then sum[nb].
struct ActQ8_0 {
  const int8_t* qs;
  const float* d;
  const int32_t* sum;
  ActQ8_0(const uint8_t* a, int64_t cols)
      : qs(reinterpret_cast<const int8_t*>(a)),
        d(reinterpret_cast<const float*>(a + cols)),
        sum(reinterpret_cast<const int32_t*>(a + cols + cols / kQK * 4)) {}
};

// A q8_K activation row: qs, then d[nb], then bsums[16 nb].
struct ActQ8_K {
  const int8_t* qs;
  const float* d;
  const int16_t* bsums;
  ActQ8_K(const uint8_t* a, int64_t cols)
      : qs(reinterpret_cast<const int8_t*>(a)),
        d(reinterpret_cast<const float*>(a + cols)),
        bsums(reinterpret_cast<const int16_t*>(a + cols + cols / kQKK * 4)) {}
};

int64_t IntDot(const int* w, const int8_t* x, int n) {
  int64_t s = 0;
  for (int i = 0; i < n; ++i) s += static_cast<int64_t>(w[i]) * x[i];
  return s;
}

// Integer weights of one legacy block, element order.
void Q4Ints(const uint8_t* qs, int* q) {
  for (int j = 0; j < kQK / 2; ++j) {
    q[j] = qs[j] & 0xF;
    q[j + kQK / 2] = qs[j] >> 4;
  }
}
void Q5Ints(uint32_t qh, const uint8_t* qs, int* q) {
  Q4Ints(qs, q);
  for (int j = 0; j < kQK; ++j) q[j] |= static_cast<int>((qh >> j) & 1) << 4;
}

void GetScaleMinK4(int j, const uint8_t* s, int* sc, int* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// Integer weights (0..15 or 0..31) of one q4_K / q5_K super-block.
void KInts(const uint8_t* qh, const uint8_t* qs, int* q) {
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      int lo = qs[32 * c + l] & 0xF, hi = qs[32 * c + l] >> 4;
      if (qh != nullptr) {
        lo |= ((qh[l] >> (2 * c)) & 1) << 4;
        hi |= ((qh[l] >> (2 * c + 1)) & 1) << 4;
      }
      q[64 * c + l] = lo;
      q[64 * c + 32 + l] = hi;
    }
  }
}

double DotF32(const uint8_t* w, const uint8_t* a, int64_t cols) {
  const float* wf = reinterpret_cast<const float*>(w);
  const float* xf = reinterpret_cast<const float*>(a);
  double s = 0;
  for (int64_t i = 0; i < cols; ++i) s += static_cast<double>(wf[i]) * xf[i];
  return s;
}

// f16 / bf16 weights against f32 activations.
double DotF16(const uint8_t* w, const uint8_t* a, int64_t cols) {
  const float* xf = reinterpret_cast<const float*>(a);
  double s = 0;
  for (int64_t i = 0; i < cols; ++i) {
    s += static_cast<double>(Fp16ToFp32(LoadU16(w + 2 * i))) * xf[i];
  }
  return s;
}

double DotBF16(const uint8_t* w, const uint8_t* a, int64_t cols) {
  const float* xf = reinterpret_cast<const float*>(a);
  double s = 0;
  for (int64_t i = 0; i < cols; ++i) {
    s += static_cast<double>(Bf16ToFp32(LoadU16(w + 2 * i))) * xf[i];
  }
  return s;
}

// Legacy 32-blocks: kind selects the block format.
enum class Legacy { kQ8_0, kQ4_0, kQ4_1, kQ5_0, kQ5_1 };

double DotLegacy(Legacy kind, const uint8_t* w, const uint8_t* a,
                 int64_t cols) {
  const ActQ8_0 x(a, cols);
  const int64_t nb = cols / kQK;
  double s = 0;
  int q[kQK];
  for (int64_t b = 0; b < nb; ++b) {
    const int8_t* xq = x.qs + b * kQK;
    double d = 0, m = 0;
    switch (kind) {
      case Legacy::kQ8_0: {
        const uint8_t* blk = w + b * 34;
        d = Half(blk);
        for (int j = 0; j < kQK; ++j) q[j] = static_cast<int8_t>(blk[2 + j]);
        break;
      }
      case Legacy::kQ4_0: {
        const uint8_t* blk = w + b * 18;
        d = Half(blk);
        Q4Ints(blk + 2, q);
        for (int j = 0; j < kQK; ++j) q[j] -= 8;
        break;
      }
      case Legacy::kQ4_1: {
        const uint8_t* blk = w + b * 20;
        d = Half(blk);
        m = Half(blk + 2);
        Q4Ints(blk + 4, q);
        break;
      }
      case Legacy::kQ5_0: {
        const uint8_t* blk = w + b * 22;
        d = Half(blk);
        Q5Ints(LoadU32(blk + 2), blk + 6, q);
        for (int j = 0; j < kQK; ++j) q[j] -= 16;
        break;
      }
      case Legacy::kQ5_1: {
        const uint8_t* blk = w + b * 24;
        d = Half(blk);
        m = Half(blk + 2);
        Q5Ints(LoadU32(blk + 4), blk + 8, q);
        break;
      }
    }
    const double dx = x.d[b];
    s += d * dx * static_cast<double>(IntDot(q, xq, kQK));
    if (m != 0) s += m * dx * x.sum[b];
  }
  return s;
}

double DotQ45K(const uint8_t* w, const uint8_t* a, int64_t cols, bool q5) {
  const ActQ8_K x(a, cols);
  const int64_t nb = cols / kQKK;
  const int64_t block_bytes = q5 ? 176 : 144;
  double s = 0;
  int q[kQKK];
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = w + b * block_bytes;
    const double d = Half(blk), dmin = Half(blk + 2);
    KInts(q5 ? blk + 16 : nullptr, q5 ? blk + 48 : blk + 16, q);
    const int8_t* xq = x.qs + b * kQKK;
    const int16_t* bs = x.bsums + b * 16;
    int64_t sum_q = 0, sum_m = 0;
    for (int j = 0; j < 8; ++j) {
      int sc, m;
      GetScaleMinK4(j, blk + 4, &sc, &m);
      sum_q += sc * IntDot(q + 32 * j, xq + 32 * j, 32);
      sum_m += m * (bs[2 * j] + bs[2 * j + 1]);
    }
    s += static_cast<double>(x.d[b]) *
         (d * static_cast<double>(sum_q) - dmin * static_cast<double>(sum_m));
  }
  return s;
}

double DotQ6K(const uint8_t* w, const uint8_t* a, int64_t cols) {
  const ActQ8_K x(a, cols);
  const int64_t nb = cols / kQKK;
  double s = 0;
  int q[kQKK];
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = w + b * 210;
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = blk + 64 * h;
      const uint8_t* qh = blk + 128 + 32 * h;
      int* o = q + 128 * h;
      for (int l = 0; l < 32; ++l) {
        o[l] = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        o[l + 32] = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        o[l + 64] = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        o[l + 96] = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      }
    }
    const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 192);
    const int8_t* xq = x.qs + b * kQKK;
    int64_t sum = 0;
    for (int j = 0; j < 16; ++j) {
      sum += sc[j] * IntDot(q + 16 * j, xq + 16 * j, 16);
    }
    s += static_cast<double>(x.d[b]) * Half(blk + 208) *
         static_cast<double>(sum);
  }
  return s;
}

template <DType kType>
void GemmLoop(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
              const uint8_t* a, int64_t a_stride, int64_t n, float* y,
              int64_t ldy) {
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t r = 0; r < rows; ++r) {
      y[t * ldy + r] = static_cast<float>(
          Dot(kType, w + r * row_bytes, a + t * a_stride, cols));
    }
  }
}

}  // namespace

// ggml's quantize_row_q8_0_ref, keeping d widened back from fp16 and the
// block sums.
void QuantizeActQ8_0(const float* x, uint8_t* a, int64_t cols) {
  const int64_t nb = cols / kQK;
  int8_t* qs = reinterpret_cast<int8_t*>(a);
  float* dd = reinterpret_cast<float*>(a + cols);
  int32_t* sums = reinterpret_cast<int32_t*>(a + cols + nb * 4);
  for (int64_t b = 0; b < nb; ++b, x += kQK, qs += kQK) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) {
      const float ax = std::fabs(x[j]);
      if (ax > amax) amax = ax;
    }
    const float d = amax / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    dd[b] = Fp16ToFp32(Fp32ToFp16(d));
    int32_t sum = 0;
    for (int j = 0; j < kQK; ++j) {
      qs[j] = static_cast<int8_t>(std::roundf(x[j] * id));
      sum += qs[j];
    }
    sums[b] = sum;
  }
}

// ggml's quantize_row_q8_K_ref (nearest_int is round-half-even, as lrintf
// in the default rounding mode).
void QuantizeActQ8_K(const float* x, uint8_t* a, int64_t cols) {
  const int64_t nb = cols / kQKK;
  int8_t* qs = reinterpret_cast<int8_t*>(a);
  float* dd = reinterpret_cast<float*>(a + cols);
  int16_t* bsums = reinterpret_cast<int16_t*>(a + cols + nb * 4);
  for (int64_t b = 0; b < nb; ++b, x += kQKK, qs += kQKK, bsums += 16) {
    float max = 0.0f, amax = 0.0f;
    for (int j = 0; j < kQKK; ++j) {
      const float ax = std::fabs(x[j]);
      if (ax > amax) {
        amax = ax;
        max = x[j];
      }
    }
    if (amax == 0.0f) {
      dd[b] = 0.0f;
      std::memset(qs, 0, kQKK);
      std::memset(bsums, 0, 16 * sizeof(int16_t));
      continue;
    }
    const float iscale = -127.f / max;
    for (int j = 0; j < kQKK; ++j) {
      const int v = static_cast<int>(std::lrintf(iscale * x[j]));
      qs[j] = static_cast<int8_t>(v < 127 ? v : 127);
    }
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += qs[16 * g + i];
      bsums[g] = static_cast<int16_t>(sum);
    }
    dd[b] = 1 / iscale;
  }
}

double Dot(DType type, const uint8_t* w, const uint8_t* a, int64_t cols) {
  switch (type) {
    case DType::kF32:
      return DotF32(w, a, cols);
    case DType::kF16:
      return DotF16(w, a, cols);
    case DType::kBF16:
      return DotBF16(w, a, cols);
    case DType::kQ8_0:
      return DotLegacy(Legacy::kQ8_0, w, a, cols);
    case DType::kQ4_0:
      return DotLegacy(Legacy::kQ4_0, w, a, cols);
    case DType::kQ4_1:
      return DotLegacy(Legacy::kQ4_1, w, a, cols);
    case DType::kQ5_0:
      return DotLegacy(Legacy::kQ5_0, w, a, cols);
    case DType::kQ5_1:
      return DotLegacy(Legacy::kQ5_1, w, a, cols);
    case DType::kQ4_K:
      return DotQ45K(w, a, cols, /*q5=*/false);
    case DType::kQ5_K:
      return DotQ45K(w, a, cols, /*q5=*/true);
    case DType::kQ6_K:
      return DotQ6K(w, a, cols);
    default:
      std::fprintf(stderr, "facet: ref::Dot: unsupported type %s\n",
                   DTypeName(type));
      std::abort();
  }
}

#define FACET_REF_GEMM(Name, Type)                                           \
  void Name(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols, \
            const uint8_t* a, int64_t a_stride, int64_t n, float* y,         \
            int64_t ldy) {                                                   \
    GemmLoop<Type>(w, row_bytes, rows, cols, a, a_stride, n, y, ldy);        \
  }
FACET_REF_GEMM(GemmF32, DType::kF32)
FACET_REF_GEMM(GemmF16, DType::kF16)
FACET_REF_GEMM(GemmBF16, DType::kBF16)
FACET_REF_GEMM(GemmQ8_0, DType::kQ8_0)
FACET_REF_GEMM(GemmQ4_0, DType::kQ4_0)
FACET_REF_GEMM(GemmQ4_1, DType::kQ4_1)
FACET_REF_GEMM(GemmQ5_0, DType::kQ5_0)
FACET_REF_GEMM(GemmQ5_1, DType::kQ5_1)
FACET_REF_GEMM(GemmQ4K, DType::kQ4_K)
FACET_REF_GEMM(GemmQ5K, DType::kQ5_K)
FACET_REF_GEMM(GemmQ6K, DType::kQ6_K)
#undef FACET_REF_GEMM

}  // namespace facet::kernels::ref
