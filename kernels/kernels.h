// The compute kernels facet uses, with no model knowledge. One table of
// function pointers, filled once from cpuinfo; a scalar reference of each
// op in kernels/ref/ is the oracle the per-ISA variants are tested against.
#ifndef FACET_KERNELS_KERNELS_H_
#define FACET_KERNELS_KERNELS_H_

#include <cstddef>
#include <cstdint>

#include "kernels/dtype.h"
#include "kernels/parallel.h"

namespace facet::kernels {

// A row-major weight matrix of `rows` rows, each `cols` elements of dtype
// (block-quantized rows are `row_bytes` long).
struct Matrix {
  DType dtype = DType::kF32;
  const uint8_t* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t row_bytes = 0;
  // Rows are in the 8-row packed layout of PackRows (same bytes per row,
  // so row(r) is still the start of r's group when r is a multiple of 8).
  bool packed = false;
  const uint8_t* row(int64_t r) const { return data + r * row_bytes; }
};

// kAvx2 needs AVX2+FMA+F16C; kAvx512 needs AVX-512 F/BW/DQ/VL on top;
// kAvx512Vnni adds AVX512-VNNI (vpdpbusd). On Arm64: kNeon is Armv8 NEON
// (with its fp16 conversions); kNeonDot adds the dotprod extension
// (sdot); kNeonI8mm adds i8mm (smmla) on top.
enum class Isa {
  kRef = 0,
  kAvx2 = 1,
  kAvx512 = 2,
  kAvx512Vnni = 3,
  kNeon = 4,
  kNeonDot = 5,
  kNeonI8mm = 6,
};
constexpr int kNumIsas = 7;
const char* IsaName(Isa isa);

// The form MatMul converts the activations x into before the dot products,
// chosen by the weight type (as llama.cpp's vec_dot_type for quantized
// weights; f16 and bf16 weights keep f32 activations, which is as fast and
// matches the golden logits, made with unrounded activations):
//   kF32   f32, f16, bf16 weights: x as is, float[cols].
//   kQ8_0  q8_0, q4_0, q4_1, q5_0, q5_1 weights: per 32-block ggml's
//          quantize_row_q8_0_ref (d = amax / 127 rounded to fp16,
//          q = roundf(x / d)). Row layout: int8 qs[cols] | float d[cols/32]
//          (the fp16 value, widened) | int32 sum[cols/32] (sum of the qs).
//   kQ8_K  q4_K, q5_K, q6_K weights: per 256-block ggml's
//          quantize_row_q8_K_ref (iscale = -127 / max, q = nearest(iscale *
//          x), d = 1 / iscale). Row layout: int8 qs[cols] | float
//          d[cols/256] | int16 bsums[cols/16] (sums of 16 qs).
// Each activation row takes ActRowBytes(act, cols) bytes (a multiple of 64).
enum class ActType { kF32 = 0, kQ8_0 = 1, kQ8_K = 2 };
constexpr int kNumActTypes = 3;
ActType ActTypeFor(DType weight);
int64_t ActRowBytes(ActType act, int64_t cols);

// Converts one row x[cols] into the activation form at a.
using QuantizeActFn = void (*)(const float* x, uint8_t* a, int64_t cols);
// y[t * ldy + r] = dot(W row r, activation row t) for r < rows, t < n, with
// W row r at w + r * row_bytes and activation row t at a + t * a_stride.
// Every (r, t) result is computed with the same operations whatever rows,
// n and the position of (r, t) in them, so results do not depend on how a
// caller splits rows across threads or tokens across calls.
using GemmFn = void (*)(const uint8_t* w, int64_t row_bytes, int64_t rows,
                        int64_t cols, const uint8_t* a, int64_t a_stride,
                        int64_t n, float* y, int64_t ldy);
// One tile of attention with an online softmax, for nq query rows (q,
// q_stride floats apart; nq <= kAttnMaxQ) against the same `count` KV
// positions (count <= kAttnTile; k[j], v[j]: rows of d floats). Per query
// row i it updates the running max m[i], the running sum l[i] and
// acc[i * d .. + d] = sum_j exp(s_j - m[i]) v_j, where s_j = scale *
// dot(q_i, k_j). Start from m = -inf, l = 0, acc = 0; the output is acc /
// l. Results depend only on how the positions are cut into tiles, so a
// caller that tiles by position gets the same result however it batches
// queries or tokens.
constexpr int kAttnTile = 64;
constexpr int kAttnMaxQ = 16;
using AttendFn = void (*)(const float* q, int64_t q_stride, int nq,
                          const float* const* k, const float* const* v,
                          int count, int64_t d, float scale, float* m, float* l,
                          float* acc);

// Widens `count` K or V rows of d elements, stored in the KV cache's
// reduced precision, into f32 rows at dst (dst[j * d .. + d] from rows[j]),
// for attend_tile. f16 rows are d halves; q8_0 rows are d / 32 blocks of
// ggml's block_q8_0 (fp16 scale, 32 int8), d a multiple of 32. Both are
// exact (every f16 and every fp16 scale times an int8 is a float), so every
// level gives the reference's bits.
using LoadKvFn = void (*)(const uint8_t* const* rows, int count, int64_t d,
                          float* dst);

// out[i] = gelu_tanh(gate[i]) * up[i] over n elements; out may be gate.
using GeluTanhMulFn = void (*)(const float* gate, const float* up, float* out,
                               int64_t n);
// RMSNorm of `rows` rows of n floats (x, out: [rows][n]; out may be x):
// out = x / sqrt(mean(x^2) + eps) * w, with w[n] multiplying as stored
// (Gemma 4's plain-weight norm, not Gemma 2/3's 1 + w), or no weight when
// w is null. The mean of squares is summed in double, as the reference
// does.
using RmsNormFn = void (*)(const float* x, const float* w, float* out,
                           int64_t rows, int64_t n, float eps);
// Rotates `rows` rows of d floats in place (x: [rows][d]) by half-split
// RoPE: pair j is (x[j], x[j + d/2]), turned by the angle whose cosine and
// sine are cs[j], sn[j] (from RopeAngles). Only pairs j < pairs rotate; the
// others pass through unchanged (partial / proportional RoPE).
using RopeFn = void (*)(float* x, int64_t rows, int64_t d, int64_t pairs,
                        const float* cs, const float* sn);
// Logit soft-capping in place: x[i] = tanh(x[i] / cap) * cap (cap > 0).
using SoftcapFn = void (*)(float* x, int64_t n, float cap);

// gemm[] is indexed by the DType value; 32 covers every supported type.
constexpr int kNumGemmSlots = 32;

// The kernels of one ISA level; kernel_list.inc lists every slot and which
// function fills it at each level.
struct KernelTable {
  Isa isa = Isa::kRef;
#define FACET_OP(slot, FnType) FnType slot = nullptr;
#include "kernels/kernel_list.inc"
  // Activation converters by ActType; none for kF32, whose rows MatMul
  // uses as they are.
  QuantizeActFn quantize_act[kNumActTypes] = {};
  // Matrix kernels by weight DType; null for types without one (every
  // supported type has one at every level: MatMul relies on it).
  GemmFn gemm[kNumGemmSlots] = {};
  // Kernels for weights in the packed layout (PackRows), by DType, and
  // whether this ISA is faster on it, so that a loader should pack.
  GemmFn gemm_packed[kNumGemmSlots] = {};
  bool prefer_packed[kNumGemmSlots] = {};
  GemmFn Gemm(DType t) const {
    const uint32_t i = static_cast<uint32_t>(t);
    return i < kNumGemmSlots ? gemm[i] : nullptr;
  }
  GemmFn GemmPacked(DType t) const {
    const uint32_t i = static_cast<uint32_t>(t);
    return i < kNumGemmSlots ? gemm_packed[i] : nullptr;
  }
  bool PreferPacked(DType t) const {
    const uint32_t i = static_cast<uint32_t>(t);
    return i < kNumGemmSlots && prefer_packed[i];
  }
};

// The table for the best ISA this CPU supports, or the one forced by the
// FACET_ISA environment variable ("ref", "avx2", "avx512", "avx512vnni",
// "neon", "neondot", "neoni8mm") or ForceIsa().
const KernelTable& Kernels();
// Table for one ISA; returns nullptr when the CPU lacks it.
const KernelTable* KernelsFor(Isa isa);
// Forces an ISA for debugging and tests; false if the CPU lacks it.
bool ForceIsa(Isa isa);

// Weight packing (layouts in kernels/ref/packed_ref.h): true for q4_0 and
// q8_0 (cols a multiple of 32) and q4_K / q6_K (of 256) with rows a
// multiple of 8.
bool CanPack(DType type, int64_t rows, int64_t cols);
// Rewrites rows [r0, r1) (multiples of 8) of the `rows` x `cols` matrix at
// src into dst, which has the same size as src and does not overlap it.
void PackRows(DType type, const uint8_t* src, int64_t r0, int64_t r1,
              int64_t cols, uint8_t* dst);

// The RoPE angles of position pos for RopeFn: cs[j] = cos(pos *
// inv_freq[j]), sn[j] = sin(pos * inv_freq[j]) for j < pairs, computed in
// double. Once per token, shared by all of its heads.
void RopeAngles(const float* inv_freq, int64_t pairs, int64_t pos, float* cs,
                float* sn);

// y[t][r] = sum_c x[t][c] * W[r][c] for t < n, r < rows.
// x: [n][cols] f32, y: [n][rows] f32. x is first converted to the weight
// type's ActType (quantized to q8_0 / q8_K blocks for quantized weights,
// as llama.cpp does), then the table's gemm runs over row tiles in `pool`.
void MatMul(const Matrix& w, const float* x, int64_t n, float* y,
            ThreadPool* pool);

}  // namespace facet::kernels

#endif  // FACET_KERNELS_KERNELS_H_
