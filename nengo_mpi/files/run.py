"""``python -m nengo_mpi run model.h5 --time T ...``: run a model file on every rank.

Every rank runs this same code (SPMD): rank r reads and runs components r, r + N,
r + 2N, ... of the file (N ranks; N may differ from the number of components). Rank 0
decides how many steps each engine call runs, gathers the probe samples after each
call and streams them to the probe file; it also writes checkpoints.

Every check that can fail on bad input (arguments, the model file, the checkpoint, the
output paths, loading and building the engines) runs before the first step, and the
ranks agree on its outcome: if it failed anywhere, every rank exits non-zero and rank 0
prints what failed where. A rank that dies mid-run is the launcher's to clean up:
MPICH's and Open MPI's launchers and Slurm end every other rank of the job at once
(`nengo_mpi` prints the process id of every rank when it starts, so the launcher's
report can be read back to a rank). The probe file's blocks written so far stay
readable (``<out>.partial``) and so does the last checkpoint.
"""

import argparse
import math
import os
import sys
import time
import traceback

from ..runtime.timing import format_report, peak_rss_mib
from .format import FileFormatError, check_writable, verify

USAGE = """usage: python -m nengo_mpi run MODEL.h5 --time SECONDS [--out PROBES.h5]
                              [--trust] [--progress] [--timing] [--checkpoint PATH
                              [--checkpoint-every SECONDS]] [--resume PATH]

Runs a model file written by nengo_mpi.save on every rank of the MPI job
(mpirun -np N python -m nengo_mpi run model.h5 --time 10).

  --time SECONDS            simulated time to run (from the checkpoint, with --resume)
  --out PROBES.h5           probe file to write (default: MODEL.probes.h5); read it
                            with nengo_mpi.load_probes
  --trust                   load the file's Python parts (Node functions, classes
                            without a kernel): unpickling them runs their code, so
                            a file that has them is refused unless you trust it
                            (or NENGO_MPI_TRUST_FILES=1)
  --progress                print progress to stderr
  --timing                  print where each rank's time went, at the end
  --checkpoint PATH         write the engine state there at the end of the run
  --checkpoint-every SEC    ... and every SEC seconds of wall time during it
  --resume PATH             continue from a checkpoint of this model file"""

#: Wall time one engine call aims at: long enough that the calls cost nothing, short
#: enough for progress, checkpoints and error reports to come promptly.
CHUNK_SECONDS = 1.0


class RunError(Exception):
    """A problem with a run's input, reported to the user without a traceback (exit
    code 1)."""


class UsageError(RunError):
    """Bad arguments to ``run`` (exit code 2, as argparse's own)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def parse(argv):
    """The options of ``run``; raises `UsageError` on bad ones."""
    p = _Parser(prog="python -m nengo_mpi run", add_help=False)
    p.add_argument("model")
    p.add_argument("--time", type=float, required=True)
    p.add_argument("--out")
    # None (not given): the environment decides (nengo_mpi.files.trust).
    p.add_argument("--trust", action="store_const", const=True, default=None)
    # For run_file(trust=False): refuse whatever the environment says (not in USAGE).
    p.add_argument("--no-trust", dest="trust", action="store_const", const=False)
    p.add_argument("--progress", action="store_true")
    p.add_argument("--timing", action="store_true")
    p.add_argument("--checkpoint")
    p.add_argument("--checkpoint-every", type=float)
    p.add_argument("--resume")
    opts = p.parse_args(argv)
    if not math.isfinite(opts.time) or opts.time < 0:
        raise UsageError(f"--time must be a number of seconds >= 0 (got {opts.time:g})")
    if opts.checkpoint_every is not None:
        if opts.checkpoint is None:
            raise UsageError("--checkpoint-every needs --checkpoint PATH")
        if not opts.checkpoint_every > 0:
            raise UsageError(f"--checkpoint-every must be > 0 seconds (got "
                           f"{opts.checkpoint_every:g})")
    if opts.out is None:
        stem = opts.model[:-3] if opts.model.endswith(".h5") else opts.model
        opts.out = stem + ".probes.h5"
    same = os.path.abspath
    if same(opts.out) == same(opts.model):
        raise UsageError("--out must not be the model file")
    if opts.checkpoint is not None and same(opts.checkpoint) in (same(opts.out),
                                                                same(opts.model)):
        raise UsageError("--checkpoint must differ from the model file and --out")
    return opts


class _Job:
    """This rank's view of the job: agreement on errors, and rank 0's messages."""

    def __init__(self, session, quiet=False):
        self.comm = None if session is None or session.size == 1 else session.comm
        self.session = session
        self.quiet = quiet
        self.rank = 0 if self.comm is None else session.rank
        self.size = 1 if self.comm is None else session.size

    def agree(self, step, fn):
        """Run ``fn()`` on every rank; if it fails anywhere, raise on every rank.

        Returns ``fn``'s result. The `RunError` (a `UsageError` if the lowest failing
        rank's was one) names that rank, what it was doing (``step``) and why; its
        ``__cause__`` is this rank's own exception, if it had one.
        """
        error, result, own = None, None, None
        try:
            result = fn()
        except (RunError, FileFormatError, OSError) as e:
            error, own = (isinstance(e, UsageError), str(e)), e
        except Exception as e:  # pylint: disable=broad-except
            error, own = (False, f"{type(e).__name__}: {e}"), e
        errors = [error] if self.comm is None else self.comm.allgather(error)
        failed = [r for r, e in enumerate(errors) if e is not None]
        if not failed:
            return result
        where = ""
        if self.size > 1:
            where = (" (on every rank)" if len(failed) == self.size else
                     f" (on rank {', '.join(map(str, failed))} of {self.size})")
        usage, why = errors[failed[0]]
        raise (UsageError if usage else RunError)(f"{step}{where}: {why}") from own

    def bcast(self, value):
        return value if self.comm is None else self.comm.bcast(value, root=0)

    def say(self, text, end="\n"):
        if self.rank == 0:
            print(text, file=sys.stderr, end=end, flush=True)

    def note(self, text):
        """`say`, unless quiet (`run_file`): a summary line, not asked for."""
        if not self.quiet:
            self.say(text)


def main(argv, session=None):
    """Run the ``run`` command on this rank; returns the exit code.

    Parameters
    ----------
    argv : list of str
        The arguments after ``run``.
    session : nengo_mpi.runtime.session.Session or None
        The MPI job (None: a single process).
    """
    job = _Job(session)
    try:
        _run(job, argv)
        return 0
    except RunError as e:
        job.say(f"nengo_mpi run: error: {e}")
        return 2 if isinstance(e, UsageError) else 1


def _run(job, argv):
    # pylint: disable=import-outside-toplevel
    from ..runtime.rank_engine import RankEngine
    from .checkpoint import Checkpoint, write_checkpoint
    from .probes_out import ProbeWriter

    opts = job.agree("arguments", lambda: parse(argv))
    t_open = time.perf_counter()
    # Rank 0 reads every file once to check its seal, before any rank's HDF5 parses it.
    job.agree("checking the model file", lambda: _verify_model(opts.model)
              if job.rank == 0 else None)
    model = job.agree("opening the model file",
                      lambda: _open_model(opts.model, opts.trust))

    def check_outputs():
        if job.rank == 0:
            check_writable(opts.out)
            if opts.checkpoint is not None:
                check_writable(opts.checkpoint)

    job.agree("checking the output paths", check_outputs)
    ckpt = None
    if opts.resume is not None:
        job.agree("checking the checkpoint", lambda: verify(opts.resume)
                  if job.rank == 0 and os.path.exists(opts.resume) else None)
        ckpt = job.agree("opening the checkpoint",
                         lambda: Checkpoint(opts.resume, model, check_seal=False))
    mine = [c for c in range(model.n_components) if c % job.size == job.rank]
    rank_of = [c % job.size for c in range(model.n_components)]

    # Collective, so on every rank before anything that can fail on one rank alone.
    data_comm = None if job.comm is None else job.comm.Dup()

    ends = {}

    def build():
        programs, channels = model.load(mine)
        _check_tags(job, channels)
        ends.update(_remote_ends(programs, channels, rank_of))
        try:
            host = RankEngine(programs, channels, rank_of, model.dt, model.n_seed_slots,
                              comm=data_comm)
            host.make_fallback_steps(model.seed)
            host.engine.check_seeded()  # every generator got its state from the file
        except (ValueError, IndexError, TypeError, OverflowError, RuntimeError) as e:
            if isinstance(e, FileFormatError):
                raise
            # The engine checks each call's arguments against its data (and pybind11
            # refuses a number its C++ type cannot hold, as a RuntimeError): a model
            # file's calls that do not fit are a damaged (or crafted) file.
            raise FileFormatError(f"{model.path!r}: {e}") from e
        return host

    host = job.agree("loading the components", build)
    # Each rank read only its own components' channel tables: a damaged one could make
    # a rank wait for a message its peer never sends. The peers compare before stepping.
    job.agree("checking the channels between ranks",
              lambda: _check_ends_agree(job, ends, opts.model))
    model.close()  # everything this rank needs is in its engine now
    if ckpt is not None:
        job.agree("restoring the checkpoint", lambda: ckpt.restore(host))
        ckpt.close()
    start_step = host.engine.steps
    writer = None
    if job.rank == 0:
        writer = job.agree("creating the probe file", lambda: ProbeWriter(
            opts.out, model.probes, model.dt, start_step, model.model_id))
    else:
        job.agree("creating the probe file", lambda: None)
    job.note(f"nengo_mpi run: {opts.model}: {model.n_components} component(s) on "
            f"{job.size} rank(s), loaded in {time.perf_counter() - t_open:.2f} s"
            + (f"; resuming at step {start_step}" if ckpt is not None else ""))

    meta = {"model_id": model.model_id, "model_path": os.path.abspath(opts.model),
            "dt": model.dt, "seed": model.seed, "n_components": model.n_components}
    steps = int(round(opts.time / model.dt))
    try:
        _loop(job, host, writer, steps, opts, meta)
    except BaseException:
        if writer is not None:
            writer.close(complete=False)
        raise
    # The probe data is complete whatever happens to the final checkpoint.
    job.agree("finishing the probe file",
              lambda: writer.close(complete=True) if writer is not None else None)
    if opts.checkpoint is not None:
        host.engine.settle()
        meta["step"] = host.engine.steps
        job.agree("writing the final checkpoint",
                  lambda: write_checkpoint(opts.checkpoint, job.comm, host, meta))
    if opts.timing:
        entries = [host.timing()] if job.comm is None else job.comm.gather(host.timing())
        if job.rank == 0:
            job.say(format_report(entries, title=f"nengo_mpi timing ({opts.model})"))
    rss = peak_rss_mib()
    rss = [rss] if job.comm is None else job.comm.gather(rss)
    job.note("nengo_mpi run: peak memory per rank (MiB): "
            + ", ".join(f"{r:.0f}" for r in rss) if job.rank == 0 else "")
    job.note(f"nengo_mpi run: {steps} steps to t = {host.engine.steps * model.dt:g} s; "
            f"probes in {opts.out}"
            + (f", checkpoint in {opts.checkpoint}" if opts.checkpoint else ""))
    host.close()
    return opts


def run_file(model, time, out=None, *, trust=None, checkpoint=None,
             checkpoint_every=None, resume=None, progress=False, timing=False):
    """Run a model file written by `nengo_mpi.save` in this process.

    What ``python -m nengo_mpi run`` does, from Python: the same checks, probe file and
    checkpoints (see that command's ``--help``). To run a file on N ranks, use
    ``mpirun -np N python -m nengo_mpi run MODEL --time T``.

    Parameters
    ----------
    model : str or os.PathLike
        The model file.
    time : float
        Simulated seconds to run (from the checkpoint, with ``resume``).
    out : str or os.PathLike, optional
        The probe file to write (default: the model file's name, ``.probes.h5``).
    trust : bool, optional
        Load the file's Python parts (Node functions, classes without a kernel), whose
        unpickling runs code. A file with Python parts is refused unless it is trusted,
        here or through the environment variable ``NENGO_MPI_TRUST_FILES=1``.
    checkpoint, resume : str or os.PathLike, optional
        Write a checkpoint there at the end (and every ``checkpoint_every`` wall-clock
        seconds); resume from the checkpoint ``resume``.
    checkpoint_every : float, optional
    progress, timing : bool, optional
        Print progress, or where the time went, to stderr.

    Returns
    -------
    nengo_mpi.files.probes_out.ProbeData
        The probe file written (`nengo_mpi.load_probes`).

    Raises
    ------
    nengo_mpi.files.errors.UntrustedFileError
        If the file has Python parts and is not trusted (the message names them).
    FileFormatError
        If the model file or the checkpoint is damaged, or an output cannot be written.
    ValueError
        On bad arguments.
    RuntimeError
        Under an MPI launcher with more than one rank (use ``python -m nengo_mpi run``),
        or if the run failed.
    """
    # pylint: disable=import-outside-toplevel
    from ..runtime import session as mpi_session
    from .probes_out import load_probes

    session = mpi_session.active()
    if session is not None and session.size > 1:
        raise RuntimeError(
            f"run_file runs a model file in one process, but this job has {session.size} "
            f"ranks: run it with `mpirun -np {session.size} python -m nengo_mpi run "
            f"{os.fspath(model)} --time {time}`")
    argv = [os.fspath(model), "--time", repr(float(time))]
    for flag, value in (("--out", out), ("--checkpoint", checkpoint),
                        ("--checkpoint-every", checkpoint_every), ("--resume", resume)):
        if value is not None:
            argv += [flag, os.fspath(value) if flag != "--checkpoint-every" else
                     repr(float(value))]
    argv += [flag for flag, on in (("--progress", progress), ("--timing", timing)) if on]
    if trust:
        argv.append("--trust")
    elif trust is not None:
        argv.append("--no-trust")
    try:
        opts = _run(_Job(None, quiet=True), argv)
    except UsageError as e:
        raise ValueError(str(e)) from None
    except RunError as e:
        cause = e.__cause__
        if isinstance(cause, FileFormatError):
            raise type(cause)(str(e)) from None
        raise RuntimeError(str(e)) from cause
    return load_probes(opts.out)


def _verify_model(path):
    from .load import verify_model_files  # pylint: disable=import-outside-toplevel

    if not os.path.exists(path):  # said by the next step, in its own words
        return
    verify_model_files(path)


def _open_model(path, trust):
    from .load import ModelFile  # pylint: disable=import-outside-toplevel

    model = ModelFile(path, trust, check_seal=False)
    model.check_components()
    return model


def _remote_ends(programs, channels, rank_of):
    """``{peer rank: {(direction, tag, source, destination, same_step, bytes)}}`` for
    every channel this rank's components exchange with another rank."""
    from ..lower.layout import CODE_DTYPES  # pylint: disable=import-outside-toplevel

    views = {p.component: p.layout.views for p in programs}

    def nbytes(component, view):
        _, code, shape, _ = views[component][view]
        return math.prod(shape) * CODE_DTYPES[code].itemsize

    ends = {}
    for ch in channels:
        key = (ch.tag, ch.src_component, ch.dst_component, bool(ch.same_step))
        if ch.src_component in views and ch.dst_component not in views:
            ends.setdefault(rank_of[ch.dst_component], set()).add(
                ("send",) + key + (nbytes(ch.src_component, ch.src_view),))
        elif ch.dst_component in views and ch.src_component not in views:
            ends.setdefault(rank_of[ch.src_component], set()).add(
                ("recv",) + key + (nbytes(ch.dst_component, ch.dst_view),))
    return ends


def _check_ends_agree(job, ends, path):
    """Raise `FileFormatError` unless every channel this rank sends on, its peer
    receives (and the other way round), with the same id, ends and size (collective)."""
    if job.comm is None:
        return
    theirs = job.comm.alltoall([sorted(ends.get(r, ())) for r in range(job.size)])
    flip = {"send": "recv", "recv": "send"}
    for peer, records in enumerate(theirs):
        expected = {(flip[r[0]],) + tuple(r[1:]) for r in records}
        mine = ends.get(peer, set())
        if expected != mine:
            odd = sorted(expected ^ mine)[0]
            raise FileFormatError(
                f"{path!r}: the channel tables of the components on ranks {job.rank} and "
                f"{peer} disagree about channel {odd[1]} (from component {odd[2]} to "
                f"{odd[3]}, {odd[5]} bytes): damaged file?")


def _check_tags(job, channels):
    """Channel ids are MPI tags; the standard only promises tags up to 32767."""
    if job.comm is None:
        return
    from mpi4py import MPI  # pylint: disable=import-outside-toplevel

    tag_ub = job.comm.Get_attr(MPI.TAG_UB)
    if channels and max(ch.tag for ch in channels) > tag_ub:
        raise RunError(f"the model has channel ids up to {max(ch.tag for ch in channels)}, "
                       f"beyond this MPI's largest tag ({tag_ub})")


def _loop(job, host, writer, steps, opts, meta):
    """Run ``steps`` steps in chunks; rank 0 streams probes and times checkpoints."""
    from .checkpoint import write_checkpoint  # pylint: disable=import-outside-toplevel

    done = 0
    chunk = 1  # the first call measures the cost of a step
    started = last_checkpoint = time.monotonic()
    while True:
        # Rank 0 decides the next chunk and whether to checkpoint after it.
        order = None
        if job.rank == 0:
            n = min(chunk, steps - done)
            if writer is not None:
                n = min(n, writer.next_boundary() - writer.step)
            due = (opts.checkpoint_every is not None
                   and time.monotonic() - last_checkpoint >= opts.checkpoint_every)
            order = (n, due)
        n, due = job.bcast(order)
        if due:
            host.engine.settle()
            meta["step"] = host.engine.steps
            job.agree("writing a checkpoint",
                      lambda: write_checkpoint(opts.checkpoint, job.comm, host, meta))
            last_checkpoint = time.monotonic()
        if n <= 0:
            break
        t0 = time.monotonic()
        error = None
        try:
            host.run(n)
        except Exception as e:  # pylint: disable=broad-except
            # Alone or not, the engine stopped or kept our messages going to the end of
            # the chunk; every rank learns of it below.
            error = f"{type(e).__name__}: {e}"
        except BaseException as e:  # KeyboardInterrupt: no consistent state is left
            if job.comm is not None:
                job.session.abort(f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
            raise
        samples = host.take_probes()
        gathered = [(samples, error)] if job.comm is None else job.comm.gather(
            (samples, error), root=0)
        failure = None
        if job.rank == 0:
            for r, (_, err) in enumerate(gathered):
                if err is not None and failure is None:
                    failure = f"an operator failed on rank {r}: {err}"
            if failure is None and writer is not None:
                try:
                    merged = {}
                    for part, _ in gathered:
                        merged.update(part)
                    writer.add(merged, host.engine.steps)
                except Exception as e:  # pylint: disable=broad-except
                    failure = f"writing {opts.out} failed: {type(e).__name__}: {e}"
        failure = job.bcast(failure)
        if failure is not None:
            raise RunError(f"at step {host.engine.steps}: {failure}")
        done += n
        elapsed = time.monotonic() - t0
        if job.rank == 0:
            per_step = elapsed / n
            chunk = max(1, int(CHUNK_SECONDS / per_step) if per_step > 0 else steps)
            if opts.progress:
                wall = time.monotonic() - started
                eta = wall / done * (steps - done) if done else 0.0
                job.say(f"\rnengo_mpi run: {done}/{steps} steps "
                        f"({100.0 * done / max(steps, 1):.0f}%), {wall:.1f} s, "
                        f"{eta:.1f} s left   ", end="")
    if opts.progress and steps:
        job.say("")
