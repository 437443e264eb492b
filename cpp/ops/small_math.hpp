// expm1 and log1p over many small arguments at once, for LIF neurons.
//
// In a step, a LIF neuron whose refractory period ends mid-step needs expm1 of
// -delta_t / tau_rc, and one that spikes needs log1p of minus its overshoot fraction;
// both arguments lie within dt / tau_rc of zero (0.05 with nengo's defaults). At 100 Hz
// a tenth of the neurons need one or the other in every step, and a libm call per
// neuron then costs more than the rest of the step. Near zero both functions are short
// series, which the compiler vectorises over a batch: expm1's Taylor series, and
// log1p(y) = 2 atanh(s) with s = y / (2 + y). Truncated where the next term is below
// 1e-18 of the result (double) or 1e-9 (float), they are within 3 ulp of the exact
// value (tests/test_small_math.py), where libm is within 1 to 2: well within nengo's
// own tolerances, and the same on every rank and every split. Arguments beyond
// kSmallArg (and NaNs) go to libm.
#pragma once

#include <cmath>
#include <cstdint>

#include "ops/clones.hpp"

namespace nengo_mpi {

// |argument| up to which the series below are used.
constexpr double kSmallArg = 0.0625;

// expm1(x) for |x| <= kSmallArg: x (1 + x/2! + x^2/3! + ... + x^9/10!), in Horner form.
NENGO_MPI_INLINE double expm1_series(double x) {
    double p = 1.0 / 3628800;  // 1/10!
    p = p * x + 1.0 / 362880;
    p = p * x + 1.0 / 40320;
    p = p * x + 1.0 / 5040;
    p = p * x + 1.0 / 720;
    p = p * x + 1.0 / 120;
    p = p * x + 1.0 / 24;
    p = p * x + 1.0 / 6;
    p = p * x + 0.5;
    p = p * x + 1.0;
    return x * p;
}

NENGO_MPI_INLINE float expm1_series(float x) {
    float p = 1.0f / 720;  // 1/6!
    p = p * x + 1.0f / 120;
    p = p * x + 1.0f / 24;
    p = p * x + 1.0f / 6;
    p = p * x + 0.5f;
    p = p * x + 1.0f;
    return x * p;
}

// log1p(y) for |y| <= kSmallArg: 2 s (1 + s^2/3 + s^4/5 + ...), s = y / (2 + y), so
// |s| <= 0.033.
NENGO_MPI_INLINE double log1p_series(double y) {
    const double s = y / (2.0 + y);
    const double z = s * s;
    double p = 1.0 / 11;
    p = p * z + 1.0 / 9;
    p = p * z + 1.0 / 7;
    p = p * z + 1.0 / 5;
    p = p * z + 1.0 / 3;
    p = p * z + 1.0;
    return 2.0 * s * p;
}

NENGO_MPI_INLINE float log1p_series(float y) {
    const float s = y / (2.0f + y);
    const float z = s * s;
    float p = 1.0f / 5;
    p = p * z + 1.0f / 3;
    p = p * z + 1.0f;
    return 2.0f * s * p;
}

// Whether x is within the series' range (false for NaN, which goes to libm).
template <class T>
NENGO_MPI_INLINE bool in_series_range(T x) {
    return std::fabs(x) <= T(kSmallArg);
}

// expm1 and log1p of one argument exactly as the batches below compute it, so that
// every path gives a neuron the same arithmetic.
template <class T>
inline T expm1_small(T x) {
    return in_series_range(x) ? expm1_series(x) : std::expm1(x);
}
template <class T>
inline T log1p_small(T x) {
    return in_series_range(x) ? log1p_series(x) : std::log1p(x);
}

// out[k] = expm1(x[k]) and out[k] = log1p(x[k]) for k < n (x and out may not overlap).
void expm1_batch(const double* x, double* out, std::int64_t n);
void expm1_batch(const float* x, float* out, std::int64_t n);
void log1p_batch(const double* x, double* out, std::int64_t n);
void log1p_batch(const float* x, float* out, std::int64_t n);

}  // namespace nengo_mpi
