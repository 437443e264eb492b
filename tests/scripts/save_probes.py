"""Usage: save_probes.py OUT.npz N_COMPONENTS. Runs a mixed model and saves all probes."""

import os
import sys

import numpy as np

import nengo_mpi

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import models  # noqa: E402  pylint: disable=wrong-import-position

out, n_components = sys.argv[1], int(sys.argv[2])
net = models.chain()
with nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(n_components),
                         progress_bar=False) as sim:
    data = models.run_probes(sim, net, 0.3)
np.savez(out, **{f"probe{i}": d for i, d in enumerate(data)})
