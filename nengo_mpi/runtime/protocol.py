"""The commands rank 0 broadcasts to the other ranks, and how both sides handle them.

Rank 0 owns every Simulator; the other ranks hold only their components' engines and
act on commands, in the order rank 0 issues them:

- ``("open", sim_id, dt, rank_of, n_seed_slots, seed, prebuilt)`` then, unless
  ``prebuilt`` (each rank built its own programs: ``"build"`` below), a scatter of each
  rank's (programs, channels); then a gather of build errors;
- ``("build", sim_id)``, ``("fetch", sim_id, rank, kind, indices)`` and
  ``("save", sim_id, path, seed)``: distributed construction, what rank 0 fetches of
  it, and a parallel save of it (`nengo_mpi.runtime.distributed_build`);
- ``("run", sim_id, steps)`` then a gather of (new probe samples, error or None); an
  error raised by an operator is shipped to rank 0, which raises it (see `pack_error`);
- ``("reset", sim_id, seed)``;
- ``("read", sim_id, component, offset, nbytes)``: the rank running ``component`` sends
  those bytes of its buffer to rank 0; ``("write", sim_id, component, offset, raw)``
  stores ``raw`` there (``sim.signals`` of components on other ranks);
- ``("timing", sim_id)`` then a gather of (this rank's timing entry, error or None);
- ``("profile", sim_id, enabled)``: time every operator by kind from now on (or stop);
- ``("rng", sim_id)`` then a gather of (this rank's native generator states by
  (component, order), error or None);
- ``("steps", sim_id, n)``: continue from step n (a restored pickle; before any run);
- ``("close", sim_id)``;
- ``("solve", job_id)`` then a broadcast of the job and a scatter of each rank's chunks:
  solve decoders for rank 0's build and send each chunk's results to rank 0 as it is
  done (`nengo_mpi.construction.sources`);
- ``("forget", sim_ids)``: drop what distributed constructions left (`forget_later`);
- ``("exit", code)``: leave the serve loop with rank 0's exit code.
"""

import pickle
import time
import traceback
import weakref

import numpy as np

from nengo.exceptions import BuildError, SimulationError

from ..construction.sources import serve_solve
from .rank_engine import RankEngine

OPEN, RUN, RESET, CLOSE, EXIT = "open", "run", "reset", "close", "exit"
READ, WRITE = "read", "write"
TIMING, PROFILE = "timing", "profile"
RNG, STEPS = "rng", "steps"
SOLVE = "solve"
FORGET = "forget"


#: How long a serving rank polls for the next command before it starts sleeping
#: between polls (seconds).
SPIN_SECONDS = 0.002
#: The longest sleep between two polls (seconds): the most a command can wait.
MAX_NAP_SECONDS = 0.001


#: Ids of distributed constructions whose Simulator rank 0 no longer has: the serving
#: ranks are told to forget them with the next command (see `forget_later`).
_forgotten = []


def forget_later(sim, sim_id):
    """Have the serving ranks forget what they keep of ``sim_id`` (its parameters, for
    ``sim.data``) once ``sim`` is garbage. Nothing is sent from the collector, which
    may run in the middle of anything: the ids wait for rank 0's next command."""
    weakref.finalize(sim, _forgotten.append, sim_id)


def send_command(comm, cmd):
    """Rank 0: send ``cmd`` to every serving rank (see `receive_command`)."""
    while _forgotten:
        ids = list(_forgotten)
        del _forgotten[:len(ids)]
        _broadcast(comm, (FORGET, ids))
    _broadcast(comm, cmd)


def _broadcast(comm, cmd):
    comm.Ibcast(np.ones(1, dtype=np.int8), root=0).Wait()
    comm.bcast(cmd, root=0)


def receive_command(comm):
    """A serving rank: wait for rank 0's next command and return it.

    A blocking broadcast would busy-poll (MPICH's does) and take a core from rank 0
    while it builds a model or runs Python between runs. So the command is announced by
    a non-blocking broadcast that is polled at once for a moment (commands in a loop of
    ``sim.step()`` follow each other within microseconds), then with short naps.
    """
    request = comm.Ibcast(np.zeros(1, dtype=np.int8), root=0)
    start = time.perf_counter()
    while not request.Test():
        waited = time.perf_counter() - start
        if waited > SPIN_SECONDS:
            time.sleep(min(MAX_NAP_SECONDS, waited / 16))
    return comm.bcast(None, root=0)


def ship(lowered, rank_of, size):
    """Split a lowered model into what each rank needs: [(programs, channels)] per rank.

    (Programs lowered elsewhere, None in a halo build's model, are nobody's here.)"""
    parts = [([], []) for _ in range(size)]
    for program in lowered.programs:
        if program is not None:
            parts[rank_of[program.component]][0].append(program)
    for ch in lowered.channels:
        ranks = {rank_of[ch.src_component], rank_of[ch.dst_component]}
        for r in ranks:
            parts[r][1].append(ch)
    return parts


def open_engine(session, data_comm, part, rank_of, dt, n_seed_slots, seed):
    """Build this rank's engine; returns (engine or None, exception or None).

    ``part`` is (programs, channels), or its pickle when it came from rank 0. An
    exception comes back as it was raised (nengo's own ValidationErrors from
    ``make_step`` included), with a note saying where.
    """
    if isinstance(part, bytes):
        try:
            part = pickle.loads(part)
        except Exception as e:
            return None, BuildError(
                f"rank {session.rank} could not load its components: {type(e).__name__}: "
                f"{e}. Objects defined in the script that rank 0 runs (e.g. your own "
                "neuron types or processes) do not exist on other ranks; assign the "
                "objects that use them to component 0."
            )
    programs, channels = part
    try:
        host = RankEngine(programs, channels, rank_of, dt, n_seed_slots, comm=data_comm)
        host.make_fallback_steps(seed)
        return host, None
    except Exception as e:  # reported to rank 0, which raises it for the user
        comps = ", ".join(str(p.component) for p in programs)
        e.add_note(f"(while rank {session.rank} built the engine of components {comps})")
        return None, e


def pack_error(error, rank):
    """What rank ``rank`` ships to rank 0 about an operator's exception."""
    try:
        return pickle.dumps(error, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # an unpicklable exception still reaches the user as text
        return f"{type(error).__name__}: {error}"


def unpack_error(packed, rank):
    """The exception rank 0 raises for an error shipped by ``rank``."""
    if isinstance(packed, bytes):
        try:
            error = pickle.loads(packed)
        except Exception as e:  # e.g. a class that only exists on that rank
            error = SimulationError(f"an operator on rank {rank} failed (its exception "
                                    f"could not be loaded here: {e})")
    else:
        error = SimulationError(f"an operator on rank {rank} failed: {packed}")
    error.add_note(f"(raised on rank {rank} of the nengo_mpi job)")
    return error


def first_error(packed_by_rank):
    """The exception to raise for the lowest rank that shipped one, or None."""
    for rank, packed in enumerate(packed_by_rank):
        if packed is not None:
            return unpack_error(packed, rank)
    return None


def serve(session):
    """The loop of every rank but 0; returns rank 0's exit code when told to exit."""
    # pylint: disable=import-outside-toplevel
    from . import distributed_build  # which imports this module

    comm = session.comm
    sims = {}
    kept = {}  # sim_id -> what this rank built of it (distributed construction)
    while True:
        cmd = receive_command(comm)
        kind = cmd[0]
        if kind == OPEN:
            _, sim_id, dt, rank_of, n_seed_slots, seed, prebuilt = cmd
            if prebuilt:
                part, kept[sim_id].part = kept[sim_id].part, None
            else:
                part = comm.scatter(None, root=0)
            data_comm = comm.Dup()
            host, error = open_engine(
                session, data_comm, part, rank_of, dt, n_seed_slots, seed
            )
            comm.gather(None if error is None else pack_error(error, session.rank), root=0)
            if host is not None:
                sims[sim_id] = (host, data_comm)
            else:
                data_comm.Free()
        elif kind == RUN:
            _, sim_id, steps = cmd
            host = sims[sim_id][0]
            error = None
            try:
                host.run(steps)
            except Exception as e:  # the engine kept our messages going; rank 0 raises it
                error = pack_error(e, session.rank)
            except BaseException as e:  # KeyboardInterrupt etc.: no consistent state left
                session.abort(f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
            comm.gather((host.take_probes(), error), root=0)
        elif kind == READ:
            _, sim_id, comp, offset, nbytes = cmd
            host = sims.get(sim_id, (None,))[0]
            if host is not None and comp in host.local:
                comm.send(host.read_bytes(comp, offset, nbytes), dest=0)
        elif kind == WRITE:
            _, sim_id, comp, offset, raw = cmd
            host = sims.get(sim_id, (None,))[0]
            if host is not None and comp in host.local:
                host.write_bytes(comp, offset, raw)
        elif kind == TIMING:
            _, sim_id = cmd
            host = sims.get(sim_id, (None,))[0]
            entry, error = None, None
            try:
                if host is not None:
                    entry = host.timing()
            except Exception as e:  # pylint: disable=broad-except
                error = pack_error(e, session.rank)
            comm.gather((entry, error), root=0)
        elif kind == RNG:
            _, sim_id = cmd
            host = sims.get(sim_id, (None,))[0]
            states, error = {}, None
            try:
                if host is not None:
                    states = host.native_rng_states()
            except Exception as e:  # pylint: disable=broad-except
                error = pack_error(e, session.rank)
            comm.gather((states, error), root=0)
        elif kind == STEPS:
            _, sim_id, n = cmd
            host = sims.get(sim_id, (None,))[0]
            if host is not None:
                host.set_steps(n)
        elif kind == PROFILE:
            _, sim_id, enabled = cmd
            host = sims.get(sim_id, (None,))[0]
            if host is not None:
                host.set_profile(enabled)
        elif kind == RESET:
            _, sim_id, seed = cmd
            sims[sim_id][0].reset(seed)
        elif kind == distributed_build.BUILD:
            distributed_build.serve_build(session, cmd, kept)
        elif kind == distributed_build.FETCH:
            distributed_build.serve_fetch(session, cmd, kept)
        elif kind == distributed_build.SAVE:
            distributed_build.serve_save(session, cmd, kept)
        elif kind == FORGET:
            for sim_id in cmd[1]:
                kept.pop(sim_id, None)
        elif kind == CLOSE:
            _, sim_id = cmd
            if sim_id in sims:
                host, data_comm = sims.pop(sim_id)
                host.close()
                del host
                data_comm.Free()
        elif kind == SOLVE:
            serve_solve(session, cmd[1])
        elif kind == EXIT:
            return cmd[1]
        else:
            session.abort(f"unknown command {cmd!r} from rank 0")
