// Declares every function kernel_list.inc registers, in its namespace,
// with the signature of the slot it fills: a kernel whose definition does
// not match its slot fails to link instead of being called through the
// wrong type. Included by the kernel sources and dispatch.cc only.
#ifndef FACET_KERNELS_KERNEL_DECLS_H_
#define FACET_KERNELS_KERNEL_DECLS_H_

#include <type_traits>

#include "kernels/kernels.h"

// The function type behind a slot's pointer type: `FnType name;` declares
// a function of that type.
#define FACET_KERNEL_DECL_(FnPtr, ns, fn) \
  namespace facet::kernels::ns {          \
  extern std::remove_pointer_t<FnPtr> fn; \
  }
#define FACET_OP_IMPL(level, slot, ns, fn) \
  FACET_KERNEL_DECL_(decltype(KernelTable::slot), ns, fn)
#define FACET_GEMM_IMPL(level, dtype, ns, fn) FACET_KERNEL_DECL_(GemmFn, ns, fn)
#define FACET_PACKED_IMPL(level, dtype, ns, fn, prefer) \
  FACET_KERNEL_DECL_(GemmFn, ns, fn)
#define FACET_ACT_IMPL(level, act, ns, fn) \
  FACET_KERNEL_DECL_(QuantizeActFn, ns, fn)
#include "kernels/kernel_list.inc"
#undef FACET_KERNEL_DECL_

#endif  // FACET_KERNELS_KERNEL_DECLS_H_
