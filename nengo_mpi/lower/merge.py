"""Merge same-kind operators within each component, with nengo's own op-merge optimizer.

nengo's optimizer turns many small operators (one LIF op, one encoder DotInc, one Copy
per ensemble...) into a few large ones over contiguous memory, which is what makes the
engine's per-step cost scale with the neurons and not with the number of objects. Run on
the whole model it would also merge operators of objects on different components, and
signals that travel between components into the bases of others. So it runs here with
a fence: two operators merge only when they run on the same one component and every
signal they touch is used on that component alone. Merged operators remember their
component (``model.op_components``), so a model lowered again with the same assignment
(an unpickled Simulator) places them where they were made.

Neuron types that draw random numbers are never merged: the engine seeds one stream
per operator, and merging would make the draws depend on the partition.

The optimizer runs once per component, on the operators of that component alone: run on
the whole model, each of its passes would merge in only a few components (operators
downstream of a merge wait for the next pass) while paying for the whole model's
dependency closure, so its time grew with the square of the model (17 s for 200
ensembles in 20 components). A component's graph keeps the dependencies that pass
through other components, so that no merge can create a cycle.
"""

import contextlib
from collections import defaultdict

import nengo
from nengo.builder.neurons import SimNeurons
from nengo.builder.optimizer import OpMerger
from nengo.builder.optimizer import optimize as nengo_optimize
from nengo.utils.simulator import operator_dependency_graph

#: Neuron types whose ``step`` is deterministic and elementwise, so that one op over the
#: concatenated neurons computes exactly what the separate ops would.
DETERMINISTIC_NEURONS = (
    nengo.LIF,
    nengo.LIFRate,
    nengo.AdaptiveLIF,
    nengo.AdaptiveLIFRate,
    nengo.RectifiedLinear,
    nengo.SpikingRectifiedLinear,
    nengo.Sigmoid,
    nengo.Tanh,
    nengo.Izhikevich,
)


def _mergeable_kind(op):
    if isinstance(op, SimNeurons):
        return type(op.neurons) in DETERMINISTIC_NEURONS
    return True


class ComponentFence:
    """Which merges stay within one component.

    Parameters
    ----------
    op_components : dict
        Operator -> tuple of the components that run it.
    signal_components : dict
        Base signal -> set of the components whose operators (or probes) use it.
    """

    def __init__(self, op_components, signal_components):
        self.op_components = op_components
        self.signal_components = signal_components
        # An op's home never changes during a run of the optimizer: signals are only
        # replaced by merged ones used by the same one component.
        self._homes = {}
        # What the merges did, over all components: ops merged away, merged ops made,
        # and the optimizer's dicts of signal -> the signal that replaced it.
        self.merged_away = set()
        self.made = []
        self._replacements = []

    def home(self, op):
        """The one component that runs ``op`` and alone uses its signals, or None."""
        if op not in self._homes:
            self._homes[op] = self._find_home(op)
        return self._homes[op]

    def _find_home(self, op):
        comps = self.op_components.get(op)
        if comps is None or len(comps) != 1:
            return None
        (comp,) = comps
        for sig in op.all_signals:
            if self.signal_components.get(sig.base, {comp}) != {comp}:
                return None
        return comp

    def allows(self, op, tomerge):
        first = tomerge.ops[0]
        if not (_mergeable_kind(op) and _mergeable_kind(first)):
            return False
        home = self.home(op)
        return home is not None and home == self.home(first)

    def sig_replacements(self):
        """Signal -> the signal that replaced it, over every merge made."""
        out = {}
        for replacements in self._replacements:
            out.update(replacements)
        return out

    def record(self, ops, merged_op, replacements):
        """Carry the component of ``ops`` over to their merge and its new signals."""
        comps = self.op_components[ops[0]]
        self.op_components[merged_op] = comps
        self.merged_away.update(ops)
        self.made.append(merged_op)
        # The optimizer goes on to add the replacements of views of these signals to
        # this same dict, so keep the dict itself (see `sig_replacements`).
        self._replacements.append(replacements)
        for old, new in replacements.items():
            used = self.signal_components.get(old.base, set(comps))
            self.signal_components.setdefault(new.base, set()).update(used)


@contextlib.contextmanager
def _fenced(fence):
    """Patch nengo's OpMerger so that it consults ``fence`` (restored on exit)."""
    is_mergeable = OpMerger.__dict__["is_mergeable"]
    merge = OpMerger.__dict__["merge"]

    def fenced_is_mergeable(cls, op, tomerge):
        return fence.allows(op, tomerge) and is_mergeable.__func__(cls, op, tomerge)

    def fenced_merge(cls, ops):
        merged_op, replacements = merge.__func__(cls, ops)
        fence.record(ops, merged_op, replacements)
        return merged_op, replacements

    OpMerger.is_mergeable = classmethod(fenced_is_mergeable)
    OpMerger.merge = classmethod(fenced_merge)
    try:
        yield
    finally:
        OpMerger.is_mergeable = is_mergeable
        OpMerger.merge = merge


def merge_within_components(model, op_components, probe_components):
    """Run nengo's op-merge optimizer on ``model``, merging only within components.

    Parameters
    ----------
    model : nengo.builder.Model
        A built model; its operators and signals are replaced by the merged ones (as
        `nengo.Simulator` does with ``optimize=True``).
    op_components : dict
        Operator -> list of components that run it.
    probe_components : dict
        Base signal -> set of components that record a probe of it.

    Returns
    -------
    dict
        Every operator of the merged model -> tuple of its components. Merged operators
        are also recorded in ``model.op_components``.
    """
    comps = {op: tuple(c) for op, c in op_components.items()}
    used = defaultdict(set)
    for op, cs in comps.items():
        for sig in op.all_signals:
            used[sig.base].update(cs)
    for base, cs in probe_components.items():
        used[base].update(cs)

    fence = ComponentFence(comps, dict(used))
    dg = operator_dependency_graph(model.operators)
    on_component = defaultdict(list)
    candidates = defaultdict(lambda: defaultdict(int))  # component -> op type -> count
    for op in model.operators:
        runs_on = comps.get(op, ())
        if not runs_on:
            # Runs nowhere (nengo's SimProbe), but its views must follow the merges of
            # the components that use their bases, as they would in nengo's optimizer.
            runs_on = {c for sig in op.all_signals for c in used.get(sig.base, ())}
        for c in runs_on:
            on_component[c].append(op)
        home = fence.home(op)
        if home is not None and _mergeable_kind(op):
            candidates[home][type(op)] += 1
    with _fenced(fence):
        for c in sorted(candidates):
            if max(candidates[c].values()) < 2:
                continue  # nothing of one kind to merge
            ops = _OpsOnly()
            nengo_optimize(ops, _component_graph(dg, on_component[c]))

    # nengo's optimize() would have done this for the whole model.
    replaced = fence.sig_replacements()
    for sigdict in model.sig.values():
        for name in sigdict:
            while sigdict[name] in replaced:
                sigdict[name] = replaced[sigdict[name]]
    kept = [op for op in model.operators if op not in fence.merged_away]
    kept += [op for op in fence.made if op not in fence.merged_away]
    del model.operators[:]
    for op in kept:
        model.add_op(op)

    recorded = model.__dict__.setdefault("op_components", {})
    for op in model.operators:
        if op not in op_components:
            recorded[op] = fence.op_components[op]
    return {op: fence.op_components[op] for op in model.operators}


class _OpsOnly:
    """What nengo's ``optimize`` needs of a model: its operators (and signals to update,
    which `merge_within_components` updates once for all components instead)."""

    def __init__(self):
        self.sig = {}
        self.operators = []

    def add_op(self, op):
        self.operators.append(op)


def _component_graph(dg, ops):
    """The dependency graph among ``ops`` (one component's), including dependencies that
    pass through operators of other components: ``a`` precedes ``b`` if some path of
    ``dg`` leads from ``a`` to ``b``."""
    members = set(ops)
    reach = {}  # op of another component -> members it leads to through non-members

    def leads_to(start):
        # Iterative post-order walk over non-members, memoised in ``reach``.
        if start in reach:
            return reach[start]
        stack = [(start, iter(dg.get(start, ())))]
        found = {start: set()}
        while stack:
            node, successors = stack[-1]
            advanced = False
            for nxt in successors:
                if nxt in members:
                    found[node].add(nxt)
                elif nxt in reach:
                    found[node] |= reach[nxt]
                elif nxt not in found:
                    found[nxt] = set()
                    stack.append((nxt, iter(dg.get(nxt, ()))))
                    advanced = True
                    break
            if not advanced:
                stack.pop()
                reach[node] = found[node]
                if stack:
                    found[stack[-1][0]] |= found[node]
        return reach[start]

    graph = {}
    for op in ops:
        nexts = set()
        for nxt in dg.get(op, ()):
            nexts |= {nxt} if nxt in members else leads_to(nxt)
        graph[op] = nexts
    return graph
