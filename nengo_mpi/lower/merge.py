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

    def record(self, ops, merged_op, replacements):
        """Carry the component of ``ops`` over to their merge and its new signals."""
        comps = self.op_components[ops[0]]
        self.op_components[merged_op] = comps
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
    with _fenced(fence):
        nengo_optimize(model, dg)
    recorded = model.__dict__.setdefault("op_components", {})
    for op in model.operators:
        if op not in op_components:
            recorded[op] = fence.op_components[op]
    return {op: fence.op_components[op] for op in model.operators}
