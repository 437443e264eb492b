// The per-rank engine: the components this rank simulates, their ops merged into one
// schedule, the channel actions between them and to other ranks, and probe recording.
//
// Why one merged schedule: every op carries its index in one global topological order
// (computed once, for the whole model). Running this rank's ops in that order means
// increments into a signal always accumulate in the same order whatever the number of
// ranks, so results are bitwise independent of the rank count; and it makes a channel
// between two components on the same rank a single copy, because nengo's order puts all
// reads of a signal before the update that writes its next value.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "comm/comm.hpp"
#include "ops/op.hpp"
#include "signals/buffer.hpp"

namespace nengo_mpi {

// Where this rank's time inside Engine::run went, summed over every run() since the
// engine was made (reset() does not clear it: it is the cost of the simulation, not
// simulation state). compute + wait + exchange is the wall time spent inside run().
struct EngineTiming {
    double compute_s = 0.0;   // ops, copies between components on this rank, probes
    double wait_s = 0.0;      // blocked in Transfer::wait (a peer's message, or our own
                              // previous send still leaving its staging buffer)
    double exchange_s = 0.0;  // packing, unpacking, starting and completing messages
    std::int64_t steps = 0;   // steps run with timing on
    std::int64_t blocked = 0; // waits that blocked (the message was not there yet)
};

// Per-op-kind compute time, recorded only while profiling is on (set_profile).
struct OpKindTime {
    std::string kind;
    double seconds = 0.0;
    std::int64_t calls = 0;
    int ops = 0;  // ops of this kind on this rank
};

class Engine {
public:
    Engine(double dt, std::unique_ptr<Comm> comm);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    double dt() const { return dt_; }
    Comm& comm() { return *comm_; }

    // Adds a component given the initial bytes of its buffer; returns its local index.
    int add_component(int component_id, const std::uint8_t* initial, std::size_t nbytes);
    SignalBuffer& buffer(int local);
    int n_components() const { return static_cast<int>(components_.size()); }

    // `order` is the op's position in the global order. Returns a handle for replace_op.
    int add_op(int local, std::int64_t order, std::unique_ptr<Op> op);
    // Swaps an op's implementation (Python fallbacks are re-made on reset, as nengo does).
    void replace_op(int handle, std::unique_ptr<Op> op);
    Op& op(int handle);

    // A channel carries one signal written in one component to a replica in another. It
    // is sent right after its last writer (`send_after`, a global order) and received
    // right before its first reader (`recv_before`). A value written by update ops is read
    // in the next step; a `same_step` channel carries a value set or incremented and read
    // within one step (e.g. across a connection without a synapse).
    void add_local_channel(int src_local, int src_view, int dst_local, int dst_view,
                           std::int64_t send_after);
    //
    // Update channels between one pair of ranks travel as one message per step (sent
    // after the last of their writers, received before the first of their readers):
    // one message of many values costs about what one value costs, and a random graph
    // cut in two has hundreds of crossing connections.
    //
    // Same-step channels between a pair of ranks are grouped too, into runs whose last
    // send comes before their first receive in the global order: a message that is sent
    // at or after the last writer of all its parts and awaited at or before the first
    // reader of any still always waits for something earlier in the global order, so no
    // rank can wait for another that waits for it. (An EnsembleArray's output node on
    // another rank would otherwise cost one message per ensemble per step.) Both ends
    // must group alike, so each end of a same-step channel is given both orders.
    void add_send(int tag, int src_local, int src_view, int dst_rank, std::int64_t send_after,
                  bool same_step = false, std::int64_t recv_before = -1);
    void add_recv(int tag, int dst_local, int dst_view, int src_rank, std::int64_t recv_before,
                  bool same_step = false, std::int64_t send_after = -1);

    // Records a view after every step whose number n satisfies fmod(n, period) < 1,
    // nengo's rule for Probe.sample_every.
    int add_probe(int local, int view, double period);

    // Builds the schedule; must be called once after everything is added.
    void finalize();

    // Runs `steps` steps. If an op throws, the exception is rethrown: at once when this
    // is the only rank, else after the remaining steps' messages (ops skipped), so that
    // peers never wait forever; probes record nothing after the failing step.
    // `between_steps`, if given, is called after every step; what it throws is rethrown
    // at once, with or without peers (the caller ends the whole job then). The Python
    // binding checks there for signals (Ctrl-C), which the engine would otherwise not see
    // until the run ends, as it holds Python's interpreter lock.
    void run(std::int64_t steps, const std::function<void()>& between_steps = {});
    // Completes every message still in flight, so the ranks agree there is nothing pending.
    // Only reset() (or destruction) may follow: the last step's messages are consumed.
    void drain();
    // Drains, resets every op and clears probe data and the step count. Signals keep
    // their values: the caller writes the initial values back into buffer(local) (the
    // engine keeps no copy of them; see SignalBuffer).
    void reset();

    std::int64_t steps() const { return steps_; }
    // Continues a simulation from a checkpoint: the next step is number `steps` + 1 (probe
    // sampling follows it). Only while no receive is posted (before the first run(), or
    // after reset() or settle()): the first step after it takes update channels' values
    // from the replicas, which the caller restored.
    void set_steps(std::int64_t steps);
    // Completes the receives posted at the end of the last step and unpacks them, so that
    // every replica holds the value its next reader will read: the component buffers are
    // then a consistent state of the whole model (what a checkpoint stores, whatever the
    // rank count it is resumed at). The next step takes the replicas as they are. Every
    // rank may settle on its own: the messages it waits for were sent in the last step.
    void settle();
    // Whether the op draws random numbers (its generator state belongs in a checkpoint).
    // Throws std::invalid_argument naming the first op whose random generator was never
    // given a state (run() checks this before its first step).
    void check_seeded() const;
    bool op_has_rng(int handle) { return op(handle).random() != nullptr; }

    int n_probes() const { return static_cast<int>(probes_.size()); }
    const View& probe_view(int probe) const;
    std::int64_t probe_samples(int probe) const;
    // Copies out and clears the samples recorded since the last take (row-major bytes).
    std::vector<std::uint8_t> take_probe(int probe);

    int n_ops() const { return static_cast<int>(ops_.size()); }
    std::string op_kind(int handle) const;

    EngineTiming timing() const;
    // Bytes and messages this rank sends to / receives from each rank in one step,
    // indexed by rank (the traffic is the same every step: one message per channel).
    std::vector<std::int64_t> step_bytes_sent() const;
    std::vector<std::int64_t> step_bytes_received() const;
    std::vector<std::int64_t> step_messages_sent() const;
    std::vector<std::int64_t> step_messages_received() const;
    // Phase timing is on by default and costs one clock read per step, two per wait
    // that blocks and, on one step in kDetailEvery, two per message (see Stopwatch in
    // engine.cpp). Off, run() reads no clock and timing() stops advancing.
    void set_timing(bool on) { timing_ = on; }
    bool timing_enabled() const { return timing_; }
    // Timing every op (two clock reads each) is off by default; the time of ops is
    // then only known as a whole (EngineTiming::compute_s). Profiling implies timing.
    void set_profile(bool on) { profile_ = on; }
    bool profile() const { return profile_; }
    std::vector<OpKindTime> op_profile() const;
    // The same per op (by handle): seconds and calls while profiling.
    std::vector<double> op_seconds() const;
    std::vector<std::int64_t> op_calls() const;

private:
    struct Component;
    struct OpSlot;
    struct LocalChannel;
    struct RemoteEnd;
    struct ChannelEnd;
    struct Probe;
    struct Action;

    using Clock = std::chrono::steady_clock;

    // What the stopwatch accumulates, in clock ticks (summing durations is cheaper than
    // converting each lap to seconds).
    struct PhaseTotals {
        Clock::duration compute{};   // detailed steps only
        Clock::duration exchange{};  // detailed steps only
        Clock::duration busy{};      // other steps: everything but blocked waits
        Clock::duration wait{};      // every step
        std::int64_t blocked = 0;    // waits that blocked
    };
    template <bool On>
    class Stopwatch;

    template <bool Timed, bool Profile>
    void run_steps(std::int64_t steps, const std::function<void()>& between_steps);

    void record_probes();
    void group_channels(std::vector<ChannelEnd>& ends, bool send,
                        std::vector<std::unique_ptr<RemoteEnd>>& out);
    void check_open() const;
    std::vector<std::int64_t> per_peer(const std::vector<std::unique_ptr<RemoteEnd>>& ends,
                                       bool bytes) const;

    double dt_;
    std::unique_ptr<Comm> comm_;
    std::vector<std::unique_ptr<Component>> components_;
    std::vector<std::unique_ptr<OpSlot>> ops_;
    std::vector<std::unique_ptr<LocalChannel>> local_channels_;
    std::vector<ChannelEnd> pending_sends_, pending_recvs_;  // grouped by finalize()
    std::vector<std::unique_ptr<RemoteEnd>> sends_;
    std::vector<std::unique_ptr<RemoteEnd>> recvs_;
    std::vector<std::unique_ptr<Probe>> probes_;
    std::vector<Action> schedule_;
    bool finalized_ = false;
    bool drained_ = false;
    std::int64_t steps_ = 0;
    // Whether a step has run since construction or reset(): from then on every update
    // channel's receive for the next step is posted. Not steps_ > 0, which set_steps()
    // can make true before anything was posted.
    bool started_ = false;
    bool seeds_checked_ = false;  // check_seeded() passed for the ops as they are

    // Steps that tell compute from exchange (see Stopwatch in engine.cpp).
    static constexpr std::int64_t kDetailEvery = 16;
    PhaseTotals phase_totals_;
    std::int64_t timed_steps_ = 0;
    bool timing_ = true;
    bool profile_ = false;
};

// Copies the elements of a (possibly strided) view to/from packed row-major bytes.
void pack_view(const std::uint8_t* base, const View& view, std::uint8_t* out);
void unpack_view(const std::uint8_t* in, std::uint8_t* base, const View& view);
std::size_t view_nbytes(const View& view);

}  // namespace nengo_mpi
