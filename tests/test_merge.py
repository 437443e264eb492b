"""Operators merged within components (our planner, nengo's merges, behind a fence)."""

import pickle
from collections import defaultdict

import numpy as np
import pytest
import nengo

import nengo_mpi
from models import integrator_array


def run(net, probes, **kwargs):
    with nengo_mpi.Simulator(net, progress_bar=False, **kwargs) as sim:
        sim.run(0.2)
        return sim, [sim.data[p].copy() for p in probes]


def test_merging_keeps_results_and_cuts_operators():
    net, probes = integrator_array()
    merged, got = run(net, probes)
    plain, expected = run(net, probes, optimize=False)
    n_merged = sum(len(p.ops) for p in merged._lowered.programs)
    n_plain = sum(len(p.ops) for p in plain._lowered.programs)
    assert n_merged < n_plain / 3
    kinds = [type(rec.op).__name__ if rec.op else rec.method
             for p in merged._lowered.programs for rec in p.ops]
    assert kinds.count("add_lif") == 1  # six LIF ensembles, one op
    for a, b in zip(expected, got):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-12)
    with nengo.Simulator(net, progress_bar=False) as ref:
        ref.run(0.2)
        np.testing.assert_allclose(got[0], ref.data[probes[0]], rtol=0, atol=1e-12)


@pytest.mark.parametrize("n", [2, 3])
def test_merges_never_cross_components(n):
    net, probes = integrator_array()
    sim, got = run(net, probes, partitioner=nengo_mpi.Partitioner(n))
    components = defaultdict(set)  # base signal -> components whose ops use it
    for program in sim._lowered.programs:
        for base in program.layout.bases:
            components[base].add(program.component)
    crossing = {ch.signal for ch in sim._lowered.channels}
    model_ops = sim.model.operators
    # A merged op exists (several objects per component) and each base used in more
    # than one component is a channel or a constant, never a merged signal of two.
    with nengo_mpi.Simulator(net, progress_bar=False, optimize=False) as plain:
        assert len(model_ops) < len(plain.model.operators)
    for base, comps in components.items():
        if len(comps) > 1 and not base.readonly:
            assert base in crossing or base.name.startswith("time") or "step" in base.name
    _, one = run(net, probes)
    for a, b in zip(one, got):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-12)


def test_random_neurons_are_not_merged():
    with nengo.Network(seed=2) as net:
        for _ in range(3):
            nengo.Ensemble(10, 1, neuron_type=nengo.PoissonSpiking(nengo.LIFRate()))
    with nengo_mpi.Simulator(net, progress_bar=False) as sim:
        poisson = [rec for p in sim._lowered.programs for rec in p.ops
                   if "poisson" in str(rec.method)]
        assert len(poisson) == 3


def test_regular_spiking_neurons_merge_and_keep_their_results():
    """RegularSpiking is deterministic: its ensembles' ops merge into one, as do their
    base type's, and the spikes are those of the unmerged model."""
    with nengo.Network(seed=2) as net:
        stim = nengo.Node([0.4])
        probes = []
        for _ in range(3):
            ens = nengo.Ensemble(10, 1, neuron_type=nengo.RegularSpiking(nengo.LIFRate()))
            nengo.Connection(stim, ens)
            probes.append(nengo.Probe(ens.neurons))
    merged, got = run(net, probes)
    _, expected = run(net, probes, optimize=False)
    methods = [rec.method for p in merged._lowered.programs for rec in p.ops]
    assert methods.count("add_regular_spiking") == 1
    assert methods.count("add_lif_rate") == 1
    for a, b in zip(expected, got):
        np.testing.assert_array_equal(b, a)


def test_pickled_simulator_keeps_its_merged_split():
    net, probes = integrator_array()
    sim, _ = run(net, probes, partitioner=nengo_mpi.Partitioner(2))
    sim2 = pickle.loads(pickle.dumps(sim))
    try:
        before = sorted(len(p.ops) for p in sim._lowered.programs)
        after = sorted(len(p.ops) for p in sim2._lowered.programs)
        assert before == after
        assert len({c for c in sim2.assignments.values()}) == 2
    finally:
        sim2.close()


def test_random_streams_do_not_depend_on_merges_or_split():
    """Seeds follow each op's place before merging, so a noisy model gives the same
    numbers merged or not, and split or not, and after pickling its model."""
    with nengo.Network(seed=3) as net:
        u = nengo.Node(nengo.processes.WhiteSignal(1.0, 5), size_out=2)
        ens = [nengo.Ensemble(30, 2, noise=nengo.processes.WhiteNoise()) for _ in range(3)]
        for e in ens:
            nengo.Connection(u, e)
        probes = [nengo.Probe(u)] + [nengo.Probe(e, synapse=0.01) for e in ens]
    results = []
    for kwargs in ({}, {"optimize": False}, {"partitioner": nengo_mpi.Partitioner(3)}):
        with nengo_mpi.Simulator(net, seed=5, progress_bar=False, **kwargs) as sim:
            sim.run(0.1)
            results.append([sim.data[p].copy() for p in probes])
            model = pickle.dumps(sim.model)
    with nengo_mpi.Simulator(None, model=pickle.loads(model), seed=5,
                             progress_bar=False) as sim:
        sim.run(0.1)
        got = [sim.data[p] for p in sim.model.probes]
    results.append(got)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-12)


def test_dependencies_through_other_components_prevent_merges():
    """A -> node (other component) -> B, no synapses: A's and B's neurons run in one
    component but B depends on A within the step, so they must not merge (a merged op
    would wait for itself)."""
    with nengo.Network(seed=3) as net:
        stim = nengo.Node(0.5)
        a = nengo.Ensemble(30, 1)
        b = nengo.Ensemble(30, 1)
        node = nengo.Node(size_in=1)
        nengo.Connection(stim, a)
        nengo.Connection(a, node, synapse=None)
        nengo.Connection(node, b, synapse=None)
        probe = nengo.Probe(b, synapse=0.01)
    assignments = {stim: 0, a: 0, b: 0, node: 1}
    with nengo.Simulator(net, progress_bar=False) as ref:
        ref.run(0.05)
    with nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(2),
                             assignments=assignments, progress_bar=False) as sim:
        lif_ops = [op for op in sim.model.operators
                   if type(op).__name__ == "SimNeurons"]
        assert len(lif_ops) == 2
        sim.run(0.05)
        np.testing.assert_allclose(sim.data[probe], ref.data[probe], rtol=0, atol=1e-12)
