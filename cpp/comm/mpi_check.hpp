// The one place raw MPI return codes become exceptions.
#pragma once

#include <mpi.h>

#include <stdexcept>
#include <string>

namespace nengo_mpi {

inline void mpi_check(int code, const char* call) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(code, text, &len);
    throw std::runtime_error(std::string(call) + " failed: " + std::string(text, len));
}

}  // namespace nengo_mpi

#define NENGO_MPI_CHECK(call) ::nengo_mpi::mpi_check((call), #call)
