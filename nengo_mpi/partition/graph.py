"""The weighted object graph of a Nengo network.

Partitioning works on an undirected graph whose vertices are the objects
that own simulation work (ensembles and nodes) and whose edges are the
connections between them.  Vertex weights estimate the work each object
causes; edge weights estimate how much data would have to be exchanged
between processes if the edge were cut.
"""

import nengo
from nengo.connection import LearningRule
from nengo.ensemble import Neurons
from nengo.exceptions import BuildError

from .tiles import decoded_dimensions


class ObjectGraph:
    """An undirected, vertex- and edge-weighted graph.

    The same class is used at two levels:

    * the *object graph* built by `build_object_graph`, whose vertices are
      `nengo.Ensemble` and `nengo.Node` instances, and
    * the *group graph* built by `ObjectGraph.contract`, whose vertices are
      tuples of objects that must be placed on the same component.  This is
      the graph handed to a custom partitioning function.

    Parameters
    ----------
    vertices : sequence
        The vertex objects in a fixed order.  Vertex ``i`` is
        ``vertices[i]``; the order is what makes partitioning deterministic.
    weights : sequence of int
        One positive weight per vertex.
    edges : dict, optional
        Maps ``(i, j)`` with ``i < j`` to a positive integer weight.

    Attributes
    ----------
    vertices : list
        The vertex objects in order.
    index : dict
        Maps each vertex object to its position in ``vertices``.
    weights : list of int
        The vertex weights, aligned with ``vertices``.
    edges : dict
        Maps ``(i, j)`` with ``i < j`` to the summed edge weight.
    pins : dict
        Maps vertex indices to the component they are required to be on.
        Empty for the object graph; filled in by the partitioner for the
        group graph so that custom partitioning functions can respect it.
    """

    def __init__(self, vertices, weights, edges=None):
        self.vertices = list(vertices)
        self.index = {obj: i for i, obj in enumerate(self.vertices)}
        if len(self.index) != len(self.vertices):
            raise ValueError("Graph vertices must be unique")
        self.weights = [int(w) for w in weights]
        if len(self.weights) != len(self.vertices):
            raise ValueError("Need exactly one weight per vertex")
        self.edges = {}
        for (i, j), w in ({} if edges is None else edges).items():
            self.add_edge(i, j, w)
        self.pins = {}

    def __len__(self):
        return len(self.vertices)

    def __repr__(self):
        return "<%s: %d vertices, %d edges>" % (
            type(self).__name__,
            len(self.vertices),
            len(self.edges),
        )

    def add_edge(self, i, j, weight):
        """Add ``weight`` to the undirected edge between ``i`` and ``j``.

        Self-loops are dropped, because an object never has to send data
        to itself across processes, so they cannot affect the cut.
        """
        if i == j:
            return
        key = (i, j) if i < j else (j, i)
        self.edges[key] = self.edges.get(key, 0) + int(weight)

    def neighbors(self):
        """Return, per vertex, a sorted list of ``(neighbor, weight)``."""
        adjacency = [[] for _ in self.vertices]
        for (i, j), w in self.edges.items():
            adjacency[i].append((j, w))
            adjacency[j].append((i, w))
        # Sorting makes the CSR arrays independent of connection order.
        return [sorted(row) for row in adjacency]

    def csr(self):
        """Return the adjacency in the compressed sparse row form METIS uses.

        Returns
        -------
        xadj : list of int
            Length ``len(vertices) + 1``; the neighbors of vertex ``i`` are
            ``adjncy[xadj[i]:xadj[i + 1]]``.
        adjncy : list of int
            Concatenated neighbor lists (each edge appears in both
            directions).
        eweights : list of int
            The weight of each entry in ``adjncy``.
        """
        xadj = [0]
        adjncy = []
        eweights = []
        for row in self.neighbors():
            for j, w in row:
                adjncy.append(j)
                eweights.append(w)
            xadj.append(len(adjncy))
        return xadj, adjncy, eweights

    def contract(self, groups):
        """Merge vertices into super-vertices, one per group.

        Parameters
        ----------
        groups : sequence of sequence of int
            A partition of the vertex indices.  Group order becomes the
            vertex order of the new graph.

        Returns
        -------
        ObjectGraph
            A graph whose vertex ``g`` is the tuple of objects in
            ``groups[g]``, weighted by the sum of their weights.  Edges
            inside a group vanish; edges between groups are summed.
        """
        group_of = {}
        for g, members in enumerate(groups):
            for i in members:
                group_of[i] = g
        if sorted(group_of) != list(range(len(self.vertices))):
            raise ValueError("Groups must cover every vertex exactly once")

        contracted = ObjectGraph(
            [tuple(self.vertices[i] for i in members) for members in groups],
            [sum(self.weights[i] for i in members) for members in groups],
        )
        for (i, j), w in self.edges.items():
            contracted.add_edge(group_of[i], group_of[j], w)
        return contracted


#: The largest total vertex weight handed to METIS (its weights are C ints).
MAX_TOTAL_WEIGHT = 1 << 28


def vertex_weights(network, vertices, costs=None, tiles=None):
    """Integer vertex weights: each object's predicted time per step.

    Parameters
    ----------
    network : nengo.Network
        The network the vertices come from.
    vertices : sequence
        Its ensembles, nodes and tiles, in graph order.
    costs : nengo_mpi.partition.cost_model.Costs, optional
        The engine's costs; `load_costs` (this machine's calibration, or the
        shipped defaults) if not given.
    tiles : dict, optional
        Tiled ensemble -> its tiles (see `nengo_mpi.partition.tiles`).

    Returns
    -------
    list of int
        Nanoseconds per step of each vertex's operators (see
        `nengo_mpi.partition.cost_model`), at least 1; in coarser units when the
        total would not fit METIS's integers.
    """
    # Imported here: cost_model imports endpoint_object from this module.
    from .cost_model import (  # pylint: disable=import-outside-toplevel
        load_costs,
        object_costs,
        split_tiled,
    )

    costs = load_costs() if costs is None else costs
    per_object = split_tiled(object_costs(network), tiles or {})
    seconds = [per_object[obj].seconds(costs) for obj in vertices]
    unit = max(1e-9, sum(seconds) / MAX_TOTAL_WEIGHT)
    return [max(1, int(round(s / unit))) for s in seconds]


def endpoint_object(obj):
    """Map a connection endpoint to the ensemble or node that owns it.

    Parameters
    ----------
    obj : object
        A ``conn.pre_obj`` or ``conn.post_obj``.

    Returns
    -------
    nengo.Ensemble or nengo.Node
        Neurons belong to their ensemble.  A learning rule lives where its
        connection's target lives, because that is where the learning
        rule's error signal is consumed, so it is resolved recursively via
        the rule's connection.
    """
    seen = set()
    while True:
        if isinstance(obj, (nengo.Ensemble, nengo.Node)):
            return obj
        if id(obj) in seen:
            break
        seen.add(id(obj))
        if isinstance(obj, Neurons):
            obj = obj.ensemble
        elif isinstance(obj, LearningRule):
            obj = obj.connection.post_obj
        else:
            break
    raise BuildError("Cannot map connection endpoint %r to an object" % (obj,))


#: How much more cutting a connection without a synapse costs than one with: its value
#: is needed in the step that computes it, so the receiving rank waits mid-step (a
#: synapse's value is needed one step later, and its message overlaps a whole step).
SAME_STEP_WEIGHT = 16


def build_object_graph(network, costs=None, tiles=None):
    """Build the object graph of a network, including its subnetworks.

    Parameters
    ----------
    network : nengo.Network
        The network to describe.
    costs : nengo_mpi.partition.cost_model.Costs, optional
        The costs that weigh the vertices (see `vertex_weights`).
    tiles : dict, optional
        Tiled ensemble -> its tiles (see `nengo_mpi.partition.tiles`).

    Returns
    -------
    ObjectGraph
        Vertices are ``network.all_ensembles`` followed by
        ``network.all_nodes`` and then the tiles, if any (in that order, so
        the graph does not depend on object ids), weighted by
        `vertex_weights`.  Each connection contributes an edge weighted by
        ``conn.size_out``, the number of dimensions that would cross
        between processes if the edge were cut, times `SAME_STEP_WEIGHT`
        for a connection without a synapse.  A tile is joined to its
        ensemble by the values they exchange each step: the ensemble's
        input, and the tile's share of each decoded connection.
    """
    tiles = tiles or {}
    vertices = list(network.all_ensembles) + list(network.all_nodes)
    vertices += [tile for ens_tiles in tiles.values() for tile in ens_tiles]
    graph = ObjectGraph(vertices, vertex_weights(network, vertices, costs, tiles))
    decoded = decoded_dimensions(network, tiles)
    for ens, ens_tiles in tiles.items():
        # A tile receives the values its ensemble's input is summed from, and sends its
        # filtered share of each decoded connection: values written at the end of a
        # step and read in the next, like any synapse's (see nengo_mpi.lower.tiling).
        weight = ens.dimensions + decoded[ens]
        for tile in ens_tiles:
            graph.add_edge(graph.index[ens], graph.index[tile], max(1, weight))
    for conn in network.all_connections:
        i, j = connection_endpoints(graph, conn)
        # METIS requires strictly positive edge weights.
        weight = max(1, conn.size_out)
        if conn.synapse is None:
            weight *= SAME_STEP_WEIGHT
        graph.add_edge(i, j, weight)
    return graph


def connection_endpoints(graph, conn):
    """Return the vertex indices of a connection's two endpoints.

    Raises
    ------
    nengo.exceptions.BuildError
        If an endpoint is not part of the graph's network.
    """
    indices = []
    for end in (conn.pre_obj, conn.post_obj):
        obj = endpoint_object(end)
        if obj not in graph.index:
            raise BuildError(
                "%s refers to %s, which is not in the network being "
                "partitioned" % (conn, obj)
            )
        indices.append(graph.index[obj])
    return tuple(indices)
