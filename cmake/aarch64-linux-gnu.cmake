# Cross-compiling for Arm64 Linux with Debian's cross toolchain
# (g++-aarch64-linux-gnu), as tools/run_arm_tests.sh does. Debian's cross
# compiler is multiarch-aware: it finds the target's libraries in
# /usr/lib/aarch64-linux-gnu (arm64 packages installed next to the host's)
# and the architecture-independent headers in /usr/include, so no sysroot.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# pkg-config reads the arm64 packages' .pc files, not the host's.
set(ENV{PKG_CONFIG_LIBDIR}
    /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
# Test binaries run under user-mode emulation; -L finds the toolchain's
# dynamic loader, LD_LIBRARY_PATH its libc (not the arm64 libc6 package's,
# a different build that the loader does not work with).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /usr/aarch64-linux-gnu
    -E LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib)
