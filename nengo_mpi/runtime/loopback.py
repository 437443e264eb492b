"""A loopback MPI job: N ranks as threads of this process, for tests without ``mpirun``.

`run` starts ranks 1..N-1 serving (`nengo_mpi.runtime.protocol.serve`) and calls a
function as rank 0 with a `Session` on a `LoopbackComm`, as ``python -m nengo_mpi``
would. It carries what rank 0 and the serving ranks say to each other in Python:
distributed construction, fetches, parallel save and decoder solves. The engines' own
messages go through MPI in C++, so a Simulator cannot open its engines here (that is
tested under ``mpirun``).

The ranks take turns: one lock (the *baton*) is held by whichever rank runs, and a rank
gives it up only while it waits for a message, so a run is the same every time (the
ranks still share this process's globals, such as nengo's builder registry, which a
build changes only for its own duration). Every object sent is pickled and unpickled,
as MPI does, so no rank shares an object with another.
"""

import pickle
import threading
import traceback

from . import protocol
from .session import Session


#: How long rank 0 waits for the serving ranks to leave once it has told them to.
JOIN_SECONDS = 60


class LoopbackAbort(RuntimeError):
    """A rank of a loopback job called ``Abort`` (its message says why)."""


class _World:
    """What the ranks of one loopback job share: the baton, posted collectives and
    point-to-point mailboxes."""

    def __init__(self, size):
        self.size = size
        self.cond = threading.Condition()  # its lock is the baton
        self.collectives = {}  # (comm id, sequence number) -> {rank or "root": bytes}
        self.mailboxes = {}  # (comm id, destination) -> [(source, tag, bytes)]
        self.aborted = None
        self._comm_ids = 0

    def new_comm_id(self):
        self._comm_ids += 1
        return self._comm_ids

    def wait(self, ready, timeout=None):
        """Give up the baton until ``ready()`` (or the timeout, for polls)."""
        while not ready():
            if self.aborted is not None:
                raise LoopbackAbort(self.aborted)
            if not self.cond.wait(timeout):
                return ready()
        return True


class _Request:
    """A non-blocking broadcast's request (``Test`` and ``Wait``)."""

    def __init__(self, world, ready):
        self._world = world
        self._ready = ready

    def Test(self):  # noqa: N802 (mpi4py's name)
        # A poll that fails hands the baton over for a moment: the poller would
        # otherwise keep it while it naps, and the rank it waits for could never run.
        return self._world.wait(self._ready, timeout=0.0005)

    def Wait(self):  # noqa: N802
        self._world.wait(self._ready)


class LoopbackComm:
    """The subset of ``mpi4py.MPI.Comm`` nengo_mpi's control protocol uses."""

    def __init__(self, world, rank, comm_id=0):
        self._world = world
        self._rank = rank
        self._id = comm_id
        self._seq = 0

    def Get_rank(self):  # noqa: N802
        return self._rank

    def Get_size(self):  # noqa: N802
        return self._world.size

    def Dup(self):  # noqa: N802
        # Every rank duplicates in the same order (as MPI requires), so the k-th
        # duplicate has the same id everywhere.
        self._dups = getattr(self, "_dups", 0) + 1
        return LoopbackComm(self._world, self._rank, (self._id, self._dups))

    def Free(self):  # noqa: N802
        pass

    def Abort(self, code=1):  # noqa: N802
        self._world.aborted = f"rank {self._rank} aborted (code {code})"
        self._world.cond.notify_all()
        raise LoopbackAbort(self._world.aborted)

    def _slot(self):
        self._seq += 1
        return self._world.collectives.setdefault((self._id, self._seq), {})

    def _done(self, slot, readers):
        slot["read"] = slot.get("read", 0) + 1
        if slot["read"] == readers:
            del self._world.collectives[(self._id, self._seq)]

    def bcast(self, obj, root=0):
        slot = self._slot()
        w = self._world
        if self._rank == root:
            slot["root"] = pickle.dumps(obj)
            w.cond.notify_all()
        w.wait(lambda: "root" in slot)
        value = pickle.loads(slot["root"])
        self._done(slot, w.size)
        return value

    def Ibcast(self, buf, root=0):  # noqa: N802
        slot = self._slot()
        w = self._world
        key = (self._id, self._seq)
        if self._rank == root:
            slot["root"] = b""
            w.cond.notify_all()

        def ready():
            if "root" not in slot:
                return False
            if key in w.collectives and not slot.get(("seen", self._rank)):
                slot[("seen", self._rank)] = True
                slot["read"] = slot.get("read", 0) + 1
                if slot["read"] == w.size:
                    del w.collectives[key]
            return True

        return _Request(w, ready)

    def gather(self, obj, root=0):
        slot = self._slot()
        w = self._world
        slot[self._rank] = pickle.dumps(obj)
        w.cond.notify_all()
        if self._rank != root:
            self._done(slot, w.size)
            return None
        w.wait(lambda: all(r in slot for r in range(w.size)))
        values = [pickle.loads(slot[r]) for r in range(w.size)]
        self._done(slot, w.size)
        return values

    def scatter(self, objs, root=0):
        slot = self._slot()
        w = self._world
        if self._rank == root:
            slot["root"] = [pickle.dumps(o) for o in objs]
            w.cond.notify_all()
        w.wait(lambda: "root" in slot)
        value = pickle.loads(slot["root"][self._rank])
        self._done(slot, w.size)
        return value

    def send(self, obj, dest, tag=0):
        w = self._world
        w.mailboxes.setdefault((self._id, dest), []).append(
            (self._rank, tag, pickle.dumps(obj)))
        w.cond.notify_all()

    def recv(self, source=None, tag=None):
        box = self._world.mailboxes.setdefault((self._id, self._rank), [])
        found = []

        def ready():
            for i, (src, t, raw) in enumerate(box):
                if (source is None or src == source) and (tag is None or t == tag):
                    found.append(raw)
                    del box[i]
                    return True
            return False

        self._world.wait(ready)
        return pickle.loads(found[0])


def run(size, fn, *args, **kwargs):
    """Call ``fn(*args, **kwargs)`` as rank 0 of a loopback job of ``size`` ranks whose
    other ranks serve it; returns its result (its exception is raised here).

    While it runs, ``nengo_mpi.runtime.session.active()`` is rank 0's session.
    """
    from . import session as mpi_session  # pylint: disable=import-outside-toplevel

    world = _World(size)
    sessions = [Session(LoopbackComm(world, r)) for r in range(size)]
    failures = {}

    def serve(rank):
        with world.cond:
            try:
                protocol.serve(sessions[rank])
            except BaseException:  # pylint: disable=broad-except
                failures[rank] = traceback.format_exc()
                world.aborted = world.aborted or f"rank {rank} failed"
                world.cond.notify_all()

    threads = [threading.Thread(target=serve, args=(r,), name=f"loopback rank {r}",
                                daemon=True) for r in range(1, size)]
    if mpi_session.active() is not None:
        raise RuntimeError("a loopback job cannot run inside another nengo_mpi job")
    with world.cond:
        for t in threads:
            t.start()
        mpi_session._active = sessions[0]  # pylint: disable=protected-access
        sessions[0].serving = True
        try:
            result = fn(*args, **kwargs)
        finally:
            mpi_session._active = None  # pylint: disable=protected-access
            if world.aborted is None:
                protocol.send_command(sessions[0].comm, (protocol.EXIT, 0))
    for t in threads:
        t.join(timeout=JOIN_SECONDS)
        if t.is_alive():
            raise LoopbackAbort(f"{t.name} did not exit within {JOIN_SECONDS} s of rank 0")
    if failures:
        raise LoopbackAbort("; ".join(f"rank {r}: {tb}" for r, tb in failures.items()))
    return result
