// NENGO_MPI_CLONES: compile a hot kernel twice, for AVX2 (x86-64-v3) and for the build's
// baseline, and let the loader pick the one the CPU runs (GCC function multiversioning).
// A wheel or container built once then runs fast on new CPUs and still runs on old ones.
// Both clones round identically: the kernels fix their own summation order, and the
// engine is compiled with -ffp-contract=off, so neither fuses multiplies and adds.
// Functions called from a clone must be inlined into it (always_inline) to be cloned.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NENGO_MPI_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define NENGO_MPI_CLONES
#endif

#define NENGO_MPI_INLINE __attribute__((always_inline)) inline
