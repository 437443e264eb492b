"""The worker side of solving decoders ahead: what a forked worker process runs.

A worker inherits the network, its seeds and nengo's settings from the process that
forked it (nothing is pickled on the way in, so a user's own solver, neuron type or
function needs no pickling either). It builds the pre ensembles it needs into a scratch
model with their own seeds, which gives the gain, bias and encoders the real build will
give them, and then solves on a fresh generator seeded as the
real build seeds it (`nengo_mpi.construction.decoders.build_decoders`, nengo's with native
LIF rates): the decoders are nengo's, bit for bit, whichever process computes them.
"""

import pickle
import zlib

import numpy as np
import nengo
from nengo.builder import Model
from threadpoolctl import threadpool_limits

from .decoder_cache import decoder_cache
from .decoders import build_decoders

#: Set by the parent before it forks its workers: the job to serve (`SolveJob`).
JOB = None

_scratch = {}  # job id -> this worker's scratch model


class SolveJob:
    """What the workers of one build share: the connections to solve (in build order)
    and the seeds nengo's builder will give every object."""

    def __init__(self, job_id, conns, seeds, seeded, dt):
        self.job_id = job_id
        self.conns = conns
        self.seeds = seeds
        self.seeded = seeded
        self.dt = dt


def fingerprint(built_ensemble):
    """A checksum of what a solve reads from the pre ensemble's build, so that the real
    build can check that the worker's ensemble is its own."""
    crc = 0
    for array in (built_ensemble.gain, built_ensemble.bias, built_ensemble.encoders,
                  built_ensemble.eval_points):
        crc = zlib.crc32(np.ascontiguousarray(array).data, crc)
    return crc


def _model(job):
    model = _scratch.get(job.job_id)
    if model is None:
        _scratch.clear()  # one job at a time per worker
        model = Model(dt=job.dt, decoder_cache=decoder_cache())
        model.seeds.update(job.seeds)
        model.seeded.update(job.seeded)
        _scratch[job.job_id] = model
    return model


def init_worker():
    """Start of a forked worker: one BLAS thread. The workers already use every core
    between them; BLAS threads on top oversubscribe them (OpenBLAS's spin-waiting
    threads made two workers slower than none). OpenBLAS's results depend on its thread
    count, so the build's own solves use one thread too (`construct.build_into`)."""
    threadpool_limits(limits=1)


def forget_scratch():
    """Drop the scratch models (a serving rank keeps running after its job)."""
    _scratch.clear()


def _ensure_built(model, ens):
    if ens not in model.params:
        model.build(ens)


def solve_one(model, conn, seed):
    """nengo's decoders for ``conn``, as its connection builder computes them.

    Returns ``(eval_points, weights, solver_info, rng_state, fingerprint)``; the state
    of the connection's generator after the solve lets the real build go on drawing
    from where nengo's own would be.
    """
    _ensure_built(model, conn.pre_obj)
    if conn.solver.weights and isinstance(conn.post_obj, nengo.Ensemble):
        _ensure_built(model, conn.post_obj)
    rng = np.random.RandomState(seed)
    eval_points, weights, info = build_decoders(model, conn, rng)
    crc = fingerprint(model.params[conn.pre_obj])
    return eval_points, weights, info, rng.get_state(), crc


def solve_chunk(job_id, indices):
    """Solve the connections ``indices`` of the current job.

    Returns a list of ``(index, payload)``, where ``payload`` is the pickled result of
    `solve_one`, or None when this connection failed here (anything it raised, or a
    result that cannot be pickled): the real build then solves it itself and raises
    nengo's own error, naming the connection, in its place in the build.
    """
    job = JOB
    if job is None or job.job_id != job_id:
        raise RuntimeError(f"nengo_mpi: decoder worker has no job {job_id}")
    model = _model(job)
    out = []
    # nengo's cache is safe for concurrent processes: each writes its own data file
    # and merges its index entries under a file lock when the context exits.
    with model.decoder_cache:
        for i in indices:
            conn = job.conns[i]
            try:
                payload = pickle.dumps(
                    solve_one(model, conn, job.seeds[conn]), pickle.HIGHEST_PROTOCOL)
            except Exception:  # pylint: disable=broad-except
                payload = None  # solved again, and raised there, by the real build
            out.append((i, payload))
    return out
