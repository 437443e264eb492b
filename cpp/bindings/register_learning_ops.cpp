// Engine.add_* for learning operators.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bindings/op_binding.hpp"
#include "ops/learning.hpp"

namespace py = pybind11;
using nengo_mpi::DType;
using nengo_mpi::Engine;
using nengo_mpi::bindings::add;
using nengo_mpi::bindings::add_real;
using nengo_mpi::bindings::Index;

namespace {

bool is_real(DType d) { return d == DType::f64 || d == DType::f32; }

// SimRLS's r/delta and P/error may differ in dtype (see ops/learning.hpp): pick the
// instantiation from r's and P's dtypes; the constructor checks the other two views.
int add_rls(Engine& e, int local, std::int64_t order, int pre, int error, int delta, int p) {
    const DType r_dtype = e.buffer(local).view(pre).dtype;
    const DType p_dtype = e.buffer(local).view(p).dtype;
    if (!is_real(r_dtype) || !is_real(p_dtype)) {
        throw std::invalid_argument(std::string("SimRLS computes in float64 or float32, not ") +
                                    dtype_name(is_real(r_dtype) ? p_dtype : r_dtype));
    }
    const bool r64 = r_dtype == DType::f64;
    const bool p64 = p_dtype == DType::f64;
    using nengo_mpi::SimRLS;
    if (r64 && p64) return add<SimRLS<double, double>>(e, local, order, pre, error, delta, p);
    if (r64) return add<SimRLS<double, float>>(e, local, order, pre, error, delta, p);
    if (p64) return add<SimRLS<float, double>>(e, local, order, pre, error, delta, p);
    return add<SimRLS<float, float>>(e, local, order, pre, error, delta, p);
}

}  // namespace

void register_learning_ops(py::module_& m) {
    nengo_mpi::bindings::engine_class(m)
        .def("add_sim_pes",
             [](Engine& e, int local, std::int64_t order, int pre, int error, int delta,
                double alpha) {
                 return add_real<nengo_mpi::SimPES>(e, local, order, pre, error, delta, alpha);
             },
             py::arg("local"), py::arg("order"), py::arg("pre"), py::arg("error"),
             py::arg("delta"), py::arg("alpha"))
        .def("add_sim_bcm",
             [](Engine& e, int local, std::int64_t order, int pre, int post, int theta,
                int delta, double alpha) {
                 return add_real<nengo_mpi::SimBCM>(e, local, order, pre, post, theta, delta,
                                                    alpha);
             },
             py::arg("local"), py::arg("order"), py::arg("pre"), py::arg("post"),
             py::arg("theta"), py::arg("delta"), py::arg("alpha"))
        .def("add_sim_oja",
             [](Engine& e, int local, std::int64_t order, int pre, int post, int weights,
                int delta, double alpha, double beta) {
                 return add_real<nengo_mpi::SimOja>(e, local, order, pre, post, weights, delta,
                                                    alpha, beta);
             },
             py::arg("local"), py::arg("order"), py::arg("pre"), py::arg("post"),
             py::arg("weights"), py::arg("delta"), py::arg("alpha"), py::arg("beta"))
        .def("add_sim_voja",
             [](Engine& e, int local, std::int64_t order, int pre, int post, int encoders,
                int learning, int delta, double alpha, std::vector<double> scale) {
                 return add_real<nengo_mpi::SimVoja>(e, local, order, pre, post, encoders,
                                                     learning, delta, alpha, scale);
             },
             py::arg("local"), py::arg("order"), py::arg("pre"), py::arg("post"),
             py::arg("encoders"), py::arg("learning"), py::arg("delta"), py::arg("alpha"),
             py::arg("scale"))
        .def("add_sim_rls", &add_rls, py::arg("local"), py::arg("order"), py::arg("pre"),
             py::arg("error"), py::arg("delta"), py::arg("p"));
}
