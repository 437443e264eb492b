"""Which rank runs which component: the one rule every part of nengo_mpi shares."""


def rank_of_component(component, size):
    """The rank that runs ``component`` in a job of ``size`` ranks (dealt round-robin,
    so that component 0, which holds the Python objects, stays on rank 0)."""
    return component % size
