"""A large model (a grid of recurrent ensembles, 100,000 neurons) and where its time went.

A sine enters the grid's top-left ensemble; every ensemble low-passes the mean of its
left and upper neighbours through its own recurrent connection, so the sine travels
down the grid's diagonal, delayed and smoothed. The grid is split into as many
components as the job has ranks (or ``--components N``). Run it on two MPI ranks with
the launcher's timing report::

    mpirun -np 2 python -m nengo_mpi --timing examples/large_model_timing.py

``--timing`` prints, when the script ends, every rank's compute, wait and exchange
time; the script prints the same numbers from ``sim.timing()``, and ``--plot PATH``
draws the decoded values along the diagonal and each rank's time.
``--neurons`` scales the model (``--ensemble-neurons`` per ensemble).
"""

import argparse
import math
import time

import numpy as np
import nengo

import nengo_mpi


def grid_shape(n_ensembles):
    """Rows and columns of a grid of about ``n_ensembles`` ensembles, near square."""
    rows = max(1, int(math.sqrt(n_ensembles)))
    return rows, max(1, n_ensembles // rows)


def build_network(rows, cols, ensemble_neurons=200, tau=0.02, seed=0):
    """The grid of ``rows x cols`` recurrent ensembles of ``ensemble_neurons`` LIF each.

    Parameters
    ----------
    rows, cols : int
        Shape of the grid.
    ensemble_neurons : int
        Neurons per ensemble.
    tau : float
        Synaptic time constant of every connection; with the recurrent weight of 0.5,
        each ensemble low-passes its input with a time constant of ``2 * tau``.
    seed : int
        Network seed.

    Returns
    -------
    nengo.Network
        With ``net.diagonal``, a list of ``(row, col, probe)`` of decoded values along
        the grid's diagonal.
    """
    with nengo.Network(seed=seed, label="grid") as net:
        stim = nengo.Node(lambda t: np.sin(2 * np.pi * t), label="sine")
        ens = [[nengo.Ensemble(ensemble_neurons, 1, label=f"e{r}_{c}")
                for c in range(cols)] for r in range(rows)]
        for r in range(rows):
            for c in range(cols):
                inputs = ([ens[r - 1][c]] if r else []) + ([ens[r][c - 1]] if c else [])
                for source in inputs or [stim]:
                    nengo.Connection(source, ens[r][c], transform=0.5 / len(inputs or [1]),
                                     synapse=tau)
                nengo.Connection(ens[r][c], ens[r][c], transform=0.5, synapse=tau)
        steps = sorted({round(i * (min(rows, cols) - 1) / 3) for i in range(4)})
        net.diagonal = [(i, i, nengo.Probe(ens[i][i], synapse=0.02)) for i in steps]
    return net


def timing_lines(timing):
    """One line per rank of ``sim.timing()``, and the load imbalance."""
    lines = []
    for rank in timing:
        total = rank["compute_s"] + rank["wait_s"] + rank["exchange_s"]
        lines.append(
            f"rank {rank['rank']}: compute {rank['compute_s']:.3f} s, wait "
            f"{rank['wait_s']:.3f} s, exchange {rank['exchange_s']:.3f} s "
            f"({100 * rank['compute_s'] / total if total else 0:.0f}% computing), "
            f"{rank['bytes_sent'] / 1e6:.2f} MB sent")
    compute = [rank["compute_s"] for rank in timing]
    mean = sum(compute) / len(compute)
    imbalance = max(compute) / mean - 1 if mean > 0 else 0.0
    lines.append(f"load imbalance (max / mean compute - 1): {imbalance:.3f}")
    return lines


def plot(path, sim, net):
    """Save the decoded values along the diagonal and each rank's time as a PNG."""
    import matplotlib  # pylint: disable=import-outside-toplevel

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6),
                                      gridspec_kw={"height_ratios": [2, 1]})
    for r, c, probe in net.diagonal:
        top.plot(sim.trange(), sim.data[probe], label=f"ensemble ({r}, {c})")
    top.set_xlabel("time [s]")
    top.set_ylabel("decoded value")
    top.legend(loc="upper right", fontsize=8)
    top.set_title("the sine travelling down the grid's diagonal")

    timing = sim.timing()
    ranks = [str(rank["rank"]) for rank in timing]
    left = np.zeros(len(timing))
    for key, label in (("compute_s", "compute"), ("wait_s", "wait"),
                       ("exchange_s", "exchange")):
        seconds = np.array([rank[key] for rank in timing])
        bottom.barh(ranks, seconds, left=left, label=label)
        left += seconds
    bottom.set_xlabel("seconds in the step loop")
    bottom.set_ylabel("rank")
    bottom.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def main(argv=None):
    """Run the example with the command-line arguments ``argv`` (default: sys.argv)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time", type=float, default=3.0,
                        help="simulated seconds (default 3)")
    parser.add_argument("--neurons", type=int, default=100_000,
                        help="neurons in all, about (default 100000)")
    parser.add_argument("--ensemble-neurons", type=int, default=200,
                        help="neurons per ensemble (default 200)")
    parser.add_argument("--components", type=int, default=None,
                        help="components to split the grid into (default: the number "
                        "of MPI ranks)")
    parser.add_argument("--plot", default=None, help="save a PNG plot to this path")
    args = parser.parse_args(argv)
    if not (math.isfinite(args.time) and args.time > 0):
        parser.error("--time must be a positive number of seconds")
    if args.ensemble_neurons < 1:
        parser.error("--ensemble-neurons must be at least 1")
    if args.neurons < args.ensemble_neurons:
        parser.error("--neurons must be at least --ensemble-neurons")
    if args.components is not None and args.components < 1:
        parser.error("--components must be at least 1")

    components = args.components or nengo_mpi.n_ranks()
    rows, cols = grid_shape(args.neurons // args.ensemble_neurons)
    start = time.perf_counter()
    net = build_network(rows, cols, args.ensemble_neurons)
    with nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(components),
                             progress_bar=False) as sim:
        built = time.perf_counter() - start
        start = time.perf_counter()
        sim.run(args.time)
        ran = time.perf_counter() - start
        print(f"{rows} x {cols} ensembles, {rows * cols * args.ensemble_neurons} "
              f"neurons in {components} components: built in {built:.1f} s, "
              f"{sim.n_steps} steps in {ran:.2f} s ({sim.n_steps / ran:.0f} steps/s)")
        for line in timing_lines(sim.timing()):
            print(line)
        last = ", ".join(f"({r}, {c}): {sim.data[probe][-1, 0]:+.3f}"
                         for r, c, probe in net.diagonal)
        print(f"decoded values at t = {sim.trange()[-1]:.3f} s along the diagonal: {last}")
        if args.plot:
            plot(args.plot, sim, net)
            print(f"plot saved to {args.plot}")


if __name__ == "__main__":
    main()
