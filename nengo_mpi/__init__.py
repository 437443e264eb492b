"""nengo_mpi: a C++/MPI backend for Nengo.

Change three lines of a Nengo script::

    import nengo_mpi
    partitioner = nengo_mpi.Partitioner(2)
    sim = nengo_mpi.Simulator(net, partitioner=partitioner)

and run it with ``mpirun -np 2 python -m nengo_mpi script.py``.
"""

__version__ = "0.1.0"

from .partition import Partitioner
from .lower.fallback import PythonFallbackWarning
from .simulator import Simulator

__all__ = ["Partitioner", "PythonFallbackWarning", "Simulator", "__version__"]
