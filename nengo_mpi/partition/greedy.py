"""Work-balanced greedy partitioning.

Used when METIS is not available, and for small graphs where there are no
more groups than components, so that minimising the cut matters less than
spreading the work.
"""


def greedy_partition(weights, n_components, pins=None):
    """Assign weighted items to components, balancing the total weight.

    Pinned items are placed first, on their pinned component.  The rest
    are taken heaviest first (the classic longest-processing-time rule)
    and each goes to the currently least-loaded component.  Ties are
    broken by position, lowest first, so the result is deterministic.

    Parameters
    ----------
    weights : sequence of int
        The weight of each item.
    n_components : int
        The number of components to fill; some may stay empty.
    pins : dict, optional
        Maps item index to the component it must go to.

    Returns
    -------
    list of int
        The component of each item.
    """
    pins = {} if pins is None else pins
    parts = [None] * len(weights)
    loads = [0] * n_components

    for i in sorted(pins):
        parts[i] = pins[i]
        loads[pins[i]] += weights[i]

    free = sorted(
        (i for i in range(len(weights)) if i not in pins),
        key=lambda i: (-weights[i], i),
    )
    for i in free:
        target = min(range(n_components), key=lambda c: (loads[c], c))
        parts[i] = target
        loads[target] += weights[i]
    return parts
