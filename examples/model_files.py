"""Model files end to end: save a network, run the file, checkpoint, resume, load probes.

The network (a neural integrator of a cosine and a spiking 2-D oscillator) is built
and split once by ``nengo_mpi.save``; the file then runs, without the script, through
the command a batch job would use::

    mpirun -np N python -m nengo_mpi run model.h5 --time T1 --out first.h5 \\
        --checkpoint checkpoint.h5
    mpirun -np N python -m nengo_mpi run model.h5 --resume checkpoint.h5 --time T2 \\
        --out continued.h5

Both probe files are read back with ``nengo_mpi.load_probes``, and the continuation is
checked to start exactly where the first run stopped. Run this script as a plain
Python program (it starts ``mpirun`` itself; plain ``python -m nengo_mpi run`` when
``--ranks 1``)::

    python examples/model_files.py --ranks 2 --dir out/model_files --plot files.png

The files stay in ``--dir`` (default: a temporary directory, removed at the end), so
the same model can be run again by hand, e.g. uninterrupted, to compare.
"""

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import nengo

import nengo_mpi

DT = 0.001


def build_network(seed=0):
    """A cosine integrated by a recurrent ensemble, and a kicked 2-D oscillator.

    Every probe has a label, by which the probe files are read.
    """
    tau = 0.1
    with nengo.Network(seed=seed, label="model_files") as net:
        stim = nengo.Node(lambda t: np.cos(2 * np.pi * t), label="cosine")
        integrator = nengo.Ensemble(200, dimensions=1, label="integrator")
        nengo.Connection(stim, integrator, transform=2 * np.pi * tau * 0.8, synapse=tau)
        nengo.Connection(integrator, integrator, synapse=tau)

        kick = nengo.Node(lambda t: [1, 0] if t < 0.05 else [0, 0], label="kick")
        oscillator = nengo.Ensemble(300, dimensions=2, label="oscillator")
        omega = 2 * np.pi * 1.5
        nengo.Connection(kick, oscillator, synapse=tau)
        nengo.Connection(oscillator, oscillator, synapse=tau,
                         transform=[[1, -omega * tau], [omega * tau, 1]])

        nengo.Probe(stim, synapse=0.01, label="cosine")
        nengo.Probe(integrator, synapse=0.01, label="integral")
        nengo.Probe(oscillator, synapse=0.01, label="oscillator")
    return net


def run_command(ranks, *args):
    """The command line that runs ``python -m nengo_mpi run args`` on ``ranks`` ranks:
    under the ``mpirun`` next to this Python (else the one on PATH), or in this Python
    alone for one rank."""
    # --trust: this script saved the file itself, so its Python parts (the Node's
    # function) may be loaded; a file from elsewhere is refused without it.
    command = [sys.executable, "-m", "nengo_mpi", "run", *map(str, args), "--trust"]
    if ranks == 1:
        return command
    mpirun = os.path.join(os.path.dirname(sys.executable), "mpirun")
    if not os.path.exists(mpirun):
        mpirun = shutil.which("mpirun")
    if mpirun is None:
        sys.exit("model_files.py: no mpirun next to this Python or on PATH "
                 "(use --ranks 1 to run without MPI)")
    return [mpirun, "-np", str(ranks), *command]


def run(ranks, *args):
    """Run the command (printed first, as one would type it); exit if it fails."""
    command = run_command(ranks, *args)
    shown = " ".join(["mpirun", "-np", str(ranks)] * (ranks > 1)
                     + ["python"] + command[command.index("-m"):])
    print(f"$ {shown}", flush=True)
    code = subprocess.call(command)
    if code != 0:
        sys.exit(f"model_files.py: the run failed with exit code {code}")


def check_join(first, continued):
    """Check the continuation starts right after the first run, for every probe.

    Parameters
    ----------
    first, continued : nengo_mpi.files.probes_out.ProbeData
        The probe files of the checkpointed run and of its continuation.

    Returns
    -------
    dict
        Probe label -> (largest change from the first run's last sample to the
        continuation's first, largest change between consecutive samples anywhere
        else).
    """
    if continued.start_step != first.start_step + first.n_steps:
        raise RuntimeError(f"the continuation starts after step {continued.start_step}, "
                           f"the first run ended at {first.start_step + first.n_steps}")
    joins = {}
    for name in first:
        label = first.labels[name]
        t_a, t_b = first.trange(name), continued.trange(name)
        if not math.isclose(t_b[0] - t_a[-1], first.dt, rel_tol=1e-6):
            raise RuntimeError(f"{label}: the first run's samples end at "
                               f"{t_a[-1]:.4f} s, the continuation's start at "
                               f"{t_b[0]:.4f} s")
        whole = np.concatenate([first[name], continued[name]])
        steps = np.abs(np.diff(whole, axis=0)).max(axis=1)
        at = len(t_a) - 1
        joins[label] = (float(steps[at]), float(np.delete(steps, at).max()))
    return joins


def plot(path, first, continued):
    """Save every probe of both runs as a PNG, the continuation dashed."""
    import matplotlib  # pylint: disable=import-outside-toplevel

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    names = list(first)
    fig, axes = plt.subplots(len(names), 1, figsize=(8, 2.2 * len(names)), sharex=True)
    joined = first.trange(names[0])[-1]
    for ax, name in zip(axes, names):
        ax.plot(first.trange(name), first[name], "-")
        ax.set_prop_cycle(None)
        ax.plot(continued.trange(name), continued[name], "--")
        ax.axvline(joined, color="0.6", lw=0.8)
        ax.set_ylabel(first.labels[name])
    axes[0].set_title("first run (solid), resumed from its checkpoint (dashed)")
    axes[-1].set_xlabel("time [s]")
    fig.tight_layout()
    fig.savefig(path)


def main(argv=None):
    """Run the example with the command-line arguments ``argv`` (default: sys.argv)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, default=2,
                        help="MPI ranks (and components of the model; default 2)")
    parser.add_argument("--time", type=float, default=2.0,
                        help="simulated seconds in all: the first half is run, then "
                        "resumed for the rest (default 2)")
    parser.add_argument("--dir", default=None,
                        help="where the model, checkpoint and probe files go "
                        "(default: a temporary directory, removed at the end)")
    parser.add_argument("--plot", default=None, help="save a PNG plot to this path")
    args = parser.parse_args(argv)
    if nengo_mpi.n_ranks() > 1:
        parser.error("run this script as a plain program (python examples/model_files.py):"
                     " it starts mpirun itself")
    if args.ranks < 1:
        parser.error("--ranks must be at least 1")
    if not (math.isfinite(args.time) and args.time >= 2 * DT):
        parser.error(f"--time must be at least two steps ({2 * DT:g} s)")

    with tempfile.TemporaryDirectory(prefix="nengo_mpi_model_files_") as tmp:
        directory = args.dir or tmp
        os.makedirs(directory, exist_ok=True)
        model, checkpoint, first_out, continued_out = (
            os.path.join(directory, name) for name in
            ("model.h5", "checkpoint.h5", "first.h5", "continued.h5"))

        nengo_mpi.save(build_network(), model,
                       partitioner=nengo_mpi.Partitioner(args.ranks), dt=DT, seed=1)
        print(f"saved {model} ({args.ranks} component(s))")

        steps = int(round(args.time / DT))
        first_time, rest_time = (steps // 2) * DT, (steps - steps // 2) * DT
        run(args.ranks, model, "--time", str(round(first_time, 9)), "--out", first_out,
            "--checkpoint", checkpoint)
        run(args.ranks, model, "--resume", checkpoint, "--time", str(round(rest_time, 9)),
            "--out", continued_out)

        first = nengo_mpi.load_probes(first_out)
        continued = nengo_mpi.load_probes(continued_out)
        joins = check_join(first, continued)
        end = (continued.start_step + continued.n_steps) * DT
        print(f"first run: steps {first.start_step + 1}..{first.start_step + first.n_steps}"
              f"; continued: steps {continued.start_step + 1}.."
              f"{continued.start_step + continued.n_steps} (to {end:g} s)")
        for label, (jump, largest) in joins.items():
            print(f"  {label}: change across the join {jump:.4f} "
                  f"(largest step elsewhere {largest:.4f})")
        print(f"the continuation joins the first run at t = {first_time:g} s "
              f"on {args.ranks} rank(s)")

        if args.plot:
            plot(args.plot, first, continued)
            print(f"plot saved to {args.plot}")


if __name__ == "__main__":
    main()
