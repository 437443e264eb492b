"""The seed example: a sine wave squared by two populations of spiking neurons.

Run it on two MPI ranks (two components, whose values cross between ranks every step)::

    mpirun -np 2 python -m nengo_mpi examples/sine_squared.py [--plot out.png]

or in one process with ``python examples/sine_squared.py``.
"""

import argparse
import math

import numpy as np
import nengo

import nengo_mpi


def build_network(seed=0):
    """A sine Node -> 100 LIF neurons -> 100 LIF neurons computing x**2."""
    with nengo.Network(seed=seed, label="sine_squared") as net:
        sine = nengo.Node(lambda t: np.sin(2 * np.pi * t), label="sine")
        a = nengo.Ensemble(100, dimensions=1, label="a")
        b = nengo.Ensemble(100, dimensions=1, label="b")
        nengo.Connection(sine, a)
        nengo.Connection(a, b, function=np.square)
        net.sine_probe = nengo.Probe(sine, synapse=0.01)
        net.squared_probe = nengo.Probe(b, synapse=0.01)
    return net


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time", type=float, default=5.0, help="simulated seconds")
    parser.add_argument("--plot", default=None, help="save a PNG plot to this path")
    args = parser.parse_args(argv)
    if not (math.isfinite(args.time) and args.time > 0):
        parser.error("--time must be a positive number of seconds")

    net = build_network()
    partitioner = nengo_mpi.Partitioner(2)
    with nengo_mpi.Simulator(net, partitioner=partitioner, progress_bar=False) as sim:
        sim.run(args.time)

    t = sim.trange()
    squared = sim.data[net.squared_probe][:, 0]
    target = sim.data[net.sine_probe][:, 0] ** 2
    rmse = float(np.sqrt(np.mean((squared - target) ** 2)))
    placement = {obj.label: comp for obj, comp in sim.assignments.items()}
    print(f"components: {placement}")
    print(f"simulated {t[-1]:.3f} s in {sim.n_steps} steps; "
          f"RMSE of x**2 vs sine**2: {rmse:.4f}")

    if args.plot:
        import matplotlib  # pylint: disable=import-outside-toplevel

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

        plt.figure(figsize=(8, 4))
        plt.plot(t, sim.data[net.sine_probe], label="sine")
        plt.plot(t, sim.data[net.squared_probe], label="squared (nengo_mpi)")
        plt.xlabel("time [s]")
        plt.legend(loc="best")
        plt.tight_layout()
        plt.savefig(args.plot)
        print(f"plot saved to {args.plot}")


if __name__ == "__main__":
    main()
