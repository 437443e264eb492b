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
    """Two components' worth of native operators: most of the engine's kernels (LIF,
    adaptive, Poisson, stochastic, Izhikevich, regular-spiking and rate neurons; noise
    and filtered noise with random generator states; a time table input and a white
    signal; PES, BCM, Oja, Voja and RLS learning; sparse and convolution transforms;
    linear and triangle filters) and probes with and without ``sample_every``."""
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
        _more_kernels(a, b)
    return net


def _more_kernels(a, b):
    """The rest of the kernels, small: each adds its kinds of engine call to the file."""
    d = nengo.Ensemble(8, 1, neuron_type=nengo.Izhikevich(), label="d")
    e = nengo.Ensemble(8, 1, neuron_type=nengo.RegularSpiking(nengo.Tanh()), label="e")
    g = nengo.Ensemble(16, 1, neuron_type=nengo.StochasticSpiking(nengo.Sigmoid()),
                       label="g")
    h = nengo.Ensemble(8, 1, neuron_type=nengo.SpikingRectifiedLinear(), label="h")
    filtered = nengo.Node(nengo.processes.FilteredNoise(
        synapse=nengo.Lowpass(0.01), dist=nengo.dists.Gaussian(0, 0.1)), size_out=1,
        label="filtered")
    nengo.Connection(filtered, d, synapse=nengo.Triangle(0.004))
    triangle_noise = nengo.Node(nengo.processes.FilteredNoise(
        synapse=nengo.Triangle(0.005), dist=nengo.dists.Gaussian(0, 0.1)), size_out=1,
        label="triangle_noise")
    nengo.Connection(triangle_noise, e)
    nengo.Connection(a.neurons, d.neurons, transform=np.full((8, 24), 1e-3),
                     learning_rule_type=nengo.BCM(learning_rate=1e-9))
    nengo.Connection(a.neurons, e.neurons, transform=np.full((8, 24), 1e-3),
                     learning_rule_type=nengo.Oja(learning_rate=1e-9))
    conn = nengo.Connection(b[0], g, learning_rule_type=nengo.Voja(learning_rate=1e-3))
    nengo.Connection(b[1], conn.learning_rule, synapse=None)
    rls = nengo.Connection(d, h, learning_rule_type=nengo.RLS(learning_rate=1e-4))
    nengo.Connection(h, rls.learning_rule, transform=-1)
    nengo.Connection(g.neurons, h.neurons, synapse=0.003, transform=nengo.Convolution(
        2, (4, 4, 1), kernel_size=(3, 3), strides=(1, 1), padding="valid",
        init=nengo.dists.Uniform(-0.01, 0.01)))
    k = nengo.Ensemble(8, 1, neuron_type=nengo.AdaptiveLIFRate(), label="k")
    m = nengo.Ensemble(18, 1, neuron_type=nengo.RectifiedLinear(), label="m")
    nengo.Connection(d, k, synapse=nengo.Triangle(0.002))
    nengo.Connection(k.neurons, m.neurons, synapse=0.002,
                     transform=nengo.ConvolutionTranspose(
                         2, (2, 2, 2), kernel_size=(2, 2), output_shape=(3, 3, 2),
                         init=nengo.dists.Uniform(-0.01, 0.01)))
    nengo.Probe(d, synapse=0.01, label="d")
    nengo.Probe(h.neurons, label="h_spikes")
    nengo.Probe(m, synapse=0.005, label="m")


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
