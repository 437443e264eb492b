"""A plan before the run: what each of N ranks would do, predicted without running.

``nengo_mpi.plan(network, n_ranks)`` partitions the network as the Simulator would
(`Partitioner`, weighed by the cost model) and costs every rank with
`nengo_mpi.partition.cost_model`: its compute, its messages and bytes per step, its
memory. Nothing is built and no process is started, so N can be far larger than this
machine has cores (a dry run, in the sense of Arbor's dry-run context: the partition
and the costs are the real ones, only the ranks are imagined).

The time per step is predicted as in ``benchmarks/scaling.py`` (which checks it against
measured runs)::

    busy_r = W_r + o * m_r + p * c_r + V_r / B
    t      = max_r busy_r + L            (once per step when any message is sent)

with ``W_r`` rank r's compute, ``m_r`` its message ends, ``c_r`` its channel ends,
``V_r`` the larger of its bytes sent and received, and ``o``, ``p``, ``L``, ``B`` the
`Costs`' message overhead, channel end, latency and bandwidth. It assumes a core per
rank unless told how many cores the ranks share (then ``t`` is at least the ranks'
total busy time over the cores).
"""

import numpy as np
import nengo

from .partition.cost_model import (
    connection_bytes,
    load_costs,
    object_costs,
    split_tiled,
)
from .partition.graph import endpoint_object
from .partition.partitioner import Partitioner
from .partition.tiles import Tile, decoded_dimensions

#: Above this many ranks, the table shows the busiest ranks and a summary.
FULL_TABLE_RANKS = 16


def _channels(network, assignments, tiles):
    """``(src, dst, bytes, same_step)`` of every value crossing ranks each step: a cut
    connection's output, and a tile's input parts and decoded shares when the tile is
    away from its ensemble's rank."""
    channels = []
    for conn in network.all_connections:
        src = assignments[endpoint_object(conn.pre_obj)]
        dst = assignments[endpoint_object(conn.post_obj)]
        if src != dst:
            channels.append((src, dst, connection_bytes(conn), conn.synapse is None))
    itemsize = np.dtype(nengo.rc.float_dtype).itemsize
    decoded = decoded_dimensions(network, tiles)
    for ens, ens_tiles in tiles.items():
        home = assignments[ens]
        for tile in ens_tiles:
            r = assignments[tile]
            if r != home:
                # Written by synapses, so read a step later (nengo_mpi.lower.tiling).
                channels.append((home, r, ens.dimensions * itemsize, False))
                channels.append((r, home, decoded[ens] * itemsize, False))
    return channels


class Plan:
    """The predicted work of every rank for one rank count.

    Attributes
    ----------
    n_ranks : int
    components, neurons, messages, channel_ends : numpy.ndarray of int
        Per rank (a tiled ensemble's neurons count where its tiles are).
    compute, comm : numpy.ndarray of float
        Per rank, predicted seconds per step.
    bytes_sent, bytes_received, memory : numpy.ndarray of int
        Per rank, bytes per step (sent, received) and bytes of model state.
    t_step : float
        Predicted seconds per step (the slowest rank, plus latency).
    t_one_rank : float
        Predicted seconds per step of the same network on 1 rank.
    costs : Costs
        The costs used (see ``costs.source``).
    assignments : dict
        Ensemble, Node or `Tile` -> rank.
    channels : list
        ``(src rank, dst rank, bytes, same_step)`` for every value that crosses
        between ranks each step.
    """

    def __init__(self, n_ranks, costs, assignments, per_object, network, cores=None):
        self.n_ranks = n_ranks
        self.costs = costs
        self.assignments = assignments
        n = n_ranks
        self.components = np.ones(n, dtype=np.int64)  # one component per rank
        self.neurons = np.zeros(n, dtype=np.int64)
        self.compute = np.full(n, costs.component)
        self.memory = np.zeros(n, dtype=np.int64)
        tiles = {}
        for key in assignments:
            if isinstance(key, Tile):
                tiles.setdefault(key.ensemble, []).append(key)
        per_object = split_tiled(per_object, tiles)
        for obj, cost in per_object.items():
            r = assignments[obj]
            self.compute[r] += cost.seconds(costs)
            self.memory[r] += cost.state_bytes
            if isinstance(obj, Tile):
                self.neurons[r] += obj.n_neurons
            elif isinstance(obj, nengo.Ensemble) and obj not in tiles:
                self.neurons[r] += obj.n_neurons
        self.channels = _channels(network, assignments, tiles)
        self.bytes_sent = np.zeros(n, dtype=np.int64)
        self.bytes_received = np.zeros(n, dtype=np.int64)
        self.channel_ends = np.zeros(n, dtype=np.int64)
        pairs = set()
        for src, dst, nbytes, _ in self.channels:
            self.bytes_sent[src] += nbytes
            self.bytes_received[dst] += nbytes
            self.channel_ends[src] += 1
            self.channel_ends[dst] += 1
            # The engine sends all channels from one rank to another in one message
            # per step (same-step ones in runs; counted as one here).
            pairs.add((src, dst))
        self.messages = np.zeros(n, dtype=np.int64)
        for src, dst in pairs:
            self.messages[src] += 1
            self.messages[dst] += 1
        self.memory += (self.bytes_sent + self.bytes_received) * 2  # send/recv buffers
        self.comm = (
            costs.message * self.messages
            + costs.channel_end * self.channel_ends
            + np.maximum(self.bytes_sent, self.bytes_received) / costs.bandwidth
        )
        busy = self.compute + self.comm
        self.t_step = float(busy.max()) + (costs.latency if pairs else 0.0)
        self.cores = cores
        if cores and cores < n:
            # Ranks that wait soon yield their core, so the ranks' busy times share the
            # cores (see benchmarks/scaling.py, which checks this at 4 and 8 ranks).
            self.t_step = max(self.t_step, float(busy.sum()) / cores)
        self.t_one_rank = float(
            costs.component + sum(c.seconds(costs) for c in per_object.values())
        )

    @property
    def imbalance(self):
        """Load imbalance of the compute: max over mean, minus 1 (as ``--timing``)."""
        mean = float(self.compute.mean())
        return float(self.compute.max()) / mean - 1.0 if mean > 0 else 0.0

    @property
    def speedup(self):
        """Predicted speed-up over 1 rank."""
        return self.t_one_rank / self.t_step if self.t_step > 0 else 1.0

    def _row(self, r):
        return (
            f"| {r} | {self.components[r]} | {self.neurons[r]:,} | "
            f"{self.compute[r] * 1e6:,.1f} | {self.comm[r] * 1e6:,.1f} | "
            f"{self.messages[r]} | {max(self.bytes_sent[r], self.bytes_received[r]):,} | "
            f"{self.memory[r] / 2**20:,.2f} |"
        )

    def table(self):
        """The plan as a Markdown table, condensed above `FULL_TABLE_RANKS` ranks."""
        shared = (f", sharing {self.cores} cores" if self.cores and self.cores < self.n_ranks
                  else "")
        lines = [
            f"nengo_mpi plan: {self.n_ranks} rank(s){shared}, costs from "
            f"{self.costs.source}",
            "",
            "| rank | components | neurons | compute [us/step] | comm [us/step] | "
            "messages/step | bytes/step | memory [MiB] |",
            "|---|---|---|---|---|---|---|---|",
        ]
        busy = self.compute + self.comm
        order = np.argsort(-busy, kind="stable")
        if self.n_ranks <= FULL_TABLE_RANKS:
            shown = range(self.n_ranks)
        else:
            shown = sorted(order[:8].tolist())
        lines += [self._row(r) for r in shown]
        if self.n_ranks > FULL_TABLE_RANKS:
            lines.append(
                f"| ... {self.n_ranks - len(shown)} more | | | "
                f"min {self.compute.min() * 1e6:,.1f}, "
                f"median {np.median(self.compute) * 1e6:,.1f} | "
                f"median {np.median(self.comm) * 1e6:,.1f} | | | |"
            )
        lines += [
            "",
            f"predicted time per step: {self.t_step * 1e6:,.1f} us "
            f"(1 rank: {self.t_one_rank * 1e6:,.1f} us); "
            f"speed-up over 1 rank: {self.speedup:.2f}x; "
            f"load imbalance (max compute / mean compute - 1): "
            f"{100 * self.imbalance:.1f}%",
        ]
        empty = int((self.compute <= self.costs.component).sum())
        if empty:
            lines.append(f"{empty} rank(s) hold nothing: more ranks than objects can fill.")
        return "\n".join(lines)

    def __str__(self):
        return self.table()


def plan(network, n_ranks, partitioner=None, assignments=None, costs=None, cores=None):
    """Predict what each of ``n_ranks`` ranks would do with ``network``.

    Parameters
    ----------
    network : nengo.Network
        The network, as it would be given to `nengo_mpi.Simulator`; nothing is built.
    n_ranks : int
        Number of ranks (one component each), at least 1; may far exceed this
        machine's cores.
    partitioner : Partitioner, optional
        How to split; ``Partitioner(n_ranks, costs=costs)`` by default. Its
        ``n_components`` must equal ``n_ranks``.
    assignments : dict, optional
        Objects pinned to ranks, as in `nengo_mpi.Simulator`.
    costs : nengo_mpi.partition.cost_model.Costs, optional
        This machine's calibration or the shipped defaults if not given.
    cores : int, optional
        Cores the ranks share; by default a core per rank. With fewer cores than
        ranks, the time per step is at least the ranks' total busy time over the
        cores.

    Returns
    -------
    Plan
        Print it for the table.
    """
    costs = load_costs() if costs is None else costs
    if partitioner is None:
        partitioner = Partitioner(n_ranks, costs=costs)
    elif partitioner.n_components != n_ranks:
        raise nengo.exceptions.ValidationError(
            "partitioner has %d components but n_ranks is %d"
            % (partitioner.n_components, n_ranks),
            attr="partitioner",
        )
    placed = partitioner.partition(network, assignments)
    return Plan(n_ranks, costs, placed, object_costs(network), network, cores)
