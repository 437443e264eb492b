"""Placement constraints: objects that must share a component.

Some connections cannot be split across processes, and some objects can
only run in the Python process (component 0).  This module collects those
facts as a union-find over the vertices of an `.ObjectGraph`, remembering
*why* every union was made so that conflicting user assignments can be
reported in terms the user recognises.
"""

import pickle
from collections import deque

import nengo

from .graph import connection_endpoints
from .tiles import Tile


class ConstraintConflict(ValueError):
    """Requested placements contradict the network's constraints."""


def needs_python(obj):
    """Why an object can only be simulated by rank 0's Python process, or None.

    Nodes whose output is an arbitrary callable and Direct-mode ensembles
    run Python code during the simulation, which only rank 0 can do.
    A `nengo.Process` output is excluded: it is a declarative description
    the backend can simulate itself, on any rank, unless its class only
    exists in rank 0's process (see `stays_home`).
    """
    if isinstance(obj, nengo.Node):
        output = obj.output
        if callable(output) and not isinstance(output, nengo.Process):
            return "its output is a Python function"
    if isinstance(obj, nengo.Ensemble) and isinstance(obj.neuron_type, nengo.Direct):
        return "it is in Direct mode"
    for part in _parts(obj):
        reason = stays_home(part)
        if reason is not None:
            return reason
    return None


def _parts(obj):
    """The behaviour objects (neuron type, processes, synapse, learning rules) of ``obj``."""
    if isinstance(obj, nengo.Node):
        return [obj.output] if isinstance(obj.output, nengo.Process) else []
    if isinstance(obj, nengo.Ensemble):
        return [obj.neuron_type, obj.noise]
    if isinstance(obj, nengo.Connection):
        rule = obj.learning_rule_type
        if isinstance(rule, dict):
            rules = list(rule.values())
        elif isinstance(rule, (list, tuple)):
            rules = list(rule)
        else:
            rules = [rule]
        return [obj.synapse, *rules]
    return []


#: Where nengo's own neuron types, processes, synapses and learning rules are defined.
#: Classes from anywhere else (a script, a test module, another package) are the user's.
NENGO_BEHAVIOUR_MODULES = frozenset(
    ["nengo.neurons", "nengo.processes", "nengo.synapses", "nengo.learning_rules",
     "nengo.base"]
)


def prefers_home(obj):
    """Why ``obj`` should run in rank 0's process unless assigned elsewhere, or None.

    A class from outside nengo runs through its own Python code (the engine only knows
    nengo's classes), and that code may keep state the user reads afterwards (a list it
    appends to, a file). By default it therefore runs where the script runs: rank 0. An
    explicit assignment may move it, if every rank can import it.
    """
    for part in _parts(obj):
        if part is None or isinstance(part, (int, float)):
            continue
        if type(part).__module__ not in NENGO_BEHAVIOUR_MODULES:
            return f"its {type(part).__name__} is your own class, run by rank 0's Python"
    return None


def stays_home(part):
    """Why ``part`` (a neuron type, process, synapse or learning rule) cannot travel to
    another rank, or None.

    The other ranks unpickle what they run, so a class they cannot import (defined in
    the script rank 0 runs, or inside a function) and any object that does not pickle
    can only run in rank 0's process.
    """
    if part is None or isinstance(part, (int, float, str)):
        return None
    cls = type(part)
    if cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
        return f"its {cls.__name__} is defined in the script, which only rank 0 runs"
    try:
        pickle.dumps(part)
    except Exception as e:  # pylint: disable=broad-except
        return f"its {cls.__name__} cannot be sent to other ranks ({type(e).__name__}: {e})"
    return None




class Constraints:
    """Union-find over vertex indices, with a record of each union.

    Parameters
    ----------
    n_vertices : int
        Number of vertices in the graph being constrained.

    Attributes
    ----------
    links : list of tuple
        ``(i, j, reason)`` for every join requested, in order.
    python : list of int
        Sorted indices of vertices that must be on component 0.
    """

    def __init__(self, n_vertices):
        self._parent = list(range(n_vertices))
        self.links = []
        self.python = []
        self.python_reasons = {}
        # Vertices that go to component 0 unless their group is assigned elsewhere.
        self.home = []

    def find(self, i):
        """Return the representative of the set containing ``i``."""
        root = i
        while self._parent[root] != root:
            root = self._parent[root]
        # Path compression keeps later lookups near constant time.
        while self._parent[i] != root:
            self._parent[i], i = root, self._parent[i]
        return root

    def join(self, i, j, reason):
        """Require vertices ``i`` and ``j`` to share a component.

        Parameters
        ----------
        i, j : int
            Vertex indices.
        reason : str
            Human-readable explanation, used in error messages.
        """
        self.links.append((i, j, reason))
        ri, rj = self.find(i), self.find(j)
        if ri != rj:
            # Keeping the smaller index as root makes every root the first
            # member of its group, which `resolve_pins` relies on.
            ri, rj = min(ri, rj), max(ri, rj)
            self._parent[rj] = ri

    def groups(self):
        """Return the sets as sorted lists, ordered by their first member.

        The order depends only on vertex indices, which keeps partitioning
        deterministic.
        """
        by_root = {}
        for i in range(len(self._parent)):
            by_root.setdefault(self.find(i), []).append(i)
        return sorted(by_root.values(), key=lambda members: members[0])

    def explain(self, i, j):
        """Return the reasons chaining vertex ``i`` to vertex ``j``.

        A breadth-first search over the recorded links gives the shortest
        chain, which is the most useful one to show to a user.

        Returns
        -------
        list of str
            Empty if ``i == j`` or if they are not joined.
        """
        if i == j:
            return []
        adjacent = {}
        for a, b, reason in self.links:
            adjacent.setdefault(a, []).append((b, reason))
            adjacent.setdefault(b, []).append((a, reason))
        came_from = {i: None}
        queue = deque([i])
        while queue:
            a = queue.popleft()
            if a == j:
                break
            for b, reason in adjacent.get(a, ()):
                if b not in came_from:
                    came_from[b] = (a, reason)
                    queue.append(b)
        if j not in came_from:
            return []
        reasons = []
        step = came_from[j]
        while step is not None:
            prev, reason = step
            reasons.append(reason)
            step = came_from[prev]
        return reasons[::-1]

    def resolve_pins(self, vertices, assigned):
        """Combine Python pins and user assignments into per-group pins.

        Parameters
        ----------
        vertices : sequence
            The graph's vertex objects, used for error messages.
        assigned : dict
            Maps vertex index to the component requested by the user.

        Returns
        -------
        dict
            Maps each constrained group's first (smallest) vertex index to
            the component the whole group must go to.

        Raises
        ------
        ConstraintConflict
            If one group is required to be on two different components.
        """
        python = set(self.python)
        for i in sorted(assigned):
            if i in python and assigned[i] != 0:
                raise ConstraintConflict(
                    "%s needs Python on rank 0 (%s), so it cannot be assigned to "
                    "component %d" % (vertices[i], self.python_reasons.get(i), assigned[i])
                )

        # For each group, the first vertex that fixed its component.
        sources = {}
        pins = {}
        for i in sorted(python | set(assigned)):
            component = assigned.get(i, 0)
            root = self.find(i)
            if root not in sources:
                sources[root] = i
                pins[root] = component
            elif pins[root] != component:
                raise ConstraintConflict(
                    self._conflict_message(
                        vertices, sources[root], i, pins[root], component
                    )
                )
        for i in self.home:
            pins.setdefault(self.find(i), 0)
        # Roots are always the smallest member of their set (see `join`),
        # so they double as the key of the group in `groups`.
        return pins

    def _conflict_message(self, vertices, i, j, ci, cj):
        """Describe why vertices ``i`` and ``j`` cannot be apart."""

        def placement(k, c):
            if k in self.python:
                return "%s needs Python on rank 0 (%s)" % (
                    vertices[k], self.python_reasons.get(k))
            return "%s is assigned to component %d" % (vertices[k], c)

        reasons = "; ".join(self.explain(i, j))
        return (
            "%s, but %s; they must be on the same component because they "
            "are joined by %s" % (placement(i, ci), placement(j, cj), reasons)
        )


def build_constraints(network, graph):
    """Collect the placement constraints of a network.

    Parameters
    ----------
    network : nengo.Network
        The network being partitioned.
    graph : ObjectGraph
        Its object graph, as built by `.build_object_graph`.

    Returns
    -------
    Constraints
    """
    constraints = Constraints(len(graph))
    reasons, home = {}, set()
    for i, obj in enumerate(graph.vertices):
        if isinstance(obj, Tile):
            continue  # neurons of a deterministic native type: free to go anywhere
        reason = needs_python(obj)
        if reason is not None:
            reasons[i] = reason
        elif prefers_home(obj) is not None:
            home.add(i)
    for conn in network.all_connections:
        ends = set(connection_endpoints(graph, conn))
        for part in _parts(conn):
            reason = stays_home(part)
            if reason is not None:
                for k in ends:
                    reasons.setdefault(k, f"{conn}: {reason}")
        if prefers_home(conn) is not None:
            home.update(ends)
        if isinstance(conn.pre_obj, nengo.Node) and callable(conn.function):
            # nengo calls a function on a Node's output every step, in Python, on the
            # pre side; a function only rank 0 has pins the pre there for good.
            pre = connection_endpoints(graph, conn)[0]
            try:
                pickle.dumps(conn.function)
            except Exception as e:  # pylint: disable=broad-except
                reasons.setdefault(
                    pre, f"{conn} computes a function that cannot be sent to other ranks "
                    f"({type(e).__name__}: {e})")
            else:
                home.add(pre)
    constraints.python = sorted(reasons)
    constraints.python_reasons = reasons
    constraints.home = sorted(home - set(reasons))

    for conn in network.all_connections:
        i, j = connection_endpoints(graph, conn)
        if i == j:
            continue
        if conn.learning_rule is not None:
            # The weights are updated from state on both sides every step.
            constraints.join(i, j, "%s with a learning rule" % (conn,))
    return constraints
