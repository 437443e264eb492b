"""The errors readers of nengo_mpi files raise (importable without h5py)."""


class FileFormatError(ValueError):
    """A nengo_mpi file is missing, unreadable, corrupted, or of an unknown kind or version.

    The message names the file and what is wrong with it.
    """


class UntrustedFileError(FileFormatError):
    """A model file carries Python objects and loading it was not allowed to run them.

    Unpickling runs code, so a model file's Python parts (Node functions, classes the
    engine has no kernel for) are loaded only from files the user trusts: ``--trust``
    on ``python -m nengo_mpi run``, ``trust=True`` in `nengo_mpi.run_file`, or the
    environment variable ``NENGO_MPI_TRUST_FILES=1``. The message names each part.
    """
