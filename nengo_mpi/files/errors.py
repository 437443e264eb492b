"""The error every reader of nengo_mpi files raises (importable without h5py)."""


class FileFormatError(ValueError):
    """A nengo_mpi file is missing, unreadable, corrupted, or of an unknown kind or version.

    The message names the file and what is wrong with it.
    """
