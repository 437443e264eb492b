"""``python -m nengo_mpi plan script.py --ranks N [N ...] [-- script args ...]``.

Runs the script up to its first Simulator (``nengo_mpi.Simulator`` or
``nengo.Simulator``), takes the network it is given, prints `nengo_mpi.plan`'s table
for each rank count, and stops the script there: nothing is built or run, and no MPI
process is started.
"""

import argparse
import runpy
import sys

import nengo

from . import planning

USAGE_DESCRIPTION = (
    "Predict, without running it, what each of N ranks would do with the network of a "
    "script's first Simulator: per rank components, neurons, compute and communication "
    "per step, messages, bytes and memory; overall the load imbalance and the speed-up "
    "over 1 rank."
)


class _Captured(Exception):
    """Raised inside the script when it creates its first Simulator."""

    def __init__(self, network, assignments):
        super().__init__("captured")
        self.network = network
        self.assignments = assignments


def _capturing_simulator(network, *args, **kwargs):
    """Stands in for both Simulator classes while the script runs."""
    del args
    raise _Captured(network, kwargs.get("assignments"))


def capture_network(script, script_args):
    """Run ``script`` until it creates a Simulator; return (network, assignments).

    Raises
    ------
    SystemExit
        If the script ends without creating a Simulator.
    """
    import nengo_mpi  # pylint: disable=import-outside-toplevel
    from . import simulator  # pylint: disable=import-outside-toplevel

    saved = (nengo.Simulator, nengo_mpi.Simulator, simulator.Simulator)
    saved_argv = sys.argv
    nengo.Simulator = nengo_mpi.Simulator = simulator.Simulator = _capturing_simulator
    sys.argv = [script] + list(script_args)
    try:
        runpy.run_path(script, run_name="__main__")
    except _Captured as captured:
        return captured.network, captured.assignments
    except SystemExit as e:
        if e.code not in (None, 0):
            raise
    finally:
        nengo.Simulator, nengo_mpi.Simulator, simulator.Simulator = saved
        sys.argv = saved_argv
    raise SystemExit(
        f"nengo_mpi plan: {script} builds no Simulator (neither nengo_mpi.Simulator "
        "nor nengo.Simulator was created), so there is nothing to plan"
    )


def main(argv):
    """Entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m nengo_mpi plan",
                                     description=USAGE_DESCRIPTION)
    parser.add_argument("script", help="the Nengo script")
    parser.add_argument("--ranks", type=int, nargs="+", required=True,
                        help="rank counts to plan for (each >= 1)")
    parser.add_argument("--cores", type=int, default=None,
                        help="cores the ranks share (default: a core per rank)")
    argv = list(argv)
    script_args = []
    if "--" in argv:  # what follows goes to the script
        cut = argv.index("--")
        argv, script_args = argv[:cut], argv[cut + 1:]
    args = parser.parse_args(argv)
    for n in args.ranks:
        if n < 1:
            parser.error(f"--ranks: every rank count must be >= 1, got {n}")
    network, assignments = capture_network(args.script, script_args)
    for n in args.ranks:
        print(planning.plan(network, n, assignments=assignments, cores=args.cores))
        print()
    return 0
