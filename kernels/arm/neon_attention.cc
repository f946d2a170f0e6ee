// Armv8 NEON attention tile (kernels.h AttendFn) and the KV cache
// widening for it (LoadKvFn); compiled with -march=armv8-a
// -ffp-contract=off like neon_ops.cc.
//
// Both products of the tile are register tiles, as in the AVX-512 one
// (kernels/x86/avx512_attention_impl.inc), sized for 32 NEON registers:
//   scores: R queries x J keys (4 x 4, or 1-2 x 8 so that a lone query
//           still has 8 independent FMA chains), one float32x4 per pair;
//   values: R queries x 16 (or 32) columns, each value row loaded once per
//           R queries and the R weights of a key taken from one vector by
//           lane (the weights are stored key-major for that).
// Every score is the same chain whatever the tile: lane l sums columns
// c = l mod 4 in order (zeros past d), then (l0 + l1) + (l2 + l3). Every
// output element is acc * corr, then one fma per key in key order. So a
// query row gives the same bits whatever nq and its place in the call, and
// results depend only on how positions are cut into tiles.
#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/arm/arm_ops.h"
#include "kernels/arm/neon_exp.h"

namespace facet::kernels::neon {
namespace {

constexpr int kLd = kAttnTile;  // floats per score row
static_assert(kLd % 8 == 0, "key blocks of 8 must fit a score row");

// FPCR.FZ (flush-to-zero) for the span of the tile, as
// kernels/x86/flush_denormals.h does with MXCSR: weights near e^-87 times
// small values are denormals, which many Arm cores handle slowly, and such
// terms change a sum that holds a weight of 1 by under 1e-37. The
// "memory" clobbers keep the tile's loads and stores between the two
// writes.
class FlushToZero {
 public:
  FlushToZero() {
    asm volatile("mrs %0, fpcr" : "=r"(saved_));
    if ((saved_ & kFz) == 0) {
      asm volatile("msr fpcr, %0" : : "r"(saved_ | kFz) : "memory");
    }
  }
  ~FlushToZero() {
    if ((saved_ & kFz) == 0) {
      asm volatile("msr fpcr, %0" : : "r"(saved_) : "memory");
    }
  }
  FlushToZero(const FlushToZero&) = delete;
  FlushToZero& operator=(const FlushToZero&) = delete;

 private:
  static constexpr uint64_t kFz = uint64_t{1} << 24;  // FPCR.FZ
  uint64_t saved_;
};

// Columns c .. c + 3 of row p, zeros past d (their products add nothing).
inline float32x4_t LoadTail(const float* p, int64_t c, int64_t d) {
  float t[4] = {0.f, 0.f, 0.f, 0.f};
  for (int64_t i = c; i < d; ++i) t[i - c] = p[i];
  return vld1q_f32(t);
}

// s[r * kLd + j0 + j] = scale * dot(q_r, k_j) for the R query rows qr[]
// and J key rows kr[] (the last key may repeat to fill J; all J lanes are
// stored, s has room, and the softmax reads only count of them).
template <int R, int J>
void Scores(const float* const* qr, const float* const* kr, int64_t d,
            float scale, float* s, int j0) {
  float32x4_t acc[R][J];
  for (int r = 0; r < R; ++r) {
    for (int j = 0; j < J; ++j) acc[r][j] = vdupq_n_f32(0.f);
  }
  int64_t c = 0;
  for (; c + 4 <= d; c += 4) {
    float32x4_t kv[J];
    for (int j = 0; j < J; ++j) kv[j] = vld1q_f32(kr[j] + c);
    for (int r = 0; r < R; ++r) {
      const float32x4_t qv = vld1q_f32(qr[r] + c);
      for (int j = 0; j < J; ++j) acc[r][j] = vfmaq_f32(acc[r][j], qv, kv[j]);
    }
  }
  if (c < d) {
    float32x4_t kv[J];
    for (int j = 0; j < J; ++j) kv[j] = LoadTail(kr[j], c, d);
    for (int r = 0; r < R; ++r) {
      const float32x4_t qv = LoadTail(qr[r], c, d);
      for (int j = 0; j < J; ++j) acc[r][j] = vfmaq_f32(acc[r][j], qv, kv[j]);
    }
  }
  // vpaddq(a, b) = [a0 + a1, a2 + a3, b0 + b1, b2 + b3]: twice gives 4
  // keys' lane sums, each (l0 + l1) + (l2 + l3).
  for (int r = 0; r < R; ++r) {
    for (int j = 0; j < J; j += 4) {
      const float32x4_t sum =
          vpaddq_f32(vpaddq_f32(acc[r][j], acc[r][j + 1]),
                     vpaddq_f32(acc[r][j + 2], acc[r][j + 3]));
      vst1q_f32(s + r * kLd + j0 + j, vmulq_n_f32(sum, scale));
    }
  }
}

// Scores of R query rows (q, q_stride apart) against the count keys.
template <int R, int J>
void ScoreRows(const float* q, int64_t q_stride, const float* const* k,
               int count, int64_t d, float scale, float* s) {
  const float* qr[R];
  for (int r = 0; r < R; ++r) qr[r] = q + r * q_stride;
  for (int j0 = 0; j0 < count; j0 += J) {
    const float* kr[J];
    for (int j = 0; j < J; ++j) kr[j] = k[std::min(j0 + j, count - 1)];
    Scores<R, J>(qr, kr, d, scale, s, j0);
  }
}

// a[r][u] = fma(v[u], lane r of p, a[r][u]) for r < R (lane numbers must be
// constants, hence the recursion).
template <int R, int U, int kRow = 0>
inline void FmaLanes(float32x4_t (&a)[R][U], const float32x4_t (&v)[U],
                     float32x4_t p) {
  if constexpr (kRow < R) {
    for (int u = 0; u < U; ++u) {
      a[kRow][u] = vfmaq_laneq_f32(a[kRow][u], v[u], p, kRow);
    }
    FmaLanes<R, U, kRow + 1>(a, v, p);
  }
}

// acc_r[c0 .. c0 + 4U) = acc_r * corr_r + sum_j p_rj v_j for R queries;
// pt[4 * j + r] = p_rj.
template <int R, int U>
void Values(const float* pt, const float* const* v, int count, int64_t c0,
            const float* corr, float* acc, int64_t d) {
  float32x4_t a[R][U];
  for (int r = 0; r < R; ++r) {
    for (int u = 0; u < U; ++u) {
      a[r][u] = vmulq_n_f32(vld1q_f32(acc + r * d + c0 + 4 * u), corr[r]);
    }
  }
  for (int j = 0; j < count; ++j) {
    float32x4_t vj[U];
    for (int u = 0; u < U; ++u) vj[u] = vld1q_f32(v[j] + c0 + 4 * u);
    FmaLanes<R, U>(a, vj, vld1q_f32(pt + 4 * j));
  }
  for (int r = 0; r < R; ++r) {
    for (int u = 0; u < U; ++u) vst1q_f32(acc + r * d + c0 + 4 * u, a[r][u]);
  }
}

// Columns [c0, c1) (the last d % 4) of R queries, one at a time with the
// vector lanes' operations: a product, then one fma per key.
template <int R>
void ValuesTail(const float* pt, const float* const* v, int count, int64_t c0,
                int64_t c1, const float* corr, float* acc, int64_t d) {
  for (int r = 0; r < R; ++r) {
    for (int64_t c = c0; c < c1; ++c) {
      float a = acc[r * d + c] * corr[r];
      for (int j = 0; j < count; ++j) a = std::fma(v[j][c], pt[4 * j + r], a);
      acc[r * d + c] = a;
    }
  }
}

// All d columns of R queries: wide tiles (32 columns for 1-2 queries, 16
// for 3-4, within the 32 registers), then 4 columns, then single ones.
template <int R>
void ValueRows(const float* pt, const float* const* v, int count,
               const float* corr, float* acc, int64_t d) {
  constexpr int kU = R <= 2 ? 8 : 4;
  int64_t c = 0;
  for (; c + 4 * kU <= d; c += 4 * kU) {
    Values<R, kU>(pt, v, count, c, corr, acc, d);
  }
  for (; c + 4 <= d; c += 4) Values<R, 1>(pt, v, count, c, corr, acc, d);
  ValuesTail<R>(pt, v, count, c, d, corr, acc, d);
}

}  // namespace

void AttendTile(const float* q, int64_t q_stride, int nq, const float* const* k,
                const float* const* v, int count, int64_t d, float scale,
                float* m, float* l, float* acc) {
  // Scores of keys past count (the last key repeated to fill a block of 4
  // or 8) land in the row's floats past count: kLd is a multiple of 8.
  alignas(16) float s[kAttnMaxQ * kLd];
  const FlushToZero ftz;
  int i = 0;
  for (; i + 4 <= nq; i += 4) {
    ScoreRows<4, 4>(q + i * q_stride, q_stride, k, count, d, scale,
                    s + i * kLd);
  }
  switch (nq - i) {
    case 3:
      ScoreRows<3, 4>(q + i * q_stride, q_stride, k, count, d, scale,
                      s + i * kLd);
      break;
    case 2:
      ScoreRows<2, 8>(q + i * q_stride, q_stride, k, count, d, scale,
                      s + i * kLd);
      break;
    case 1:
      ScoreRows<1, 8>(q + i * q_stride, q_stride, k, count, d, scale,
                      s + i * kLd);
      break;
    default:
      break;
  }
  // Online softmax: rescale what came before by e^(m_old - m_new). The
  // weights go key-major into pt, 4 queries per block, for Values.
  alignas(16) float pt[kAttnMaxQ * kLd];
  float corr[kAttnMaxQ];
  const int padded = (count + 3) / 4 * 4;
  for (i = 0; i < nq; ++i) {
    float* si = s + i * kLd;
    for (int j = count; j < padded; ++j) si[j] = -INFINITY;  // weigh 0
    float32x4_t vmax = vdupq_n_f32(-INFINITY);
    for (int j = 0; j < padded; j += 4) {
      vmax = vmaxq_f32(vmax, vld1q_f32(si + j));
    }
    const float m_new = std::max(m[i], vmaxvq_f32(vmax));
    corr[i] = std::exp(m[i] - m_new);
    const float32x4_t vm = vdupq_n_f32(m_new);
    float32x4_t sum = vdupq_n_f32(0.f);
    float* pti = pt + (i / 4) * 4 * kLd + i % 4;
    for (int j = 0; j < padded; j += 4) {
      const float32x4_t p = SoftmaxWeight(vsubq_f32(vld1q_f32(si + j), vm));
      sum = vaddq_f32(sum, p);
      pti[4 * j] = vgetq_lane_f32(p, 0);
      pti[4 * j + 4] = vgetq_lane_f32(p, 1);
      pti[4 * j + 8] = vgetq_lane_f32(p, 2);
      pti[4 * j + 12] = vgetq_lane_f32(p, 3);
    }
    m[i] = m_new;
    l[i] = l[i] * corr[i] + vaddvq_f32(sum);
  }
  // The lanes of a short last block that no query owns: read, never used.
  for (; i % 4 != 0; ++i) {
    float* pti = pt + (i / 4) * 4 * kLd + i % 4;
    for (int j = 0; j < count; ++j) pti[4 * j] = 0.f;
  }
  // Weighted values, 4 queries at a time.
  for (i = 0; i + 4 <= nq; i += 4) {
    ValueRows<4>(pt + i * kLd, v, count, corr + i, acc + i * d, d);
  }
  switch (nq - i) {
    case 3:
      ValueRows<3>(pt + i * kLd, v, count, corr + i, acc + i * d, d);
      break;
    case 2:
      ValueRows<2>(pt + i * kLd, v, count, corr + i, acc + i * d, d);
      break;
    case 1:
      ValueRows<1>(pt + i * kLd, v, count, corr + i, acc + i * d, d);
      break;
    default:
      break;
  }
}

// vcvt_f32_f16 (fcvtl, base Armv8) is exact for every finite half.
void LoadKvF16(const uint8_t* const* rows, int count, int64_t d, float* dst) {
  for (int j = 0; j < count; ++j, dst += d) {
    const uint16_t* src = reinterpret_cast<const uint16_t*>(rows[j]);
    int64_t c = 0;
    for (; c + 8 <= d; c += 8) {
      const uint16x8_t h = vld1q_u16(src + c);
      vst1q_f32(dst + c, vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(h))));
      vst1q_f32(dst + c + 4, vcvt_high_f32_f16(vreinterpretq_f16_u16(h)));
    }
    for (; c < d; ++c) {
      uint16_t h;
      std::memcpy(&h, src + c, 2);
      dst[c] =
          vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0);
    }
  }
}

// scale * q is exact (an 11-bit significand times an 8-bit integer), so
// the widened product equals the reference's.
void LoadKvQ8_0(const uint8_t* const* rows, int count, int64_t d, float* dst) {
  for (int j = 0; j < count; ++j, dst += d) {
    const uint8_t* b = rows[j];
    for (int64_t c0 = 0; c0 < d; c0 += 32, b += 34) {
      uint16_t h;
      std::memcpy(&h, b, 2);
      const float scale =
          vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0);
      for (int u = 0; u < 2; ++u) {
        const int8x16_t q =
            vld1q_s8(reinterpret_cast<const int8_t*>(b + 2) + 16 * u);
        const int16x8_t lo = vmovl_s8(vget_low_s8(q));
        const int16x8_t hi = vmovl_high_s8(q);
        const int32x4_t w[4] = {vmovl_s16(vget_low_s16(lo)), vmovl_high_s16(lo),
                                vmovl_s16(vget_low_s16(hi)),
                                vmovl_high_s16(hi)};
        for (int k = 0; k < 4; ++k) {
          vst1q_f32(dst + c0 + 16 * u + 4 * k,
                    vmulq_n_f32(vcvtq_f32_s32(w[k]), scale));
        }
      }
    }
  }
}

}  // namespace facet::kernels::neon
