"""Choose which operators to merge: batches of independent same-kind operators.

Merging operators contracts them into one node of the dependency graph; the merged
model is sound only if the contracted graph has no cycle. nengo's optimizer checks
that pairwise against a transitive closure of the whole graph, recomputed on every pass.
This planner gets the same guarantee from a schedule instead (nengo_ocl plans its
operator groups the same way): it walks the graph in dependency order and releases the
ready operators of one *merge class* (same component, same operator type, same view
bases...) together, as one *batch*. Every batch is a set of operators none of which
depends on another (each was ready, so none waits for another), and the batches in
release order form a topological order of the graph in which each batch is one node.
Merging any subsets of any batches therefore contracts the graph along that order and
can never make a cycle, not even through operators of other components, which are part
of the walk.

A class waits until all its operators are ready, so that operators at different
depths of the graph still merge; only when every class with ready operators still
waits for some of its own (they depend on each other through other classes) is the
class with the most ready operators released early.

Within a batch, the groups that actually merge are chosen by nengo's own rules
(`nengo.builder.optimizer.OpMerger.is_mergeable`): views on one base, sorted by offset
and contiguous, or plain signals of compatible shapes.
"""

from bisect import bisect_left
from collections import Counter, deque

from nengo.builder.optimizer import OpMerger, OpsToMerge


class OpGraph:
    """The dependency graph of a list of operators, by position in that list.

    Parameters
    ----------
    ops : list
        The operators, in a fixed order (positions identify them).
    succ : list of list of int
        ``succ[i]``: positions of the operators that must run after ``ops[i]``.
    """

    def __init__(self, ops, succ):
        self.ops = ops
        self.succ = succ

    def contract(self, merged_into):
        """The graph with each merged operator in place of the operators it is made of.

        Parameters
        ----------
        merged_into : dict
            Operator -> the merged operator that replaces it.

        Returns
        -------
        OpGraph
            A merged operator takes the position of the first of its operators.
        """
        ops = []
        position = {}  # merged op -> its new position
        new_index = []
        for op in self.ops:
            merged = merged_into.get(op)
            if merged is None:
                new_index.append(len(ops))
                ops.append(op)
            else:
                if merged not in position:
                    position[merged] = len(ops)
                    ops.append(merged)
                new_index.append(position[merged])
        succ = [set() for _ in ops]
        for i, nexts in enumerate(self.succ):
            src = new_index[i]
            succ[src].update(new_index[j] for j in nexts)
        for i, nexts in enumerate(succ):
            nexts.discard(i)
        return OpGraph(ops, [sorted(nexts) for nexts in succ])


def plan_batches(graph, classes):
    """Batches of independent operators of one merge class, in a dependency order.

    Parameters
    ----------
    graph : OpGraph
        The operators and their dependencies (acyclic).
    classes : list
        For each operator, its merge class (any hashable), or None if it never merges.

    Returns
    -------
    list of list of int
        Batches of two or more positions; see the module docstring for the guarantee.
    """
    n = len(graph.ops)
    succ = graph.succ
    n_pred = [0] * n
    for nexts in succ:
        for j in nexts:
            n_pred[j] += 1
    waiting = Counter(c for c in classes if c is not None)  # class -> not yet released
    ready = {}  # class -> its ready positions, in the order they became ready
    complete = deque()  # classes all of whose waiting operators are ready
    free = deque(i for i in range(n) if n_pred[i] == 0)
    batches = []

    def done(i):
        for j in succ[i]:
            n_pred[j] -= 1
            if n_pred[j] == 0:
                free.append(j)

    while True:
        while free:
            i = free.popleft()
            cls = classes[i]
            if cls is None:
                done(i)
                continue
            members = ready.setdefault(cls, [])
            members.append(i)
            if len(members) == waiting[cls]:
                complete.append(cls)
        if complete:
            cls = complete.popleft()
        elif ready:
            # Every class with ready operators waits for more of its own: release the
            # largest (the first such, on a tie), so that the result is deterministic.
            cls = max(ready, key=lambda c: len(ready[c]))
        else:
            break
        batch = ready.pop(cls)
        waiting[cls] -= len(batch)
        if len(batch) > 1:
            batches.append(batch)
        for i in batch:
            done(i)
    assert all(count == 0 for count in n_pred), "the dependency graph has a cycle"
    return batches


class _NoDependents:
    """The ``dependents`` mapping nengo's `OpsToMerge` expects, with no dependents.

    Operators of one batch never depend on each other (see the module docstring), so
    nengo's dependency checks in `OpMerger.is_mergeable` must all pass.
    """

    _none = frozenset()

    def __getitem__(self, op):
        return self._none


_NO_DEPENDENTS = _NoDependents()


def _ops_to_merge(op):
    return OpsToMerge(op, frozenset(), frozenset(), _NO_DEPENDENTS)


def _first_view(op):
    return next((s for s in op.all_signals if s.is_view), None)


def merge_groups(batch, changed, allow_plain=True):
    """Groups of two or more operators of ``batch`` that nengo's rules let merge.

    Parameters
    ----------
    batch : list
        Operators of one type, none depending on another, in a deterministic order.
    changed : set
        Operators whose signals were replaced since this generator started (by the
        merges of the groups it yielded); they are left for the next pass, because
        the groups were sorted by their old signals. The caller updates it.
    allow_plain : bool, optional
        Whether operators without views may merge (which lays out new bases).

    Yields
    ------
    list
        Operators to merge, in the order their signals are to be concatenated.
    """
    # As in nengo: operators with views on one base merge in the order of their first
    # view's offset, since views must be contiguous; operators without views merge in
    # any order (ours: the batch's), their signals concatenated into new bases.
    by_base = {}
    plain_ops = []
    for op in batch:
        view = _first_view(op)
        if view is None:
            plain_ops.append(op)
        else:
            by_base.setdefault(view.base, []).append((view.offset, view.nbytes, op))
    for views in by_base.values():
        if len(views) > 1:
            views.sort(key=lambda v: v[0])  # stable: ties keep the batch's order
            yield from _contiguous_groups(views, changed)
    if allow_plain and len(plain_ops) > 1:
        yield from _plain_groups(plain_ops, changed)


def _contiguous_groups(views, changed):
    """Runs of operators whose views follow one another (``views`` sorted by offset)."""
    offsets = [v[0] for v in views]
    taken = set()
    for i, (offset, nbytes, op) in enumerate(views):
        if op in taken or op in changed:
            continue
        tomerge = _ops_to_merge(op)
        end = offset + nbytes
        for offset2, nbytes2, op2 in views[bisect_left(offsets, end, lo=i + 1):]:
            if offset2 > end:
                break  # a gap: nothing further on can follow the run
            if op2 in taken or op2 in changed:
                continue
            if OpMerger.is_mergeable(op2, tomerge):
                tomerge.add(op2)
                end = offset2 + nbytes2
        if len(tomerge.ops) > 1:
            taken.update(tomerge.ops)
            yield tomerge.ops


def _plain_groups(ops, changed):
    """Groups of operators without views whose signals can be concatenated."""
    remaining = ops
    while len(remaining) > 1:
        first, rest = remaining[0], remaining[1:]
        if first in changed:
            remaining = rest
            continue
        tomerge = _ops_to_merge(first)
        left = []
        for op in rest:
            if op not in changed and OpMerger.is_mergeable(op, tomerge):
                tomerge.add(op)
            else:
                left.append(op)
        if len(tomerge.ops) > 1:
            yield tomerge.ops
        remaining = left
