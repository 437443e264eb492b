"""Halo construction: a rank builds only its own components and their neighbours.

Under distributed construction (`nengo_mpi.construction.distributed`) the simplest way
for every rank to agree on the model's structure is to build all of it, the parts of
other ranks as shadows (`nengo_mpi.construction.shadow`); that costs every rank the
whole model's objects, merging and ordering. A *halo* build instead builds, with
nengo's own builder and in nengo's order, only:

- the ensembles and nodes of this rank's components;
- the connections with an end among them (the pre side runs the decoders and the
  synapse, the post side the last copy into the post's input; see
  `nengo_mpi.lower.assign`), and the learning rules they carry or feed;
- the other ends of those connections, as shadows: the halo;
- the probes of this rank's components.

Each component's lowering is then the same as in a build of the whole model by stages
(`nengo_mpi.lower.stages`): every rank numbers its operators by how many values
crossing components within a step feed them and are fed by them, agreed with the
other ranks in a few rounds over those channels alone, and then merges within a
component and stage and orders by stage and build order. Layouts follow the builder's
order of operators (`nengo_mpi.lower.program`). Channels are named by what carries them
(their writer's place in the build, `Halo.key_channels`), so the two ends, on two
ranks, agree on one number for each, and on where each end is in its rank's order.

A halo build is tried only for models none of whose operators draws random numbers
(each random stream's seed is its operator's place in the whole model's order) and
whose ensembles are not tiled; every rank checks its part (`Halo.problem`) and all
must agree, or every rank builds the whole model as before.
"""

from dataclasses import dataclass

import nengo
from nengo.builder.operator import SimPyFunc
from nengo.builder.probe import SimProbe
from nengo.connection import LearningRule

from ..kernels import operator_kernel
from ..lower.dependencies import dependency_lists
from ..lower.schedule import build_order_sort
from ..partition.tiles import Tile
from ..placement import rank_of_component

#: Operator types without a native kernel whose step draws no random numbers.
_NOT_RANDOM = (SimPyFunc, SimProbe)


def build_sequence(network):
    """The ensembles, nodes, connections and probes of ``network`` in the order nengo's
    ``build_network`` builds them (see its docstring), as ``{object: index}``."""
    sequence = {}

    def visit(net):
        for obj in net.ensembles + net.nodes:
            sequence[obj] = len(sequence)
        for sub in net.networks:
            visit(sub)
        for obj in net.connections + net.probes:
            sequence[obj] = len(sequence)

    visit(network)
    return sequence


def halo_candidate(assignments):
    """Whether a network split as ``assignments`` may be built as halos at all, judged
    before building (each rank checks its part once built, `Halo.problem`): no tiled
    ensemble (tiles rewrite the ensemble's operators across components)."""
    return not any(isinstance(obj, Tile) for obj in assignments)


def component_of(obj, assignments):
    """The component holding ``obj``'s own signals under ``assignments`` (as
    `nengo_mpi.lower.assign.OperatorAssigner` has it)."""
    if isinstance(obj, nengo.ensemble.Neurons):
        obj = obj.ensemble
    if isinstance(obj, LearningRule):
        return component_of(obj.connection.pre_obj, assignments)
    if isinstance(obj, nengo.Connection):
        return component_of(obj.pre_obj, assignments)
    if isinstance(obj, nengo.Probe):
        return component_of(obj.obj, assignments)
    return assignments.get(obj, 0)


def _random_operator(op):
    """Whether ``op`` may draw random numbers as it steps (its kernel's entry says; an
    operator without one may, unless it is one of `_NOT_RANDOM`)."""
    kernel = operator_kernel(type(op))
    if kernel is not None:
        return kernel.may_draw_random(op)
    return type(op) not in _NOT_RANDOM


def needed_by_rank(network, assignments, rank_of, size):
    """What each rank builds of ``network`` in a halo build (`Halo.needed`), in one
    pass over it.

    Parameters
    ----------
    network : nengo.Network
    assignments : dict
        Ensemble/Node -> component.
    rank_of : callable
        Component -> the rank that holds it (or None: no rank wanted here).
    size : int
        The number of ranks.

    Returns
    -------
    list of set
        For each rank, its components' ensembles, nodes and probes, the connections
        with an end among them (and those feeding their learning rules), and the other
        ends of those connections.
    """
    def rank(obj):
        return rank_of(component_of(obj, assignments))

    needed = [set() for _ in range(size)]
    for obj in network.all_ensembles + network.all_nodes + network.all_probes:
        if rank(obj) is not None:
            needed[rank(obj)].add(obj)
    for conn in network.all_connections:
        for r in {rank(conn.pre_obj), rank(conn.post_obj)} - {None}:
            _add_connection(needed[r], conn)
    return needed


def _add_connection(needed, conn):
    """Add ``conn`` to ``needed`` with its ends, and the connections its learning-rule
    ends are built with (which must be built first)."""
    stack = [conn]
    while stack:
        conn = stack.pop()
        if conn in needed:
            continue
        needed.add(conn)
        for end in (conn.pre_obj, conn.post_obj):
            if isinstance(end, nengo.ensemble.Neurons):
                end = end.ensemble
            if isinstance(end, LearningRule):
                stack.append(end.connection)
            else:
                needed.add(end)


def probe_places(sequence):
    """Every probe of a `build_sequence` -> its place in the whole model's
    ``model.probes``."""
    probes = [obj for obj in sequence if isinstance(obj, nengo.Probe)]
    return {probe: i for i, probe in enumerate(probes)}


@dataclass
class HaloPart:
    """Where one rank's part of a network is in the whole network's build: what a rank
    sent only its part (`nengo_mpi.construction.description.PartIndex`) needs to
    name its operators and probes as a build of the whole network would.

    Attributes
    ----------
    places : dict
        Each ensemble, node, connection and probe of the part -> its place in the
        whole network's `build_sequence`.
    probe_index : dict
        Each probe of the part -> its place among the whole network's probes.
    """

    places: dict
    probe_index: dict

    @classmethod
    def of(cls, sequence, probe_index, needed):
        """The part of a network with ``sequence`` (`build_sequence`) and
        ``probe_index`` (`probe_places`) that a rank building ``needed`` gets."""
        return cls({obj: sequence[obj] for obj in needed},
                   {obj: probe_index[obj] for obj in needed if obj in probe_index})


class Halo:
    """What one rank builds of a network under a halo build.

    Parameters
    ----------
    network : nengo.Network
    assignments : dict
        Ensemble/Node -> component (objects absent from it are on component 0).
    rank, size : int
    part : HaloPart, optional
        Given when ``network`` holds only this rank's part of the network (as rank 0
        sends it, `nengo_mpi.construction.description`): where its objects are in the
        whole network's build.

    Attributes
    ----------
    needed : set
        The ensembles, nodes, connections and probes this rank builds.
    probe_index : dict
        Every probe of the network -> its place in the whole model's ``model.probes``.
    local : set of int
        This rank's components.
    """

    def __init__(self, network, assignments, rank, size, part=None):
        self.assignments = assignments
        n = 1 + max(assignments.values(), default=0)
        self.local = {c for c in range(n) if rank_of_component(c, size) == rank}
        if part is None:
            self.sequence = build_sequence(network)
            self.probe_index = probe_places(self.sequence)
            self.needed = self._needed(network)
        else:
            # ``network`` holds only this rank's part (`HaloPart`).
            self.sequence, self.probe_index = part.places, part.probe_index
            self.needed = set(part.places)
        # The network's own objects: those outside ``needed`` are other ranks'. (Objects
        # a builder makes as it goes, like the connection of a probe with a synapse,
        # are not among them.) With a part, what the pruning left in the network.
        self.members = self.sequence if part is None else build_sequence(network)
        self.op_keys = {}  # operator -> (its builder's place in the sequence, its own)
        self.channel_keys = []
        self.channel_ends = []

    def component_of(self, obj):
        """The component holding ``obj``'s own signals."""
        return component_of(obj, self.assignments)

    def _needed(self, network):
        local = self.local
        return needed_by_rank(network, self.assignments,
                              lambda comp: 0 if comp in local else None, 1)[0]

    def skips(self, obj):
        """Whether building ``obj`` is left to other ranks."""
        return obj in self.members and obj not in self.needed

    def record_keys(self, obj, ops):
        """Name ``ops``, which building ``obj`` added, by their place in its build."""
        place = self.sequence.get(obj)
        if place is not None:
            for k, op in enumerate(ops):
                self.op_keys.setdefault(op, (place, k))

    def problem(self, model):
        """Why this rank's part cannot be lowered as a halo, or None.

        Parameters
        ----------
        model : nengo.builder.Model
            The halo, built and not yet merged.
        """
        for op in model.operators:
            if _random_operator(op):
                return f"{op} may draw random numbers"
        ops = list(model.operators)
        try:
            build_order_sort(len(ops), dependency_lists(ops))
        except ValueError as e:
            return str(e)  # the whole build raises nengo's own error for it
        return None

    def _first_writers(self, model):
        """Base signal -> the build place of its first writer in ``model``."""
        first = {}
        for op in model.operators:
            key = self.op_keys.get(op)
            if key is None:
                continue
            for sig in op.sets + op.incs + op.updates:
                if sig.base not in first or key < first[sig.base]:
                    first[sig.base] = key
        return first

    def stage_channel_key(self, model):
        """The name, for `nengo_mpi.lower.stages.stage_graph`, of each same-step
        channel ``(base, src, dst)`` of ``model`` (built, not merged): its components
        and its signal's first writer, which both ends' ranks built alike."""
        first = self._first_writers(model)
        return lambda base, src, dst: (src, dst, first[base])

    def key_channels(self, channels, model):
        """Name each of ``channels`` (with an end here) by its components and the build
        place of its signal's first writer, which both ends' ranks built alike; and
        note the ends this rank ordered (``channel_ends``: ``(send_after,
        recv_before)``, None for the other rank's end)."""
        first = self._first_writers(model)
        self.channel_keys = [(ch.src_component, ch.dst_component, first[ch.signal])
                             for ch in channels]
        self.channel_ends = [
            (ch.send_after if ch.src_component in self.local else None,
             ch.recv_before if ch.dst_component in self.local else None)
            for ch in channels]


def number_channels(reports, size):
    """One tag for every channel, from every rank's `Halo.channel_keys`.

    Parameters
    ----------
    reports : list
        Each rank's channel keys, in rank order.
    size : int

    Returns
    -------
    dict
        Channel key -> tag, numbered in the order a build of the whole model numbers
        them (by components, then writer).

    Raises
    ------
    ValueError
        If the ranks at the two ends of a channel do not both know it.
    """
    seen = {}
    for rank, keys in enumerate(reports):
        for key in keys:
            seen.setdefault(key, set()).add(rank)
    for key, ranks in seen.items():
        ends = {rank_of_component(key[0], size), rank_of_component(key[1], size)}
        if ranks != ends:
            raise ValueError(
                f"the channel from component {key[0]} to {key[1]} (writer {key[2]}) is "
                f"known to ranks {sorted(ranks)}, not to the ranks of its ends "
                f"{sorted(ends)}")
    return {key: tag for tag, key in enumerate(sorted(seen))}


def channel_table(reports, size):
    """Every channel's tag and ends, from every rank's report.

    Parameters
    ----------
    reports : list
        Each rank's ``[(key, (send_after, recv_before))]`` (`Halo.channel_keys` with
        `Halo.channel_ends`: None for an end another rank ordered), in rank order.
    size : int

    Returns
    -------
    dict
        Channel key -> ``(tag, send_after, recv_before)`` (tags as `number_channels`).

    Raises
    ------
    ValueError
        As `number_channels`, or if no rank ordered one end of a channel.
    """
    tags = number_channels([[key for key, _ in report] for report in reports], size)
    ends = {}
    for report in reports:
        for key, (send_after, recv_before) in report:
            known = ends.setdefault(key, [None, None])
            if send_after is not None:
                known[0] = send_after
            if recv_before is not None:
                known[1] = recv_before
    table = {}
    for key, tag in tags.items():
        send_after, recv_before = ends[key]
        if send_after is None or recv_before is None:
            raise ValueError(f"no rank ordered an end of the channel from component "
                             f"{key[0]} to {key[1]} (writer {key[2]})")
        table[key] = (tag, send_after, recv_before)
    return table
