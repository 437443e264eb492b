// The single Python module entry; each topic registers itself from its own file.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void register_config(py::module_& m);
void register_engine(py::module_& m);
void register_basic_ops(py::module_& m);
void register_neuron_ops(py::module_& m);
void register_process_ops(py::module_& m);
void register_learning_ops(py::module_& m);
void register_transform_ops(py::module_& m);
void register_random(py::module_& m);
void register_build(py::module_& m);

PYBIND11_MODULE(_engine, m) {
    m.doc() = "nengo_mpi's C++ engine (see nengo_mpi.runtime for how it is driven)";
    register_config(m);
    register_engine(m);  // first: the others add methods to its Engine class
    register_basic_ops(m);
    register_neuron_ops(m);
    register_process_ops(m);
    register_learning_ops(m);
    register_transform_ops(m);
    register_random(m);
    register_build(m);
}
