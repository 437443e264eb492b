"""Rewrite a built model so that each tiled ensemble runs as tiles (see
`nengo_mpi.partition.tiles` for what tiles are and when an ensemble is tiled).

nengo builds an ensemble of N neurons as, per step:

- ``Reset(input)`` and one ``Copy(..., input, inc=True)`` per incoming connection;
- ``Copy(bias -> J)`` and ``DotInc(scaled_encoders, input -> J)``: the currents;
- ``SimNeurons(J -> output, state)``: the neurons;
- per decoded connection, ``Reset(weighted)``, ``DotInc(weights, output -> weighted)``,
  the synapse ``SimProcess(weighted -> filtered)`` and ``Copy(filtered -> target,
  inc=True)`` into the post object (or a probe).

For each tile (neurons ``a:b``), this makes new base signals holding rows ``a:b`` of the
per-neuron signals and of the encoders, and columns ``a:b`` of each connection's
weights, and the same operators over them, on the tile's component:

- the tile sums its own copy of the ensemble's input from the incoming connections'
  values (which arrive as any other connection's do), so it never waits for the
  ensemble's component within a step;
- for a connection with a linear synapse, the tile filters its own share of the decoded
  value (the filter is linear, so the shares' filtered values add up to the filtered
  sum), and each share is added into the target by its own copy, in tile order, where
  nengo's copy ran. Filtered values are written at the end of a step and read in the
  next, so these messages overlap the step as every synapse's does;
- for a connection without a synapse (or with one that is not linear), the shares are
  added into ``weighted`` on the ensemble's component, in tile order, after nengo's own
  ``Reset``; the rest of that connection is nengo's.

The new signals and operators are the same whatever the partition, so the tiled model
is too: results are identical at every rank count and placement of the tiles. They
differ from the untiled model only in how each decoded value is summed (tile by tile,
and filtered before the sum), which is rounding.
"""

import warnings
from collections import defaultdict

import nengo
import numpy as np
from nengo.builder.neurons import SimNeurons
from nengo.builder.operator import Copy, DotInc, Reset
from nengo.builder.processes import SimProcess
from nengo.builder.signal import Signal

from ..partition.tiles import Tile
from .state import lowering_state

#: Synapses whose filtering commutes with a sum (up to rounding).
LINEAR_SYNAPSES = (nengo.LinearFilter, nengo.Lowpass, nengo.Alpha)


class TilingWarning(UserWarning):
    """An ensemble the partitioner tiled is kept whole by the lowering."""


def _new(sig, value, label):
    """A new base signal with ``value``, named after ``sig``."""
    return Signal(np.array(value), name=f"{sig.name}[{label}]", readonly=sig.readonly)


class _Uses:
    """Which operators use and write each base signal, in the model's order."""

    def __init__(self, operators):
        self.users, self.writers = defaultdict(list), defaultdict(list)
        for op in operators:
            for base in dict.fromkeys(s.base for s in op.all_signals):
                self.users[base].append(op)
            for base in dict.fromkeys(s.base for s in op.sets + op.incs + op.updates):
                self.writers[base].append(op)

    def only(self, sig, *ops):
        """Whether ``ops`` are all the users of ``sig``'s base."""
        return set(self.users[sig.base]) == set(ops)


def _whole(sig, shape):
    return sig.base is sig and sig.shape == shape


def _connection_form(uses, dec):
    """How a decoded connection's DotInc ``dec`` continues: ``("filtered", reset,
    synapse, copies)`` or ``("summed", reset)``, or None if neither fits."""
    Y = dec.Y
    resets = [op for op in uses.users[Y.base] if isinstance(op, Reset) and op.dst is Y]
    if not _whole(Y, Y.shape) or len(resets) != 1:
        return None
    reset = resets[0]
    synapses = [
        op for op in uses.users[Y.base]
        if isinstance(op, SimProcess) and op.input is Y and op.mode == "update"
    ]
    if len(synapses) == 1 and type(synapses[0].process) in LINEAR_SYNAPSES:
        syn = synapses[0]
        F = syn.output
        copies = [op for op in uses.users[F.base] if op is not syn]
        fits = (
            uses.only(Y, reset, dec, syn)
            and _whole(F, F.shape)
            and all(s.base is s for s in syn.state.values())
            and copies
            and all(isinstance(op, Copy) and op.src is F and op.inc for op in copies)
        )
        if fits:
            return ("filtered", reset, syn, copies)
    if set(uses.writers[Y.base]) == {reset, dec}:
        return ("summed", reset)
    return None


def _plan(model, ens, uses, position):
    """The operators of ``ens`` to rewrite, or a string saying why it cannot be."""
    nsig = model.sig[ens.neurons]
    J, out, bias = nsig["in"], nsig["out"], nsig["bias"]
    ens_in = model.sig[ens]["in"]
    n = ens.n_neurons
    neurons = [op for op in uses.users[out.base] if isinstance(op, SimNeurons)]
    if len(neurons) != 1 or neurons[0].J is not J or neurons[0].output is not out:
        return "its neurons are not one SimNeurons operator"
    neurons = neurons[0]
    if neurons.state_extra:
        return "its neuron operator holds state other than signals"
    per_neuron = [J, out, bias] + list(neurons.state.values())
    for sig in per_neuron:
        if not _whole(sig, (n,)):
            return f"{sig} is not a whole signal of one value per neuron"
    encoders = [
        op for op in uses.users[J.base]
        if isinstance(op, DotInc) and op.Y is J and op.X is ens_in
    ]
    if len(encoders) != 1:
        return "it does not have one encoding operator"
    encoders = encoders[0]
    enc = encoders.A
    if not _whole(enc, (n, ens.dimensions)) or uses.writers[enc.base]:
        return "its encoders are not one constant matrix"
    plan = {"neurons": neurons, "encoders": encoders, "bias": None, "decoders": []}
    touched = set()
    for sig in per_neuron + [enc]:
        touched.update(uses.users[sig.base])
    per_neuron_bases = {s.base for s in per_neuron}
    for op in sorted(touched, key=position.get):  # in the model's order
        if op is neurons or op is encoders:
            continue
        if (
            isinstance(op, Copy)
            and op.src is bias
            and op.dst is J
            and not op.inc
            and op.src_slice is None
            and op.dst_slice is None
        ):
            plan["bias"] = op
            continue
        if isinstance(op, DotInc) and op.X is out:
            A = op.A
            form = None
            if (
                _whole(A, A.shape)
                and A.ndim == 2
                and A.shape[1] == n
                and not uses.writers[A.base]
                and uses.only(A, op)
                and op.Y.base not in per_neuron_bases
            ):
                form = _connection_form(uses, op)
            if form is not None:
                plan["decoders"].append((op, form))
                continue
        return f"{op} uses its neurons in a way tiles do not reproduce"
    if plan["bias"] is None:
        return "its bias is not copied into its currents by one operator"
    return plan


class _Chain:
    """A sum built as a chain of signals that each get one set and one increment.

    Merging operators may reorder the increments of one signal (it merges independent
    operators in whatever groups fit), which would make a sum depend on the partition.
    A chain has nothing to reorder: signal ``j`` is set from signal ``j - 1`` and then
    incremented by part ``j`` (nengo orders sets before increments), so the parts are
    added in the order given, whatever is merged.
    """

    def __init__(self, like, label, value=None):
        self.like = like
        self.label = label
        self.ops = []
        self.last = Signal(np.zeros(like.shape, dtype=like.dtype),
                           name=f"{like.name}[{label} sum 0]")
        if value is None:
            self.first = True
        else:
            self.ops.append(Reset(self.last, value=value, tag=f"{label} sum"))
            self.first = False

    def add(self, src, src_slice=None, dst_slice=None):
        """Add ``src[src_slice]`` into ``[dst_slice]`` of the sum."""
        if self.first and src_slice is None and dst_slice is None and (
            src.shape == self.like.shape
        ):
            self.ops.append(Copy(src, self.last, tag=f"{self.label} sum"))
            self.first = False
            return
        if self.first:
            self.ops.append(Reset(self.last, tag=f"{self.label} sum"))
            self.first = False
        nxt = Signal(np.zeros(self.like.shape, dtype=self.like.dtype),
                     name=f"{self.like.name}[{self.label} sum {len(self.ops)}]")
        self.ops.append(Copy(self.last, nxt, tag=f"{self.label} sum"))
        self.ops.append(Copy(src, nxt, src_slice=src_slice, dst_slice=dst_slice, inc=True,
                             tag=f"{self.label} sum"))
        self.last = nxt


class _Rewrite:
    """The operators made for one tiled ensemble, in two phases (`outputs`, then
    `inputs`), because a tile's input may sum the shares of another tiled ensemble."""

    def __init__(self, ens, tiles, plan):
        self.ens, self.tiles, self.plan = ens, tiles, plan
        self.removed = {plan["neurons"], plan["encoders"], plan["bias"]}
        self.tile_ops = {}  # tile -> its operators ("encode" left to `inputs`)
        self.sums = []  # (op, original op whose place it takes)

    def outputs(self, model, into_inputs):
        """Each tile's neurons and its shares of each decoded connection; the chains
        that add the shares where nengo added the connection's value. Records in
        ``into_inputs`` the shares that replace a copy into any ensemble's input."""
        neurons = self.plan["neurons"]
        J, out, bias = neurons.J, neurons.output, self.plan["bias"].src
        outs = {}
        for tile in self.tiles:
            a, b = tile.start, tile.stop
            label = f"tile {tile.index}"
            J_t = _new(J, J.initial_value[a:b], label)
            outs[tile] = _new(out, out.initial_value[a:b], label)
            state_t = {k: _new(s, s.initial_value[a:b], label)
                       for k, s in neurons.state.items()}
            self.tile_ops[tile] = [
                Copy(_new(bias, bias.initial_value[a:b], label), J_t,
                     tag=f"{self.ens} bias, {label}"),
                ("encode", J_t),  # made by `inputs`, once the tile's input is known
                SimNeurons(neurons.neurons, J_t, outs[tile], state=state_t,
                           tag=f"{self.ens} neurons, {label}"),
            ]
        for dec, form in self.plan["decoders"]:
            A = dec.A
            self.removed.add(dec)
            tag = dec.tag or "decoding"
            shares = []
            for tile in self.tiles:
                a, b = tile.start, tile.stop
                label = f"tile {tile.index}"
                part = Signal(np.zeros(dec.Y.shape, dtype=dec.Y.dtype),
                              name=f"{dec.Y.name}[{label}]")
                ops = [
                    Reset(part, tag=f"{tag}, {label}"),
                    DotInc(_new(A, A.initial_value[:, a:b], label), outs[tile], part,
                           tag=f"{tag}, {label}"),
                ]
                if form[0] == "filtered":
                    syn = form[2]
                    filtered = _new(syn.output, syn.output.initial_value, label)
                    state = {name: _new(s, s.initial_value, label)
                             for name, s in syn.state.items()}
                    ops.append(SimProcess(syn.process, part, filtered, model.time,
                                          mode="update", state=state,
                                          tag=f"{syn.tag or 'synapse'}, {label}"))
                    part = filtered
                self.tile_ops[tile] += ops
                shares.append(part)
            if form[0] == "filtered":
                _, reset, syn, copies = form
                self.removed.update({reset, syn, *copies})
                targets = [(c, c.dst, c.src_slice, c.dst_slice) for c in copies]
            else:
                targets = [(dec, dec.Y, None, None)]
            for original, dst, src_slice, dst_slice in targets:
                chain = _Chain(shares[0], f"{tag} to {dst.name}")
                for share in shares:
                    chain.add(share)
                chain.ops.append(Copy(chain.last, dst, src_slice=src_slice,
                                      dst_slice=dst_slice, inc=True,
                                      tag=f"{tag}, tiles' sum"))
                self.sums += [(op, original) for op in chain.ops]
                into_inputs[original] = [(sh, src_slice, dst_slice) for sh in shares]

    def inputs(self, writers, into_inputs):
        """Each tile's own copy of the ensemble's input, summed from the values nengo
        adds into it (so a tile never waits for the ensemble's component within a
        step): the same Reset and parts, in nengo's order, a connection from a tiled
        ensemble by that ensemble's shares. ``writers`` are the original operators
        that set or increment the input, in nengo's step order."""
        ens_in = self.plan["encoders"].X
        enc = self.plan["encoders"].A
        resets = [op for op in writers if isinstance(op, Reset) and op.dst is ens_in]
        adds = [op for op in writers if op not in resets]
        own_input = (
            len(resets) == 1
            and writers[0] is resets[0]
            and all(isinstance(op, Copy) and op.dst is ens_in and op.inc for op in adds)
        )
        for tile in self.tiles:
            a, b = tile.start, tile.stop
            label = f"tile {tile.index}"
            x = ens_in  # without a plain sum to copy, read the ensemble's own input
            ops = []
            if own_input:
                chain = _Chain(ens_in, f"input of {label}", value=resets[0].value)
                for op in adds:
                    for src, src_slice, dst_slice in into_inputs.get(
                        op, [(op.src, op.src_slice, op.dst_slice)]
                    ):
                        chain.add(src, src_slice, dst_slice)
                ops += chain.ops
                x = chain.last
            for op in self.tile_ops[tile]:
                if isinstance(op, tuple):
                    op = DotInc(_new(enc, enc.initial_value[a:b], label), x, op[1],
                                tag=f"{self.ens} encoding, {label}")
                ops.append(op)
            self.tile_ops[tile] = ops


def split_tiled_ensembles(model, obj_components, components):
    """Rewrite the tiled ensembles of ``obj_components`` and place their operators.

    Parameters
    ----------
    model : nengo.builder.Model
        The built model, before operators are merged; changed in place.
    obj_components : dict
        The partition: objects and `Tile`\\ s -> component.
    components : callable
        Operator -> the components that run it (`OperatorAssigner.components`), for
        the operators whose place the sums of the tiles' shares take.

    Returns
    -------
    dict
        Every operator made for tiles -> tuple of its component. Also recorded in
        the model's lowering state (``op_components``), which places operators before
        owners do.
    """
    by_ensemble = defaultdict(list)
    for key in obj_components:
        if isinstance(key, Tile):
            by_ensemble[key.ensemble].append(key)
    state = lowering_state(model)
    done = state.tiled_ensembles
    todo = [ens for ens in by_ensemble if ens not in done]
    if todo:
        # One pass over the model for all ensembles: their plans read the operators
        # as nengo built them, and the rewrites are applied together at the end.
        uses = _Uses(model.operators)
        slots = state.seed_slots or {}
        position = {op: i for i, op in enumerate(model.operators)}
        rewrites = []
        for ens in todo:
            plan = _plan(model, ens, uses, position)
            if isinstance(plan, str):
                warnings.warn(TilingWarning(
                    f"{ens} is kept whole on one component although the partitioner "
                    f"tiled it: {plan}"))
                done[ens] = {}
                continue
            tiles = sorted(by_ensemble[ens], key=lambda t: t.index)
            rewrites.append(_Rewrite(ens, tiles, plan))
        into_inputs = {}
        for rewrite in rewrites:
            rewrite.outputs(model, into_inputs)
        for rewrite in rewrites:
            ens_in = rewrite.plan["encoders"].X
            writers = sorted(
                (op for op in uses.writers[ens_in.base]
                 if any(s.base is ens_in.base for s in op.sets + op.incs)),
                key=lambda op: slots.get(op, len(slots) + position[op]),
            )
            rewrite.inputs(writers, into_inputs)
        removed = set().union(*(r.removed for r in rewrites)) if rewrites else set()
        added = []
        for rewrite in rewrites:
            placed = {}
            for tile in rewrite.tiles:
                for op in rewrite.tile_ops[tile]:
                    placed[op] = tile
                    added.append(op)
            for op, original in rewrite.sums:
                placed[op] = tuple(components(original))
                added.append(op)
            done[rewrite.ens] = placed
        model.operators[:] = [op for op in model.operators if op not in removed] + added
    live = set(model.operators)
    op_components = state.op_components
    placed = {}
    for ens, ops in done.items():
        home = obj_components.get(ens, 0)
        for op, where in ops.items():
            if op not in live:
                continue
            if isinstance(where, Tile):
                where = (obj_components.get(where, home),)
            op_components[op] = placed[op] = tuple(where)
    return placed
