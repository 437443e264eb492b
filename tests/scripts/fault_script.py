"""Usage: fault_script.py MODE. MODE: ok, raise-before, raise-in-node, kill-worker."""

import sys

import numpy as np
import nengo

import nengo_mpi
from faults import KillSelfAt

mode = sys.argv[1]
if mode == "raise-before":
    raise RuntimeError("deliberate failure before any simulator")

with nengo.Network(seed=0) as net:
    def fn(t):
        if mode == "raise-in-node" and t > 0.05:
            raise ValueError("deliberate failure inside a Node function")
        return np.sin(t)

    u = nengo.Node(fn)
    a = nengo.Ensemble(50, 1)
    b = nengo.Ensemble(50, 1)
    nengo.Connection(u, a)
    nengo.Connection(a, b)
    assignments = {}
    if mode == "kill-worker":
        killer = nengo.Node(KillSelfAt(0.05))
        nengo.Connection(killer, b)
        assignments = {killer: 1, b: 1, a: 0}
    nengo.Probe(b, synapse=0.01)

with nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(2),
                         assignments=assignments, progress_bar=False) as sim:
    sim.run(1.0)
print("finished", sim.n_steps)
