"""Minimum-cut balanced partitioning with METIS, through pymetis.

pymetis is an optional dependency, so it is imported only when needed and
its absence is reported to the caller rather than raised.
"""


def _import_pymetis():
    """Return the pymetis module, or None if it cannot be imported."""
    try:
        import pymetis  # pylint: disable=import-outside-toplevel
    except ImportError:
        return None
    return pymetis


def metis_available():
    """Whether pymetis can be imported."""
    return _import_pymetis() is not None


def metis_partition(graph, n_components, targets=None):
    """Split a graph into balanced parts with a small weighted edge cut.

    Parameters
    ----------
    graph : ObjectGraph
        The graph to split; its vertex and edge weights are used.
    n_components : int
        Number of parts, at least 2.
    targets : sequence of float, optional
        The share of the total vertex weight each part should get (summing to at
        most 1); equal shares if not given. With targets, part ``i`` is the one
        that gets ``targets[i]``, so the labels mean something.

    Returns
    -------
    list of int or None
        The part of each vertex, or None if pymetis is not installed.
        METIS may leave some parts empty.
    """
    pymetis = _import_pymetis()
    if pymetis is None:
        return None

    xadj, adjncy, eweights = graph.csr()
    kwargs = {"vweights": list(graph.weights)}
    # METIS rejects an empty edge-weight array, and without edges there is
    # nothing to weight anyway.
    if adjncy:
        kwargs["eweights"] = eweights
    if targets is not None:
        kwargs["tpwgts"] = [float(t) for t in targets]

    if hasattr(pymetis, "CSRAdjacency"):
        # Newer pymetis deprecates passing xadj/adjncy directly.
        result = pymetis.part_graph(
            n_components, pymetis.CSRAdjacency(xadj, adjncy), **kwargs
        )
    else:
        result = pymetis.part_graph(
            n_components, xadj=xadj, adjncy=adjncy, **kwargs
        )
    # The result is a (cut, parts) pair in every pymetis version.
    parts = result[1]
    return [int(p) for p in parts]
