"""Stages: one operator order for components that read each other's values within a
step, agreed without the whole model.

When a component reads in a step a value another component sets in that step (a
connection without a synapse between them, `nengo_mpi.lower.channels`), the ranks'
operator orders must be restrictions of one global order, or two ranks may each wait
for the other. A build of the whole model gets that order from the whole dependency
graph (`nengo_mpi.lower.schedule`); a rank that built only its own components and
their neighbours (`nengo_mpi.construction.halo`) cannot.

Instead every operator ``u`` of a component gets two numbers, each the most same-step
channels on a path of the dependency graph:

- ``before(u)``: on a path ending at ``u`` (how many crossings feed it);
- ``after(u)``: on a path starting at ``u`` (how many crossings it feeds).

Along an edge within a component neither moves the wrong way (``before`` does not
fall, ``after`` does not rise), and along a same-step channel ``after`` falls strictly.
So ordering every component's operators by their *stage* ``(-after, before)``, and
within a stage by the build order, is one global order restricted to each component,
whatever split of the components over ranks: feeding other components first, waiting
for them last, as `nengo_mpi.lower.schedule`'s bands do. The two numbers are found by
a few rounds of exchanging, per channel, its writers' ``before`` and its readers'
``after`` (one round per crossing on the longest such path, plus one).

Operators merge only within a stage (`nengo_mpi.lower.merge`): a path leaving a
component and coming back crosses two channels, so two operators of one stage have no
path between them through other components, and merging them cannot make a cycle.
"""

import bisect
from collections import defaultdict
from dataclasses import dataclass, field

from nengo.builder.operator import TimeUpdate

from .dependencies import byte_bounds, dependency_lists
from .schedule import build_order_sort

#: Bits of an operator's order (`stage_orders`) below its stage: its place within it.
_PLACE_BITS = 32
#: Bits of each of a stage's two numbers.
_STAGE_BITS = 14
#: The stage of an operator no crossing feeds and that feeds none: most operators, so
#: stage dicts (`stage_keys`) leave it out.
ZERO_STAGE = (0, 0)


@dataclass
class StageGraph:
    """What one process knows of the same-step structure of its components.

    Attributes
    ----------
    nodes : list
        ``(operator, component)`` of every operator run on the components here, in the
        model's order (TimeUpdate, which every component runs and nothing precedes,
        is left out).
    succ : list of list of int
        The edges among ``nodes`` within each component: nengo's dependencies, and the
        order of the increments of each memory (`increment_chains`); empty if no
        channel has an end here.
    writers : dict
        Key of each same-step channel leaving a component here -> the nodes that set
        or increment its signal.
    readers : dict
        Key of each same-step channel entering a component here -> the nodes reading
        its signal.
    """

    nodes: list
    succ: list
    writers: dict = field(default_factory=dict)
    readers: dict = field(default_factory=dict)


def increment_chains(ops):
    """Edges ``(i, j)`` that keep the increments of any memory in ``ops``'s order (their
    sum must not depend on the split).

    Only increments of overlapping views are chained: merging concatenates unrelated
    signals into one base, and ordering their increments would add edges between
    operators that no stage orders.
    """
    spans = defaultdict(_Spans)  # base -> the byte spans of its increments so far
    edges = []
    for j, op in enumerate(ops):
        for sig in op.incs:
            bounds = byte_bounds(sig)
            if bounds is not None:
                edges.extend((i, j) for i in spans[sig.base].add(bounds, j) if i != j)
    return edges


class _Spans:
    """The byte spans of one base's increments so far, each with its last incrementer,
    sorted by first byte: a span's overlapping predecessors are found by bisection
    (a base merging concatenated may have thousands of disjoint spans)."""

    def __init__(self):
        self.firsts = []  # sorted (first, end)
        self.last = {}  # (first, end) -> position of its last increment
        self.longest = 0

    def add(self, span, position):
        """Record an increment of ``span`` at ``position``; return the positions of
        the last increments of the spans it overlaps."""
        first, end = span
        found = []
        # Spans starting before ``end`` and at most ``longest`` bytes before ``first``
        # are the only ones that can overlap.
        k = bisect.bisect_left(self.firsts, (end, -1))
        while k > 0:
            k -= 1
            f, e = self.firsts[k]
            if f + self.longest <= first:
                break
            if e > first:
                found.append(self.last[(f, e)])
        if span not in self.last:
            bisect.insort(self.firsts, span)
            self.longest = max(self.longest, end - first)
        self.last[span] = position
        return found


def component_graph(ops):
    """Successor lists of ``ops`` (one component's, in the model's order): nengo's
    dependencies and the increment chains."""
    succ = [set(nexts) for nexts in dependency_lists(ops)]
    for i, j in increment_chains(ops):
        succ[i].add(j)
    return [sorted(nexts) for nexts in succ]


def same_step_channels(model, components):
    """``{(base, src component, dst component): (writers, readers)}`` of every value set
    or incremented in one component and read in the same step in another."""
    writers = defaultdict(lambda: defaultdict(list))
    readers = defaultdict(lambda: defaultdict(list))
    for op in model.operators:
        if isinstance(op, TimeUpdate):
            continue  # every component keeps its own clock
        for comp in components(op):
            for sig in op.sets + op.incs:
                writers[sig.base][comp].append(op)
            for sig in op.reads:
                readers[sig.base][comp].append(op)
    found = {}
    for base, by_comp in writers.items():
        for src, writing in by_comp.items():
            for dst, reading in readers.get(base, {}).items():
                if dst != src:
                    found[(base, src, dst)] = (writing, reading)
    return found


def stage_graph(model, components, local, channel_key):
    """The `StageGraph` of ``model``'s components ``local``.

    Parameters
    ----------
    model : nengo.builder.Model
        Built, not yet merged.
    components : callable
        Operator -> the components that run it.
    local : collection of int
    channel_key : callable
        ``(base, src, dst)`` -> a name both ends' processes give the channel.
    """
    local = set(local)
    nodes, succ = [], []
    by_comp = defaultdict(list)
    for op in model.operators:
        if isinstance(op, TimeUpdate):
            continue
        for comp in components(op):
            if comp in local:
                by_comp[comp].append(op)
    index = {}
    for comp in sorted(by_comp):
        for op in by_comp[comp]:
            index[(op, comp)] = len(nodes)
            nodes.append((op, comp))
    graph = StageGraph(nodes, succ)
    for (base, src, dst), (writing, reading) in same_step_channels(
            model, components).items():
        if src not in local and dst not in local:
            continue
        key = channel_key(base, src, dst)
        if src in local:
            graph.writers[key] = [index[(op, src)] for op in writing]
        if dst in local:
            graph.readers[key] = [index[(op, dst)] for op in reading]
    if graph.writers or graph.readers:
        # The dependencies only matter (and only cost time) where a value crosses.
        for comp in sorted(by_comp):
            start = len(succ)
            succ.extend([start + j for j in nexts]
                        for nexts in component_graph(by_comp[comp]))
    return graph


def stage_numbers(graph, exchange):
    """``(before, after)`` of every node of ``graph`` (see the module's docstring).

    Parameters
    ----------
    graph : StageGraph
    exchange : callable
        ``exchange(sent_before, sent_after)``, given this process's ``{key: before}``
        of the channels it writes and ``{key: after}`` of those it reads, returns
        ``(before_in, after_in, done)``: the writers' ``before`` of the channels it
        reads, the readers' ``after`` of those it writes (missing: not yet known), and
        whether no process's values changed since the last call (see
        `LocalExchange`).
    """
    n = len(graph.nodes)
    if not graph.writers and not graph.readers:
        # No value crosses to or from a component here: every stage is (0, 0), but
        # the other ranks' rounds need this one's (empty) part.
        while not exchange({}, {})[2]:
            pass
        return [0] * n, [0] * n
    order = build_order_sort(n, graph.succ)  # any topological order serves
    before_in, after_in = {}, {}
    while True:
        before = [0] * n
        for key, nodes in graph.readers.items():
            if key in before_in:
                for i in nodes:
                    before[i] = max(before[i], before_in[key] + 1)
        for i in order:
            for j in graph.succ[i]:
                if before[j] < before[i]:
                    before[j] = before[i]
        after = [0] * n
        for key, nodes in graph.writers.items():
            if key in after_in:
                for i in nodes:
                    after[i] = max(after[i], after_in[key] + 1)
        for i in reversed(order):
            for j in graph.succ[i]:
                if after[i] < after[j]:
                    after[i] = after[j]
        sent_before = {key: max(before[i] for i in nodes)
                       for key, nodes in graph.writers.items()}
        sent_after = {key: max(after[i] for i in nodes)
                      for key, nodes in graph.readers.items()}
        before_in, after_in, done = exchange(sent_before, sent_after)
        if done:
            return before, after


class LocalExchange:
    """`stage_numbers`'s exchange when every component is here (a build of the whole
    model): each channel's two ends are this process's own.

    Parameters
    ----------
    limit : int
        Rounds after which values still changing mean a cycle through the channels.
    """

    def __init__(self, limit):
        self.limit = limit
        self.rounds = 0
        self.last = None

    def __call__(self, sent_before, sent_after):
        self.rounds += 1
        now = (sent_before, sent_after)
        done = now == self.last
        if not done and self.rounds > self.limit:
            raise ValueError("the same-step channels between components form a cycle")
        self.last = now
        return sent_before, sent_after, done


def stage_keys(graph, before, after):
    """``{(operator, component): stage}``, the stage ``(-after, before)``, of the nodes
    whose stage is not `ZERO_STAGE` (see `stage_of`)."""
    return {node: (-after[i], before[i]) for i, node in enumerate(graph.nodes)
            if after[i] or before[i]}


def stage_of(stages, op, comp):
    """The stage of ``op`` on ``comp`` in a dict from `stage_keys`."""
    return stages.get((op, comp), ZERO_STAGE)


def stage_orders(ops, components, local, stages):
    """The order of every operator of ``local``'s components after merging.

    Parameters
    ----------
    ops : list
        The model's operators (merged), in its order.
    components : callable
        Operator -> the components that run it.
    local : collection of int
    stages : dict
        ``(operator, component)`` -> stage (`stage_keys`, kept by merging; absent:
        `ZERO_STAGE`).

    Returns
    -------
    dict
        Operator -> its order: its stage in the high bits, then its place among the
        stage's operators of its component, in the build order within the
        component's dependencies. Every TimeUpdate is 0 (nothing precedes it).

    Raises
    ------
    ValueError
        If a component's dependencies do not follow its stages (a nengo_mpi bug), or
        if more values cross components in a row than an order can number.
    """
    local = set(local)
    by_comp = defaultdict(list)
    orders = {}
    for op in ops:
        if isinstance(op, TimeUpdate):
            orders[op] = 0
            continue
        for comp in components(op):
            if comp in local:
                by_comp[comp].append(op)
    for comp, comp_ops in by_comp.items():
        key = [stage_of(stages, op, comp) for op in comp_ops]
        last, place = None, 0
        for i in build_order_sort(len(comp_ops), component_graph(comp_ops), key):
            k = key[i]
            if last is not None and k < last:
                raise ValueError(f"component {comp}'s operators do not follow their "
                                 "stages (a nengo_mpi bug)")
            place = place + 1 if k == last else 1
            last = k
            after, before = -k[0], k[1]
            if max(after, before) >= 1 << _STAGE_BITS:
                # Raised here, within lowering, so that every rank hears of it.
                raise ValueError("more values cross components in a row within a "
                                 f"step than nengo_mpi orders ({1 << _STAGE_BITS})")
            stage = ((((1 << _STAGE_BITS) - 1 - after) << _STAGE_BITS) | before)
            orders[comp_ops[i]] = (stage << _PLACE_BITS) | place
    return orders
