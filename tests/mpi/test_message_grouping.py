"""Run with: mpirun -np N python -m pytest --with-mpi tests/mpi (N = 2 and 3 in make test).

Same-step channels between a pair of ranks travel grouped: an EnsembleArray whose
ensembles run on one rank and whose passthrough nodes run on another sends one message
per step for all ensembles' decoded values, not one per ensemble, and computes exactly
what one process computes.
"""

import numpy as np
import pytest

import nengo
import nengo_mpi
from nengo_mpi.runtime.spmd import on_root

N_ENSEMBLES = 8


def _net():
    with nengo.Network(seed=5) as net:
        stim = nengo.Node(np.linspace(-0.5, 0.5, N_ENSEMBLES))
        ea = nengo.networks.EnsembleArray(20, N_ENSEMBLES)
        nengo.Connection(stim, ea.input)
        nengo.Connection(ea.output, ea.input, synapse=0.05)
        probe = nengo.Probe(ea.output, synapse=0.01)
    assignments = {obj: 0 for obj in ea.all_ensembles}
    assignments.update({stim: 1, ea.input: 1, ea.output: 1})
    return net, assignments, probe


def _run(size):
    net, assignments, probe = _net()
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
