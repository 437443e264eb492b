// Build facts that Python (and the tests, to decide what to skip) can ask about.
#include <pybind11/pybind11.h>

#include "comm/comm.hpp"

namespace py = pybind11;

void register_config(py::module_& m) {
    py::dict config;
    config["mpi"] = nengo_mpi::have_mpi();
    config["mpi_library"] = nengo_mpi::mpi_library_version();
#ifdef __VERSION__
    config["compiler"] = __VERSION__;
#endif
    m.attr("config") = config;
}
