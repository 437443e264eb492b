"""Ensembles split below the ensemble: tiles of neurons that can sit on different
components.

A large ensemble is one object to the partitioner, so one 10,000-neuron ensemble cannot
be shared by two ranks. Tiling cuts it into slices of its neurons (a `Tile` each), with
their encoders, gains and biases. Each tile runs its neurons, their encoders and its
share of every decoded connection (the decoders' columns for its neurons), and sends
that partial sum to the ensemble's own component, which adds the tiles' contributions
in tile order and runs the rest (synapses, probes, the copies into post objects). The
model is rewritten after nengo has built it (`nengo_mpi.lower.tiling`), so encoders,
gains, biases and decoders are nengo's own, solved for the whole ensemble.

Which ensembles are tiled depends only on the network and ``tile_size``, never on the
number of components, so results are identical at every rank count and every placement
of the tiles; they differ from the untiled model only in how each decoded value is
summed (tile by tile instead of in one pass), which is rounding.

An ensemble stays whole, with the reason given by `why_whole`, when tiling it would
need more than that: learning rules (their deltas need every neuron in one place),
neuron types that draw random numbers (one stream per operator) or that run in Python,
connections or probes on its neurons, and Direct mode.
"""

from dataclasses import dataclass

import nengo
from nengo.exceptions import ValidationError
from nengo.ensemble import Neurons

#: Default tile size in neurons. With the shipped costs a LIF neuron costs 1.9 ns a
#: step and each of its encoder and decoder elements 0.13 ns, so a 1-D tile of 1,000
#: neurons computes for at least about 2.2 us a step; its fixed costs are a few
#: operator calls (about 8 ns each once merged with its neighbours') and the chains
#: that add the tiles' shares (two copies of the ensemble's dimensions per tile and
#: connection). Measured on benchmark d) (10,000 neurons, 32-D, recurrent): 10 tiles
#: cost 4% at 1 process, 20 tiles 14%; 5 tiles could not be split evenly in two.
DEFAULT_TILE_SIZE = 1000


@dataclass(frozen=True)
class Tile:
    """Neurons ``start:stop`` of ``ensemble``, the ``index``-th of its tiles.

    Tiles compare equal by value (ensemble identity and range), so a pickled and
    restored assignment finds them again.
    """

    ensemble: nengo.Ensemble
    index: int
    start: int
    stop: int

    @property
    def n_neurons(self):
        return self.stop - self.start

    def __str__(self):
        return f"tile {self.index} ({self.start}:{self.stop}) of {self.ensemble}"


def check_tile_size(tile_size, obj=None):
    """``tile_size`` as an int, or a ValidationError naming it."""
    if tile_size is None:
        return None
    if isinstance(tile_size, bool) or not isinstance(tile_size, int) and not (
        hasattr(tile_size, "__index__")
    ):
        raise ValidationError(
            f"tile_size must be an integer number of neurons >= 1, got {tile_size!r}",
            attr="tile_size",
            obj=obj,
        )
    if int(tile_size) < 1:
        raise ValidationError(
            f"tile_size must be >= 1 neurons, got {tile_size!r}", attr="tile_size", obj=obj
        )
    return int(tile_size)


def _touching(network):
    """Per ensemble, the reasons found in the network's connections and probes."""
    reasons = {}

    def note(ens, why):
        reasons.setdefault(ens, why)

    for conn in network.all_connections:
        for end in (conn.pre_obj, conn.post_obj):
            ens = end.ensemble if isinstance(end, Neurons) else end
            if not isinstance(ens, nengo.Ensemble):
                continue
            if conn.learning_rule_type is not None:
                note(ens, f"{conn} has a learning rule")
            elif isinstance(end, Neurons):
                note(ens, f"{conn} connects to its neurons")
    for probe in network.all_probes:
        target = probe.target
        if isinstance(target, Neurons):
            note(target.ensemble, f"{probe} records its neurons")
        elif isinstance(target, nengo.Ensemble) and probe.attr not in (
            "decoded_output",
            "input",
        ):
            note(target, f"{probe} records its {probe.attr}")
    return reasons


def why_whole(ens, touching):
    """Why ``ens`` cannot be tiled, or None if it can."""
    # The engine's registry (imported here: the rest of this package needs only nengo).
    from ..kernels import neuron_kernel  # pylint: disable=import-outside-toplevel

    kernel = neuron_kernel(type(ens.neuron_type))
    if kernel is None or not kernel.deterministic:
        return (
            f"its neuron type {type(ens.neuron_type).__name__} is not one the engine "
            "steps elementwise and deterministically"
        )
    if ens.noise is not None:
        return "it has noise (one random stream for all its neurons)"
    return touching.get(ens)


def make_tiles(network, tile_size):
    """The tiles of every ensemble of ``network`` larger than ``tile_size`` neurons.

    Returns
    -------
    tiles : dict
        Ensemble -> list of `Tile`, for the ensembles that are tiled, in
        ``network.all_ensembles`` order. Tiles are as equal in size as they can be.
    whole : dict
        Ensemble -> reason, for the large ensembles that stay whole.
    """
    tiles, whole = {}, {}
    if tile_size is None:
        return tiles, whole
    touching = None
    for ens in network.all_ensembles:
        if ens.n_neurons <= tile_size:
            continue
        if touching is None:
            touching = _touching(network)
        reason = why_whole(ens, touching)
        if reason is not None:
            whole[ens] = reason
            continue
        count = -(-ens.n_neurons // tile_size)
        bounds = [ens.n_neurons * k // count for k in range(count + 1)]
        tiles[ens] = [Tile(ens, k, bounds[k], bounds[k + 1]) for k in range(count)]
    return tiles, whole


def decoded_dimensions(network, tiled):
    """Tiled ensemble -> the dimensions its connections decode, summed: what each of
    its tiles sends its ensemble every step (one share per connection)."""
    decoded = dict.fromkeys(tiled, 0)
    for conn in network.all_connections:
        if conn.pre_obj in decoded:
            decoded[conn.pre_obj] += conn.size_out
    return decoded
