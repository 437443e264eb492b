"""The MPI job as seen by nengo_mpi: our rank, the job size and the control channel.

A session exists when the program was started through ``python -m nengo_mpi`` (or a test
harness called `start`). Without one, every Simulator runs all its components in this
process and MPI is never initialised.
"""

import contextlib
import os
import sys

#: Environment variables through which launchers announce the job size:
#: MPICH/Hydra (PMI), Open MPI, PMIx-based launchers and Slurm.
LAUNCHER_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "SLURM_NTASKS")


class LaunchError(RuntimeError):
    """The job was launched in a way that cannot work (explained in the message)."""


def launcher_size(environ=None):
    """The number of processes the launcher says it started, or None if unknown."""
    environ = os.environ if environ is None else environ
    for var in LAUNCHER_SIZE_VARS:
        value = environ.get(var)
        if value and value.isdigit():
            return int(value), var
    return None


def check_launch(mpi_size, environ=None, library=""):
    """Raise `LaunchError` if the launcher started more processes than MPI sees.

    That is the signature of an engine built for one MPI family started by another
    family's ``mpirun``: each process initialises as its own size-1 job.
    """
    found = launcher_size(environ)
    if found is None or mpi_size != 1 or found[0] <= 1:
        return
    n, var = found
    first_line = library.strip().splitlines()[0] if library.strip() else "unknown"
    raise LaunchError(
        f"the launcher started {n} processes ({var}={n}) but MPI reports a job of 1: "
        f"each process became its own size-1 job. nengo_mpi uses the MPI library "
        f"'{first_line}', which does not match the mpirun that started it. Use the "
        "mpirun of the same MPI family (with the default install: the mpirun in the "
        "virtual environment's bin directory)."
    )


class Session:
    """This process's place in the MPI job.

    Attributes
    ----------
    comm : mpi4py.MPI.Comm
        Control communicator (a duplicate of COMM_WORLD, so our collectives never
        interleave with a user's own MPI traffic).
    rank, size : int
    """

    def __init__(self, comm):
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
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

    check_launch(MPI.COMM_WORLD.Get_size(), library=MPI.Get_library_version())
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
