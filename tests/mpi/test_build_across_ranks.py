"""Run with: mpirun -np N python -m pytest --with-mpi tests/mpi.

Under MPI the other ranks solve decoders for rank 0's build: the decoders must be
nengo's to the bit, and a solver's error nengo's own.
"""

import os
import sys
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
import models  # noqa: E402  pylint: disable=wrong-import-position

import nengo  # noqa: E402
import nengo_mpi  # noqa: E402
from nengo_mpi.runtime.spmd import on_root  # noqa: E402


def _weights(data, net):
    return [(data[c].weights, data[c].eval_points) for c in net.all_connections]


def _same(a, b):
    return all((x is None and y is None) or np.array_equal(x, y)
               for pair_a, pair_b in zip(a, b) for x, y in zip(pair_a, pair_b))


def _build_compare(add=None):
    """(decoders equal nengo's, how many were solved on other ranks) for the varied
    network, plus whatever ``add(net)`` adds to it."""
    saved = nengo.rc["decoder_cache"]["enabled"]
    nengo.rc["decoder_cache"]["enabled"] = "False"  # rank 1 must follow rank 0's rc
    try:
        net = models.varied_network()
        if add is not None:
            with net:
                add(net)
        with nengo_mpi.Simulator(net, progress_bar=False, optimize=False) as sim:
            got = _weights(sim.data, net)
            ahead = sim.decoders_solved_ahead
        # With one BLAS thread everywhere, on several ranks or on rank 0 alone (see
        # nengo_mpi.construction.construct).
        with threadpool_limits(limits=1):
            with nengo.Simulator(net, progress_bar=False, optimize=False) as ref:
                expected = _weights(ref.data, net)
        return _same(got, expected), ahead
    finally:
        nengo.rc["decoder_cache"]["enabled"] = saved


@pytest.mark.mpi(min_size=2)
def test_decoders_solved_by_other_ranks_are_nengos():
    same, ahead = on_root(_build_compare)
    assert same
    assert ahead > 0  # some were solved on other ranks


class RaisingSolver(nengo.solvers.LstsqL2):
    def __call__(self, A, Y, rng=np.random):
        raise ValueError("no decoders today")


def _failing_build():
    with nengo.Network(seed=2) as net:
        a = nengo.Ensemble(20, 1)
        b = nengo.Ensemble(20, 1)
        for _ in range(4):
            nengo.Connection(a, b)
        nengo.Connection(b, a, solver=RaisingSolver())
    nengo_mpi.Simulator(net, progress_bar=False)


@pytest.mark.mpi(min_size=2)
def test_solver_error_is_nengos_under_mpi():
    with pytest.raises(RuntimeError, match="rank 0 failed: ValueError: no decoders today"):
        on_root(_failing_build)


class LockedSolver(nengo.solvers.LstsqL2):
    """A solver that cannot be pickled: it cannot travel to other ranks."""

    def __init__(self):
        super().__init__()
        self.__dict__["lock"] = threading.Lock()


def _add_locked_solver(net):
    nengo.Connection(net.ensembles[0], net.ensembles[1], solver=LockedSolver())


@pytest.mark.mpi(min_size=2)
def test_job_that_cannot_travel_is_solved_on_rank_0():
    same, ahead = on_root(_build_compare, _add_locked_solver)
    assert same
    assert ahead == 0
