// Communication behind one interface. The engine only ever talks to a Comm; whether the
// peers are other MPI ranks or nothing at all (one process) is the implementation's
// business, so no MPI type or #ifdef appears anywhere else in the engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace nengo_mpi {

// One direction of one channel: a staging buffer plus a non-blocking transfer of it.
// A sender packs into staging() then start()s; a receiver start()s, later wait()s, then
// unpacks staging(). wait() on a transfer that was never started returns at once.
class Transfer {
public:
    virtual ~Transfer() = default;
    virtual std::uint8_t* staging() = 0;
    virtual void start() = 0;
    virtual void wait() = 0;
    // Completes the transfer if it can without blocking; true when nothing is pending.
    virtual bool test() = 0;
};

class Comm {
public:
    virtual ~Comm() = default;
    virtual int rank() const = 0;
    virtual int size() const = 0;
    // `tag` identifies the channel; messages between one pair of ranks with one tag are
    // matched in order, which is what makes one outstanding message per channel safe.
    virtual std::unique_ptr<Transfer> open_send(int peer, int tag, std::size_t nbytes) = 0;
    virtual std::unique_ptr<Transfer> open_recv(int peer, int tag, std::size_t nbytes) = 0;
};

// A single process: rank 0 of 1. Any attempt to reach another rank is a lowering bug.
std::unique_ptr<Comm> make_local_comm();

// An MPI communicator given by its Fortran handle (what mpi4py's Comm.py2f() returns), so
// the engine and mpi4py share one communicator without the engine needing mpi4py headers.
// Throws when the engine was built without MPI.
std::unique_ptr<Comm> make_mpi_comm(std::int64_t fortran_handle);

// Whether make_mpi_comm can work, and which MPI library the engine was built against.
bool have_mpi();
std::string mpi_library_version();

}  // namespace nengo_mpi
