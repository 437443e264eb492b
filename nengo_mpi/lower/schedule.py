"""The global operator order every rank runs: nengo's dependencies, arranged for overlap.

Every rank executes its own operators in one shared global order, sending a same-step
channel after its last writer and waiting for it before its first reader (see
`nengo_mpi.lower.channels`). Any order that respects nengo's dependency graph is
correct, but not every order lets ranks work at once: nengo's own toposort may put the
operators that feed another rank late in the step and the ones that wait for it early,
so that the ranks take turns. This order starts from the *build order*: the
topological order that runs, of the operators ready, the one nengo's builder made first
(`build_order_sort`). Ties are then broken in three bands:

0. operators that (transitively) feed a value read in the same step by another
   component: the sooner they run, the sooner the other rank can go on;
1. operators unrelated to any crossing value;
2. operators that (transitively) depend on a value received in the same step: run last,
   so that the wait for it is as short as possible.

Results must not depend on the split, so operators that increment the same signal keep
their relative order from the build order (floating-point sums depend on their order);
nothing else an operator computes depends on the order of independent operators.

The build order, unlike nengo's own toposort (a queue), gives each component's
operators an order that depends only on the operators they depend on: restricted to any
set of operators closed under "depends on", it is the build order of that set alone.
A rank that built only its components and their neighbours (`nengo_mpi.construction.halo`)
cannot see the whole graph this order needs when values cross components within a
step; it orders by stages instead (`nengo_mpi.lower.stages`), which keep the same order
of every signal's increments.
"""

import heapq
from collections import defaultdict

from nengo.builder.operator import TimeUpdate
from nengo.utils.graphs import toposort
from nengo.utils.simulator import operator_dependency_graph

from .dependencies import dependency_lists


def step_order(model, dg=None):
    """nengo's own operator order (the same as nengo.Simulator's, unoptimised).

    ``dg`` is ``model``'s operator dependency graph, if the caller has it already.
    """
    if dg is None:
        dg = operator_dependency_graph(model.operators)
    return [op for op in toposort(dg) if hasattr(op, "make_step")]


def build_order_sort(n, succ, priority=None):
    """The topological order of ``n`` operators (``succ[i]``: positions of the
    operators after ``i``) that always runs, of the operators ready, the one first in
    their list: for a model's operators, the one nengo's builder made first.

    ``priority``, if given, is each operator's sort key, ahead of its place in the
    list (the stages of `nengo_mpi.lower.stages`).

    Raises
    ------
    ValueError
        If the operators depend on each other in a cycle.
    """
    n_pred = [0] * n
    for nexts in succ:
        for j in nexts:
            n_pred[j] += 1
    def entry(i):
        return i if priority is None else (priority[i], i)

    ready = [entry(i) for i in range(n) if n_pred[i] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        i = i if priority is None else i[1]
        order.append(i)
        for j in succ[i]:
            n_pred[j] -= 1
            if n_pred[j] == 0:
                heapq.heappush(ready, entry(j))
    if len(order) != n:
        raise ValueError("the operators' dependencies form a cycle")
    return order


def _crossing_ops(ops, components):
    """Ops that set/inc a base read in the same step elsewhere, and the ops reading one."""
    writers = defaultdict(set)  # base -> components that set or increment it
    readers = defaultdict(set)
    for op in ops:
        if isinstance(op, TimeUpdate):
            continue  # every component keeps its own clock
        comps = components[op]
        for sig in op.sets + op.incs:
            writers[sig.base].update(comps)
        for sig in op.reads:
            readers[sig.base].update(comps)
    crossing = {base for base, w in writers.items() if readers.get(base, set()) - w}
    feeding, waiting = [], []
    for op in ops:
        if any(sig.base in crossing for sig in op.sets + op.incs):
            feeding.append(op)
        if any(sig.base in crossing for sig in op.reads):
            waiting.append(op)
    return feeding, waiting


def _closure(starts, edges):
    """Every op reachable from ``starts`` along ``edges`` (starts included)."""
    seen = set(starts)
    stack = list(starts)
    while stack:
        for nxt in edges.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def schedule_order(model, components):
    """The global order of ``model``'s operators for a given assignment to components.

    Parameters
    ----------
    model : nengo.builder.Model
        A built (possibly merged) model.
    components : callable
        Operator -> list of the components that run it.

    Returns
    -------
    list
        The operators with a ``make_step``, in an order that respects nengo's
        dependency graph and keeps the order of every signal's increments.
    """
    ops = [op for op in model.operators if hasattr(op, "make_step")]
    edges = dependency_lists(ops)
    base = [ops[i] for i in build_order_sort(len(ops), edges)]
    index = {op: i for i, op in enumerate(base)}
    succ = {ops[i]: {ops[j] for j in nexts} for i, nexts in enumerate(edges)}
    # Increments of one signal stay in the build order: their sum must not depend on
    # the split.
    incs = defaultdict(list)
    for op in base:
        for sig in op.incs:
            incs[sig.base].append(op)
    for chain in incs.values():
        for a, b in zip(chain, chain[1:]):
            if a is not b:
                succ[a].add(b)

    comps = {op: components(op) for op in base}
    feeding, waiting = _crossing_ops(base, comps)
    pred = defaultdict(set)
    for op, nexts in succ.items():
        for nxt in nexts:
            pred[nxt].add(op)
    band = dict.fromkeys(base, 1)
    for op in _closure(waiting, succ):
        band[op] = 2
    for op in _closure(feeding, pred):
        band[op] = 0  # feeding another rank beats waiting on one

    n_pred = {op: len(pred[op]) for op in base}
    ready = [(band[op], index[op]) for op in base if n_pred[op] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, i = heapq.heappop(ready)
        op = base[i]
        order.append(op)
        for nxt in succ[op]:
            n_pred[nxt] -= 1
            if n_pred[nxt] == 0:
                heapq.heappush(ready, (band[nxt], index[nxt]))
    assert len(order) == len(base), "the dependency graph has a cycle"
    return order
