"""The operator dependency graph, as nengo defines it, computed in one sweep per base.

nengo's `nengo.utils.simulator.operator_dependency_graph` orders, on every memory
block, all sets before all increments before all reads before all updates, where two
signals are the same memory block when `Signal.may_share_memory` says so (the same
signal, or views whose byte bounds overlap, as `numpy.may_share_memory` checks). It
compares every signal with every view of its base through numpy, which takes about as
long as the rest of our merging together. This module computes the same edges from
the signals' offsets, shapes and strides: per base, a sweep over the views sorted by
their first byte finds the overlapping pairs.
"""


def byte_bounds(sig):
    """``(first, end)`` bytes of ``sig`` relative to its base, or None if it is empty."""
    if sig.size == 0:
        return None
    if not sig.is_view:
        # A base that has views is contiguous (numpy makes views of a buffer only).
        return 0, sig.nbytes
    first = end = sig.offset
    for n, stride in zip(sig.shape, sig.strides):
        if stride < 0:
            first += (n - 1) * stride
        else:
            end += (n - 1) * stride
    return first, end + sig.itemsize


def _overlapping(signals):
    """Pairs ``(a, b)`` of ``signals`` (views of one base) that share memory, both ways,
    including each signal with itself."""
    pairs = [(s, s) for s in signals]
    if len(signals) == 1:
        return pairs
    spans = []
    for sig in signals:
        bounds = byte_bounds(sig)
        if bounds is not None:
            spans.append((bounds[0], bounds[1], sig))
    spans.sort(key=lambda span: span[0])
    active = []  # (end, signal) of the spans that may still overlap the next ones
    for first, end, sig in spans:
        active = [(e, other) for e, other in active if e > first]
        for _, other in active:
            pairs.append((other, sig))
            pairs.append((sig, other))
        active.append((end, sig))
    return pairs


def dependency_lists(operators):
    """For each operator, the positions of the operators that must run after it.

    Parameters
    ----------
    operators : list
        The operators of a model.

    Returns
    -------
    list of list of int
        ``out[i]``: sorted positions of the operators that depend on ``operators[i]``;
        the same edges as nengo's ``operator_dependency_graph(operators)``.
    """
    by_base = {}  # base -> {signal: (setters, incrementers, readers, updaters)}
    for i, op in enumerate(operators):
        for kind, signals in enumerate((op.sets, op.incs, op.reads, op.updates)):
            for sig in signals:
                uses = by_base.setdefault(sig.base, {})
                if sig not in uses:
                    uses[sig] = ([], [], [], [])
                uses[sig][kind].append(i)

    succ = [set() for _ in operators]
    for uses in by_base.values():
        for a, b in _overlapping(list(uses)):
            sets, incs, reads, _ = uses[a]
            _, b_incs, b_reads, b_updates = uses[b]
            # nengo: incs after sets; reads after sets and incs; updates after sets,
            # incs and reads (of any signal sharing memory with the later one's).
            for pres, posts in ((sets, b_incs), (sets + incs, b_reads),
                                (sets + incs + reads, b_updates)):
                if pres and posts:
                    for i in pres:
                        succ[i].update(posts)
    for i, nexts in enumerate(succ):
        nexts.discard(i)
    return [sorted(nexts) for nexts in succ]
