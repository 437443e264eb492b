"""Measure the cost model's coefficients on this machine (``python -m nengo_mpi
calibrate``).

Two kinds of measurement, both in one process with one component:

1. **Neuron steps.** One network holds a large ensemble of every native neuron type; the
   engine's per-operator profile (`nengo_mpi.Simulator.profile_ops`) gives each type's
   seconds per step, divided by its neurons.
2. **Everything else.** A set of small networks, each stressing some features of
   `nengo_mpi.partition.cost_model.FEATURES` more than the others (many small ensembles,
   a few wide ones, Python Nodes, probes, connections without synapses...). Each runs
   unprofiled (the profile's clock reads inflate small operators); its compute time per
   step, less its predicted neuron steps, is fitted by non-negative least squares to
   the sum of its objects' features, plus a constant per component.

The communication costs (MPI's CPU per message, latency, bandwidth) need two ranks; they
are kept from the shipped defaults unless ``--network`` is given, which measures them
with ``mpirun -np 2`` (see `nengo_mpi.partition.network_probe`).
"""

import json
import os
import platform
import warnings

import nengo
import numpy as np
from scipy.optimize import nnls

from . import cost_model
from .cost_model import FEATURES, Costs, ObjectCost, object_costs, shipped_costs

def _neuron_network(n_neurons):
    """One ensemble of every nengo neuron type the engine runs natively (the kernel
    registry's; a rates-to-spikes type wraps a LIFRate). Types other packages register
    are left out: their constructors may need arguments, and the shipped costs are
    nengo's."""
    # pylint: disable=import-outside-toplevel
    from nengo.neurons import RatesToSpikesNeuronType

    from ..kernels import neuron_kernels

    types = []
    for kernel in neuron_kernels():
        cls = kernel.neuron_type
        if cls.__module__ != "nengo.neurons":
            continue
        types.append(cls(nengo.LIFRate()) if issubclass(cls, RatesToSpikesNeuronType)
                     else cls())
    with nengo.Network(seed=0) as net:
        for neuron_type in types:
            nengo.Ensemble(n_neurons, 1, neuron_type=neuron_type)
    return net


def _chain(n_ensembles, n_neurons, dims, synapse=0.005, probes=0):
    """Ensembles in a ring (a line without synapses, which may not form a loop), each
    feeding the next (many small operators)."""
    with nengo.Network(seed=1) as net:
        ens = [nengo.Ensemble(n_neurons, dims) for _ in range(n_ensembles)]
        ring = ens[1:] + (ens[:1] if synapse is not None else [])
        for a, b in zip(ens, ring):
            nengo.Connection(a, b, synapse=synapse)
        for e in ens[:probes]:
            nengo.Probe(e, synapse=0.01)
    return net


def _wide(n_ensembles, n_neurons, dims, synapse=0.005):
    """A few large, high-dimensional ensembles (matrix elements dominate)."""
    with nengo.Network(seed=2) as net:
        ens = [
            nengo.Ensemble(n_neurons, dims, eval_points=np.zeros((16, dims)) + 0.1)
            for _ in range(n_ensembles)
        ]
        for a, b in zip(ens, ens[1:] + ens[:1]):
            nengo.Connection(a, b, synapse=synapse)
    return net


def _python_nodes(n_nodes, dims):
    """Python function Nodes feeding passthrough Nodes (Python calls dominate)."""
    with nengo.Network(seed=3) as net:
        sink = nengo.Node(size_in=dims)
        for k in range(n_nodes):
            src = nengo.Node(lambda t, k=k: np.full(dims, np.sin(t + k)))
            nengo.Connection(src, sink, synapse=None)
    return net


def _probed_nodes(n_nodes, dims, synapse):
    """Constant Nodes through passthroughs into probes (probe samples, filters)."""
    with nengo.Network(seed=4) as net:
        for k in range(n_nodes):
            src = nengo.Node(np.full(dims, 0.1 * k))
            mid = nengo.Node(size_in=dims)
            nengo.Connection(src, mid, synapse=synapse)
            nengo.Probe(mid, synapse=synapse)
    return net


def _filters(n_conns, dims, synapse):
    """Many Node-to-Node connections through filters (filter states, fixed costs)."""
    with nengo.Network(seed=5) as net:
        src = nengo.Node(np.full(dims, 0.5))
        sink = nengo.Node(size_in=dims)
        for _ in range(n_conns):
            nengo.Connection(src, sink, synapse=synapse)
    return net


def _sparse(n_conns, size, density):
    """Sparse transforms between passthrough Nodes."""
    rng = np.random.RandomState(6)
    with nengo.Network(seed=6) as net:
        src = nengo.Node(np.linspace(-1, 1, size))
        sink = nengo.Node(size_in=size)
        for _ in range(n_conns):
            nnz = max(1, int(density * size * size))
            idx = np.stack(
                [rng.randint(0, size, nnz), rng.randint(0, size, nnz)], axis=1
            )
            nengo.Connection(
                src,
                sink,
                transform=nengo.transforms.Sparse(
                    (size, size), indices=idx, init=rng.randn(nnz)
                ),
            )
    return net


def _random_graph(n_ensembles, n_neurons, dims, fan_out):
    """Small ensembles with random connections (per-object costs dominate)."""
    rng = np.random.RandomState(7)
    with nengo.Network(seed=7) as net:
        ens = [nengo.Ensemble(n_neurons, dims) for _ in range(n_ensembles)]
        for i, pre in enumerate(ens):
            others = np.delete(np.arange(n_ensembles), i)
            for j in rng.choice(others, size=fan_out, replace=False):
                nengo.Connection(pre, ens[j], transform=0.5, synapse=0.01)
    return net


def _arrays(n_neurons, n_ensembles, ens_dimensions):
    """Two EnsembleArrays through passthrough Nodes, as nengo_spa's States are built."""
    with nengo.Network(seed=8) as net:
        dims = n_ensembles * ens_dimensions
        a = nengo.networks.EnsembleArray(n_neurons, n_ensembles, ens_dimensions)
        b = nengo.networks.EnsembleArray(n_neurons, n_ensembles, ens_dimensions)
        nengo.Connection(a.output, b.input, synapse=0.01)
        nengo.Connection(b.output, a.input, transform=np.eye(dims)[::-1], synapse=0.01)
        nengo.Probe(b.output, synapse=0.01)
    return net


def _inhibited(n_neurons, n_ensembles):
    """1-D ensembles whose neurons a Node inhibits (as nengo_spa's basal ganglia and
    thalamus do): long matrices of one column, and one-element encoder rows."""
    with nengo.Network(seed=9) as net:
        gate = nengo.Node(lambda t: 0.1)
        arr = nengo.networks.EnsembleArray(n_neurons, n_ensembles)
        for ens in arr.ensembles:
            nengo.Connection(
                gate, ens.neurons, transform=-2 * np.ones((n_neurons, 1)), synapse=None
            )
    return net


#: (name, network factory); sizes keep each build to seconds.
NETWORKS = (
    ("chain 200 x 20 LIF, 1-D", lambda: _chain(200, 20, 1)),
    ("chain 100 x 50 LIF, 2-D, 50 probes", lambda: _chain(100, 50, 2, probes=50)),
    ("chain 100 x 50 LIF, 4-D, no synapse", lambda: _chain(100, 50, 4, synapse=None)),
    ("chain 50 x 100 LIF, 16-D", lambda: _chain(50, 100, 16)),
    ("wide 4 x 1000 LIF, 64-D", lambda: _wide(4, 1000, 64)),
    ("wide 2 x 2000 LIF, 128-D", lambda: _wide(2, 2000, 128)),
    ("64 Python Nodes", lambda: _python_nodes(64, 2)),
    ("16 Python Nodes, 64-D", lambda: _python_nodes(16, 64)),
    ("200 probed Nodes, 4-D, filtered", lambda: _probed_nodes(200, 4, 0.01)),
    ("100 probed Nodes, 32-D, unfiltered", lambda: _probed_nodes(100, 32, None)),
    ("400 filters, 1-D", lambda: _filters(400, 1, 0.01)),
    ("100 filters, 64-D, Alpha", lambda: _filters(100, 64, nengo.Alpha(0.01))),
    ("20 sparse 256 x 256, 5%", lambda: _sparse(20, 256, 0.05)),
    ("random graph 96 x 50 LIF, 2-D", lambda: _random_graph(96, 50, 2, 4)),
    ("random graph 48 x 200 LIF, 8-D", lambda: _random_graph(48, 200, 8, 2)),
    # As large as real models, whose operators' data no longer sit in the caches:
    # every synapse and small product then costs several times what it does in the
    # small networks above.
    ("random graph 384 x 60 LIF, 2-D", lambda: _random_graph(384, 60, 2, 4)),
    ("2 EnsembleArrays 64 x 50 LIF, 1-D", lambda: _arrays(50, 64, 1)),
    ("2 EnsembleArrays 16 x 100 LIF, 4-D", lambda: _arrays(100, 16, 4)),
    ("inhibited EnsembleArray 64 x 100 LIF", lambda: _inhibited(100, 64)),
    ("inhibited EnsembleArray 16 x 400 LIF", lambda: _inhibited(400, 16)),
)


def _run(net, steps, repeats, profile=False):
    """Compute seconds per step, and per engine op kind when ``profile``: the fastest
    of ``repeats`` runs of ``steps`` steps each, in one Simulator."""
    # Imported here: the Simulator imports the partition package.
    from ..simulator import Simulator  # pylint: disable=import-outside-toplevel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = Simulator(net, progress_bar=False)
    with sim:
        sim.run_steps(min(steps, 100))  # warm up caches and branch predictors
        best = float("inf")
        for _ in range(repeats):
            before = sim.timing()[0]["compute_s"]
            sim.run_steps(steps)
            best = min(best, (sim.timing()[0]["compute_s"] - before) / steps)
        ops = None
        if profile:
            sim.profile_ops()
            ops = {}
            for _ in range(repeats):
                before = {
                    k: v["seconds"] for k, v in sim.timing()[0].get("ops", {}).items()
                }
                sim.run_steps(steps)
                for k, v in sim.timing()[0]["ops"].items():
                    s = (v["seconds"] - before.get(k, 0.0)) / steps
                    ops[k] = min(ops.get(k, float("inf")), s)
    return best, ops


def measure_neurons(n_neurons=4000, steps=300, repeats=3, log=print):
    """Seconds per neuron-step of each neuron type the engine runs natively."""
    net = _neuron_network(n_neurons)
    counted = ObjectCost()
    for ens in net.all_ensembles:
        counted.add_neurons(ens.neuron_type, ens.n_neurons)
    _, ops = _run(net, steps, repeats, profile=True)
    per_neuron = {}
    for name, n in sorted(counted.neurons.items()):
        if name in ops:
            per_neuron[name] = ops[name] / n
            log(f"  {name}: {per_neuron[name] * 1e9:.2f} ns per neuron-step")
    # Types not measured (subclasses, Python-fallback types) cost at least the slowest.
    per_neuron["default"] = max(per_neuron.values())
    return per_neuron


def fit_features(neuron, steps=300, repeats=3, log=print):
    """Fit the per-feature costs and the per-component constant to `NETWORKS`.

    Each network's compute time per step, less its predicted neuron steps, is fitted by
    non-negative least squares to the sum of its objects' features plus a constant,
    with errors relative to each network's time (small networks count as much as
    large ones). Fitting each engine op kind to its own features was tried and fitted
    worse: the engine merges operators of different objects (and of different features)
    into one op, so an op kind's time does not follow the features one would assign it.

    Returns
    -------
    per_feature : dict
    component : float
    rows : list of (name, measured s/step, predicted s/step)
    """
    base = Costs(neuron=neuron, per_feature=dict.fromkeys(FEATURES, 0.0))
    rows, targets, names = [], [], []
    for name, make in NETWORKS:
        net = make()
        units = np.zeros(len(FEATURES) + 1)
        neuron_s = 0.0
        for cost in object_costs(net).values():
            units[:-1] += [cost.units[f] for f in FEATURES]
            neuron_s += cost.seconds(base)
        units[-1] = 1.0  # the component constant
        measured, _ = _run(net, steps, repeats)
        log(f"  {name}: {measured * 1e6:.1f} us per step")
        rows.append(units)
        targets.append(max(measured - neuron_s, 0.0))
        names.append((name, measured, neuron_s))
    a = np.array(rows)
    b = np.array(targets)
    weight = 1.0 / np.maximum(b, 1e-7)
    coef, _ = nnls(a * weight[:, None], b * weight)
    per_feature = {f: float(c) for f, c in zip(FEATURES, coef[:-1])}
    fitted = a @ coef
    report = [
        (name, measured, neuron_s + fit)
        for (name, measured, neuron_s), fit in zip(names, fitted)
    ]
    return per_feature, float(coef[-1]), report


def calibrate(steps=300, repeats=3, network=False, log=print):
    """Measure this machine's costs; returns (Costs, report rows)."""
    log("neuron types:")
    neuron = measure_neurons(steps=steps, repeats=repeats, log=log)
    log("networks:")
    per_feature, component, report = fit_features(neuron, steps, repeats, log=log)
    defaults = shipped_costs()
    comm = {
        "message": defaults.message,
        "channel_end": defaults.channel_end,
        "latency": defaults.latency,
        "bandwidth": defaults.bandwidth,
    }
    if network:
        from .network_probe import probe_network  # pylint: disable=import-outside-toplevel

        found = probe_network()
        comm.update({k: found[k] for k in ("latency", "bandwidth", "message")})
    costs = Costs(
        neuron=neuron,
        per_feature=per_feature,
        component=component,
        source="calibrated",
        machine={
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "nengo": nengo.__version__,
            "steps": steps,
            "repeats": repeats,
            "network_measured": bool(network),
        },
        **comm,
    )
    return costs, report


def write_costs(costs, path):
    """Write ``costs`` to ``path`` (its folder is made), atomically."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    partial = path + ".partial"
    with open(partial, "w", encoding="utf-8") as f:
        json.dump(costs.to_dict(), f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(partial, path)
    cost_model.forget_loaded()  # this process reads the new file from now on


def main(argv):
    """``python -m nengo_mpi calibrate [--network] [--out PATH]``; returns the exit
    code."""
    import argparse  # pylint: disable=import-outside-toplevel

    from .cost_model import calibration_path  # pylint: disable=import-outside-toplevel

    parser = argparse.ArgumentParser(
        prog="python -m nengo_mpi calibrate",
        description="Measure the engine's costs on this machine (about a minute) and "
        "store them where the partitioner and nengo_mpi.plan read them.",
    )
    parser.add_argument("--out", default=None,
                        help=f"where to write them (default: {calibration_path()})")
    parser.add_argument("--network", action="store_true",
                        help="also measure MPI's message costs with mpirun -np 2")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    costs, report = calibrate(args.steps, args.repeats, args.network)
    print("fit (measured -> predicted us per step):")
    for name, measured, predicted in report:
        print(f"  {name}: {measured * 1e6:.1f} -> {predicted * 1e6:.1f} "
              f"({100 * (predicted / measured - 1):+.0f}%)")
    path = args.out or calibration_path()
    write_costs(costs, path)
    print(f"wrote {path}")
    return 0
