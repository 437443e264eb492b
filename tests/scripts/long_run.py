"""A run far longer than any test waits for (two ensembles, 10^8 steps, one engine
call), for tests that interrupt it: prints "running" when the run starts and, in one
process, what the simulator holds once interrupted and after running on."""

import sys

import nengo

import nengo_mpi

with nengo.Network(seed=0) as net:
    a = nengo.Ensemble(50, 1)
    b = nengo.Ensemble(50, 1)
    nengo.Connection(a, b, synapse=0.01)
    nengo.Connection(b, a, synapse=0.01)
sim = nengo_mpi.Simulator(net, progress_bar=False)
try:
    print("running", flush=True)
    sim.run(100000.0)
except KeyboardInterrupt:
    if "--catch" not in sys.argv:
        raise
    print(f"interrupted at step {sim.n_steps}, time {sim.time:.3f}", flush=True)
    sim.run_steps(10)
    print(f"ran on to step {sim.n_steps}", flush=True)
sim.close()
