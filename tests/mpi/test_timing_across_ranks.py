"""Run with: mpirun -np N python -m pytest --with-mpi tests/mpi (N = 2 and 3 in make test).

Simulator.timing() gathers one entry per rank; the traffic each rank reports sending
to a peer is what that peer reports receiving from it.
"""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
import models  # noqa: E402  pylint: disable=wrong-import-position

import nengo  # noqa: E402
import nengo_mpi  # noqa: E402
from nengo_mpi.runtime import timing  # noqa: E402
from nengo_mpi.runtime.spmd import on_root  # noqa: E402


def _crossing_net():
    """Update channels (synapses) and a same-step channel (no synapse) across ranks."""
    with nengo.Network(seed=2) as net:
        stim = nengo.Node([0.5, -0.25])
        a = nengo.Ensemble(50, 2)
        b = nengo.Ensemble(50, 2)
        c = nengo.Ensemble(50, 2)
        nengo.Connection(stim, a)
        nengo.Connection(a, b, synapse=None)
        nengo.Connection(b, c, synapse=0.01)
        nengo.Connection(c, a, synapse=0.01, transform=0.5)
        nengo.Probe(c, synapse=0.01)
    return net, {stim: 0, a: 0, b: 1, c: 2}


def _timings(size):
    out = []
    net, assignments = _crossing_net()
    assignments = {obj: comp % size for obj, comp in assignments.items()}
    with nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(size),
                             assignments=assignments, progress_bar=False) as sim:
        sim.run_steps(100)
        sim.profile_ops()
        sim.run_steps(50)
        out.append(sim.timing())
    out.append(sim.timing())  # kept at close
    net = models.chain()
    with nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(size),
                             progress_bar=False) as sim:
        sim.run(0.1)
        out.append(sim.timing())
    return out


def _check_pairs(entries, size):
    assert [e["rank"] for e in entries] == list(range(size))
    for e in entries:
        assert set(timing.KEYS) <= set(e)
        assert len(e["bytes_sent_to"]) == len(e["bytes_received_from"]) == size
        assert e["bytes_sent"] == sum(e["bytes_sent_to"])
        assert e["bytes_received"] == sum(e["bytes_received_from"])
        assert e["peak_rss_mib"] > 0
        assert 0 <= e["blocked_waits"] <= e["steps"] * (e["messages_sent"]
                                                       + e["messages_received"])
    sent = np.array([e["bytes_sent_to"] for e in entries])
    received = np.array([e["bytes_received_from"] for e in entries])
    assert np.array_equal(sent, received.T)  # rank r -> q as seen by both
    assert np.all(np.diag(sent) == 0)
    assert sent.sum() > 0


@pytest.mark.mpi(min_size=2)
def test_timing_gathered_from_every_rank():
    from mpi4py import MPI  # pylint: disable=import-outside-toplevel

    size = MPI.COMM_WORLD.Get_size()
    live, closed, chain = on_root(_timings, size)
    for entries in (live, closed, chain):
        _check_pairs(entries, size)
        steps = {e["steps"] for e in entries}
        assert len(steps) == 1  # every rank ran every step
        assert all(e["compute_s"] > 0 for e in entries)
    assert live == closed
    assert live[0]["steps"] == 150 and chain[0]["steps"] == 100
    # One component per rank; every rank exchanges messages.
    assert [e["components"] for e in live] == [[r] for r in range(size)]
    assert all(e["messages_sent"] + e["messages_received"] > 0 for e in live)
    assert all(e["exchange_s"] > 0 for e in live)
    # 2-D float64 values: 16 bytes per message per step.
    assert all(e["bytes_sent"] == 150 * 16 * e["messages_sent"] for e in live)
    # The profile covers the 50 steps after profile_ops, on every rank.
    for e in live:
        assert e["ops"]["LIF"]["calls"] == 50 * e["ops"]["LIF"]["ops"] > 0
