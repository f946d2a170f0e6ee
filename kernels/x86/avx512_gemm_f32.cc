// AVX-512 GEMM kernels for f32 and bf16 weights, tiled for the encoders'
// large n (hundreds to thousands of patches or audio frames); GemmF32 and
// GemmBF16 fill the avx512 levels' f32 / bf16 slots (kernel_list.inc), the
// other two are alternatives bench/encoder_bench.cc measures
// (docs/encoders.md). Compiled with FACET_AVX512_FLAGS (-ffp-contract=off)
// plus -mavx512bf16, which only GemmBF16Dp's intrinsics use; it runs only
// where the CPU has AVX512-BF16.
//
//   GemmBF16    bf16 weights, f32 activations. Bit-identical to
//               avx2::GemmBF16 (the kernel every x86 level uses today):
//               each (row, token) pair keeps the same 8-lane accumulator,
//               the same fma order over the columns, the same horizontal
//               sum and scalar tail, so the goldens do not move. What
//               changes is the tiling: one zmm holds the 8-lane
//               accumulators of two rows for one token; a block of 8 rows
//               is widened to f32 once per call into an L1/L2-resident
//               panel (rows interleaved 8 columns at a time), and 4 row
//               pairs x 6 tokens = 24 accumulators run per tile: per 8
//               columns 4 panel loads and 6 broadcast loads feed 24 fmas,
//               where the AVX2 kernel spends 4 bf16 widenings (load, zero
//               extend, shift) and 2 loads on 8 fmas of 8 lanes. Below 16
//               tokens (decode GEMV) it widens on the fly instead, with the
//               same operations per pair, so GEMV and GEMM still agree.
//   GemmF32     f32 weights. Bit-identical to avx512::GemmF32 (DotF32 per
//               pair: two 16-lane accumulators over alternate 16-column
//               chunks, a masked tail, the same lane sum); tiles of 3 rows
//               x 3 tokens (9 pairs, 18 accumulators, 6 weight and 2
//               activation registers) instead of one dot product per pair,
//               so each loaded vector feeds 3 fmas instead of 1.
//   GemmF32x    f32 weights in avx2::GemmF32's order (bit-identical to
//               what AVX2 machines compute; the AVX-512 level's f32 results
//               would change to those): one 16-lane accumulator per pair,
//               tiles of 6 rows x 4 tokens.
//   GemmBF16Dp  bf16 weights against activations ROUNDED TO BF16, with
//               AVX512_BF16 vdpbf16ps (2 products per lane per
//               instruction, twice the f32 fma rate). Not bit-compatible:
//               the activation rounding is a real accuracy change.
//
// No templates or inline functions with external linkage from other
// headers are used (the linker could merge such copies with baseline
// ones); the scratch buffers are plain malloc'd memory.
// GCC 12's AVX-512 headers use self-initialized _mm512_undefined_*()
// values, which -W(maybe-)uninitialized reports at every inlined call.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace facet::kernels::avx512_gemm {
namespace {

inline int64_t MinI(int64_t a, int64_t b) { return a < b ? a : b; }

// A per-thread scratch buffer (64-byte aligned), grown on demand.
struct Scratch {
  void* p = nullptr;
  size_t cap = 0;
  ~Scratch() { std::free(p); }
  void* Get(size_t bytes) {
    if (bytes > cap) {
      std::free(p);
      cap = (bytes + 4095) / 4096 * 4096;
      p = std::aligned_alloc(64, cap);
    }
    return p;
  }
};
thread_local Scratch tls_panel;
thread_local Scratch tls_act;

// avx2_matmul_internal.h's Hsum, operation for operation.
inline float Hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Lanes 8-15.
inline __m256 High256(__m512 v) {
  return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
}

inline float Bf16One(const uint8_t* p) {
  const uint32_t u = static_cast<uint32_t>(p[0] | (p[1] << 8)) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// --- bf16 weights, f32 activations ----------------------------------------

constexpr int kPairs = 4;                    // row pairs per panel (8 rows)
constexpr int kTokens = 6;                   // tokens per tile
constexpr int64_t kChunkBytes = 512 * 1024;  // activations kept in L2

// Widens rows [0, nrows) (nrows <= 8; missing rows are zero) of 8-column
// groups [0, k8) into panel[(c * 4 + p) * 16 ...]: row 2p's 8 values then
// row 2p + 1's.
void PackPanel(const uint8_t* w, int64_t rb, int nrows, int64_t k8,
               float* panel) {
  for (int p = 0; p < kPairs; ++p) {
    const int r0 = 2 * p, r1 = 2 * p + 1;
    for (int64_t c = 0; c < k8; ++c) {
      const __m128i lo = r0 < nrows
                             ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(
                                   w + r0 * rb + 16 * c))
                             : _mm_setzero_si128();
      const __m128i hi = r1 < nrows
                             ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(
                                   w + r1 * rb + 16 * c))
                             : _mm_setzero_si128();
      const __m256i both =
          _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
      const __m512 f = _mm512_castsi512_ps(
          _mm512_slli_epi32(_mm512_cvtepu16_epi32(both), 16));
      _mm512_store_ps(panel + (c * kPairs + p) * 16, f);
    }
  }
}

// T tokens (activation rows x + j * xs) against one 8-row panel; writes
// the nrows valid rows of y (row r of token j at y[j * ldy + r]).
template <int T>
void TileBF16(const float* panel, int64_t k8, const uint8_t* w, int64_t rb,
              int nrows, int64_t cols, const float* x, int64_t xs, float* y,
              int64_t ldy) {
  __m512 acc[kPairs][T];
  for (int p = 0; p < kPairs; ++p) {
    for (int j = 0; j < T; ++j) acc[p][j] = _mm512_setzero_ps();
  }
  for (int64_t c = 0; c < k8; ++c) {
    const float* pc = panel + c * kPairs * 16;
    const __m512 w0 = _mm512_load_ps(pc);
    const __m512 w1 = _mm512_load_ps(pc + 16);
    const __m512 w2 = _mm512_load_ps(pc + 32);
    const __m512 w3 = _mm512_load_ps(pc + 48);
    for (int j = 0; j < T; ++j) {
      const __m512 xb =
          _mm512_broadcast_f32x8(_mm256_loadu_ps(x + j * xs + 8 * c));
      acc[0][j] = _mm512_fmadd_ps(w0, xb, acc[0][j]);
      acc[1][j] = _mm512_fmadd_ps(w1, xb, acc[1][j]);
      acc[2][j] = _mm512_fmadd_ps(w2, xb, acc[2][j]);
      acc[3][j] = _mm512_fmadd_ps(w3, xb, acc[3][j]);
    }
  }
  for (int p = 0; p < kPairs; ++p) {
    for (int j = 0; j < T; ++j) {
      for (int h = 0; h < 2; ++h) {
        const int r = 2 * p + h;
        if (r >= nrows) continue;
        const __m256 half =
            h == 0 ? _mm512_castps512_ps256(acc[p][j]) : High256(acc[p][j]);
        float s = Hsum8(half);
        const float* xj = x + j * xs;
        for (int64_t k = 8 * k8; k < cols; ++k) {
          s += Bf16One(w + r * rb + 2 * k) * xj[k];
        }
        y[j * ldy + r] = s;
      }
    }
  }
}

// The same tile for few tokens (GEMV, small n), widening the weights as it
// goes instead of into a panel: a panel per call would double the memory
// traffic of a memory-bound GEMV. Same operations per pair as TileBF16.
template <int T>
void TileBF16Direct(const uint8_t* w, int64_t rb, int nrows, int64_t cols,
                    const float* x, int64_t xs, float* y, int64_t ldy) {
  const int64_t k8 = cols / 8;
  __m512 acc[kPairs][T];
  for (int p = 0; p < kPairs; ++p) {
    for (int j = 0; j < T; ++j) acc[p][j] = _mm512_setzero_ps();
  }
  const uint8_t* row[8];
  for (int r = 0; r < 8; ++r) row[r] = w + (r < nrows ? r : 0) * rb;
  for (int64_t c = 0; c < k8; ++c) {
    __m512 wv[kPairs];
    for (int p = 0; p < kPairs; ++p) {
      const __m256i both = _mm256_inserti128_si256(
          _mm256_castsi128_si256(_mm_loadu_si128(
              reinterpret_cast<const __m128i*>(row[2 * p] + 16 * c))),
          _mm_loadu_si128(
              reinterpret_cast<const __m128i*>(row[2 * p + 1] + 16 * c)),
          1);
      wv[p] = _mm512_castsi512_ps(
          _mm512_slli_epi32(_mm512_cvtepu16_epi32(both), 16));
    }
    for (int j = 0; j < T; ++j) {
      const __m512 xb =
          _mm512_broadcast_f32x8(_mm256_loadu_ps(x + j * xs + 8 * c));
      for (int p = 0; p < kPairs; ++p) {
        acc[p][j] = _mm512_fmadd_ps(wv[p], xb, acc[p][j]);
      }
    }
  }
  for (int p = 0; p < kPairs; ++p) {
    for (int j = 0; j < T; ++j) {
      for (int h = 0; h < 2; ++h) {
        const int r = 2 * p + h;
        if (r >= nrows) continue;
        float s = Hsum8(h == 0 ? _mm512_castps512_ps256(acc[p][j])
                               : High256(acc[p][j]));
        const float* xj = x + j * xs;
        for (int64_t k = 8 * k8; k < cols; ++k) {
          s += Bf16One(w + r * rb + 2 * k) * xj[k];
        }
        y[j * ldy + r] = s;
      }
    }
  }
}

// Below this many tokens GemmBF16 widens weights on the fly.
constexpr int64_t kMinPanelTokens = 16;

using TileFn = void (*)(const float*, int64_t, const uint8_t*, int64_t, int,
                        int64_t, const float*, int64_t, float*, int64_t);
constexpr TileFn kBF16Tiles[kTokens + 1] = {
    nullptr,     TileBF16<1>, TileBF16<2>, TileBF16<3>,
    TileBF16<4>, TileBF16<5>, TileBF16<6>};

// --- f32 weights: DotF32 per pair -----------------------------------------

inline float LaneSum16(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  float r = 0.f;
  for (int k = 0; k < 8; ++k) r += lanes[k] + lanes[k + 8];
  return r;
}

template <int R, int T>
void TileF32(const float* w, int64_t ws, const float* x, int64_t xs, int64_t n,
             float* y, int64_t ldy) {
  __m512 acc0[R][T], acc1[R][T];
  for (int i = 0; i < R; ++i) {
    for (int j = 0; j < T; ++j) {
      acc0[i][j] = _mm512_setzero_ps();
      acc1[i][j] = _mm512_setzero_ps();
    }
  }
  int64_t c = 0;
  for (; c + 32 <= n; c += 32) {
    __m512 w0[R], w1[R];
    for (int i = 0; i < R; ++i) {
      w0[i] = _mm512_loadu_ps(w + i * ws + c);
      w1[i] = _mm512_loadu_ps(w + i * ws + c + 16);
    }
    for (int j = 0; j < T; ++j) {
      const __m512 x0 = _mm512_loadu_ps(x + j * xs + c);
      const __m512 x1 = _mm512_loadu_ps(x + j * xs + c + 16);
      for (int i = 0; i < R; ++i) {
        acc0[i][j] = _mm512_fmadd_ps(w0[i], x0, acc0[i][j]);
        acc1[i][j] = _mm512_fmadd_ps(w1[i], x1, acc1[i][j]);
      }
    }
  }
  if (c < n) {
    const int64_t rem = n - c;
    const __mmask16 m0 =
        rem >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << rem) - 1);
    const __mmask16 m1 =
        rem > 16 ? static_cast<__mmask16>((1u << (rem - 16)) - 1) : 0;
    for (int i = 0; i < R; ++i) {
      const __m512 a0 = _mm512_maskz_loadu_ps(m0, w + i * ws + c);
      const __m512 a1 = _mm512_maskz_loadu_ps(m1, w + i * ws + c + 16);
      for (int j = 0; j < T; ++j) {
        acc0[i][j] = _mm512_fmadd_ps(
            a0, _mm512_maskz_loadu_ps(m0, x + j * xs + c), acc0[i][j]);
        if (rem > 16) {
          acc1[i][j] = _mm512_fmadd_ps(
              a1, _mm512_maskz_loadu_ps(m1, x + j * xs + c + 16), acc1[i][j]);
        }
      }
    }
  }
  for (int i = 0; i < R; ++i) {
    for (int j = 0; j < T; ++j) {
      y[j * ldy + i] = LaneSum16(_mm512_add_ps(acc0[i][j], acc1[i][j]));
    }
  }
}

template <int R>
void RowsF32(const float* w, int64_t ws, const float* x, int64_t xs,
             int64_t cols, int64_t t0, int64_t t1, float* y, int64_t ldy) {
  int64_t t = t0;
  for (; t + 3 <= t1; t += 3) {
    TileF32<R, 3>(w, ws, x + t * xs, xs, cols, y + t * ldy, ldy);
  }
  for (; t < t1; ++t)
    TileF32<R, 1>(w, ws, x + t * xs, xs, cols, y + t * ldy, ldy);
}

// --- f32 weights, avx2::DotF32's order ------------------------------------

// avx2::DotF32 keeps two 8-lane accumulators, over columns [16m, 16m + 8)
// and [16m + 8, 16m + 16): together one 16-lane accumulator over 16-column
// chunks. Its lane sum is (low half + high half), then Hsum8.
template <int R, int T>
void TileF32x(const float* w, int64_t ws, const float* x, int64_t xs,
              int64_t cols, float* y, int64_t ldy) {
  __m512 acc[R][T];
  for (int i = 0; i < R; ++i) {
    for (int j = 0; j < T; ++j) acc[i][j] = _mm512_setzero_ps();
  }
  int64_t c = 0;
  for (; c + 16 <= cols; c += 16) {
    __m512 wv[R];
    for (int i = 0; i < R; ++i) wv[i] = _mm512_loadu_ps(w + i * ws + c);
    for (int j = 0; j < T; ++j) {
      const __m512 xv = _mm512_loadu_ps(x + j * xs + c);
      for (int i = 0; i < R; ++i) {
        acc[i][j] = _mm512_fmadd_ps(wv[i], xv, acc[i][j]);
      }
    }
  }
  if (c + 8 <= cols) {  // the 8-column step: the low half only
    for (int i = 0; i < R; ++i) {
      const __m512 wv = _mm512_maskz_loadu_ps(0xFF, w + i * ws + c);
      for (int j = 0; j < T; ++j) {
        acc[i][j] = _mm512_mask3_fmadd_ps(
            wv, _mm512_maskz_loadu_ps(0xFF, x + j * xs + c), acc[i][j], 0xFF);
      }
    }
    c += 8;
  }
  for (int i = 0; i < R; ++i) {
    for (int j = 0; j < T; ++j) {
      const __m256 lo = _mm512_castps512_ps256(acc[i][j]);
      const __m256 hi = High256(acc[i][j]);
      float r = Hsum8(_mm256_add_ps(lo, hi));
      // (avx2_ops.cc may contract this tail into an fma; the encoders'
      // widths are multiples of 8 and never reach it.)
      for (int64_t k = c; k < cols; ++k) r += w[i * ws + k] * x[j * xs + k];
      y[j * ldy + i] = r;
    }
  }
}

constexpr int kRowsX = 6, kTokensX = 4;
using TileXFn = void (*)(const float*, int64_t, const float*, int64_t, int64_t,
                         float*, int64_t);
template <int R>
struct RowX {
  static constexpr TileXFn kFns[kTokensX + 1] = {
      nullptr, TileF32x<R, 1>, TileF32x<R, 2>, TileF32x<R, 3>, TileF32x<R, 4>};
};
constexpr const TileXFn* kTilesX[kRowsX + 1] = {
    nullptr,       RowX<1>::kFns, RowX<2>::kFns, RowX<3>::kFns,
    RowX<4>::kFns, RowX<5>::kFns, RowX<6>::kFns};

// --- bf16 x bf16 dot products (AVX512_BF16) ------------------------------

__attribute__((target("avx512bf16"))) void ToBf16(const float* x, int64_t n,
                                                  uint16_t* out) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16),
                                           _mm512_loadu_ps(x + i));
    _mm512_storeu_si512(out + i, reinterpret_cast<const __m512i&>(v));
  }
  for (; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, x + i, 4);
    out[i] = static_cast<uint16_t>((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
  }
}

template <int R, int T>
__attribute__((target("avx512bf16"))) void TileDp(const uint8_t* w, int64_t rb,
                                                  const uint16_t* x, int64_t xs,
                                                  int64_t cols, float* y,
                                                  int64_t ldy) {
  __m512 acc[R][T];
  for (int i = 0; i < R; ++i) {
    for (int j = 0; j < T; ++j) acc[i][j] = _mm512_setzero_ps();
  }
  int64_t c = 0;
  for (; c + 32 <= cols; c += 32) {
    __m512i wv[R];
    for (int i = 0; i < R; ++i) {
      wv[i] = _mm512_loadu_si512(w + i * rb + 2 * c);
    }
    for (int j = 0; j < T; ++j) {
      const __m512i xv = _mm512_loadu_si512(x + j * xs + c);
      for (int i = 0; i < R; ++i) {
        acc[i][j] = _mm512_dpbf16_ps(acc[i][j], (__m512bh)wv[i], (__m512bh)xv);
      }
    }
  }
  for (int i = 0; i < R; ++i) {
    for (int j = 0; j < T; ++j) {
      float s = LaneSum16(acc[i][j]);
      for (int64_t k = c; k < cols; ++k) {
        uint32_t u = static_cast<uint32_t>(x[j * xs + k]) << 16;
        float xf;
        std::memcpy(&xf, &u, 4);
        s += Bf16One(w + i * rb + 2 * k) * xf;
      }
      y[j * ldy + i] = s;
    }
  }
}

}  // namespace

void GemmBF16(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
              const uint8_t* a, int64_t a_stride, int64_t n, float* y,
              int64_t ldy) {
  const float* x = reinterpret_cast<const float*>(a);
  const int64_t xs = a_stride / 4;
  if (n < kMinPanelTokens) {
    for (int64_t r = 0; r < rows; r += 8) {
      const int nrows = static_cast<int>(MinI(8, rows - r));
      int64_t t = 0;
      for (; t + 2 <= n; t += 2) {
        TileBF16Direct<2>(w + r * row_bytes, row_bytes, nrows, cols, x + t * xs,
                          xs, y + t * ldy + r, ldy);
      }
      if (t < n) {
        TileBF16Direct<1>(w + r * row_bytes, row_bytes, nrows, cols, x + t * xs,
                          xs, y + t * ldy + r, ldy);
      }
    }
    return;
  }
  const int64_t k8 = cols / 8;
  const int64_t blocks = (rows + 7) / 8;
  const int64_t panel_floats = k8 * kPairs * 16;
  float* panels = static_cast<float*>(
      tls_panel.Get(static_cast<size_t>(blocks * panel_floats * 4 + 64)));
  for (int64_t b = 0; b < blocks; ++b) {
    PackPanel(w + 8 * b * row_bytes, row_bytes,
              static_cast<int>(MinI(8, rows - 8 * b)), k8,
              panels + b * panel_floats);
  }
  int64_t chunk = kChunkBytes / a_stride / kTokens * kTokens;
  if (chunk < kTokens) chunk = kTokens;
  for (int64_t t0 = 0; t0 < n; t0 += chunk) {
    const int64_t t1 = MinI(n, t0 + chunk);
    for (int64_t b = 0; b < blocks; ++b) {
      const int nrows = static_cast<int>(MinI(8, rows - 8 * b));
      const uint8_t* wb = w + 8 * b * row_bytes;
      const float* pb = panels + b * panel_floats;
      for (int64_t t = t0; t < t1; t += kTokens) {
        const int T = static_cast<int>(MinI(kTokens, t1 - t));
        kBF16Tiles[T](pb, k8, wb, row_bytes, nrows, cols, x + t * xs, xs,
                      y + t * ldy + 8 * b, ldy);
      }
    }
  }
}

void GemmF32(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
             const uint8_t* a, int64_t a_stride, int64_t n, float* y,
             int64_t ldy) {
  const float* wf = reinterpret_cast<const float*>(w);
  const int64_t ws = row_bytes / 4;
  const float* x = reinterpret_cast<const float*>(a);
  const int64_t xs = a_stride / 4;
  int64_t chunk = kChunkBytes / a_stride / 3 * 3;
  if (chunk < 3) chunk = 3;
  for (int64_t t0 = 0; t0 < n; t0 += chunk) {
    const int64_t t1 = MinI(n, t0 + chunk);
    int64_t r = 0;
    for (; r + 3 <= rows; r += 3) {
      RowsF32<3>(wf + r * ws, ws, x, xs, cols, t0, t1, y + r, ldy);
    }
    for (; r < rows; ++r) {
      RowsF32<1>(wf + r * ws, ws, x, xs, cols, t0, t1, y + r, ldy);
    }
  }
}

void GemmF32x(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
              const uint8_t* a, int64_t a_stride, int64_t n, float* y,
              int64_t ldy) {
  const float* wf = reinterpret_cast<const float*>(w);
  const int64_t ws = row_bytes / 4;
  const float* x = reinterpret_cast<const float*>(a);
  const int64_t xs = a_stride / 4;
  int64_t chunk = kChunkBytes / a_stride / kTokensX * kTokensX;
  if (chunk < kTokensX) chunk = kTokensX;
  for (int64_t t0 = 0; t0 < n; t0 += chunk) {
    const int64_t t1 = MinI(n, t0 + chunk);
    for (int64_t r = 0; r < rows; r += kRowsX) {
      const TileXFn* fns = kTilesX[MinI(kRowsX, rows - r)];
      for (int64_t t = t0; t < t1; t += kTokensX) {
        fns[MinI(kTokensX, t1 - t)](wf + r * ws, ws, x + t * xs, xs, cols,
                                    y + t * ldy + r, ldy);
      }
    }
  }
}

void GemmBF16Dp(const uint8_t* w, int64_t row_bytes, int64_t rows, int64_t cols,
                const uint8_t* a, int64_t a_stride, int64_t n, float* y,
                int64_t ldy) {
  // Activations rounded to bf16 per call (a real integration would convert
  // once per MatMul, as ActType does for q8_0).
  const int64_t xs = (cols + 31) / 32 * 32;
  uint16_t* xb =
      static_cast<uint16_t*>(tls_act.Get(static_cast<size_t>(n * xs * 2 + 64)));
  const float* x = reinterpret_cast<const float*>(a);
  for (int64_t t = 0; t < n; ++t)
    ToBf16(x + t * (a_stride / 4), cols, xb + t * xs);
  int64_t chunk = kChunkBytes / (xs * 2) / 6 * 6;
  if (chunk < 6) chunk = 6;
  for (int64_t t0 = 0; t0 < n; t0 += chunk) {
    const int64_t t1 = MinI(n, t0 + chunk);
    int64_t r = 0;
    for (; r + 4 <= rows; r += 4) {
      int64_t t = t0;
      for (; t + 6 <= t1; t += 6) {
        TileDp<4, 6>(w + r * row_bytes, row_bytes, xb + t * xs, xs, cols,
                     y + t * ldy + r, ldy);
      }
      for (; t < t1; ++t) {
        TileDp<4, 1>(w + r * row_bytes, row_bytes, xb + t * xs, xs, cols,
                     y + t * ldy + r, ldy);
      }
    }
    for (; r < rows; ++r) {
      for (int64_t t = t0; t < t1; ++t) {
        TileDp<1, 1>(w + r * row_bytes, row_bytes, xb + t * xs, xs, cols,
                     y + t * ldy + r, ldy);
      }
    }
  }
}

}  // namespace facet::kernels::avx512_gemm
