// Flush-to-zero and denormals-are-zero for the span of one kernel call.
//
// Attention weights far below the row's maximum (e^-87 after the exp
// clamp) times a value give products under FLT_MIN; every such operation
// takes a microcode assist of ~100 cycles on x86, which made the attention
// tile several times slower on spread-out scores. Such terms change a sum
// that holds a weight of 1 (the row's maximum) by under 1e-37, so flushing
// them is exact for any purpose.
#ifndef FACET_KERNELS_X86_FLUSH_DENORMALS_H_
#define FACET_KERNELS_X86_FLUSH_DENORMALS_H_

#include <xmmintrin.h>

namespace facet::kernels {

class FlushDenormals {
 public:
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFtzDaz); }
  ~FlushDenormals() { _mm_setcsr(saved_); }
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;

 private:
  static constexpr unsigned kFtzDaz = 0x8040;  // MXCSR bits 15 and 6
  unsigned saved_;
};

}  // namespace facet::kernels

#endif  // FACET_KERNELS_X86_FLUSH_DENORMALS_H_
