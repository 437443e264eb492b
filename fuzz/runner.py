"""Run fuzz cases in forked children and classify how each ended.

The parent imports nengo_mpi, h5py and the engine once and forks a child per case, so a
case costs milliseconds, not an interpreter start. The child copies the seed file,
mutates it, runs the target (open and run the model, resume the checkpoint, read the
probe file) and reports its outcome through a pipe. The parent watches the clock and
the child's peak memory, so a crash (the child dies of a signal), a hang (it outlives
its timeout and is killed) or a memory blow-up is seen from outside, whatever the child
managed to say.

Outcomes:

=================  ======================================================  ========
outcome            meaning                                                 verdict
=================  ======================================================  ========
``error``          a `FileFormatError` naming the file and what is wrong   good
``refused``        an `UntrustedFileError`: Python parts not unpickled      good
``same``           it ran, and gave the unmutated file's results            good
``different``      it ran, with other results (a forged value it may hold)  good
``unclear``        another exception escaped: a field was not validated     bad
``memory``         MemoryError, or a peak above the budget                  bad
``crash``          the child died of a signal                               bad
``hang``           the child outlived its timeout                           bad
=================  ======================================================  ========
"""

import faulthandler
import json
import os
import resource
import shutil
import signal
import sys
import time
import traceback

from nengo_mpi.files.errors import FileFormatError, UntrustedFileError

GOOD = ("error", "refused", "same", "different")
BAD = ("unclear", "memory", "crash", "hang")


def sanitized():
    """Whether this process runs under AddressSanitizer (which reserves terabytes of
    address space, so an address-space limit cannot be used)."""
    return "libasan" in os.environ.get("LD_PRELOAD", "")


def _status_kib(key):
    """A size from this process's /proc status (KiB): ``VmRSS``, ``VmSize``, ..."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def rss_kib():
    """This process's resident memory now (KiB)."""
    return _status_kib("VmRSS")


def classify(error):
    """``(outcome, detail)`` for an exception a target raised."""
    if isinstance(error, UntrustedFileError):
        return "refused", str(error).splitlines()[0][:300]
    if isinstance(error, MemoryError) or isinstance(error.__cause__, MemoryError):
        return "memory", f"MemoryError: {error}"[:300]
    if isinstance(error, FileFormatError):
        return "error", str(error).splitlines()[0][:300]
    cause = error.__cause__ or error
    where = traceback.extract_tb(cause.__traceback__)[-3:] if cause.__traceback__ else []
    trail = " <- ".join(f"{os.path.basename(fr.filename)}:{fr.lineno}"
                        for fr in reversed(where))
    return "unclear", f"{type(cause).__name__}: {cause} [{trail}]"[:400]


class Case:
    """One fuzz case: mutate a copy of ``seed`` with ``mutation`` and run ``target``.

    Parameters
    ----------
    index : int
        Its number in the campaign (its random generator is seeded from it).
    kind : str
        Which seed file (``model``, ``checkpoint``, ``probes``, ``python_model``).
    seed : str
        The seed file's path.
    mutation : (str, callable)
        Name and function of the mutation (`fuzz.mutations`).
    target : callable
        ``target(path, workdir) -> (outcome, detail)`` for the mutated file.
    rng_seed : sequence of int
        Seeds ``numpy.random.default_rng`` for the mutation.
    """

    def __init__(self, index, kind, seed, mutation, target, rng_seed):
        self.index, self.kind, self.seed = index, kind, seed
        self.mutation, self.target, self.rng_seed = mutation, target, rng_seed
        self.result = None


def _child(case, workdir, write_fd, memory_limit):
    """The forked child: never returns."""
    # pylint: disable=import-outside-toplevel
    import numpy as np

    report = {"description": None}
    try:
        log = os.open(os.path.join(workdir, "output.log"),
                      os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(log, 1)
        os.dup2(log, 2)
        # A crash's Python traceback belongs in the case's log (the report quotes its
        # tail), not in the file descriptor pytest's faulthandler kept.
        faulthandler.enable(file=log)
        path = os.path.join(workdir, os.path.basename(case.seed))
        shutil.copyfile(case.seed, path)
        rng = np.random.default_rng(case.rng_seed)
        report["description"] = case.mutation[1](path, rng)
        # A forked child starts resident with only part of the parent's pages: its own
        # size here is the base its growth is measured from.
        report["start_rss_kib"] = rss_kib()
        if memory_limit:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
        try:
            report["outcome"], report["detail"] = case.target(path, workdir)
        except BaseException as e:  # pylint: disable=broad-except
            report["outcome"], report["detail"] = classify(e)
    except BaseException as e:  # pylint: disable=broad-except
        # The mutation itself failed: a bug of the fuzzer, reported as such.
        report["outcome"] = "mutation failed"
        report["detail"] = f"{type(e).__name__}: {e}"[:300]
    try:
        os.write(write_fd, json.dumps(report).encode()[:60000])
    finally:
        os._exit(0)


def run_cases(cases, workdir, workers=2, timeout=20.0, memory_budget_mib=None,
              on_result=None):
    """Run ``cases`` in up to ``workers`` children at a time; sets each ``case.result``.

    Parameters
    ----------
    cases : iterable of Case
    workdir : str
        Scratch directory (one subdirectory per running case, removed after it).
    workers : int
        Children at a time.
    timeout : float
        Seconds a case may take before it counts as a hang and is killed.
    memory_budget_mib : callable, optional
        ``budget(case) -> MiB``: growth of resident memory above the parent's allowed to
        the case; a child above it counts as ``memory``. The child's address space is
        also capped at the parent's plus 4 GiB, so a forged size fails there instead
        of exhausting the machine. Under AddressSanitizer neither applies: its shadow
        memory and quarantine make resident memory say nothing about the code, and
        it reserves terabytes of address space (the normal build's runs check memory).
    on_result : callable, optional
        Called with each finished case.

    Returns
    -------
    list of Case
    """
    pending = list(cases)
    pending.reverse()
    running = {}  # pid -> (case, read fd, started, workdir)
    done = []
    cap = None if sanitized() else (_status_kib("VmSize") + (4 << 20)) * 1024
    while pending or running:
        while pending and len(running) < workers:
            case = pending.pop()
            sub = os.path.join(workdir, f"case{case.index}")
            os.makedirs(sub, exist_ok=True)
            read_fd, write_fd = os.pipe()
            base = rss_kib()
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                os.close(read_fd)
                _child(case, sub, write_fd, cap)
            os.close(write_fd)
            os.set_blocking(read_fd, False)
            running[pid] = (case, read_fd, time.monotonic(), sub, base, [])
        finished = _reap(running, timeout)
        for case in finished:
            if (memory_budget_mib is not None and not sanitized()
                    and case.result["outcome"] in GOOD):
                budget = memory_budget_mib(case)
                if case.result["rss_growth_mib"] > budget:
                    case.result["detail"] = (
                        f"peak {case.result['rss_growth_mib']:.0f} MiB above the parent, "
                        f"budget {budget:.0f} MiB; was: {case.result['outcome']}: "
                        f"{case.result['detail']}")
                    case.result["outcome"] = "memory"
            done.append(case)
            if on_result is not None:
                on_result(case)
        if not finished:
            time.sleep(0.002)
    return done


def _drain(read_fd, chunks):
    while True:
        try:
            data = os.read(read_fd, 65536)
        except BlockingIOError:
            return
        if not data:
            return
        chunks.append(data)


def _reap(running, timeout):
    finished = []
    for pid, (case, read_fd, started, sub, base, chunks) in list(running.items()):
        _drain(read_fd, chunks)
        got, status, usage = os.wait4(pid, os.WNOHANG)
        seconds = time.monotonic() - started
        if got == 0:
            if seconds < timeout:
                continue
            os.kill(pid, signal.SIGKILL)
            got, status, usage = os.wait4(pid, 0)
            result = {"outcome": "hang", "detail": f"killed after {seconds:.1f} s"}
        else:
            _drain(read_fd, chunks)
            try:
                result = json.loads(b"".join(chunks).decode() or "{}")
            except ValueError:
                result = {}
            if os.WIFSIGNALED(status):
                sig = signal.Signals(os.WTERMSIG(status)).name
                result = {"outcome": "crash", "detail": f"died of {sig}: "
                          + _tail(os.path.join(sub, "output.log")),
                          "description": result.get("description")}
            elif "outcome" not in result:
                result = {"outcome": "crash", "detail": "exited without a report: "
                          + _tail(os.path.join(sub, "output.log")),
                          "description": result.get("description")}
        os.close(read_fd)
        result["seconds"] = seconds
        start = result.pop("start_rss_kib", None) or base
        result["rss_growth_mib"] = max(0, usage.ru_maxrss - start) / 1024
        case.result = result
        shutil.rmtree(sub, ignore_errors=True)
        del running[pid]
        finished.append(case)
    return finished


#: Lines of a crashed case's log worth quoting first.
_MARKERS = ("Fatal Python error", "AddressSanitizer", "runtime error:", "SUMMARY:")


def _tail(path, n=400):
    """What a crashed case left in its log: the lines naming the crash (Python's
    faulthandler, a sanitizer's summary), then the end of the log."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    marked = [line.strip() for line in text.splitlines()
              if any(m in line for m in _MARKERS)]
    return " | ".join(marked[:4]) + (" ... " if marked else "") + text[-n:]
