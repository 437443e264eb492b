// Kernels used while building a model (not by the engine's step loop).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>

#include "construction/lif_rates.hpp"

namespace py = pybind11;

namespace {

using Doubles = py::array_t<double, py::array::c_style | py::array::forcecast>;

}  // namespace

void register_build(py::module_& m) {
    m.def(
        "lif_rates",
        [](Doubles x, Doubles gain, Doubles bias, double tau_rc, double tau_ref,
           double amplitude) {
            if (x.ndim() != 2 || gain.ndim() != 1 || bias.ndim() != 1 ||
                gain.shape(0) != x.shape(1) || bias.shape(0) != x.shape(1)) {
                throw std::invalid_argument(
                    "lif_rates: x must be (n_samples, n_neurons), gain and bias "
                    "(n_neurons,)");
            }
            const auto rows = static_cast<std::size_t>(x.shape(0));
            const auto cols = static_cast<std::size_t>(x.shape(1));
            py::array_t<double> out({x.shape(0), x.shape(1)});
            py::array_t<double> inv_j(x.size());
            py::array_t<std::int64_t> where(x.size());
            std::size_t k = nengo_mpi::lif_rates_prepare(
                x.data(), rows, cols, gain.data(), bias.data(), out.mutable_data(),
                inv_j.mutable_data(), where.mutable_data());
            // numpy's log1p, in place on the first k entries: the same function (and
            // SIMD path) nengo's rates call, so the rates are nengo's to the bit.
            py::object head = inv_j[py::slice(0, static_cast<py::ssize_t>(k), 1)];
            py::module_::import("numpy").attr("log1p")(head, py::arg("out") = head);
            std::size_t nonzero = nengo_mpi::lif_rates_finish(
                inv_j.data(), where.data(), k, tau_rc, tau_ref, amplitude,
                out.mutable_data());
            return py::make_tuple(out, nonzero);
        },
        py::arg("x"), py::arg("gain"), py::arg("bias"), py::arg("tau_rc"),
        py::arg("tau_ref"), py::arg("amplitude"),
        "LIF rates (Hz) at x (n_samples, n_neurons) as nengo's LIFRate computes them; "
        "returns (rates, number of nonzero rates).");
}
