#include "ops/small_math.hpp"

#include <cmath>

namespace nengo_mpi {

namespace {
// The series over every argument (one branch-free loop, which the compiler vectorises),
// then libm for the few beyond the series' range: NaN fails the test and goes there too.
template <class T, class Series, class Libm>
NENGO_MPI_INLINE void batch(const T* __restrict x, T* __restrict out, std::int64_t n,
                            Series series, Libm libm) {
    for (std::int64_t k = 0; k < n; ++k) out[k] = series(x[k]);
    for (std::int64_t k = 0; k < n; ++k) {
        if (!in_series_range(x[k])) out[k] = libm(x[k]);
    }
}
}  // namespace

NENGO_MPI_CLONES
void expm1_batch(const double* x, double* out, std::int64_t n) {
    batch(x, out, n, [](double v) { return expm1_series(v); },
          [](double v) { return std::expm1(v); });
}

NENGO_MPI_CLONES
void expm1_batch(const float* x, float* out, std::int64_t n) {
    batch(x, out, n, [](float v) { return expm1_series(v); },
          [](float v) { return std::expm1(v); });
}

NENGO_MPI_CLONES
void log1p_batch(const double* x, double* out, std::int64_t n) {
    batch(x, out, n, [](double v) { return log1p_series(v); },
          [](double v) { return std::log1p(v); });
}

NENGO_MPI_CLONES
void log1p_batch(const float* x, float* out, std::int64_t n) {
    batch(x, out, n, [](float v) { return log1p_series(v); },
          [](float v) { return std::log1p(v); });
}

}  // namespace nengo_mpi
