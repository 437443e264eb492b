"""The commands rank 0 broadcasts to the other ranks, and how both sides handle them.

Rank 0 owns every Simulator; the other ranks hold only their components' engines and
act on commands, in the order rank 0 issues them:

- ``("open", sim_id, dt, rank_of, n_ops, seed)`` then a scatter of each rank's
  (programs, channels) and a gather of build errors;
- ``("run", sim_id, steps)`` then a gather of the new probe samples;
- ``("reset", sim_id, seed)``;
- ``("close", sim_id)``;
- ``("exit", code)``: leave the serve loop with rank 0's exit code.
"""

import pickle
import traceback

from .host import RankEngine

OPEN, RUN, RESET, CLOSE, EXIT = "open", "run", "reset", "close", "exit"


def ship(lowered, rank_of, size):
    """Split a lowered model into what each rank needs: [(programs, channels)] per rank."""
    parts = [([], []) for _ in range(size)]
    for program in lowered.programs:
        parts[rank_of[program.component]][0].append(program)
    for ch in lowered.channels:
        ranks = {rank_of[ch.src_component], rank_of[ch.dst_component]}
        for r in ranks:
            parts[r][1].append(ch)
    return parts


def open_engine(session, data_comm, part, rank_of, dt, n_ops, seed):
    """Build this rank's engine; returns (engine or None, error text or None).

    ``part`` is (programs, channels), or its pickle when it came from rank 0.
    """
    if isinstance(part, bytes):
        try:
            part = pickle.loads(part)
        except Exception as e:
            return None, (
                f"rank {session.rank} could not load its components: {type(e).__name__}: "
                f"{e}. Objects defined in the script that rank 0 runs (e.g. your own "
                "neuron types or processes) do not exist on other ranks; assign the "
                "objects that use them to component 0."
            )
    programs, channels = part
    try:
        host = RankEngine(programs, channels, rank_of, dt, n_ops, comm=data_comm)
        host.make_fallback_steps(seed)
        return host, None
    except Exception as e:  # reported to rank 0, which raises it for the user
        comps = ", ".join(str(p.component) for p in programs)
        return None, (
            f"rank {session.rank} (components {comps}) could not build its engine: "
            f"{type(e).__name__}: {e}\n{traceback.format_exc()}"
        )


def serve(session):
    """The loop of every rank but 0; returns rank 0's exit code when told to exit."""
    comm = session.comm
    sims = {}
    while True:
        cmd = comm.bcast(None, root=0)
        kind = cmd[0]
        if kind == OPEN:
            _, sim_id, dt, rank_of, n_ops, seed = cmd
            part = comm.scatter(None, root=0)
            data_comm = comm.Dup()
            host, error = open_engine(session, data_comm, part, rank_of, dt, n_ops, seed)
            comm.gather(error, root=0)
            if host is not None:
                sims[sim_id] = (host, data_comm)
            else:
                data_comm.Free()
        elif kind == RUN:
            _, sim_id, steps = cmd
            host = sims[sim_id][0]
            try:
                host.run(steps)
            except BaseException as e:  # other ranks wait on our messages: end the job
                session.abort(f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
            comm.gather(host.take_probes(), root=0)
        elif kind == RESET:
            _, sim_id, seed = cmd
            sims[sim_id][0].reset(seed)
        elif kind == CLOSE:
            _, sim_id = cmd
            if sim_id in sims:
                host, data_comm = sims.pop(sim_id)
                host.close()
                del host
                data_comm.Free()
        elif kind == EXIT:
            return cmd[1]
        else:
            session.abort(f"unknown command {cmd!r} from rank 0")
