#include "construction/lif_rates.hpp"

namespace nengo_mpi {

std::size_t lif_rates_prepare(const double* x, std::size_t rows, std::size_t cols,
                              const double* gain, const double* bias, double* out,
                              double* inv_j, std::int64_t* where) {
    std::size_t k = 0;
    for (std::size_t r = 0; r < rows; ++r) {
        const double* xr = x + r * cols;
        double* outr = out + r * cols;
        for (std::size_t c = 0; c < cols; ++c) {
            // Two roundings, as numpy's gain * x + bias then J - 1 (never fused: the
            // engine is built with -ffp-contract=off).
            const double current = gain[c] * xr[c] + bias[c];
            const double j = current - 1.0;
            if (j > 0.0) {  // false for NaN, as numpy's mask j > 0
                inv_j[k] = 1.0 / j;
                where[k] = static_cast<std::int64_t>(r * cols + c);
                ++k;
            }
            outr[c] = 0.0;
        }
    }
    return k;
}

std::size_t lif_rates_finish(const double* log1p_inv_j, const std::int64_t* where,
                             std::size_t k, double tau_rc, double tau_ref,
                             double amplitude, double* out) {
    std::size_t nonzero = 0;
    for (std::size_t i = 0; i < k; ++i) {
        const double rate = amplitude / (tau_ref + tau_rc * log1p_inv_j[i]);
        out[where[i]] = rate;
        nonzero += rate != 0.0;
    }
    return nonzero;
}

}  // namespace nengo_mpi
