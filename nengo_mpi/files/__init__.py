"""Built models as files: save once, run on any number of ranks, stream results.

- `save` writes a partitioned, lowered model to one HDF5 file (`.save`, `.load`);
- ``python -m nengo_mpi run model.h5 --time T`` runs it on every rank of an MPI job
  (`.run`), streaming probe data to a file (`.probes_out`) and writing checkpoints
  it can resume from (`.checkpoint`);
- `load_probes` reads a probe file back.

The file layouts and their versions are described in `.format`.
"""

from .format import FileFormatError
from .probes_out import ProbeData, load_probes
from .save import save

__all__ = ["FileFormatError", "ProbeData", "load_probes", "save"]
