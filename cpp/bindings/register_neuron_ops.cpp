// Engine.add_* for neuron types (nengo's SimNeurons).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/op_binding.hpp"
#include "ops/neurons.hpp"

namespace py = pybind11;
using nengo_mpi::Engine;
using nengo_mpi::bindings::add_real;

void register_neuron_ops(py::module_& m) {
    nengo_mpi::bindings::engine_class(m)
        .def("add_lif",
             [](Engine& e, int local, std::int64_t order, int j, int out, int v, int ref,
                double tau_rc, double tau_ref, double min_voltage, double amplitude) {
                 return add_real<nengo_mpi::LIF>(
                     e, local, order, j, out, v, ref,
                     nengo_mpi::LIFParams{tau_rc, tau_ref, min_voltage, amplitude}, e.dt());
             })
        .def("add_lif_rate",
             [](Engine& e, int local, std::int64_t order, int j, int out, double tau_rc,
                double tau_ref, double amplitude) {
                 return add_real<nengo_mpi::LIFRate>(
                     e, local, order, j, out,
                     nengo_mpi::LIFParams{tau_rc, tau_ref, 0.0, amplitude});
             })
        .def("add_rectified_linear",
             [](Engine& e, int local, std::int64_t order, int j, int out, double amplitude) {
                 return add_real<nengo_mpi::RectifiedLinear>(e, local, order, j, out, amplitude);
             })
        .def("add_spiking_rectified_linear",
             [](Engine& e, int local, std::int64_t order, int j, int out, int v,
                double amplitude) {
                 return add_real<nengo_mpi::SpikingRectifiedLinear>(e, local, order, j, out, v,
                                                                    amplitude, e.dt());
             });
}
