"""Run with: mpirun -np N python -m pytest --with-mpi tests/mpi (N = 2 and 3 in make test).

Same-step channels between a pair of ranks travel grouped: an EnsembleArray whose
ensembles run on one rank and whose passthrough nodes run on another sends one message
per step for all ensembles' decoded values, not one per ensemble, and computes exactly
what one process computes.
"""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
import models  # noqa: E402  pylint: disable=wrong-import-position

import nengo_mpi  # noqa: E402
from nengo_mpi.runtime.spmd import on_root  # noqa: E402

N_ENSEMBLES = 8


def _run(size):
    net, assignments, probe = models.ensemble_array_split(N_ENSEMBLES, seed=5)
    with nengo_mpi.Simulator(net, progress_bar=False) as sim:
        sim.run_steps(100)
        ref = sim.data[probe]
    with nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(size),
                             assignments=assignments, progress_bar=False) as sim:
        sim.run_steps(100)
        same_step = [ch for ch in sim._lowered.channels
                     if ch.same_step and (ch.src_component, ch.dst_component) == (0, 1)]
        return ref, sim.data[probe], len(same_step), sim.timing()


@pytest.mark.mpi(min_size=2)
def test_same_step_channels_grouped_per_rank_pair():
    from mpi4py import MPI  # pylint: disable=import-outside-toplevel

    ref, data, n_same_step, timing = on_root(_run, MPI.COMM_WORLD.Get_size())
    np.testing.assert_array_equal(data, ref)
    assert n_same_step >= N_ENSEMBLES  # one decoded value per ensemble crosses
    # Rank 0 (the ensembles) sends rank 1 its same-step group and at most one message
    # of update channels per step.
    assert timing[0]["messages_sent"] <= 2
    assert timing[1]["messages_received"] == timing[0]["messages_sent"]
