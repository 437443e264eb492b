"""``python -m nengo_mpi [options] script.py [args]`` or ``... -m module [args]``.

Under ``mpirun -np N``, rank 0 runs the script (as ``__main__``, with ``sys.argv`` set as
``python script.py args`` would) and every Simulator it creates is split across the N
ranks; ranks 1..N-1 serve those simulators until the script ends, then exit with rank
0's exit code. Without a launcher, the script simply runs in this process.

With ``--timing``, rank 0 prints to stderr, when the script ends, a per-rank table for
every Simulator the script created and ran (closed or still open): compute, wait and
exchange seconds, their share of the run, data sent and received, and the load
imbalance (see `nengo_mpi.Simulator.timing`).
"""

import os
import runpy
import sys
import traceback

from . import launcher_check

USAGE = """usage: python -m nengo_mpi [--version] [--timing] (script.py | -m module)
                          [args ...]
       python -m nengo_mpi run MODEL.h5 --time SECONDS [options]  (see: run --help)
       python -m nengo_mpi plan script.py --ranks N [N ...]  (see: plan --help)
       python -m nengo_mpi calibrate [--network]  (see: calibrate --help)

Runs a Nengo script whose nengo_mpi.Simulators are split across the ranks of the MPI
job (start it with: mpirun -np N python -m nengo_mpi script.py), or a model file
written by nengo_mpi.save (mpirun -np N python -m nengo_mpi run model.h5 --time 10).
`plan` predicts, without running, what each of N ranks would do with a script's
network; `calibrate` measures the costs those predictions and the partitioner use.

  --timing   when the script ends, print (to stderr) where each rank's time went in
             every simulator that ran: compute, wait and exchange seconds, data sent,
             and the load imbalance across ranks
  --version  print the nengo_mpi, nengo and MPI versions"""


def parse(argv):
    """Split our options from the target; returns (kind, target, rest, options) or exits.

    ``options`` is a dict; ``options["timing"]`` says whether ``--timing`` was given.
    """
    options = {"timing": False}
    argv = list(argv)
    while argv and argv[0] == "--timing":
        options["timing"] = True
        argv.pop(0)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        sys.exit(0 if argv else 2)
    if argv[0] == "--version":
        return "version", None, [], options
    if argv[0] in ("plan", "calibrate"):
        return argv[0], None, argv[1:], options
    if argv[0] == "run":
        return "run", None, argv[1:] + (["--timing"] if options["timing"] else []), options
    if argv[0] == "-m":
        if len(argv) < 2:
            sys.exit("nengo_mpi: -m needs a module name\n" + USAGE)
        return "module", argv[1], argv[2:], options
    if argv[0].startswith("-"):
        sys.exit(f"nengo_mpi: unknown option {argv[0]}\n" + USAGE)
    return "script", argv[0], argv[1:], options


def versions():
    """Version lines for nengo_mpi, nengo and the MPI library the engine uses."""
    import nengo  # pylint: disable=import-outside-toplevel

    from . import __version__, _engine  # pylint: disable=import-outside-toplevel

    lib = _engine.config["mpi_library"].strip().splitlines()
    return [
        f"nengo_mpi {__version__}",
        f"nengo {nengo.__version__}",
        f"MPI: {lib[0] if lib else 'none (engine built without MPI)'}",
    ]


def run_target(kind, target, rest):
    """Run the user's script or module as __main__; returns its exit code."""
    sys.argv = [target] + rest
    try:
        if kind == "module":
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(target, run_name="__main__")
    except SystemExit as e:
        if e.code is None:
            return 0
        if isinstance(e.code, int):
            return e.code
        print(e.code, file=sys.stderr)
        return 1
    return 0


def print_timing(log):
    """Rank 0's ``--timing`` report, to stderr."""
    if log is not None:
        print(log.report(), file=sys.stderr, flush=True)


def main(argv=None):
    kind, target, rest, options = parse(sys.argv[1:] if argv is None else argv)
    if kind == "version":
        print("\n".join(versions()))
        return 0

    if kind == "plan":
        from . import plan_command  # pylint: disable=import-outside-toplevel

        return plan_command.main(rest)
    if kind == "calibrate":
        from .partition import calibrate  # pylint: disable=import-outside-toplevel

        return calibrate.main(rest)

    from .runtime import session as mpi_session  # pylint: disable=import-outside-toplevel
    from .runtime import timing  # pylint: disable=import-outside-toplevel

    if kind == "run" and rest and rest[0] in ("-h", "--help"):
        from .files.run import USAGE as RUN_USAGE  # pylint: disable=import-outside-toplevel

        print(RUN_USAGE)
        return 0
    # Started by a launcher or not: launcher_check tells an srun job step from a batch
    # script that merely runs inside a Slurm allocation.
    launched = launcher_check.detect() is not None
    if kind == "run" and not launched:
        from .files import run  # pylint: disable=import-outside-toplevel

        return run.main(rest)

    if not launched:  # not under mpirun: a plain run
        log = timing.start_log() if options["timing"] else None
        code = run_target(kind, target, rest)
        print_timing(log)
        return code

    # Before anything else uses MPI: a launcher of another MPI family turns every rank
    # into its own job of 1, which must stop here with one plain message.
    problem = launcher_check.check_world()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 3
    try:
        session = mpi_session.start()
    except mpi_session.LaunchError as e:
        print(f"nengo_mpi: {e}", file=sys.stderr)
        return 3

    # If a rank is killed, the launcher's report names only its process id; this line
    # lets that report be read back to a rank.
    pids = session.comm.gather(os.getpid(), root=0)
    if session.rank == 0 and session.size > 1:
        ranks = ", ".join(f"rank {r}: pid {pid}" for r, pid in enumerate(pids))
        print(f"nengo_mpi: {session.size} ranks ({ranks})", file=sys.stderr, flush=True)

    if kind == "run":
        from .files import run  # pylint: disable=import-outside-toplevel

        try:
            return run.main(rest, session)
        except BaseException as e:  # pylint: disable=broad-except
            # An unexpected failure on one rank: the others may be waiting for it.
            session.abort(f"{type(e).__name__}: {e}\n{traceback.format_exc()}")

    if session.rank != 0:
        from .runtime.protocol import serve  # pylint: disable=import-outside-toplevel

        try:
            return serve(session)
        except BaseException as e:  # pylint: disable=broad-except
            session.abort(f"{type(e).__name__}: {e}\n{traceback.format_exc()}")

    from .runtime import protocol, runtime  # pylint: disable=import-outside-toplevel

    log = timing.start_log() if options["timing"] else None
    session.serving = True
    try:
        code = run_target(kind, target, rest)
        runtime.close_all()  # also keeps the final timing of simulators left open
        print_timing(log)
    except BaseException as e:  # pylint: disable=broad-except
        traceback.print_exc()
        if session.size > 1:
            # The other ranks may be inside a step waiting for our messages; ending the
            # whole job is the only way to be sure none of them is left hanging.
            session.abort(f"{type(e).__name__}: {e}")
        return 1
    protocol.send_command(session.comm, (protocol.EXIT, code))
    return code


if __name__ == "__main__":
    sys.exit(main())
