// Engine.add_* for processes and synapses (nengo's SimProcess), and the hook that gives
// WhiteSignal its new signal on reset.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "bindings/op_binding.hpp"
#include "ops/processes.hpp"
#include "ops/synapses.hpp"

namespace py = pybind11;
using nengo_mpi::Engine;
using nengo_mpi::SynapseSpec;
using nengo_mpi::bindings::add_real;

namespace {

using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

nengo_mpi::WriteMode write_mode(int mode) {
    if (mode < 0 || mode > 2) throw std::invalid_argument("unknown write mode");
    return static_cast<nengo_mpi::WriteMode>(mode);
}

nengo_mpi::NoiseDist noise_dist(int dist) {
    if (dist < 0 || dist > 1) throw std::invalid_argument("unknown noise distribution");
    return static_cast<nengo_mpi::NoiseDist>(dist);
}

SynapseSpec linear_spec(int x, int form, std::vector<double> A, std::vector<double> B,
                        std::vector<double> C, double D) {
    if (form < 0 || form > 3) throw std::invalid_argument("unknown filter form");
    SynapseSpec spec;
    spec.kind = SynapseSpec::Kind::Linear;
    spec.form = static_cast<nengo_mpi::FilterForm>(form);
    spec.A = std::move(A);
    spec.B = std::move(B);
    spec.C = std::move(C);
    spec.D = D;
    spec.x_view = x;
    return spec;
}

SynapseSpec triangle_spec(int ystate, int x, int xi, double n0, double ndiff) {
    SynapseSpec spec;
    spec.kind = SynapseSpec::Kind::Triangle;
    spec.y_view = ystate;
    spec.x_view = x;
    spec.xi_view = xi;
    spec.n0 = n0;
    spec.ndiff = ndiff;
    return spec;
}

template <class T>
bool try_set_table(nengo_mpi::Op& op, const DoubleArray& values) {
    auto* table = dynamic_cast<nengo_mpi::TimeTable<T>*>(&op);
    if (table == nullptr) return false;
    table->set_table(values.data(), static_cast<std::int64_t>(values.size()));
    return true;
}

}  // namespace

void register_process_ops(py::module_& m) {
    nengo_mpi::bindings::engine_class(m)
        .def("add_linear_filter",
             [](Engine& e, int local, std::int64_t order, int u, int y, int x, int form,
                int mode, std::vector<double> A, std::vector<double> B, std::vector<double> C,
                double D) {
                 return add_real<nengo_mpi::Synapse>(
                     e, local, order, u, y, write_mode(mode),
                     linear_spec(x, form, std::move(A), std::move(B), std::move(C), D));
             },
             py::arg("local"), py::arg("order"), py::arg("u"), py::arg("y"), py::arg("x"),
             py::arg("form"), py::arg("mode"), py::arg("A"), py::arg("B"), py::arg("C"),
             py::arg("D"))
        .def("add_triangle",
             [](Engine& e, int local, std::int64_t order, int u, int y, int ystate, int x,
                int xi, int mode, double n0, double ndiff) {
                 return add_real<nengo_mpi::Synapse>(e, local, order, u, y, write_mode(mode),
                                                     triangle_spec(ystate, x, xi, n0, ndiff));
             },
             py::arg("local"), py::arg("order"), py::arg("u"), py::arg("y"),
             py::arg("ystate"), py::arg("x"), py::arg("xi"), py::arg("mode"),
             py::arg("n0"), py::arg("ndiff"))
        .def("add_white_noise",
             [](Engine& e, int local, std::int64_t order, int y, int mode, int dist, double p0,
                double p1, bool scale, double alpha) {
                 return add_real<nengo_mpi::Noise>(e, local, order, y, write_mode(mode),
                                                   noise_dist(dist), p0, p1, scale, alpha,
                                                   SynapseSpec{});
             },
             py::arg("local"), py::arg("order"), py::arg("y"), py::arg("mode"),
             py::arg("dist"), py::arg("p0"), py::arg("p1"), py::arg("scale"),
             py::arg("alpha"))
        .def("add_filtered_noise_linear",
             [](Engine& e, int local, std::int64_t order, int y, int mode, int dist, double p0,
                double p1, bool scale, double alpha, int x, int form, std::vector<double> A,
                std::vector<double> B, std::vector<double> C, double D) {
                 return add_real<nengo_mpi::Noise>(
                     e, local, order, y, write_mode(mode), noise_dist(dist), p0, p1, scale,
                     alpha, linear_spec(x, form, std::move(A), std::move(B), std::move(C), D));
             },
             py::arg("local"), py::arg("order"), py::arg("y"), py::arg("mode"),
             py::arg("dist"), py::arg("p0"), py::arg("p1"), py::arg("scale"),
             py::arg("alpha"), py::arg("x"), py::arg("form"), py::arg("A"), py::arg("B"),
             py::arg("C"), py::arg("D"))
        .def("add_filtered_noise_triangle",
             [](Engine& e, int local, std::int64_t order, int y, int mode, int dist, double p0,
                double p1, bool scale, double alpha, int ystate, int x, int xi, double n0,
                double ndiff) {
                 return add_real<nengo_mpi::Noise>(e, local, order, y, write_mode(mode),
                                                   noise_dist(dist), p0, p1, scale, alpha,
                                                   triangle_spec(ystate, x, xi, n0, ndiff));
             },
             py::arg("local"), py::arg("order"), py::arg("y"), py::arg("mode"),
             py::arg("dist"), py::arg("p0"), py::arg("p1"), py::arg("scale"),
             py::arg("alpha"), py::arg("ystate"), py::arg("x"), py::arg("xi"),
             py::arg("n0"), py::arg("ndiff"))
        .def("add_time_table",
             [](Engine& e, int local, std::int64_t order, int y, int t, int mode, int rule,
                double dt, double param, std::vector<double> keys, const DoubleArray& table) {
                 if (rule < 0 || rule > 3) throw std::invalid_argument("unknown table rule");
                 std::vector<double> values(table.data(), table.data() + table.size());
                 return add_real<nengo_mpi::TimeTable>(
                     e, local, order, y, t, write_mode(mode),
                     static_cast<nengo_mpi::TableIndex>(rule), dt, param, std::move(keys),
                     std::move(values));
             },
             py::arg("local"), py::arg("order"), py::arg("y"), py::arg("t"),
             py::arg("mode"), py::arg("rule"), py::arg("dt"), py::arg("param"),
             py::arg("keys"), py::arg("table"))
        .def("set_process_table",
             // WhiteSignal draws its whole signal when nengo makes its step function, so
             // a reset (new seed) brings a new table, computed in Python.
             [](Engine& e, int handle, const DoubleArray& values) {
                 nengo_mpi::Op& op = e.op(handle);
                 if (!try_set_table<double>(op, values) && !try_set_table<float>(op, values)) {
                     throw std::invalid_argument(std::string("op ") + op.kind() +
                                                 " has no table");
                 }
             });
}
