"""Decoder solves done ahead of nengo's build, by worker processes or other ranks.

`DecoderPrefetch.start` plans the solves of a network (`solve_plan`), hands them to
worker processes forked from this one or, under MPI, to the other ranks (`sources`),
and returns at once; nengo's builder then builds the model as usual, and
`PrefetchBuilder` hands each connection its decoders from the workers instead of
solving them. Results are the same whatever the number of workers or ranks, and
nengo's to the bit with one BLAS thread: every solve follows nengo's steps on the same
inputs (`decoders`; only LIF rates are native, bitwise). A connection whose solve failed
in a worker is solved by the build itself, so errors are nengo's own, raised where
nengo raises them; a worker that dies ends the build with a `BuildError` at once.
"""

import itertools
import multiprocessing
import os
import pickle
import sys

import numpy as np
from nengo.builder.network import seed_network
from nengo.exceptions import BuildError, ValidationError
from nengo.builder.connection import build_solver
from nengo.solvers import Solver

from ..lower.ownership import OwnershipBuilder
from . import solve_worker
from .decoders import build_decoders
from .solve_plan import (
    builder_of, connections_in_build_order, plan_chunks, solve_cost, solves_ahead,
)
from .sources import ForkedWorkers, OtherRanks, WorkerDied, pack_job

#: Environment variable that sets the default number of build workers.
WORKERS_ENV = "NENGO_MPI_BUILD_WORKERS"

#: Under MPI, rank 0 solves this share of what each other rank solves: it also builds
#: everything else meanwhile.
RANK0_SHARE = 0.5

_job_ids = itertools.count(1)


def usable_cores():
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def resolve_workers(build_workers):
    """The number of worker processes to fork for solving decoders.

    Parameters
    ----------
    build_workers : int or None
        Asked for by the user; None takes ``$NENGO_MPI_BUILD_WORKERS``, or else every
        usable core. Under MPI no process is forked (it is unsafe once MPI runs): the
        other ranks solve instead, unless ``build_workers`` is 0.
    """
    if build_workers is None:
        env = os.environ.get(WORKERS_ENV)
        if env is None:
            return usable_cores()
        try:
            build_workers = int(env)
        except ValueError:
            raise ValidationError(f"${WORKERS_ENV} must be a whole number (got {env!r})",
                                  attr="build_workers") from None
    if isinstance(build_workers, bool) or not isinstance(build_workers, (int, np.integer)) \
            or build_workers < 0:
        raise ValidationError(
            f"must be a whole number >= 0 (got {build_workers!r})", attr="build_workers")
    return int(build_workers)


class DecoderPrefetch:
    """The decoder solves of one network, being computed by a source (`sources`).

    Parameters
    ----------
    job : solve_worker.SolveJob
    chunk_of : dict
        Connection -> the id of the chunk it was sent in (connections solved by this
        process itself are absent).
    source : ForkedWorkers or OtherRanks
    """

    def __init__(self, job, chunk_of, source):
        self._job = job
        self._index = {conn: i for i, conn in enumerate(job.conns)}
        self._chunk_of = chunk_of
        self._source = source
        self._results = {}  # chunk id -> {index: payload}
        self._fingerprints = {}  # id of a built ensemble -> (it, its fingerprint)
        self.n_prefetched = 0

    @classmethod
    def start(cls, model, network, n_workers, session=None):
        """Plan ``network``'s solves and start them, on ``n_workers`` forked workers or,
        under an MPI ``session`` of more than one rank, on the other ranks.

        Seeds every object as nengo's `build_network` will (it keeps seeds already
        set), leaving numpy's global generator where nengo's own seeding leaves it.
        Returns None when there is nothing worth a worker.
        """
        distributed = session is not None and session.size > 1
        if n_workers < 1 or (session is not None and not distributed):
            return None
        if not distributed and not _can_fork():
            return None
        conns = [c for c in connections_in_build_order(network) if solves_ahead(c)]
        # Connections out of one ensemble side by side (at the first one's place), so
        # that one worker builds that ensemble, not several.
        first = {}
        for i, conn in enumerate(conns):
            first.setdefault(conn.pre_obj, i)
        conns.sort(key=lambda conn: first[conn.pre_obj])
        if len(conns) < 2:
            return None  # starting a worker costs more than one solve saves
        seed_as_nengo_will(model, network)
        needed = set(conns)
        for conn in conns:
            needed.add(conn.pre_obj)
            needed.add(conn.post_obj)
        job = solve_worker.SolveJob(
            next(_job_ids), conns, {o: model.seeds[o] for o in needed if o in model.seeds},
            {o: model.seeded[o] for o in needed if o in model.seeded}, model.dt)
        if distributed:
            payload = pack_job(job)
            if payload is None:
                return None
            chunks = plan_chunks(conns, session.size)
            by_rank = _deal(chunks, [solve_cost(c) for c in conns], session.size)
            chunk_of = {conns[i]: cid for rank, cs in enumerate(by_rank) if rank > 0
                        for cid, chunk in cs for i in chunk}
            return cls(job, chunk_of, OtherRanks(session, job.job_id, payload, by_rank))
        chunks = plan_chunks(conns, n_workers)
        chunk_of = {conns[i]: cid for cid, chunk in enumerate(chunks) for i in chunk}
        return cls(job, chunk_of, ForkedWorkers(job, chunks, min(n_workers, len(chunks))))

    def take(self, conn, built_pre):
        """``(eval_points, weights, solver_info, rng_state)`` for ``conn``, or None if
        the build must solve it itself."""
        chunk_id = self._chunk_of.pop(conn, None)
        if chunk_id is None:
            return None
        if chunk_id not in self._results:
            try:
                self._results[chunk_id] = self._source.result(chunk_id)
            except WorkerDied as e:
                self.close()
                raise BuildError(
                    f"Building {conn}: {e} (build_workers=0 in nengo_mpi.Simulator "
                    "solves in this process)") from None
        payload = self._results[chunk_id].pop(self._index[conn], None)
        if payload is None:
            return None
        eval_points, weights, info, rng_state, crc = pickle.loads(payload)
        if crc != self._fingerprint(built_pre):
            return None  # the pre ensemble built differently there: trust only ours
        self.n_prefetched += 1
        return eval_points, weights, info, rng_state

    def _fingerprint(self, built_pre):
        # Once per ensemble: an ensemble with many outgoing connections (a nengo_spa
        # state's) would otherwise be checksummed for each of them.
        key = id(built_pre)
        if key not in self._fingerprints:
            self._fingerprints[key] = (built_pre, solve_worker.fingerprint(built_pre))
        return self._fingerprints[key][1]

    def close(self):
        """Stop the source (results not taken are dropped)."""
        if self._source is not None:
            self._source.close()
            self._source = None


def seed_as_nengo_will(model, network):
    """Give every object of ``network`` the seed nengo's build of it into ``model`` will.

    nengo's build seeds again (a no-op on seeds already set) and draws the same numbers
    from numpy's global generator: the generator is put back, so that they are drawn
    only once, as in a plain nengo build.
    """
    state = np.random.get_state()
    seed_network(network, seeds=model.seeds, seeded=model.seeded)
    np.random.set_state(state)


def _can_fork():
    """Whether worker processes may be forked: workers inherit the network by forking
    (elsewhere, solve in this process), and a process running MPI must not fork (e.g. a
    Simulator with the session suspended in an MPI job)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    mpi = sys.modules.get("mpi4py.MPI")
    return mpi is None or not (mpi.Is_initialized() and not mpi.Is_finalized())


def _deal(chunks, costs, size):
    """Chunks per rank, ``[[(chunk_id, indices)], ...]``: each chunk in build order to
    the rank with the least work for its share (rank 0's share is `RANK0_SHARE`)."""
    share = [RANK0_SHARE] + [1.0] * (size - 1)
    load = [0.0] * size
    by_rank = [[] for _ in range(size)]
    for cid, chunk in enumerate(chunks):
        rank = min(range(size), key=lambda r: (load[r] / share[r], r))
        load[rank] += sum(costs[i] for i in chunk)
        by_rank[rank].append((cid, chunk))
    return by_rank


class PrefetchBuilder(OwnershipBuilder):
    """`OwnershipBuilder` that builds the solvers of nengo's `build_solver` itself:
    decoders from its ``prefetch`` (a `DecoderPrefetch`, set on the model's builder
    while `nengo_mpi.construction.construct.build_into` builds) when a worker solved
    them, else solved here (`nengo_mpi.construction.decoders`, as the workers do)."""

    #: The running build's `DecoderPrefetch`, or None.
    prefetch = None

    @classmethod
    def build(cls, model, obj, *args, **kwargs):
        if isinstance(obj, Solver) and builder_of(obj) is build_solver:
            conn, rng = args
            prefetch = model.builder.prefetch
            found = (None if prefetch is None
                     else prefetch.take(conn, model.params[conn.pre_obj]))
            if found is None:
                return build_decoders(model, conn, rng)
            eval_points, weights, info, rng_state = found
            # Later draws of this connection (a sampled transform) continue from
            # where the solve left nengo's generator.
            rng.set_state(rng_state)
            return eval_points, weights, info
        return super().build(model, obj, *args, **kwargs)
