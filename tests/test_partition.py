"""Tests for nengo_mpi.partition."""

import sys

import nengo
import numpy as np
import pytest
from nengo.exceptions import ValidationError

from nengo_mpi.partition import Partitioner
from nengo_mpi.partition.constraints import Constraints
from nengo_mpi.partition.cost_model import FEATURES, Costs, shipped_costs
from nengo_mpi.partition.graph import ObjectGraph, build_object_graph
from nengo_mpi.partition.greedy import greedy_partition


def tie(net, conn):
    """Join a connection's ends for good: a learning connection stays whole."""
    conn.learning_rule_type = nengo.PES()


def chain(n_ensembles, n_neurons=50, synapse=0.005):
    """A network of ensembles connected in a line."""
    with nengo.Network() as net:
        ensembles = [nengo.Ensemble(n_neurons, 1) for _ in range(n_ensembles)]
        conns = [
            nengo.Connection(pre, post, synapse=synapse)
            for pre, post in zip(ensembles, ensembles[1:])
        ]
    return net, ensembles, conns


def loads(assignment, n_components):
    """Total neurons per component."""
    totals = [0] * n_components
    for obj, component in assignment.items():
        is_ensemble = isinstance(obj, nengo.Ensemble)
        totals[component] += obj.n_neurons if is_ensemble else 1
    return totals


def test_seed_network():
    with nengo.Network() as net:
        stim = nengo.Node(lambda t: np.sin(t))
        a = nengo.Ensemble(100, 1)
        b = nengo.Ensemble(100, 1)
        nengo.Connection(stim, a, synapse=0.005)
        nengo.Connection(a, b, synapse=0.005)

    # Weighed by neurons alone, the two ensembles are split.
    assignment = Partitioner(2, costs=neuron_costs()).partition(net)
    assert set(assignment) == {stim, a, b}
    assert assignment[stim] == 0
    assert assignment[a] != assignment[b]
    # With the shipped costs, the Python call pinned to component 0 outweighs two
    # 100-neuron ensembles, so both go to component 1.
    assignment = Partitioner(2, costs=shipped_costs()).partition(net)
    assert assignment == {stim: 0, a: 1, b: 1}
    assert all(isinstance(c, int) for c in assignment.values())


def test_chain_balanced():
    net, ensembles, _ = chain(6)
    assignment = Partitioner(3).partition(net)
    assert set(assignment.values()) == {0, 1, 2}
    assert loads(assignment, 3) == [100, 100, 100]
    # A chain split well cuts only two edges: each component is contiguous.
    parts = [assignment[e] for e in ensembles]
    assert sum(p != q for p, q in zip(parts, parts[1:])) == 2


def test_chain_balanced_without_metis(monkeypatch):
    # A None entry in sys.modules makes `import pymetis` raise ImportError.
    monkeypatch.setitem(sys.modules, "pymetis", None)
    net, _, _ = chain(6)
    assignment = Partitioner(3).partition(net)
    assert loads(assignment, 3) == [100, 100, 100]


def test_single_component():
    net, ensembles, _ = chain(4)
    assignment = Partitioner(1).partition(net)
    assert assignment == {e: 0 for e in ensembles}


def test_subnetworks_included():
    with nengo.Network() as net:
        a = nengo.Ensemble(10, 1)
        with nengo.Network():
            b = nengo.Ensemble(10, 1)
            node = nengo.Node(size_in=1)
        nengo.Connection(a, b)
        nengo.Connection(b, node)
    assignment = Partitioner(2).partition(net)
    assert set(assignment) == {a, b, node}


def test_empty_network():
    assert Partitioner(2).partition(nengo.Network()) == {}


def test_more_components_than_groups():
    net, ensembles, _ = chain(2)
    assignment = Partitioner(5).partition(net)
    assert assignment[ensembles[0]] != assignment[ensembles[1]]
    assert all(0 <= c < 5 for c in assignment.values())


def test_uses_two_components_without_edges():
    with nengo.Network() as net:
        a = nengo.Ensemble(10, 1)
        b = nengo.Ensemble(10, 1)
        c = nengo.Ensemble(10, 1)
    assignment = Partitioner(2).partition(net)
    assert len({assignment[a], assignment[b], assignment[c]}) == 2


def test_uses_two_components_when_metis_uses_one():
    with nengo.Network() as net:
        big = nengo.Ensemble(1000, 50)
        light = [nengo.Node(size_in=50) for _ in range(2)]
        # Heavy edges around a triangle make METIS keep everything in one
        # part, since one part then already holds nearly all the weight.
        nengo.Connection(big, light[0])
        nengo.Connection(light[0], light[1])
        nengo.Connection(light[1], big)
    assignment = Partitioner(2).partition(net)
    assert len(set(assignment.values())) == 2
    # Only the lightest group moves; the heavy ensemble stays with the rest.
    assert assignment[big] == assignment[light[1]] != assignment[light[0]]


def test_tied_connection_keeps_together():
    net, ensembles, conns = chain(4, synapse=0.005)
    tie(net, conns[1])
    assignment = Partitioner(4).partition(net)
    assert assignment[ensembles[1]] == assignment[ensembles[2]]
    # The others still get spread out.
    assert len(set(assignment.values())) == 3


def test_tied_connection_kept_together_with_metis():
    net, ensembles, conns = chain(8)
    # The balanced cut of this chain is exactly this connection.
    tie(net, conns[3])
    assignment = Partitioner(2).partition(net)
    assert assignment[ensembles[3]] == assignment[ensembles[4]]
    assert len(set(assignment.values())) == 2


def test_metis_avoids_cutting_synapse_free_connections():
    net, ensembles, conns = chain(8)
    with net:
        # The balanced cut of this chain would be this connection; without a synapse,
        # cutting it costs SAME_STEP_WEIGHT times more, so a neighbour is cut instead.
        conns[3].synapse = None
    assignment = Partitioner(2).partition(net)
    assert assignment[ensembles[3]] == assignment[ensembles[4]]
    assert len(set(assignment.values())) == 2


def test_learning_rule_keeps_together():
    with nengo.Network() as net:
        ensembles = [nengo.Ensemble(50, 1) for _ in range(4)]
        learned = nengo.Connection(
            ensembles[1], ensembles[2], learning_rule_type=nengo.PES()
        )
        nengo.Connection(ensembles[0], ensembles[1])
        nengo.Connection(ensembles[2], ensembles[3])
        # The error signal goes into the learning rule; it may be cut.
        nengo.Connection(ensembles[3], learned.learning_rule)
    assignment = Partitioner(4).partition(net)
    assert assignment[ensembles[1]] == assignment[ensembles[2]]
    assert len(set(assignment.values())) == 3


def test_probed_connection_may_be_cut():
    net, ensembles, conns = chain(2)
    with net:
        nengo.Probe(conns[0])
    assignment = Partitioner(2).partition(net)
    assert assignment[ensembles[0]] != assignment[ensembles[1]]


def test_direct_ensemble_pinned():
    net, ensembles, _ = chain(5)
    with net:
        direct = nengo.Ensemble(10, 1, neuron_type=nengo.Direct())
        nengo.Connection(ensembles[-1], direct)
    for n_components in (2, 3):
        assignment = Partitioner(n_components).partition(net)
        assert assignment[direct] == 0


def test_direct_ensembles_pinned_with_metis():
    net, ensembles, _ = chain(8)
    with net:
        # Either end of the chain alone would be placed on its own half.
        for ens in (ensembles[0], ensembles[-1]):
            ens.neuron_type = nengo.Direct()
    assignment = Partitioner(2).partition(net)
    assert assignment[ensembles[0]] == 0
    assert assignment[ensembles[-1]] == 0
    assert len(set(assignment.values())) == 2


def test_assignments_relabel_metis_parts():
    net, ensembles, _ = chain(8)
    assignment = Partitioner(2).partition(
        net, assignments={ensembles[0]: 1, ensembles[-1]: 0}
    )
    parts = [assignment[e] for e in ensembles]
    assert parts[0] == 1
    assert parts[-1] == 0
    # Renaming METIS's parts, rather than moving the two ends, keeps the
    # split into two contiguous halves.
    assert parts == [1] * 4 + [0] * 4


def test_python_group_pinned():
    net, ensembles, conns = chain(6)
    with net:
        node = nengo.Node(lambda t, x: x, size_in=1)
        # The whole group of the node has to follow it to component 0.
        nengo.Connection(ensembles[-1], node, learning_rule_type=nengo.PES())
    assignment = Partitioner(3).partition(net)
    assert assignment[node] == 0
    assert assignment[ensembles[-1]] == 0


class CallableProcess(nengo.Process):
    """A Process that is also callable, as a Node output may be."""

    def make_step(self, shape_in, shape_out, dt, rng, state):
        return lambda t: np.zeros(shape_out)

    def __call__(self, t):
        return 0.0


def test_process_node_not_pinned():
    with nengo.Network() as net:
        nodes = [nengo.Node(CallableProcess()) for _ in range(2)]
    assert callable(nodes[0].output)
    assignment = Partitioner(2).partition(net, assignments={nodes[0]: 1})
    assert assignment[nodes[0]] == 1


def test_assignments_pin_group():
    net, ensembles, conns = chain(6)
    tie(net, conns[0])
    assignment = Partitioner(3).partition(net, assignments={ensembles[1]: 2})
    assert assignment[ensembles[1]] == 2
    assert assignment[ensembles[0]] == 2


@pytest.mark.parametrize("bad", [0, -1, 2.5, 2.0, True, "2", None])
def test_bad_n_components(bad):
    with pytest.raises(ValidationError, match="n_components") as info:
        Partitioner(bad)
    assert info.value.attr == "n_components"
    assert repr(bad) in str(info.value)


def test_numpy_n_components():
    assert Partitioner(np.int64(3)).n_components == 3
    assert type(Partitioner(np.int64(3)).n_components) is int


def test_bad_func():
    with pytest.raises(ValidationError, match="func"):
        Partitioner(2, func=3)


def test_assignment_not_in_network():
    net, _, _ = chain(2)
    outside = nengo.Ensemble(10, 1, add_to_container=False)
    with pytest.raises(ValidationError, match="not an Ensemble or Node in"):
        Partitioner(2).partition(net, assignments={outside: 0})
    with pytest.raises(ValidationError, match="assignments"):
        Partitioner(2).partition(net, assignments={"a": 0})


@pytest.mark.parametrize("component", [2, -1, 1.0, True])
def test_assignment_out_of_range(component):
    net, ensembles, _ = chain(2)
    ensembles[0].label = "first"
    with pytest.raises(ValidationError, match="first") as info:
        Partitioner(2).partition(net, assignments={ensembles[0]: component})
    assert repr(component) in str(info.value)


def test_assignment_splits_tied_connection():
    net, ensembles, conns = chain(3)
    tie(net, conns[0])
    ensembles[0].label = "pre"
    ensembles[1].label = "post"
    with pytest.raises(ValidationError) as info:
        Partitioner(2).partition(
            net, assignments={ensembles[0]: 0, ensembles[1]: 1}
        )
    message = str(info.value)
    assert str(conns[0]) in message
    assert "with a learning rule" in message
    assert "pre" in message and "post" in message


def test_conflict_reported_through_chain():
    net, ensembles, conns = chain(3)
    tie(net, conns[0])
    tie(net, conns[1])
    with pytest.raises(ValidationError) as info:
        Partitioner(2).partition(
            net, assignments={ensembles[0]: 0, ensembles[2]: 1}
        )
    assert str(conns[0]) in str(info.value)
    assert str(conns[1]) in str(info.value)


def test_python_node_assigned_elsewhere():
    with nengo.Network() as net:
        node = nengo.Node(lambda t: t, label="stim")
        ens = nengo.Ensemble(10, 1)
        nengo.Connection(node, ens)
    with pytest.raises(ValidationError, match="needs Python on rank") as info:
        Partitioner(2).partition(net, assignments={node: 1})
    assert "stim" in str(info.value)


def test_group_with_rank_0_only_object_assigned_elsewhere():
    with nengo.Network() as net:
        ens = nengo.Ensemble(10, 1)
        # A neuron type defined in a function exists only in rank 0's process.
        local_type = type("ScriptLIF", (nengo.LIF,), {"__qualname__": "f.<locals>.L"})
        home = nengo.Ensemble(10, 1, neuron_type=local_type())
        conn = nengo.Connection(home, ens, learning_rule_type=nengo.PES())
    with pytest.raises(ValidationError, match="needs Python") as info:
        Partitioner(2).partition(net, assignments={ens: 1})
    assert str(conn) in str(info.value)


def test_custom_func():
    net, ensembles, _ = chain(4)
    calls = []

    def reverse(graph, n_components):
        calls.append((graph, n_components))
        return [n_components - 1 - g % n_components for g in range(len(graph))]

    assignment = Partitioner(2, func=reverse).partition(net)
    assert len(calls) == 1
    graph, n_components = calls[0]
    assert n_components == 2
    assert isinstance(graph, ObjectGraph)
    assert graph.vertices == [(e,) for e in ensembles]
    assert [assignment[e] for e in ensembles] == [1, 0, 1, 0]


def test_custom_func_bad_length():
    net, _, _ = chain(4)

    def too_short(graph, n_components):
        return [0]

    with pytest.raises(ValidationError, match="too_short") as info:
        Partitioner(2, func=too_short).partition(net)
    assert info.value.attr == "func"


def test_custom_func_bad_component():
    net, _, _ = chain(2)
    with pytest.raises(ValidationError, match="not a component"):
        Partitioner(2, func=lambda graph, n: [0, 2]).partition(net)


def test_deterministic():
    with nengo.Network(seed=0) as net:
        ensembles = [nengo.Ensemble(20 + 10 * (i % 3), 1) for i in range(12)]
        nodes = [nengo.Node(size_in=1) for _ in range(3)]
        for i, pre in enumerate(ensembles):
            nengo.Connection(pre, ensembles[(i * 5 + 1) % 12])
            nengo.Connection(pre, nodes[i % 3])
    first = Partitioner(3).partition(net)
    second = Partitioner(3).partition(net)
    assert list(first.items()) == list(second.items())
    assert len(set(first.values())) == 3


def neuron_costs(per_neuron=1e-9):
    """Costs of neuron steps only: weights are neuron counts (in ns per step)."""
    return Costs(neuron={"default": per_neuron}, per_feature=dict.fromkeys(FEATURES, 0.0))


def test_object_graph():
    with nengo.Network() as net:
        a = nengo.Ensemble(30, 2)
        b = nengo.Ensemble(40, 3, neuron_type=nengo.Direct())
        node = nengo.Node(size_in=2)
        nengo.Connection(a, b[:2])
        nengo.Connection(a.neurons, b, transform=np.ones((3, 30)))
        nengo.Connection(a, node)
        nengo.Connection(a, a)
    graph = build_object_graph(net, neuron_costs())
    assert graph.vertices == [a, b, node]
    # Nanoseconds per step: a's 30 neurons; a Direct ensemble and a passthrough
    # cost nothing here, and weights are at least 1.
    assert graph.weights == [30, 1, 1]
    # Parallel edges add their dimensions; the self-loop is dropped.
    assert graph.edges == {(0, 1): 2 + 3, (0, 2): 2}
    xadj, adjncy, eweights = graph.csr()
    assert xadj == [0, 2, 3, 4]
    assert adjncy == [1, 2, 0, 0]
    assert eweights == [5, 2, 5, 2]


def test_learning_rule_endpoint_maps_to_post():
    with nengo.Network() as net:
        a = nengo.Ensemble(10, 1)
        b = nengo.Ensemble(10, 1)
        err = nengo.Node(size_in=1)
        conn = nengo.Connection(
            a,
            b.neurons,
            transform=np.ones((10, 1)),
            learning_rule_type=nengo.PES(),
        )
        nengo.Connection(err, conn.learning_rule)
    graph = build_object_graph(net)
    assert graph.edges == {(0, 1): 10, (1, 2): 1}


def test_contract():
    edges = {(0, 1): 1, (1, 2): 2, (2, 3): 3}
    graph = ObjectGraph("abcd", [1, 2, 3, 4], edges)
    contracted = graph.contract([[0, 1], [2], [3]])
    assert contracted.vertices == [("a", "b"), ("c",), ("d",)]
    assert contracted.weights == [3, 3, 4]
    assert contracted.edges == {(0, 1): 2, (1, 2): 3}


def test_constraints_groups_and_explain():
    constraints = Constraints(5)
    constraints.join(3, 1, "first")
    constraints.join(4, 3, "second")
    assert constraints.groups() == [[0], [1, 3, 4], [2]]
    assert constraints.explain(1, 4) == ["first", "second"]
    assert constraints.explain(0, 4) == []


def test_greedy_partition():
    # Heaviest first: taking items in order would give loads 4 and 2.
    assert greedy_partition([1, 2, 3], 2) == [1, 1, 0]
    # Pinned items are placed first and count towards their component.
    assert greedy_partition([1, 5, 5], 2, pins={0: 0}) == [0, 1, 0]
