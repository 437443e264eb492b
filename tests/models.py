"""Small seeded models shared by the tests."""

import numpy as np
import nengo


def sine_squared(seed=0):
    """The seed example: sine Node -> 100 LIF -> 100 LIF computing the square."""
    with nengo.Network(seed=seed) as net:
        sine = nengo.Node(lambda t: np.sin(2 * np.pi * t), label="sine")
        a = nengo.Ensemble(100, 1, label="a")
        b = nengo.Ensemble(100, 1, label="b")
        nengo.Connection(sine, a)
        nengo.Connection(a, b, function=np.square)
        net.probe_list = [nengo.Probe(sine, synapse=0.01), nengo.Probe(b, synapse=0.01)]
    return net


class PythonLIF(nengo.LIF):
    """A user's own neuron type: it runs through the Python fallback."""


def chain(seed=1, n_ens=5):
    """A chain of ensembles with mixed synapses, a recurrent integrator, a spike probe,
    adaptive and Poisson-spiking neurons, neuron noise, an ensemble of a user's neuron
    type (Python fallback) and a process-driven input: enough kinds of operators, random
    streams included, to exercise every component split."""
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(nengo.processes.WhiteSignal(1.0, high=5, seed=3), label="stim")
        ens = [nengo.Ensemble(60, 2, label=f"e{i}") for i in range(n_ens)]
        ens[1].noise = nengo.processes.WhiteNoise(nengo.dists.Gaussian(0, 0.05), seed=7)
        ens.append(nengo.Ensemble(40, 2, neuron_type=nengo.AdaptiveLIF(), label="alif"))
        ens.append(nengo.Ensemble(40, 2, neuron_type=nengo.PoissonSpiking(nengo.LIFRate()),
                                  label="poisson"))
        ens.append(nengo.Ensemble(40, 2, neuron_type=PythonLIF(), label="python"))
        nengo.Connection(stim, ens[0][0])
        for pre, post, syn in zip(ens[:-1], ens[1:], [0.005, nengo.Alpha(0.01), 0.02] * 3):
            nengo.Connection(pre, post, synapse=syn, function=lambda x: x[::-1])
        nengo.Connection(ens[2], ens[2], synapse=0.1, transform=0.9)
        nengo.Connection(ens[1].neurons, ens[3].neurons,
                         transform=np.full((60, 60), -1e-4), synapse=0.005)
        net.probe_list = [
            nengo.Probe(ens[-1], synapse=0.02),
            nengo.Probe(ens[2].neurons, "output"),
            nengo.Probe(ens[4], "decoded_output", synapse=0.01, sample_every=0.003),
        ]
    return net


def ensemble_array_split(n_ensembles=6, seed=4):
    """An EnsembleArray whose ensembles go to component 0 and whose passthrough nodes (and
    stimulus) go to component 1: every ensemble's decoded value crosses in the step
    that computes it. Returns (net, assignments, probe of the array's output)."""
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(np.linspace(-0.5, 0.5, n_ensembles))
        ea = nengo.networks.EnsembleArray(20, n_ensembles)
        nengo.Connection(stim, ea.input)
        nengo.Connection(ea.output, ea.input, synapse=0.05)
        probe = nengo.Probe(ea.output, synapse=0.01)
    assignments = {obj: 0 for obj in ea.all_ensembles}
    assignments.update({stim: 1, ea.input: 1, ea.output: 1})
    return net, assignments, probe


def run_probes(sim, net, seconds):
    """Run ``sim`` and return its probe data, one array per probe in ``net.probe_list``."""
    sim.run(seconds)
    return [np.array(sim.data[p]) for p in net.probe_list]


def varied_network(seed=3):
    """Decoded connections of many kinds: functions, given eval points, a weight solver,
    a solver that draws random numbers, a transform sampled after the solve (from the
    same generator), plus connections that are not solved (neurons, Direct mode)."""
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node([0.3, -0.2])
        a = nengo.Ensemble(60, 2)
        b = nengo.Ensemble(50, 2)
        c = nengo.Ensemble(40, 1, neuron_type=nengo.LIFRate())
        d = nengo.Ensemble(30, 1, neuron_type=nengo.Direct())
        nengo.Connection(stim, a)
        nengo.Connection(a, b, function=lambda x: x ** 2)
        nengo.Connection(a, c, function=lambda x: x[0] * x[1],
                         eval_points=np.random.RandomState(0).uniform(-1, 1, (80, 2)))
        nengo.Connection(a, b, solver=nengo.solvers.LstsqL2(weights=True))
        nengo.Connection(b, c, solver=nengo.solvers.LstsqNoise(), transform=[[0.5, 0.5]])
        nengo.Connection(b, c, transform=np.random.RandomState(1).uniform(-1, 1, (1, 2)))
        nengo.Connection(c, a, transform=nengo.transforms.Dense(
            (2, 1), init=nengo.dists.Gaussian(0, 1)))  # sampled after the solve
        nengo.Connection(a.neurons, c, transform=np.ones((1, 60)) * 1e-3)
        nengo.Connection(c, d)
        nengo.Connection(d, b[0])
        with nengo.Network(seed=7):  # a subnetwork: built before its parent's connections
            e = nengo.Ensemble(20, 1)
            nengo.Connection(e, e, synapse=0.05)
        nengo.Connection(c, e)
    return net


def integrator_array(n_ensembles=6, seed=1):
    """An EnsembleArray fed back on itself, with its decoded output and one ensemble's
    spikes probed: ``(network, [output probe, spike probe])``."""
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(np.linspace(-0.8, 0.8, n_ensembles))
        ea = nengo.networks.EnsembleArray(20, n_ensembles)
        nengo.Connection(stim, ea.input, synapse=None)
        nengo.Connection(ea.output, ea.input, transform=0.5, synapse=0.05)
        probe = nengo.Probe(ea.output, synapse=0.01)
        spikes = nengo.Probe(ea.ea_ensembles[0].neurons)
    return net, [probe, spikes]


def tiled_recurrent(n_neurons=2500, dimensions=3, seed=5):
    """One ensemble above the default tile size (so split into 3 tiles), recurrent, fed
    by a Node and read through a connection without a synapse."""
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(np.linspace(0.1, 0.3, dimensions))
        ens = nengo.Ensemble(n_neurons, dimensions)
        post = nengo.Node(size_in=dimensions)
        nengo.Connection(stim, ens, transform=0.1, synapse=0.1)
        nengo.Connection(ens, ens, synapse=0.1)
        nengo.Connection(ens, post, synapse=None)
        net.probe_list = [nengo.Probe(ens, synapse=0.01), nengo.Probe(post, synapse=0.01)]
    return net


def grid(rows=3, cols=4, neurons=30, seed=6):
    """A grid of ensembles, each feeding its right and lower neighbour (the benchmarks'
    million-neuron grid in small), with a sine input and two probes."""
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(lambda t: np.sin(8 * t), label="stim")
        ens = [[nengo.Ensemble(neurons, 1, label=f"e{r}_{c}") for c in range(cols)]
               for r in range(rows)]
        nengo.Connection(stim, ens[0][0])
        for r in range(rows):
            for c in range(cols):
                if c + 1 < cols:
                    nengo.Connection(ens[r][c], ens[r][c + 1], synapse=0.005)
                if r + 1 < rows:
                    nengo.Connection(ens[r][c], ens[r + 1][c], synapse=0.005,
                                     function=lambda x: -x)
        net.probe_list = [nengo.Probe(ens[-1][-1], synapse=0.01),
                          nengo.Probe(ens[1][1].neurons)]
    return net


def spa_question(dimensions=16, seed=0):
    """nengo_spa's question answering with memory and control (its documentation's
    "question_control" model) at ``dimensions``: its passthrough nodes make values cross
    components within a step wherever it is split. Probes in ``net.probe_list``."""
    import nengo_spa as spa  # pylint: disable=import-outside-toplevel

    # A seeded vocabulary: an unseeded one differs between processes.
    vocab = spa.Vocabulary(dimensions, pointer_gen=np.random.RandomState(seed))
    vocab.populate("STATEMENT; QUESTION; RED; BLUE; CIRCLE; SQUARE")

    def visual_input(t):
        if t < 0.1:
            return "STATEMENT+RED*CIRCLE"
        if t < 0.2:
            return "STATEMENT+BLUE*SQUARE"
        return "QUESTION+~CIRCLE"

    with spa.Network(seed=seed) as net:
        visual = spa.State(vocab)
        motor = spa.State(vocab)
        memory = spa.State(vocab, feedback=1.0, feedback_synapse=0.1)
        stim = spa.Transcode(visual_input, output_vocab=vocab)
        stim >> visual
        with spa.ActionSelection():
            spa.ifmax(spa.dot(visual, spa.sym.STATEMENT), visual >> memory)
            spa.ifmax(spa.dot(visual, spa.sym.QUESTION), memory * ~visual >> motor)
        net.probe_list = [nengo.Probe(motor.output, synapse=0.03),
                          nengo.Probe(memory.output, synapse=0.03)]
    return net
