"""Assign the objects of a Nengo network to simulation components.

Each component is simulated by one MPI process.  A good assignment keeps
the work on each component similar while keeping the data exchanged
between components (the edge cut) small, and it must respect hard
constraints: objects that cannot be split apart, and objects that need the
Python interpreter on rank 0.
"""

import numbers

import numpy as np
from nengo.ensemble import Ensemble
from nengo.exceptions import ValidationError
from nengo.node import Node

from .cost_model import Costs
from .constraints import ConstraintConflict, build_constraints
from .graph import ObjectGraph, build_object_graph
from .greedy import greedy_partition
from .metis import metis_partition
from .tiles import DEFAULT_TILE_SIZE, check_tile_size, make_tiles


def _is_integer(value):
    """Whether ``value`` is an integer, excluding booleans.

    ``bool`` is a subclass of ``int``, but ``True`` components are almost
    certainly a mistake, so they are rejected.
    """
    if isinstance(value, (bool, np.bool_)):
        return False
    return isinstance(value, (numbers.Integral, np.integer))


def _func_name(func):
    """A readable name for a user-supplied function, for error messages."""
    return getattr(func, "__qualname__", None) or repr(func)


class Partitioner:
    """Splits a network's ensembles and nodes into components.

    Parameters
    ----------
    n_components : int
        Number of components (MPI processes) to split into; at least 1.
    func : callable, optional
        A custom partitioning function, called as
        ``func(graph, n_components)``.  ``graph`` is an `.ObjectGraph`
        whose vertices are tuples of objects that must stay together
        (groups), with ``graph.pins`` mapping group indices to the
        component they are required to be on.  It must return a sequence
        with one component id per group.  Groups it places against their
        pin are moved to the pinned component.  If not given, METIS (via
        pymetis) is used when available, and a greedy work-balancing
        heuristic otherwise.
    costs : nengo_mpi.partition.cost_model.Costs, optional
        The engine's costs that weigh each object (its predicted time per
        step).  By default, this machine's calibration (``python -m nengo_mpi
        calibrate``) or the shipped defaults.
    tile_size : int or None, optional
        Ensembles of more neurons than this are split into tiles of at most
        this many neurons, which may go to different components (see
        `nengo_mpi.partition.tiles`; `DEFAULT_TILE_SIZE` by default).  The
        same tiles are made at every number of components, so results do not
        depend on it.  None keeps every ensemble whole.

    Attributes
    ----------
    n_components : int
        Number of components.
    func : callable or None
        The custom partitioning function, if any.
    costs : Costs or None
        The costs given, if any.
    tile_size : int or None
        The tile size.
    whole : dict
        After `partition`: ensemble -> why it stays whole, for the ensembles
        larger than ``tile_size`` that are not tiled.
    """

    def __init__(self, n_components, func=None, costs=None,
                 tile_size=DEFAULT_TILE_SIZE):
        if not _is_integer(n_components) or n_components < 1:
            raise ValidationError(
                "n_components must be an integer >= 1, got %r (type %s)"
                % (n_components, type(n_components).__name__),
                attr="n_components",
                obj=self,
            )
        if func is not None and not callable(func):
            raise ValidationError(
                "func must be callable, got %r" % (func,),
                attr="func",
                obj=self,
            )
        if costs is not None and not isinstance(costs, Costs):
            raise ValidationError(
                "costs must be a nengo_mpi.partition.cost_model.Costs, got %r"
                % (costs,),
                attr="costs",
                obj=self,
            )
        self.n_components = int(n_components)
        self.func = func
        self.costs = costs
        self.tile_size = check_tile_size(tile_size, obj=self)
        self.whole = {}

    def __repr__(self):
        return "%s(n_components=%d%s%s)" % (
            type(self).__name__,
            self.n_components,
            "" if self.func is None else ", func=%s" % _func_name(self.func),
            "" if self.tile_size == DEFAULT_TILE_SIZE else ", tile_size=%r" % self.tile_size,
        )

    def partition(self, network, assignments=None):
        """Assign every ensemble and node of a network to a component.

        Parameters
        ----------
        network : nengo.Network
            The network to partition, including all its subnetworks.
        assignments : dict, optional
            Maps ensembles or nodes to the component they must go to.
            Everything that must stay together with an assigned object
            goes to the same component.

        Returns
        -------
        dict
            Maps each object in ``network.all_ensembles`` and
            ``network.all_nodes``, and each `Tile` of the tiled ensembles, to
            an int in ``[0, n_components)``.  A tiled ensemble's own entry is
            where its tiles' contributions are summed.

        Raises
        ------
        nengo.exceptions.ValidationError
            If ``assignments`` is invalid or contradicts the constraints,
            or if ``func`` returns an invalid result.
        """
        tiles, self.whole = make_tiles(network, self.tile_size)
        graph = build_object_graph(network, self.costs, tiles)
        if len(graph) == 0:
            return {}

        constraints = build_constraints(network, graph)
        assigned = self._validate_assignments(graph, assignments)
        try:
            pins_by_root = constraints.resolve_pins(graph.vertices, assigned)
        except ConstraintConflict as error:
            raise ValidationError(
                str(error), attr="assignments", obj=self
            ) from None

        groups = constraints.groups()
        group_graph = graph.contract(groups)
        group_graph.pins = {
            g: pins_by_root[members[0]]
            for g, members in enumerate(groups)
            if members[0] in pins_by_root
        }

        parts = self._split(group_graph)
        return {
            graph.vertices[i]: parts[g]
            for g, members in enumerate(groups)
            for i in members
        }

    def _validate_assignments(self, graph, assignments):
        """Check user assignments and convert them to vertex indices."""
        if assignments is None:
            return {}
        if not hasattr(assignments, "items"):
            raise ValidationError(
                "assignments must be a dict mapping objects to components, "
                "got %r" % (assignments,),
                attr="assignments",
                obj=self,
            )
        assigned = {}
        for obj, component in assignments.items():
            if not isinstance(obj, (Ensemble, Node)) or obj not in graph.index:
                raise ValidationError(
                    "%r is not an Ensemble or Node in the network being "
                    "partitioned" % (obj,),
                    attr="assignments",
                    obj=self,
                )
            in_range = _is_integer(component) and (
                0 <= component < self.n_components
            )
            if not in_range:
                raise ValidationError(
                    "%s is assigned to %r, which is not a component in "
                    "[0, %d)" % (obj, component, self.n_components),
                    attr="assignments",
                    obj=self,
                )
            assigned[graph.index[obj]] = int(component)
        return assigned

    def _split(self, graph):
        """Return one component per group vertex of ``graph``."""
        n = self.n_components
        if self.func is not None:
            return _apply_pins(self._call_func(graph), graph.pins)
        if n == 1:
            return [0] * len(graph)

        parts = None
        # METIS only pays off if it has real choices to make; with no more
        # free groups than components, balancing alone decides.
        if len(graph) - len(graph.pins) > n:
            parts = _metis_around_pins(graph, n)
        if parts is None:
            parts = greedy_partition(graph.weights, n, graph.pins)
        return _use_two_components(parts, graph, n)

    def _call_func(self, graph):
        """Call the custom partitioning function and validate its result."""
        name = _func_name(self.func)
        result = self.func(graph, self.n_components)
        try:
            parts = list(result)
        except TypeError:
            raise ValidationError(
                "Partitioning function %s must return a sequence, got %r"
                % (name, result),
                attr="func",
                obj=self,
            ) from None
        if len(parts) != len(graph):
            raise ValidationError(
                "Partitioning function %s returned %d components for %d "
                "groups" % (name, len(parts), len(graph)),
                attr="func",
                obj=self,
            )
        for g, part in enumerate(parts):
            if not _is_integer(part) or not 0 <= part < self.n_components:
                raise ValidationError(
                    "Partitioning function %s put group %d %s on %r, which "
                    "is not a component in [0, %d)"
                    % (name, g, graph.vertices[g], part, self.n_components),
                    attr="func",
                    obj=self,
                )
        return [int(part) for part in parts]


def _metis_around_pins(graph, n_components):
    """METIS on the free groups, each component's target reduced by its pinned work.

    METIS knows no fixed vertices. Placing everything and then moving the pinned
    groups home (as was done before) left their component overloaded by all their
    work: Python Nodes, all pinned to component 0, cost microseconds a call. So the
    pinned groups are set aside, and the free ones are split with target weights that
    make every component's total (pinned plus free) as equal as it can be.

    Returns None if pymetis is not available.
    """
    if not graph.pins:
        parts = metis_partition(graph, n_components)
        return None if parts is None else _relabel_to_pins(parts, graph, n_components)
    pinned = [0.0] * n_components
    for g, component in graph.pins.items():
        pinned[component] += graph.weights[g]
    free = [g for g in range(len(graph)) if g not in graph.pins]
    free_weight = float(sum(graph.weights[g] for g in free))
    share = (free_weight + sum(pinned)) / n_components
    # A component whose pinned work already exceeds its share gets (almost) no free
    # work; METIS wants every target above zero.
    room = [max(share - p, 1e-6 * share) for p in pinned]
    targets = [r / sum(room) for r in room]
    sub = ObjectGraph([graph.vertices[g] for g in free], [graph.weights[g] for g in free])
    position = {g: k for k, g in enumerate(free)}
    for (i, j), w in graph.edges.items():
        if i in position and j in position:
            sub.add_edge(position[i], position[j], w)
    sub_parts = metis_partition(sub, n_components, targets)
    if sub_parts is None:
        return None
    parts = [0] * len(graph)
    for g, component in graph.pins.items():
        parts[g] = component
    for g, part in zip(free, sub_parts):
        parts[g] = part
    return parts


def _relabel_to_pins(parts, graph, n_components):
    """Permute part labels so that pinned weight mostly stays in place.

    METIS labels its parts arbitrarily.  Renaming them (rather than moving
    groups) keeps the balance METIS found, so pinned groups are matched to
    the part holding most of their weight before any group is moved.
    Matching is greedy: the heaviest (part, pinned component) overlap is
    fixed first.
    """
    overlap = {}
    for g, component in graph.pins.items():
        key = (parts[g], component)
        overlap[key] = overlap.get(key, 0) + graph.weights[g]

    mapping = {}
    taken = set()
    for (part, component), _ in sorted(
        overlap.items(), key=lambda item: (-item[1], item[0])
    ):
        if part not in mapping and component not in taken:
            mapping[part] = component
            taken.add(component)

    # Unmatched parts keep their label when it is free, so labels only
    # change when they have to.
    unmatched = [p for p in range(n_components) if p not in mapping]
    for part in unmatched:
        if part not in taken:
            mapping[part] = part
            taken.add(part)
    free = iter(c for c in range(n_components) if c not in taken)
    for part in unmatched:
        if part not in mapping:
            mapping[part] = next(free)
    return [mapping[p] for p in parts]


def _apply_pins(parts, pins):
    """Move pinned groups to their pinned component."""
    parts = list(parts)
    for g, component in pins.items():
        parts[g] = component
    return parts


def _use_two_components(parts, graph, n_components):
    """Make sure work is spread whenever that is possible at all.

    METIS may put a tiny graph entirely in one part.  Moving the lightest
    free group to an empty component then costs the least imbalance.
    Nothing is done if every group is pinned.
    """
    if len(parts) < 2 or n_components < 2 or len(set(parts)) > 1:
        return parts
    free = [g for g in range(len(parts)) if g not in graph.pins]
    if not free:
        return parts
    lightest = min(free, key=lambda g: (graph.weights[g], g))
    used = parts[0]
    empty = next(c for c in range(n_components) if c != used)
    parts = list(parts)
    parts[lightest] = empty
    return parts
