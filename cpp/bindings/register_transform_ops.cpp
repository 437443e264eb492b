// Engine.add_* for transform operators.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/op_binding.hpp"

namespace py = pybind11;

void register_transform_ops(py::module_& m) {
    static_cast<void>(nengo_mpi::bindings::engine_class(m));
}
