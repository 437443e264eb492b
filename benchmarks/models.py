"""Benchmark models (issue 4 adds the larger ones)."""

import numpy as np
import nengo


def seed_model(seed=0):
    """The seed example: sine Node -> 100 LIF -> 100 LIF computing x**2, one probe."""
    with nengo.Network(seed=seed) as net:
        sine = nengo.Node(lambda t: np.sin(2 * np.pi * t))
        a = nengo.Ensemble(100, 1)
        b = nengo.Ensemble(100, 1)
        nengo.Connection(sine, a)
        nengo.Connection(a, b, function=np.square)
        nengo.Probe(b, synapse=0.01)
    return net


MODELS = {"seed": seed_model}
