// Engine.add_* for neuron types (nengo's SimNeurons).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <stdexcept>

#include "bindings/op_binding.hpp"
#include "ops/neurons.hpp"
#include "ops/small_math.hpp"

namespace py = pybind11;
using nengo_mpi::AdaptationParams;
using nengo_mpi::Engine;
using nengo_mpi::IzhikevichParams;
using nengo_mpi::LIFParams;
using nengo_mpi::bindings::add_real;

namespace {
// LIF's batched expm1/log1p (ops/small_math.hpp), exposed so tests can measure them
// against numpy's over whole ranges of arguments.
template <class T, void (*Batch)(const T*, T*, std::int64_t)>
py::array_t<T> apply_batch(py::array_t<T, py::array::c_style | py::array::forcecast> x) {
    py::array_t<T> out(x.size());
    Batch(x.data(), out.mutable_data(), static_cast<std::int64_t>(x.size()));
    return out;
}
}  // namespace

// Every neuron kernel's leading arguments (NEURON_LEADING_ARGUMENTS in
// nengo_mpi/kernels/registry.py): its component, its place in the step order, and the
// views of nengo's SimNeurons input and output.
#define NEURON_ARGS py::arg("local"), py::arg("order"), py::arg("J"), py::arg("output")

void register_neuron_ops(py::module_& m) {
    m.def("expm1_batch", &apply_batch<double, nengo_mpi::expm1_batch>);
    m.def("expm1_batch", &apply_batch<float, nengo_mpi::expm1_batch>);
    m.def("log1p_batch", &apply_batch<double, nengo_mpi::log1p_batch>);
    m.def("log1p_batch", &apply_batch<float, nengo_mpi::log1p_batch>);
    // Argument names are the kernels' registry entries' (nengo_mpi/kernels/neurons.py):
    // local, order, J, output, the state signals, then the type's parameters. The
    // registry checks them against these names when the engine is first used.
    nengo_mpi::bindings::engine_class(m)
        .def("add_lif",
             [](Engine& e, int local, std::int64_t order, int J, int output, int voltage,
                int refractory_time, double tau_rc, double tau_ref, double min_voltage,
                double amplitude) {
                 return add_real<nengo_mpi::LIF>(
                     e, local, order, J, output, voltage, refractory_time,
                     LIFParams{tau_rc, tau_ref, min_voltage, amplitude}, e.dt());
             },
             NEURON_ARGS, py::arg("voltage"), py::arg("refractory_time"), py::arg("tau_rc"),
             py::arg("tau_ref"), py::arg("min_voltage"), py::arg("amplitude"))
        .def("add_lif_rate",
             [](Engine& e, int local, std::int64_t order, int J, int output, double tau_rc,
                double tau_ref, double amplitude) {
                 return add_real<nengo_mpi::LIFRate>(e, local, order, J, output,
                                                     LIFParams{tau_rc, tau_ref, 0.0, amplitude});
             },
             NEURON_ARGS, py::arg("tau_rc"), py::arg("tau_ref"), py::arg("amplitude"))
        .def("add_soft_lif_rate",
             [](Engine& e, int local, std::int64_t order, int J, int output, double tau_rc,
                double tau_ref, double amplitude, double sigma) {
                 return add_real<nengo_mpi::SoftLIFRate>(
                     e, local, order, J, output, LIFParams{tau_rc, tau_ref, 0.0, amplitude},
                     sigma);
             },
             NEURON_ARGS, py::arg("tau_rc"), py::arg("tau_ref"), py::arg("amplitude"),
             py::arg("sigma"))
        .def("add_adaptive_lif",
             [](Engine& e, int local, std::int64_t order, int J, int output, int voltage,
                int refractory_time, int adaptation, double tau_rc, double tau_ref,
                double min_voltage, double amplitude, double tau_n, double inc_n) {
                 return add_real<nengo_mpi::AdaptiveLIF>(
                     e, local, order, J, output, voltage, refractory_time, adaptation,
                     LIFParams{tau_rc, tau_ref, min_voltage, amplitude},
                     AdaptationParams{tau_n, inc_n}, e.dt());
             },
             NEURON_ARGS, py::arg("voltage"), py::arg("refractory_time"),
             py::arg("adaptation"), py::arg("tau_rc"), py::arg("tau_ref"),
             py::arg("min_voltage"), py::arg("amplitude"), py::arg("tau_n"), py::arg("inc_n"))
        .def("add_adaptive_lif_rate",
             [](Engine& e, int local, std::int64_t order, int J, int output, int adaptation,
                double tau_rc, double tau_ref, double amplitude, double tau_n, double inc_n) {
                 return add_real<nengo_mpi::AdaptiveLIFRate>(
                     e, local, order, J, output, adaptation,
                     LIFParams{tau_rc, tau_ref, 0.0, amplitude}, AdaptationParams{tau_n, inc_n},
                     e.dt());
             },
             NEURON_ARGS, py::arg("adaptation"), py::arg("tau_rc"), py::arg("tau_ref"),
             py::arg("amplitude"), py::arg("tau_n"), py::arg("inc_n"))
        .def("add_rectified_linear",
             [](Engine& e, int local, std::int64_t order, int J, int output, double amplitude) {
                 return add_real<nengo_mpi::RectifiedLinear>(e, local, order, J, output,
                                                             amplitude);
             },
             NEURON_ARGS, py::arg("amplitude"))
        .def("add_spiking_rectified_linear",
             [](Engine& e, int local, std::int64_t order, int J, int output, int voltage,
                double amplitude) {
                 return add_real<nengo_mpi::SpikingRectifiedLinear>(e, local, order, J, output,
                                                                    voltage, amplitude, e.dt());
             },
             NEURON_ARGS, py::arg("voltage"), py::arg("amplitude"))
        .def("add_izhikevich",
             [](Engine& e, int local, std::int64_t order, int J, int output, int voltage,
                int recovery, double tau_recovery, double coupling, double reset_voltage,
                double reset_recovery) {
                 return add_real<nengo_mpi::Izhikevich>(
                     e, local, order, J, output, voltage, recovery,
                     IzhikevichParams{tau_recovery, coupling, reset_voltage, reset_recovery},
                     e.dt());
             },
             NEURON_ARGS, py::arg("voltage"), py::arg("recovery"), py::arg("tau_recovery"),
             py::arg("coupling"), py::arg("reset_voltage"), py::arg("reset_recovery"))
        .def("add_sigmoid",
             [](Engine& e, int local, std::int64_t order, int J, int output, double tau_ref) {
                 return add_real<nengo_mpi::Sigmoid>(e, local, order, J, output, tau_ref);
             },
             NEURON_ARGS, py::arg("tau_ref"))
        .def("add_tanh",
             [](Engine& e, int local, std::int64_t order, int J, int output, double tau_ref) {
                 return add_real<nengo_mpi::Tanh>(e, local, order, J, output, tau_ref);
             },
             NEURON_ARGS, py::arg("tau_ref"))
        // J is the base type's rates here (see nengo_mpi/kernels/neurons.py).
        .def("add_regular_spiking",
             [](Engine& e, int local, std::int64_t order, int J, int output, int voltage,
                double amplitude) {
                 return add_real<nengo_mpi::RegularSpiking>(e, local, order, J, output, voltage,
                                                            amplitude, e.dt());
             },
             NEURON_ARGS, py::arg("voltage"), py::arg("amplitude"))
        // The two stochastic types draw from a generator that must be seeded with
        // Engine.set_rng_state before the first step.
        .def("add_stochastic_spiking",
             [](Engine& e, int local, std::int64_t order, int J, int output, double amplitude,
                bool negative) {
                 return add_real<nengo_mpi::StochasticSpiking>(e, local, order, J, output,
                                                               amplitude, negative, e.dt());
             },
             NEURON_ARGS, py::arg("amplitude"), py::arg("negative"))
        .def("add_poisson_spiking",
             [](Engine& e, int local, std::int64_t order, int J, int output, double amplitude,
                bool negative) {
                 return add_real<nengo_mpi::PoissonSpiking>(e, local, order, J, output,
                                                            amplitude, negative, e.dt());
             },
             NEURON_ARGS, py::arg("amplitude"), py::arg("negative"));
}
#undef NEURON_ARGS
