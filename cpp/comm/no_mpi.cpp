// Stand-ins used when the engine is built without MPI (CMake compiles this file instead of
// mpi_comm.cpp), so the bindings need no #ifdef.
#include <stdexcept>

#include "comm/comm.hpp"

namespace nengo_mpi {

std::unique_ptr<Comm> make_mpi_comm(std::int64_t) {
    throw std::runtime_error(
        "this nengo_mpi engine was built without MPI; reinstall it in an environment with "
        "an MPI compiler wrapper (e.g. `pip install mpich` first) to run on several ranks");
}

bool have_mpi() { return false; }

std::string mpi_library_version() { return ""; }

}  // namespace nengo_mpi
