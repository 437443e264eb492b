"""nengo_mpi: a C++/MPI backend for Nengo.

Change three lines of a Nengo script::

    import nengo_mpi
    partitioner = nengo_mpi.Partitioner(2)
    sim = nengo_mpi.Simulator(net, partitioner=partitioner)

and run it with ``mpirun -np 2 python -m nengo_mpi script.py``; or save the built model
with ``nengo_mpi.save(net, "model.h5", partitioner)`` and run the file with
``mpirun -np 2 python -m nengo_mpi run model.h5 --time 5``. ``nengo_mpi.plan(net, n)``
(or ``python -m nengo_mpi plan script.py --ranks N``) predicts each rank's work first.
"""

__version__ = "0.1.0"

from .partition import Partitioner
from .lower.fallback import PythonFallbackWarning
from .runtime.distributed_build import DistributedBuildWarning
from .simulator import Simulator
from .files.errors import FileFormatError, UntrustedFileError
from .planning import plan
from .runtime import session as _session

__all__ = [
    "DistributedBuildWarning", "FileFormatError", "Partitioner", "PythonFallbackWarning",
    "Simulator", "UntrustedFileError", "load_probes", "n_ranks", "plan", "run_file",
    "save", "__version__",
]


def n_ranks():
    """The number of MPI ranks this program runs on.

    1 unless it was started through ``python -m nengo_mpi`` by an MPI launcher; for
    ``mpirun -np N python -m nengo_mpi script.py``, N. A Simulator without a
    partitioner makes this many components; ``Partitioner(nengo_mpi.n_ranks())`` says
    so explicitly.

    Returns
    -------
    int
    """
    session = _session.active()
    return 1 if session is None else session.size


def __getattr__(name):
    # These need h5py, imported on first use (see nengo_mpi.files).
    if name in ("load_probes", "run_file", "save"):
        from . import files  # pylint: disable=import-outside-toplevel

        value = getattr(files, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
