// Direct access to NumpyRandom and the Poisson sampler, so tests can compare their
// draws with numpy's own.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "bindings/numpy_state.hpp"
#include "ops/poisson.hpp"
#include "random/numpy_random.hpp"

namespace py = pybind11;

void register_random(py::module_& m) {
    m.def(
        "numpy_random_draws",
        [](py::tuple state, const std::string& kind, int n) {
            nengo_mpi::NumpyRandom rng;
            nengo_mpi::bindings::load_numpy_state(rng, state);
            py::array_t<double> out(n);
            double* p = out.mutable_data();
            for (int i = 0; i < n; ++i) {
                if (kind == "random_sample") p[i] = rng.random_sample();
                else if (kind == "standard_normal") p[i] = rng.gauss();
                else throw std::invalid_argument("unknown draw kind " + kind);
            }
            return out;
        },
        "Draw n numbers of `kind` from a RandomState.get_state() tuple (for tests).");

    m.def(
        "numpy_poisson_draws",
        [](py::tuple state, py::array_t<double, py::array::c_style | py::array::forcecast> lam) {
            nengo_mpi::NumpyRandom rng;
            nengo_mpi::bindings::load_numpy_state(rng, state);
            const double* l = lam.data();
            const py::ssize_t n = lam.size();
            for (py::ssize_t i = 0; i < n; ++i) {
                if (!(l[i] >= 0.0 && l[i] <= nengo_mpi::numpy_poisson_lam_max())) {
                    throw std::invalid_argument("lam out of numpy's range");
                }
            }
            py::array_t<std::int64_t> out(n);
            std::int64_t* p = out.mutable_data();
            for (py::ssize_t i = 0; i < n; ++i) p[i] = nengo_mpi::numpy_poisson(rng, l[i]);
            return out;
        },
        "One RandomState.poisson draw per element of lam, starting from a "
        "RandomState.get_state() tuple (for tests).");
}
