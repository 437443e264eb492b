"""Which connections' decoder solves can be done ahead of nengo's build, and in what
chunks.

nengo builds connections one by one, and each decoded connection solves for its
decoders on the spot (neuron rates at the evaluation points, then a least-squares
solve): most of a large model's construction. Every input of that solve is fixed before
the build starts: the pre ensemble's gain, bias, encoders and evaluation points come
from its seed, the connection's own random draws from the connection's seed. So the
solves can be done ahead, in other processes, while nengo builds everything else.
"""

import numpy as np
import nengo
from nengo.builder import Builder
from nengo.builder.connection import build_solver
from nengo.dists import Distribution


def builder_of(obj):
    """The build function nengo's `Builder` would call for ``obj`` (None if none)."""
    for cls in type(obj).__mro__:
        if cls in Builder.builders:
            return Builder.builders[cls]
    return None


def solves_ahead(conn):
    """Whether ``conn``'s decoders come from nengo's `build_solver` (which our
    `PrefetchBuilder` replaces by `decoders.build_decoders`): a decoded
    connection out of a non-Direct ensemble whose solver has no build function of its
    own (a user's builder for a solver class is respected by leaving it to nengo)."""
    pre = conn.pre_obj
    return (
        isinstance(pre, nengo.Ensemble)
        and not isinstance(pre.neuron_type, nengo.Direct)
        and builder_of(conn.solver) is build_solver
    )


def connections_in_build_order(network):
    """Every connection of ``network`` in the order nengo's `build_network` builds them:
    a network's subnetworks (recursively) before its own connections."""
    for sub in network.networks:
        yield from connections_in_build_order(sub)
    yield from network.connections


def solve_cost(conn):
    """A relative estimate of the work of ``conn``'s solve (rates at the evaluation
    points plus the Gram matrix), used only to balance chunks."""
    ens = conn.pre_obj
    n = ens.n_neurons
    if conn.eval_points is not None and not isinstance(conn.eval_points, Distribution):
        n_eval = len(conn.eval_points)
    elif ens.n_eval_points is not None:
        n_eval = ens.n_eval_points
    else:
        n_eval = nengo.utils.builder.default_n_eval_points(n, ens.dimensions)
    return n_eval * n * (n + conn.size_mid + 20)


#: Chunks per worker: enough that the build can take back the ones no worker has
#: started (rather than wait), few enough that each is worth sending.
CHUNKS_PER_WORKER = 8


def plan_chunks(conns, n_workers):
    """Split ``conns`` (in build order, those out of one ensemble side by side) into runs
    of about equal cost.

    Runs keep the build order, so the first results the build waits for come first;
    several runs per worker keep every worker busy to the end. A run never splits the
    connections out of one ensemble: their solves share the ensemble's build and most
    of their work (`solve_memo`), which only one process should do.
    """
    if not conns:
        return []
    costs = np.array([solve_cost(c) for c in conns], dtype=float)
    n_chunks = min(len(conns), CHUNKS_PER_WORKER * n_workers)
    bounds = np.searchsorted(
        np.cumsum(costs), costs.sum() * np.arange(1, n_chunks) / n_chunks, side="right")
    # Where each connection's run of same-pre connections ends: a bound inside a run
    # moves to the run's end.
    group_end = np.empty(len(conns), dtype=int)
    end = len(conns)
    for i in range(len(conns) - 1, -1, -1):
        if i + 1 < len(conns) and conns[i + 1].pre_obj is not conns[i].pre_obj:
            end = i + 1
        group_end[i] = end
    bounds = [int(group_end[b - 1]) for b in bounds if 0 < b < len(conns)]
    edges = [0] + sorted(set(b for b in bounds if 0 < b < len(conns))) + [len(conns)]
    return [list(range(a, b)) for a, b in zip(edges[:-1], edges[1:])]
