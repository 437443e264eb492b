// Converting between numpy's RandomState.get_state() tuple and NumpyRandom.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>

#include "random/numpy_random.hpp"

namespace nengo_mpi::bindings {

// Loads `state`, a RandomState.get_state() tuple, into `rng`.
inline void load_numpy_state(NumpyRandom& rng, const pybind11::tuple& state) {
    namespace py = pybind11;
    if (state.size() != 5 || state[0].cast<std::string>() != "MT19937") {
        throw std::invalid_argument("expected RandomState.get_state()");
    }
    auto key =
        state[1].cast<py::array_t<std::uint32_t, py::array::c_style | py::array::forcecast>>();
    if (key.size() != NumpyRandom::kStateWords) {
        throw std::invalid_argument("MT19937 key must have 624 words");
    }
    rng.set_state(key.data(), state[2].cast<int>(), state[3].cast<int>() != 0,
                  state[4].cast<double>());
}

// `rng`'s state as the tuple RandomState.set_state() accepts.
inline pybind11::tuple dump_numpy_state(const NumpyRandom& rng) {
    pybind11::array_t<std::uint32_t> key(NumpyRandom::kStateWords);
    int pos = 0;
    bool has_gauss = false;
    double gauss = 0.0;
    rng.get_state(key.mutable_data(), pos, has_gauss, gauss);
    return pybind11::make_tuple("MT19937", key, pos, int(has_gauss), gauss);
}

}  // namespace nengo_mpi::bindings
