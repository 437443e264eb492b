"""Built models as files: save once, run on any number of ranks, stream results.

- `save` writes a partitioned, lowered model to one HDF5 file (`.saving`, `.load`);
- ``python -m nengo_mpi run model.h5 --time T`` runs it on every rank of an MPI job
  (`.run`), streaming probe data to a file (`.probes_out`) and writing checkpoints
  it can resume from (`.checkpoint`);
- `run_file` does what ``run`` does in one process, from Python;
- `load_probes` reads a probe file back.

A model file's Python parts are loaded only from a trusted file (`.trust`).

The file layouts and their versions are described in `.format`.
"""

from .errors import FileFormatError, UntrustedFileError

__all__ = ["FileFormatError", "ProbeData", "UntrustedFileError", "load_probes",
           "run_file", "save"]

# h5py costs ~12 MiB of resident memory on import; a Simulator that neither saves nor
# streams should not pay it, so these are imported on first use (PEP 562).
_LAZY = {"ProbeData": "probes_out", "load_probes": "probes_out", "run_file": "run",
         "save": "saving"}


def __getattr__(name):
    if name in _LAZY:
        import importlib  # pylint: disable=import-outside-toplevel

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
