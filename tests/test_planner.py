"""The merge planner: its dependency graph, its batches, and the merges it makes."""

import random
from collections import Counter

import numpy as np
import pytest
import nengo
from nengo.builder.operator import DotInc
from nengo.builder.optimizer import OpMerger
from nengo.utils.graphs import toposort
from nengo.utils.simulator import operator_dependency_graph

import nengo_mpi
from nengo_mpi.lower.assign import OperatorAssigner
from nengo_mpi.lower.dependencies import dependency_lists
from nengo_mpi.lower.merge import merge_placement, merge_within_components
from nengo_mpi.lower.state import lowering_state
from nengo_mpi.lower.merge_ops import merge_ops
from nengo_mpi.lower.ownership import OwnershipBuilder
from nengo_mpi.lower.planner import OpGraph, plan_batches

from models import chain, integrator_array


def random_graph(n_ensembles=24, seed=0):
    """Ensembles of different sizes wired at random, some without synapses, so that
    operators of one kind sit at different depths of the graph."""
    rng = np.random.RandomState(seed)
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node([0.5, -0.2])
        ens = [nengo.Ensemble(int(rng.randint(10, 40)), 2) for _ in range(n_ensembles)]
        nengo.Connection(stim, ens[0])
        for i, pre in enumerate(ens):
            for j in rng.choice(n_ensembles, size=3, replace=False):
                if j > i:
                    # Forward connections may skip the synapse: a same-step dependency.
                    synapse = None if rng.rand() < 0.5 else 0.01
                else:
                    synapse = 0.02
                nengo.Connection(pre, ens[j], transform=0.3, synapse=synapse)
        for e in ens[::5]:
            nengo.Probe(e, synapse=0.01)
    return net


def build(net, n_components=1, assignments=None):
    """The built model of ``net``, split as the simulator would, ready to merge."""
    model = nengo.builder.Model(dt=0.001, builder=OwnershipBuilder())
    model.build(net)
    if assignments is None:
        assignments = nengo_mpi.Partitioner(n_components).partition(net)
    op_components, probe_components = merge_placement(
        model, OperatorAssigner(model, assignments, n_components))
    return model, op_components, probe_components


def describe(model):
    """A picture of the merged operators that two equal merges share."""
    return [(type(op).__name__, tuple(s.shape for s in op.all_signals))
            for op in model.operators]


@pytest.mark.parametrize("make", [lambda: integrator_array()[0], random_graph, chain],
                         ids=["integrator_array", "random_graph", "chain"])
def test_dependency_lists_equal_nengos(make):
    model = nengo.builder.Model(dt=0.001)
    model.build(make())
    ops = model.operators
    dg = operator_dependency_graph(ops)
    index = {op: i for i, op in enumerate(ops)}
    expected = [sorted(index[d] for d in dg[op]) for op in ops]
    assert dependency_lists(ops) == expected


def _random_dag(n, n_edges, n_classes, rng):
    succ = [set() for _ in range(n)]
    for _ in range(n_edges):
        a, b = sorted(rng.sample(range(n), 2))
        succ[a].add(b)
    classes = [rng.randrange(n_classes) if rng.random() < 0.8 else None for _ in range(n)]
    return OpGraph(list(range(n)), [sorted(s) for s in succ]), classes


def _reach(graph):
    """Position -> set of positions reachable from it (small graphs only)."""
    reach = [set() for _ in graph.ops]
    for i in reversed(range(len(graph.ops))):  # edges go forward in these graphs
        for j in graph.succ[i]:
            reach[i] |= {j} | reach[j]
    return reach


@pytest.mark.parametrize("seed", range(5))
def test_batches_are_independent_and_contract_without_cycles(seed):
    rng = random.Random(seed)
    graph, classes = _random_dag(200, 300, 6, rng)
    batches = plan_batches(graph, classes)
    assert batches == plan_batches(graph, classes)  # deterministic
    reach = _reach(graph)
    seen = Counter()
    for batch in batches:
        assert len({classes[i] for i in batch}) == 1 and classes[batch[0]] is not None
        for i in batch:
            seen[i] += 1
            assert not reach[i] & set(batch), "an operator of a batch depends on another"
    assert max(seen.values()) == 1
    # Merge every batch at once: the contracted graph must still be acyclic.
    merged_into = {i: ("batch", k) for k, batch in enumerate(batches) for i in batch}
    contracted = graph.contract(merged_into)
    dg = {op: {contracted.ops[j] for j in nexts}
          for op, nexts in zip(contracted.ops, contracted.succ)}
    assert len(toposort(dg)) == len(contracted.ops)


def test_a_class_waits_for_its_deeper_operators():
    # 0 -> 1 -> 2 and 3: 2 and 3 are of one class at different depths; they may merge.
    graph = OpGraph(list(range(4)), [[1], [2], [], []])
    assert plan_batches(graph, [None, None, "c", "c"]) == [[3, 2]]
    # 2 depends on 3 through 1: never in one batch.
    graph = OpGraph(list(range(4)), [[], [2], [], [1]])
    assert plan_batches(graph, [None, None, "c", "c"]) == []


def test_bsr_merge_equals_nengos():
    model = nengo.builder.Model(dt=0.001)
    model.build(integrator_array(4)[0])
    encoders = [op for op in model.operators
                if type(op) is DotInc and op.A.initial_value.shape == (20, 1)]
    assert len(encoders) == 4 and len({id(op.X) for op in encoders}) == 4
    ours, our_sigr = merge_ops(encoders)
    theirs, their_sigr = OpMerger.merge(encoders)
    assert type(ours) is type(theirs)
    for a, b in zip(ours.all_signals, theirs.all_signals):
        assert (a.name, a.shape, a.offset) == (b.name, b.shape, b.offset)
        assert a.is_view == b.is_view
        np.testing.assert_array_equal(a.initial_value, b.initial_value)
    np.testing.assert_array_equal(ours.indices, theirs.indices)
    np.testing.assert_array_equal(ours.indptr, theirs.indptr)
    assert ours.reshape == theirs.reshape
    assert list(our_sigr) == list(their_sigr)
    for old, new in our_sigr.items():
        other = their_sigr[old]
        assert (new.name, new.shape, new.offset) == (other.name, other.shape, other.offset)


@pytest.mark.parametrize("n_components", [1, 3])
def test_merging_is_deterministic(n_components):
    got = []
    for _ in range(2):
        model, op_components, probe_components = build(random_graph(), n_components)
        merge_within_components(model, op_components, probe_components)
        got.append(describe(model))
    assert got[0] == got[1]


def test_op_count_on_a_small_model():
    """Six LIF ensembles in one component: one LIF op, one encoder op, one Reset...; and
    no more operators than nengo's own optimizer leaves."""
    net = integrator_array(6)[0]
    model, op_components, probe_components = build(net)
    n_before = len(model.operators)
    merge_within_components(model, op_components, probe_components)
    kinds = Counter(type(op).__name__ for op in model.operators)
    assert kinds["SimNeurons"] == 1
    assert kinds["BsrDotInc"] + kinds["DotInc"] <= 3  # encoders, decoders, input
    assert len(model.operators) < n_before / 3
    with nengo.Simulator(net, progress_bar=False) as ref:
        assert len(model.operators) <= len(ref.model.operators)


@pytest.mark.parametrize("n_components", [2, 3])
def test_merges_stay_in_one_component(n_components):
    model, op_components, probe_components = build(random_graph(), n_components)
    before = set(model.operators)
    merged = merge_within_components(model, op_components, probe_components)
    made = [op for op in model.operators if op not in before]
    assert made
    users = {}  # base -> components whose ops use it
    for op, comps in merged.items():
        for sig in op.all_signals:
            users.setdefault(sig.base, set()).update(comps)
    for op in made:
        assert len(merged[op]) == 1
        assert lowering_state(model).op_components[op] == merged[op]
        for sig in op.all_signals:
            assert users[sig.base] == set(merged[op])


@pytest.mark.parametrize("n_components", [1, 2, 3])
def test_merged_model_has_no_cycle(n_components):
    model, op_components, probe_components = build(random_graph(), n_components)
    merge_within_components(model, op_components, probe_components)
    dg = operator_dependency_graph(model.operators)
    assert len(toposort(dg)) == len(model.operators)


def test_random_graph_runs_as_nengo_does():
    """Ensembles at different depths, merged across depths, split in two: the same
    numbers as nengo.Simulator's."""
    net = random_graph()
    with nengo.Simulator(net, progress_bar=False) as ref:
        ref.run(0.05)
    for n in (1, 2):
        with nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(n),
                                 progress_bar=False) as sim:
            sim.run(0.05)
            for probe in net.all_probes:
                np.testing.assert_allclose(sim.data[probe], ref.data[probe],
                                           rtol=0, atol=1e-12)
