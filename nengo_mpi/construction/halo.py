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

Each component's lowering is then the same as in a build of the whole model, provided
no value crosses between components within a step (then no dependency leaves a
component and comes back): merges are planned per component
(`nengo_mpi.lower.merge.same_step_crossing`), operators run in the build order
(`nengo_mpi.lower.schedule`), layouts follow the builder's order of operators
(`nengo_mpi.lower.program`). Channels are named by what carries them (their writer's
place in the build, `Halo.key_channels`), so the two ends, on two ranks, agree on one
number for each.

A halo build is tried only for models none of whose operators draws random numbers
(each random stream's seed is its operator's place in the whole model's order) and
whose ensembles are not tiled; every rank checks its part (`Halo.problem`) and all
must agree, or every rank builds the whole model as before.
"""

import nengo
from nengo.builder.learning_rules import SimBCM, SimOja, SimPES, SimRLS, SimVoja
from nengo.builder.neurons import SimNeurons
from nengo.builder.operator import (
    BsrDotInc, Copy, DotInc, ElementwiseInc, Reset, SimPyFunc, SparseDotInc, TimeUpdate,
)
from nengo.builder.probe import SimProbe
from nengo.builder.processes import SimProcess
from nengo.connection import LearningRule

from ..lower.dependencies import dependency_lists
from ..lower.fence import DETERMINISTIC_NEURONS
from ..lower.merge import same_step_crossing
from ..lower.schedule import build_order_sort
from ..partition.tiles import Tile
from ..placement import rank_of_component

#: Operator types whose step draws no random numbers.
_NOT_RANDOM = (BsrDotInc, Copy, DotInc, ElementwiseInc, Reset, SimPyFunc, SparseDotInc,
               TimeUpdate, SimProbe, SimBCM, SimOja, SimPES, SimRLS, SimVoja)
#: Processes whose step draws no random numbers.
_NOT_RANDOM_PROCESSES = (nengo.synapses.LinearFilter, nengo.processes.PresentInput,
                         nengo.processes.Piecewise)


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


def halo_candidate(network, assignments):
    """Whether ``network`` split as ``assignments`` may be built as halos at all,
    judged from its description (each rank checks its part once built,
    `Halo.problem`): no tiled ensemble (tiles rewrite the ensemble's operators across
    components), and no connection without a synapse between two components (its value
    would cross within a step)."""
    if any(isinstance(obj, Tile) for obj in assignments):
        return False
    return not any(
        conn.synapse is None and not isinstance(conn.post_obj, LearningRule)
        and component_of(conn.pre_obj, assignments)
        != component_of(conn.post_obj, assignments)
        for conn in network.all_connections)


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
    """Whether ``op`` may draw random numbers as it steps."""
    if isinstance(op, SimNeurons):
        return type(op.neurons) not in DETERMINISTIC_NEURONS
    if isinstance(op, SimProcess):
        return not isinstance(op.process, _NOT_RANDOM_PROCESSES)
    return type(op) not in _NOT_RANDOM


class Halo:
    """What one rank builds of a network under a halo build.

    Parameters
    ----------
    network : nengo.Network
    assignments : dict
        Ensemble/Node -> component (objects absent from it are on component 0).
    rank, size : int

    Attributes
    ----------
    needed : set
        The ensembles, nodes, connections and probes this rank builds.
    probe_index : dict
        Every probe of the network -> its place in the whole model's ``model.probes``.
    local : set of int
        This rank's components.
    """

    def __init__(self, network, assignments, rank, size):
        self.sequence = build_sequence(network)
        self.assignments = assignments
        n = 1 + max(assignments.values(), default=0)
        self.local = {c for c in range(n) if rank_of_component(c, size) == rank}
        self.probe_index = {}
        for obj in self.sequence:
            if isinstance(obj, nengo.Probe):
                self.probe_index[obj] = len(self.probe_index)
        self.needed = self._needed(network)
        self.op_keys = {}  # operator -> (its builder's place in the sequence, its own)
        self.channel_keys = []

    def component_of(self, obj):
        """The component holding ``obj``'s own signals."""
        return component_of(obj, self.assignments)

    def _needed(self, network):
        local = self.local
        needed = {obj for obj in network.all_ensembles + network.all_nodes
                  if self.component_of(obj) in local}
        stack = [conn for conn in network.all_connections
                 if self.component_of(conn.pre_obj) in local
                 or self.component_of(conn.post_obj) in local]
        while stack:
            conn = stack.pop()
            if conn in needed:
                continue
            needed.add(conn)
            for end in (conn.pre_obj, conn.post_obj):
                if isinstance(end, nengo.ensemble.Neurons):
                    end = end.ensemble
                if isinstance(end, LearningRule):
                    # Built with its connection, which must be built first.
                    stack.append(end.connection)
                else:
                    needed.add(end)
        needed.update(probe for probe in network.all_probes
                      if self.component_of(probe) in local)
        return needed

    def skips(self, obj):
        """Whether building ``obj`` is left to other ranks."""
        return obj in self.sequence and obj not in self.needed

    def record_keys(self, obj, ops):
        """Name ``ops``, which building ``obj`` added, by their place in its build."""
        place = self.sequence.get(obj)
        if place is not None:
            for k, op in enumerate(ops):
                self.op_keys.setdefault(op, (place, k))

    def problem(self, model, op_components):
        """Why this rank's part cannot be lowered as a halo, or None.

        Parameters
        ----------
        model : nengo.builder.Model
            The halo, built and not yet merged.
        op_components : dict
            Operator -> its components.
        """
        for op in model.operators:
            if _random_operator(op):
                return f"{op} may draw random numbers"
        if same_step_crossing(model.operators, op_components):
            return "a value crosses between components within a step"
        ops = list(model.operators)
        try:
            build_order_sort(len(ops), dependency_lists(ops))
        except ValueError as e:
            return str(e)  # the whole build raises nengo's own error for it
        return None

    def key_channels(self, channels, model):
        """Name each of ``channels`` (with an end here) by its components and the build
        place of its signal's first writer, which both ends' ranks built alike."""
        first = {}
        for op in model.operators:
            key = self.op_keys.get(op)
            if key is None:
                continue
            for sig in op.sets + op.incs + op.updates:
                if sig.base not in first or key < first[sig.base]:
                    first[sig.base] = key
        self.channel_keys = [(ch.src_component, ch.dst_component, first[ch.signal])
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
