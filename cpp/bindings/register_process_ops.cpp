// Engine.add_* for processes and synapses (nengo's SimProcess).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <vector>

#include "bindings/op_binding.hpp"
#include "ops/synapses.hpp"

namespace py = pybind11;
using nengo_mpi::Engine;
using nengo_mpi::bindings::add_real;

void register_process_ops(py::module_& m) {
    nengo_mpi::bindings::engine_class(m).def(
        "add_linear_filter",
        [](Engine& e, int local, std::int64_t order, int u, int y, int x, int form, int mode,
           std::vector<double> A, std::vector<double> B, std::vector<double> C, double D) {
            if (form < 0 || form > 3) throw std::invalid_argument("unknown filter form");
            if (mode < 0 || mode > 2) throw std::invalid_argument("unknown write mode");
            return add_real<nengo_mpi::LinearFilter>(
                e, local, order, u, y, x, static_cast<nengo_mpi::FilterForm>(form),
                static_cast<nengo_mpi::WriteMode>(mode), std::move(A), std::move(B),
                std::move(C), D);
        });
}
