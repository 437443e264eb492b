// LIF firing rates at evaluation points, for decoder solves at build time.
//
// nengo computes them as LIFRate.step(dt=1, J=gain*x+bias): a dozen numpy passes and
// temporaries over an (evaluation points x neurons) matrix, most of which is memory
// traffic. The two passes here compute the same IEEE operations in the same order; the
// one transcendental, log1p, is left to the caller (numpy's own, so that rates and
// decoders stay nengo's to the bit on every machine, whichever log1p numpy picked).
#pragma once

#include <cstddef>
#include <cstdint>

namespace nengo_mpi {

// First pass over x (rows x cols, row-major): J = gain[c] * x[r, c] + bias[c] and
// j = J - 1. Where j > 0 it stores 1 / j in inv_j[k] and the flat index in where[k]
// (k counting up from 0); elsewhere (j <= 0 or NaN) it sets out to 0. Returns k.
std::size_t lif_rates_prepare(const double* x, std::size_t rows, std::size_t cols,
                              const double* gain, const double* bias, double* out,
                              double* inv_j, std::int64_t* where);

// Second pass, once log1p_inv_j[i] = log1p(inv_j[i]): the rate
// amplitude / (tau_ref + tau_rc * log1p_inv_j[i]) goes to out[where[i]]. Returns the
// number of nonzero rates written (nengo refuses an all-zero activity matrix).
std::size_t lif_rates_finish(const double* log1p_inv_j, const std::int64_t* where,
                             std::size_t k, double tau_rc, double tau_ref,
                             double amplitude, double* out);

}  // namespace nengo_mpi
