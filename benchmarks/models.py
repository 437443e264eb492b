"""The benchmark models of issue 4, each a function returning a fresh nengo.Network.

Every model is seeded, so each backend builds the same decoders and the same random
graph. Inputs are constant Nodes (no Python call per step) unless the model is the seed
example, whose sine Node is part of what a user's script looks like.
"""

import numpy as np
import nengo


def seed_model(seed=0):
    """a) The seed example: sine Node -> 100 LIF -> 100 LIF computing x**2, one probe."""
    with nengo.Network(seed=seed) as net:
        sine = nengo.Node(lambda t: np.sin(2 * np.pi * t))
        a = nengo.Ensemble(100, 1)
        b = nengo.Ensemble(100, 1)
        nengo.Connection(sine, a)
        nengo.Connection(a, b, function=np.square)
        nengo.Probe(b, synapse=0.01)
    return net


def circular_convolution(dimensions, seed=0):
    """b) ``CircularConvolution(200, D)`` binding two constant random unit vectors."""
    rng = np.random.RandomState(seed)
    with nengo.Network(seed=seed) as net:
        vec_a, vec_b = (v / np.linalg.norm(v) for v in rng.randn(2, dimensions))
        a = nengo.Node(vec_a)
        b = nengo.Node(vec_b)
        cconv = nengo.networks.CircularConvolution(200, dimensions)
        nengo.Connection(a, cconv.input_a)
        nengo.Connection(b, cconv.input_b)
        nengo.Probe(cconv.output, synapse=0.03)
    return net


def integrator_array(n_ensembles=512, n_neurons=50, tau=0.1, seed=0):
    """c) ``EnsembleArray(50, 512)`` where every ensemble integrates its input."""
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(np.linspace(-1, 1, n_ensembles))
        ea = nengo.networks.EnsembleArray(n_neurons, n_ensembles)
        nengo.Connection(stim, ea.input, transform=tau, synapse=tau)
        nengo.Connection(ea.output, ea.input, synapse=tau)
        nengo.Probe(ea.output, synapse=0.01)
    return net


def big_recurrent(n_neurons=10000, dimensions=32, seed=0):
    """d) One ``Ensemble(10000, 32)`` with a recurrent connection (an integrator)."""
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(np.full(dimensions, 0.1))
        ens = nengo.Ensemble(n_neurons, dimensions)
        nengo.Connection(stim, ens, transform=0.1, synapse=0.1)
        nengo.Connection(ens, ens, synapse=0.1)
        nengo.Probe(ens, synapse=0.01)
    return net


def _random_connections(ensembles, fan_out, rng):
    """``fan_out`` connections from each ensemble to random others; 8 of them probed."""
    n_ensembles = len(ensembles)
    for i, pre in enumerate(ensembles):
        others = np.delete(np.arange(n_ensembles), i)
        for j in rng.choice(others, size=fan_out, replace=False):
            nengo.Connection(pre, ensembles[j], transform=0.25, synapse=0.01)
    for ens in ensembles[:: n_ensembles // 8]:
        nengo.Probe(ens, synapse=0.01)


def random_graph(n_ensembles=256, n_neurons=100, dimensions=2, fan_out=4, seed=0):
    """e) 256 ensembles of 100 LIF, 2-D, each with 4 connections to random others."""
    rng = np.random.RandomState(seed)
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(np.full(dimensions, 0.5))
        ensembles = [nengo.Ensemble(n_neurons, dimensions) for _ in range(n_ensembles)]
        nengo.Connection(stim, ensembles[0])
        _random_connections(ensembles, fan_out, rng)
    return net


def random_graph_nodes(n_ensembles=128, n_neurons=100, dimensions=2, fan_out=4,
                       n_inputs=8, seed=0):
    """j) 128 ensembles of 100 LIF, 2-D, 4 random connections each, fed by 8 Python
    function Nodes (issue 14's case: Python Nodes are pinned to rank 0 and cost about
    3 us a call, which weighing objects by neuron count ignores)."""
    rng = np.random.RandomState(seed)
    with nengo.Network(seed=seed) as net:
        ensembles = [nengo.Ensemble(n_neurons, dimensions) for _ in range(n_ensembles)]
        for k in range(n_inputs):
            # A Python callable, as a user's stimulus is: the engine calls it each step.
            stim = nengo.Node(lambda t, k=k: np.sin(t + k) * np.ones(dimensions) * 0.5)
            for ens in ensembles[k :: n_inputs]:
                nengo.Connection(stim, ens)
        _random_connections(ensembles, fan_out, rng)
    return net


def spa_binding(dimensions=64, seed=0):
    """f) A nengo_spa model: bind two state buffers and clean the result up."""
    import nengo_spa as spa  # pylint: disable=import-outside-toplevel

    vocab = spa.Vocabulary(dimensions, pointer_gen=np.random.RandomState(seed))
    vocab.populate("A; B; C; D")
    with spa.Network(seed=seed) as net:
        state_a = spa.State(vocab)
        state_b = spa.State(vocab)
        bound = spa.State(vocab)
        spa.sym.A >> state_a
        spa.sym.B >> state_b
        state_a * state_b >> bound
        nengo.Probe(bound.output, synapse=0.03)
    return net


def _spa_vocab(dimensions, keys, seed):
    import nengo_spa as spa  # pylint: disable=import-outside-toplevel

    # pointer_gen seeded: an unseeded vocabulary differs between processes (and so
    # between the backends compared).
    vocab = spa.Vocabulary(dimensions, pointer_gen=np.random.RandomState(seed))
    vocab.populate(keys)
    return vocab


def spa_question_control(dimensions=128, seed=0):
    """g) nengo_spa's question answering with memory and control (its documentation's
    "question_control" model): a visual buffer, a memory integrating statements and a
    motor buffer answering questions by unbinding, routed by basal ganglia and thalamus."""
    import nengo_spa as spa  # pylint: disable=import-outside-toplevel

    vocab = _spa_vocab(
        dimensions, "STATEMENT; QUESTION; RED; BLUE; CIRCLE; SQUARE", seed)

    def visual_input(t):
        if t < 0.25:
            return "STATEMENT+RED*CIRCLE"
        if t < 0.5:
            return "STATEMENT+BLUE*SQUARE"
        if t < 0.75:
            return "QUESTION+~CIRCLE"
        return "QUESTION+~SQUARE"

    with spa.Network(seed=seed) as net:
        visual = spa.State(vocab)
        motor = spa.State(vocab)
        memory = spa.State(vocab, feedback=1.0, feedback_synapse=0.1)
        stim = spa.Transcode(visual_input, output_vocab=vocab)
        stim >> visual
        with spa.ActionSelection():
            spa.ifmax(spa.dot(visual, spa.sym.STATEMENT), visual >> memory)
            spa.ifmax(spa.dot(visual, spa.sym.QUESTION), memory * ~visual >> motor)
        nengo.Probe(motor.output, synapse=0.03)
    return net


def spa_cleanup(dimensions=128, n_keys=48, seed=0):
    """h) nengo_spa's associative-memory cleanup (its "associative_memory" example): a
    noisy pointer held in a state is cleaned up by a thresholding associative memory over
    the vocabulary into another state."""
    import nengo_spa as spa  # pylint: disable=import-outside-toplevel

    keys = [f"K{i}" for i in range(n_keys)]
    vocab = _spa_vocab(dimensions, ";".join(keys), seed)
    noisy = vocab["K0"].v + 0.3 * vocab["K1"].v
    with spa.Network(seed=seed) as net:
        stim = nengo.Node(noisy)
        noisy_state = spa.State(vocab)
        clean = spa.State(vocab)
        nengo.Connection(stim, noisy_state.input)
        am = spa.ThresholdingAssocMem(
            threshold=0.3, input_vocab=vocab, mapping=keys,
            function=lambda x: x > 0.0)
        noisy_state >> am
        am >> clean
        nengo.Probe(clean.output, synapse=0.03)
    return net


def spa_sequence_routed(dimensions=64, seed=0):
    """i) nengo_spa's routed sequence (its "spa_sequence_routed" example): a state cycles
    A -> B -> C -> D -> E -> A through basal ganglia and thalamus, started by a cue that
    the thalamus routes into it."""
    import nengo_spa as spa  # pylint: disable=import-outside-toplevel

    vocab = _spa_vocab(dimensions, "A; B; C; D; E", seed)
    sequence = ["A", "B", "C", "D", "E", "A"]

    def start(t):
        return "A" if t < 0.05 else "0"

    with spa.Network(seed=seed) as net:
        vision = spa.Transcode(start, output_vocab=vocab)
        state = spa.State(vocab)
        with spa.ActionSelection():
            for a, b in zip(sequence, sequence[1:]):
                spa.ifmax(spa.dot(state, spa.sym(a)), spa.sym(b) >> state)
            spa.ifmax(0.5, vision >> state)
        nengo.Probe(state.output, synapse=0.03)
    return net


#: name -> (build function, neurons it simulates is computed from the built model).
def grid(rows=50, cols=100, neurons=200, seed=0):
    """k) ``rows x cols`` ensembles of ``neurons`` LIF (default 1,000,000 neurons), each
    feeding its right and lower neighbour; one probe on the last, one on the first's
    spikes (issue 5's million-neuron grid)."""
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(0.5, label="stim")
        ens = [[nengo.Ensemble(neurons, 1, label=f"e{r}_{c}") for c in range(cols)]
               for r in range(rows)]
        nengo.Connection(stim, ens[0][0])
        for r in range(rows):
            for c in range(cols):
                if c + 1 < cols:
                    nengo.Connection(ens[r][c], ens[r][c + 1], synapse=0.005)
                if r + 1 < rows:
                    nengo.Connection(ens[r][c], ens[r + 1][c], synapse=0.005)
        nengo.Probe(ens[-1][-1], synapse=0.01, label="corner")
        nengo.Probe(ens[0][0].neurons, label="first_spikes")
    return net


MODELS = {
    "seed": seed_model,
    "cconv16": lambda: circular_convolution(16),
    "cconv64": lambda: circular_convolution(64),
    "cconv256": lambda: circular_convolution(256),
    "integrators": integrator_array,
    "recurrent": big_recurrent,
    "random_graph": random_graph,
    "random_graph_nodes": random_graph_nodes,
    "spa": spa_binding,
    "spa_question": spa_question_control,
    "spa_cleanup": spa_cleanup,
    "spa_sequence": spa_sequence_routed,
    "grid1m": grid,
    "grid100k": lambda: grid(10, 50, 200),
}
