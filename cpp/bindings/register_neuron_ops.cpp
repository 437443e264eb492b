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

void register_neuron_ops(py::module_& m) {
    m.def("expm1_batch", &apply_batch<double, nengo_mpi::expm1_batch>);
    m.def("expm1_batch", &apply_batch<float, nengo_mpi::expm1_batch>);
    m.def("log1p_batch", &apply_batch<double, nengo_mpi::log1p_batch>);
    m.def("log1p_batch", &apply_batch<float, nengo_mpi::log1p_batch>);
    nengo_mpi::bindings::engine_class(m)
        .def("add_lif",
             [](Engine& e, int local, std::int64_t order, int j, int out, int v, int ref,
                double tau_rc, double tau_ref, double min_voltage, double amplitude) {
                 return add_real<nengo_mpi::LIF>(e, local, order, j, out, v, ref,
                                                 LIFParams{tau_rc, tau_ref, min_voltage, amplitude},
                                                 e.dt());
             })
        .def("add_lif_rate",
             [](Engine& e, int local, std::int64_t order, int j, int out, double tau_rc,
                double tau_ref, double amplitude) {
                 return add_real<nengo_mpi::LIFRate>(e, local, order, j, out,
                                                     LIFParams{tau_rc, tau_ref, 0.0, amplitude});
             })
        .def("add_adaptive_lif",
             [](Engine& e, int local, std::int64_t order, int j, int out, int v, int ref, int n,
                double tau_rc, double tau_ref, double min_voltage, double amplitude,
                double tau_n, double inc_n) {
                 return add_real<nengo_mpi::AdaptiveLIF>(
                     e, local, order, j, out, v, ref, n,
                     LIFParams{tau_rc, tau_ref, min_voltage, amplitude},
                     AdaptationParams{tau_n, inc_n}, e.dt());
             })
        .def("add_adaptive_lif_rate",
             [](Engine& e, int local, std::int64_t order, int j, int out, int n, double tau_rc,
                double tau_ref, double amplitude, double tau_n, double inc_n) {
                 return add_real<nengo_mpi::AdaptiveLIFRate>(
                     e, local, order, j, out, n, LIFParams{tau_rc, tau_ref, 0.0, amplitude},
                     AdaptationParams{tau_n, inc_n}, e.dt());
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
             })
        .def("add_izhikevich",
             [](Engine& e, int local, std::int64_t order, int j, int out, int v, int u,
                double tau_recovery, double coupling, double reset_voltage,
                double reset_recovery) {
                 return add_real<nengo_mpi::Izhikevich>(
                     e, local, order, j, out, v, u,
                     IzhikevichParams{tau_recovery, coupling, reset_voltage, reset_recovery},
                     e.dt());
             })
        .def("add_sigmoid",
             [](Engine& e, int local, std::int64_t order, int j, int out, double tau_ref) {
                 return add_real<nengo_mpi::Sigmoid>(e, local, order, j, out, tau_ref);
             })
        .def("add_tanh",
             [](Engine& e, int local, std::int64_t order, int j, int out, double tau_ref) {
                 return add_real<nengo_mpi::Tanh>(e, local, order, j, out, tau_ref);
             })
        .def("add_regular_spiking",
             [](Engine& e, int local, std::int64_t order, int rate, int out, int v,
                double amplitude) {
                 return add_real<nengo_mpi::RegularSpiking>(e, local, order, rate, out, v,
                                                            amplitude, e.dt());
             })
        // The two stochastic types draw from a generator that must be seeded with
        // Engine.set_rng_state before the first step.
        .def("add_stochastic_spiking",
             [](Engine& e, int local, std::int64_t order, int rate, int out, double amplitude,
                bool negative) {
                 return add_real<nengo_mpi::StochasticSpiking>(e, local, order, rate, out,
                                                               amplitude, negative, e.dt());
             })
        .def("add_poisson_spiking",
             [](Engine& e, int local, std::int64_t order, int rate, int out, double amplitude,
                bool negative) {
                 return add_real<nengo_mpi::PoissonSpiking>(e, local, order, rate, out,
                                                            amplitude, negative, e.dt());
             });
}
