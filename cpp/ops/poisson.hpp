// Poisson draws that reproduce numpy's legacy RandomState.poisson stream exactly.
//
// Why: nengo's PoissonSpiking calls rng.poisson on a RandomState seeded from the
// ensemble's seed. Drawing the same numbers lets the native kernel match nengo spike for
// spike, and keeps the stream a function of that seed only.
//
// numpy (RandomState, all versions since the legacy stream was frozen) picks:
// - lam == 0: 0, drawing nothing;
// - lam < 10: the multiplication method: multiply uniforms until the product drops to
//   exp(-lam) or below; the number of factors that stayed above it is the draw;
// - lam >= 10: W. Hoermann's transformed rejection with squeeze, "PTRS" (Insurance:
//   Mathematics and Economics 12, 39-45, 1993), with its log(k!) taken from a
//   10-term Stirling series (shifted up to x = 7 by the recurrence for small x).
// Each uniform is RandomState.random_sample(). The arithmetic below keeps numpy's
// evaluation order, and calls the same libm functions, so every comparison comes out
// the same way.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "random/numpy_random.hpp"

namespace nengo_mpi {
namespace poisson_detail {

// Converts like x86-64's cvttsd2si, which is what numpy's (long)floor(...) does on this
// platform: NaN and out-of-range values give INT64_MIN (and are then rejected, k < 0).
// A plain static_cast would be undefined behaviour for them.
inline std::int64_t to_int64(double x) {
    constexpr double kLimit = 9223372036854775808.0;  // 2^63
    if (x >= -kLimit && x < kLimit) return static_cast<std::int64_t>(x);
    return std::numeric_limits<std::int64_t>::min();
}

// log(Gamma(x)) for x >= 1, as numpy's legacy generator computes it.
inline double log_gamma(double x) {
    // Stirling series coefficients B_2k / (2k (2k - 1)), k = 1..10, to numpy's digits.
    static constexpr double kSeries[10] = {
        8.333333333333333e-02,  -2.777777777777778e-03, 7.936507936507937e-04,
        -5.952380952380952e-04, 8.417508417508418e-04,  -1.917526917526918e-03,
        6.410256410256410e-03,  -2.955065359477124e-02, 1.796443723688307e-01,
        -1.39243221690590e+00};
    if (x == 1.0 || x == 2.0) return 0.0;
    // The series is accurate for large x only: evaluate at x + shift >= 7 and step back
    // down with log Gamma(y - 1) = log Gamma(y) - log(y - 1).
    std::int64_t shift = 0;
    double y = x;
    if (x <= 7.0) {
        shift = static_cast<std::int64_t>(7 - x);
        y = x + static_cast<double>(shift);
    }
    const double inv_y2 = 1.0 / (y * y);
    double series = kSeries[9];
    for (int i = 8; i >= 0; --i) {
        series *= inv_y2;
        series += kSeries[i];
    }
    const double two_pi = 2 * 3.14159265358979323846;
    double result = series / y + 0.5 * std::log(two_pi) + (y - 0.5) * std::log(y) - y;
    for (std::int64_t i = 0; i < shift; ++i) {
        result -= std::log(y - 1.0);
        y -= 1.0;
    }
    return result;
}

inline std::int64_t multiplication(NumpyRandom& rng, double lam) {
    const double threshold = std::exp(-lam);
    std::int64_t count = 0;
    double product = 1.0;
    for (;;) {
        product *= rng.random_sample();
        if (!(product > threshold)) return count;
        ++count;
    }
}

inline std::int64_t transformed_rejection(NumpyRandom& rng, double lam) {
    // Hoermann's constants for the hat function, as functions of lam.
    const double sqrt_lam = std::sqrt(lam);
    const double log_lam = std::log(lam);
    const double b = 0.931 + 2.53 * sqrt_lam;
    const double a = -0.059 + 0.02483 * b;
    const double inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    const double v_r = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
        const double u = rng.random_sample() - 0.5;
        const double v = rng.random_sample();
        const double us = 0.5 - std::fabs(u);
        const std::int64_t k = to_int64(std::floor((2 * a / us + b) * u + lam + 0.43));
        // Squeeze: inside the region where the hat is known to lie under the mass.
        if (us >= 0.07 && v <= v_r) return k;
        if (k < 0 || (us < 0.013 && v > us)) continue;
        // Full acceptance test; log(0) = -inf is fine here (always accepts).
        const double lhs = std::log(v) + std::log(inv_alpha) - std::log(a / (us * us) + b);
        const double rhs = -lam + static_cast<double>(k) * log_lam -
                           log_gamma(static_cast<double>(k + 1));
        if (lhs <= rhs) return k;
    }
}

}  // namespace poisson_detail

// The largest lam numpy's RandomState.poisson accepts (its POISSON_LAM_MAX, computed
// the same way), so that larger ones fail here exactly when they fail in nengo.
inline double numpy_poisson_lam_max() {
    const double max_long = static_cast<double>(std::numeric_limits<std::int64_t>::max());
    return max_long - std::sqrt(max_long) * 10;
}

// One draw of RandomState.poisson(lam); lam must be in [0, numpy_poisson_lam_max()].
inline std::int64_t numpy_poisson(NumpyRandom& rng, double lam) {
    if (lam >= 10) return poisson_detail::transformed_rejection(rng, lam);
    if (lam == 0) return 0;
    return poisson_detail::multiplication(rng, lam);
}

}  // namespace nengo_mpi
