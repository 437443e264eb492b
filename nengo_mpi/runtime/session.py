"""The MPI job as seen by nengo_mpi: our rank, the job size and the control channel.

A session exists when the program was started through ``python -m nengo_mpi`` (or a test
harness called `start`). Without one, every Simulator runs all its components in this
process and MPI is never initialised.
"""

import contextlib
import sys

from .. import launcher_check

class LaunchError(RuntimeError):
    """The job was launched in a way that cannot work (explained in the message)."""


def check_launch(mpi_size, library, environ=None):
    """Raise `LaunchError` if the launcher started more processes than MPI sees (see
    `nengo_mpi.launcher_check`, which ``python -m nengo_mpi`` consults first: this is
    the same check for programs that start a session themselves)."""
    problem = launcher_check.explain(mpi_size, library, environ)
    if problem is not None:
        raise LaunchError(problem)


class Session:
    """This process's place in the MPI job.

    Attributes
    ----------
    comm : mpi4py.MPI.Comm
        Control communicator (a duplicate of COMM_WORLD, so our collectives never
        interleave with a user's own MPI traffic).
    rank, size : int
    serving : bool
        On rank 0: whether the other ranks are serving its commands (under
        ``python -m nengo_mpi`` or `nengo_mpi.runtime.spmd.on_root`). Work rank 0 may
        do alone or share (`nengo_mpi.save`) is shared only then; a Simulator needs it.
    """

    def __init__(self, comm):
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.serving = False
        self._next_id = 0

    def new_id(self):
        self._next_id += 1
        return self._next_id

    def abort(self, message, code=1):
        """Print ``message`` naming this rank and end every rank of the job."""
        # The process's own stderr, not sys.stderr: a test runner may be capturing that,
        # and the message must survive the abort.
        stream = sys.__stderr__ or sys.stderr
        sys.stdout.flush()
        stream.write(f"nengo_mpi: rank {self.rank} of {self.size} failed: {message}\n")
        stream.flush()
        self.comm.Abort(code)


_active = None


def active():
    """The running `Session`, or None when no MPI job is in use."""
    return _active


def start():
    """Initialise MPI (through mpi4py) and make a session active; returns it."""
    global _active
    if _active is not None:
        return _active
    from mpi4py import MPI  # pylint: disable=import-outside-toplevel

    check_launch(MPI.COMM_WORLD.Get_size(), MPI.Get_library_version())
    _active = Session(MPI.COMM_WORLD.Dup())
    return _active


@contextlib.contextmanager
def suspended():
    """Within this block, Simulators ignore the session and run in this process."""
    global _active
    saved, _active = _active, None
    try:
        yield
    finally:
        _active = saved
