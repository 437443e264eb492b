"""Both sides of a distributed construction and of the fetches that follow it.

Rank 0 sends ``("build", sim_id)`` and a broadcast of the packed `BuildOrder`; every
rank builds and lowers its part (`nengo_mpi.construction.distributed.build_part`) and
rank 0 gathers ``(digest, fallbacks, error)`` from all of them. A serving rank keeps its
part until rank 0 opens the engines (``("open", ..., prebuilt=True)`` takes the part
from here instead of a scatter) or closes the simulator.

Rank 0's model holds shadows for what other ranks built. ``("fetch", sim_id, rank,
kind, indices)`` asks ``rank`` for the real values: ``"params"`` (``model.params`` of
`fetchable` objects, for ``sim.data``) or ``"initial"`` (initial values of base
signals, by their place in ``lowered.home``, to complete a model being pickled).
"""

import pickle
import traceback
import warnings

from nengo.exceptions import BuildError

from ..construction.distributed import (
    build_part, fetchable, pack_order, unpack_order,
)
from ..construction.shadow import rank_of_component
from ..lower.fallback import PythonFallbackWarning
from . import protocol

BUILD, FETCH = "build", "fetch"
PARAMS, INITIAL = "params", "initial"

#: Tag of the point-to-point replies to fetches (kept apart from other sends).
FETCH_TAG = 7302


class Kept:
    """What a serving rank keeps of one distributed construction."""

    def __init__(self, built, size, rank):
        lowered = built.lowered
        self.part = protocol.ship(lowered, [rank_of_component(c, size) for c in
                                            range(lowered.n_components)], size)[rank]
        self.objects = fetchable(built.model.toplevel)
        self.params = built.model.params
        self.bases = list(lowered.home)

    def values(self, kind, indices):
        if kind == PARAMS:
            return [self.params.get(self.objects[i]) for i in indices]
        return [self.bases[i].initial_value for i in indices]


def build_everywhere(session, order, model, progress=None):
    """Rank 0: build ``order`` on every rank (this one into ``model``).

    Returns
    -------
    sim_id : int
        The id the serving ranks keep their parts under.
    built : LocalBuild or None
        Rank 0's part; None if ``order`` cannot be sent (the caller builds alone).
    fallbacks : list of int
        Global order of every rank's operators that run through Python.
    """
    payload = pack_order(order)
    if payload is None:
        return None, None, []
    comm = session.comm
    sim_id = session.new_id()
    protocol.send_command(comm, (BUILD, sim_id))
    comm.bcast(payload, root=0)
    del payload
    built, error = None, None
    try:
        built = build_part(order, session.rank, session.size, model=model,
                           progress=progress)
    except Exception as e:  # pylint: disable=broad-except
        error = e  # raised below, once every rank has answered
    except BaseException as e:
        # KeyboardInterrupt and the like: the others would wait for our answer forever.
        session.abort(f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
    replies = comm.gather(None if built is None else (built.digest, built.fallbacks, None),
                          root=0)
    if error is None:
        error = protocol.first_error(reply[2] if reply is not None else None
                                     for reply in replies)
    if error is None:
        for rank, (digest, _, _) in enumerate(replies):
            if digest != built.digest:
                error = BuildError(
                    f"rank {rank} derived a different model structure from rank 0's "
                    "(a nengo_mpi bug: please report it with the script); build with "
                    "NENGO_MPI_DISTRIBUTED_BUILD=0 meanwhile")
                break
    if error is not None:
        protocol.send_command(comm, (protocol.CLOSE, sim_id))
        raise error
    fallbacks = sorted({i for _, found, _ in replies for i in found})
    return sim_id, built, fallbacks


def serve_build(session, sim_id, kept):
    """A serving rank's side of ``("build", sim_id)``: build its part, answer rank 0
    and keep the part in ``kept`` (by ``sim_id``) until the engine opens."""
    comm = session.comm
    payload = comm.bcast(None, root=0)
    reply = None
    try:
        order = unpack_order(payload)
        del payload
        with warnings.catch_warnings():
            # Every rank opens nengo's decoder cache at once, and all but one find it
            # locked (and use it read-only): expected here, not news to the user.
            warnings.filterwarnings("ignore", message="Decoder cache")
            # Rank 0 says which operators of every rank run through Python.
            warnings.simplefilter("ignore", PythonFallbackWarning)
            built = build_part(order, session.rank, session.size)
        kept[sim_id] = Kept(built, session.size, session.rank)
        reply = (built.digest, built.fallbacks, None)
        del built
    except Exception as e:  # pylint: disable=broad-except
        reply = (None, [], protocol.pack_error(e, session.rank))
    comm.gather(reply, root=0)


def fetch(session, sim_id, rank, kind, indices):
    """Rank 0: the ``kind`` values (see the module's docstring) of ``indices`` from
    ``rank``."""
    protocol.send_command(session.comm, (FETCH, sim_id, rank, kind, list(indices)))
    status, value = session.comm.recv(source=rank, tag=FETCH_TAG)
    if status == "error":
        raise BuildError(f"could not fetch {kind} from rank {rank}: {value}")
    return pickle.loads(value)


def serve_fetch(session, cmd, kept):
    """A serving rank's side of ``("fetch", sim_id, rank, kind, indices)``."""
    _, sim_id, rank, kind, indices = cmd
    if rank != session.rank:
        return
    try:
        reply = ("ok", pickle.dumps(kept[sim_id].values(kind, indices),
                                    protocol=pickle.HIGHEST_PROTOCOL))
    except Exception as e:  # pylint: disable=broad-except
        reply = ("error", f"{type(e).__name__}: {e}")
    session.comm.send(reply, dest=0, tag=FETCH_TAG)
