"""A cost model of the engine: predicted time and memory per step of each object.

The partitioner, ``nengo_mpi.plan`` and ``benchmarks/scaling.py`` all weigh a network
with this one model. It reads only the network's description (no build), so that it can
be used before anything is built (and, later, to decide which rank builds what).

Each ensemble or node is charged for the operators the engine runs on its component:

- its own: the neuron step (per neuron, by neuron type), its encoders, its input and
  bias copies, a Python call for a callable Node;
- the pre side of each connection leaving it (decoders or transform, the synapse),
  which runs with the pre object (see `nengo_mpi.lower.assign`);
- the post side of each connection entering it (the copy into its input);
- the probes on it.

The coefficients (`Costs`) are seconds per unit of a *feature* (a neuron-step of a type,
a matrix element, a synaptic filter...). ``python -m nengo_mpi calibrate`` measures them
on the machine it runs on (`nengo_mpi.partition.calibrate`) and stores them in
`calibration_path`; until then the defaults shipped in ``default_costs.json``, measured
on the 2-core development machine, are used.
"""

import json
import os
import warnings
from dataclasses import dataclass, field

import nengo
import numpy as np
from nengo.connection import LearningRule
from nengo.ensemble import Neurons

from .graph import endpoint_object

#: Features charged per object, besides the neuron steps (seconds per unit in `Costs`).
FEATURES = (
    "dense",  # one element of a matrix-vector product (encoders, decoders, transforms)
    "sparse",  # one stored element of a sparse transform
    "matrix",  # one matrix-vector product's fixed cost (a block of the engine's BSR)
    "dense_row",  # one output row of a matrix-vector product (short rows cost more)
    "element",  # one element copied, reset or multiplied elementwise
    "filter",  # one synaptic filter (a connection's or a probe's), whatever its size
    "filter_state",  # one state element of a synaptic filter
    "connection",  # one connection's fixed cost (its operators' calls)
    "ensemble",  # one ensemble's fixed cost
    "python",  # one call into Python (a Node's function, a Direct-mode function)
    "probe",  # one probed element, sampled each step
)

#: Environment variable that names the calibration file, overriding the default place.
COSTS_ENV = "NENGO_MPI_COSTS"

_DEFAULTS_FILE = os.path.join(os.path.dirname(__file__), "default_costs.json")


def calibration_path():
    """Where ``python -m nengo_mpi calibrate`` stores its costs and runs read them.

    ``$NENGO_MPI_COSTS`` if set, else ``$XDG_CONFIG_HOME/nengo_mpi/costs.json``
    (``~/.config/nengo_mpi/costs.json`` without XDG_CONFIG_HOME).
    """
    explicit = os.environ.get(COSTS_ENV)
    if explicit:
        return explicit
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(
        os.path.expanduser("~"), ".config"
    )
    return os.path.join(base, "nengo_mpi", "costs.json")


@dataclass
class Costs:
    """Per-feature costs of the engine on one machine (seconds, bytes per second).

    Attributes
    ----------
    neuron : dict
        Neuron type name -> seconds per neuron-step (``"default"`` for types not
        listed).
    per_feature : dict
        Feature name (see `FEATURES`) -> seconds per unit per step.
    component : float
        Seconds per step every component spends whatever it holds (its clock, the
        step loop).
    message : float
        CPU seconds per message end inside MPI.
    channel_end : float
        The engine's own CPU seconds per channel end (packing or unpacking it).
    latency : float
        One-way latency of a small message, in seconds.
    bandwidth : float
        Bytes per second between two ranks.
    source : str
        Where these costs came from (a file's path, or "shipped defaults").
    """

    neuron: dict
    per_feature: dict
    component: float = 0.0
    message: float = 0.5e-6
    channel_end: float = 0.02e-6
    latency: float = 1.5e-6
    bandwidth: float = 8e9
    source: str = "shipped defaults"
    machine: dict = field(default_factory=dict)

    def neuron_step(self, neuron_type):
        """Seconds per neuron-step of ``neuron_type`` (an instance or a class)."""
        cls = neuron_type if isinstance(neuron_type, type) else type(neuron_type)
        for klass in cls.__mro__:
            if klass.__name__ in self.neuron:
                return self.neuron[klass.__name__]
        return self.neuron["default"]

    def to_dict(self):
        """The costs as plain JSON data."""
        return {
            "neuron": dict(self.neuron),
            "per_feature": dict(self.per_feature),
            "component": self.component,
            "message": self.message,
            "channel_end": self.channel_end,
            "latency": self.latency,
            "bandwidth": self.bandwidth,
            "machine": dict(self.machine),
        }

    @classmethod
    def from_dict(cls, data, source):
        """Costs from `to_dict`'s data; raises ValueError when it is not valid."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        neuron = data.get("neuron")
        per_feature = data.get("per_feature")
        if not isinstance(neuron, dict) or "default" not in neuron:
            raise ValueError("'neuron' must map neuron type names (and 'default')")
        if not isinstance(per_feature, dict) or set(per_feature) != set(FEATURES):
            raise ValueError("'per_feature' must give exactly %s" % (FEATURES,))
        scalars = {}
        for name in ("component", "message", "channel_end", "latency", "bandwidth"):
            scalars[name] = data.get(name)
        values = list(neuron.values()) + list(per_feature.values())
        values += list(scalars.values())
        for value in values:
            if (
                not isinstance(value, (int, float))
                or isinstance(value, bool)
                or not np.isfinite(value)
                or value < 0
            ):
                raise ValueError("every cost must be a finite number >= 0")
        if scalars["bandwidth"] <= 0:
            raise ValueError("'bandwidth' must be > 0")
        return cls(
            neuron={str(k): float(v) for k, v in neuron.items()},
            per_feature={str(k): float(v) for k, v in per_feature.items()},
            source=source,
            machine=dict(data.get("machine") or {}),
            **{k: float(v) for k, v in scalars.items()},
        )


def shipped_costs():
    """The default costs that ship with the package."""
    with open(_DEFAULTS_FILE, encoding="utf-8") as f:
        return Costs.from_dict(json.load(f), "shipped defaults")


_loaded = {}


def forget_loaded():
    """Forget the costs read so far, so that the next `load_costs` reads its file."""
    _loaded.clear()


def load_costs(path=None):
    """The calibrated costs of this machine, or the shipped defaults.

    Parameters
    ----------
    path : str, optional
        The calibration file; `calibration_path` by default.

    Returns
    -------
    Costs
        The file's costs. If the file does not exist at the default place (nothing
        was calibrated), the shipped defaults, silently. If it was named through
        ``$NENGO_MPI_COSTS`` or ``path`` and is missing, or it cannot be read or is
        not valid, the shipped defaults with one warning (per file, per process).
    """
    named = path is not None or bool(os.environ.get(COSTS_ENV))
    path = calibration_path() if path is None else path
    key = (path, named)
    if key in _loaded:
        return _loaded[key]
    try:
        with open(path, encoding="utf-8") as f:
            costs = Costs.from_dict(json.load(f), path)
    except FileNotFoundError:
        if named:
            warnings.warn(
                "nengo_mpi: calibration file %s does not exist; using the shipped "
                "default costs (run: python -m nengo_mpi calibrate)" % path
            )
        costs = shipped_costs()
    except (OSError, ValueError) as error:  # JSONDecodeError is a ValueError
        warnings.warn(
            "nengo_mpi: calibration file %s is not usable (%s); using the shipped "
            "default costs (run: python -m nengo_mpi calibrate to remake it)"
            % (path, error)
        )
        costs = shipped_costs()
    _loaded[key] = costs
    return costs


def _filter_order(synapse):
    """Number of state elements per dimension of a synapse (0 without one)."""
    if synapse is None:
        return 0
    den = getattr(synapse, "den", None)
    if den is not None:
        return max(1, len(np.atleast_1d(den)) - 1)
    return 1


def _transform_elements(transform, size_in, size_out):
    """(feature, units) of a connection's transform applied once per step."""
    if isinstance(transform, nengo.transforms.Dense):
        if np.ndim(transform.init) < 2:
            return "element", size_out  # a scalar or a diagonal: elementwise
        return "dense", size_out * size_in
    if isinstance(transform, nengo.transforms.Sparse):
        init = transform.init
        data = getattr(init, "data", init)  # a SparseMatrix, or a scipy matrix
        return "sparse", int(np.size(data))
    if isinstance(transform, nengo.transforms.NoTransform):
        return "element", 0
    # Convolutions and the like: count the products they make.
    return "dense", size_out * size_in


def _product(cost, rows, elements):
    """A dense matrix-vector product of ``rows`` output rows."""
    cost.add("dense", elements)
    cost.add("dense_row", rows)
    cost.add("matrix", 1)


def _transform_cost(cost, transform, size_in, size_out, itemsize):
    """A connection's transform, applied to its (decoded or raw) input."""
    feature, units = _transform_elements(transform, size_in, size_out)
    if feature == "dense":
        _product(cost, size_out, units)
    else:
        cost.add(feature, units)
        if feature == "sparse":
            cost.add("matrix", 1)
            cost.add("dense_row", size_out)
    if feature != "element":
        cost.state_bytes += units * itemsize


class ObjectCost:
    """What one ensemble or node costs its component per step.

    Attributes
    ----------
    units : dict
        Feature name -> units per step (see `FEATURES`).
    neurons : dict
        Neuron type name -> neurons stepped (a rates-to-spikes type counts its base
        type too).
    state_bytes : int
        Bytes of the model state it holds (signals, matrices), not counting probe data.
    """

    __slots__ = ("units", "neurons", "state_bytes")

    def __init__(self):
        self.units = dict.fromkeys(FEATURES, 0.0)
        self.neurons = {}
        self.state_bytes = 0

    def add(self, feature, units):
        self.units[feature] += units

    def add_neurons(self, neuron_type, n):
        name = type(neuron_type).__name__
        self.neurons[name] = self.neurons.get(name, 0) + n
        base = getattr(neuron_type, "base_type", None)
        if base is not None:  # a rates-to-spikes type runs its base type too
            self.add_neurons(base, n)

    def seconds(self, costs):
        """Predicted seconds per step under ``costs``."""
        t = sum(costs.per_feature[f] * u for f, u in self.units.items())
        for name, n in self.neurons.items():
            t += costs.neuron.get(name, costs.neuron["default"]) * n
        return t


def _ensemble_cost(cost, ens, itemsize):
    n, d = ens.n_neurons, ens.dimensions
    cost.add("ensemble", 1)
    if isinstance(ens.neuron_type, nengo.Direct):
        cost.add("element", 2 * d)
        cost.state_bytes += 2 * d * itemsize
        return
    cost.add_neurons(ens.neuron_type, n)
    _product(cost, n, n * d)  # encoders
    cost.add("element", 2 * n + d)  # bias into the currents, input reset
    states = len(getattr(ens.neuron_type, "state", {}) or {})
    cost.state_bytes += (n * d + (3 + states) * n + 2 * d) * itemsize
    if ens.noise is not None:
        cost.add("python" if not _native_process(ens.noise) else "element", n)


def _native_process(process):
    """Whether the engine runs this process natively (else a Python call per step)."""
    # Exact types, as the engine's translators match them: a subclass may override
    # make_step and so runs in Python.
    return type(process) in (
        nengo.processes.WhiteNoise,
        nengo.processes.FilteredNoise,
        nengo.processes.BrownNoise,
        nengo.processes.WhiteSignal,
        nengo.processes.PresentInput,
        nengo.processes.Piecewise,
    )


def _node_cost(cost, node, itemsize):
    out = node.output
    size = max(node.size_in, node.size_out)
    cost.state_bytes += (node.size_in + node.size_out) * itemsize
    if out is None:
        cost.add("element", node.size_in)  # a passthrough copies its input
    elif isinstance(out, nengo.Process):
        if _native_process(out):
            cost.add("element", size)
        else:
            cost.add("python", 1)
    elif callable(out):
        cost.add("python", 1)
        cost.add("element", size)


def _pre_side_cost(cost, conn, itemsize):
    """The connection's operators up to and including its synapse (run with pre)."""
    pre = conn.pre_obj
    cost.add("connection", 1)
    size_out = conn.size_out
    if isinstance(pre, nengo.Ensemble):
        if isinstance(pre.neuron_type, nengo.Direct):
            if conn.function is not None:
                cost.add("python", 1)
            _transform_cost(cost, conn.transform, conn.size_mid, size_out, itemsize)
        else:
            solver = conn.solver
            if getattr(solver, "weights", False):
                post = endpoint_object(conn.post_obj)
                n_post = post.n_neurons if isinstance(post, nengo.Ensemble) else size_out
                _product(cost, n_post, n_post * pre.n_neurons)
                cost.state_bytes += n_post * pre.n_neurons * itemsize
            else:
                _product(cost, conn.size_mid, conn.size_mid * pre.n_neurons)
                cost.state_bytes += conn.size_mid * pre.n_neurons * itemsize
                _transform_cost(cost, conn.transform, conn.size_mid, size_out, itemsize)
    else:
        if isinstance(pre, nengo.Node) and conn.function is not None:
            cost.add("python", 1)
        _transform_cost(cost, conn.transform, conn.size_mid, size_out, itemsize)
    order = _filter_order(conn.synapse)
    if order:
        cost.add("filter", 1)
        cost.add("filter_state", order * size_out)
        cost.state_bytes += 2 * order * size_out * itemsize
    if conn.learning_rule_type is not None:
        # The rule's delta is an outer product of the error and the pre activities.
        n_pre = pre.n_neurons if isinstance(pre, nengo.Ensemble) else conn.size_in
        rules = conn.learning_rule_type
        n_rules = len(rules) if isinstance(rules, (list, tuple, dict)) else 1
        cost.add("dense", n_rules * n_pre * size_out)
        cost.add("connection", n_rules)


def _post_side_cost(cost, conn):
    """The copy of the connection's output into the post object's input."""
    cost.add("element", conn.size_out)


def _probe_cost(cost, probe, itemsize):
    size = probe.size_in
    cost.add("probe", size)
    order = _filter_order(probe.synapse)
    if order:
        cost.add("filter", 1)
        cost.add("filter_state", order * size)
        cost.state_bytes += 2 * order * size * itemsize


def _owner(obj):
    """The ensemble or node whose component runs a probe's or connection end's ops."""
    if isinstance(obj, (nengo.Ensemble, nengo.Node)):
        return obj
    if isinstance(obj, Neurons):
        return obj.ensemble
    if isinstance(obj, nengo.Connection):
        return _owner(obj.pre_obj)
    if isinstance(obj, LearningRule):
        return _owner(obj.connection.pre_obj)
    return endpoint_object(obj)


def object_costs(network):
    """The `ObjectCost` of every ensemble and node of ``network`` (subnetworks too).

    Parameters
    ----------
    network : nengo.Network
        The network; it is only read.

    Returns
    -------
    dict
        Ensemble or Node -> `ObjectCost`, in ``all_ensembles + all_nodes`` order.
    """
    itemsize = np.dtype(nengo.rc.float_dtype).itemsize
    costs = {}
    for ens in network.all_ensembles:
        costs[ens] = ObjectCost()
        _ensemble_cost(costs[ens], ens, itemsize)
    for node in network.all_nodes:
        costs[node] = ObjectCost()
        _node_cost(costs[node], node, itemsize)
    for conn in network.all_connections:
        _pre_side_cost(costs[_owner(conn.pre_obj)], conn, itemsize)
        _post_side_cost(costs[endpoint_object(conn.post_obj)], conn)
    for probe in network.all_probes:
        _probe_cost(costs[_owner(probe.obj)], probe, itemsize)
    return costs


#: The features that grow with an ensemble's neurons, which its tiles take over.
PER_NEURON_FEATURES = ("dense", "dense_row", "matrix")


def split_tiled(per_object, tiles):
    """``per_object`` with each tiled ensemble's per-neuron work moved to its tiles.

    Parameters
    ----------
    per_object : dict
        Ensemble or Node -> `ObjectCost`, from `object_costs`.
    tiles : dict
        Tiled ensemble -> list of `nengo_mpi.partition.tiles.Tile`.

    Returns
    -------
    dict
        The same, plus one `ObjectCost` per tile: its share (by neurons) of the
        ensemble's neuron steps, encoders and decoders. The ensemble keeps the rest
        (its input, the sums of the tiles' parts, synapses, probes).
    """
    if not tiles:
        return per_object
    out = dict(per_object)
    for ens, ens_tiles in tiles.items():
        whole = per_object[ens]
        rest = ObjectCost()
        rest.units = dict(whole.units)
        for f in PER_NEURON_FEATURES:
            rest.units[f] = 0.0
        n_decoded = whole.units["matrix"] - 1  # products besides the encoders
        rest.add("element", n_decoded * len(ens_tiles) * ens.dimensions)  # the sums
        rest.state_bytes = whole.state_bytes // 4
        out[ens] = rest
        for tile in ens_tiles:
            share = tile.n_neurons / ens.n_neurons
            part = ObjectCost()
            for f in PER_NEURON_FEATURES:
                part.units[f] = whole.units[f] * share
            part.units["matrix"] = whole.units["matrix"]  # every product, per tile
            part.neurons = {name: n * share for name, n in whole.neurons.items()}
            part.state_bytes = int(whole.state_bytes * share * 3 / 4)
            out[tile] = part
    return out


def connection_bytes(conn):
    """Bytes a connection sends per step when its two ends are on different ranks."""
    return conn.size_out * np.dtype(nengo.rc.float_dtype).itemsize
