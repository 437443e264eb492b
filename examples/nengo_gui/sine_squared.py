"""The seed example in nengo_gui: ``nengo -b nengo_mpi sine_squared.py`` (see
docs/nengo_gui.md; sine_squared.py.cfg lays out its plots)."""

import numpy as np
import nengo

with nengo.Network(seed=0, label="sine_squared") as model:
    sine = nengo.Node(lambda t: np.sin(2 * np.pi * t), label="sine")
    a = nengo.Ensemble(100, dimensions=1, label="a")
    b = nengo.Ensemble(100, dimensions=1, label="b")
    nengo.Connection(sine, a)
    nengo.Connection(a, b, function=np.square)
