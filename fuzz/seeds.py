"""The three files every mutation starts from: a small model file that uses most of the
engine's kinds of operator, a checkpoint of it, and a probe file it wrote; plus a model
file with Python parts (a Node function), which an untrusted reader must refuse."""

import os

import nengo
import numpy as np

import nengo_mpi

#: Steps each fuzzed run takes: enough to run every operator, cheap enough for 10,000.
RUN_STEPS = 10
DT = 0.001


def native_network():
    """Two components' worth of native operators: LIF, adaptive and Poisson neurons,
    noise (random generator states), a time table input, a white signal, PES learning,
    a sparse transform, filters, and probes with and without ``sample_every``."""
    with nengo.Network(seed=5) as net:
        stim = nengo.Node(nengo.processes.PresentInput([[0.5, -0.3], [-0.4, 0.2]], 0.004),
                          label="stim")
        noise = nengo.Node(nengo.processes.WhiteSignal(0.1, high=20, seed=2), label="ws")
        a = nengo.Ensemble(24, 2, label="a",
                           noise=nengo.processes.WhiteNoise(nengo.dists.Gaussian(0, 0.01)))
        b = nengo.Ensemble(16, 2, neuron_type=nengo.AdaptiveLIF(), label="b")
        c = nengo.Ensemble(12, 1, neuron_type=nengo.PoissonSpiking(nengo.LIFRate()),
                           label="c")
        nengo.Connection(stim, a)
        nengo.Connection(noise, b[0], synapse=nengo.Alpha(0.005))
        conn = nengo.Connection(a, b, synapse=0.005,
                                learning_rule_type=nengo.PES(learning_rate=1e-4))
        nengo.Connection(b, conn.learning_rule, transform=-1)
        nengo.Connection(b[1], c, synapse=nengo.Lowpass(0.01))
        nengo.Connection(a.neurons, c.neurons, synapse=0.002, transform=nengo.Sparse(
            (12, 24), indices=np.array([[i, 2 * i] for i in range(12)]),
            init=np.full(12, 0.01)))
        nengo.Probe(a, synapse=0.01, label="a")
        nengo.Probe(b.neurons, label="b_spikes")
        nengo.Probe(c, synapse=0.005, sample_every=0.003, label="c")
    return net


def python_network():
    """A Node function: the file carries Python, so it is refused unless trusted."""
    with nengo.Network(seed=6) as net:
        stim = nengo.Node(np.sin, label="sine")
        a = nengo.Ensemble(10, 1, label="a")
        nengo.Connection(stim, a)
        nengo.Probe(a, synapse=0.01, label="a")
    return net


def make_seeds(directory):
    """Write the seed files into ``directory``; returns ``{kind: path}`` for kinds
    ``model``, ``checkpoint``, ``probes`` and ``python_model``."""
    os.makedirs(directory, exist_ok=True)
    paths = {kind: os.path.join(directory, f"{kind}.h5") for kind in
             ("model", "checkpoint", "probes", "python_model")}
    nengo_mpi.save(native_network(), paths["model"], dt=DT, seed=11,
                   partitioner=nengo_mpi.Partitioner(2))
    nengo_mpi.save(python_network(), paths["python_model"], dt=DT, seed=12)
    nengo_mpi.run_file(paths["model"], RUN_STEPS * DT, out=paths["probes"],
                       checkpoint=paths["checkpoint"])
    return paths
