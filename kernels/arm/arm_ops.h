// The Arm64 kernels: kernel_list.inc registers them and kernel_decls.h
// declares them. Each namespace lives in its own translation units,
// compiled with that level's flags (see CMakeLists.txt):
//   neon      neon_matmul.cc,        -march=armv8-a
//             neon_ops.cc, neon_packed.cc,
//             neon_attention.cc
//   neondot   neondot_matmul.cc      -march=armv8.2-a+dotprod
//   neoni8mm  neoni8mm_matmul.cc     -march=armv8.2-a+dotprod+i8mm
// (the matmul files share arm_matmul_impl.inc, neon_ops.cc and
// neon_attention.cc the e^x of neon_exp.h). A level uses the kernels of
// the levels below it for the types it has none of; slots with no Arm
// kernel at all (RMSNorm, RoPE, softcap, packed types other than q4_0,
// q8_0 and q4_K) keep the reference one. Every one is tested against
// kernels/ref/ (tools/run_arm_tests.sh runs the tests under qemu-aarch64).
#ifndef FACET_KERNELS_ARM_ARM_OPS_H_
#define FACET_KERNELS_ARM_ARM_OPS_H_

#include "kernels/kernel_decls.h"

#endif  // FACET_KERNELS_ARM_ARM_OPS_H_
