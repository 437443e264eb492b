"""Where decoder solves done ahead come from: forked worker processes, or other ranks.

A source takes chunks of a `solve_worker.SolveJob` (lists of connection indices) and
gives back, per chunk, ``{index: payload or None}`` (see `solve_worker.solve_chunk`).
`WorkerDied` means a result will never come.
"""

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import cloudpickle
import nengo
from threadpoolctl import threadpool_limits

from . import solve_worker

#: Tag of the point-to-point messages that carry solved chunks to rank 0 (kept apart
#: from the control protocol's own sends).
RESULT_TAG = 7301


class WorkerDied(RuntimeError):
    """A worker process ended before sending its results."""


class ForkedWorkers:
    """Chunks solved by worker processes forked from this one.

    Forking lets the workers inherit the job (and any class or function the user's
    script defined) without pickling it.
    """

    def __init__(self, job, chunks, n_workers):
        solve_worker.JOB = job
        self._job = job
        self._executor = ProcessPoolExecutor(
            max_workers=n_workers, mp_context=multiprocessing.get_context("fork"),
            initializer=solve_worker.init_worker)
        self._futures = [self._executor.submit(solve_worker.solve_chunk, job.job_id, chunk)
                         for chunk in chunks]

    def result(self, chunk_id):
        try:
            return dict(self._futures[chunk_id].result())
        except BrokenProcessPool:
            raise WorkerDied("a worker process solving decoders died") from None
        except Exception:  # pylint: disable=broad-except
            return {}  # the chunk as a whole failed there: solved by the build

    def close(self):
        if self._executor is not None:
            # Results not taken are dropped; a chunk being solved finishes on its own.
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        if solve_worker.JOB is self._job:
            solve_worker.JOB = None


def rc_state():
    """nengo's settings as a picklable dict (other ranks did not run the user's script,
    so their settings, such as float precision and the decoder cache, may differ)."""
    return {section: dict(nengo.rc[section]) for section in nengo.rc.sections()}


def pack_job(job):
    """The job as the other ranks receive it (cloudpickled with nengo's settings, so a
    script's own functions travel by value), or None if it cannot travel (a solver,
    function or neuron type holding a lock or a file...): rank 0 then solves it all."""
    try:
        return cloudpickle.dumps((job, rc_state()), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # pylint: disable=broad-except
        return None


class OtherRanks:
    """Chunks solved by the other ranks of the MPI job, which are serving rank 0.

    Rank 0 sends the job (``payload``, from `pack_job`) and
    each rank's chunks with the ``SOLVE`` command of `nengo_mpi.runtime.protocol`; each
    rank sends every chunk's results as soon as they are solved, in order.
    """

    def __init__(self, session, job_id, payload, chunks_by_rank):
        from ..runtime import protocol  # pylint: disable=import-outside-toplevel

        self._comm = session.comm
        self._pending = {}  # rank -> chunk ids not yet received, in sending order
        self._received = {}
        self.chunk_rank = {}
        protocol.send_command(self._comm, (protocol.SOLVE, job_id))
        self._comm.bcast(payload, root=0)
        self._comm.scatter(chunks_by_rank, root=0)
        for rank, chunks in enumerate(chunks_by_rank):
            if rank > 0 and chunks:
                self._pending[rank] = [chunk_id for chunk_id, _ in chunks]
                for chunk_id, _ in chunks:
                    self.chunk_rank[chunk_id] = rank

    def result(self, chunk_id):
        rank = self.chunk_rank[chunk_id]
        while chunk_id not in self._received:
            self._receive_next(rank)
        return dict(self._received.pop(chunk_id))

    def _receive_next(self, rank):
        got_id, results = self._comm.recv(source=rank, tag=RESULT_TAG)
        expected = self._pending[rank].pop(0)
        assert got_id == expected, (got_id, expected)
        self._received[got_id] = results

    def close(self):
        # Every result must be received, even unused ones: the ranks send them all and
        # then go back to serving the control protocol.
        for rank, pending in self._pending.items():
            while pending:
                self._receive_next(rank)
        self._received.clear()


def serve_solve(session, job_id):
    """A serving rank's side of the ``SOLVE`` command: solve its chunks, send each
    chunk's results to rank 0 as soon as it is done."""
    comm = session.comm
    payload = comm.bcast(None, root=0)
    chunks = comm.scatter(None, root=0)
    try:
        job, rc = pickle.loads(payload)
    except Exception:  # pylint: disable=broad-except
        job = None  # e.g. a class that exists only on rank 0: rank 0 solves them all
    saved = rc_state()
    try:
        if job is not None:
            apply_rc(rc)
            solve_worker.JOB = job
        # One BLAS thread, as in a forked worker: the ranks share the cores.
        with threadpool_limits(limits=1):
            for chunk_id, indices in chunks:
                results = [(i, None) for i in indices]  # rank 0 solves these itself
                if job is not None:
                    try:
                        results = solve_worker.solve_chunk(job_id, indices)
                    except Exception:  # pylint: disable=broad-except
                        # e.g. the decoder cache cannot be opened on this node: rank 0
                        # must still get an answer for every chunk, or it would wait.
                        job = None
                comm.send((chunk_id, results), dest=0, tag=RESULT_TAG)
    finally:
        solve_worker.JOB = None
        solve_worker.forget_scratch()
        apply_rc(saved)


def apply_rc(state):
    """Make nengo's settings those of ``state`` (from `rc_state`)."""
    for section, values in state.items():
        for key, value in values.items():
            nengo.rc[section][key] = value
