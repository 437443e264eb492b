"""The global operator order (`nengo_mpi.lower.schedule`): valid, split-independent in
its sums, the same on any set closed under dependencies, and arranged so that ranks
feeding each other can work at once."""

import numpy as np
import pytest
from nengo.utils.simulator import operator_dependency_graph

import models
import nengo_mpi
from nengo_mpi import _engine
from nengo_mpi.lower.layout import DTYPE_CODES
from nengo_mpi.lower.dependencies import dependency_lists
from nengo_mpi.lower.schedule import build_order_sort, schedule_order, step_order


def build(net, assignments=None, n=2):
    return nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(n),
                               assignments=assignments, progress_bar=False)


def test_order_respects_dependencies_and_increment_order():
    net, assignments, _ = models.ensemble_array_split()
    with build(net, assignments) as sim:
        ops = sim._lowered.ops
        model = sim.model
    pos = {op: i for i, op in enumerate(ops)}
    assert set(ops) == set(step_order(model))
    for op, nexts in operator_dependency_graph(model.operators).items():
        for nxt in nexts:
            if op in pos and nxt in pos:
                assert pos[op] < pos[nxt], f"{nxt} runs before {op}, which it depends on"
    base = {op: i for i, op in enumerate(build_order(model))}
    incs = {}
    for op in ops:
        for sig in op.incs:
            incs.setdefault(sig.base, []).append(op)
    for chain in incs.values():
        assert [base[op] for op in chain] == sorted(base[op] for op in chain)


def test_feeding_ops_first():
    """A component sends its same-step values before doing any of its other work: every
    op it runs before a send is needed for a value that another component waits for."""
    net, assignments, _ = models.ensemble_array_split()
    with build(net, assignments) as sim:
        lowered = sim._lowered
        model = sim.model
    assert lowered.ops != step_order(model), "nengo's toposort interleaves these"
    pos = {op: i for i, op in enumerate(lowered.ops)}
    comps = {}
    for program in lowered.programs:
        for rec in program.ops:
            comps.setdefault(rec.order, set()).add(program.component)
    preds = {}
    for op, nexts in operator_dependency_graph(model.operators).items():
        for nxt in nexts:
            preds.setdefault(nxt, set()).add(op)
    crossing = {ch.signal for ch in lowered.channels if ch.same_step}
    writers = [op for op in lowered.ops
               if any(s.base in crossing for s in op.sets + op.incs)]
    needed, stack = set(writers), list(writers)
    while stack:
        for p in preds.get(stack.pop(), ()):
            if p not in needed:
                needed.add(p)
                stack.append(p)
    checked = 0
    for ch in lowered.channels:
        if not ch.same_step:
            continue
        before = [op for op in lowered.ops[:ch.send_after + 1]
                  if ch.src_component in comps.get(pos[op], ())
                  and type(op).__name__ != "TimeUpdate"]
        assert all(op in needed for op in before), (
            f"component {ch.src_component} runs ops that feed no other component "
            f"before sending {ch.signal}")
        checked += 1
    assert checked >= 2


def build_order(model):
    ops = list(model.operators)
    return [ops[i] for i in build_order_sort(len(ops), dependency_lists(ops))]


def test_one_component_keeps_build_order():
    net, _, _ = models.ensemble_array_split()
    with build(net, n=1) as sim:
        assert sim._lowered.ops == build_order(sim.model)
        assert schedule_order(sim.model, lambda op: [0]) == build_order(sim.model)
        assert build_order(sim.model) != step_order(sim.model), (
            "nengo's toposort (a queue) and the build order differ on this model")


def test_build_order_of_a_closed_part_is_its_own():
    """Restricted to operators closed under "depends on", the build order is the build
    order of those operators alone (what lets a rank order its components' operators
    without the rest of the model)."""
    net, _, _ = models.ensemble_array_split()
    with build(net, n=1) as sim:
        ops = list(sim.model.operators)
    succ = dependency_lists(ops)
    preds = {i: set() for i in range(len(ops))}
    for i, nexts in enumerate(succ):
        for j in nexts:
            preds[j].add(i)
    whole = build_order_sort(len(ops), succ)
    checked = 0
    for start in range(len(ops)):
        closed, stack = {start}, [start]
        while stack:
            for p in preds[stack.pop()]:
                if p not in closed:
                    closed.add(p)
                    stack.append(p)
        if len(closed) < 2:
            continue
        part = sorted(closed)
        alone = build_order_sort(len(part), dependency_lists([ops[i] for i in part]))
        assert [part[i] for i in alone] == [i for i in whole if i in closed]
        checked += 1
    assert checked >= 3


def test_split_results_equal_one_process_bitwise():
    net, assignments, probe = models.ensemble_array_split()
    with build(net, n=1) as sim:
        sim.run(0.1)
        ref = sim.data[probe]
    with build(net, assignments) as sim:
        sim.run(0.1)
        np.testing.assert_array_equal(sim.data[probe], ref)


def test_same_step_end_needs_both_orders():
    eng = _engine.Engine(0.001, None)
    li = eng.add_component(0, np.zeros(8, dtype=np.uint8))
    view = eng.add_view(li, 0, DTYPE_CODES[np.dtype(np.float64)], (1,), (8,))
    with pytest.raises(ValueError, match="same-step channel 3 needs both"):
        eng.add_send(3, li, view, 1, 5, True)
    with pytest.raises(ValueError, match="same-step channel 4 needs both"):
        eng.add_recv(4, li, view, 1, 5, True, 7)
