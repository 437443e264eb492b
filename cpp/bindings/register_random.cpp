// Direct access to NumpyRandom, so tests can compare its draws with numpy's own.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>

#include "random/numpy_random.hpp"

namespace py = pybind11;

void register_random(py::module_& m) {
    m.def(
        "numpy_random_draws",
        [](py::tuple state, const std::string& kind, int n) {
            auto key = state[1].cast<
                py::array_t<std::uint32_t, py::array::c_style | py::array::forcecast>>();
            if (key.size() != nengo_mpi::NumpyRandom::kStateWords) {
                throw std::invalid_argument("MT19937 key must have 624 words");
            }
            nengo_mpi::NumpyRandom rng;
            rng.set_state(key.data(), state[2].cast<int>(), state[3].cast<int>() != 0,
                          state[4].cast<double>());
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
}
