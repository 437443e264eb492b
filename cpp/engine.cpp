#include "engine.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <stdexcept>
#include <string>

#include "random/numpy_random.hpp"

namespace nengo_mpi {

struct Engine::Component {
    int id;
    SignalBuffer buffer;
    Component(int id_, const std::uint8_t* initial, std::size_t nbytes)
        : id(id_), buffer(initial, nbytes) {}
};

struct Engine::OpSlot {
    int local;
    std::int64_t order;
    std::unique_ptr<Op> op;
    Clock::duration time{};  // while profiling
    std::int64_t calls = 0;
};

struct Engine::LocalChannel {
    SignalBuffer* src;
    View src_view;
    SignalBuffer* dst;
    View dst_view;
    std::int64_t send_after;
    std::vector<std::uint8_t> staging;
};

// One channel's end on this rank, as added; finalize() groups them into RemoteEnds.
struct Engine::ChannelEnd {
    int tag;
    int peer;
    SignalBuffer* buffer;
    View view;
    std::int64_t send_after;
    std::int64_t recv_before;
    bool same_step;
};

// One message per step to or from one peer: the views of one or more channels, packed
// one after another in tag order (both ends sort the same tags, so they agree).
struct Engine::RemoteEnd {
    struct Part {
        SignalBuffer* buffer;
        View view;
        std::size_t offset;
    };
    std::vector<Part> parts;
    std::int64_t order;
    std::unique_ptr<Transfer> transfer;
    int peer = 0;
    std::size_t bytes = 0;   // of the whole message
    bool same_step = false;  // receives only: the value is read in the step that sends it

    void pack() {
        for (const Part& p : parts) {
            pack_view(p.buffer->data(), p.view, transfer->staging() + p.offset);
        }
    }
    void unpack() {
        for (const Part& p : parts) {
            unpack_view(transfer->staging() + p.offset, p.buffer->data(), p.view);
        }
    }
};

struct Engine::Probe {
    SignalBuffer* buffer;
    View view;
    double period;
    std::vector<std::uint8_t> data;
    std::int64_t samples = 0;
};

// One entry of the step schedule. Actions with the same global order run receives first,
// then the op, then sends: a receive must land before its first reader, a send must
// follow its last writer.
struct Engine::Action {
    enum Kind : int { Recv = 0, RunOp = 1, LocalSend = 2, Send = 3 };
    std::int64_t order;
    Kind kind;
    int index;
};

std::size_t view_nbytes(const View& view) {
    return static_cast<std::size_t>(view.size()) * dtype_size(view.dtype);
}

namespace {

bool is_contiguous(const View& v) {
    std::int64_t expected = 1;
    for (int d = v.ndim - 1; d >= 0; --d) {
        if (v.shape[d] != 1 && v.strides[d] != expected) return false;
        expected *= v.shape[d];
    }
    return true;
}

// Visits the byte offsets of a view's elements in row-major order.
template <class F>
void for_each_element(const View& v, F&& f) {
    const auto item = static_cast<std::int64_t>(dtype_size(v.dtype));
    std::array<std::int64_t, kMaxDims> idx{};
    const std::int64_t n = v.size();
    for (std::int64_t k = 0; k < n; ++k) {
        std::int64_t off = 0;
        for (int d = 0; d < v.ndim; ++d) off += idx[d] * v.strides[d];
        f(static_cast<std::int64_t>(v.byte_offset) + off * item, k * item);
        for (int d = v.ndim - 1; d >= 0; --d) {
            if (++idx[d] < v.shape[d]) break;
            idx[d] = 0;
        }
    }
}

}  // namespace

void pack_view(const std::uint8_t* base, const View& view, std::uint8_t* out) {
    const std::size_t item = dtype_size(view.dtype);
    if (is_contiguous(view)) {
        std::memcpy(out, base + view.byte_offset, view_nbytes(view));
        return;
    }
    for_each_element(view, [&](std::int64_t src, std::int64_t dst) {
        std::memcpy(out + dst, base + src, item);
    });
}

void unpack_view(const std::uint8_t* in, std::uint8_t* base, const View& view) {
    const std::size_t item = dtype_size(view.dtype);
    if (is_contiguous(view)) {
        std::memcpy(base + view.byte_offset, in, view_nbytes(view));
        return;
    }
    for_each_element(view, [&](std::int64_t dst, std::int64_t src) {
        std::memcpy(base + dst, in + src, item);
    });
}

// Splits the wall time of run() into compute, wait and exchange, reading the clock
// as little as possible. Waits that block are always timed (two reads each, and a test
// first, which costs what a wait that returns at once costs). Telling exchange from
// compute needs a read at every switch between ops and messages, two per message: that
// is done on one step in kDetailEvery only, and on the other steps the time outside
// blocked waits ("busy") is split in the proportion the detailed steps measured
// (Engine::timing). The phases add up to the whole time inside run().
template <bool On>
class Engine::Stopwatch {
public:
    enum Phase { kCompute, kExchange };

    explicit Stopwatch(PhaseTotals& totals) : totals_(totals), last_(Clock::now()) {}
    ~Stopwatch() { lap(Clock::now()); }
    Stopwatch(const Stopwatch&) = delete;
    Stopwatch& operator=(const Stopwatch&) = delete;

    // Called at the start of every step: one clock read.
    void step(bool detailed) {
        lap(Clock::now());
        detailed_ = detailed;
        phase_ = kCompute;
    }

    void to(Phase p) {
        if (!detailed_ || p == phase_) return;
        lap(Clock::now());
        phase_ = p;
    }

    // Completes a transfer; the time counts as waiting only if it had to block.
    void complete(Transfer& t) {
        if (t.test()) return;
        ++totals_.blocked;
        const Clock::time_point start = Clock::now();
        lap(start);
        t.wait();
        last_ = Clock::now();
        totals_.wait += last_ - start;
    }

private:
    void lap(Clock::time_point now) {
        const Clock::duration d = now - last_;
        if (!detailed_) {
            totals_.busy += d;
        } else if (phase_ == kCompute) {
            totals_.compute += d;
        } else {
            totals_.exchange += d;
        }
        last_ = now;
    }

    PhaseTotals& totals_;
    Clock::time_point last_;
    bool detailed_ = false;
    Phase phase_ = kCompute;
};

template <>
class Engine::Stopwatch<false> {
public:
    enum Phase { kCompute, kExchange };
    explicit Stopwatch(PhaseTotals&) {}
    void step(bool) {}
    void to(Phase) {}
    void complete(Transfer& t) { t.wait(); }
};

Engine::Engine(double dt, std::unique_ptr<Comm> comm) : dt_(dt), comm_(std::move(comm)) {
    // nengo accepts dt == 0 for models that are only stepped to inspect signals.
    if (!(dt >= 0.0)) throw std::invalid_argument("dt must not be negative");
    if (!comm_) comm_ = make_local_comm();
}

Engine::~Engine() = default;

void Engine::check_open() const {
    if (finalized_) throw std::logic_error("engine already finalized");
}

int Engine::add_component(int component_id, const std::uint8_t* initial, std::size_t nbytes) {
    check_open();
    components_.push_back(std::make_unique<Component>(component_id, initial, nbytes));
    return static_cast<int>(components_.size()) - 1;
}

SignalBuffer& Engine::buffer(int local) {
    if (local < 0 || local >= n_components()) {
        throw std::out_of_range("no local component " + std::to_string(local));
    }
    return components_[static_cast<std::size_t>(local)]->buffer;
}

int Engine::add_op(int local, std::int64_t order, std::unique_ptr<Op> op) {
    check_open();
    buffer(local);  // validates the index
    if (!op) throw std::invalid_argument("null op");
    ops_.push_back(std::make_unique<OpSlot>(OpSlot{local, order, std::move(op)}));
    seeds_checked_ = false;
    return static_cast<int>(ops_.size()) - 1;
}

void Engine::replace_op(int handle, std::unique_ptr<Op> op) {
    if (handle < 0 || handle >= n_ops()) throw std::out_of_range("no op handle");
    if (!op) throw std::invalid_argument("null op");
    ops_[static_cast<std::size_t>(handle)]->op = std::move(op);
    seeds_checked_ = false;
}

Op& Engine::op(int handle) {
    if (handle < 0 || handle >= n_ops()) throw std::out_of_range("no op handle");
    return *ops_[static_cast<std::size_t>(handle)]->op;
}

std::string Engine::op_kind(int handle) const {
    if (handle < 0 || handle >= n_ops()) throw std::out_of_range("no op handle");
    return ops_[static_cast<std::size_t>(handle)]->op->kind();
}

void Engine::add_local_channel(int src_local, int src_view, int dst_local, int dst_view,
                               std::int64_t send_after) {
    check_open();
    SignalBuffer& src = buffer(src_local);
    SignalBuffer& dst = buffer(dst_local);
    const View& sv = src.view(src_view);
    const View& dv = dst.view(dst_view);
    if (sv.size() != dv.size() || sv.dtype != dv.dtype) {
        throw std::invalid_argument("local channel: source and destination views differ");
    }
    local_channels_.push_back(std::make_unique<LocalChannel>(
        LocalChannel{&src, sv, &dst, dv, send_after, std::vector<std::uint8_t>(view_nbytes(sv))}));
}

namespace {
// A peer outside the communicator would be an MPI error only once the first message
// starts, and the per-peer traffic tables (step_bytes_sent, ...) are indexed by it.
void check_peer(const char* what, int tag, int peer, int size) {
    if (peer < 0 || peer >= size) {
        throw std::out_of_range(std::string(what) + ": channel " + std::to_string(tag) +
                                " names rank " + std::to_string(peer) + " of a job of " +
                                std::to_string(size) + " ranks");
    }
}

void check_same_step_orders(const char* what, int tag, std::int64_t send_after,
                            std::int64_t recv_before) {
    if (send_after < 0 || recv_before <= send_after) {
        throw std::invalid_argument(
            std::string(what) + ": same-step channel " + std::to_string(tag) +
            " needs both its send_after and a later recv_before (got " +
            std::to_string(send_after) + ", " + std::to_string(recv_before) + ")");
    }
}
}  // namespace

void Engine::add_send(int tag, int src_local, int src_view, int dst_rank,
                      std::int64_t send_after, bool same_step, std::int64_t recv_before) {
    check_open();
    if (same_step) check_same_step_orders("add_send", tag, send_after, recv_before);
    check_peer("add_send", tag, dst_rank, comm_->size());
    SignalBuffer& src = buffer(src_local);
    pending_sends_.push_back(ChannelEnd{tag, dst_rank, &src, src.view(src_view), send_after,
                                        recv_before, same_step});
}

void Engine::add_recv(int tag, int dst_local, int dst_view, int src_rank,
                      std::int64_t recv_before, bool same_step, std::int64_t send_after) {
    check_open();
    if (same_step) check_same_step_orders("add_recv", tag, send_after, recv_before);
    check_peer("add_recv", tag, src_rank, comm_->size());
    SignalBuffer& dst = buffer(dst_local);
    pending_recvs_.push_back(ChannelEnd{tag, src_rank, &dst, dst.view(dst_view), send_after,
                                        recv_before, same_step});
}

void Engine::group_channels(std::vector<ChannelEnd>& ends, bool send,
                            std::vector<std::unique_ptr<RemoteEnd>>& out) {
    // Both ends of a pair of ranks see the same channels between them and sort them the
    // same way, so they form the same groups. Update channels: one group per peer, in
    // tag order. Same-step channels: per peer in send order, each group a run whose last
    // send precedes its first receive (see add_send). A group's message is tagged with
    // its first channel's tag, which no other message between the pair uses.
    std::stable_sort(ends.begin(), ends.end(), [](const ChannelEnd& a, const ChannelEnd& b) {
        if (a.same_step != b.same_step) return a.same_step < b.same_step;
        if (a.peer != b.peer) return a.peer < b.peer;
        if (a.same_step && a.send_after != b.send_after) return a.send_after < b.send_after;
        return a.tag < b.tag;
    });
    for (std::size_t i = 0; i < ends.size();) {
        std::size_t j = i + 1;
        if (!ends[i].same_step) {
            while (j < ends.size() && !ends[j].same_step && ends[j].peer == ends[i].peer) ++j;
        } else {
            std::int64_t first_recv = ends[i].recv_before;
            while (j < ends.size() && ends[j].same_step && ends[j].peer == ends[i].peer &&
                   ends[j].send_after < std::min(first_recv, ends[j].recv_before)) {
                first_recv = std::min(first_recv, ends[j].recv_before);
                ++j;
            }
        }
        auto end = std::make_unique<RemoteEnd>();
        std::size_t nbytes = 0;
        // A send goes after the last writer of any of its parts; a receive lands before
        // the first reader of any.
        end->order = send ? ends[i].send_after : ends[i].recv_before;
        for (std::size_t k = i; k < j; ++k) {
            end->parts.push_back(RemoteEnd::Part{ends[k].buffer, ends[k].view, nbytes});
            // Each view's size fits in 63 bits (SignalBuffer::add_view), but views that
            // repeat one element can be that large; a sum that wrapped around would make
            // a small staging buffer that the parts are then packed far beyond.
            if (__builtin_add_overflow(nbytes, view_nbytes(ends[k].view), &nbytes)) {
                throw std::length_error("the channels of one message to or from rank " +
                                        std::to_string(ends[i].peer) +
                                        " hold more bytes than 64 bits count");
            }
            end->order = send ? std::max(end->order, ends[k].send_after)
                              : std::min(end->order, ends[k].recv_before);
        }
        end->same_step = ends[i].same_step;
        end->peer = ends[i].peer;
        end->bytes = nbytes;
        end->transfer = send ? comm_->open_send(ends[i].peer, ends[i].tag, nbytes)
                             : comm_->open_recv(ends[i].peer, ends[i].tag, nbytes);
        out.push_back(std::move(end));
        i = j;
    }
    ends.clear();
}

int Engine::add_probe(int local, int view, double period) {
    if (!(period > 0.0) || !std::isfinite(period)) {
        throw std::invalid_argument("probe period must be positive and finite");
    }
    SignalBuffer& buf = buffer(local);
    probes_.push_back(std::make_unique<Probe>(Probe{&buf, buf.view(view), period, {}, 0}));
    return static_cast<int>(probes_.size()) - 1;
}

void Engine::finalize() {
    check_open();
    schedule_.clear();
    group_channels(pending_sends_, /*send=*/true, sends_);
    group_channels(pending_recvs_, /*send=*/false, recvs_);
    for (std::size_t i = 0; i < ops_.size(); ++i) {
        schedule_.push_back(Action{ops_[i]->order, Action::RunOp, static_cast<int>(i)});
    }
    for (std::size_t i = 0; i < local_channels_.size(); ++i) {
        schedule_.push_back(
            Action{local_channels_[i]->send_after, Action::LocalSend, static_cast<int>(i)});
    }
    for (std::size_t i = 0; i < sends_.size(); ++i) {
        schedule_.push_back(Action{sends_[i]->order, Action::Send, static_cast<int>(i)});
    }
    for (std::size_t i = 0; i < recvs_.size(); ++i) {
        schedule_.push_back(Action{recvs_[i]->order, Action::Recv, static_cast<int>(i)});
    }
    // stable: ops of equal order (the replicated TimeUpdate) keep their insertion order.
    std::stable_sort(schedule_.begin(), schedule_.end(), [](const Action& a, const Action& b) {
        return a.order != b.order ? a.order < b.order : a.kind < b.kind;
    });
    finalized_ = true;
}

void Engine::record_probes() {
    const auto n = static_cast<double>(steps_);
    for (auto& probe : probes_) {
        if (std::fmod(n, probe->period) < 1.0) {
            const std::size_t at = probe->data.size();
            probe->data.resize(at + view_nbytes(probe->view));
            pack_view(probe->buffer->data(), probe->view, probe->data.data() + at);
            ++probe->samples;
        }
    }
}

void Engine::check_seeded() const {
    // An op that draws random numbers from a generator nobody seeded would draw zeros
    // (see NumpyRandom::seeded): a setup call is missing, e.g. from a damaged file.
    for (const auto& slot : ops_) {
        const NumpyRandom* rng = slot->op->random();
        if (rng != nullptr && !rng->seeded()) {
            throw std::invalid_argument(std::string("op ") + slot->op->kind() + " (order " +
                                        std::to_string(slot->order) +
                                        ") draws random numbers but its generator was "
                                        "never seeded (Engine.set_rng_state)");
        }
    }
}

void Engine::run(std::int64_t steps, const std::function<void()>& between_steps) {
    if (!finalized_) throw std::logic_error("engine not finalized");
    if (drained_) throw std::logic_error("engine was drained; reset it before running again");
    if (steps < 0) throw std::invalid_argument("negative number of steps");
    // Once per set of ops, not per call: nengo_gui and Simulator.step() call run(1) every
    // step, and only add_op/replace_op can bring in an unseeded generator.
    if (!seeds_checked_) {
        check_seeded();
        seeds_checked_ = true;
    }
    // The step counter comes from checkpoints too (set_steps): running on past the
    // largest int64 would be a signed overflow, and the step numbers would repeat.
    if (steps > std::numeric_limits<std::int64_t>::max() - steps_) {
        throw std::overflow_error("running " + std::to_string(steps) + " steps from step " +
                                  std::to_string(steps_) + " overflows the step counter");
    }
    // Room for the samples this run records, so that probes do not grow (and fault in
    // fresh pages) step after step; still geometric growth, or a run of single steps
    // would copy the data every step. A probe samples at most once per step: the count
    // is capped in double before the conversion, which a tiny period would overflow.
    for (auto& probe : probes_) {
        const double per_period = static_cast<double>(steps) / probe->period + 1.0;
        const auto samples = static_cast<std::size_t>(
            std::min(per_period, static_cast<double>(steps)));
        std::size_t needed = 0;
        if (__builtin_mul_overflow(samples, view_nbytes(probe->view), &needed) ||
            __builtin_add_overflow(needed, probe->data.size(), &needed)) {
            continue;  // more than memory holds: recording fails when it gets there
        }
        if (needed > probe->data.capacity()) {
            probe->data.reserve(std::max(needed, 2 * probe->data.capacity()));
        }
    }
    // One loop, compiled three times, so that timing that is off costs nothing at all
    // and profiling costs nothing unless it is on.
    if (profile_) {
        run_steps<true, true>(steps, between_steps);
    } else if (timing_) {
        run_steps<true, false>(steps, between_steps);
    } else {
        run_steps<false, false>(steps, between_steps);
    }
}

template <bool Timed, bool Profile>
void Engine::run_steps(std::int64_t steps, const std::function<void()>& between_steps) {
    // An op that throws (a user's Node function, nengo's own SimulationError checks) must
    // not leave other ranks waiting for this rank's messages. Alone, the engine stops at
    // once, as nengo does. With peers, it keeps the step schedule's message traffic going
    // until the end of this run() call, skipping its ops, and rethrows then; the caller
    // learns of every rank's errors when the ranks next meet.
    const bool alone = comm_->size() == 1;
    std::exception_ptr error;
    using Watch = Stopwatch<Timed>;
    Watch watch(phase_totals_);
    for (std::int64_t s = 0; s < steps; ++s) {
        const bool first = !started_;
        watch.step(timed_steps_ % kDetailEvery == 0);
        for (const Action& a : schedule_) {
            switch (a.kind) {
                case Action::RunOp: {
                    if (error) break;
                    watch.to(Watch::kCompute);
                    OpSlot& slot = *ops_[static_cast<std::size_t>(a.index)];
                    try {
                        if constexpr (Profile) {
                            const Clock::time_point t0 = Clock::now();
                            slot.op->step();
                            slot.time += Clock::now() - t0;
                            ++slot.calls;
                        } else {
                            slot.op->step();
                        }
                    } catch (...) {
                        if (alone) throw;
                        error = std::current_exception();
                    }
                    break;
                }
                case Action::LocalSend: {
                    // The readers of this step are done (reads precede updates), so the
                    // replica can take the new value now, ready for the next step.
                    watch.to(Watch::kCompute);
                    LocalChannel& c = *local_channels_[static_cast<std::size_t>(a.index)];
                    pack_view(c.src->data(), c.src_view, c.staging.data());
                    unpack_view(c.staging.data(), c.dst->data(), c.dst_view);
                    break;
                }
                case Action::Send: {
                    RemoteEnd& e = *sends_[static_cast<std::size_t>(a.index)];
                    watch.to(Watch::kExchange);
                    watch.complete(*e.transfer);  // the previous step's message has left
                    e.pack();
                    e.transfer->start();
                    break;
                }
                case Action::Recv: {
                    RemoteEnd& e = *recvs_[static_cast<std::size_t>(a.index)];
                    watch.to(Watch::kExchange);
                    if (e.same_step) {
                        // Sent earlier in this same step by an op before us in the global
                        // order. Every rank runs that order, so the rank we wait for never
                        // waits for us first; no receive is left posted between steps.
                        e.transfer->start();
                        watch.complete(*e.transfer);
                        e.unpack();
                        break;
                    }
                    // On the first step the replica holds the initial value, which is what
                    // the reference simulator reads too; later steps take last step's send.
                    if (!first) {
                        watch.complete(*e.transfer);
                        e.unpack();
                    }
                    e.transfer->start();  // posted early, so the sender never waits on us
                    break;
                }
            }
        }
        ++steps_;
        started_ = true;
        if constexpr (Timed) ++timed_steps_;
        watch.to(Watch::kCompute);
        if (!error) record_probes();
        // Not deferred like an op's error: an interrupt ends the job on every rank (the
        // Python side aborts the MPI job on KeyboardInterrupt), so the peers are not
        // left waiting, and a long run() would otherwise only end at its last step.
        if (between_steps && !error) between_steps();
    }
    if (error) std::rethrow_exception(error);
}

void Engine::drain() {
    // Every step posts one receive per incoming channel and one send per outgoing channel;
    // after the last step exactly one of each is outstanding and they match each other.
    for (auto& e : recvs_) e->transfer->wait();
    for (auto& e : sends_) e->transfer->wait();
    drained_ = started_;
}

void Engine::reset() {
    drain();
    for (auto& slot : ops_) slot->op->reset();
    for (auto& p : probes_) {
        p->data.clear();
        p->samples = 0;
    }
    steps_ = 0;
    started_ = false;
    drained_ = false;
}

void Engine::settle() {
    if (!finalized_) throw std::logic_error("engine not finalized");
    if (drained_) throw std::logic_error("engine was drained; reset it before settling");
    if (!started_) return;  // no receive posted: the replicas already hold the next value
    for (auto& e : recvs_) {
        if (e->same_step) continue;  // completed within the step that sent it
        e->transfer->wait();
        e->unpack();
    }
    started_ = false;
}

void Engine::set_steps(std::int64_t steps) {
    if (started_ || drained_) {
        throw std::logic_error(
            "set_steps: the engine has already run and posted receives; settle or reset it "
            "first");
    }
    if (steps < 0) throw std::invalid_argument("set_steps: negative step number");
    steps_ = steps;
}

EngineTiming Engine::timing() const {
    using Seconds = std::chrono::duration<double>;
    const auto seconds = [](Clock::duration d) {
        return std::chrono::duration_cast<Seconds>(d).count();
    };
    const PhaseTotals& p = phase_totals_;
    EngineTiming t;
    const double compute = seconds(p.compute);
    const double exchange = seconds(p.exchange);
    // Steps that were not detailed are split like the detailed ones (the first step of
    // the engine always is); all compute if those had no time at all.
    const double share = compute + exchange > 0 ? compute / (compute + exchange) : 1.0;
    t.compute_s = compute + share * seconds(p.busy);
    t.exchange_s = exchange + (1.0 - share) * seconds(p.busy);
    t.wait_s = seconds(p.wait);
    t.steps = timed_steps_;
    t.blocked = p.blocked;
    return t;
}

std::vector<std::int64_t> Engine::per_peer(const std::vector<std::unique_ptr<RemoteEnd>>& ends,
                                           bool bytes) const {
    std::vector<std::int64_t> out(static_cast<std::size_t>(comm_->size()), 0);
    for (const auto& e : ends) {
        out[static_cast<std::size_t>(e->peer)] +=
            bytes ? static_cast<std::int64_t>(e->bytes) : 1;
    }
    return out;
}

std::vector<std::int64_t> Engine::step_bytes_sent() const { return per_peer(sends_, true); }
std::vector<std::int64_t> Engine::step_bytes_received() const { return per_peer(recvs_, true); }
std::vector<std::int64_t> Engine::step_messages_sent() const { return per_peer(sends_, false); }
std::vector<std::int64_t> Engine::step_messages_received() const {
    return per_peer(recvs_, false);
}

std::vector<OpKindTime> Engine::op_profile() const {
    using Seconds = std::chrono::duration<double>;
    // A model has a few dozen kinds at most: a linear search per op is enough here.
    std::vector<OpKindTime> out;
    for (const auto& slot : ops_) {
        const std::string kind = slot->op->kind();
        auto it = std::find_if(out.begin(), out.end(),
                               [&](const OpKindTime& k) { return k.kind == kind; });
        if (it == out.end()) it = out.insert(out.end(), OpKindTime{kind, 0.0, 0, 0});
        it->seconds += std::chrono::duration_cast<Seconds>(slot->time).count();
        it->calls += slot->calls;
        ++it->ops;
    }
    return out;
}

std::vector<double> Engine::op_seconds() const {
    using Seconds = std::chrono::duration<double>;
    std::vector<double> out;
    out.reserve(ops_.size());
    for (const auto& slot : ops_) {
        out.push_back(std::chrono::duration_cast<Seconds>(slot->time).count());
    }
    return out;
}

std::vector<std::int64_t> Engine::op_calls() const {
    std::vector<std::int64_t> out;
    out.reserve(ops_.size());
    for (const auto& slot : ops_) out.push_back(slot->calls);
    return out;
}

const View& Engine::probe_view(int probe) const {
    if (probe < 0 || probe >= n_probes()) throw std::out_of_range("no probe");
    return probes_[static_cast<std::size_t>(probe)]->view;
}

std::int64_t Engine::probe_samples(int probe) const {
    probe_view(probe);
    return probes_[static_cast<std::size_t>(probe)]->samples;
}

std::vector<std::uint8_t> Engine::take_probe(int probe) {
    probe_view(probe);
    std::vector<std::uint8_t> out;
    Probe& p = *probes_[static_cast<std::size_t>(probe)];
    out.swap(p.data);
    p.samples = 0;
    return out;
}

}  // namespace nengo_mpi
