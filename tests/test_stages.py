"""Stages (`nengo_mpi.lower.stages`): the numbers that order every component's
operators as one global order, found without the whole model's graph."""

import nengo
import numpy as np
import pytest

import nengo_mpi
from nengo_mpi.construction.construct import new_model
from nengo_mpi.construction.distributed import _build, make_order
from nengo_mpi.construction.shadow import Locality
from nengo_mpi.lower.assign import OperatorAssigner
from nengo_mpi.lower.program import whole_model_stages
from nengo_mpi.lower.stages import (
    LocalExchange, StageGraph, component_graph, increment_chains, same_step_channels,
    stage_numbers, stage_of,
)

import models


def _built(net, n_components):
    """``net`` built whole, split by nengo_mpi's partitioner; ``(model, assigner)``."""
    found = nengo_mpi.Partitioner(n_components).partition(net)
    model = new_model(0.001, "stages")
    order = make_order(model, net, found, n_components, True)
    _build(model, order, Locality(net, found, 0, 1), None)
    return model, OperatorAssigner(model, found, n_components)


@pytest.mark.parametrize("n_components", [2, 3, 8])
def test_stages_rise_along_every_edge_and_strictly_across_components(n_components):
    """Within a component no dependency goes to an earlier stage; a value crossing
    components within a step always goes to a strictly later one (so ordering by
    stage is one global order, whatever ranks hold the components)."""
    net, _ = models.integrator_array()
    model, assigner = _built(net, n_components)
    stages = whole_model_stages(model, assigner.components, n_components)
    assert stages  # some operators are fed by crossings or feed them
    by_comp = {}
    for op in model.operators:
        if not isinstance(op, nengo.builder.operator.TimeUpdate):
            for comp in assigner.components(op):
                by_comp.setdefault(comp, []).append(op)
    for comp, ops in by_comp.items():
        for i, nexts in enumerate(component_graph(ops)):
            for j in nexts:
                assert stage_of(stages, ops[i], comp) <= stage_of(stages, ops[j], comp)
    crossings = same_step_channels(model, assigner.components)
    assert crossings  # the array's passthrough nodes are on other components
    for (_, src, dst), (writers, readers) in crossings.items():
        for w in writers:
            for r in readers:
                assert stage_of(stages, w, src) < stage_of(stages, r, dst)


def test_a_cycle_through_channels_is_an_error():
    """Two components each reading the other's value within a step cannot be ordered:
    the exchange stops after its round limit instead of counting forever."""
    graph = StageGraph(nodes=[("a", 0), ("b", 1)], succ=[[], []],
                       writers={"ab": [0], "ba": [1]}, readers={"ab": [1], "ba": [0]})
    with pytest.raises(ValueError, match="form a cycle"):
        stage_numbers(graph, LocalExchange(limit=4))


def test_only_increments_of_shared_memory_are_chained():
    """Increments of overlapping views keep their order; increments of disjoint parts
    of one base (signals merging concatenated) are not chained."""
    base = nengo.builder.signal.Signal(np.zeros(4), name="base")
    x = nengo.builder.signal.Signal(np.zeros(2), name="x")
    first, second, overlap = base[:2], base[2:], base[1:3]
    ops = [nengo.builder.operator.Copy(x, first, inc=True),
           nengo.builder.operator.Copy(x, second, inc=True),
           nengo.builder.operator.Copy(x, overlap, inc=True)]
    assert sorted(increment_chains(ops)) == [(0, 2), (1, 2)]


def test_increment_chains_match_every_overlapping_pair():
    """On many views of one base, of varied lengths and overlaps, the chains link each
    increment to the last increment of every span it overlaps (checked pair by pair)."""
    rng = np.random.RandomState(0)
    base = nengo.builder.signal.Signal(np.zeros(400), name="base")
    x = nengo.builder.signal.Signal(np.zeros(400), name="x")
    ops = []
    for _ in range(300):
        start = int(rng.randint(0, 390))
        stop = start + int(rng.choice([1, 1, 2, 5, 10]))
        ops.append(nengo.builder.operator.Copy(x[start:stop], base[start:stop], inc=True))
    expected = set()
    last = {}
    for j, op in enumerate(ops):
        (sig,) = op.incs
        span = (sig.offset, sig.offset + sig.nbytes)
        for (first, end), i in last.items():
            if first < span[1] and span[0] < end:
                expected.add((i, j))
        last[span] = j
    assert set(increment_chains(ops)) == expected
