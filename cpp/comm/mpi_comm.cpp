#include <climits>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "comm/comm.hpp"
#include "comm/mpi_check.hpp"

namespace nengo_mpi {

namespace {

// MPI counts are ints: one message of MPI_BYTE holds at most INT_MAX bytes. Checked
// when the engine opens its channels (before the first step, and before the staging
// buffer is allocated), so an oversized message is an error the user can act on, not
// a count that wraps around mid-run.
std::size_t checked_message_size(std::size_t nbytes, int peer, int tag, bool send) {
    if (nbytes > static_cast<std::size_t>(INT_MAX)) {
        throw std::length_error(
            "a message of " + std::to_string(nbytes) + " bytes " +
            (send ? "to" : "from") + " rank " + std::to_string(peer) + " (tag " +
            std::to_string(tag) + ") is larger than one MPI message can be (" +
            std::to_string(INT_MAX) + " bytes): split the model into more components, "
            "so that fewer values cross between each pair of ranks in one message");
    }
    return nbytes;
}

// The staging buffers of sends still in flight when their transfer was destroyed (see
// ~MpiTransfer). Never freed: MPI may read them until the receivers take the messages.
std::vector<std::vector<std::uint8_t>>& orphaned_buffers() {
    static auto* kept = new std::vector<std::vector<std::uint8_t>>();
    return *kept;
}

class MpiTransfer final : public Transfer {
public:
    MpiTransfer(MPI_Comm comm, int peer, int tag, std::size_t nbytes, bool send)
        : comm_(comm), peer_(peer), tag_(tag), send_(send),
          staging_(checked_message_size(nbytes, peer, tag, send)) {}

    ~MpiTransfer() override {
        // A transfer still in flight at destruction means the engine was torn down
        // mid-run (an exception, or a Simulator closed before its peers received).
        if (request_ == MPI_REQUEST_NULL) return;
        if (!send_) {
            // Cancel receives so MPI does not write into freed memory.
            MPI_Cancel(&request_);
            MPI_Request_free(&request_);
            return;
        }
        int done = 0;
        MPI_Test(&request_, &done, MPI_STATUS_IGNORE);
        if (done) return;
        // A send cannot be cancelled (MPI 4 deprecates it) and waiting may never end
        // (the peer may be gone), but MPI may still read its buffer until the peer
        // receives: let the request go and keep the buffer for the process's lifetime.
        // Only sends in flight at teardown are kept, so this stays small.
        MPI_Request_free(&request_);
        orphaned_buffers().push_back(std::move(staging_));
    }

    std::uint8_t* staging() override { return staging_.data(); }

    void start() override {
        const int n = static_cast<int>(staging_.size());
        if (send_) {
            NENGO_MPI_CHECK(MPI_Isend(staging_.data(), n, MPI_BYTE, peer_, tag_, comm_, &request_));
        } else {
            NENGO_MPI_CHECK(MPI_Irecv(staging_.data(), n, MPI_BYTE, peer_, tag_, comm_, &request_));
        }
    }

    void wait() override {
        if (request_ == MPI_REQUEST_NULL) return;
        NENGO_MPI_CHECK(MPI_Wait(&request_, MPI_STATUS_IGNORE));
    }

    bool test() override {
        if (request_ == MPI_REQUEST_NULL) return true;
        int done = 0;
        NENGO_MPI_CHECK(MPI_Test(&request_, &done, MPI_STATUS_IGNORE));
        return done != 0;
    }

private:
    MPI_Comm comm_;
    int peer_;
    int tag_;
    bool send_;
    std::vector<std::uint8_t> staging_;
    MPI_Request request_ = MPI_REQUEST_NULL;
};

class MpiComm final : public Comm {
public:
    explicit MpiComm(MPI_Comm comm) : comm_(comm) {
        NENGO_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
        NENGO_MPI_CHECK(MPI_Comm_size(comm_, &size_));
        // Errors come back as codes and become exceptions (mpi_check) instead of aborting
        // the job from inside a kernel; the Python runtime decides how to shut down.
        NENGO_MPI_CHECK(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
    }
    int rank() const override { return rank_; }
    int size() const override { return size_; }
    std::unique_ptr<Transfer> open_send(int peer, int tag, std::size_t nbytes) override {
        return std::make_unique<MpiTransfer>(comm_, peer, tag, nbytes, true);
    }
    std::unique_ptr<Transfer> open_recv(int peer, int tag, std::size_t nbytes) override {
        return std::make_unique<MpiTransfer>(comm_, peer, tag, nbytes, false);
    }

private:
    MPI_Comm comm_;
    int rank_ = 0;
    int size_ = 1;
};

}  // namespace

std::unique_ptr<Comm> make_mpi_comm(std::int64_t fortran_handle) {
    int initialized = 0;
    NENGO_MPI_CHECK(MPI_Initialized(&initialized));
    if (!initialized) {
        throw std::runtime_error("MPI is not initialized (import mpi4py.MPI first)");
    }
    return std::make_unique<MpiComm>(MPI_Comm_f2c(static_cast<MPI_Fint>(fortran_handle)));
}

bool have_mpi() { return true; }

std::string mpi_library_version() {
    char text[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(text, &len);
    return std::string(text, static_cast<std::size_t>(len));
}

}  // namespace nengo_mpi
