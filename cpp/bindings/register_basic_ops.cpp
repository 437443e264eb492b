// Engine.add_* for nengo's bookkeeping and linear-algebra operators.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/op_binding.hpp"
#include "ops/basic.hpp"
#include "ops/linalg.hpp"

namespace py = pybind11;
using nengo_mpi::DType;
using nengo_mpi::Engine;
using nengo_mpi::bindings::add;
using nengo_mpi::bindings::add_real;
using nengo_mpi::bindings::Index;

namespace {

// nengo's step counter follows the precision setting too (int64 or int32).
template <class T>
int add_time_update(Engine& e, int local, std::int64_t order, int step, int time) {
    const DType step_dtype = e.buffer(local).view(step).dtype;
    if (step_dtype == DType::i64) {
        return add<nengo_mpi::TimeUpdate<T, std::int64_t>>(e, local, order, step, time, e.dt());
    }
    return add<nengo_mpi::TimeUpdate<T, std::int32_t>>(e, local, order, step, time, e.dt());
}

}  // namespace

void register_basic_ops(py::module_& m) {
    nengo_mpi::bindings::engine_class(m)
        .def("add_time_update",
             [](Engine& e, int local, std::int64_t order, int step, int time) {
                 if (e.buffer(local).view(time).dtype == DType::f32) {
                     return add_time_update<float>(e, local, order, step, time);
                 }
                 return add_time_update<double>(e, local, order, step, time);
             },
             py::arg("local"), py::arg("order"), py::arg("step"), py::arg("time"))
        .def("add_reset",
             [](Engine& e, int local, std::int64_t order, int dst, double value) {
                 return add_real<nengo_mpi::Reset>(e, local, order, dst, value);
             },
             py::arg("local"), py::arg("order"), py::arg("dst"), py::arg("value"))
        .def("add_copy",
             [](Engine& e, int local, std::int64_t order, int src, int dst, Index src_index,
                Index dst_index, bool inc) {
                 const DType s = e.buffer(local).view(src).dtype;
                 const DType d = e.buffer(local).view(dst).dtype;
                 if (s == DType::f32 && d == DType::f64) {
                     return add<nengo_mpi::Copy<float, double>>(
                         e, local, order, src, dst, std::move(src_index), std::move(dst_index),
                         inc);
                 }
                 if (s == DType::f64 && d == DType::f32) {
                     return add<nengo_mpi::Copy<double, float>>(
                         e, local, order, src, dst, std::move(src_index), std::move(dst_index),
                         inc);
                 }
                 return add_real<nengo_mpi::Copy>(e, local, order, src, dst,
                                                  std::move(src_index), std::move(dst_index),
                                                  inc);
             },
             py::arg("local"), py::arg("order"), py::arg("src"), py::arg("dst"),
             py::arg("src_index"), py::arg("dst_index"), py::arg("inc"))
        .def("add_elementwise_inc",
             [](Engine& e, int local, std::int64_t order, int a, int x, int y) {
                 return add_real<nengo_mpi::ElementwiseInc>(e, local, order, a, x, y);
             },
             py::arg("local"), py::arg("order"), py::arg("a"), py::arg("x"), py::arg("y"))
        .def("add_dot_inc",
             [](Engine& e, int local, std::int64_t order, int a, int x, int y) {
                 return add_real<nengo_mpi::DotInc>(e, local, order, a, x, y);
             },
             py::arg("local"), py::arg("order"), py::arg("a"), py::arg("x"), py::arg("y"))
        .def("add_sparse_dot_inc",
             [](Engine& e, int local, std::int64_t order, int data, int x, int y, Index indptr,
                Index indices) {
                 return add_real<nengo_mpi::SparseDotInc>(e, local, order, data, x, y,
                                                          std::move(indptr), std::move(indices));
             },
             py::arg("local"), py::arg("order"), py::arg("data"), py::arg("x"),
             py::arg("y"), py::arg("indptr"), py::arg("indices"))
        .def("add_bsr_dot_inc",
             [](Engine& e, int local, std::int64_t order, int data, int x, int y,
                std::int64_t block_rows, std::int64_t block_cols, Index indptr, Index indices) {
                 return add_real<nengo_mpi::BsrDotInc>(e, local, order, data, x, y, block_rows,
                                                       block_cols, std::move(indptr),
                                                       std::move(indices));
             },
             py::arg("local"), py::arg("order"), py::arg("data"), py::arg("x"),
             py::arg("y"), py::arg("block_rows"), py::arg("block_cols"), py::arg("indptr"),
             py::arg("indices"));
}
