"""Run (with tests/kernel_plugin, or a copy, on PYTHONPATH) an ensemble of example_kernels.TracedLIF on nengo_mpi and on nengo; print JSON:
the engine's kernel names and the largest difference between the two."""

import json
import warnings

import numpy as np
import nengo

import nengo_mpi
from example_kernels import TracedLIF

with nengo.Network(seed=2) as net:
    stim = nengo.Node(lambda t: np.sin(6 * t))
    ens = nengo.Ensemble(40, 1, neuron_type=TracedLIF(tag="mine", min_voltage=-0.5))
    nengo.Connection(stim, ens)
    probes = [nengo.Probe(ens, synapse=0.01), nengo.Probe(ens.neurons, "voltage")]

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    with nengo_mpi.Simulator(net, progress_bar=False) as sim:
        sim.run_steps(200)
        engine = sim._runtime.host.engine  # pylint: disable=protected-access
        kinds = sorted({engine.op_kind(i) for i in range(engine.n_ops)})
        ours = [sim.data[p] for p in probes]
with nengo.Simulator(net, progress_bar=False) as ref:
    ref.run_steps(200)
    theirs = [ref.data[p] for p in probes]
print(json.dumps({
    "kinds": kinds,
    "max_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(ours, theirs)),
    "fallback_warnings": [str(w.message) for w in caught
                          if type(w.message).__name__ == "PythonFallbackWarning"],
}))
