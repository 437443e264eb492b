// Shape checks shared by op constructors: a lowering mistake becomes an exception with
// the op's name at setup, never a wrong number (or an out-of-bounds read) at run time.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace nengo_mpi {

inline void check_len(const char* op, const char* what, std::int64_t got, std::int64_t want) {
    if (got != want) {
        throw std::invalid_argument(std::string(op) + ": " + what + " has " +
                                    std::to_string(got) + " elements, expected " +
                                    std::to_string(want));
    }
}

}  // namespace nengo_mpi
