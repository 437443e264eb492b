"""Merge same-kind operators within each component, as planned by `.planner`.

nengo's builder makes many small operators (one LIF op, one encoder DotInc, one Copy per
ensemble...); merging them into a few large ones over contiguous memory is what makes
the engine's per-step cost scale with the neurons and not with the number of objects.
Which operators merge is our planner's choice (`nengo_mpi.lower.planner`), fenced to one
component at a time (`nengo_mpi.lower.fence`); how they merge is nengo's own
(`nengo.builder.optimizer.OpMerger.merge` and its signal mergers), so that merged
operators and signals are exactly those nengo's optimizer would make of the same group.

Merging is repeated in passes until one merges nothing: a merge turns the signals of
its operators into views of a new base, and then the operators that use those views
(upstream, or in a batch already done) may merge in the next pass.

Merged operators remember their component (the model's
`nengo_mpi.lower.state.LoweringState`), so a model lowered
again with the same assignment (an unpickled Simulator) places them where they were made.
"""

import contextlib
import gc
from collections import defaultdict

from nengo.builder.neurons import SimNeurons
from nengo.builder.operator import Copy, DotInc, ElementwiseInc, TimeUpdate
from nengo.builder.optimizer import OpMergePass

from .dependencies import dependency_lists
from .fence import ComponentFence
from .merge_ops import merge_ops
from .planner import OpGraph, merge_groups, plan_batches
from .stages import ZERO_STAGE, stage_of
from .state import lowering_state


def merge_placement(model, assigner):
    """What `merge_within_components` needs to know of a split: ``(op_components,
    probe_components)``, every operator's components and, per base signal, the
    components that record a probe of it.

    Parameters
    ----------
    model : nengo.builder.Model
    assigner : nengo_mpi.lower.assign.OperatorAssigner
    """
    probe_components = {}
    for probe in model.probes:
        base = model.sig[probe]["in"].base
        probe_components.setdefault(base, set()).add(assigner.component_of(probe))
    op_components = {op: assigner.components(op) for op in model.operators}
    return op_components, probe_components


def merge_within_components(model, op_components, probe_components, independent=False,
                            only=None, stages=None):
    """Merge the operators of ``model`` that run on one component, within it.

    Parameters
    ----------
    model : nengo.builder.Model
        A built model; its operators and signals are replaced by the merged ones (as
        `nengo.Simulator` does with ``optimize=True``).
    op_components : dict
        Operator -> list of components that run it.
    probe_components : dict
        Base signal -> set of components that record a probe of it.
    independent : bool, optional
        Plan each component's merges on its own operators alone. Right only when no
        component reads in a step what another sets or increments in that step
        (`same_step_crossing` is False): then no dependency leaves a component and
        comes back to it, and each component's merges are the same whatever else the
        model holds (a rank that built only its own components' neighbourhood merges
        them as a build of the whole model does).
    only : collection of int, optional
        Merge within these components only (with ``independent``).
    stages : dict, optional
        ``(operator, component)`` -> stage (`nengo_mpi.lower.stages`): operators merge
        only within a stage (with ``independent``); merged operators get their parts'.

    Returns
    -------
    dict
        Every operator of the merged model -> tuple of its components. Merged operators
        are also recorded in the model's lowering state (``op_components``).
    """
    with _gc_paused():
        return _merge(model, op_components, probe_components, independent, only, stages)


def same_step_crossing(operators, op_components):
    """Whether a component reads, in a step, a signal that another component sets or
    increments in that step (a same-step channel; see `nengo_mpi.lower.channels`)."""
    writers, readers = {}, {}
    for op in operators:
        if isinstance(op, TimeUpdate):
            continue  # every component keeps its own clock
        comps = op_components.get(op, ())
        for sig in op.sets + op.incs:
            writers.setdefault(sig.base, set()).update(comps)
        for sig in op.reads:
            readers.setdefault(sig.base, set()).update(comps)
    return any(readers.get(base, set()) - comps for base, comps in writers.items())


@contextlib.contextmanager
def _gc_paused():
    """Pause Python's cyclic garbage collector (if on), and restart it on exit.

    Merging allocates many small objects; each full collection then walks the whole
    built model, which made up half the time of merging a large model.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


#: Which operators' merges decide the memory layout first. Merging operators without
#: views concatenates their signals into new bases, in the order of the group; every
#: operator that uses those signals can then merge only along that order (its views
#: must be contiguous). So, as nengo's optimizer does, plain merges are allowed one
#: kind more per pass, neurons first (their inputs and outputs are what most other
#: operators touch), and Resets and the other kinds last, to follow the others.
LAYOUT_ORDER = (SimNeurons, DotInc, ElementwiseInc, Copy)


def _merge(model, op_components, probe_components, independent, only, stages):
    comps = {op: tuple(c) for op, c in op_components.items()}
    fence = ComponentFence.for_model(model.operators, comps, probe_components)
    ops = list(model.operators)
    signals = _SignalIndex(ops)
    merge_classes = _MergeClasses(fence, stages)
    position = {op: i for i, op in enumerate(ops)}
    if independent:
        by_component = defaultdict(list)
        for op in ops:
            home = comps.get(op, ())
            if len(home) == 1 and (only is None or home[0] in only):
                by_component[home[0]].append(op)
        graphs = [OpGraph(part, dependency_lists(part))
                  for _, part in sorted(by_component.items())]
    else:
        # The whole model's graph, not one component's: the plan must see dependencies
        # that pass through other components' operators (see `nengo_mpi.lower.planner`).
        graphs = [OpGraph(ops, dependency_lists(ops))]
    final = []
    for graph in graphs:
        final.extend(_merge_passes(graph, signals, fence, merge_classes, position,
                                   stages))
    placed = {op for graph in graphs for op in graph.ops}
    final.extend(op for op in ops if op not in placed)
    # A merged operator takes the place of the first of its operators (as
    # `OpGraph.contract` places it), so every component's operators keep their order.
    final.sort(key=position.__getitem__)

    signals.update_model_signals(model)
    del model.operators[:]
    for op in final:
        model.add_op(op)

    recorded = lowering_state(model).op_components
    for op in model.operators:
        if op not in op_components:
            recorded[op] = fence.op_components[op]
    return {op: fence.op_components[op] for op in model.operators}


def _merge_passes(graph, signals, fence, merge_classes, position, stages):
    """Merge within ``graph`` in passes until one merges nothing; returns the
    operators of the merged graph (``position`` gets theirs: their first part's)."""
    n_layout = 1
    last_merged = None
    while True:
        layout = LAYOUT_ORDER[:n_layout] if n_layout <= len(LAYOUT_ORDER) else None
        classes = [merge_classes.of(op, layout) for op in graph.ops]
        if last_merged == 0 and layout is not None and not any(
                type(op) is layout[-1] and cls is not None
                for op, cls in zip(graph.ops, classes)):
            n_layout += 1  # the same graph and classes as the last pass: skip it
            continue
        merged_into = {}
        for batch in plan_batches(graph, classes):
            batch = [graph.ops[i] for i in batch]
            plain = layout is None or type(batch[0]) in layout
            changed = set()
            for ops in merge_groups(batch, changed, plain):
                merged_op, touched = signals.merge(ops)
                fence.adopt(merged_op, ops)
                if stages is not None:
                    home = fence.merge_home(ops[0])
                    stage = stage_of(stages, ops[0], home)
                    if stage != ZERO_STAGE:
                        stages[(merged_op, home)] = stage
                position[merged_op] = min(position[op] for op in ops)
                for op in ops:
                    merged_into[op] = merged_op
                changed.update(touched)
                merge_classes.forget(touched)
        if not merged_into and layout is None:
            break
        last_merged = len(merged_into)
        n_layout += 1
        if merged_into:
            graph = graph.contract(merged_into)
    return graph.ops


class _MergeClasses:
    """The merge class of each operator (see `nengo_mpi.lower.planner`), kept from pass
    to pass until the operator's signals change.

    Parameters
    ----------
    fence : ComponentFence
        Which operators may merge, and within which component.
    stages : dict or None
        ``(operator, component)`` -> stage: operators merge only within one.
    """

    def __init__(self, fence, stages=None):
        self.fence = fence
        self.stages = stages
        self._known = {}  # op -> (class or None, whether it has a view)

    def of(self, op, layout):
        """``op``'s class, or None if it may not merge in a pass allowing ``layout``.

        Operators without views, of a type not in ``layout`` (if not None), may not
        merge in this pass.
        """
        known = self._known.get(op)
        if known is None:
            known = self._known[op] = self._find(op)
        cls, has_view = known
        if layout is None or has_view or type(op) in layout:
            return cls
        return None

    def forget(self, ops):
        """Drop what is known of ``ops``, whose signals were replaced."""
        for op in ops:
            self._known.pop(op, None)

    def _find(self, op):
        home = self.fence.merge_home(op)
        if home is None:
            return None, False
        # Necessary for nengo's rules: same type (and neuron type), each view on the
        # same base with the same strides, each plain signal of the same dtype and
        # shape but along the axis that merging concatenates. A class should hold no
        # operators that can never merge: the planner makes a class wait for all its
        # operators.
        neurons = op.neurons if isinstance(op, SimNeurons) else None
        last_axis = isinstance(op, ElementwiseInc)
        signals = []
        has_view = False
        for sig in op.all_signals:
            if sig.is_view:
                has_view = True
                signals.append(sig.base)  # strides are left to nengo's checks
            else:
                shape = sig.shape
                signals.append((sig.dtype, shape[:-1] if last_axis else shape[1:]))
        stage = None if self.stages is None else stage_of(self.stages, op, home)
        return (home, stage, type(op), neurons, tuple(signals)), has_view


class _SignalIndex:
    """Which operators use each signal, and which views each base has; does merges.

    The bookkeeping of a merge is nengo's (`OpMergePass`'s methods, called on this
    index, which has the two maps they use), so that the signals of the other
    operators, and views of the replaced signals, follow a merge as they would in
    nengo's optimizer.

    Parameters
    ----------
    operators : list
        Every operator of the model, including those that run on no component (their
        views must follow merges too).
    """

    def __init__(self, operators):
        self.sig2ops = defaultdict(set)
        self.base2views = defaultdict(set)
        for op in operators:
            for sig in op.all_signals:
                self.sig2ops[sig].add(op)
                self.base2views[sig.base].add(sig)
        self.sig_replacements = {}

    def merge(self, ops):
        """Merge ``ops`` (`.merge_ops`); replace their signals everywhere.

        Returns
        -------
        merged_op : Operator
            The new operator.
        touched : set
            The operators whose signals were replaced.
        """
        merged_op, replaced = merge_ops(ops)
        OpMergePass.resolve_views_on_replaced_signals(self, replaced)
        touched = {op for sig in replaced for op in self.sig2ops.get(sig, ())}
        self.sig_replacements.update(replaced)
        OpMergePass.replace_op_signals(self, replaced)
        OpMergePass.update_signal_indexing(self, merged_op, replaced)
        return merged_op, touched

    def update_model_signals(self, model):
        """Point ``model.sig`` at the signals that replaced the merged ones."""
        replaced = self.sig_replacements
        for sigdict in model.sig.values():
            for name in sigdict:
                while sigdict[name] in replaced:
                    sigdict[name] = replaced[sigdict[name]]
